"""``hwopt measure``: MACs, params, latency (and accuracy) of one config of a space, or of ONNX files.

``hwopt measure models/*.onnx --csv measured.csv`` measures many files into a table that
``hwopt costmodel evaluate|calibrate --table measured.csv`` reads: one row per file, written as
soon as it is measured, and files already in the table are skipped, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from hwopt.cli._common import key_values, positive_int
from hwopt.errors import ConfigError

_ONNX_METRICS = ("latency", "params")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("measure", help="measure MACs, params, latency (accuracy) of a model",
                       description="Measure one config of a model space (--space S --config JSON) or an ONNX file.")
    p.add_argument("model", nargs="*", help="ONNX files (instead of --space/--config)")
    p.add_argument("--space", help="model space, e.g. demo, ofa-mbv3 (hwopt spaces)")
    p.add_argument("--config", help='config JSON, e.g. \'{"ks": [...], "e": [...], "d": [...], "r": 224}\' or @FILE')
    p.add_argument("--metrics", nargs="+", metavar="NAME", help="metrics to measure (default: macs params latency)")
    p.add_argument("--json", action="store_true", help="print one JSON object keyed by metric name")
    p.add_argument("--csv", metavar="FILE", help="ONNX files: append one row per file (model, latency_ms, spread, "
                   "params) to this table, skipping files already in it")
    p.add_argument("--runtime", choices=["onnxruntime", "torch"], default="onnxruntime", help="latency runtime")
    p.add_argument("--batch-size", type=positive_int, default=1, help="latency batch size (default 1)")
    p.add_argument("--threads", type=positive_int, default=1, help="latency threads (default 1)")
    p.add_argument("--weights", help="super-network checkpoint (e.g. ofa_mbv3_d234_e346_k357_w1.0)")
    p.add_argument("--data", help="validation image folder for accuracy")
    p.add_argument("--subset", type=positive_int, help="use only N validation images")
    p.add_argument("--space-option", action="append", metavar="KEY=VALUE", help="model-space option, e.g. width=1.2")
    p.add_argument("--evaluator-option", action="append", metavar="KEY=VALUE",
                   help="measurement option, e.g. rel_ci=0.005 max_time_s=20 macs_convention=fvcore")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.model:
        if args.space or args.config:
            raise ConfigError("give either ONNX files or --space with --config, not both")
        if args.csv or len(args.model) > 1:
            return _measure_onnx_files(args)
        result = _measure_onnx(args, Path(args.model[0]))
    else:
        if args.csv:
            raise ConfigError("--csv is for ONNX files")
        if not args.space or not args.config:
            raise ConfigError("hwopt measure needs an ONNX file, or --space NAME with --config JSON")
        result = _measure_space(args)
    if args.json:
        print(json.dumps(result))
        return 0
    for name, v in result.items():
        print(f"{name:9s} {_fmt(name, v)}")
    return 0


def _measure_space(args: argparse.Namespace) -> dict:
    from hwopt.supernets import get_space

    opts = key_values(args.space_option, "--space-option")
    if args.weights:
        opts["weights"] = args.weights
    space = get_space(args.space, **opts)
    text = args.config
    if text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist")
        text = path.read_text()
    config = space.parse_config(text)
    metrics = args.metrics or ["macs", "params", "latency"]
    ev_opts = {k: v for k, v in {"data": args.data, "subset": args.subset}.items() if v is not None}
    ev_opts.update(key_values(args.evaluator_option, "--evaluator-option"))
    ev = space.make_evaluator(metrics, runtime=args.runtime, batch_size=args.batch_size, threads=args.threads, **ev_opts)
    return ev.evaluate(config)


def _measure_onnx_files(args: argparse.Namespace) -> int:
    """Each file's latency and params, one line (or CSV row) per file."""
    import pandas as pd

    csv = Path(args.csv) if args.csv else None
    if args.metrics and set(args.metrics) != set(_ONNX_METRICS):
        raise ConfigError(f"several ONNX files are measured for {', '.join(_ONNX_METRICS)}; leave out --metrics")
    done: set[str] = set()
    columns = None  # an existing table's columns: new rows follow them
    if csv is not None and csv.is_file():
        try:
            existing = pd.read_csv(csv)
            done, columns = set(existing["model"].astype(str)), list(existing.columns)
        except Exception as exc:  # noqa: BLE001
            raise ConfigError(f"cannot add to {str(csv)!r}: {str(exc).splitlines()[0]}") from None
    files = [Path(m) for m in args.model]
    for k, path in enumerate(files):
        name = os.path.relpath(path.resolve(), csv.resolve().parent) if csv is not None else str(path)
        if name in done:
            continue
        r = _measure_onnx(args, path)
        lat = r["latency"]
        row = {"model": name, "latency_ms": lat["median"], "p10_ms": lat["p10"], "p90_ms": lat["p90"],
               "cv": lat["cv"], "repeats": lat["n"], "batch_size": args.batch_size, "threads": args.threads,
               "load": lat.get("load"), "params": r["params"]}
        if csv is None:
            print(json.dumps(row) if args.json else f"{name}  {_fmt('latency', lat)}  params {r['params']:,}")
            continue
        csv.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([row], columns=columns).to_csv(csv, mode="a", header=columns is None, index=False)
        columns = columns or list(row)
        done.add(name)
        print(f"[{k + 1}/{len(files)}] {name}: {lat['median']:.4g} ms (cv {100 * lat['cv']:.1f}%)",
              file=sys.stderr, flush=True)
    if csv is not None:
        print(f"{len(done)} models in {csv}")
    return 0


def _measure_onnx(args: argparse.Namespace, path: Path) -> dict:
    from hwopt.evaluators._latency import measure_latency, onnx_input_shape

    if not path.is_file():
        raise ConfigError(f"ONNX file {str(path)!r} does not exist")
    if args.runtime != "onnxruntime":
        raise ConfigError("an ONNX file is measured with --runtime onnxruntime")
    metrics = args.metrics or list(_ONNX_METRICS)
    bad = [m for m in metrics if m not in _ONNX_METRICS]
    if bad:
        raise ConfigError(f"metric {bad[0]!r} is not available for an ONNX file; valid: {', '.join(_ONNX_METRICS)} "
                          "(use --space/--config for macs and accuracy)")
    opts = key_values(args.evaluator_option, "--evaluator-option")
    out: dict = {}
    for m in metrics:
        if m == "params":
            out["params"] = _onnx_params(path)
        else:
            try:
                shape = onnx_input_shape(path, args.batch_size)
            except Exception as exc:  # noqa: BLE001 - onnxruntime rejects the file
                raise ConfigError(f"{str(path)!r} is not a valid ONNX model: {str(exc).splitlines()[0]}") from None
            out["latency"] = measure_latency(path, shape, runtime="onnxruntime", threads=args.threads, **opts)
    return out


def _onnx_params(path: Path) -> int:
    import math

    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"{str(path)!r} is not a valid ONNX model: {exc}") from None
    return int(sum(math.prod(t.dims) for t in model.graph.initializer))


def _fmt(name: str, v) -> str:
    if isinstance(v, dict):
        return (f"{v['median']:.4g} {v.get('unit', '')} (p10 {v['p10']:.4g}, p90 {v['p90']:.4g}, "
                f"cv {100 * v['cv']:.1f}%, n={v['n']})")
    if name == "accuracy":
        return f"{v:.2f} %"
    return f"{int(v):,}" if float(v).is_integer() else f"{v:.6g}"
