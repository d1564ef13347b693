"""Tables of a study: every trial, and the Pareto front of the feasible ones.

Columns are named after the metrics, never by position (DyNAS-T's CSVs are read back by column
index): ``number``, ``state``, ``config_hash``, ``config`` (JSON), one column per objective and
measurement (a measurement dict ``{"median", "p10", ...}`` gives ``latency`` = its median plus
``latency_p10`` ...), then ``fail_reason``, ``duration_s``, ``feasible`` and ``on_front``.
The front uses constrained domination: only complete trials that meet every constraint can be
on it, and a config evaluated twice counts once (its first trial), as in the search itself.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from hwopt.study import Study, TrialRecord, history

#: the fixed leading and trailing columns of both CSVs
LEADING = ["number", "state", "config_hash", "config"]
TRAILING = ["fail_reason", "duration_s", "feasible", "on_front"]
_MEDIAN_KEYS = ("median", "value", "mean")


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


def _flatten(name: str, value: Any) -> dict[str, Any]:
    """One measurement as CSV cells: a dict's median under ``name``, its other keys as ``name_key``."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        main = next((k for k in _MEDIAN_KEYS if k in value), None)
        out[name] = _cell(value[main]) if main else math.nan
        for k, v in value.items():
            if k != main:
                out[f"{name}_{k}"] = _cell(v)
        return out
    return {name: _cell(value)}


def _cell(v: Any) -> Any:
    if v is None:
        return math.nan
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def _metric_columns(study: Study, trials: list[TrialRecord]) -> list[str]:
    """Objectives first, then constrained metrics, then every other measurement in first-seen order."""
    cols: list[str] = []
    for name in [o.name for o in study.objectives] + [c.name for c in study.constraints]:
        if name not in cols:
            cols.append(name)
    for t in trials:
        for name, value in (t.measurements or {}).items():
            for col in _flatten(name, value):
                if col not in cols:
                    cols.append(col)
    return cols


def _front_flags(study: Study) -> tuple[set[int], set[int]]:
    """Trial numbers that are feasible, and those on the front (first trial of each config only)."""
    records, _, F, G = history(study)
    ok = np.array([t.ok for t in records], dtype=bool)
    feasible = ok & ~(G > 0).any(axis=1) & ~np.isnan(F).any(axis=1)
    idx = np.flatnonzero(feasible)
    front = idx[non_dominated(F[idx])] if len(idx) else idx
    return {records[i].number for i in idx}, {records[i].number for i in front}


def trials_frame(study: Study) -> pd.DataFrame:
    """Every trial of the study, one row each, in trial order (the content of ``trials.csv``)."""
    trials = study.trials
    metric_cols = _metric_columns(study, trials)
    feasible, front = _front_flags(study)
    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "number": t.number, "state": t.state, "config_hash": t.config_hash,
            "config": json.dumps(t.config, separators=(",", ":")),
        }
        for name, value in (t.measurements or {}).items():
            row.update(_flatten(name, value))
        row.update({
            "fail_reason": t.fail_reason or "", "duration_s": t.duration_s if t.duration_s is not None else math.nan,
            "feasible": t.number in feasible, "on_front": t.number in front,
        })
        rows.append(row)
    df = pd.DataFrame(rows, columns=LEADING + metric_cols + TRAILING)
    return df.astype({"number": int, "feasible": bool, "on_front": bool})


def pareto_front(study: Study, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Non-dominated complete feasible trials (content of ``pareto.csv``), best first objective first."""
    df = trials_frame(study) if trials is None else trials
    front = df[df["on_front"]]
    if study.objectives and len(front):
        first = study.objectives[0]
        front = front.sort_values([first.name, "number"], ascending=[first.direction == "min", True], kind="stable")
    return front.reset_index(drop=True)
