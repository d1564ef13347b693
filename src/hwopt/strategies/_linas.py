"""``linas``: a faithful re-implementation of DyNAS-T 1.6's LINAS, the baseline to beat.

DyNAS-T's loop (dynast/search/search_tactic.py, ``LINAS.search``), its defaults included:

1. measure a uniformly random population of ``population`` = 50 configs;
2. each round, fit one predictor per objective on every measurement so far — DyNAS-T's
   grid-searched Ridge / RBF-SVR chosen by 5-fold CV MAPE (:class:`~hwopt.predictors._dynast.
   DynastPredictor`), on a one-hot encoding; cheap metrics are predicted too;
3. run NSGA-II on the predicted objectives for ``inner_evals / population`` = 20000 / 50 = 400
   generations (DyNAS-T's ``LINAS_INNERLOOP_EVALS`` for OFA MobileNetV3), integer random
   sampling, SBX (p 0.9, eta 15) and polynomial mutation (p 0.02, eta 20) on the raw levels with
   rounding, duplicate elimination, and the same seed every round;
4. the final inner population is the next round's population; repeat.

Weaknesses kept on purpose: the next population may contain configs measured before, and in
DyNAS-T those are measured again. hwopt never re-measures: such re-proposals are dropped here
(the study would skip them anyway) and counted in ``state()["reproposed"]``; the evaluations
that count are distinct configs. DyNAS-T stops after ``round(num_evals / population)`` rounds;
here rounds go on until the study's budget of distinct configs is spent (a more generous
baseline), and ``ask`` returns nothing when a round proposes nothing new (the next round would
be identical: same data, same seed). Failed (NaN) measurements are left out of the training
data (DyNAS-T has no failures); constraints are not modelled (DyNAS-T has none).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hwopt.predictors import PREDICTORS, SpaceFeatures
from hwopt.space import Config
from hwopt.strategies._base import Problem, Strategy


class LinasStrategy(Strategy):
    """DyNAS-T's LINAS with its defaults (see module docstring for the algorithm)."""

    name = "linas"

    def __init__(self, *, seed: int | None = None, population: int = 50, inner_evals: int = 20000,
                 predictor: str = "dynast", svr_grid: str = "coarse", crossover_prob: float = 0.9, crossover_eta: float = 15.0,
                 mutation_prob: float = 0.02, mutation_eta: float = 20.0, engine: str = "numpy"):
        super().__init__(seed=seed)
        self.population = population
        self.inner_evals = inner_evals
        self.predictor = predictor
        self.crossover_prob, self.crossover_eta = crossover_prob, crossover_eta
        self.mutation_prob, self.mutation_eta = mutation_prob, mutation_eta
        if engine not in ("numpy", "pymoo"):
            from hwopt.errors import ConfigError

            raise ConfigError(f"linas engine must be 'numpy' or 'pymoo', got {engine!r}")
        self.engine = engine
        if svr_grid not in ("coarse", "full"):
            from hwopt.errors import ConfigError

            raise ConfigError(f"linas svr_grid must be 'coarse' or 'full', got {svr_grid!r}")
        self.svr_grid = svr_grid

    @property
    def batch_size(self) -> int:
        return self.population

    def setup(self, problem: Problem) -> None:
        super().setup(problem)
        self._features = SpaceFeatures(problem.space, onehot_ordinal=True)
        self._X: list[np.ndarray] = []
        self._F: list[np.ndarray] = []
        self._known: set[str] = set()
        self._queue: list[Config] = []
        self._pending: set[str] = set()
        self._round = 0
        self._reproposed = 0
        self._exhausted = False
        self._last: dict[str, Any] = {}

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int) -> list[Config]:
        if not self._queue and not self._pending and not self._exhausted:
            self._next_round()
        take, self._queue = self._queue[:n], self._queue[n:]
        return take

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        for cfg, f in zip(configs, F):
            h = self.space.hash(cfg)
            self._pending.discard(h)
            if h in self._known:
                continue
            self._known.add(h)
            self._X.append(self.space.encode(cfg))
            self._F.append(f)

    # ------------------------------------------------------------------ one LINAS round
    def _next_round(self) -> None:
        sp = self.space
        if self._round == 0 and len(self._X) == 0:
            X = self.rng.integers(sp.xl, sp.xu + 1, size=(self.population, sp.n_var))
        else:
            X = self._inner_search()
        self._round += 1
        proposed, seen = [], set()
        for x in X:
            cfg = sp.decode(x)
            h = sp.hash(cfg)
            if h in seen:
                continue
            seen.add(h)
            if h in self._known:
                self._reproposed += 1
                continue
            proposed.append(cfg)
        self._last["proposed_new"] = len(proposed)
        if not proposed and self._round > 1:
            self._exhausted = True
        self._queue = proposed
        self._pending = {sp.hash(c) for c in proposed}

    def _inner_search(self) -> np.ndarray:
        from pymoo.core.problem import Problem as PymooProblem
        from pymoo.algorithms.moo.nsga2 import NSGA2
        from pymoo.operators.crossover.sbx import SBX
        from pymoo.operators.mutation.pm import PM
        from pymoo.operators.repair.rounding import RoundingRepair
        from pymoo.operators.sampling.rnd import IntegerRandomSampling
        from pymoo.optimize import minimize

        sp = self.space
        X = np.asarray(self._X)
        F = np.asarray(self._F)
        ok = ~np.isnan(F).any(axis=1)
        feats = self._features
        Xf = feats.transform(X[ok])
        opts = {}
        if self.predictor == "dynast" and self.svr_grid == "coarse":
            from hwopt.predictors._dynast import COARSE_COSTS

            opts = {"costs": COARSE_COSTS}
        models = [PREDICTORS.create(self.predictor, **opts).fit(Xf, F[ok, j]) for j in range(F.shape[1])]
        self._last["predictors"] = [getattr(m, "best_index_", None) for m in models]

        n_gen = int(self.inner_evals / self.population)
        if self.engine == "numpy":
            from hwopt.strategies._nsga2_numpy import nsga2

            def evaluate(x: np.ndarray) -> np.ndarray:
                Z = feats.transform(x)
                return np.column_stack([m.predict(Z) for m in models])

            rng = np.random.default_rng(self.seed if self.seed is not None else 0)  # same seed each round
            return nsga2(evaluate, sp.xl, sp.xu, self.population, n_gen, rng, self.crossover_prob,
                         self.crossover_eta, self.mutation_prob, self.mutation_eta)

        class Predicted(PymooProblem):
            def _evaluate(self, x, out, *args, **kwargs):
                Z = feats.transform(np.clip(np.rint(x), sp.xl, sp.xu).astype(np.int64))
                out["F"] = np.column_stack([m.predict(Z) for m in models])

        problem = Predicted(n_var=sp.n_var, n_obj=F.shape[1], xl=sp.xl.astype(float), xu=sp.xu.astype(float),
                            vtype=int)
        algo = NSGA2(
            pop_size=self.population,
            sampling=IntegerRandomSampling(),
            crossover=SBX(prob=self.crossover_prob, eta=self.crossover_eta, vtype=float, repair=RoundingRepair()),
            mutation=PM(prob=self.mutation_prob, eta=self.mutation_eta, vtype=float, repair=RoundingRepair()),
            eliminate_duplicates=True,
        )
        res = minimize(problem, algo, ("n_gen", n_gen), seed=self.seed if self.seed is not None else 0,
                       verbose=False)
        return np.clip(np.rint(res.pop.get("X")), sp.xl, sp.xu).astype(np.int64)

    def state(self) -> dict[str, Any]:
        return {"round": self._round, "n_train": len(self._X), "reproposed": self._reproposed, **self._last}
