"""How accuracy, interval coverage and calibration time change with the number of measurements.

For each ``--devices`` entry (``device`` or ``device:batch``) of a long latency table (default:
the shared NAS-Bench-201 table), calibrate on N random rows for every N of ``--shots`` and predict
all others, ``--seeds`` times, through ``hardware._evaluate.evaluate`` (what ``hwopt costmodel
evaluate --calibrate N --seed S`` runs). Up to ``LOO_MAX`` measurements the intervals are
jackknife+, beyond it CV+ over ``FOLDS`` folds (``hardware._calibration``).

    nice -n 10 python benchmarks/costmodel_shots.py   # ~3 minutes
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = Path(os.environ.get("HWOPT_DATA_DIR", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    ap.add_argument("--table", default=str(data / "nb201" / "latency.csv.gz"))
    ap.add_argument("--space", default="nb201")
    ap.add_argument("--devices", nargs="+", default=["raspi4", "pixel3", "titan_x:1", "xeon_gold_6240"])
    ap.add_argument("--shots", nargs="+", type=int, default=[5, 10, 20, 50, 100, 200, 1000])
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    if not Path(args.table).is_file():
        print(f"error: table {args.table} not found (set HWOPT_DATA_DIR or --table)", file=sys.stderr)
        return 2
    from hwopt.hardware import resolve_hardware
    from hwopt.hardware._evaluate import evaluate, read_table
    from hwopt.hardware._roofline import DTYPE_BYTES
    from hwopt.supernets import get_space

    space = get_space(args.space)
    print("| device | N | within ±10% | MAPE | 80% coverage | seconds: calibrate + predict the rest (median) |")
    print("|---|---|---|---|---|---|")
    for entry in args.devices:
        device, _, batch = entry.partition(":")
        target = resolve_hardware(device)
        table = read_table(args.table, space, "latency_ms", device, int(batch) if batch else None,
                           dtype_bytes=DTYPE_BYTES[target.default_dtype])
        for n in args.shots:
            rows, secs = [], []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                scores, _ = evaluate(table, target, n, seed, target.default_dtype)
                secs.append(time.perf_counter() - t0)
                rows.append([scores["within_10pct"], scores["mape"], scores["coverage_80"]])
            w, mape, cov = np.mean(rows, axis=0)
            print(f"| {entry} | {n} | {w * 100:.1f}% | {mape * 100:.1f}% | {cov * 100:.1f}% | {np.median(secs):.2f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
