"""Few-shot calibration of the roofline model from N measured models on one device.

Candidate models, per runtime variant (``unfused`` / ``fused`` / ``pruned``, see ``_features``)::

    per-class:  latency_ms = b0 + sum_c a_c * T_c + g * n_ops
    + weights:  latency_ms = b0 + sum_c a_c * T_c + w * W + g * n_ops
    aggregate:  latency_ms = b0 + f * FLOPs/peak + w * W + g * n_ops       (W = weight bytes / bandwidth)
    kernels:    latency_ms = b0 + sum_c k_c * n_c                          (n_c = kernels of class c)

``T_c`` is the spec-sheet roofline time of op class ``c`` (prior efficiencies), so ``a_c`` is
the calibrated inverse efficiency of that class relative to the prior, ``g`` the per-kernel
overhead and ``b0`` a fixed per-inference overhead; ``k_c`` is a time per kernel of class ``c``,
for devices where launches, not work, set the time (GPUs at batch 1). Every fit minimises
*relative* squared error; every coefficient is non-negative but the aggregate family's intercept
(a runtime can run a model's ops faster than their sum), and the first two add a
ridge penalty pulling every ``a_c`` toward one shared scale (fitted first): with few
measurements the classes share strength, with many they separate. Every fit is robust: three
Huber IRLS steps (MAD scale, c = 1.345) down-weight measurements far off the model, because phones and
single-board computers return a few latencies that no cost model explains (thermal or
scheduling noise), and with 20 shots one such point can otherwise tilt every coefficient.
Every candidate (family x variant x penalty) is scored by its leave-one-out (LOO) *absolute* log
error, for the same reason, and the best twelve are averaged with pseudo-BMA weights
``(best loss / loss)^n`` (``_bma_weights``): with 20 shots, candidates within a few percent of the
best loss cannot be told apart, and picking one by that noise costs accuracy.

An optional residual predictor (``residual=True``; kernel ridge regression on the standardised
log features, RBF kernel, hyper-parameters by LOO) joins the candidates with a 25% handicap.
It is off by default: on the shared tables it buys nothing measurable (docs/costmodel.md).

Up to ``LOO_MAX`` (50) measurements, "leave-one-out" below means each point left out on its
own; beyond that, each of ``FOLDS`` (10) folds (CV+, the K-fold form of the same interval,
Barber et al. 2021): the nested leave-one-out costs ~12 n^2 fits (80 s at 200 measurements),
the folds ~1,500 at any n (a whole 15,000-row table in seconds).

Intervals are jackknife+ (Barber et al. 2021) on log latency: with the n leave-one-out models
``f_-i`` and their residuals ``R_i = |log(y_i / f_-i(x_i))|``, the 80% interval at ``x`` runs
from the ``floor(0.2 (n+1))``-th smallest of ``log f_-i(x) - R_i`` to the
``ceil(0.8 (n+1))``-th smallest of ``log f_-i(x) + R_i``. Point ``i``'s LOO model is the
candidates' LOO models averaged with the weights that a LOO run on the *other* points gives
(nested), so the averaging does not make the interval optimistic. Residuals are
leverage-normalised: ``R_i`` is scaled by ``sqrt(1 - h_i)`` and, at ``x``, by ``sqrt(1 + h(x))``,
with ``h`` the leverage under the heaviest model's weighted least squares, because a left-out point
of high leverage has an inflated LOO residual while a new point of high leverage (one far from
the calibration set) has a larger error than a central one. Outside the
calibrated range the interval's log-width grows by the factor ``1 + e``, where ``e`` is the
share of the prediction that comes from feature amounts beyond the calibration set's range.
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
NESTED_TOP = 12
#: up to this many measurements every point is left out on its own (jackknife+); beyond it the
#: points are split into FOLDS folds (CV+), because the nested leave-one-out costs ~12 n^2 fits
#: (4 s at 50 measurements, 80 s at 200, days at thousands)
LOO_MAX = 50
FOLDS = 10
#: intervals are computed in blocks of (prediction rows x measurements) of at most this many
#: cells (80 MB of float64), so a calibration on thousands of models predicts thousands more
INTERVAL_CELLS = 10_000_000
#: the optional kernel-ridge residual predictor holds an n x n kernel per fit
RESIDUAL_MAX = 2000


def _folds(n: int) -> np.ndarray:
    """The fold of each of ``n`` measurements: its own up to LOO_MAX, else FOLDS seeded folds."""
    if n <= LOO_MAX:
        return np.arange(n)
    return np.random.default_rng(0).permutation(n) % FOLDS


def _solve(X: np.ndarray, y: np.ndarray, lam: float, shared: np.ndarray | None = None,
           a0: float | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """Non-negative relative least squares; ``shared`` = indices of class columns tied by ridge.

    ``lam < 0`` means a free (possibly negative) intercept and non-negative slopes, for the
    4-parameter aggregate model.
    """
    from scipy.optimize import nnls

    sw = np.ones_like(y) if weights is None else np.sqrt(weights)
    A = X * (sw / y)[:, None]
    b = sw
    if lam < 0:
        # free intercept (the difference of two non-negative ones), non-negative slopes
        sol = nnls(np.hstack([A[:, :1], -A[:, :1], A[:, 1:]]), b)[0]
        return np.r_[sol[0] - sol[1], sol[2:]]
    if shared is not None and len(shared) and not math.isinf(lam) and a0 is None:
        a0 = _solve(X, y, math.inf, shared, weights=weights)[shared[0]]
    if shared is not None and len(shared) and math.isinf(lam):
        # one common scale for all class columns
        A2 = np.hstack([np.delete(A, shared, axis=1), A[:, shared].sum(1, keepdims=True)])
        sol = nnls(A2, b)[0]
        theta = np.zeros(X.shape[1])
        rest = np.ones(X.shape[1], dtype=bool)
        rest[shared] = False
        theta[rest] = sol[:-1]
        theta[shared] = sol[-1]
        return theta
    if shared is not None and len(shared) and lam > 0:
        s = np.full(len(shared), _penalty_scale(A, shared))
        P = np.zeros((len(shared), X.shape[1]))
        P[np.arange(len(shared)), shared] = math.sqrt(lam) * s
        A = np.vstack([A, P])
        b = np.concatenate([b, math.sqrt(lam) * s * a0])
    return nnls(A, b)[0]


def _penalty_scale(A: np.ndarray, shared: np.ndarray) -> float:
    """Weight of every class's pull toward the shared scale: one for all classes (the mean class
    column), so a class with little time in the calibration set stays near the shared scale
    instead of serving as a free proxy for other costs (a rare pooling layer fitted at 25× its
    prior cost on ResNets, then wrong on a cell network full of pooling)."""
    return float(A[:, shared].mean())


ROBUST_ITERS = 3
HUBER_C = 1.345


def _robust_solve(X: np.ndarray, y: np.ndarray, lam: float, shared: np.ndarray | None) -> np.ndarray:
    """``_solve`` with Huber weights on the relative residuals (IRLS, MAD scale)."""
    th = _solve(X, y, lam, shared)
    for _ in range(ROBUST_ITERS):
        w = _huber_weights(X, y, th)
        if w.min() >= 1.0:
            break
        th = _solve(X, y, lam, shared, weights=w)
    return th


def _huber_weights(X: np.ndarray, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Huber IRLS weights of the relative residuals, scale from their MAD."""
    e = X @ theta / y - 1.0
    s = 1.4826 * _median(np.abs(e - _median(e)))
    if s <= 1e-12:
        return np.ones_like(e)
    return np.minimum(1.0, HUBER_C * s / np.maximum(np.abs(e), 1e-12))


