"""Built-in predictors: ridge, kernel SVR, gradient boosting, MLP, Gaussian process, ensemble.

Each gives a predictive standard deviation: the GP and ridge from their posterior, the
ensemble from member spread plus out-of-bag noise, and SVR / boosting / MLP from their
out-of-fold residuals (homoscedastic, but honest about the size of the error).
"""

from __future__ import annotations

import warnings

import numpy as np

from hwopt.errors import ConfigError
from hwopt.predictors._base import Predictor, Standardizer, clone


def _oof_sigma(pred: Predictor, X: np.ndarray, y: np.ndarray, folds: int, seed: int | None) -> float:
    """Root-mean-square out-of-fold residual of ``pred``'s kind: its honest error scale."""
    n = len(y)
    k = min(folds, n)
    if k < 2:
        return float(np.std(y)) or 1.0
    idx = np.random.default_rng(seed).permutation(n)
    res = np.empty(n)
    for part in np.array_split(idx, k):
        train = np.setdiff1d(idx, part)
        if len(train) < 2:
            res[part] = y[part] - y.mean()
            continue
        m = clone(pred).set_params(oof_folds=0)
        res[part] = y[part] - m.fit(X[train], y[train]).predict(X[part])
    return float(np.sqrt(np.mean(res ** 2))) or 1e-12


