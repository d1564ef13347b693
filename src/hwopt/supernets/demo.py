"""``demo``: an elastic MobileNetV3-style CNN trained on scikit-learn's digits, cached on disk.

Elastic per-stage depth (1-3), per-block expand ratio (2/4/6) and kernel size (3/5/7), and input
resolution (digits upsampled from 8x8 to 12-24 px). Training (:func:`train_supernet`) follows
Once-for-All's progressive shrinking in two phases: the largest network alone, then - after
sorting every block's channels by importance - the sandwich rule (largest, smallest and two
random sub-networks per step, the smaller ones distilled from the largest in place). The
trained weights are cached in the user cache directory under a content hash of the recipe and
of the code that defines the network and the training, so a change to either retrains.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError
from hwopt.supernets._base import WeightSharingSpace
from hwopt.supernets._cache import cache_dir, content_hash
from hwopt.supernets._cache import load_or_train as cached
from hwopt.supernets._mbv3 import MBV3Arch

DEMO_ARCH = MBV3Arch(
    stem=8, first_block=8, widths=(16, 24, 32), strides=(2, 2, 2), acts=("relu", "h_swish", "h_swish"),
    se=(False, True, True), final_expand=96, last_channel=128, n_classes=10, ks_list=(3, 5, 7),
    e_list=(2, 4, 6), d_list=(1, 2, 3), resolutions=(12, 16, 20, 24), in_channels=1, stem_stride=1,
)

#: the recipe of the cached demo super-network (~2 minutes on 2 cores)
DEFAULT_RECIPE: dict[str, Any] = {
    "seed": 0, "batch_size": 32, "full_epochs": 2, "elastic_epochs": 4, "lr": 3e-3, "weight_decay": 1e-4,
    "random_subnets": 2, "kd_weight": 0.5, "threads": 1, "train_images": None,
}
_CODE_FILES = ("demo.py", "_mbv3.py", "_mbv3_nn.py", "_data.py", "_cache.py")
__all__ = ["DEMO_ARCH", "DEFAULT_RECIPE", "DemoSpace", "cache_dir", "load_or_train", "recipe_hash", "train_supernet"]


def recipe_hash(recipe: dict[str, Any], arch: MBV3Arch = DEMO_ARCH) -> str:
    """Content hash of the recipe, the architecture and the code that trains it (16 hex)."""
    here = Path(__file__).parent
    return content_hash({"recipe": recipe, "arch": repr(arch)}, [here / name for name in _CODE_FILES])


def train_supernet(recipe: dict[str, Any], arch: MBV3Arch = DEMO_ARCH, log=None):
    """Train the elastic demo super-network on the digits training split; returns (net, info)."""
    import torch
    import torch.nn.functional as F

    from hwopt.supernets._data import digits_split, upsample_digits
    from hwopt.supernets._mbv3_nn import elastic_supernet, sort_channels

    r = {**DEFAULT_RECIPE, **recipe}
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(int(r["threads"]))
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        torch.manual_seed(r["seed"])
        space = arch.search_space("demo")
        net = elastic_supernet(arch)
        xt, yt, _, _ = digits_split(r["seed"])
        if r["train_images"]:
            xt, yt = xt[: int(r["train_images"])], yt[: int(r["train_images"])]
        res = {s: upsample_digits(xt, s) for s in arch.resolutions}
        opt = torch.optim.AdamW(net.parameters(), lr=r["lr"], weight_decay=r["weight_decay"])
        n = len(yt)
        steps_per_epoch = max(1, n // r["batch_size"])  # full batches only
        total_epochs = r["full_epochs"] + r["elastic_epochs"]
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, r["lr"], total_steps=max(1, total_epochs * steps_per_epoch))
        g = torch.Generator().manual_seed(r["seed"])
        slots = arch.n_stages * arch.max_depth
        largest = {"ks": [max(arch.ks_list)] * slots, "e": [max(arch.e_list)] * slots,
                   "d": [max(arch.d_list)] * arch.n_stages, "r": max(arch.resolutions)}
        smallest = {"ks": [min(arch.ks_list)] * slots, "e": [min(arch.e_list)] * slots,
                    "d": [min(arch.d_list)] * arch.n_stages, "r": min(arch.resolutions)}
        net.train()
        for epoch in range(total_epochs):
            elastic = epoch >= r["full_epochs"]
            if epoch == r["full_epochs"]:
                sort_channels(net)
            perm = torch.randperm(n, generator=g)
            for i in range(steps_per_epoch):
                idx = perm[i * r["batch_size"]:(i + 1) * r["batch_size"]]
                y = yt[idx]
                opt.zero_grad(set_to_none=True)
                out = net(res[largest["r"]][idx], largest)
                loss = F.cross_entropy(out, y)
                loss.backward()
                if elastic:
                    soft = out.detach().softmax(dim=1)
                    seeds = torch.randint(0, 2**31 - 1, (r["random_subnets"],), generator=g).tolist()
                    for cfg in [smallest, *space.sample(r["random_subnets"], seed=seeds[0])]:
                        o = net(res[int(cfg["r"])][idx], cfg)
                        kd = F.kl_div(o.log_softmax(dim=1), soft, reduction="batchmean")
                        ((1 - r["kd_weight"]) * F.cross_entropy(o, y) + r["kd_weight"] * kd).backward()
                opt.step()
                sched.step()
            if log:
                log(f"demo training epoch {epoch + 1}/{total_epochs} loss {loss.item():.3f}")
    finally:
        torch.set_num_threads(prev_threads)
    net.eval()
    return net, {"train_seconds": round(time.perf_counter() - t0, 1),
                 "train_cpu_seconds": round(time.process_time() - c0, 1), "recipe": r}


def load_or_train(recipe: dict[str, Any] | None = None, arch: MBV3Arch = DEMO_ARCH, log=None):
    """(super-network, cache path, info): from the cache, training and caching it first if needed."""
    from hwopt.supernets._mbv3_nn import elastic_supernet

    recipe = {**DEFAULT_RECIPE, **(recipe or {})}
    return cached(DemoSpace.name, recipe_hash(recipe, arch), lambda: elastic_supernet(arch),
                  lambda: train_supernet(recipe, arch, log))


class DemoSpace(WeightSharingSpace):
    """Elastic digits CNN; configs ``{"ks": [9], "e": [9], "d": [3], "r": R}`` (OFA form)."""

    name = "demo"
    description = "elastic MobileNetV3-style CNN on scikit-learn digits (trained once, cached)"
    default_objectives = ("accuracy:max", "latency:min", "macs:min")
    default_budget = 60

    def __init__(self, recipe: dict[str, Any] | None = None, weights: str | Path | None = None):
        if recipe is not None and not isinstance(recipe, dict):
            raise ConfigError(f"demo recipe must be a mapping, got {type(recipe).__name__}")
        unknown = sorted(set(recipe or {}) - set(DEFAULT_RECIPE))
        if unknown:
            raise ConfigError(f"unknown demo recipe key(s) {unknown}; valid: {', '.join(sorted(DEFAULT_RECIPE))}")
        self.recipe = {**DEFAULT_RECIPE, **(recipe or {})}
        super().__init__(DEMO_ARCH, weights)
        self.cache_path: Path | None = None
        self.train_info: dict[str, Any] = {}

    nn_module = "hwopt.supernets._mbv3_nn"
    in_channels = 1

    def _new_supernet(self):
        from hwopt.supernets._mbv3_nn import elastic_supernet

        return elastic_supernet(self.arch)

    def _default_supernet(self):
        """The cached super-network, trained first if needed."""
        net, self.cache_path, self.train_info = load_or_train(self.recipe, self.arch)
        return net

    def export_options(self) -> dict[str, Any]:
        return {}

    def accuracy_data(self, subset: int | None = None, calib_batches: int = 4, data: str | None = None, **options: Any):
        if data:
            raise ConfigError("the demo space measures accuracy on its own digits validation split; drop --data")
        if options:
            raise ConfigError(f"unknown demo accuracy option(s) {sorted(options)}; valid: subset, calib_batches")
        from hwopt.supernets._data import DigitsData

        self.supernet  # train or load before the first evaluation, not inside it
        return DigitsData(seed=int(self.recipe["seed"]), calib_batches=calib_batches, subset=subset)
