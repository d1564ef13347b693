"""Fit one Efficiency set per hardware type on measured rows, and leave-one-source-out checks.

The fit minimises the squared log-ratio of predicted to measured values over all given rows of
one hardware type, varying only ``FIT_PARAMS`` within physical bounds. Used offline to write
``calibration.yaml`` (``hwopt llm validate --fit``); prediction never refits.
"""

from __future__ import annotations

import math

from hwopt.errors import ConfigError, HwoptError
from hwopt.llm._efficiency import FIT_PARAMS, Efficiency
from hwopt.llm._validate import predict_row, short_source, validate_frame

BOUNDS = {
    "gemm_max": (0.5, 0.98),
    "gemm_half_dim": (1.0, 512.0),
    "mem": (0.4, 0.95),
    "intra_link": (0.3, 0.95),
    "inter_link": (0.3, 0.95),
    "flash_attn": (0.3, 0.9),
}


def fit_efficiency(rows: list[dict], start: Efficiency, params: tuple[str, ...] = FIT_PARAMS) -> Efficiency:
    """Least-squares fit of ``params`` (log-ratio residuals) on ``rows`` of one hardware type."""
    import numpy as np
    from scipy.optimize import least_squares

    if not rows:
        raise ConfigError("no rows to fit on")
    lo = np.array([BOUNDS[p][0] for p in params])
    hi = np.array([BOUNDS[p][1] for p in params])
    x0 = np.clip(np.array([getattr(start, p) for p in params]), lo, hi)

    def residuals(x):
        eff = start.with_(**dict(zip(params, map(float, x))))
        out = []
        for r in rows:
            try:
                out.append(math.log(predict_row(r, eff) / float(r["metric_value"])))
            except (HwoptError, ValueError, ZeroDivisionError):
                out.append(1.0)
        return np.array(out)

    res = least_squares(residuals, x0, bounds=(lo, hi), diff_step=1e-3, x_scale="jac")
    return start.with_(**{p: round(float(v), 4) for p, v in zip(params, res.x)})


def leave_one_source_out(df, start: Efficiency, params: tuple[str, ...] = FIT_PARAMS):
    """For each source: fit on the other sources' rows, predict this source's rows.

    Returns a DataFrame with the held-out predictions (same columns as validate), so the error
    of a source is the error of a model that never saw it."""
    import pandas as pd

    df = df.copy()
    df["_src"] = df["source"].map(short_source)
    parts = []
    for src in sorted(df["_src"].unique()):
        train = df[(df["_src"] != src) & (df["kind"] == "train")]
        test = df[df["_src"] == src]
        eff = fit_efficiency(train.to_dict("records"), start, params) if len(train) else start
        res = validate_frame(test.drop(columns="_src"), eff)
        t = res.table
        t["fit_on"] = ", ".join(sorted(train["_src"].unique())) or "(none: default efficiencies)"
        parts.append(t)
    return pd.concat(parts, ignore_index=True)
