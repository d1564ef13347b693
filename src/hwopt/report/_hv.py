"""Hypervolume of the feasible complete trials after each evaluation.

On a tabular benchmark the curve is ``hv_fraction`` under the benchmark's fixed convention
(objectives scaled by the benchmark's global min/max, reference 1.1, divided by the true front's
HV), so curves compare across tools and runs. Without a benchmark (a model space, or a benchmark
that cannot be rebuilt here, e.g. its data directory is missing) the objectives are scaled to
[0, 1] by the min/max over the study's own complete trials, reference 1.1: comparable only within
the study. ``DataFrame.attrs`` says which (``kind``: ``"hv_fraction"`` | ``"hv_study_scaled"``,
``label``: a sentence for plots and the HTML).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from hwopt.benchmarks import REFERENCE, hypervolume
from hwopt.study import Study, history


def rebuild_benchmark(study: Study) -> tuple[Any | None, str]:
    """The study's tabular benchmark, or ``(None, why not)``; never raises (the report goes on)."""
    spec = study.settings.get("benchmark")
    if not spec:
        return None, "the study has no tabular benchmark"
    try:
        from hwopt.api import make_evaluator

        bench = make_evaluator(study.settings)
        bench.true_hv(study.objectives)  # loads the table and checks the objectives exist in it
    except Exception as exc:  # missing data dir, changed table, ...: fall back, say why
        return None, f"benchmark {spec} could not be rebuilt ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if not hasattr(bench, "hv_fraction"):
        return None, f"{spec} does not define hv_fraction"
    return bench, ""


def _curve(F: np.ndarray, feasible: np.ndarray, hv: Callable[[np.ndarray], float]) -> np.ndarray:
    """HV after each row; recomputed only when a row enters the running non-dominated set."""
    out = np.zeros(len(F))
    front = np.empty((0, F.shape[1]))
    value = 0.0
    for i in range(len(F)):
        if feasible[i]:
            p = F[i]
            if not (front <= p).all(axis=1).any():  # not weakly dominated by the current front
                keep = ~((p <= front).all(axis=1) & (p < front).any(axis=1))
                front = np.vstack([front[keep], p])
                value = hv(front)
        out[i] = value
    return out


def hypervolume_curve(study: Study, benchmark: Any | None = None) -> pd.DataFrame:
    """``DataFrame(evaluations, hv)``: HV after each distinct finished config, in trial order.

    ``benchmark`` (a TabularBenchmark) is rebuilt from the study's settings when not given.
    """
    records, _, F, G = history(study)
    ok = np.array([t.ok for t in records], dtype=bool)
    feasible = ok & ~(G > 0).any(axis=1) & ~np.isnan(F).any(axis=1)
    if benchmark is None and study.settings.get("benchmark"):
        benchmark, why = rebuild_benchmark(study)
    else:
        why = "" if benchmark is not None else "the study has no tabular benchmark"
    objectives = study.objectives
    if benchmark is not None:
        values = _curve(F, feasible, lambda P: benchmark.hv_fraction(P, objectives))
        kind = "hv_fraction"
        label = (f"fraction of the true front's hypervolume on {study.settings.get('benchmark')} "
                 f"(objectives scaled by the benchmark's global min/max, reference {REFERENCE})")
    else:
        Fok = F[ok] if ok.any() else np.zeros((0, F.shape[1]))
        lo = Fok.min(axis=0) if len(Fok) else np.zeros(F.shape[1])
        hi = Fok.max(axis=0) if len(Fok) else np.ones(F.shape[1])
        span = np.where(hi > lo, hi - lo, 1.0)
        values = _curve(F, feasible, lambda P: hypervolume((P - lo) / span, REFERENCE))
        kind = "hv_study_scaled"
        label = (f"hypervolume of objectives scaled to [0, 1] by this study's min/max over complete trials, "
                 f"reference {REFERENCE} (max {REFERENCE ** F.shape[1]:.3g}; {why})")
    df = pd.DataFrame({"evaluations": np.arange(1, len(records) + 1), "hv": values})
    df.attrs.update({"kind": kind, "label": label})
    return df
