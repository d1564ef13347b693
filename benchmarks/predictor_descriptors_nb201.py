"""What the operator graph gives predictors on NAS-Bench-201 (the reason ``linas+`` uses it).

For each device, a GP is fitted on ``--train`` random cells with the one-hot encoding alone and with
the benchmark's nine descriptors appended (``NB201Benchmark.feature_fn``), and scored on all other
cells: Kendall tau of accuracy and log latency, tau on the cells near the true front (non-dominated
rank <= 3), the RMSE of log latency and the share of latencies predicted within ±10 %; mean over
``--splits`` random splits. Latency is also predicted by the additive cost model on the per-op-class
counts (``cost_fn``, predictor ``additive-cost``) and by a GP over it (``cost-gp``), as ``linas+``
does with ``cost_model=True``.

Then the accuracy GP on a training set like that of a search trapped in one basin (a slow NB201
pixel3 run had ``skip_connect`` on edge 0 in 118 of its first 150 cells, while most of the most
accurate cells have a convolution there): 118 such cells and 32 others, 8 draws, with the
descriptors without and with the two depth columns: accuracy tau on the other cells and the median
rank of the 20 most accurate cells by mean + 2 std (how far an optimistic search has to go for them).

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
    print("| device | predictor (features) | accuracy tau (near front) | log-latency tau (near front) "
          "| log-latency RMSE | latency within ±10 % |")
    print("|---|---|---|---|---|---|")
    for dev in args.devices:
        b = get_benchmark(f"nb201:{dev}", data_dir=args.data_dir)
        objs, _ = parse_objectives(list(b.default_objectives))
        F = b.true_F(objs)
        X = b.encoded()
        Z = SpaceFeatures(b.space).transform(X)
        near = nondominated_ranks(F) <= 3
        targets = (F[:, 0], np.log(F[:, 1]))
        D, C = b.feature_fn()(X), b.cost_fn(objs)[0](X)
        variants = (("gp (encoding)", "gp", Z, True), ("gp (encoding + descriptors)", "gp", np.hstack([Z, D]), True),
                    ("additive-cost (cost counts)", "additive-cost", C, False),
                    ("cost-gp (encoding + descriptors + counts)", "cost-gp", np.hstack([Z, D, C]), False))
        for label, name, M, with_accuracy in variants:
            params = {"n_counts": C.shape[1]} if name == "cost-gp" else {}
            rows = []
            for split in range(args.splits):
                rng = np.random.default_rng(split)
                tr = rng.choice(len(X), args.train, replace=False)
                te = np.setdiff1d(np.arange(len(X)), tr)
                r = []
                for k, y in enumerate(targets):
                    if k == 0 and not with_accuracy:
                        r += [np.nan, np.nan]
                        continue
                    mu = PREDICTORS.create(name, **params).fit(M[tr], y[tr]).predict(M[te])
                    r += [kendall_tau(y[te], mu), kendall_tau(y[te][near[te]], mu[near[te]])]
                err = mu - targets[1][te]
                r += [float(np.sqrt(np.mean(err ** 2))), float(np.mean(np.abs(np.expm1(err)) <= 0.1))]
                rows.append(r)
            a = np.mean(rows, axis=0)
            acc = f"{a[0]:.3f} ({a[1]:.3f})" if with_accuracy else "-"
            print(f"| {dev} | {label} | {acc} | {a[2]:.3f} ({a[3]:.3f}) | {a[4]:.3f} | {100 * a[5]:.1f} % |")

    trapped(get_benchmark(f"nb201:{args.devices[0]}", data_dir=args.data_dir))


def trapped(b, draws: int = 8) -> None:
    X = b.encoded()
    Z = SpaceFeatures(b.space).transform(X)
    D = b.feature_fn()(X)
    acc = b.table["accuracy"].to_numpy(float)
    best = np.argsort(-acc)[:20]
    edge0 = np.array([c["ops"][0] for c in b.table["config"]])
    print("\n| training set | descriptors | accuracy tau | median rank of the 20 most accurate (mean + 2 std) |")
    print("|---|---|---|---|")
    for label, M in (("without depth", np.hstack([Z, D[:, :7]])), ("with depth", np.hstack([Z, D]))):
        rows = []
        for k in range(draws):
            rng = np.random.default_rng(100 + k)
            tr = np.concatenate([rng.choice(np.flatnonzero(edge0 == "skip_connect"), 118, replace=False),
                                 rng.choice(np.flatnonzero(edge0 != "skip_connect"), 32, replace=False)])
            te = np.setdiff1d(np.arange(len(X)), tr)
            mu, sd = PREDICTORS.create("gp").fit(M[tr], acc[tr]).predict_dist(M[te])
            rank = np.empty(len(te))
            rank[np.argsort(-(mu + 2 * sd))] = np.arange(len(te))
            pos = {t: i for i, t in enumerate(te)}
            rows.append([kendall_tau(acc[te], mu), np.median([rank[pos[i]] for i in best if i in pos])])
        a = np.mean(rows, axis=0)
        print(f"| 118 of 150 with skip_connect on edge 0 | {label} | {a[0]:.3f} | {a[1]:.0f} |")


if __name__ == "__main__":
    main()
