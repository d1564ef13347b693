"""Uniform random search over the encoding, without repeating a canonical config."""

from __future__ import annotations

from typing import Container, Sequence

import numpy as np

from hwopt.space import Config, SearchSpace
from hwopt.strategies._base import Strategy


def sample_unseen(space: SearchSpace, rng: np.random.Generator, n: int, seen: set[str],
                  also: Container[str] = ()) -> list[Config]:
    """Up to ``n`` uniform configs whose hash is in neither ``seen`` nor ``also``; adds theirs to ``seen``."""
    out: list[Config] = []
    for _ in range(50 * max(n, 1)):
        if len(out) >= n:
            break
        cfg = space.sample(1, rng)[0]
        h = space.hash(cfg)
        if h not in seen and h not in also:
            seen.add(h)
            out.append(cfg)
    return out


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
        return sample_unseen(self.space, self.rng, n, self._seen)

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        self._seen.update(self.space.hash(c) for c in configs)
