"""Uniform random search over the encoding, without repeating a canonical config."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwopt.space import Config
from hwopt.strategies._base import Strategy


class RandomStrategy(Strategy):
    """Uniform samples of the space; skips configs it has already proposed (by canonical hash)."""

    name = "random"

    def __init__(self, *, seed: int | None = None, batch: int = 10):
        super().__init__(seed=seed)
        self.batch = batch
        self._seen: set[str] = set()

    @property
    def batch_size(self) -> int:
        return self.batch

    def ask(self, n: int) -> list[Config]:
        out: list[Config] = []
        for _ in range(50 * max(n, 1)):
            if len(out) >= n:
                break
            cfg = self.space.sample(1, self.rng)[0]
            h = self.space.hash(cfg)
            if h not in self._seen:
                self._seen.add(h)
                out.append(cfg)
        return out

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        self._seen.update(self.space.hash(c) for c in configs)
