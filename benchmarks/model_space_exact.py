"""What a model space's operator graph gives ``linas+``: exact columns, features, cost counts.

A model space with an analytic operator graph (every built-in one) gives each
config's MACs, parameters and cost-model metrics exactly, and per-operator-class cost counts
under a measured latency (``ModelEvaluator.exact_fn`` / ``feature_fn`` / ``cost_fn``). Two tables:

1. Predictors of the *measured* local-CPU latency of 100 ofa-mbv3 sub-networks
   (``benchmarks/results/local_cpu_ofa_mbv3.csv``, ONNX Runtime, batch 1, written by
   ``costmodel_local_cpu.py``): trained on 20 or 50 random ones, Kendall tau and share within
   ±10 % on the others, 20 splits — a GP on the encoding (what a model-space search had), with
   the log MACs / params features, and the GP over the additive cost model of the counts.
2. ``linas+`` strategy time with and without them, on a stand-in for a measured latency (the
   roofline latency on ``--hardware`` times a deterministic log-normal error, ``--noise``)
   searched against exact MACs, maximised as a stand-in for accuracy. Nothing is trained or timed on a device.
3. Time of one cost-model estimate per ofa-mbv3 config, of a graph by torch trace and
   analytically (ofa-mbv3, ofa-resnet50, demo, transformer), of counting by segments, and of
   ``linas+``'s one-off set-up over the ``nb201`` and ``transformer`` model spaces (enumerated).

    python benchmarks/model_space_exact.py --budget 300 --seeds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwopt.evaluators import ModelEvaluator, parse_objectives
from hwopt.predictors import PREDICTORS, SpaceFeatures, kendall_tau
from hwopt.strategies import Problem, get_strategy
from hwopt.supernets import get_space

MEASURED = Path(__file__).resolve().parent / "results" / "local_cpu_ofa_mbv3.csv"


def predictor_table(splits: int = 20) -> None:
    ms = get_space("ofa-mbv3")
    sp = ms.space
    df = pd.read_csv(MEASURED)
    X = np.array([sp.encode(sp.validate(json.loads(c))) for c in df.config])
    y = np.log(df.latency_ms.to_numpy())
    objectives, _ = parse_objectives(["latency:min", "accuracy:max"])
    ev = ModelEvaluator(ms, ["latency"])
    counts, _ = ev.cost_fn(objectives[:1])
    E = SpaceFeatures(sp).transform(X)
    D = ev.feature_fn()(X)
    C = counts(X)
    variants = (("gp (encoding)", "gp", E), ("gp (encoding + log MACs / params)", "gp", np.hstack([E, D])),
                ("cost-gp (encoding + log MACs / params + cost counts)", "cost-gp", np.hstack([E, D, C])))
    print(f"local-CPU latency of {len(y)} ofa-mbv3 sub-networks ({MEASURED.name}), {splits} splits")
    print("| predictor | train 20: tau / within ±10% | train 50: tau / within ±10% |")
    print("|---|---|---|")
    for label, name, M in variants:
        cells = []
        for n_train in (20, 50):
            res = []
            for split in range(splits):
                perm = np.random.default_rng(split).permutation(len(y))
                tr, te = perm[:n_train], perm[n_train:]
                model = PREDICTORS.create(name, **({"n_counts": C.shape[1]} if name == "cost-gp" else {}))
                mu = model.fit(M[tr], y[tr]).predict(M[te])
                res.append((kendall_tau(y[te], mu), np.mean(np.abs(np.exp(mu - y[te]) - 1) <= 0.1)))
            tau, within = np.mean(res, axis=0)
            cells.append(f"{tau:.3f} / {within:.0%}")
        print(f"| {label} | {cells[0]} | {cells[1]} |")


def search_table(space: str, hardware: str, noise: float, budget: int, seeds: int,
                 compare: dict[str, float] | None = None) -> None:
    """``compare``: linas+ options of a second setting; each variant then also runs with them, in
    the same invocation (the hypervolume's scaling spans every run of one invocation)."""
    ms = get_space(space)
    sp = ms.space
    objectives, _ = parse_objectives(["latency:min", "macs:max"])
    ev = ModelEvaluator(ms, ["latency", "macs", f"latency@{hardware}"])
    exact, cols = ev.exact_fn(objectives)
    roofline, _ = ev.exact_fn(parse_objectives([f"latency@{hardware}:min"])[0])
    costs, cost_cols = ev.cost_fn(objectives)

    def measure(X: np.ndarray) -> np.ndarray:
        """Roofline latency with a deterministic per-config error, and the exact MACs (maximised: a stand-in for accuracy, which grows with them)."""
        err = [np.random.default_rng(int(hashlib.sha256(x.tobytes()).hexdigest()[:8], 16)).normal() for x in X]
        return np.column_stack([roofline(X)[:, 0] * np.exp(noise * np.asarray(err)), exact(X)[:, 0]])

    variants = {
        "exact MACs, log MACs / params features, cost counts": dict(
            exact=exact, exact_columns=cols, features=ev.feature_fn(), cost_counts=costs, cost_columns=cost_cols),
        "everything predicted": {},
    }
    settings = {"": {}} if not compare else {
        " (defaults)": {}, " (" + ", ".join(f"{k}={v:g}" for k, v in compare.items()) + ")": compare}
    variants = {name + label: (extra, opts) for name, extra in variants.items() for label, opts in settings.items()}
    print(f"\n{space}: latency (roofline {hardware} x {noise:.0%} log-normal error) x MACs (max), "
          f"budget {budget}, seeds 0-{seeds - 1}")
    print("| linas+ with | strategy s per run | s per 100 evaluations | hypervolume of the measured front |")
    print("|---|---|---|---|")
    runs = {}
    for name, (extra, opts) in variants.items():
        runs[name] = []
        for seed in range(seeds):
            strat = get_strategy("linas+", seed=seed, **opts)
            t0 = time.perf_counter()
            strat.setup(Problem(sp, 2, objective_names=["latency", "macs"], **extra))
            F, seen = [], set()
            while len(F) < budget:
                cfgs = [c for c in strat.ask(min(strat.batch_size, budget - len(F))) if sp.hash(c) not in seen]
                if not cfgs:
                    break
                seen.update(sp.hash(c) for c in cfgs)
                X = np.array([sp.encode(c) for c in cfgs])
                t1 = time.perf_counter()
                f = measure(X)
                t0 += time.perf_counter() - t1  # the stand-in measurement is not strategy time
                F.extend(f)
                strat.tell(cfgs, f, np.zeros((len(cfgs), 0)))
            runs[name].append((time.perf_counter() - t0, np.asarray(F)))
    from pymoo.indicators.hv import HV

    allF = np.vstack([F for r in runs.values() for _, F in r])
    lo, hi = allF.min(axis=0), allF.max(axis=0)
    hv = HV(ref_point=np.full(2, 1.1))  # objectives scaled to the range of every run's measurements
    for name, r in runs.items():
        secs = np.mean([s for s, _ in r])
        hvs = [hv((F - lo) / (hi - lo)) for _, F in r]
        print(f"| {name} | {secs:.1f} | {secs / budget * 100:.1f} | {np.mean(hvs):.4f} ± {np.std(hvs):.4f} |")


def timings() -> None:
    """Per-config cost of a cost-model estimate, and linas+'s one-off set-up on an enumerable space."""
    from hwopt.hardware import cost_metric

    ms = get_space("ofa-mbv3")
    cfgs = ms.space.sample(200, seed=1)
    cost_metric(ms, cfgs[0], "latency@raspi4")  # catalog and imports loaded once
    t0 = time.perf_counter()
    for c in cfgs:
        cost_metric(ms, c, "latency@raspi4")
    print(f"\ncost_metric latency@raspi4: {(time.perf_counter() - t0) / len(cfgs) * 1e3:.1f} ms per ofa-mbv3 config")
    objectives, _ = parse_objectives(["latency@raspi4:min", "energy@raspi4:min"])
    fn, _ = ModelEvaluator(ms, [o.name for o in objectives]).exact_fn(objectives)
    X = np.array([ms.space.encode(c) for c in ms.space.sample(3000, seed=4)])
    t0 = time.perf_counter()
    fn(X)
    print(f"exact_fn latency@raspi4 + energy@raspi4 of 3,000 new ofa-mbv3 configs (summed over segments): "
          f"{(time.perf_counter() - t0) / len(X) * 1e3:.2f} ms per config")
    from hwopt.hardware._features import GraphRows, graph_builder
    from hwopt.hardware.graph import from_torch

    for name in ("ofa-mbv3", "ofa-resnet50", "demo", "transformer"):
        space = get_space(name)
        cfgs = space.space.sample(10, seed=2)
        build = graph_builder(space)
        from_torch(space.architecture(cfgs[0]), space.input_shape(cfgs[0], 1))  # torch warmed up
        t0 = time.perf_counter()
        for c in cfgs:
            from_torch(space.architecture(c), space.input_shape(c, 1))
        traced = (time.perf_counter() - t0) / len(cfgs)
        t0 = time.perf_counter()
        for c in cfgs:
            build(c, 1)
        analytic = (time.perf_counter() - t0) / len(cfgs)
        rows = GraphRows(space, build)
        X = np.array([space.space.encode(c) for c in space.space.sample(3000, seed=3)])
        t0 = time.perf_counter()
        rows.class_counts(X)
        per = (time.perf_counter() - t0) / len(X)
        print(f"{name} graph: torch trace {traced * 1e3:.0f} ms, analytic {analytic * 1e3:.2f} ms per config; "
              f"counts of 3,000 new configs by segments {per * 1e3:.3f} ms per config")
    nb = get_space("nb201")
    objectives, _ = parse_objectives(["latency:min", "macs:min"])
    ev = ModelEvaluator(nb, ["latency", "macs"])
    exact, cols = ev.exact_fn(objectives)
    costs, cost_cols = ev.cost_fn(objectives)
    problem = Problem(nb.space, 2, objective_names=["latency", "macs"], exact=exact, exact_columns=cols,
                      features=ev.feature_fn(), cost_counts=costs, cost_columns=cost_cols)
    t0 = time.perf_counter()
    get_strategy("linas+", seed=0).setup(problem)
    print(f"linas+ set-up over the nb201 model space (latency measured, MACs exact): {time.perf_counter() - t0:.1f} s")
    tf = get_space("transformer")
    ev = ModelEvaluator(tf, ["latency", "params"])
    objectives, _ = parse_objectives(["latency:min", "params:min"])
    exact, cols = ev.exact_fn(objectives)
    costs, cost_cols = ev.cost_fn(objectives)
    problem = Problem(tf.space, 2, objective_names=["latency", "params"], exact=exact, exact_columns=cols,
                      features=ev.feature_fn(), cost_counts=costs, cost_columns=cost_cols)
    strat = get_strategy("linas+", seed=0)
    t0 = time.perf_counter()
    strat.setup(problem)
    print(f"linas+ set-up over the transformer space ({len(strat._pool_X):,} distinct sub-networks; latency "
          f"measured, params exact): {time.perf_counter() - t0:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="ofa-mbv3")
    ap.add_argument("--hardware", default="raspi4")
    ap.add_argument("--noise", type=float, default=0.05)
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--parts", default="predictors,search,timings", help="comma-separated subset to run")
    ap.add_argument("--compare", nargs="*", default=[], metavar="KEY=VALUE",
                    help="linas+ options of a second setting to search with too (e.g. local_share=0.9)")
    args = ap.parse_args()
    compare = {k: float(v) for k, v in (o.split("=", 1) for o in args.compare)}
    parts = set(args.parts.split(","))
    if "predictors" in parts:
        predictor_table()
    if "search" in parts:
        search_table(args.space, args.hardware, args.noise, args.budget, args.seeds, compare)
    if "timings" in parts:
        timings()


if __name__ == "__main__":
    main()
