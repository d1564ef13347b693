"""``hwopt estimate MODEL --hardware H``: latency (with interval), memory and energy of one model."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="estimate latency / memory / energy of a model on a hardware target")
    p.add_argument("model", help="an ONNX file, or a model space name (then give --config)")
    p.add_argument("--hardware", required=True, help="catalog name or alias, or 'local'")
    p.add_argument("--config", help="config of the model space: JSON, or an arch string (nb201)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--dtype", help="data type: fp32, fp16, bf16, int8, ... (default fp32, or the widest type a "
                   "device without fp32 has)")
    p.add_argument("--calibration", help="name of a saved calibration (hwopt costmodel evaluate --save NAME)")
    p.add_argument("--runtime", choices=["compiled", "eager"],
                   help="what runs the model, for the spec-sheet estimate: compiled (ONNX Runtime, TensorRT, "
                   "TFLite; default) or eager (PyTorch eager: one kernel per op plus dispatch); "
                   "a --calibration has learnt it from measurements")
    p.add_argument("--hardware-file", action="append", default=[], metavar="FILE", help="extra catalog YAML")
    p.add_argument("--top", type=int, default=10, help="how many operators to list (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.hardware import estimate

    if args.runtime and args.calibration:
        print(f"note: --runtime {args.runtime} is not used: calibration {args.calibration!r} learnt its runtime "
              "from the measurements", file=sys.stderr)
    e = estimate(args.model, args.hardware, batch_size=args.batch, dtype=args.dtype, calibration=args.calibration,
                 config=args.config, hardware_files=tuple(args.hardware_file), runtime=args.runtime or "compiled")
    if args.json:
        print(json.dumps(e.to_dict(top=args.top), indent=1))
        return 0
    lo, hi = e.interval_ms
    src = (f"calibration {e.calibration}, runtime variant {e.variant}" if e.calibration
           else f"spec sheet only, {e.runtime} runtime: {e.variant} graph")
    print(f"{args.model} on {e.hardware}, batch {e.batch_size}, {e.dtype} ({src})")
    print(f"  latency   {e.latency_ms:.4g} ms   {int(round(e.coverage * 100))}% interval [{lo:.4g}, {hi:.4g}] ms")
    print(f"  compute   {e.flops / 1e9:.4g} GFLOP, {e.bytes / 1e6:.4g} MB moved")
    print(f"  memory    {e.memory_mb:.4g} MB (weights {e.weights_mb:.4g} + peak activations {e.activations_mb:.4g})")
    if e.energy_mj is not None:
        print(f"  energy    {e.energy_mj:.4g} mJ at {e.power_w:.3g} W")
    if e.usd_per_million is not None:
        print(f"  cost      {e.usd_per_million:.4g} US$ per million inferences at the catalog price")
    print("  top operators by time:")
    for o in sorted(e.ops, key=lambda o: -o.ms)[: args.top]:
        print(f"    {o.ms:9.4f} ms  {o.kind:<8} {o.bound:<7}  {o.detail}")
    return 0
