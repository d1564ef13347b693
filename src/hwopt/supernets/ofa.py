"""Once-for-All MobileNetV3 super-networks (w1.0, w1.2), loading the official checkpoints.

The parameter names and shapes equal those of OFA's ``OFAMobileNetV3`` (kernel sizes 3/5/7,
expand ratios 3/4/6, depths 2/3/4), so ``--weights ofa_mbv3_d234_e346_k357_w1.0`` (the file
OFA's model zoo downloads) loads directly. Without weights the super-network is randomly
initialised (seed 0): MACs, params, latency and export work; accuracy is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hwopt.errors import ObjectiveError, SpaceError
from hwopt.supernets._base import WeightSharingSpace
from hwopt.supernets._mbv3 import MBV3Arch, make_divisible

WIDTHS = (1.0, 1.2)
OFA_RESOLUTIONS = tuple(range(128, 225, 4))


def ofa_mbv3_arch(width: float = 1.0, n_classes: int = 1000, resolutions: tuple[int, ...] = OFA_RESOLUTIONS) -> MBV3Arch:
    """Shapes of ``OFAMobileNetV3(width_mult=width, ks_list=[3,5,7], expand_ratio_list=[3,4,6], depth_list=[2,3,4])``."""
    base = (16, 16, 24, 40, 80, 112, 160)
    w = [make_divisible(b * width) for b in base]
    return MBV3Arch(
        stem=w[0], first_block=w[1], widths=tuple(w[2:]), strides=(2, 2, 2, 1, 2),
        acts=("relu", "relu", "h_swish", "h_swish", "h_swish"), se=(False, True, False, True, True),
        final_expand=make_divisible(960 * width), last_channel=make_divisible(1280 * width), n_classes=n_classes,
        ks_list=(3, 5, 7), e_list=(3, 4, 6), d_list=(2, 3, 4), resolutions=tuple(resolutions),
    )


class OFAMobileNetV3Space(WeightSharingSpace):
    """OFA MobileNetV3; configs ``{"ks": [20], "e": [20], "d": [5], "r": R}`` as in OFA / DyNAS-T."""

    name = "ofa-mbv3"
    description = "Once-for-All MobileNetV3 (w1.0 / w1.2; --weights loads the official checkpoint)"
    default_objectives = ("accuracy:max", "latency:min")
    default_budget = 50

    def __init__(self, width: float = 1.0, weights: str | Path | None = None, n_classes: int = 1000,
                 resolutions: tuple[int, ...] | list[int] | None = None):
        try:
            width = float(width)
        except (TypeError, ValueError):
            width = -1.0
        if width not in WIDTHS:
            raise SpaceError(f"ofa-mbv3 width must be one of {', '.join(map(str, WIDTHS))}, got {width!r}")
        self.width = width
        super().__init__(ofa_mbv3_arch(width, n_classes, tuple(resolutions or OFA_RESOLUTIONS)), weights)

    nn_module = "hwopt.supernets._mbv3_nn"

    @property
    def weights_label(self) -> str:
        return f"ofa-mbv3 w{self.width}"

    def _new_supernet(self):
        from hwopt.supernets._mbv3_nn import elastic_supernet

        return elastic_supernet(self.arch)

    def export_options(self) -> dict[str, Any]:
        return {"width": self.width, "n_classes": self.arch.n_classes, "resolutions": list(self.arch.resolutions)}

    def accuracy_data(self, data: str | None = None, subset: int | None = None, **options: Any):
        if not self.weights:
            raise ObjectiveError(
                f"accuracy on {self.name} needs the trained super-network: pass --weights PATH "
                f"(the official ofa_mbv3_d234_e346_k357_w{self.width} checkpoint); macs, params and latency work without")
        if not data:
            raise ObjectiveError(f"accuracy on {self.name} needs validation images: pass --data DIR "
                                 "(ImageNet layout DIR/val/<class>/*.JPEG, optional DIR/train for BN calibration)")
        from hwopt.supernets._data import ImageFolderData

        return ImageFolderData(data, subset=subset, n_classes=self.arch.n_classes, **options)
