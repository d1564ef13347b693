"""``hwopt costmodel evaluate|calibrate|list``: check and calibrate the hardware cost model.

``evaluate`` reads a CSV of measured models — configs of a model space (``--space``) or ONNX
files (a ``model`` column; ``hwopt measure *.onnx --csv FILE`` writes such a table) — in long
format if need be (filter with ``--device`` and ``--batch-size``), calibrates on
``--calibrate N`` random rows and predicts the others.
``calibrate`` fits on all rows (or N) and saves the calibration under a name for
``hwopt estimate --calibration NAME``.
"""

from __future__ import annotations

import argparse
import json


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--table", required=True, help="CSV (or .csv.gz) with a measured column and a config column "
                   "(with --space) or a 'model' column of ONNX files (paths relative to the table)")
    p.add_argument("--space", help="model space of the table's configs (nb201, fbnet, ofa-mbv3, ...); "
                   "leave out for a table of ONNX files")
    p.add_argument("--metric", default="latency_ms",
                   help="measured column (default latency_ms; the spec sheet alone predicts latency_ms|s|us and "
                        "energy_mj|j|uj, any positive column calibrates)")
    p.add_argument("--hardware", required=True, help="catalog name or alias of the measured device, or 'local'")
    p.add_argument("--device", help="keep only rows with this value in the table's 'device' column")
    p.add_argument("--batch-size", type=int, help="keep only rows with this batch_size (and build graphs at it)")
    p.add_argument("--configs", metavar="FILE", help="CSV with the configs, joined on the shared id column "
                   "(e.g. fbnet/archs.csv.gz for fbnet/latency.csv.gz)")
    p.add_argument("--dtype", help="data type the models ran in (default fp32, or the widest type a device "
                   "without fp32 has, e.g. int8 on an Edge TPU)")
    p.add_argument("--keep-constant", action="store_true",
                   help="keep rows whose output does not depend on the input (dropped by default)")
    p.add_argument("--hardware-file", action="append", default=[], metavar="FILE", help="extra catalog YAML")
    p.add_argument("--residual", action="store_true",
                   help="also consider a kernel-ridge residual predictor (off by default, see docs/costmodel.md)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("costmodel", help="evaluate or calibrate the hardware cost model on measured tables")
    cs = p.add_subparsers(dest="cm_command", metavar="{evaluate,calibrate,list}")
    pe = cs.add_parser("evaluate", help="calibrate on N random rows, predict the rest, print scores")
    _common(pe)
    pe.add_argument("--calibrate", type=int, default=20, help="rows to calibrate on (0: spec sheet only)")
    pe.add_argument("--seed", type=int, default=0, help="seed of the random calibration rows")
    pe.add_argument("--save", metavar="NAME", help="also save the calibration under NAME")
    pe.add_argument("--runtime", default="compiled", choices=["compiled", "eager"],
                    help="with --calibrate 0: what ran the models, compiled (ONNX Runtime, TensorRT, TFLite; "
                    "default) or eager (PyTorch eager); a calibration learns it from the measurements")
    pe.add_argument("--json", action="store_true", help="print the scores as JSON")
    pc = cs.add_parser("calibrate", help="fit on the table's rows and save the calibration by name")
    _common(pc)
    pc.add_argument("--name", required=True, help="save under this name")
    pc.add_argument("--n", type=int, help="use only N random rows (default all)")
    pc.add_argument("--seed", type=int, default=0)
    cs.add_parser("list", help="list saved calibrations")
    p.set_defaults(func=run, cm_command=None)


def run(args: argparse.Namespace) -> int:
    from hwopt.errors import ConfigError
    from hwopt.hardware import list_calibrations, resolve_hardware, save_calibration

    if args.cm_command in (None, "list"):
        for name in list_calibrations():
            print(name)
        return 0
    import numpy as np

    from hwopt.hardware._calibration import fit_calibration
    from hwopt.hardware._evaluate import evaluate, read_table
    from hwopt.hardware._roofline import DTYPE_BYTES
    from hwopt.supernets import get_space

    target = resolve_hardware(args.hardware, *args.hardware_file)
    args.dtype = args.dtype or target.default_dtype
    space = get_space(args.space) if args.space else None
    space_name = space.name if space is not None else "onnx"
    table = read_table(args.table, space, args.metric, args.device, args.batch_size, args.configs,
                       args.keep_constant, dtype_bytes=DTYPE_BYTES.get(args.dtype, 4))
    if args.cm_command == "calibrate":
        n = len(table.y) if args.n is None else args.n
        if not 3 <= n <= len(table.y):
            raise ConfigError(f"--n must be between 3 and {len(table.y)}, got {n}")
        idx = np.random.default_rng(args.seed).choice(len(table.y), n, replace=False)
        feats = table.features(target, args.dtype)
        cal = fit_calibration({v: f[idx] for v, f in feats.items()}, table.y[idx], target.name,
                              residual=args.residual)
        cal.batch_size, cal.dtype, cal.space, cal.metric = table.batch_size, args.dtype, space_name, table.metric
        path = save_calibration(cal, args.name)
        print(f"saved calibration {args.name!r} ({n} models; {len(cal.components)} cost models averaged, heaviest "
              f"{cal.components[0]['weight']:.0%} runtime variant {cal.variant}; cross-validated MAPE {cal.loo_mape:.3f}) to {path}")
        return 0
    scores, cal = evaluate(table, target, args.calibrate, args.seed, args.dtype, args.residual, args.runtime)
    scores["dropped_constant"] = table.dropped
    if args.save:
        if cal is None:
            raise ConfigError("--save needs --calibrate N with N >= 3")
        cal.space = space_name
        save_calibration(cal, args.save)
    if args.json:
        print(json.dumps(scores))
        return 0
    print(f"{space_name} on {target.name} (batch {table.batch_size}): calibrated on {args.calibrate}, "
          f"predicted {scores['n']} ({table.dropped} constant-output rows dropped)")
    for k in ("spearman", "mape", "within_10pct", "coverage_80"):
        print(f"  {k:<13}{scores[k]:.4f}")
    return 0
