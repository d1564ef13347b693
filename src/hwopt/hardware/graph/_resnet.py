"""Analytic op graph of a Once-for-All ResNet-50 sub-network (``ofa-resnet50``), without torch.

Mirrors ``hwopt.supernets._resnet_nn.static_subnet`` op by op (a test compares it with the
traced module): a trace costs a few hundred milliseconds per sub-network, this about a
millisecond, so searches over the space get exact MACs / params and cost counts per candidate.
Like ofa-mbv3 it is a chain of segments (stem with max pooling, one per bottleneck, head).
"""

from __future__ import annotations

from typing import Any

from hwopt.hardware.graph._build import GraphBuilder, Tensor, chain_graph


def resnet_segments(space: Any, config: dict) -> list[tuple]:
    """Segment keys: ``("stem", mid, out, skip_middle)``, one ``("block", c_in, mid, c_out, stride,
    identity)`` per active bottleneck, ``("head", classes)``."""
    from hwopt.supernets.ofa_resnet import active_blocks

    stem_mid, stem_out, skip, blocks = active_blocks(space.arch, space.space.validate(config))
    return ([("stem", stem_mid, stem_out, skip)] + [("block", *b[1:]) for b in blocks]
            + [("head", space.arch.n_classes)])


def _conv_bn(g: GraphBuilder, x: Tensor, c_out: int, k: int, stride: int, relu: bool = True) -> Tensor:
    y = g.bn(g.conv(x, c_out, k, stride=stride))
    return g.act(y) if relu else y


def _segment(_space: Any, g: GraphBuilder, x: Tensor, seg: tuple) -> Tensor:
    if seg[0] == "stem":
        _, mid, out, skip = seg
        x = _conv_bn(g, x, mid, 3, 2)
        if not skip:
            x = g.add(x, _conv_bn(g, x, mid, 3, 1))
        x = _conv_bn(g, x, out, 3, 1)
        return g.pool(x, 3, 2, 1, detail="MaxPool2d")
    if seg[0] == "head":
        return g.linear(g.mean(g.mean(x, 3), 2), seg[1])
    _, c_in, mid, c_out, stride, identity = seg
    y = _conv_bn(g, _conv_bn(g, _conv_bn(g, x, mid, 1, 1), mid, 3, stride), c_out, 1, 1, relu=False)
    res = x if identity else g.bn(g.conv(g.pool(x, stride, stride, 0, ceil=True), c_out, 1, pad=0))
    return g.act(g.add(y, res))


resnet_graph, RESNET_SEGMENTS = chain_graph(resnet_segments, _segment)
