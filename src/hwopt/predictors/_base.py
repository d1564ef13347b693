"""Predictor base: scikit-learn's estimator contract plus ``predict_std``.

``__init__`` stores keyword arguments only (validated in ``fit``); ``fit`` returns ``self`` and
forgets any previous fit; learned state ends in ``_``; ``get_params``/``set_params``/``clone``
work as in scikit-learn, so predictors compose with its model-selection tools.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np

from hwopt.errors import ConfigError


class NotFittedError(ConfigError, AttributeError):
    """``predict`` called before ``fit``."""


class Predictor:
    """A regressor with an uncertainty estimate; subclasses implement ``_fit`` and ``_predict``."""

    name: str = ""

    # -- scikit-learn parameter protocol -------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params: Any) -> "Predictor":
        valid = self._param_names()
        for k, v in params.items():
            if k not in valid:
                raise ConfigError(f"{type(self).__name__} has no parameter {k!r}; valid: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fit / predict ---------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray) -> "Predictor":
        X, y = _check_xy(X, y)
        for k in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, k)
        self.n_features_in_ = X.shape[1]
        self._fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self._predict(self._check_x(X))[0]

    def predict_std(self, X: np.ndarray) -> np.ndarray:
        """Standard deviation of the prediction error (model plus noise), one per row."""
        return self._predict(self._check_x(X), return_std=True)[1]

    def predict_dist(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation in one pass (cheaper than two calls)."""
        return self._predict(self._check_x(X), return_std=True)

    def _check_x(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(X, y) first")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ConfigError(f"expected X with {self.n_features_in_} columns, got shape {X.shape}")
        return X

    def _fit(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, X: np.ndarray, return_std: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        raise NotImplementedError


def clone(predictor: Predictor) -> Predictor:
    """An unfitted copy with the same parameters (parameters deep-copied)."""
    return type(predictor)(**copy.deepcopy(predictor.get_params()))


def _check_xy(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or len(X) != len(y):
        raise ConfigError(f"X must be 2-D with one row per target; got X {X.shape}, y {y.shape}")
    if len(y) < 2:
        raise ConfigError(f"need at least 2 training rows, got {len(y)}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise ConfigError("training data contain NaN or infinite values")
    return X, y


class Standardizer:
    """Column scaling learned on training data (constant columns left unscaled)."""

    def __init__(self, X: np.ndarray):
        self.mean = X.mean(axis=0)
        sd = X.std(axis=0)
        self.scale = np.where(sd > 1e-12, sd, 1.0)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale
