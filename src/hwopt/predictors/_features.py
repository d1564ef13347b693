"""Predictor features from a space's integer encoding.

Unordered categorical dimensions become one-hot columns; ordinal dimensions (integers, floats,
ordered categories) become one column scaled to [0, 1]. Inactive dimensions (from
``space.canonical_matrix``: -1) give all-zero one-hot columns, and ordinal ones get an extra
"active" column, so equivalent configs share one feature vector. Exactly computable cheap
metrics (MACs, params) can be appended as extra columns. Fully vectorised.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hwopt.space import SearchSpace


class SpaceFeatures:
    """Maps encoded configs (n × n_var levels) to a float feature matrix."""

    def __init__(self, space: SearchSpace, extra: Callable[[np.ndarray], np.ndarray] | None = None,
                 onehot_ordinal: bool = False):
        self.space = space
        self.extra = extra
        self.onehot_ordinal = onehot_ordinal
        levels = (space.xu - space.xl + 1).astype(int)
        self._onehot = ~space.ordinal | bool(onehot_ordinal)
        self._onehot_dims = np.flatnonzero(self._onehot)
        self._ord_dims = np.flatnonzero(~self._onehot)
        self._offsets = np.concatenate([[0], np.cumsum(levels[self._onehot_dims])])[:-1]
        self._n_onehot = int(levels[self._onehot_dims].sum())
        self._ord_span = np.maximum(levels[self._ord_dims] - 1, 1).astype(float)

    def transform(self, X: np.ndarray, canonical: bool = True) -> np.ndarray:
        """Feature matrix of encoded configs (``canonical=False`` if X is already canonical)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.int64))
        C = self.space.canonical_matrix(X) if canonical and self.space.is_conditional else X
        n = len(C)
        parts = []
        if len(self._onehot_dims):
            H = np.zeros((n, self._n_onehot))
            sub = C[:, self._onehot_dims]
            rows, cols = np.nonzero(sub >= 0)
            H[rows, self._offsets[cols] + sub[rows, cols]] = 1.0
            parts.append(H)
        if len(self._ord_dims):
            sub = C[:, self._ord_dims].astype(float)
            active = sub >= 0
            parts.append(np.where(active, sub / self._ord_span, 0.0))
            if self.space.is_conditional:
                parts.append(active.astype(float))
        if self.extra is not None:
            parts.append(np.asarray(self.extra(X), dtype=float).reshape(n, -1))
        return np.hstack(parts) if parts else np.zeros((n, 0))