def _loss(r: np.ndarray) -> float:
    """Model-selection loss of LOO log residuals: absolute, so one outlying measurement cannot
    decide the model (the ±10% share users care about is an L1-like criterion too)."""
    return float(np.sum(np.abs(r)))


def _median(a: np.ndarray) -> float:
    """np.median without its overhead (called ~10^5 times per calibration)."""
    s = np.sort(a)
    n = len(s)
    return 0.5 * float(s[(n - 1) // 2] + s[n // 2])


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
    #: the measured column it was fitted on (estimates use latency calibrations only)
    metric: str = "latency_ms"
    #: jackknife+: per left-out point its averaged leave-one-out models (as ``components``), and
    #: the signed log residuals
    jackknife: list[list[dict[str, Any]]] = field(default_factory=list)
    loo_residuals: list[float] = field(default_factory=list)
    #: CV+: the entry of ``jackknife`` (the fold's models) of each residual; empty: one each
    folds: list[int] = field(default_factory=list)
    #: leverage: ``h(x) = a Q a^T`` with ``a = design(x) / prediction(x)`` (empty: not normalised)
    leverage_q: list[list[float]] = field(default_factory=list)
    #: the averaged models, ``{"variant", "columns", "theta", "krr", "weight"}``, heaviest first:
    #: the point prediction is their weighted geometric mean; the first is the one above
    components: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.components:  # a single model (files written before models were averaged)
            self.components = [{"variant": self.variant, "columns": self.columns, "theta": self.theta,
                                "krr": self.krr, "weight": 1.0}]
        self.jackknife = [m if isinstance(m, list) else [{**m, "weight": 1.0}] for m in self.jackknife]

    # -- prediction -------------------------------------------------------------------
    def _design(self, F: np.ndarray) -> np.ndarray:
        return _design(F, self.columns)

    def _point(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prediction (ms), design rows of the main model, and the part of its prediction from op
        classes unseen in calibration."""
        F = features[self.variant]
        unseen = _unseen_ms(F, self.columns, self.theta)
        pred = np.exp(_log_predict(self.components, features))
        return np.maximum(pred, 1e-9), self._design(F), unseen

    def predict(self, features: dict[str, np.ndarray]) -> np.ndarray:
        return self._point(features)[0]

    def predict_interval(self, features: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred, X, unseen = self._point(features)
        widen = 1.0 + self.extrapolation(X, pred) + unseen / pred
        R = np.abs(np.asarray(self.loo_residuals))
        n = len(R)
        alpha = 1 - self.coverage
        k_lo = int(math.floor(alpha * (n + 1)))
        k_hi = int(math.ceil((1 - alpha) * (n + 1)))
        if self.jackknife and k_lo >= 1 and k_hi <= n:
            # jackknife+ / CV+: combine every left-out point's model prediction at x with its residual
            models = np.column_stack([_log_predict(m, features) for m in self.jackknife])
            cols = np.asarray(self.folds, dtype=int) if self.folds else np.arange(n)
            scale = np.sqrt(1.0 + self.leverage(X, pred)) if self.leverage_q else np.ones(len(pred))
            lo, hi = np.empty(len(pred)), np.empty(len(pred))
            step = max(1, INTERVAL_CELLS // n)  # rows at a time
            for a in range(0, len(pred), step):
                F, Rs = models[a:a + step][:, cols], R[None, :] * scale[a:a + step, None]
                lo[a:a + step] = np.partition(F - Rs, k_lo - 1, axis=1)[:, k_lo - 1]
                hi[a:a + step] = np.partition(F + Rs, k_hi - 1, axis=1)[:, k_hi - 1]
            lo, hi = lo - np.log(pred), hi - np.log(pred)
            return pred, pred * np.exp(np.minimum(lo, 0) * widen), pred * np.exp(np.maximum(hi, 0) * widen)
        qlo, qhi = self.residual_quantiles
        return pred, pred * np.exp(qlo * widen), pred * np.exp(qhi * widen)

    def leverage(self, X: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Leverage of each row under the heaviest model's relative least squares (0 if unknown)."""
        if not self.leverage_q:
            return np.zeros(len(X))
        A = X / pred[:, None]
        return np.maximum(np.einsum("ij,jk,ik->i", A, np.asarray(self.leverage_q), A), 0.0)

    def extrapolation(self, X: np.ndarray, pred: np.ndarray) -> np.ndarray:
        """Share of each prediction that comes from feature amounts outside the calibrated range.

        Amounts are costed at the fitted coefficient, or at least at the mean fitted class
        coefficient, so a class the calibration set could not identify still counts.
        """
        from hwopt.hardware._features import N_CLASSES

        theta = np.abs(np.asarray(self.theta))
        cls = [k + 1 for k, j in enumerate(self.columns) if j < N_CLASSES]
        scale = theta.copy()
        scale[cls] = np.maximum(theta[cls], _class_scale(self.columns, self.theta))
        lo_b, hi_b = np.asarray(self.x_min), np.asarray(self.x_max)
        excess = np.maximum(X - hi_b, 0) + np.maximum(lo_b - X, 0)
        return (excess * scale).sum(1) / pred

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


def _class_scale(columns: list[int], theta) -> float:
    """Mean fitted coefficient of the op classes a model has (0 if it has none): the cost of a
    class the calibration set could not identify."""
    from hwopt.hardware._features import N_CLASSES

    a = [abs(float(theta[k + 1])) for k, j in enumerate(columns) if j < N_CLASSES]
    a = [v for v in a if v > 0]
    return float(np.mean(a)) if a else 0.0


def _unseen_ms(F: np.ndarray, columns: list[int], theta) -> np.ndarray:
    """Roofline time (ms) of the op classes a per-class model was fitted without — none of its
    calibration models had them (e.g. a transformer's softmax after calibrating on CNNs) —
    costed at the mean class coefficient instead of at zero."""
    from hwopt.hardware._features import N_CLASSES

    F = np.asarray(F, dtype=float)
    if not any(j < N_CLASSES for j in columns):  # the aggregate model costs every op already
        return np.zeros(len(F))
    unseen = [j for j in range(N_CLASSES) if j not in columns]
    return F[:, unseen].sum(1) * 1e3 * _class_scale(columns, theta)


def _log_predict(models: list[dict[str, Any]], features: dict[str, np.ndarray]) -> np.ndarray:
    """Weighted mean of the models' log predictions (ms).

    A model whose linear prediction at a row is not positive (the aggregate model's negative
    intercept under a model much smaller than any it was fitted on) says nothing there: its weight
    goes to the others at that row. Only where every model fails does the clipped value (1e-9 ms)
    remain."""
    n = len(next(iter(features.values())))
    out, weight, clipped = np.zeros(n), np.zeros(n), np.zeros(n)
    for m in models:
        F = features[m["variant"]]
        X = _design(F, m["columns"])
        lin = X @ np.asarray(m["theta"]) + _unseen_ms(F, m["columns"], m["theta"])
        f = np.log(np.maximum(lin, 1e-9))
        if m["krr"]:
            f = f + _krr_predict(m["krr"], X)
        ok = lin > 0
        out += m["weight"] * f * ok
        weight += m["weight"] * ok
        clipped += m["weight"] * f
    return np.where(weight > 0, out / np.maximum(weight, 1e-300), clipped)


def _bma_weights(loss: np.ndarray, n: int) -> np.ndarray:
    """Pseudo-BMA weights (Yao et al. 2018) from LOO losses: with Laplace errors of scale
    ``loss / n`` a model's LOO log density is ``-n log(loss) + const``, so its weight is
    ``(min loss / loss)^n``; weights under 0.1% are dropped. Why average instead of taking the
    best: with 20 shots, candidates within a few percent of the best LOO loss are
    indistinguishable, and picking one of them by that noise cost up to 9 points of ±10% share
    in a single seed (NAS-Bench-201 gtx1080ti: an aggregate model won by 2.5% of loss)."""
    loss = np.maximum(np.asarray(loss, dtype=float), 1e-12)
    w = (loss.min() / loss) ** n
    w[w < 1e-3 * w.max()] = 0.0
    return w / w.sum()


def _design(F: np.ndarray, columns: list[int]) -> np.ndarray:
    """[1 ms intercept, spec times in ms / kernel counts...] for the used columns."""
    from hwopt.hardware._features import COUNT_COLS

    F = np.asarray(F, dtype=float)
    cols = [F[:, j] * (1.0 if j in COUNT_COLS else 1e3) for j in columns]
    return np.c_[np.ones(len(F)), np.array(cols).T if cols else np.zeros((len(F), 0))]


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


@dataclass
class _Candidate:
    variant: str
    columns: list[int]
    lam: float
    X: np.ndarray
    shared: np.ndarray
    krr: tuple[float, float] | None = None
    penalty: float = 1.0  # a residual model must beat the linear ones by this factor

    def fit(self, y: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, dict]:
        th = _robust_solve(self.X[idx], y[idx], self.lam, self.shared)
        if self.krr is None:
            return th, {}
        base = np.maximum(self.X[idx] @ th, 1e-9)
        return th, _krr_fit(self.X[idx], np.log(y[idx] / base), *self.krr)

    def residuals(self, model: tuple[np.ndarray, dict], y: np.ndarray, rows: np.ndarray) -> np.ndarray:
        th, k = model
        f = np.log(np.maximum(self.X[rows] @ th, 1e-9))
        if k:
            f = f + _krr_predict(k, self.X[rows])
        return np.log(y[rows]) - f

    def cv(self, y: np.ndarray, idx: np.ndarray, folds: np.ndarray) -> tuple[np.ndarray, list]:
        """Signed out-of-fold log residuals over the points ``idx`` (``folds[a]``: the fold of
        ``idx[a]``; all distinct = leave-one-out) and the model fitted without each fold, in the
        order of ``np.unique(folds)``."""
        r, models = np.empty(len(idx)), []
        for f in np.unique(folds):
            out = folds == f
            model = self.fit(y, idx[~out])
            models.append(model)
            r[out] = self.residuals(model, y, idx[out])
        return r, models


def _candidates(features, y, lambdas, residual) -> list[_Candidate]:
    """Four model families per runtime variant (columns index FEATURES):

    per-class efficiencies + kernel count; the same plus a weight-traffic term (both
    non-negative); the aggregate roofline (FLOPs / peak, weight bytes / bandwidth, kernel
    count) with a free intercept and non-negative slopes (``lam = -1``), which can bend through a
    negative intercept (slopes were signed once: with 10 shots on a phone, -4,500 x the weight
    bytes' time predicted -637 ms for a 51 ms cell);
    and a non-negative cost per kernel of each op class, for devices where a kernel's launch,
    not its work, sets its time (FBNet on the shared tables' batch-1 GPUs: 20-shot MAPE 1.4% ->
    0.4% with it).
    """
    from hwopt.hardware._features import COUNT_COL0, FLOPS_COL, N_CLASSES, NOPS_COL, WEIGHTS_COL

    out = []
    for variant, F in features.items():
        F = np.asarray(F, dtype=float)
        classes = [j for j in range(N_CLASSES) if np.any(F[:, j] > 0)]
        families = [(classes + [NOPS_COL], lambdas), (classes + [WEIGHTS_COL, NOPS_COL], lambdas),
                    ([FLOPS_COL, WEIGHTS_COL, NOPS_COL], (-1.0,)),
                    ([COUNT_COL0 + j for j in range(N_CLASSES)], (0.0,))]
        for columns, lams in families:
            columns = [j for j in columns if np.any(F[:, j] > 0)]
            shared = np.array([k + 1 for k, j in enumerate(columns) if j < N_CLASSES], dtype=int)
            X = _design(F, columns)
            out += [_Candidate(variant, columns, lam, X, shared) for lam in lams]
    return out


def fit_calibration(features: dict[str, np.ndarray], y_ms: np.ndarray, hardware: str = "", alpha: float = 0.2,
                    lambdas: tuple[float, ...] = LAMBDAS, residual: bool = False) -> Calibration:
    """Fit on ``n`` measured models: ``features[variant]`` is ``(n, len(FEATURES))``, ``y_ms`` latencies.

    Candidates (family x runtime variant x penalty, plus kernel-ridge residual models on the best
    linear one) are scored by LOO error; the best ``NESTED_TOP``, refitted on all points, are
    averaged with pseudo-BMA weights. The interval's residual for point ``i`` comes from their LOO
    models averaged with the weights of a LOO run on the *other* points (nested), so the weighting
    does not make the interval optimistic.
    """
    y = np.asarray(y_ms, dtype=float)
    n = len(y)
    if n < 3:
        raise ConfigError(f"calibration needs at least 3 measured models, got {n}")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise ConfigError("calibration latencies must be positive finite numbers")
    if residual and n > RESIDUAL_MAX:
        raise ConfigError(f"the residual predictor (kernel ridge, n x n kernel) takes at most {RESIDUAL_MAX} "
                          f"measurements, got {n}; calibrate on fewer (--n) or without it")
    everyone, folds = np.arange(n), _folds(n)
    cands = _candidates(features, y, lambdas, residual)
    loo = [c.cv(y, everyone, folds) for c in cands]
    if residual and n >= 8:
        base = cands[int(np.argmin([_loss(r) for r, _ in loo]))]
        extra = [_Candidate(base.variant, base.columns, base.lam, base.X, base.shared, (g, rl), 1.25)
                 for g in (0.3, 1.0, 3.0) for rl in (0.3, 1.0, 3.0)]
        cands += extra
        loo += [c.cv(y, everyone, folds) for c in extra]
    total = np.array([_loss(r) * c.penalty for c, (r, _) in zip(cands, loo)])
    # the few best candidates are averaged (the others get no weight in practice)
    top = [int(k) for k in np.argsort(total)[:NESTED_TOP]]
    weights = _bma_weights(total[top], n)
    components = []
    for k, w in zip(top, weights):
        if w > 0:
            th, kr = cands[k].fit(y, everyone)
            components.append({"variant": cands[k].variant, "columns": cands[k].columns, "theta": th.tolist(),
                               "krr": kr, "weight": float(w)})
    best = cands[top[0]]
    theta, krr = np.asarray(components[0]["theta"]), components[0]["krr"]
    loo_avg = sum(w * loo[k][0] for k, w in zip(top, weights))
    jk, r = [], np.empty(n)
    # nested: a fold's averaged model is weighted by a cross-validation run on the *other* points
    for j, f in enumerate(np.unique(folds)):
        out = folds == f
        rest = everyone[~out]
        inner = _bma_weights([_loss(cands[k].cv(y, rest, folds[~out])[0]) * cands[k].penalty for k in top],
                             len(rest))
        jk.append([{"variant": cands[k].variant, "columns": cands[k].columns, "theta": loo[k][1][j][0].tolist(),
                    "krr": loo[k][1][j][1], "weight": float(w)} for k, w in zip(top, inner) if w > 0])
        r[out] = sum(w * loo[k][0][out] for k, w in zip(top, inner))
    qlo, qhi = _conformal(r, alpha)
    X = best.X
    Q = np.zeros((0, 0))
    if not krr:
        Q, h = _leverage(best, theta, y, _huber_weights(X, y, theta))
        r = r * np.sqrt(np.clip(1.0 - h, 0.05, 1.0))
    return Calibration(
        hardware=hardware, variant=best.variant, theta=theta.tolist(), columns=best.columns,
        residual_quantiles=(qlo, qhi), coverage=1 - alpha, x_min=X.min(0).tolist(), x_max=X.max(0).tolist(),
        n=n, loo_mape=float(np.mean(np.abs(np.exp(-loo_avg) - 1))), lam=best.lam,
        y_range=(float(y.min()), float(y.max())), krr=krr, jackknife=jk, loo_residuals=r.tolist(),
        folds=[] if n <= LOO_MAX else folds.tolist(),
        leverage_q=Q.tolist(), components=components,
    )



def _leverage(cand: "_Candidate", theta: np.ndarray, y: np.ndarray,
              weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``Q`` with leverage ``h(x) = a Q a^T`` (``a`` = design row / latency) for the fitted model,
    and the leverages of the calibration rows themselves.

    The fit is relative least squares, so rows are weighted by ``1 / y`` (times the square root of
    their robust ``weights``; a new point has weight one). Only coefficients the
    non-negative fit left free count (zeros sit on a constraint); a tied class scale counts once;
    the ridge penalty enters as in the fit.
    """
    A = cand.X * ((np.ones_like(y) if weights is None else np.sqrt(weights)) / y)[:, None]
    p = A.shape[1]
    penalty = np.zeros((p, p))
    if cand.lam < 0:  # the intercept is free, slopes at zero sit on their constraint
        M = np.eye(p)[:, [0] + [j for j in range(1, p) if theta[j] > 0]]
    else:
        active = [j for j in range(p) if theta[j] > 0]
        shared = [j for j in cand.shared if j in active]
        if math.isinf(cand.lam) and shared:
            others = [j for j in active if j not in shared]
            M = np.zeros((p, len(others) + 1))
            M[others, np.arange(len(others))] = 1.0
            M[shared, -1] = 1.0
        else:
            M = np.eye(p)[:, active]
            if shared and cand.lam > 0:
                penalty[shared, shared] = cand.lam * _penalty_scale(A, np.asarray(cand.shared)) ** 2
    B = A @ M
    Q = M @ np.linalg.pinv(B.T @ B + M.T @ penalty @ M) @ M.T
    return Q, np.einsum("ij,jk,ik->i", A, Q, A)


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
