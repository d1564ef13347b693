"""Re-measuring the Pareto front, so that one lucky measurement cannot decide it.

A measured latency is a median of repeats taken in one process at one moment; another job, a
frequency change or thermal throttling can make a config look faster than it is, and a search
keeps such a config on its front for good — where it does the most harm, since the front is what
users deploy from. :func:`remeasure` evaluates every front config again (``repeats`` times), each
result stored in the study the moment it arrives (an interrupted run resumes where it stopped).
A config's **confirmed** objective values are the medians over all its measurements; the front
is recomputed from them (configs that were never re-measured keep their one measurement), and
configs that join it are re-measured in turn. Configs that leave it are named in a warning.
Only metrics the evaluator calls noisy (``Evaluator.is_noisy``: a timing, not a validation pass)
are measured again; the others keep their first value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from hwopt.evaluators import Evaluator, to_matrices
from hwopt.study._executors import InlineExecutor
from hwopt.study._optimize import Progress, history
from hwopt.study._study import Study, TrialRecord
from hwopt.warnings import HwoptWarning

#: passes of re-measuring configs that join the confirmed front (each pass measures new ones only)
MAX_PASSES = 5


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Boolean mask of rows of minimisation-form ``F`` (no NaN) that no other row dominates.

    Equal rows do not dominate each other (both stay). Rows are visited by (sum, then
    lexicographic) order — a dominator always comes first, float rounding included — and each
    visited survivor removes what it dominates: O(n · front size) instead of O(n²).
    """
    F = np.asarray(F, dtype=float)
    n = len(F)
    alive = np.ones(n, dtype=bool)
    if n == 0:
        return alive
    order = np.lexsort(tuple(F[:, ::-1].T) + (F.sum(axis=1),))
    for i in order:
        if not alive[i]:
            continue
        p = F[i]
        dominated = (p <= F).all(axis=1) & (p < F).any(axis=1)
        alive &= ~dominated
    return alive


@dataclass
class Confirmed:
    """The study's configs (first trial of each) with their confirmed objective values."""

    records: list[TrialRecord]
    first: np.ndarray  # minimisation form: each config's first measurement
    F: np.ndarray  # minimisation form: medians over every measurement of each config
    feasible: np.ndarray
    remeasured: np.ndarray  # re-measurements per config (failed ones included)
    original_front: np.ndarray  # on the front of the first measurements
    front: np.ndarray  # on the front of the confirmed values

    def trial_numbers(self, mask: np.ndarray) -> set[int]:
        return {self.records[i].number for i in np.flatnonzero(mask)}


def _front(F: np.ndarray, feasible: np.ndarray) -> np.ndarray:
    idx = np.flatnonzero(feasible)
    out = np.zeros(len(F), dtype=bool)
    if len(idx):
        out[idx[non_dominated(F[idx])]] = True
    return out


def confirmed(study: Study) -> Confirmed:
    """Confirmed values and fronts of a study (the first measurement alone where none was repeated)."""
    records, _, F, G = history(study)
    ok = np.array([t.ok for t in records], dtype=bool)
    feasible = ok & ~(G > 0).any(axis=1) & ~np.isnan(F).any(axis=1)
    original = _front(F, feasible)
    again = study.remeasurements()
    Fc = F.copy()
    n = np.zeros(len(records), dtype=int)
    for i, t in enumerate(records):
        runs = again.get(t.config_hash, [])
        n[i] = len(runs)
        good = [r["measurements"] for r in runs if not r.get("fail_reason")]
        if t.ok and good:
            Fr, _ = to_matrices(good, study.objectives, study.constraints)
            Fc[i] = np.nanmedian(np.vstack([F[i][None, :], Fr]), axis=0)
    return Confirmed(records, F, Fc, feasible, n, original, _front(Fc, feasible))


def noisy_metrics(study: Study, evaluator: Evaluator) -> list[str]:
    """The study's objectives and constraints that can come out differently when measured again;
    none (MACs, cost-model estimates, accuracy on fixed data): re-measuring would only spend
    evaluations to confirm what is known."""
    names = [o.name for o in study.objectives] + [c.name for c in study.constraints]
    return [n for n in names if evaluator.is_noisy(n)]


def remeasure(study: Study, evaluator: Evaluator, repeats: int = 1, *, executor=None,
              progress: Progress | None = None) -> int:
    """Evaluate every config on the confirmed front until it has ``repeats`` re-measurements;
    returns how many evaluations ran. Warns about configs the re-measurements moved off the front."""
    if repeats < 1:
        return 0
    executor = executor or InlineExecutor()
    progress = progress or Progress()
    noisy = noisy_metrics(study, evaluator)
    # only what can come out differently is measured again (the rest keeps its first value)
    evaluator = evaluator.restricted_to(noisy) if noisy else evaluator
    progress.stage("re-measure front")
    done = 0
    try:
        for _ in range(MAX_PASSES):
            c = confirmed(study)
            todo = [c.records[i] for i in np.flatnonzero(c.front) for _ in range(repeats - c.remeasured[i])]
            if not todo:
                break
            progress.start(done + len(todo), done)
            for out in executor.run(evaluator, [t.config for t in todo]):
                study.add_remeasurement(todo[out.index].config_hash, out.measurements, fail_reason=out.fail_reason)
                done += 1
                progress.update(done, 0, None)
            progress.close()
    finally:
        progress.close()
        if hasattr(executor, "close"):
            executor.close()
    if done:
        _warn_about_moves(study)
    return done


def _warn_about_moves(study: Study) -> None:
    c = confirmed(study)
    left = np.flatnonzero(c.original_front & ~c.front & (c.remeasured > 0))
    if not len(left):
        return
    parts = []
    front = np.flatnonzero(c.front)
    for i in left[:5]:
        moved = [f"{o.name} {o.sign * c.first[i, j]:.4g} -> {o.sign * c.F[i, j]:.4g}"
                 for j, o in enumerate(study.objectives) if not np.isclose(c.first[i, j], c.F[i, j])]
        # a config also leaves when another one's confirmed values come to dominate it
        by = next((c.records[k].number for k in front if np.all(c.F[k] <= c.F[i]) and np.any(c.F[k] < c.F[i])), None)
        parts.append(f"trial {c.records[i].number} ({', '.join(moved) or 'ties'}"
                     + (f"; dominated by trial {by}" if by is not None else "") + ")")
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    warnings.warn(
        f"{len(left)} of {int(c.original_front.sum())} Pareto configs did not hold up when re-measured: "
        f"{'; '.join(parts)}{more}. The report's front uses the medians of all measurements.",
        HwoptWarning, stacklevel=3,
    )
