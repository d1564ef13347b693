"""Latency repeatability: one ONNX model measured by ``hwopt measure`` in N separate processes.

Usage: python benchmarks/latency_repeatability.py [--runs 5] [--threads 1] [--space ofa-mbv3]
Exports one sub-network (random weights) to ONNX, then runs ``hwopt measure MODEL --json`` N times,
each in a fresh process, and prints every median, the spread of the medians around their mean,
and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CONFIGS = {
    "ofa-mbv3": {"ks": [5, 7, 5, 5, 3, 3, 3, 7, 5, 5, 3, 7, 7, 3, 3, 3, 5, 5, 5, 5],
                 "e": [4, 3, 4, 4, 4, 6, 3, 4, 4, 3, 4, 3, 3, 6, 6, 6, 4, 3, 4, 4], "d": [2, 3, 2, 4, 3], "r": 224},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--space", default="ofa-mbv3")
    args = ap.parse_args()
    from hwopt.report._export import export_model
    from hwopt.supernets import get_space

    out = Path(tempfile.mkdtemp()) / "model.onnx"
    s = export_model(get_space(args.space), CONFIGS[args.space], "onnx", out)
    print(f"model: {args.space} {json.dumps(CONFIGS[args.space])} -> {out} (max |onnx-torch| {s['max_abs_diff']:.2g})")
    print(f"load average before: {os.getloadavg()}")
    hwopt = [sys.executable, "-m", "hwopt"]
    medians = []
    for i in range(args.runs):
        res = subprocess.run([*hwopt, "measure", str(out), "--metrics", "latency", "--json", "--threads",
                              str(args.threads)], capture_output=True, text=True, check=True)
        lat = json.loads(res.stdout)["latency"]
        medians.append(lat["median"])
        print(f"run {i + 1}: median {lat['median']:.3f} ms  p10 {lat['p10']:.3f}  p90 {lat['p90']:.3f}  "
              f"cv {100 * lat['cv']:.1f}%  n {lat['n']}")
    mean = sum(medians) / len(medians)
    dev = max(abs(m / mean - 1) for m in medians)
    print(f"medians: min {min(medians):.3f} max {max(medians):.3f} ms; max deviation from their mean "
          f"{100 * dev:.2f}%; (max-min)/min {100 * (max(medians) / min(medians) - 1):.2f}%")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
