"""Predictor scoring throughput in the inner loop: candidates scored per second (mean and std).

Features are the NB201 cell space's one-hot encoding (the 15,625-cell space that ``linas+``
enumerates); models are fitted on ``--train`` rows and score ``--candidates`` rows, features
included. Run on 2 cores:

    nice -n 10 /work/venv/bin/python benchmarks/predictor_throughput.py [--train 500] [--candidates 100000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from hwopt.predictors import PREDICTORS, SpaceFeatures
from hwopt.supernets._cells import nb201_space


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=500)
    ap.add_argument("--candidates", type=int, default=100_000)
    ap.add_argument("--predictors", nargs="+", default=["ridge", "gp", "gbm", "ensemble", "mlp", "svr"])
    args = ap.parse_args()
    sp = nb201_space()
    feats = SpaceFeatures(sp)
    rng = np.random.default_rng(0)
    Xtr = rng.integers(sp.xl, sp.xu + 1, size=(args.train, sp.n_var))
    w = rng.random(feats.transform(Xtr[:1]).shape[1])
    Ztr = feats.transform(Xtr)
    y = Ztr @ w + np.sin(3 * Ztr @ w) + 0.05 * rng.standard_normal(len(Ztr))
    Xc = rng.integers(sp.xl, sp.xu + 1, size=(args.candidates, sp.n_var))
    print(f"| predictor | fit on {args.train} rows, s | candidates/s (features + mean + std) |")
    print("|---|---|---|")
    for name in args.predictors:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            p = PREDICTORS.create(name).fit(Ztr, y)
            t1 = time.perf_counter()
            best = 0.0
            for _ in range(3):
                t = time.perf_counter()
                p.predict_dist(feats.transform(Xc))
                best = max(best, args.candidates / (time.perf_counter() - t))
        print(f"| {name} | {t1 - t0:.2f} | {best:,.0f} |")


if __name__ == "__main__":
    main()
