"""Evaluator: turns a config into measurements, several metrics in one pass.

An evaluation may fail: raise :class:`~hwopt.errors.EvaluationError` (or return NaN), and the
study records a failed trial with the reason and goes on. Evaluators never touch the study.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from hwopt.space import Config, SearchSpace


class Evaluator(ABC):
    """Measures configs of one search space."""

    #: metric names this evaluator returns, with their natural direction ("min"/"max")
    metrics: dict[str, str] = {}

    @property
    @abstractmethod
    def space(self) -> SearchSpace:
        """The space whose configs this evaluator accepts."""

    @abstractmethod
    def evaluate(self, config: Config) -> dict[str, Any]:
        """All metrics of one config: ``{name: float | {"median": ..., ...}}``."""

    def context(self) -> dict[str, Any]:
        """Settings and machine state to store once in the study (JSON-serialisable)."""
        return {}

    def is_noisy(self, name: str) -> bool:
        """Whether measuring metric ``name`` of one config twice can give two values (timings
        can; counts, cost-model estimates and accuracy on fixed data cannot). Re-measuring the
        front only pays for noisy metrics; an evaluator that does not say is assumed noisy."""
        return True

    def restricted_to(self, names: list[str]) -> "Evaluator":
        """An evaluator that measures only the metrics ``names`` (to re-measure the noisy ones
        without redoing, say, a validation pass); by default this whole evaluator."""
        return self

    def check_metrics(self, names: list[str]) -> None:
        """Raise ObjectiveError if a requested metric is not produced here."""
        from hwopt.errors import ObjectiveError

        unknown = [n for n in names if n not in self.metrics]
        if unknown:
            raise ObjectiveError(
                f"unknown metric {unknown[0]!r} for this evaluator; valid: {', '.join(sorted(self.metrics))}"
            )
