"""Search strategies (ask/tell): random, pymoo algorithms, Optuna samplers, predictor-in-the-loop.

``STRATEGIES`` maps names to Strategy classes; a new strategy is one module plus one entry.
"""

from hwopt._registry import Registry
from hwopt.strategies._base import ExactFn, Problem, Strategy

STRATEGIES: Registry[type[Strategy]] = Registry("strategy")
STRATEGIES.register("random", "hwopt.strategies._random:RandomStrategy", "uniform random sampling")
STRATEGIES.register("nsga2", "hwopt.strategies._pymoo:NSGA2Strategy", "pymoo NSGA-II")
STRATEGIES.register("age", "hwopt.strategies._pymoo:AGEMOEAStrategy", "pymoo AGE-MOEA")
STRATEGIES.register("unsga3", "hwopt.strategies._pymoo:UNSGA3Strategy", "pymoo U-NSGA-III")
STRATEGIES.register("optuna-nsga2", "hwopt.strategies._optuna:OptunaNSGA2Strategy", "Optuna NSGAIISampler")
STRATEGIES.register("optuna-tpe", "hwopt.strategies._optuna:OptunaTPEStrategy", "Optuna TPESampler")
STRATEGIES.register("linas", "hwopt.strategies._linas:LinasStrategy", "DyNAS-T LINAS, faithful baseline")
STRATEGIES.register("linas+", "hwopt.strategies._linas_plus:LinasPlusStrategy",
                    "predictor-in-the-loop with uncertainty: GP + optimistic batch HV improvement")

#: the strategy ``hwopt search`` uses when none is given (hwopt's best on the benchmarks)
DEFAULT_STRATEGY = "linas+"

__all__ = ["DEFAULT_STRATEGY", "ExactFn", "Problem", "STRATEGIES", "Strategy", "get_strategy"]


def get_strategy(name: str, **options) -> Strategy:
    """Instantiate the strategy ``name`` (``"default"`` is hwopt's best) with its options."""
    if name == "default":
        name = DEFAULT_STRATEGY
    return STRATEGIES.create(name, **options)
