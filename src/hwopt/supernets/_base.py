"""ModelSpace: a search space bound to a model factory (a super-network or a model family).

A new super-network is one module with a ModelSpace subclass plus one entry in ``SPACES``
(``hwopt/supernets/__init__.py``). Its space, model factory, metrics and default objectives
live on the class, never in if/elif chains elsewhere.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
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

    def reference_configs(self) -> list[Config]:
        """Configs a search evaluates before its strategy proposes any (none by default)."""
        return []

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


class WeightSharingSpace(ModelSpace):
    """A super-network whose sub-networks inherit its weights (OFA-style spaces, demo, transformer).

    Subclasses set ``nn_module`` — a module with ``extract_subnet(supernet, config)`` and
    ``static_subnet(arch, config)`` — and implement ``_new_supernet()`` (a freshly initialised
    network with the checkpoint layout). Without ``weights`` the super-network is
    ``_default_supernet()``: seeded random weights, or a trained and cached one where the space
    trains its own.
    """

    nn_module: ClassVar[str] = ""
    #: channels of the image input (``input_shape`` is ``(batch, in_channels, r, r)``)
    in_channels: ClassVar[int] = 3

    def __init__(self, arch: Any, weights: str | Path | None = None):
        self.arch = arch
        self.weights = str(weights) if weights else None
        self._space = arch.search_space(self.name)
        self._supernet = None

    @property
    def space(self) -> SearchSpace:
        return self._space

    @property
    def has_accuracy(self) -> bool:
        return True

    @property
    def weights_label(self) -> str:
        """How checkpoint errors name this super-network."""
        return f"the {self.name} super-network"

    def _new_supernet(self) -> Any:
        raise NotImplementedError

    def _fresh_supernet(self) -> Any:
        """``_new_supernet()`` with random weights from seed 0 (reproducible MACs, latency, export)."""
        import torch

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return self._new_supernet()

    def _default_supernet(self) -> Any:
        """The super-network used without ``weights``; spaces that train their own override this."""
        return self._fresh_supernet()

    @property
    def supernet(self) -> Any:
        """The elastic super-network: ``weights`` if given, else ``_default_supernet()``."""
        if self._supernet is None:
            if self.weights:
                from hwopt.supernets._checkpoint import load_checkpoint

                net = self._fresh_supernet()
                load_checkpoint(net, self.weights, self.weights_label)
            else:
                net = self._default_supernet()
            self._supernet = net.eval()
        return self._supernet

    def _nn(self):
        return importlib.import_module(self.nn_module)

    def input_shape(self, config: Config, batch_size: int = 1) -> tuple[int, ...]:
        r = int(config["r"])
        return (batch_size, self.in_channels, r, r)

    def build(self, config: Config) -> Any:
        return self._nn().extract_subnet(self.supernet, self.space.validate(config))

    def architecture(self, config: Config) -> Any:
        return self._nn().static_subnet(self.arch, self.space.validate(config))

    def reference_configs(self) -> list[Config]:
        """The largest and the smallest sub-network (every choice at its highest / lowest level).
        Why: the sandwich rule trains both at every step, so they are usually the most and least
        accurate ends of the front; a search that measures them first knows the range it works in
        and never reports a front that misses the largest network's accuracy."""
        sp = self.space
        if not all(getattr(p, "ordered", False) for p in sp.parameters):
            return []
        return [sp.canonical(sp.decode(sp.xu)), sp.canonical(sp.decode(sp.xl))]


class ImageModelSpace(ModelSpace):
    """A model family (no shared weights) on fixed-size RGB images, e.g. CIFAR-sized NB201 / FBNet."""

    def __init__(self, space: SearchSpace, num_classes: int, resolution: int):
        self._space = space
        self.num_classes = num_classes
        self.resolution = resolution

    @property
    def space(self) -> SearchSpace:
        return self._space

    def input_shape(self, config: Config, batch_size: int = 1) -> tuple[int, ...]:
        return (batch_size, 3, self.resolution, self.resolution)