class RidgePredictor(Predictor):
    """Ridge regression; ``alpha`` chosen by exact leave-one-out error; Bayesian-style std."""

    name = "ridge"

    def __init__(self, alphas: tuple[float, ...] = tuple(np.logspace(-3, 3, 13))):
        self.alphas = alphas

    def _fit(self, X, y):
        self.scaler_ = Standardizer(X)
        Z = self.scaler_(X)
        self.y_mean_ = y.mean()
        self.n_train_ = len(y)
        yc = y - self.y_mean_
        U, s, Vt = np.linalg.svd(Z, full_matrices=False)
        Uy = U.T @ yc
        best = None
        for a in self.alphas:
            d = s ** 2 / (s ** 2 + a)
            fit = U @ (d * Uy)
            h = (U ** 2) @ d + 1.0 / len(y)
            loo = (yc - fit) / np.clip(1 - h, 1e-6, None)
            err = float(np.mean(loo ** 2))
            if best is None or err < best[0]:
                best = (err, a, loo)
        self.alpha_ = best[1]
        self.loo_resid_ = best[2]
        self.y_train_ = y
        a = self.alpha_
        self.coef_ = Vt.T @ (s / (s ** 2 + a) * Uy)
        resid = yc - Z @ self.coef_
        dof = max(len(y) - float(np.sum(s ** 2 / (s ** 2 + a))) - 1, 1.0)
        self.sigma2_ = float(resid @ resid) / dof
        self.cov_ = (Vt.T * (1.0 / (s ** 2 + a))) @ Vt  # (ZᵀZ + αI)⁻¹ on the row space

    def _predict(self, X, return_std=False):
        Z = self.scaler_(X)
        mu = Z @ self.coef_ + self.y_mean_
        if not return_std:
            return mu, None
        lev = np.einsum("ij,jk,ik->i", Z, self.cov_, Z)
        return mu, np.sqrt(self.sigma2_ * (1 + 1.0 / self.n_train_ + lev))

    def loo_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact leave-one-out means (closed form) and the noise-level std of the training rows."""
        return self.y_train_ - self.loo_resid_, np.full(len(self.y_train_), np.sqrt(self.sigma2_))


class SVRPredictor(Predictor):
    """RBF-kernel support vector regression on standardised features and targets."""

    name = "svr"

    def __init__(self, C: float = 10.0, epsilon: float = 0.01, gamma: str | float = "scale",
                 oof_folds: int = 5, seed: int | None = 0):
        self.C, self.epsilon, self.gamma, self.oof_folds, self.seed = C, epsilon, gamma, oof_folds, seed

    def _fit(self, X, y):
        from sklearn.svm import SVR

        self.scaler_ = Standardizer(X)
        self.y_mean_, self.y_scale_ = y.mean(), (y.std() or 1.0)
        self.model_ = SVR(C=self.C, epsilon=self.epsilon, gamma=self.gamma)
        self.model_.fit(self.scaler_(X), (y - self.y_mean_) / self.y_scale_)
        self.sigma_ = _oof_sigma(self, X, y, self.oof_folds, self.seed) if self.oof_folds else 0.0

    def _predict(self, X, return_std=False):
        mu = self.model_.predict(self.scaler_(X)) * self.y_scale_ + self.y_mean_
        return mu, (np.full(len(mu), self.sigma_) if return_std else None)


class GBMPredictor(Predictor):
    """Gradient-boosted trees (scikit-learn), robust to unscaled and mixed features."""

    name = "gbm"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05, max_depth: int = 3,
                 subsample: float = 0.8, oof_folds: int = 5, seed: int | None = 0):
        self.n_estimators, self.learning_rate, self.max_depth = n_estimators, learning_rate, max_depth
        self.subsample, self.oof_folds, self.seed = subsample, oof_folds, seed

    def _fit(self, X, y):
        from sklearn.ensemble import GradientBoostingRegressor

        self.model_ = GradientBoostingRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            subsample=self.subsample, random_state=self.seed)
        self.model_.fit(X, y)
        self.sigma_ = _oof_sigma(self, X, y, self.oof_folds, self.seed) if self.oof_folds else 0.0

    def _predict(self, X, return_std=False):
        mu = self.model_.predict(X)
        return mu, (np.full(len(mu), self.sigma_) if return_std else None)


class MLPPredictor(Predictor):
    """A small multi-layer perceptron (scikit-learn) on standardised features and targets."""

    name = "mlp"

    def __init__(self, hidden: tuple[int, ...] = (64, 64), alpha: float = 1e-3, max_iter: int = 2000,
                 oof_folds: int = 5, seed: int | None = 0):
        self.hidden, self.alpha, self.max_iter, self.oof_folds, self.seed = hidden, alpha, max_iter, oof_folds, seed

    def _fit(self, X, y):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        self.scaler_ = Standardizer(X)
        self.y_mean_, self.y_scale_ = y.mean(), (y.std() or 1.0)
        self.model_ = MLPRegressor(hidden_layer_sizes=tuple(self.hidden), alpha=self.alpha,
                                   max_iter=self.max_iter, random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_.fit(self.scaler_(X), (y - self.y_mean_) / self.y_scale_)
        self.sigma_ = _oof_sigma(self, X, y, self.oof_folds, self.seed) if self.oof_folds else 0.0

    def _predict(self, X, return_std=False):
        mu = self.model_.predict(self.scaler_(X)) * self.y_scale_ + self.y_mean_
        return mu, (np.full(len(mu), self.sigma_) if return_std else None)


class GPPredictor(Predictor):
    """Gaussian process: amplitude × Matérn-5/2 + white noise on [0, 1]-scaled features.

    ``theta`` fixes the kernel hyper-parameters (log scale, as a previous fit's ``theta_``) and
    skips their optimisation — a cheap refit inside a search loop. ``ard`` gives each feature
    its own length scale (scikit-learn's implementation; slower, for few informative features).
    """

    name = "gp"

    def __init__(self, ard: bool = False, restarts: int = 0, theta: tuple[float, ...] | None = None,
                 seed: int | None = 0):
        self.ard, self.restarts, self.theta, self.seed = ard, restarts, theta, seed

    def _fit(self, X, y):
        self.lo_ = X.min(axis=0)
        span = X.max(axis=0) - self.lo_
        self.span_ = np.where(span > 0, span, 1.0)
        Z = (X - self.lo_) / self.span_
        if self.ard:
            self._fit_ard(Z, y)
            return
        from hwopt.predictors._gp import ExactGP

        if self.theta is not None and len(self.theta) != 3:
            raise ConfigError(f"theta needs 3 values (log amplitude, length, noise), got {len(self.theta)}")
        self.model_ = ExactGP(theta=self.theta, optimize=self.theta is None, restarts=self.restarts,
                              seed=self.seed).fit(Z, y)
        self.theta_ = tuple(float(t) for t in self.model_.theta_)
        # the marginal likelihood can settle on too little noise; widen the stated std until 80%
        # of the leave-one-out residuals fall inside the 80% interval (never narrow it)
        mu, sd = self.model_.loo()
        z80 = float(np.quantile(np.abs(y - mu) / sd, 0.8))
        self.calibration_ = max(1.0, z80 / 1.2815515655446004)

    def _fit_ard(self, Z, y):
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        d = Z.shape[1]
        kernel = (ConstantKernel(1.0, (1e-3, 1e3)) * Matern(np.full(d, np.sqrt(d) / 2), (1e-2, 1e3), nu=2.5)
                  + WhiteKernel(1e-2, (1e-6, 1.0)))
        optimizer = "fmin_l_bfgs_b"
        if self.theta is not None:
            if len(self.theta) != len(kernel.theta):
                raise ConfigError(f"theta needs {len(kernel.theta)} values for this kernel, got {len(self.theta)}")
            kernel, optimizer = kernel.clone_with_theta(np.asarray(self.theta, float)), None
        self.model_ = GaussianProcessRegressor(kernel, normalize_y=True, optimizer=optimizer,
                                               n_restarts_optimizer=self.restarts, random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model_.fit(Z, y)
        self.theta_ = tuple(float(t) for t in self.model_.kernel_.theta)

    def loo_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out means and std of the training rows (closed form; isotropic GP only)."""
        if self.ard:
            raise ConfigError("closed-form leave-one-out is implemented for ard=False only")
        mu, sd = self.model_.loo()
        return mu, sd * self.calibration_

    def _predict(self, X, return_std=False):
        Z = (X - self.lo_) / self.span_
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = self.model_.predict(Z, return_std=return_std)
        if not return_std:
            return out, None
        return out[0], out[1] * getattr(self, "calibration_", 1.0)


class EnsemblePredictor(Predictor):
    """Bootstrap ensemble of a base predictor: member spread + out-of-bag noise as uncertainty."""

    name = "ensemble"

    def __init__(self, base: str = "mlp", n_members: int = 5, seed: int | None = 0):
        self.base, self.n_members, self.seed = base, n_members, seed

    def _fit(self, X, y):
        from hwopt.predictors import PREDICTORS

        if self.n_members < 2:
            raise ConfigError(f"an ensemble needs n_members >= 2, got {self.n_members}")
        rng = np.random.default_rng(self.seed)
        n = len(y)
        self.members_ = []
        oob_sum, oob_cnt = np.zeros(n), np.zeros(n)
        for k in range(self.n_members):
            idx = rng.integers(0, n, n)
            m = PREDICTORS.create(self.base)
            if "oof_folds" in m.get_params():
                m.set_params(oof_folds=0)
            if "seed" in m.get_params():
                m.set_params(seed=None if self.seed is None else self.seed + k)
            m.fit(X[idx], y[idx])
            self.members_.append(m)
            out = np.setdiff1d(np.arange(n), idx)
            if len(out):
                oob_sum[out] += m.predict(X[out])
                oob_cnt[out] += 1
        seen = oob_cnt > 0
        resid = y[seen] - oob_sum[seen] / oob_cnt[seen]
        self.sigma_ = float(np.sqrt(np.mean(resid ** 2))) if seen.any() else float(np.std(y))

    def _predict(self, X, return_std=False):
        P = np.stack([m.predict(X) for m in self.members_])
        mu = P.mean(axis=0)
        if not return_std:
            return mu, None
        return mu, np.sqrt(P.var(axis=0) + self.sigma_ ** 2)


class GPARDPredictor(GPPredictor):
    """The Gaussian process with one length scale per feature (automatic relevance determination)."""

    name = "gp-ard"

    def __init__(self, ard: bool = True, restarts: int = 0, theta: tuple[float, ...] | None = None,
                 seed: int | None = 0):
        super().__init__(ard=ard, restarts=restarts, theta=theta, seed=seed)
