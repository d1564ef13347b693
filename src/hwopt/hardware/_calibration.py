"""Few-shot calibration of the roofline model from N measured models on one device.

Model (per runtime variant ``fused`` / ``pruned``, see ``_features``)::

    latency_ms = b0 + sum_c a_c * T_c + g * n_ops

``T_c`` is the spec-sheet roofline time of op class ``c`` (prior efficiencies), so ``a_c`` is
the calibrated inverse efficiency of that class relative to the prior, ``g`` the per-kernel
overhead and ``b0`` a fixed per-inference overhead. All coefficients are non-negative. The fit
minimises *relative* squared error plus a ridge penalty pulling every ``a_c`` toward one
shared scale ``a`` (fitted first): with few measurements the classes share strength, with
many they separate. The variant and the penalty are chosen by leave-one-out (LOO) error.

A residual predictor (kernel ridge regression on the standardised log features, RBF kernel,
hyper-parameters by LOO) is kept only when it lowers the LOO error.

Intervals are split-conformal on the LOO log-ratio residuals ``r_i = log(y_i / yhat_-i)``:
the 80% interval is ``yhat * exp([r_(k), r_(n+1-k)])`` with ``k = floor(0.1 (n+1))``
(jackknife+-style), and widens by ``1 + e`` where ``e`` is the share of the prediction that
comes from feature amounts outside the calibrated range.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwopt.errors import ConfigError

LAMBDAS = (0.01, 0.1, 1.0, 10.0, math.inf)


def _solve(X: np.ndarray, y: np.ndarray, lam: float, shared: np.ndarray | None = None) -> np.ndarray:
    """Non-negative relative least squares; ``shared`` = indices of class columns tied by ridge."""
    from scipy.optimize import lsq_linear

    w = 1.0 / y
    A = X * w[:, None]
    b = np.ones_like(y)
    if shared is not None and len(shared) and math.isinf(lam):
        # one common scale for all class columns
        A2 = np.c_[np.delete(A, shared, axis=1), A[:, shared].sum(1)]
        sol = lsq_linear(A2, b, bounds=(0, np.inf), method="bvls").x
        theta = np.zeros(X.shape[1])
        rest = [j for j in range(X.shape[1]) if j not in set(shared)]
        theta[rest] = sol[:-1]
        theta[shared] = sol[-1]
        return theta
    if shared is not None and len(shared) and lam > 0:
        a0 = _solve(X, y, math.inf, shared)[shared[0]]
        s = A[:, shared].mean(0)
        P = np.zeros((len(shared), X.shape[1]))
        P[np.arange(len(shared)), shared] = math.sqrt(lam) * s
        A = np.r_[A, P]
        b = np.r_[b, math.sqrt(lam) * s * a0]
    return lsq_linear(A, b, bounds=(0, np.inf), method="bvls").x


@dataclass
class Calibration:
    """A fitted calibration for one hardware target (JSON-serialisable)."""

    hardware: str
    variant: str
    theta: list[float]
    columns: list[int]  # feature columns used (into FEATURES)
    residual_quantiles: tuple[float, float]
    coverage: float
    x_min: list[float]
    x_max: list[float]
    n: int
    loo_mape: float
    lam: float
    y_range: tuple[float, float] = (0.0, 0.0)
    krr: dict[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    dtype: str = "fp32"
    space: str = ""

    # -- prediction -------------------------------------------------------------------
    def _design(self, F: np.ndarray) -> np.ndarray:
        return _design(F, self.columns)

    def predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        X = self._design(features[self.variant])
        pred = X @ np.asarray(self.theta)
        if self.krr:
            pred = pred * np.exp(_krr_predict(self.krr, X))
        return np.maximum(pred, 1e-9)

    def predict_interval(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = self.predict(features)
        X = self._design(features[self.variant])
        theta = np.asarray(self.theta)
        lo_b, hi_b = np.asarray(self.x_min), np.asarray(self.x_max)
        excess = np.maximum(X - hi_b, 0) + np.maximum(lo_b - X, 0)
        widen = 1.0 + (excess * theta).sum(1) / pred
        qlo, qhi = self.residual_quantiles
        return pred, pred * np.exp(qlo * widen), pred * np.exp(qhi * widen)

    # -- persistence ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["residual_quantiles"] = list(self.residual_quantiles)
        d["y_range"] = list(self.y_range)
        d["lam"] = None if math.isinf(self.lam) else self.lam
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Calibration":
        d = dict(d)
        d["residual_quantiles"] = tuple(d["residual_quantiles"])
        d["y_range"] = tuple(d.get("y_range", (0.0, 0.0)))
        d["lam"] = math.inf if d.get("lam") is None else d["lam"]
        return cls(**d)


def _design(F: np.ndarray, columns: list[int]) -> np.ndarray:
    """[1 ms intercept, class times in ms..., n_ops] for the used columns."""
    F = np.asarray(F, dtype=float)
    cols = [F[:, j] * (1.0 if j == F.shape[1] - 1 else 1e3) for j in columns]
    return np.c_[np.ones(len(F)), np.array(cols).T if cols else np.zeros((len(F), 0))]


def _loo(X: np.ndarray, y: np.ndarray, lam: float, shared: np.ndarray) -> np.ndarray:
    n = len(y)
    out = np.empty(n)
    for i in range(n):
        m = np.arange(n) != i
        out[i] = X[i] @ _solve(X[m], y[m], lam, shared)
    return np.maximum(out, 1e-9)


# -- residual predictor: kernel ridge on standardised log features ----------------------
def _krr_fit(X: np.ndarray, r: np.ndarray, gamma: float, lam: float) -> dict[str, Any]:
    Z = np.log1p(np.abs(X[:, 1:]))
    mu, sd = Z.mean(0), Z.std(0) + 1e-9
    Z = (Z - mu) / sd
    K = np.exp(-gamma * ((Z[:, None, :] - Z[None, :, :]) ** 2).sum(-1) / Z.shape[1])
    alpha = np.linalg.solve(K + lam * np.eye(len(r)), r - r.mean())
    return {"Z": Z.tolist(), "alpha": alpha.tolist(), "mu": mu.tolist(), "sd": sd.tolist(), "gamma": gamma,
            "bias": float(r.mean())}


def _krr_predict(m: dict[str, Any], X: np.ndarray) -> np.ndarray:
    Z = (np.log1p(np.abs(X[:, 1:])) - np.asarray(m["mu"])) / np.asarray(m["sd"])
    Zt = np.asarray(m["Z"])
    K = np.exp(-m["gamma"] * ((Z[:, None, :] - Zt[None, :, :]) ** 2).sum(-1) / Z.shape[1])
    return K @ np.asarray(m["alpha"]) + m["bias"]


def fit_calibration(features: dict[str, np.ndarray], y_ms: np.ndarray, hardware: str = "", alpha: float = 0.2,
                    lambdas: tuple[float, ...] = LAMBDAS, residual: bool = True) -> Calibration:
    """Fit on ``n`` measured models: ``features[variant]`` is ``(n, len(FEATURES))``, ``y_ms`` latencies."""
    y = np.asarray(y_ms, dtype=float)
    n = len(y)
    if n < 3:
        raise ConfigError(f"calibration needs at least 3 measured models, got {n}")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ConfigError("calibration latencies must be positive finite numbers")
    best = None
    for variant, F in features.items():
        F = np.asarray(F, dtype=float)
        columns = [j for j in range(F.shape[1]) if np.any(F[:, j] > 0)]
        X = _design(F, columns)
        shared = np.array([k + 1 for k, j in enumerate(columns) if j != F.shape[1] - 1], dtype=int)
        for lam in lambdas:
            loo = _loo(X, y, lam, shared)
            err = float(np.mean(np.log(y / loo) ** 2))
            if best is None or err < best[0] - 1e-12:
                best = (err, variant, lam, columns, X, shared, loo)
    err, variant, lam, columns, X, shared, loo = best
    theta = _solve(X, y, lam, shared)
    r = np.log(y / loo)
    krr: dict[str, Any] = {}
    if residual and n >= 8:
        krr, r = _fit_residual(X, y, lam, shared, r)
    qlo, qhi = _conformal(r, alpha)
    return Calibration(
        hardware=hardware, variant=variant, theta=theta.tolist(), columns=columns,
        residual_quantiles=(qlo, qhi), coverage=1 - alpha, x_min=X.min(0).tolist(), x_max=X.max(0).tolist(),
        n=n, loo_mape=float(np.mean(np.abs(np.exp(-r) - 1))), lam=lam, y_range=(float(y.min()), float(y.max())),
        krr=krr,
    )


def _fit_residual(X, y, lam, shared, r_lin):
    """Keep a kernel-ridge correction of the log residuals only if it lowers the LOO error."""
    n = len(y)
    best_err, best = float(np.mean(r_lin ** 2)), ({}, r_lin)
    for gamma in (0.3, 1.0, 3.0):
        for rl in (0.3, 1.0, 3.0):
            r = np.empty(n)
            for i in range(n):
                m = np.arange(n) != i
                th = _solve(X[m], y[m], lam, shared)
                base_tr = np.maximum(X[m] @ th, 1e-9)
                model = _krr_fit(X[m], np.log(y[m] / base_tr), gamma, rl)
                p = max(float(X[i] @ th), 1e-9) * math.exp(_krr_predict(model, X[i:i + 1])[0])
                r[i] = math.log(y[i] / p)
            e = float(np.mean(r ** 2))
            if e < best_err * 0.95:
                theta = _solve(X, y, lam, shared)
                base = np.maximum(X @ theta, 1e-9)
                best_err, best = e, (_krr_fit(X, np.log(y / base), gamma, rl), r)
    return best


def _conformal(r: np.ndarray, alpha: float) -> tuple[float, float]:
    r = np.sort(np.asarray(r))
    n = len(r)
    k = int(math.floor(alpha / 2 * (n + 1)))
    if k < 1:  # too few points for the level: widen by the spread
        spread = float(r.max() - r.min()) if n > 1 else 0.5
        return float(r.min() - spread / 2), float(r.max() + spread / 2)
    return float(r[k - 1]), float(r[n - k])


def calibrations_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("hwopt")) / "calibrations"


def save_calibration(cal: Calibration, name: str) -> Path:
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(f"calibration name {name!r} must be a plain file name")
    path = calibrations_dir() / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cal.to_dict(), indent=1))
    return path


def list_calibrations() -> list[str]:
    d = calibrations_dir()
    return sorted(p.stem for p in d.glob("*.json")) if d.is_dir() else []


def load_calibration(name: str) -> Calibration:
    path = Path(name) if name.endswith(".json") else calibrations_dir() / f"{name}.json"
    if not path.is_file():
        raise ConfigError(f"unknown calibration {name!r}; saved: {', '.join(list_calibrations()) or '(none)'}")
    try:
        return Calibration.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigError(f"calibration file {str(path)!r} is malformed: {exc}") from None
