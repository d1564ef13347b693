"""``transformer``: an elastic encoder (layers, heads, hidden size, FFN width) on digit patches.

Each 8x8 scikit-learn digit is a sequence of 16 tokens (its 2x2 patches, 4 values each); the
encoder classifies the sequence. The super-network is trained with the sandwich rule (largest,
smallest and random sub-networks each step, in-place distillation from the largest) and cached
like ``demo``. Configs: ``{"layers": L, "hidden": E, "heads": [4 values], "ffn": [4 values]}``;
per-layer entries beyond ``layers`` are inactive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError
from hwopt.space import Categorical, Config, SearchSpace
from hwopt.supernets._base import WeightSharingSpace
from hwopt.supernets._cache import content_hash
from hwopt.supernets._cache import load_or_train as cached


@dataclass(frozen=True)
class TransformerArch:
    layers: tuple[int, ...] = (1, 2, 3, 4)
    hidden: tuple[int, ...] = (32, 48, 64)
    heads: tuple[int, ...] = (1, 2, 4)
    ffn: tuple[int, ...] = (32, 64, 128)
    head_dim: int = 16
    tokens: int = 16
    token_dim: int = 4
    n_classes: int = 10

    def search_space(self, name: str) -> SearchSpace:
        n = max(self.layers)
        return SearchSpace([
            Categorical("layers", list(self.layers), ordered=True),
            Categorical("hidden", list(self.hidden), ordered=True),
            Categorical("heads", list(self.heads), ordered=True, length=n, active_when="i < layers"),
            Categorical("ffn", list(self.ffn), ordered=True, length=n, active_when="i < layers"),
        ], name=name)

    def extreme(self, pick) -> Config:
        n = max(self.layers)
        return {"layers": pick(self.layers), "hidden": pick(self.hidden), "heads": [pick(self.heads)] * n,
                "ffn": [pick(self.ffn)] * n}


TRANSFORMER_ARCH = TransformerArch()
DEFAULT_RECIPE: dict[str, Any] = {
    "seed": 0, "batch_size": 64, "full_epochs": 8, "elastic_epochs": 16, "lr": 3e-3, "weight_decay": 1e-4,
    "random_subnets": 2, "kd_weight": 0.5, "threads": 1, "train_images": None,
}
_CODE_FILES = ("transformer.py", "_transformer_nn.py", "_data.py", "_cache.py")


def digit_patches(x):
    """(N, 1, 8, 8) digits → (N, 16, 4) sequences of 2x2 patches, roughly zero-mean."""
    n = x.shape[0]
    p = x.reshape(n, 4, 2, 4, 2).permute(0, 1, 3, 2, 4).reshape(n, 16, 4)
    return (p - 0.3) / 0.4


def recipe_hash(recipe: dict[str, Any], arch: TransformerArch = TRANSFORMER_ARCH) -> str:
    here = Path(__file__).parent
    return content_hash({"recipe": recipe, "arch": repr(arch)}, [here / n for n in _CODE_FILES])


def train_supernet(recipe: dict[str, Any], arch: TransformerArch = TRANSFORMER_ARCH):
    """Sandwich-rule training of the elastic encoder on the digits training split."""
    import torch
    import torch.nn.functional as F

    from hwopt.supernets._data import digits_split
    from hwopt.supernets._transformer_nn import supernet

    r = {**DEFAULT_RECIPE, **recipe}
    prev = torch.get_num_threads()
    torch.set_num_threads(int(r["threads"]))
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        torch.manual_seed(r["seed"])
        net = supernet(arch)
        space = arch.search_space("transformer")
        xt, yt, _, _ = digits_split(r["seed"])
        if r["train_images"]:
            xt, yt = xt[: int(r["train_images"])], yt[: int(r["train_images"])]
        xt = digit_patches(xt)
        n, bs = len(yt), int(r["batch_size"])
        steps = max(1, n // bs)
        epochs = r["full_epochs"] + r["elastic_epochs"]
        opt = torch.optim.AdamW(net.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, r["lr"], total_steps=max(1, epochs * steps))
        g = torch.Generator().manual_seed(r["seed"])
        largest, smallest = arch.extreme(max), arch.extreme(min)
        net.train()
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=g)
            for i in range(steps):
                idx = perm[i * bs:(i + 1) * bs]
                x, y = xt[idx], yt[idx]
                opt.zero_grad(set_to_none=True)
                out = net(x, largest)
                F.cross_entropy(out, y).backward()
                if epoch >= r["full_epochs"]:
                    soft = out.detach().softmax(dim=1)
                    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=g))
                    for cfg in [smallest, *space.sample(r["random_subnets"], seed=seed)]:
                        o = net(x, cfg)
                        kd = F.kl_div(o.log_softmax(dim=1), soft, reduction="batchmean")
                        ((1 - r["kd_weight"]) * F.cross_entropy(o, y) + r["kd_weight"] * kd).backward()
                opt.step()
                sched.step()
    finally:
        torch.set_num_threads(prev)
    return net.eval(), {"train_seconds": round(time.perf_counter() - t0, 1),
                        "train_cpu_seconds": round(time.process_time() - c0, 1), "recipe": r}


class TransformerSpace(WeightSharingSpace):
    """Elastic encoder on digit patch sequences (trained once, cached)."""

    name = "transformer"
    description = "elastic transformer encoder (layers, heads, hidden, FFN) on digit patches, trained once and cached"
    default_objectives = ("accuracy:max", "latency:min")
    default_budget = 40

    def __init__(self, recipe: dict[str, Any] | None = None, weights: str | Path | None = None):
        unknown = sorted(set(recipe or {}) - set(DEFAULT_RECIPE))
        if unknown:
            raise ConfigError(f"unknown transformer recipe key(s) {unknown}; valid: {', '.join(sorted(DEFAULT_RECIPE))}")
        self.recipe = {**DEFAULT_RECIPE, **(recipe or {})}
        super().__init__(TRANSFORMER_ARCH, weights)
        self.train_info: dict[str, Any] = {}

    nn_module = "hwopt.supernets._transformer_nn"

    def _new_supernet(self):
        from hwopt.supernets._transformer_nn import supernet

        return supernet(self.arch)

    def _default_supernet(self):
        """The cached super-network, trained first if needed."""
        net, _, self.train_info = cached(self.name, recipe_hash(self.recipe, self.arch), self._new_supernet,
                                         lambda: train_supernet(self.recipe, self.arch))
        return net

    def input_shape(self, config: Config, batch_size: int = 1) -> tuple[int, ...]:
        return (batch_size, self.arch.tokens, self.arch.token_dim)

    def accuracy_data(self, subset: int | None = None, data: str | None = None, **options: Any):
        if data:
            raise ConfigError("the transformer space measures accuracy on its own digits validation split; drop --data")
        if options:
            raise ConfigError(f"unknown transformer accuracy option(s) {sorted(options)}; valid: subset")
        from hwopt.supernets._data import DigitsData

        self.supernet  # train or load before the first evaluation
        return DigitsData(seed=int(self.recipe["seed"]), subset=subset, transform=digit_patches)
