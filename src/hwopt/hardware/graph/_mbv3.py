"""Analytic op graph of an elastic-MobileNetV3 sub-network (``ofa-mbv3``, ``demo``), without torch.

Mirrors ``hwopt.supernets._mbv3_nn.static_subnet`` op by op (tests compare it with the traced
module), so tables of thousands of OFA sub-networks get their graphs in milliseconds each.
The graph is a chain of segments (stem, one per block, head) whose counts add up to the
whole graph's; a search that needs the counts of tens of thousands of candidates builds each
distinct segment once (:data:`MBV3_SEGMENTS`, used by ``hwopt.hardware._features.GraphRows``).
"""

from __future__ import annotations

from typing import Any

from hwopt.hardware.graph._build import GraphBuilder, Tensor, chain_graph

_ACTS = {"relu": "ReLU", "h_swish": "Hardswish", "h_sigmoid": "Hardsigmoid"}


def mbv3_segments(space: Any, config: dict) -> list[tuple]:
    """The sub-network as a chain of segment keys: ``("stem",)``, one ``("block", ...)`` per
    active block (its build arguments) and ``("head",)``."""
    arch = space.arch
    cfg = space.space.validate(config)
    segs: list[tuple] = [("stem",), ("block", arch.first_block, 3, 1, arch.stem, arch.first_act, 0, False,
                                     arch.stem == arch.first_block)]
    for _, c_in, c_out, stride, k, e, a, se, res in arch.blocks(cfg):
        mid = arch.mid_channels(c_in, e)
        segs.append(("block", c_out, k, stride, mid, a, arch.se_channels(mid) if se else 0, True, res))
    segs.append(("head",))
    return segs


def _segment(space: Any, g: GraphBuilder, x: Tensor, seg: tuple) -> Tensor:
    arch = space.arch
    if seg[0] == "stem":
        return g.act(g.bn(g.conv(x, arch.stem, 3, stride=arch.stem_stride, pad=1)), _ACTS["h_swish"])
    if seg[0] == "head":
        x = g.act(g.bn(g.conv(x, arch.final_expand, 1, pad=0)), _ACTS["h_swish"])
        x = g.mean(g.mean(x, 3), 2)
        x = g.act(g.conv(x, arch.last_channel, 1, pad=0), _ACTS["h_swish"])
        return g.linear(x, arch.n_classes)
    _, c_out, k, stride, mid, a, se_mid, expand, residual = seg
    y = g.act(g.bn(g.conv(x, mid, 1, pad=0)), _ACTS[a]) if expand else x
    y = g.act(g.bn(g.conv(y, mid, k, stride=stride, groups=mid)), _ACTS[a])
    if se_mid > 0:
        s = g.mean(g.mean(y, 3), 2)
        s = g.act(g.conv(s, se_mid, 1, pad=0, bias=True))
        s = g.act(g.conv(s, mid, 1, pad=0, bias=True), "Hardsigmoid")
        y = g.mul(y, s)
    y = g.bn(g.conv(y, c_out, 1, pad=0))
    return g.add(x, y) if residual else y


mbv3_graph, MBV3_SEGMENTS = chain_graph(mbv3_segments, _segment)
