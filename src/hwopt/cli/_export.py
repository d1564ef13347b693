"""``hwopt export``: write a trial's sub-network as ONNX (verified) or a PyTorch state dict."""

from __future__ import annotations

import argparse
import json

from hwopt.cli._common import key_values
from hwopt.errors import StudyError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trial's model to ONNX or a PyTorch state dict",
                       description="Export the sub-network of one trial of a model-space study.")
    p.add_argument("study", help="study storage (SQLite file or SQLAlchemy URL)")
    p.add_argument("--trial", type=int, required=True, help="trial number (see hwopt report)")
    p.add_argument("--format", choices=["onnx", "torch"], default="onnx", help="onnx (default) or torch")
    p.add_argument("--out", required=True, help="output file (model.onnx, or model.pt plus model.json)")
    p.add_argument("--study-name", help="study name inside the storage (when it holds several)")
    p.add_argument("--weights", help="super-network checkpoint, overriding the one the study used")
    p.add_argument("--space-option", action="append", metavar="KEY=VALUE", help="override a model-space option")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.report._export import export_model
    from hwopt.study import Study
    from hwopt.supernets import get_space

    st = Study.load(args.study, args.study_name)
    space_name = st.settings.get("space")
    if not space_name:
        raise StudyError(f"study {st.name!r} searched a tabular benchmark ({st.settings.get('benchmark')}), "
                         "not a model space: there is no model to export")
    trial = st.trial(args.trial)
    opts = {**st.settings.get("space_options", {}), **key_values(args.space_option, "--space-option")}
    if args.weights:
        opts["weights"] = args.weights
    space = get_space(space_name, **opts)
    summary = export_model(space, trial.config, args.format, args.out)
    summary["trial"] = args.trial
    if args.json:
        print(json.dumps(summary))
    else:
        check = "ONNX Runtime vs PyTorch" if args.format == "onnx" else "rebuilt vs original"
        state = "ok" if summary["verified"] else f"ABOVE {summary['atol']:g}"
        print(f"exported trial {args.trial} of {space_name} to {summary['path']}"
              + (f" (+ {summary['config_path']})" if "config_path" in summary else ""))
        print(f"max |{check}| = {summary['max_abs_diff']:.3g} ({state})")
    return 0 if summary["verified"] else 1
