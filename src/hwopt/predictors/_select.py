"""Choosing a predictor per objective by cross-validation on the trials so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from hwopt.errors import ConfigError
from hwopt.predictors._base import Predictor, clone
from hwopt.predictors._metrics import coverage, kendall_tau, rmse


@dataclass
class CVScore:
    """Out-of-fold quality of one candidate predictor."""

    name: str
    tau: float
    rmse: float
    coverage80: float
    oof_mean: np.ndarray = field(repr=False, default=None)
    oof_std: np.ndarray = field(repr=False, default=None)

    def as_dict(self) -> dict[str, float | str]:
        return {"name": self.name, "tau": self.tau, "rmse": self.rmse, "coverage80": self.coverage80}


def cross_validate(pred: Predictor, X: np.ndarray, y: np.ndarray, folds: int = 5,
                   seed: int | None = 0, name: str = "") -> CVScore:
    """K-fold out-of-fold predictions of ``pred`` and their tau, RMSE and 80% coverage."""
    X, y = np.asarray(X, float), np.asarray(y, float).ravel()
    n = len(y)
    k = min(folds, n // 2)
    if k < 2:
        raise ConfigError(f"cross-validation needs at least 4 rows, got {n}")
    idx = np.random.default_rng(seed).permutation(n)
    mu, sd = np.empty(n), np.empty(n)
    for part in np.array_split(idx, k):
        train = np.setdiff1d(idx, part)
        m = clone(pred).fit(X[train], y[train])
        mu[part], sd[part] = m.predict_dist(X[part])
    return CVScore(name or pred.name, kendall_tau(y, mu), rmse(y, mu), coverage(y, mu, sd), mu, sd)


def select_predictor(X: np.ndarray, y: np.ndarray, candidates: Sequence[str | Predictor] = ("ridge", "gp", "gbm"),
                     folds: int = 5, seed: int | None = 0, by: str = "tau") -> tuple[Predictor, list[CVScore]]:
    """The candidate with the best CV score (``by`` = "tau" or "rmse"), refitted on all rows."""
    from hwopt.predictors import PREDICTORS

    if by not in ("tau", "rmse"):
        raise ConfigError(f"select by 'tau' or 'rmse', got {by!r}")
    preds = [PREDICTORS.create(c) if isinstance(c, str) else c for c in candidates]
    if not preds:
        raise ConfigError("select_predictor needs at least one candidate")
    scores = [cross_validate(p, X, y, folds, seed) for p in preds]
    key = (lambda s: (s.tau, -s.rmse)) if by == "tau" else (lambda s: (-s.rmse, s.tau))
    best = max(range(len(preds)), key=lambda i: key(scores[i]))
    return clone(preds[best]).fit(X, y), scores
