"""Analytic op graph of an elastic-MobileNetV3 sub-network (``ofa-mbv3``), without torch.

Mirrors ``hwopt.supernets._mbv3_nn.static_subnet`` op by op (tests compare it with the traced
module), so tables of thousands of OFA sub-networks get their graphs in milliseconds each.
"""

from __future__ import annotations

from typing import Any

from hwopt.hardware.graph._build import GraphBuilder
from hwopt.hardware.graph._ops import OpGraph


def mbv3_graph(space: Any, config: dict, batch_size: int = 1, dtype_bytes: int = 4) -> OpGraph:
    arch = space.arch
    cfg = space.space.validate(config)
    g = GraphBuilder(space.input_shape(cfg, batch_size), dtype_bytes)

    def act(x, name):
        return g.act(x, {"relu": "ReLU", "h_swish": "Hardswish", "h_sigmoid": "Hardsigmoid"}[name])

    def block(x, c_out, k, stride, mid, a, se_mid, expand, residual):
        y = act(g.bn(g.conv(x, mid, 1, pad=0)), a) if expand else x
        y = act(g.bn(g.conv(y, mid, k, stride=stride, groups=mid)), a)
        if se_mid > 0:
            s = g.mean(g.mean(y, 3), 2)
            s = g.act(g.conv(s, se_mid, 1, pad=0, bias=True))
            s = g.act(g.conv(s, mid, 1, pad=0, bias=True), "Hardsigmoid")
            y = g.mul(y, s)
        y = g.bn(g.conv(y, c_out, 1, pad=0))
        return g.add(x, y) if residual else y

    x = act(g.bn(g.conv(g.input, arch.stem, 3, stride=arch.stem_stride, pad=1)), "h_swish")
    x = block(x, arch.first_block, 3, 1, arch.stem, arch.first_act, 0, False, arch.stem == arch.first_block)
    for _, c_in, c_out, stride, k, e, a, se, res in arch.blocks(cfg):
        mid = arch.mid_channels(c_in, e)
        x = block(x, c_out, k, stride, mid, a, arch.se_channels(mid) if se else 0, True, res)
    x = act(g.bn(g.conv(x, arch.final_expand, 1, pad=0)), "h_swish")
    x = g.mean(g.mean(x, 3), 2)
    x = act(g.conv(x, arch.last_channel, 1, pad=0), "h_swish")
    return g.graph(g.linear(x, arch.n_classes))
