"""Elastic MobileNetV3 super-network (Once-for-All layout) and its static sub-networks.

One implementation serves ``ofa-mbv3`` (the official OFA shapes; its parameter names equal the
official checkpoints', e.g. ``blocks.5.conv.depth_conv.conv.conv.weight`` and
``blocks.5.conv.depth_conv.conv.7to5_matrix``) and ``demo`` (a small instance on 8x8 digits).

A config is ``{"ks": [...], "e": [...], "d": [...], "r": R}`` with one ``ks``/``e`` entry per
block slot (``max(depth) * stages``) and one depth per stage, as in OFA and DyNAS-T tables.
The torch modules live in :mod:`hwopt.supernets._mbv3_nn` (imported only when a model is built).
Elastic dimensions follow OFA: kernel size by centre crop plus the learned ``7to5``/``5to3``
transform matrices, expand ratio by keeping the first channels (sorted by importance during
training, see :func:`sort_channels`), depth by keeping the first blocks of each stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwopt.errors import SpaceError
from hwopt.space import Categorical, Config, SearchSpace


def make_divisible(v: float, divisor: int = 8, min_val: int | None = None) -> int:
    """Round ``v`` to a multiple of ``divisor``, never more than 10% down (TF MobileNet rule)."""
    min_val = divisor if min_val is None else min_val
    new_v = max(min_val, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


@dataclass(frozen=True)
class MBV3Arch:
    """Shapes of an elastic MobileNetV3: stem, a fixed first block, elastic stages, head."""

    stem: int
    first_block: int
    widths: tuple[int, ...]
    strides: tuple[int, ...]
    acts: tuple[str, ...]
    se: tuple[bool, ...]
    final_expand: int
    last_channel: int
    n_classes: int
    ks_list: tuple[int, ...] = (3, 5, 7)
    e_list: tuple[int, ...] = (3, 4, 6)
    d_list: tuple[int, ...] = (2, 3, 4)
    resolutions: tuple[int, ...] = (224,)
    in_channels: int = 3
    stem_stride: int = 2
    first_act: str = "relu"
    divisor: int = 8
    dropout: float = 0.1
    bn_eps: float = 1e-5

    @property
    def n_stages(self) -> int:
        return len(self.widths)

    @property
    def max_depth(self) -> int:
        return max(self.d_list)

    def mid_channels(self, c_in: int, e: float) -> int:
        return make_divisible(round(c_in * e), self.divisor)

    def se_channels(self, mid: int) -> int:
        return make_divisible(mid // 4, self.divisor)

    def search_space(self, name: str) -> SearchSpace:
        n, md = self.n_stages, self.max_depth
        when = f"i % {md} < d[i // {md}]"
        return SearchSpace([
            Categorical("ks", list(self.ks_list), ordered=True, length=n * md, active_when=when),
            Categorical("e", list(self.e_list), ordered=True, length=n * md, active_when=when),
            Categorical("d", list(self.d_list), ordered=True, length=n),
            Categorical("r", list(self.resolutions), ordered=True),
        ], name=name)

    def blocks(self, config: Config) -> list[tuple[int, int, int, int, int, float, str, bool, bool]]:
        """Active elastic blocks: (slot, c_in, c_out, stride, k, e, act, se, residual)."""
        out, c_in = [], self.first_block
        md = self.max_depth
        for s in range(self.n_stages):
            d = int(config["d"][s])
            for j in range(d):
                slot = s * md + j
                k, e = config["ks"][slot], config["e"][slot]
                if k is None or e is None:
                    raise SpaceError(f"block {slot} is active (d[{s}]={d}) but ks/e is None")
                stride = self.strides[s] if j == 0 else 1
                c_out = self.widths[s]
                out.append((slot, c_in, c_out, stride, int(k), float(e), self.acts[s], self.se[s],
                            stride == 1 and c_in == c_out))
                c_in = c_out
        return out
