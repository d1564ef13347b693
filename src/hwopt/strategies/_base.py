"""Strategy: proposes the next candidates from the history (ask/tell, no I/O).

Only ``hwopt.study`` drives a strategy. Strategies see configs, the minimisation matrix ``F``
(maximised objectives negated; NaN rows are failed evaluations) and the constraint matrix ``G``
(``<= 0`` feasible) — never evaluators or storage.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from hwopt.space import Config, SearchSpace

#: computes exactly known objective columns for encoded candidates: X (n × n_var) → (n × k)
ExactFn = Callable[[np.ndarray], np.ndarray]


@dataclass
class Problem:
    """What a strategy optimises: a space, objective and constraint counts, and cheap exact parts.

    ``exact`` (optional) computes the columns ``exact_columns`` of ``F`` for encoded candidates
    without an expensive evaluation (MACs, params, cost-model estimates), so predictor-based
    strategies compute them rather than predict them. ``features`` (optional) gives such
    predictors cheap exact descriptors of each config to learn from, beside its encoding.
    """

    space: SearchSpace
    n_obj: int
    n_constr: int = 0
    objective_names: Sequence[str] = ()
    exact: ExactFn | None = None
    exact_columns: Sequence[int] = field(default_factory=tuple)
    #: cheap, exactly computable descriptors of encoded configs (e.g. log FLOPs, params, kernel
    #: count of the model's operator graph): X (n × n_var) → (n × k), appended to predictor features
    features: ExactFn | None = None
    #: non-negative per-operator-class counts (FLOPs, bytes, kernels) of encoded configs whose
    #: weighted sum approximates a latency: X (n × n_var) → (n × k), for an additive cost predictor
    cost_counts: ExactFn | None = None
    #: the objectives (measured latencies) those counts describe; they are modelled in log space
    cost_columns: Sequence[int] = field(default_factory=tuple)


class Strategy(ABC):
    """Base class of search strategies; options are keyword arguments of ``__init__``."""

    name: ClassVar[str] = ""

    def __init__(self, *, seed: int | None = None, **options: Any):
        self.seed = seed
        self.options = options
        self.problem: Problem | None = None
        self.rng = np.random.default_rng(seed)

    def setup(self, problem: Problem) -> None:
        """Bind to a problem; called once before the first ``ask``."""
        self.problem = problem
        self.rng = np.random.default_rng(self.seed)

    @property
    def space(self) -> SearchSpace:
        assert self.problem is not None, "call setup(problem) first"
        return self.problem.space

    @property
    def batch_size(self) -> int:
        """How many candidates the strategy likes to be asked for at once."""
        return 1

    @abstractmethod
    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configs to evaluate next (may repeat known ones; the study skips those)."""

    @abstractmethod
    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        """Results of evaluated configs, in the order given (NaN rows failed)."""

    def warm_start(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        """Learn from an existing history (resume, or a previous study) before the first ask."""
        if len(configs):
            self.tell(configs, F, G)

    def state(self) -> dict[str, Any]:
        """Diagnostics worth saving in the study per round (e.g. predictor health); JSON-able."""
        return {}
