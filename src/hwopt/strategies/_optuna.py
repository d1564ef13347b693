"""Optuna's samplers (NSGA-II, TPE) as strategies, on the integer encoding.

Ordinal dimensions become ``suggest_int`` and categorical ones ``suggest_categorical``, so
Optuna sees the same structure as the pymoo strategies. Constraint violations reach the
sampler through ``Trial.set_constraint`` (Optuna 5's constrained optimisation).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hwopt.space import Config
from hwopt.strategies._base import Problem, Strategy


def _finite(v: float) -> float:
    return float(v) if np.isfinite(v) else 1e30


class OptunaStrategy(Strategy):
    """Base: an in-memory Optuna study driven by ask/tell; subclasses pick the sampler."""

    def __init__(self, *, seed: int | None = None, batch: int = 10, **sampler_options: Any):
        super().__init__(seed=seed)
        self.batch = batch
        self.sampler_options = sampler_options

    @property
    def batch_size(self) -> int:
        return self.batch

    def _sampler(self):
        raise NotImplementedError

    def setup(self, problem: Problem) -> None:
        import optuna

        super().setup(problem)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._study = optuna.create_study(
            directions=["minimize"] * problem.n_obj, sampler=self._sampler()
        )
        self._open: dict[tuple[int, ...], list] = {}

    def ask(self, n: int) -> list[Config]:
        sp = self.space
        out = []
        for _ in range(n):
            trial = self._study.ask()
            x = np.array([
                trial.suggest_int(f"x{j}", 0, int(sp.xu[j])) if sp.ordinal[j]
                else trial.suggest_categorical(f"x{j}", list(range(int(sp.xu[j]) + 1)))
                for j in range(sp.n_var)
            ])
            self._open.setdefault(tuple(int(v) for v in x), []).append(trial)
            out.append(sp.decode(x))
        return out

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        import optuna

        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        G = np.asarray(G, dtype=float).reshape(len(configs), -1)
        for cfg, f, g in zip(configs, F, G):
            trials = self._open.get(tuple(int(v) for v in self.space.encode(cfg)))
            if not trials:
                continue  # not asked by this sampler (e.g. warm start): Optuna learns only its own trials
            trial = trials.pop(0)
            if np.isnan(f).any():
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            for j, v in enumerate(g):
                trial.set_constraint(f"c{j}", _finite(v))
            self._study.tell(trial, [float(v) for v in f])

    def warm_start(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        import optuna

        sp = self.space
        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        G = np.asarray(G, dtype=float).reshape(len(configs), -1)
        dists = {
            f"x{j}": optuna.distributions.IntDistribution(0, int(sp.xu[j])) if sp.ordinal[j]
            else optuna.distributions.CategoricalDistribution(list(range(int(sp.xu[j]) + 1)))
            for j in range(sp.n_var)
        }
        for cfg, f, g in zip(configs, F, G):
            x = sp.encode(cfg)
            params = {f"x{j}": int(x[j]) for j in range(sp.n_var)}
            failed = bool(np.isnan(f).any())
            self._study.add_trial(optuna.trial.create_trial(
                params=params, distributions=dists,
                state=optuna.trial.TrialState.FAIL if failed else optuna.trial.TrialState.COMPLETE,
                values=None if failed else [float(v) for v in f],
                system_attrs={f"constraints:c{j}": _finite(v) for j, v in enumerate(g)},
            ))


class OptunaNSGA2Strategy(OptunaStrategy):
    """Optuna's NSGAIISampler (population 50 by default)."""

    name = "optuna-nsga2"

    def _sampler(self):
        import optuna

        opts = {"population_size": 50, **self.sampler_options}
        return optuna.samplers.NSGAIISampler(seed=self.seed, **opts)


class OptunaTPEStrategy(OptunaStrategy):
    """Optuna's TPESampler (multi-objective MOTPE when there are several objectives)."""

    name = "optuna-tpe"

    def __init__(self, *, seed: int | None = None, batch: int = 1, **sampler_options: Any):
        super().__init__(seed=seed, batch=batch, **sampler_options)

    def _sampler(self):
        import optuna

        return optuna.samplers.TPESampler(seed=self.seed, **self.sampler_options)
