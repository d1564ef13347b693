"""Once-for-All ResNet-50 super-network (depth 0/1/2, expand 0.2/0.25/0.35, width 0.65/0.8/1.0).

Config (OFA's ``set_active_subnet`` form, as in DyNAS-T): ``{"d": [5], "e": [18], "w": [6], "r": R}``
- ``d[0]`` 2 keeps the input stem's middle residual conv (0/1 skip it), ``d[1..4]`` extra blocks
per stage on top of the base depths 2/2/4/2; ``e`` the bottleneck ratio of every block slot (slots
beyond a stage's depth are inactive); ``w`` width-multiplier *indices*: ``w[0]`` stem middle,
``w[1]`` stem output, ``w[2..5]`` the four stages. ``--weights`` loads the official
``ofa_resnet50_d=0+1+2_e=0.2+0.25+0.35_w=0.65+0.8+1.0`` checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwopt.errors import ObjectiveError, SpaceError
from hwopt.space import Categorical, Config, SearchSpace
from hwopt.supernets._base import WeightSharingSpace
from hwopt.supernets._mbv3 import make_divisible


@dataclass(frozen=True)
class ResNetArch:
    d_list: tuple[int, ...] = (0, 1, 2)
    e_list: tuple[float, ...] = (0.2, 0.25, 0.35)
    w_list: tuple[float, ...] = (0.65, 0.8, 1.0)
    base_depth: tuple[int, ...] = (2, 2, 4, 2)
    widths: tuple[int, ...] = (256, 512, 1024, 2048)
    strides: tuple[int, ...] = (1, 2, 2, 2)
    resolutions: tuple[int, ...] = (128, 160, 192, 224)
    n_classes: int = 1000

    @property
    def stem_out(self) -> list[int]:
        return [make_divisible(64 * w) for w in self.w_list]

    @property
    def stem_mid(self) -> list[int]:
        return [make_divisible(c // 2) for c in self.stem_out]

    @property
    def stage_widths(self) -> list[list[int]]:
        return [[make_divisible(c * w) for w in self.w_list] for c in self.widths]

    @property
    def blocks_per_stage(self) -> list[int]:
        return [b + max(self.d_list) for b in self.base_depth]

    def mid_channels(self, c_out: int, e: float) -> int:
        return make_divisible(round(c_out * e))

    def search_space(self, name: str) -> SearchSpace:
        conds, k = [], 0
        for s, n in enumerate(self.blocks_per_stage):
            conds.append(f"({k} <= i < {k + n} and i - {k} < {self.base_depth[s]} + d[{s + 1}])")
            k += n
        idx = list(range(len(self.w_list)))
        return SearchSpace([
            Categorical("d", list(self.d_list), ordered=True, length=len(self.base_depth) + 1),
            Categorical("e", list(self.e_list), ordered=True, length=k, active_when=" or ".join(conds)),
            Categorical("w", idx, ordered=True, length=len(self.base_depth) + 2),
            Categorical("r", list(self.resolutions), ordered=True),
        ], name=name)


def active_blocks(arch: ResNetArch, config: Config):
    """(stem middle, stem out, skip the stem's middle conv, [(slot, c_in, mid, c_out, stride, identity)])."""
    d, e, w = config["d"], config["e"], config["w"]
    stem_mid, stem_out = arch.stem_mid[int(w[0])], arch.stem_out[int(w[1])]
    blocks, c_in, slot = [], stem_out, 0
    for s, n in enumerate(arch.blocks_per_stage):
        c_out = arch.stage_widths[s][int(w[s + 2])]
        for j in range(arch.base_depth[s] + int(d[s + 1])):
            if e[slot + j] is None:
                raise SpaceError(f"block {slot + j} is active but e is None")
            stride = arch.strides[s] if j == 0 else 1
            blocks.append((slot + j, c_in, arch.mid_channels(c_out, float(e[slot + j])), c_out, stride, j > 0))
            c_in = c_out
        slot += n
    return stem_mid, stem_out, int(d[0]) != max(arch.d_list), blocks


class OFAResNet50Space(WeightSharingSpace):
    """OFA ResNet-50; configs ``{"d": [5], "e": [18], "w": [6], "r": R}``."""

    name = "ofa-resnet50"
    description = "Once-for-All ResNet-50 (--weights loads the official checkpoint)"
    default_objectives = ("accuracy:max", "latency:min")
    default_budget = 50

    def __init__(self, weights: str | Path | None = None, n_classes: int = 1000,
                 resolutions: tuple[int, ...] | list[int] | None = None):
        kw = {"resolutions": tuple(resolutions)} if resolutions else {}
        super().__init__(ResNetArch(n_classes=n_classes, **kw), weights)

    nn_module = "hwopt.supernets._resnet_nn"
    weights_label = "ofa-resnet50"

    def _new_supernet(self):
        from hwopt.supernets._resnet_nn import OFAResNetSupernet

        return OFAResNetSupernet(self.arch)

    def export_options(self) -> dict[str, Any]:
        return {"n_classes": self.arch.n_classes, "resolutions": list(self.arch.resolutions)}

    def accuracy_data(self, data: str | None = None, subset: int | None = None, **options: Any):
        if not self.weights:
            raise ObjectiveError(
                f"accuracy on {self.name} needs the trained super-network: pass --weights PATH (the official "
                "ofa_resnet50_d=0+1+2_e=0.2+0.25+0.35_w=0.65+0.8+1.0 checkpoint); macs, params and latency work without")
        if not data:
            raise ObjectiveError(f"accuracy on {self.name} needs validation images: pass --data DIR "
                                 "(ImageNet layout DIR/val/<class>/*.JPEG, optional DIR/train for BN calibration)")
        from hwopt.supernets._data import ImageFolderData

        return ImageFolderData(data, subset=subset, n_classes=self.arch.n_classes, **options)
