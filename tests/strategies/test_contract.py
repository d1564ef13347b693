"""One contract suite, run over every registered strategy (as Optuna does for its samplers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwopt.errors import EvaluationError
from hwopt.evaluators import Evaluator, parse_objectives
from hwopt.space import Categorical, Integer, SearchSpace
from hwopt.strategies import STRATEGIES, Problem, get_strategy
from hwopt.study import Study, optimize


class ToyEvaluator(Evaluator):
    """Two conflicting objectives on a small mixed space; optionally fails on some configs."""

    metrics = {"f1": "min", "f2": "min", "f3": "min"}

    def __init__(self, fail_every: int = 0, nan_every: int = 0):
        self._space = SearchSpace([
            Integer("x", 0, 9, length=8),
            Categorical("op", ["a", "b", "c"]),
            Integer("extra", 0, 4, active_when="op == 'c'"),
        ])
        self.fail_every, self.nan_every, self.calls = fail_every, nan_every, 0

    @property
    def space(self):
        return self._space

    def evaluate(self, config):
        self.calls += 1
        x = np.array(config["x"], dtype=float)
        bonus = {"a": 0.0, "b": 1.0, "c": 2.0}[config["op"]] + (config["extra"] or 0) * 0.1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise EvaluationError("simulated measurement failure")
        f1 = float(x.sum() + bonus)
        if self.nan_every and self.calls % self.nan_every == 0:
            f1 = math.nan
        return {"f1": f1, "f2": float(((9 - x) ** 2).sum() - bonus), "f3": float(abs(x[0] - x[1]))}


NAMES = STRATEGIES.names()


def run(name, budget=40, seed=0, objectives=("f1:min", "f2:min"), evaluator=None, storage=None, **opts):
    objs, cons = parse_objectives(list(objectives))
    study = Study.create(storage, objs, cons, settings={"strategy": name})
    strat = get_strategy(name, seed=seed, **opts)
    optimize(study, evaluator or ToyEvaluator(), strat, budget)
    return study


def small(name):
    return {"population": 8} if name in ("nsga2", "age", "unsga3") else {}


@pytest.mark.parametrize("name", NAMES)
def test_ask_returns_valid_configs_of_the_space(name):
    ev = ToyEvaluator()
    strat = get_strategy(name, seed=1, **small(name))
    strat.setup(Problem(ev.space, n_obj=2))
    configs = strat.ask(5)
    assert 1 <= len(configs) <= 5
    for c in configs:
        ev.space.validate(c)


@pytest.mark.parametrize("name", NAMES)
def test_budget_counts_distinct_configs(name):
    study = run(name, budget=30, **small(name))
    hashes = [t.config_hash for t in study.trials]
    assert len(hashes) == 30 and len(set(hashes)) == 30


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_the_same_run(name):
    a = [t.config_hash for t in run(name, budget=25, seed=3, **small(name)).trials]
    b = [t.config_hash for t in run(name, budget=25, seed=3, **small(name)).trials]
    c = [t.config_hash for t in run(name, budget=25, seed=4, **small(name)).trials]
    assert a == b
    assert a != c


@pytest.mark.parametrize("name", NAMES)
def test_failures_and_nan_are_recorded_and_the_search_goes_on(name):
    study = run(name, budget=30, evaluator=ToyEvaluator(fail_every=4, nan_every=7), **small(name))
    states = [t.state for t in study.trials]
    assert len(states) == 30
    failed = [t for t in study.trials if t.state == "FAIL"]
    assert failed and all(t.fail_reason for t in failed)
    assert any("simulated measurement failure" in t.fail_reason for t in failed)
    assert any("NaN" in t.fail_reason or "nan" in t.fail_reason for t in failed)


@pytest.mark.parametrize("name", NAMES)
def test_single_and_three_objectives_and_constraints(name):
    run(name, budget=15, objectives=("f1:min",), **small(name))
    run(name, budget=15, objectives=("f1:min", "f2:min", "f3:max"), **small(name))
    study = run(name, budget=15, objectives=("f1:min", "f2:min", "f3<=2"), **small(name))
    assert len(study.trials) == 15


@pytest.mark.parametrize("name", NAMES)
def test_warm_start_from_an_existing_history(name, tmp_path):
    path = tmp_path / "s.db"
    run(name, budget=20, storage=path, **small(name))
    from hwopt.study import Study as S

    study = S.load(path)
    optimize(study, ToyEvaluator(), get_strategy(name, seed=9, **small(name)), 35)
    hashes = [t.config_hash for t in study.trials]
    assert len(hashes) == 35 and len(set(hashes)) == 35


def test_evolutionary_search_beats_random_on_a_conflicting_problem():
    """nsga2 should find a better front than random on the toy problem (same budget, 5 seeds)."""
    from hwopt.benchmarks import hypervolume

    def hv(study):
        F = np.array([t.values for t in study.trials if t.state == "COMPLETE"])
        lo, hi = np.array([0, -2.4]), np.array([72 + 2.4, 648])
        return hypervolume((F - lo) / (hi - lo))

    ga = np.mean([hv(run("nsga2", budget=300, seed=s, population=20)) for s in range(5)])
    rnd = np.mean([hv(run("random", budget=300, seed=s)) for s in range(5)])
    assert ga > rnd
