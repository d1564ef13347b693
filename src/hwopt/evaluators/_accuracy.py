"""Accuracy of a sub-network after BatchNorm re-calibration, as Once-for-All measures it.

A sub-network cut out of a super-network inherits BatchNorm statistics that were accumulated
over *other* sub-networks; its accuracy is only meaningful after the running mean / variance
are recomputed on a few training batches (OFA's ``set_running_statistics``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Iterable, Iterator

from hwopt.errors import EvaluationError, require


class AccuracyData(ABC):
    """Labelled batches for one input shape: a few calibration batches and a validation set."""

    @abstractmethod
    def calibration(self, input_shape: tuple[int, ...]) -> Iterator[tuple[Any, Any]]:
        """(images, labels) batches from the training split, at ``input_shape[1:]``."""

    @abstractmethod
    def validation(self, input_shape: tuple[int, ...]) -> Iterator[tuple[Any, Any]]:
        """(images, labels) batches of the validation split, at ``input_shape[1:]``."""

    def describe(self) -> dict[str, Any]:
        """What the data is (stored in the study's context)."""
        return {}


def recalibrate_bn(model: Any, batches: Iterable[tuple[Any, Any]]) -> int:
    """Reset every BatchNorm's running statistics and recompute them as the exact average over
    ``batches`` (momentum ``None``); returns the number of batches used. The model ends in eval mode."""
    torch = require("torch")
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        model.eval()
        return 0
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average = plain mean over the batches
    n = 0
    model.train()
    try:
        with torch.no_grad():
            for x, _ in batches:
                model(x)
                n += 1
    finally:
        for m, mom in zip(bns, saved):
            m.momentum = mom
        model.eval()
    if bns and n == 0:
        raise EvaluationError("no calibration batches for BatchNorm re-calibration")
    return n


def top1_accuracy(model: Any, batches: Iterable[tuple[Any, Any]]) -> float:
    """Top-1 accuracy in percent (0-100) of ``model`` in eval mode over ``batches``."""
    torch = require("torch")
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            pred = model(x).argmax(dim=1)
            correct += int((pred == y).sum())
            total += int(y.numel())
    if total == 0:
        raise EvaluationError("the validation set is empty")
    return 100.0 * correct / total
