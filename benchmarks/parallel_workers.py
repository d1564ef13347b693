"""Several workers on one study: wall time, evaluations per worker, duplicates.

``--workers`` processes run ``optimize`` on one SQLite study at once (started together), each
with the random strategy and the same seed — so they propose the same configs and every
proposal is contested — on nasbench-graph:cora with a fixed evaluation cost (``--eval-ms``
sleep before each table look-up, standing in for a real measurement). Prints the wall time,
each worker's evaluations and the number of configs evaluated twice (must be 0).

    python benchmarks/parallel_workers.py --workers 1 2 --budget 300 --eval-ms 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

WORKER = """
import os, sys, time
from hwopt.benchmarks import get_benchmark
from hwopt.strategies import get_strategy
from hwopt.study import Study, optimize

class Costly(type(get_benchmark("nasbench-graph:cora"))):
    def evaluate(self, config):
        time.sleep({eval_s})
        return super().evaluate(config)

bench = Costly("nasbench-graph:cora")
bench.table  # loaded before the start signal
open({ready!r} + str(os.getpid()), "w").close()
while not os.path.exists({go!r}):
    time.sleep(0.005)
optimize(Study.load({db!r}), bench, get_strategy("random", seed=0), {budget})
"""


def run(workers: int, budget: int, eval_ms: float) -> dict:
    from hwopt.evaluators import parse_objectives
    from hwopt.study import Study

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        db = str(tmp_path / "s.db")
        objs, cons = parse_objectives(["accuracy:max", "latency:min"])
        Study.create(db, objs, cons)
        code = WORKER.format(eval_s=eval_ms / 1000, ready=str(tmp_path / "ready-"), go=str(tmp_path / "go"),
                             db=db, budget=budget)
        procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(workers)]
        while len(list(tmp_path.glob("ready-*"))) < workers:
            time.sleep(0.01)
        t0 = time.perf_counter()
        (tmp_path / "go").touch()
        codes = [p.wait() for p in procs]
        wall = time.perf_counter() - t0
        st = Study.load(db)
        per_worker = Counter(t.user_attrs["hwopt"].get("worker") for t in st.optuna_study.trials)
        hashes = Counter(t.config_hash for t in st.trials)
    return {"workers": workers, "exit_codes": codes, "wall_s": wall, "trials": sum(hashes.values()),
            "evaluated_twice": sum(1 for n in hashes.values() if n > 1), "per_worker": sorted(per_worker.values())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--eval-ms", type=float, default=20.0)
    args = ap.parse_args(argv)
    print("| workers | wall s | trials | evaluated twice | evaluations per worker |")
    print("|---|---|---|---|---|")
    for w in args.workers:
        r = run(w, args.budget, args.eval_ms)
        print(f"| {w} | {r['wall_s']:.1f} | {r['trials']} | {r['evaluated_twice']} | {r['per_worker']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
