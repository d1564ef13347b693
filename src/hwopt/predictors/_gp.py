"""A small, fast Gaussian process (Matérn 5/2, isotropic) for predictor-in-the-loop search.

scikit-learn's GaussianProcessRegressor scores about 13k candidates/s at 500 training points
(pairwise distances via cdist). This one builds distances with one matrix product and the
variance with another, and fits the three kernel hyper-parameters by L-BFGS on the exact
log marginal likelihood with analytic gradients. It also gives leave-one-out predictions in
closed form, so per-round cross-validated health costs one extra triangular solve.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize

_S5 = np.sqrt(5.0)
_BOUNDS = [(np.log(1e-3), np.log(1e3)), (np.log(1e-2), np.log(1e3)), (np.log(1e-6), np.log(1.0))]


def _sqdist(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    d = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * (A @ B.T)
    return np.maximum(d, 0.0, out=d)


def _matern(r: np.ndarray) -> np.ndarray:
    s = r * r.dtype.type(_S5)
    e = np.exp(-s)
    s += 1.0 + s * s / 3.0
    s *= e
    return s


class ExactGP:
    """GP regression on normalised targets; ``theta`` = (log amplitude, log length, log noise)."""

    def __init__(self, theta: np.ndarray | None = None, optimize: bool = True, restarts: int = 0,
                 seed: int | None = 0):
        self.theta = None if theta is None else np.asarray(theta, float)
        self.optimize = optimize
        self.restarts = restarts
        self.seed = seed

    def _nll(self, theta: np.ndarray, D: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        s2, ell, noise = np.exp(theta)
        r = np.sqrt(D) / ell
        e = np.exp(-_S5 * r)
        M = (1.0 + _S5 * r + 5.0 / 3.0 * r * r) * e
        K = s2 * M
        K[np.diag_indices_from(K)] += noise + 1e-10
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros(3)
        a = cho_solve((L, True), y, check_finite=False)
        nll = 0.5 * y @ a + np.log(np.diag(L)).sum() + 0.5 * len(y) * np.log(2 * np.pi)
        Kinv = cho_solve((L, True), np.eye(len(y)), check_finite=False)
        W = np.outer(a, a) - Kinv
        dK_s2 = s2 * M
        dK_l = s2 * (5.0 / 3.0) * r * r * (1.0 + _S5 * r) * e
        g = np.array([-0.5 * np.sum(W * dK_s2), -0.5 * np.sum(W * dK_l), -0.5 * noise * np.trace(W)])
        return float(nll), g

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ExactGP":
        self.X_ = np.asarray(X, float)
        self.y_mean_ = float(y.mean())
        self.y_std_ = float(y.std()) or 1.0
        yn = (y - self.y_mean_) / self.y_std_
        D = _sqdist(self.X_, self.X_)
        d = X.shape[1]
        start = self.theta if self.theta is not None else np.array([0.0, np.log(np.sqrt(max(d, 1)) / 2), np.log(1e-2)])
        theta = start
        if self.optimize:
            rng = np.random.default_rng(self.seed)
            starts = [start] + [np.array([rng.uniform(*b) for b in _BOUNDS]) for _ in range(self.restarts)]
            best = None
            for s in starts:
                res = minimize(self._nll, s, args=(D, yn), jac=True, method="L-BFGS-B", bounds=_BOUNDS,
                               options={"maxiter": 60})
                if best is None or res.fun < best.fun:
                    best = res
            theta = best.x
        self.theta_ = np.asarray(theta, float)
        s2, ell, noise = np.exp(self.theta_)
        K = s2 * _matern(np.sqrt(D) / ell)
        K[np.diag_indices_from(K)] += noise + 1e-10
        self.L_ = cholesky(K, lower=True, check_finite=False)
        self.alpha_ = cho_solve((self.L_, True), yn, check_finite=False)
        self.yn_ = yn
        Linv = solve_triangular(self.L_, np.eye(len(yn)), lower=True, check_finite=False)
        self.Kinv_ = Linv.T @ Linv
        self._Xs = self.X_ / ell
        return self

    def predict(self, X: np.ndarray, return_std: bool = False, chunk: int = 4096):
        s2, ell, noise = np.exp(self.theta_)
        mu = np.empty(len(X))
        sd = np.empty(len(X)) if return_std else None
        # float32 for the N × n kernel block: scoring speed matters, 1e-6 relative error does not
        Xs = self._Xs.astype(np.float32)
        for lo in range(0, len(X), chunk):
            Z = (np.asarray(X[lo:lo + chunk]) / ell).astype(np.float32)
            k = _matern(np.sqrt(_sqdist(Z, Xs)))
            k *= np.float32(s2)
            mu[lo:lo + chunk] = k @ self.alpha_.astype(np.float32)
            if return_std:
                k64 = k.astype(float)  # the variance subtracts two close numbers: float64 here
                var = s2 + noise - np.einsum("ij,ij->i", k64 @ self.Kinv_, k64)
                sd[lo:lo + chunk] = np.sqrt(np.maximum(var, 1e-12))
        mu = mu * self.y_std_ + self.y_mean_
        return (mu, sd * self.y_std_) if return_std else mu

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form leave-one-out means and standard deviations (same hyper-parameters)."""
        diag = np.diag(self.Kinv_)
        loo_mu = self.yn_ - self.alpha_ / diag
        loo_sd = np.sqrt(1.0 / diag)
        return loo_mu * self.y_std_ + self.y_mean_, loo_sd * self.y_std_
