"""Predictor quality: rank agreement, error, and calibration of the stated uncertainty."""

from __future__ import annotations

import numpy as np
from scipy.stats import kendalltau as _kendalltau
from scipy.stats import norm

def kendall_tau(y: np.ndarray, pred: np.ndarray) -> float:
    """Kendall's tau-b between measured and predicted values (NaN-safe: 0 when undefined)."""
    t = _kendalltau(np.asarray(y, float), np.asarray(pred, float)).statistic
    return float(t) if np.isfinite(t) else 0.0


def rmse(y: np.ndarray, pred: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, float) - np.asarray(pred, float)) ** 2)))


def coverage(y: np.ndarray, mu: np.ndarray, std: np.ndarray, level: float = 0.8) -> float:
    """Share of measured values inside the central ``level`` interval mu ± z·std."""
    z = norm.ppf(0.5 + level / 2)
    y, mu, std = (np.asarray(a, float) for a in (y, mu, std))
    return float(np.mean(np.abs(y - mu) <= z * std)) if len(y) else float("nan")


def undercovered(n_inside: int, n: int, level: float = 0.8, z: float = 3.0) -> bool:
    """Whether ``n_inside`` of ``n`` inside a ``level`` interval is too few to be chance (z-test)."""
    if n < 20:
        return False
    return n_inside / n < level - z * np.sqrt(level * (1 - level) / n)
