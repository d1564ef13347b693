"""Mixed-variable operators on the integer encoding, composed from pymoo's own operators.

Ordinal dimensions (integers, floats, ordered categories) use SBX crossover and polynomial
mutation with rounding, so nearby levels stay nearby; plain categorical dimensions use uniform
crossover and random-reset mutation, since their level order means nothing.
"""

from __future__ import annotations

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mutation import Mutation
from pymoo.core.sampling import Sampling
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.crossover.ux import UX
from pymoo.operators.mutation.pm import PM


class MixedCrossover(Crossover):
    """SBX on ordinal dimensions, uniform crossover on categorical ones; output rounded to levels."""

    def __init__(self, ordinal: np.ndarray, prob: float = 0.9, eta: float = 15.0):
        super().__init__(2, 2, prob=prob)
        self.ordinal = np.asarray(ordinal, dtype=bool)
        self._sbx = SBX(prob=1.0, eta=eta)
        self._ux = UX(prob=1.0)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        Q = np.asarray(X, dtype=float).copy()
        if self.ordinal.any():
            Q[:, :, self.ordinal] = self._sbx._do(problem, X.astype(float), random_state=random_state)[:, :, self.ordinal]
        if (~self.ordinal).any():
            Q[:, :, ~self.ordinal] = self._ux._do(problem, X, random_state=random_state)[:, :, ~self.ordinal]
        return np.clip(np.rint(Q), problem.xl, problem.xu).astype(np.int64)


class MixedMutation(Mutation):
    """Polynomial mutation (rounded) on ordinal dimensions, random reset on categorical ones."""

    def __init__(self, ordinal: np.ndarray, eta: float = 20.0, prob_var: float | None = None):
        super().__init__(prob=1.0, prob_var=prob_var)
        self.ordinal = np.asarray(ordinal, dtype=bool)
        self._pm = PM(eta=eta, prob_var=prob_var)

    def _do(self, problem, X, *args, random_state=None, **kwargs):
        X = np.asarray(X, dtype=float)
        Xp = X.copy()
        if self.ordinal.any():
            Xp[:, self.ordinal] = self._pm._do(problem, X, random_state=random_state)[:, self.ordinal]
        cat = np.flatnonzero(~self.ordinal)
        if len(cat):
            prob_var = self.get_prob_var(problem, size=len(X)).reshape(-1, 1)
            hit = random_state.random((len(X), len(cat))) < prob_var
            low, high = problem.xl[cat], problem.xu[cat]
            fresh = random_state.integers(low, high + 1, size=(len(X), len(cat)))
            Xp[:, cat] = np.where(hit, fresh, X[:, cat])
        return np.clip(np.rint(Xp), problem.xl, problem.xu).astype(np.int64)


class IntegerSampling(Sampling):
    """Uniform integer levels within the bounds."""

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        return random_state.integers(problem.xl, problem.xu + 1, size=(n_samples, problem.n_var))
