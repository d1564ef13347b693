"""Strategy comparison on tabular benchmarks: the engine behind ``hwopt bench``.

Each run drives one strategy through the same ask → evaluate → tell semantics as
``hwopt.study.optimize`` — configs are deduplicated by canonical hash, a known config is told
its stored result and never evaluated again — but in memory, because a table lookup costs
microseconds and Optuna storage would dominate the timing. *Evaluations* are distinct configs.
After each one the run records ``hv_fraction`` of the feasible configs found so far.
A run stops at the budget, or when the strategy proposes nothing new for ``patience`` asks in a
row that together held at least ``patience_proposals`` configs (so a one-config-per-ask sampler
such as TPE gets as many proposals as a population-50 one); its curve then stays flat.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from hwopt import __version__
from hwopt.benchmarks import get_benchmark
from hwopt.benchmarks._base import TabularBenchmark
from hwopt.errors import BenchmarkError
from hwopt.evaluators import parse_objectives
from hwopt.strategies import Problem, get_strategy
from hwopt.study._optimize import update_front

THRESHOLDS = (95, 98, 99)


@dataclass
class RunResult:
    """One (benchmark, strategy, seed) run: hv_fraction after each distinct evaluation."""

    benchmark: str
    strategy: str
    seed: int
    hv: list[float]
    wall_s: float
    reproposed: int = 0
    stopped: str = "budget"
    states: list[dict[str, Any]] = field(default_factory=list)


@lru_cache(maxsize=8)
def _benchmark(spec: str, data_dir: str | None) -> TabularBenchmark:
    return get_benchmark(spec, data_dir=data_dir) if data_dir else get_benchmark(spec)


def run_one(benchmark: str, strategy: str, seed: int, budget: int, objectives: Sequence[str] = (),
            data_dir: str | None = None, options: dict[str, Any] | None = None, patience: int = 50,
            patience_proposals: int = 250,
            keep_states: bool = False) -> RunResult:
    """Run ``strategy`` on ``benchmark`` for ``budget`` distinct evaluations."""
    bench = _benchmark(benchmark, data_dir)
    objs, cons = parse_objectives(list(objectives) or list(bench.default_objectives))
    sp = bench.space
    F_all = bench.true_F(objs)
    G_all = np.column_stack([[c.violation(v) for v in bench.table[c.name].to_numpy(float)] for c in cons]) \
        if cons else np.zeros((len(F_all), 0))
    row_of = {h: i for i, h in enumerate(bench.table.index)}
    exact, exact_cols = bench.exact_fn(objs)
    costs, cost_cols = bench.cost_fn(objs)
    problem = Problem(space=sp, n_obj=len(objs), n_constr=len(cons), objective_names=[o.name for o in objs],
                      exact=exact, exact_columns=exact_cols, features=bench.feature_fn(), cost_counts=costs,
                      cost_columns=cost_cols)
    strat = get_strategy(strategy, seed=seed, **(options or {}))
    bench.true_hv(objs)  # cache before timing
    t0 = time.perf_counter()
    strat.setup(problem)
    known: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    front = np.zeros((0, len(objs)))
    hv: list[float] = []
    reproposed, idle, idle_proposals, stopped, states = 0, 0, 0, "budget", []
    infeasible: set[str] = set()
    hv_time = 0.0
    while len(known) < budget:
        cfgs = strat.ask(min(strat.batch_size, budget - len(known)))
        n_before = len(known)
        Fs = np.full((len(cfgs), len(objs)), np.nan)
        Gs = np.zeros((len(cfgs), len(cons)))
        for i, cfg in enumerate(cfgs):
            h = sp.hash(cfg)
            if h in known:
                reproposed += 1
            elif h in infeasible or not sp.is_feasible(cfg):  # breaks the space's constraints: told
                infeasible.add(h)                               # as failed, never counted (as the study)
                Fs[i], Gs[i] = np.nan, np.inf
                continue
            elif len(known) < budget:
                r = row_of.get(h)
                f = F_all[r] if r is not None else np.full(len(objs), np.nan)
                g = G_all[r] if r is not None else np.full(len(cons), np.inf)
                known[h] = (f, g)
                th = time.perf_counter()
                last = hv[-1] if hv else 0.0
                if not np.isnan(f).any() and (g <= 0).all():
                    front, changed = update_front(front, f)
                    if changed:
                        last = bench.hv_fraction(front, objs)
                hv.append(last)
                hv_time += time.perf_counter() - th
            else:
                continue
            Fs[i], Gs[i] = known[h]
        if cfgs:
            strat.tell(cfgs, Fs, Gs)
            if keep_states:
                states.append(strat.state())
        idle = idle + 1 if len(known) == n_before else 0
        idle_proposals = idle_proposals + len(cfgs) if idle else 0
        if (idle >= patience and idle_proposals >= patience_proposals) or (not cfgs and idle >= 3):
            stopped = "no new proposals"
            break
    wall = time.perf_counter() - t0 - hv_time
    st = strat.state()
    return RunResult(benchmark, strategy, seed, hv, wall,
                     reproposed=max(reproposed, int(st.get("reproposed", 0))), stopped=stopped, states=states)


def evals_to(hv: Sequence[float], fraction: float, budget: int) -> int:
    """First evaluation count reaching ``fraction`` of the true HV, else ``budget + 1``."""
    a = np.asarray(hv)
    hit = np.flatnonzero(a >= fraction - 1e-12)
    return int(hit[0]) + 1 if len(hit) else budget + 1


def curves_frame(results: Sequence[RunResult], budget: int) -> pd.DataFrame:
    rows = []
    for r in results:
        padded = list(r.hv) + [r.hv[-1] if r.hv else 0.0] * (budget - len(r.hv))
        for k, v in enumerate(padded[:budget]):
            rows.append((r.benchmark, r.strategy, r.seed, k + 1, v))
    return pd.DataFrame(rows, columns=["benchmark", "strategy", "seed", "evaluations", "hv_fraction"])


def summary_frame(results: Sequence[RunResult], budget: int) -> pd.DataFrame:
    """One row per benchmark × strategy with the columns the issue defines."""
    checkpoints = [c for c in range(50, budget + 1, 50)]
    rows = []
    groups: dict[tuple[str, str], list[RunResult]] = {}
    for r in results:
        groups.setdefault((r.benchmark, r.strategy), []).append(r)
    for (b, s), runs in groups.items():
        row: dict[str, Any] = {"benchmark": b, "strategy": s}
        for t in THRESHOLDS:
            e = np.array([evals_to(r.hv, t / 100, budget) for r in runs], float)
            row[f"evals_to_{t}_mean"] = e.mean()
            row[f"evals_to_{t}_std"] = e.std(ddof=1) if len(e) > 1 else 0.0
        row["never_reached_99"] = int(sum(evals_to(r.hv, 0.99, budget) > budget for r in runs))
        # runs that ended before the budget because the strategy proposed nothing new: their
        # "budget + 1" is a floor set by the budget, not a number of evaluations they would need
        row["stalled"] = int(sum(r.stopped != "budget" for r in runs))
        for c in checkpoints:
            row[f"hv_at_{c}_mean"] = float(np.mean([(r.hv[c - 1] if len(r.hv) >= c else (r.hv[-1] if r.hv else 0.0))
                                                    for r in runs]))
        row["wall_s_mean"] = float(np.mean([r.wall_s for r in runs]))
        rows.append(row)
    return pd.DataFrame(rows)


def _worker(task: tuple) -> RunResult:
    import warnings

    from threadpoolctl import threadpool_limits

    from hwopt.warnings import PredictorWarning

    with threadpool_limits(int(os.environ.get("HWOPT_BENCH_THREADS", "1"))), warnings.catch_warnings():
        warnings.simplefilter("ignore", PredictorWarning)  # health is a search diagnostic, not a bench result
        return run_one(*task)


def _run_key(task: tuple) -> str:
    """What makes two runs the same run: every argument of ``run_one``, and the hwopt version."""
    b, s, seed, budget, objectives, data_dir, options = task
    return json.dumps([b, s, seed, budget, list(objectives), data_dir, options or {}, __version__],
                      sort_keys=True, default=str)


def _load_finished(path: Path) -> dict[str, RunResult]:
    """Runs saved by an earlier call with the same output directory (a torn last line is ignored)."""
    done: dict[str, RunResult] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
            done[rec["key"]] = RunResult(**rec["result"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short when the process was killed: that run is simply redone
    return done


def _save_finished(path: Path, key: str, r: RunResult) -> None:
    """Append one finished run, synced to disk (its per-round ``states``, kept only on request, are not)."""
    result = {"benchmark": r.benchmark, "strategy": r.strategy, "seed": r.seed, "hv": r.hv, "wall_s": r.wall_s,
              "reproposed": r.reproposed, "stopped": r.stopped}
    with path.open("a") as f:
        f.write(json.dumps({"key": key, "result": result}) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run_bench(benchmarks: Sequence[str], strategies: Sequence[str], seeds: Sequence[int], budget: int,
              objectives: Sequence[str] = (), data_dir: str | None = None, jobs: int = 1,
              options: dict[str, dict[str, Any]] | None = None, progress=None,
              checkpoint: str | Path | None = None) -> list[RunResult]:
    """Every strategy × benchmark × seed; ``jobs`` > 1 runs them in worker processes.

    With ``checkpoint`` (a JSON-lines file) each finished run is appended to it as it ends, and
    runs already there are reused instead of run again: a bench that was killed or crashed
    continues where it stopped when called again with the same file.
    """
    options = options or {}
    for b in benchmarks:  # fail fast, with one clear error, before any worker starts
        bench = _benchmark(b, data_dir)
        parse_objectives(list(objectives) or list(bench.default_objectives))
        bench.true_F(parse_objectives(list(objectives) or list(bench.default_objectives))[0])
    for s in strategies:
        get_strategy(s, seed=0, **options.get(s, {}))
    tasks = [(b, s, seed, budget, tuple(objectives), data_dir, options.get(s)) for b in benchmarks
             for s in strategies for seed in seeds]
    path = Path(checkpoint) if checkpoint is not None else None
    finished = _load_finished(path) if path is not None else {}
    keys = [_run_key(t) for t in tasks]
    results: dict[str, RunResult] = {}
    for k in keys:
        if k in finished:
            results[k] = finished[k]
            if progress:
                progress(finished[k], len(results), len(tasks), reused=True)
    todo = [(k, t) for k, t in zip(keys, tasks) if k not in results]

    def record(k: str, r: RunResult) -> None:
        results[k] = r
        if path is not None:
            _save_finished(path, k, r)
        if progress:
            progress(r, len(results), len(tasks))

    if jobs <= 1:
        for k, t in todo:
            record(k, _worker(t))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        try:
            with ProcessPoolExecutor(jobs, mp_context=mp.get_context("fork")) as pool:
                futures = {pool.submit(_worker, t): k for k, t in todo}
                for f in as_completed(futures):
                    record(futures[f], f.result())
        except (BrokenProcessPool, BrokenPipeError) as e:
            kept = f"; the {len(results)} finished runs are kept in {path}, rerun to continue" if path else ""
            raise BenchmarkError(f"a bench worker process died ({type(e).__name__}: killed or out of memory?){kept}") from e
    return [results[k] for k in keys]


def plot_curves(curves: pd.DataFrame, path: str) -> None:
    """Mean hv_fraction vs evaluations, one panel per benchmark, one line per strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = list(dict.fromkeys(curves.benchmark))
    n = len(benches)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, b in zip(axes.ravel(), benches):
        sub = curves[curves.benchmark == b]
        for s in dict.fromkeys(sub.strategy):
            m = sub[sub.strategy == s].groupby("evaluations").hv_fraction.mean()
            ax.plot(m.index, m.to_numpy(), label=s)
        ax.set_title(b)
        ax.set_xlabel("evaluations (distinct configs)")
        ax.set_ylabel("hv_fraction (mean over seeds)")
        ax.set_ylim(max(0.0, float(sub.hv_fraction.quantile(0.05)) - 0.02), 1.005)
        ax.axhline(0.99, color="grey", lw=0.6, ls="--")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes.ravel()[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
