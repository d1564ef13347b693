"""Additive cost model: a latency is a non-negative sum of per-operator-class costs.

On real devices latency is close to ``c0 + Σ_k w_k · count_k`` where the counts are FLOPs,
bytes moved and kernels per operator class of the model's graph (the calibrated cost model of
``hwopt.hardware`` rests on the same fact). Fitted by non-negative least squares on *relative*
errors, such a model extrapolates to unmeasured configs far better than a kernel method on the
encoding (NAS-Bench-201 pixel3, 150 random cells: Kendall tau of log latency 0.875 against
0.765 for a GP on encoding and descriptors, 76 % against 37 % of predictions within ±10 %;
``benchmarks/predictor_descriptors_nb201.py``).

Targets are log latencies by default (``log_target=True``), as ``linas+`` models positive
wide-range objectives; predictions and standard deviations are then in log space. The standard
deviation is the leave-one-out log error (closed form on the non-zero coefficients, as for
ordinary least squares), widened by each point's leverage.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from hwopt.errors import ConfigError
from hwopt.predictors._base import Predictor


class AdditiveCostPredictor(Predictor):
    """``y ≈ c0 + X @ w`` with ``w, c0 >= 0`` on non-negative cost counts ``X``."""

    name = "additive-cost"

    def __init__(self, log_target: bool = True, robust_iter: int = 3):
        self.log_target = log_target
        self.robust_iter = robust_iter

    def _fit(self, X, y):
        if (X < 0).any():
            raise ConfigError("additive-cost needs non-negative cost counts as features")
        t = np.exp(y) if self.log_target else y
        if (t <= 0).any():
            raise ConfigError("additive-cost needs positive targets")
        self.scale_ = np.where(X.max(0) > 0, X.max(0), 1.0)
        D = self._design(X)
        A = D / t[:, None]  # relative least squares: every model counts alike, fast or slow
        wts = np.ones(len(t))
        for _ in range(self.robust_iter + 1):
            sw = np.sqrt(wts)[:, None]
            w, _ = nnls(A * sw, sw.ravel(), maxiter=50 * A.shape[1])
            r = 1.0 - A @ w
            s = 1.4826 * float(np.median(np.abs(r))) or 1e-12
            wts = np.minimum(1.0, 1.345 * s / np.maximum(np.abs(r), 1e-12))  # Huber weights
        self.coef_ = w
        active = np.flatnonzero(w > 0)
        Aw = A * np.sqrt(wts)[:, None]
        self.cov_ = np.zeros((D.shape[1], D.shape[1]))
        if len(active):
            self.cov_[np.ix_(active, active)] = np.linalg.pinv(Aw[:, active].T @ Aw[:, active])
        h = np.einsum("ij,jk,ik->i", Aw, self.cov_, Aw)
        ratio = np.maximum(1.0 - r / np.clip(1.0 - h, 0.05, None), 1e-6)  # leave-one-out prediction / target
        self.loo_log_ = np.log(ratio) + np.log(t)
        # the std that makes the 80% interval hold 80% of the leave-one-out errors: a few wildly
        # off rows (measurements the counts cannot explain) must not widen every interval
        self.sigma_ = float(np.quantile(np.abs(np.log(ratio)), 0.8)) / 1.2815515655446004 or 1e-6
        self.y_train_ = y

    def _design(self, X: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(X), 1)), X / self.scale_])

    def _predict(self, X, return_std=False):
        D = self._design(X)
        pred = np.maximum(D @ self.coef_, 1e-12)
        mu = np.log(pred) if self.log_target else pred
        if not return_std:
            return mu, None
        a = D / pred[:, None]
        lev = np.maximum(np.einsum("ij,jk,ik->i", a, self.cov_, a), 0.0)
        sd = self.sigma_ * np.sqrt(1.0 + lev)
        return mu, (sd if self.log_target else sd * pred)

    def loo_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out predictions of the training targets (closed form) and their std."""
        mu = self.loo_log_ if self.log_target else np.exp(self.loo_log_)
        sd = np.full(len(mu), self.sigma_)
        return mu, (sd if self.log_target else sd * np.exp(self.loo_log_))


class CostMeanGPPredictor(Predictor):
    """A GP whose prior mean is the additive cost model: ``y ≈ cost(counts) + GP(features)``.

    ``X`` holds the encoding features first and the last ``n_counts`` columns are cost counts.
    The cost model carries what it can (the trend over the whole space); the GP corrects it
    where measurements show a systematic difference, and its std says where it has not seen any.
    """

    name = "cost-gp"

    def __init__(self, n_counts: int = 1, theta: tuple[float, ...] | None = None, log_target: bool = True):
        self.n_counts, self.theta, self.log_target = n_counts, theta, log_target

    def _split(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0 < self.n_counts < X.shape[1]:
            raise ConfigError(f"cost-gp needs 0 < n_counts < {X.shape[1]} feature columns, got {self.n_counts}")
        return X[:, :-self.n_counts], X[:, -self.n_counts:]

    def _fit(self, X, y):
        from hwopt.predictors._models import GPPredictor

        Z, C = self._split(X)
        self.cost_ = AdditiveCostPredictor(log_target=self.log_target).fit(C, y)
        self.cost_fit_ = self.cost_.predict(C)
        self.gp_ = GPPredictor(theta=self.theta).fit(Z, y - self.cost_fit_)
        self.theta_ = self.gp_.theta_

    def _predict(self, X, return_std=False):
        Z, C = self._split(X)
        mu, sd = self.gp_.predict_dist(Z) if return_std else (self.gp_.predict(Z), None)
        return mu + self.cost_.predict(C), sd

    def loo_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """The GP's closed-form leave-one-out predictions of the residuals, on top of the cost
        model's fit (whose refit without the row is ignored: one row of many moves it little)."""
        mu, sd = self.gp_.loo_predictions()
        return mu + self.cost_fit_, sd
