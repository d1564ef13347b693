"""Local-CPU acceptance of the cost model: 100 ofa-mbv3 sub-networks measured with ONNX Runtime.

1. Sample ``--n`` configs of ``ofa-mbv3`` (w1.0, seed ``--seed``; ``--space`` another model space), export each static
   sub-network to ONNX and measure its batch-1 latency with ONNX Runtime on the local CPU
   (``hwopt.evaluators._latency.measure_latency``: warm-up, repeats until the median is stable;
   ``--runtime torch``: the PyTorch module in eager mode instead).
   Measurements go to ``--csv`` (skipped if the file exists, so the evaluation can be re-run).
2. For ``--seeds`` random splits: calibrate on ``--shots`` sub-networks for the ``local`` target
   and predict the others; print Spearman, MAPE, share within ±10% and 80% interval coverage,
   and the same for the spec sheet alone as the matching cost-model runtime (compiled / eager).

    nice -n 10 python benchmarks/costmodel_local_cpu.py
    nice -n 10 python benchmarks/costmodel_local_cpu.py --runtime torch   # PyTorch eager
    nice -n 10 python benchmarks/costmodel_local_cpu.py --runtime torch --space fbnet --n 60
    hwopt costmodel evaluate --table benchmarks/results/local_cpu_ofa_mbv3.csv --space ofa-mbv3 \\
        --hardware local --calibrate 20 --seed 0 --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def measure(n: int, seed: int, threads: int, csv: Path, runtime: str = "onnxruntime", space_name: str = "ofa-mbv3") -> None:
    import pandas as pd

    from hwopt.evaluators._latency import machine_state, measure_latency, onnx_bytes
    from hwopt.supernets import get_space

    space = get_space(space_name)
    rows = []
    t0 = time.time()
    import torch

    for k, cfg in enumerate(space.space.sample(n, seed=seed)):
        model = space.architecture(cfg).eval()
        shape = space.input_shape(cfg, 1)
        what = onnx_bytes(model, torch.zeros(*shape)) if runtime == "onnxruntime" else model
        st = measure_latency(what, shape, runtime=runtime, threads=threads, min_repeats=15,
                             max_time_s=3.0, rel_ci=0.02)
        rows.append({"config": json.dumps(cfg, separators=(",", ":")), "latency_ms": st["median"],
                     "p10": st["p10"], "p90": st["p90"], "repeats": st["n"], "batch_size": 1})
        print(f"  {k + 1}/{n} {st['median']:.2f} ms ({time.time() - t0:.0f}s)", file=sys.stderr,
              flush=True)
    csv.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(csv, index=False)
    csv.with_suffix(".machine.json").write_text(json.dumps(machine_state(runtime, threads), indent=1))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shots", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--runtime", default="onnxruntime", choices=["onnxruntime", "torch"])
    ap.add_argument("--space", default="ofa-mbv3", help="model space to sample (default ofa-mbv3)")
    ap.add_argument("--csv", help="default benchmarks/results/local_cpu_<space>[_torch].csv")
    args = ap.parse_args(argv)
    csv = Path(args.csv or f"benchmarks/results/local_cpu_{args.space.replace('-', '_')}"
               f"{'' if args.runtime == 'onnxruntime' else '_' + args.runtime}.csv")
    if not csv.is_file():
        measure(args.n, args.seed, args.threads, csv, args.runtime, args.space)
    from hwopt.evaluators._model import COST_RUNTIME

    cost_runtime = COST_RUNTIME[args.runtime]
    from hwopt.hardware import resolve_hardware
    from hwopt.hardware._evaluate import evaluate, read_table
    from hwopt.hardware._features import spec_seconds
    from hwopt.supernets import get_space

    space = get_space(args.space)
    target = resolve_hardware("local")
    table = read_table(csv, space, "latency_ms")
    out = {"hwopt": [], "spec": []}
    for s in range(args.seeds):
        out["hwopt"].append(evaluate(table, target, args.shots, s)[0])
        out["spec"].append(evaluate(table, target, 0, s, runtime=cost_runtime)[0])
    summary = {m: {k: float(np.mean([d[k] for d in v])) for k in ("spearman", "mape", "within_10pct", "coverage_80")}
               for m, v in out.items()}
    summary["n_models"] = len(table.y)
    summary["spec_runtime"] = cost_runtime
    spec = spec_seconds(table.features(target), target.kind, cost_runtime) * 1e3
    summary["spec_gap"] = {"median": float(np.median(table.y / spec)),  # measured / roofline
                           "p10_p90": [float(q) for q in np.percentile(table.y / spec, [10, 90])]}
    summary["local"] = {"description": target.description, "peak_tflops": target.peak_tflops,
                        "memory_bandwidth_gbps": target.memory_bandwidth_gbps}
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
