"""Tables of a study: every trial, and the Pareto front of the feasible ones.

Columns are named after the metrics, never by position (DyNAS-T's CSVs are read back by column
index): ``number``, ``state``, ``config_hash``, ``config`` (JSON), one column per objective and
measurement (a measurement dict ``{"median", "p10", ...}`` gives ``latency`` = its median plus
``latency_p10`` ...), then ``fail_reason``, ``duration_s``, ``feasible`` and ``on_front``.
The front uses constrained domination: only complete trials that meet every constraint can be
on it, and a config evaluated twice counts once (its first trial), as in the search itself.
Where front configs were measured again (``hwopt.study.remeasure``), the front is that of the
confirmed values (medians over all measurements), and the columns ``remeasured`` and
``<objective>_confirmed`` say how often and with what result.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from hwopt.study import Study, TrialRecord, confirmed

#: the fixed leading and trailing columns of both CSVs
LEADING = ["number", "state", "config_hash", "config"]
TRAILING = ["fail_reason", "duration_s", "feasible", "on_front"]
_MEDIAN_KEYS = ("median", "value", "mean")


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


def _front_flags(study: Study) -> tuple[set[int], set[int], dict[int, tuple[int, np.ndarray]]]:
    """Trial numbers that are feasible, those on the front (first trial of each config only; of
    the confirmed values where front configs were re-measured), and per re-measured trial its
    number of re-measurements and confirmed minimisation-form objectives."""
    c = confirmed(study)
    again = {c.records[i].number: (int(c.remeasured[i]), c.F[i]) for i in np.flatnonzero(c.remeasured)}
    return c.trial_numbers(c.feasible), c.trial_numbers(c.front), again


def trials_frame(study: Study) -> pd.DataFrame:
    """Every trial of the study, one row each, in trial order (the content of ``trials.csv``)."""
    trials = study.trials
    metric_cols = _metric_columns(study, trials)
    feasible, front, again = _front_flags(study)
    if again:  # front configs measured again: how often, and each objective's median over all
        metric_cols += ["remeasured"] + [f"{o.name}_confirmed" for o in study.objectives]
    rows = []
    for t in trials:
        row: dict[str, Any] = {
            "number": t.number, "state": t.state, "config_hash": t.config_hash,
            "config": json.dumps(t.config, separators=(",", ":")),
        }
        for name, value in (t.measurements or {}).items():
            row.update(_flatten(name, value))
        if again:
            n, Fc = again.get(t.number, (0, None))
            row["remeasured"] = n
            for j, o in enumerate(study.objectives):
                row[f"{o.name}_confirmed"] = o.sign * Fc[j] if Fc is not None else math.nan
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
