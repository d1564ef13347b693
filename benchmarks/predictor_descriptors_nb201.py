"""What the operator-graph descriptors give a GP on NAS-Bench-201 (the reason ``linas+`` uses them).

For each device, a GP is fitted on ``--train`` random cells with the one-hot encoding alone and with
the benchmark's seven descriptors appended (``NB201Benchmark.feature_fn``), and scored on all other
cells: Kendall tau of accuracy and log latency, tau on the cells near the true front (non-dominated
rank <= 3), and the RMSE of log latency; mean over ``--splits`` random splits.

    nice -n 10 python benchmarks/predictor_descriptors_nb201.py [--devices raspi4 pixel3 ...] [--train 150]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hwopt.benchmarks import get_benchmark
from hwopt.evaluators import parse_objectives
from hwopt.predictors import PREDICTORS, SpaceFeatures, kendall_tau
from hwopt.strategies._nsga2_numpy import nondominated_ranks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    ap.add_argument("--devices", nargs="+", default=["raspi4", "pixel3", "titan_x:256", "xeon_gold_6240"])
    ap.add_argument("--train", type=int, default=150)
    ap.add_argument("--splits", type=int, default=5)
    args = ap.parse_args()
    print("| device | features | accuracy tau (near front) | log-latency tau (near front) | log-latency RMSE |")
    print("|---|---|---|---|---|")
    for dev in args.devices:
        b = get_benchmark(f"nb201:{dev}", data_dir=args.data_dir)
        objs, _ = parse_objectives(list(b.default_objectives))
        F = b.true_F(objs)
        X = b.encoded()
        Z = SpaceFeatures(b.space).transform(X)
        near = nondominated_ranks(F) <= 3
        targets = (F[:, 0], np.log(F[:, 1]))
        for name, M in (("encoding", Z), ("encoding + descriptors", np.hstack([Z, b.feature_fn()(X)]))):
            rows = []
            for split in range(args.splits):
                rng = np.random.default_rng(split)
                tr = rng.choice(len(X), args.train, replace=False)
                te = np.setdiff1d(np.arange(len(X)), tr)
                r = []
                for y in targets:
                    mu = PREDICTORS.create("gp").fit(M[tr], y[tr]).predict(M[te])
                    r += [kendall_tau(y[te], mu), kendall_tau(y[te][near[te]], mu[near[te]])]
                r.append(float(np.sqrt(np.mean((mu - targets[1][te]) ** 2))))
                rows.append(r)
            a = np.mean(rows, axis=0)
            print(f"| {dev} | {name} | {a[0]:.3f} ({a[1]:.3f}) | {a[2]:.3f} ({a[3]:.3f}) | {a[4]:.3f} |")


if __name__ == "__main__":
    main()
