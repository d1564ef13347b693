"""MACs / params of every row of the shared OFA MobileNetV3 table, and of reference networks.

Usage: python benchmarks/supernet_counts.py [--data-dir ../shared/data]
Prints the number of rows whose MACs and params equal the table's, the first mismatches, and
MobileNetV3-Large / ResNet-50 against their published counts.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import time
from pathlib import Path


def main() -> None:
    import torch

    from hwopt.evaluators import count_macs, count_params
    from hwopt.supernets import get_space, reference
    from hwopt.supernets._mbv3_nn import static_subnet

    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    args = ap.parse_args()
    path = Path(args.data_dir) / "ofa_mbv3" / "imagenet_accuracy.csv.gz"
    with gzip.open(path, "rt") as f:
        rows = list(csv.DictReader(f))
    space = get_space("ofa-mbv3")
    t0 = time.perf_counter()
    both = macs_ok = params_ok = 0
    bad = []
    for row in rows:
        cfg = space.parse_config(row["config"])
        with torch.device("meta"):
            model = static_subnet(space.arch, cfg)
        m, p = count_macs(model, space.input_shape(cfg)), count_params(model)
        macs_ok += m == int(row["macs"])
        params_ok += p == int(row["params"])
        both += m == int(row["macs"]) and p == int(row["params"])
        if (m, p) != (int(row["macs"]), int(row["params"])) and len(bad) < 5:
            bad.append((row["config"], m, row["macs"], p, row["params"]))
    print(f"OFA table: {len(rows)} rows; macs equal {macs_ok}, params equal {params_ok}, both {both} "
          f"({time.perf_counter() - t0:.0f} s)")
    for b in bad:
        print("  mismatch:", b)
    for name, macs, params, src in (("mobilenet_v3_large", 217e6, 5_483_032, "TF-slim README 217M / torchvision"),
                                    ("resnet50", 4.1e9, 25_557_032, "He et al. 4.1G / torchvision")):
        with torch.device("meta"):
            model = getattr(reference, name)()
        m, p = count_macs(model, (1, 3, 224, 224)), count_params(model)
        print(f"{name}: macs {m:,} ({100 * (m / macs - 1):+.2f}% vs {macs:.4g}), params {p:,} "
              f"({100 * (p / params - 1):+.2f}% vs {params:,}; {src})")


if __name__ == "__main__":
    main()
