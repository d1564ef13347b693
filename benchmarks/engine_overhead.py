"""Engine overhead per evaluation: the ask → evaluate → tell loop with SQLite storage.

A tabular benchmark evaluates in microseconds, so the wall time per evaluation is the engine's
own cost (strategy, hashing, the SQLite write of each trial). Usage:

    python benchmarks/engine_overhead.py --budget 500 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hwopt.benchmarks import get_benchmark
from hwopt.evaluators import parse_objectives
from hwopt.strategies import get_strategy
from hwopt.study import Study, optimize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="nasbench-graph:cora")
    ap.add_argument("--strategies", nargs="+", default=["random", "nsga2", "age"])
    ap.add_argument("--budget", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    bench = get_benchmark(args.benchmark)
    bench.table  # load once, outside the timing
    objs, cons = parse_objectives(list(bench.default_objectives))
    eval_s = []
    for cfg in bench.all_configs()[:2000]:
        t = time.perf_counter()
        bench.evaluate(cfg)
        eval_s.append(time.perf_counter() - t)
    print(f"benchmark lookup alone: {1e3 * statistics.median(eval_s):.3f} ms per evaluation")
    print(f"| strategy | storage | ms per evaluation (median of {args.repeats}) |")
    print("|---|---|---|")
    for name in args.strategies:
        for storage in ("sqlite", "memory"):
            per = []
            for r in range(args.repeats):
                with tempfile.TemporaryDirectory() as d:
                    path = Path(d) / "s.db" if storage == "sqlite" else None
                    study = Study.create(path, objs, cons)
                    t = time.perf_counter()
                    optimize(study, bench, get_strategy(name, seed=r), args.budget)
                    per.append((time.perf_counter() - t) / args.budget)
            print(f"| {name} | {storage} | {1e3 * statistics.median(per):.2f} |")


if __name__ == "__main__":
    main()
