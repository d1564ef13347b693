"""A toy evaluator with measurement dicts and failures, and a helper that runs a real study on it."""

from __future__ import annotations

import numpy as np

from hwopt.errors import EvaluationError
from hwopt.evaluators import Evaluator, parse_objectives
from hwopt.space import Categorical, Integer, SearchSpace
from hwopt.strategies import get_strategy
from hwopt.study import Study, optimize


class ReportToy(Evaluator):
    """``err`` and ``lat`` conflict over x[0:3]; ``size`` depends only on x[3] (so a size bound cuts
    across the err/lat front); ``lat`` is a measurement dict; some configs fail with a reason."""

    metrics = {"err": "min", "lat": "min", "size": "min", "acc": "max"}

    def __init__(self):
        self._space = SearchSpace([Integer("x", 0, 9, length=4), Categorical("op", ["a", "b"])])

    @property
    def space(self):
        return self._space

    def evaluate(self, config):
        x = np.array(config["x"], dtype=float)
        if x[0] == 9 and x[1] == 9:
            raise EvaluationError("simulated out of memory")
        if x[2] == 0 and x[0] == 0:
            raise EvaluationError("simulated timeout after 10 s")
        err = float(x[:3].sum() + (0.5 if config["op"] == "b" else 0.0))
        lat = float(((9 - x[:3]) ** 2).sum()) + 1.0
        return {
            "err": err, "acc": 100.0 - err, "size": float(x[3]),
            "lat": {"median": lat, "p10": 0.9 * lat, "p90": 1.2 * lat, "cv": 0.05, "n": 21, "unit": "ms"},
        }

    def context(self):
        return {"machine": {"cpu": "toy-cpu", "governor": "performance"}}


def make_study(path, objectives, budget=70, seed=0, settings=None, strategy="random"):
    objs, cons = parse_objectives(list(objectives))
    ev = ReportToy()
    st = Study.create(path, objs, cons, settings={
        "strategy": strategy, "seed": seed, "budget": budget, "evaluator_context": ev.context(), **(settings or {}),
    })
    optimize(st, ev, get_strategy(strategy, seed=seed), budget)
    return Study.load(path)
