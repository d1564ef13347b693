"""ModelSpace: a search space bound to a model factory (a super-network or a model family).

A new super-network is one module with a ModelSpace subclass plus one entry in ``SPACES``
(``hwopt/supernets/__init__.py``). Its space, model factory, metrics and default objectives
live on the class, never in if/elif chains elsewhere.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from hwopt.errors import SpaceError
from hwopt.space import Config, SearchSpace


class ModelSpace(ABC):
    """Configs → standalone ``torch.nn.Module`` sub-networks (with inherited weights if any)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: objectives ``hwopt search --space NAME`` optimises when none are given
    default_objectives: ClassVar[tuple[str, ...]] = ("accuracy:max", "latency:min")
    #: distinct configs ``hwopt search --space NAME`` evaluates when no budget is given
    default_budget: ClassVar[int] = 50

    @property
    @abstractmethod
    def space(self) -> SearchSpace:
        """The searchable parameters."""

    @abstractmethod
    def build(self, config: Config) -> Any:
        """A standalone ``torch.nn.Module`` for ``config`` (weights copied from the super-network)."""

    @abstractmethod
    def input_shape(self, config: Config, batch_size: int = 1) -> tuple[int, ...]:
        """Shape of one input batch for the model of ``config``."""

    def parse_config(self, obj: Any) -> Config:
        """A config from a dict or a JSON string, validated against the space."""
        if isinstance(obj, str):
            try:
                obj = json.loads(obj)
            except json.JSONDecodeError as exc:
                raise SpaceError(f"config is not valid JSON: {exc.msg} at position {exc.pos}") from None
        return self.space.validate(obj)

    # ------------------------------------------------------------------ super-network hooks
    def architecture(self, config: Config) -> Any:
        """A freshly initialised module of ``config`` whose state dict has the layout of
        ``build(config)``'s (export reloads a state dict into it); default: ``build``."""
        return self.build(config)

    def export_options(self) -> dict[str, Any]:
        """Constructor options that rebuild this space's architectures (no weights, no data)."""
        return {}

    @property
    def metrics(self) -> dict[str, str]:
        """Metrics ``make_evaluator`` can compute, with their natural direction."""
        out = {"macs": "min", "params": "min", "latency": "min"}
        if self.has_accuracy:
            out["accuracy"] = "max"
        return out

    @property
    def has_accuracy(self) -> bool:
        """Whether this space measures accuracy at all (it may still need ``--weights``/``--data``)."""
        return False

    def accuracy_data(self, **options: Any) -> Any:
        """The :class:`~hwopt.evaluators.AccuracyData` accuracy is measured on; raises a
        :class:`~hwopt.errors.HwoptError` saying why when there is none."""
        from hwopt.errors import ObjectiveError

        raise ObjectiveError(f"space {self.name!r} has no trained weights, so it cannot measure accuracy; "
                             "valid metrics: macs, params, latency")

    def make_evaluator(self, metrics: list[str] | tuple[str, ...], **options: Any):
        """An Evaluator that computes ``metrics`` for configs of this space in one pass."""
        from hwopt.evaluators import ModelEvaluator

        return ModelEvaluator(self, metrics, **options)
