"""pymoo's evolutionary algorithms as ask/tell strategies on the integer encoding.

pymoo runs the generations (selection, survival); hwopt composes each algorithm with the
mixed-variable operators of :mod:`hwopt.strategies._operators`. A generation's candidates are
handed out by ``ask`` in any chunk size; once all of them are told, pymoo advances.
Failed evaluations become infeasible through one extra constraint column, so constrained
domination ranks them last.
"""

from __future__ import annotations

from math import comb
from typing import Any, Sequence

import numpy as np
from pymoo.core.population import Population
from pymoo.core.problem import Problem as PymooProblem
from pymoo.core.termination import NoTermination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from hwopt.space import Config
from hwopt.strategies._base import Problem, Strategy
from hwopt.strategies._operators import IntegerSampling, MixedCrossover, MixedMutation

_FAILED = 1e30


class PymooStrategy(Strategy):
    """Base for pymoo algorithms; subclasses say which algorithm in ``_algorithm``."""

    def __init__(self, *, seed: int | None = None, population: int = 50, eta_crossover: float = 15.0,
                 eta_mutation: float = 20.0, crossover_prob: float = 0.9):
        super().__init__(seed=seed)
        if population < 2:
            from hwopt.errors import ConfigError

            raise ConfigError(f"population must be at least 2, got {population}")
        self.population = population
        self.eta_crossover = eta_crossover
        self.eta_mutation = eta_mutation
        self.crossover_prob = crossover_prob
        self._initial: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.population

    def _algorithm(self, **operators: Any):
        raise NotImplementedError

    def setup(self, problem: Problem) -> None:
        super().setup(problem)
        sp = problem.space
        self._pproblem = PymooProblem(
            n_var=sp.n_var, n_obj=problem.n_obj, n_ieq_constr=problem.n_constr + 1,
            xl=sp.xl.astype(float), xu=sp.xu.astype(float), vtype=int,
        )
        self._start()

    def _start(self) -> None:
        sp = self.space
        sampling = self._initial if self._initial is not None else IntegerSampling()
        self.algorithm = self._algorithm(
            sampling=sampling,
            crossover=MixedCrossover(sp.ordinal, prob=self.crossover_prob, eta=self.eta_crossover),
            mutation=MixedMutation(sp.ordinal, eta=self.eta_mutation),
            eliminate_duplicates=True,
        )
        self.algorithm.setup(self._pproblem, seed=self.seed, termination=NoTermination(), verbose=False)
        self._infill: Population | None = None
        self._queue: list[int] = []
        self._by_x: dict[tuple[int, ...], list[int]] = {}
        self._F: np.ndarray | None = None
        self._G: np.ndarray | None = None
        self._told: np.ndarray | None = None

    def ask(self, n: int) -> list[Config]:
        if self._infill is None:
            pop = self.algorithm.ask()
            X = np.clip(np.rint(pop.get("X").astype(float)), self.space.xl, self.space.xu).astype(np.int64)
            pop.set("X", X)
            self._infill = pop
            self._queue = list(range(len(pop)))
            self._by_x = {}
            for i, x in enumerate(X):
                self._by_x.setdefault(tuple(int(v) for v in x), []).append(i)
            m = len(pop)
            self._F = np.full((m, self.problem.n_obj), np.nan)
            self._G = np.zeros((m, self.problem.n_constr + 1))
            self._told = np.zeros(m, dtype=bool)
        take, self._queue = self._queue[:n], self._queue[n:]
        X = self._infill.get("X")
        return [self.space.decode(X[i]) for i in take]

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        if self._infill is None:
            return
        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        G = np.asarray(G, dtype=float).reshape(len(configs), -1)
        for cfg, f, g in zip(configs, F, G):
            idxs = self._by_x.get(tuple(int(v) for v in self.space.encode(cfg)), [])
            for i in idxs:
                if not self._told[i]:
                    failed = bool(np.isnan(f).any())
                    self._F[i] = _FAILED if failed else f
                    self._G[i, :-1] = np.where(np.isfinite(g), g, _FAILED) if len(g) else g
                    self._G[i, -1] = 1.0 if failed else 0.0
                    self._told[i] = True
                    break
        if self._told.all():
            self._infill.set("F", self._F, "G", self._G)
            self.algorithm.tell(infills=self._infill)
            self._infill = None

    def warm_start(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        """Start from the best ``population`` configs of a history (rank, then random ties)."""
        if not len(configs):
            return
        X = self.space.encode_many(configs)
        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        G = np.asarray(G, dtype=float).reshape(len(configs), -1)
        ok = ~np.isnan(F).any(axis=1)
        cv = np.where(ok, np.clip(G, 0, None).sum(axis=1) if G.shape[1] else 0.0, np.inf)
        chosen: list[int] = []
        feas = np.flatnonzero(cv <= 0)
        if len(feas):
            for front in NonDominatedSorting().do(F[feas]):
                members = feas[front]
                room = self.population - len(chosen)
                if len(members) > room:
                    members = self.rng.choice(members, size=room, replace=False)
                chosen.extend(int(m) for m in members)
                if len(chosen) >= self.population:
                    break
        if len(chosen) < self.population:
            rest = np.setdiff1d(np.flatnonzero(ok), chosen)
            rest = rest[np.argsort(cv[rest], kind="stable")][: self.population - len(chosen)]
            chosen.extend(int(r) for r in rest)
        init = X[chosen]
        if len(init) < self.population:
            extra = self.space.encode_many(self.space.sample(self.population - len(init), self.rng))
            init = np.vstack([init, extra])
        self._initial = init
        self._start()


class NSGA2Strategy(PymooStrategy):
    """pymoo's NSGA-II (Deb et al. 2002): non-dominated sorting + crowding distance."""

    name = "nsga2"

    def _algorithm(self, **ops: Any):
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return NSGA2(pop_size=self.population, **ops)


class AGEMOEAStrategy(PymooStrategy):
    """pymoo's AGE-MOEA (Panichella 2019): survival by the front's estimated geometry."""

    name = "age"

    def _algorithm(self, **ops: Any):
        if self.problem.n_obj == 1:  # AGE-MOEA's geometry needs ≥ 2 objectives; NSGA-II ranks one exactly
            from pymoo.algorithms.moo.nsga2 import NSGA2

            return NSGA2(pop_size=self.population, **ops)
        from pymoo.algorithms.moo.age import AGEMOEA

        return AGEMOEA(pop_size=self.population, **ops)


class UNSGA3Strategy(PymooStrategy):
    """pymoo's U-NSGA-III (Seada & Deb 2016) with Das-Dennis reference directions."""

    name = "unsga3"

    def _algorithm(self, **ops: Any):
        from pymoo.algorithms.moo.unsga3 import UNSGA3
        from pymoo.util.ref_dirs import get_reference_directions

        m = self.problem.n_obj
        if m == 1:
            ref_dirs = np.ones((1, 1))
        else:
            p = 1
            while comb(p + 1 + m - 1, m - 1) <= self.population:
                p += 1
            ref_dirs = get_reference_directions("das-dennis", m, n_partitions=p)
        return UNSGA3(ref_dirs=ref_dirs, pop_size=self.population, **ops)
