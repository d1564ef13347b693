"""NAS-Bench-201 cell networks (CIFAR size) as PyTorch models, plus their analytic op graph.

The network is the one of NAS-Bench-201 / HW-NAS-Bench: a 3x3 conv stem (16 channels), three
stages of 5 identical cells at 16/32/64 channels and 32/16/8 pixels, joined by residual
reduction blocks, then BN-ReLU, global average pooling and a linear classifier. Edge ops:
``nor_conv_kxk`` = ReLU-Conv-BN, ``avg_pool_3x3`` (stride 1, pad 1), ``skip_connect`` =
identity, ``none`` = ``x * 0``. Weights are random: this space serves cost models (and
training from scratch), not pretrained accuracy.
"""

from __future__ import annotations

from typing import Any

from hwopt.space import Config
from hwopt.supernets._base import ImageModelSpace
from hwopt.supernets._cells import NB201_EDGES, arch_to_config, nb201_space

_CHANNELS = (16, 32, 64)
_CELLS_PER_STAGE = 5


class NB201Space(ImageModelSpace):
    """The 15,625 NAS-Bench-201 cells; configs are ``{"ops": [6 edge ops]}`` or arch strings."""

    name = "nb201"
    description = "NAS-Bench-201 cell network (CIFAR, 3x5 cells, 16/32/64 channels)"
    default_objectives = ("latency:min",)

    def __init__(self, num_classes: int = 10, resolution: int = 32):
        super().__init__(nb201_space(), num_classes, resolution)

    def parse_config(self, obj: Any) -> Config:
        if isinstance(obj, str) and not obj.strip().startswith("{"):
            return arch_to_config(obj)
        return super().parse_config(obj)

    def build(self, config: Config):
        return _build_model(list(config["ops"]), self.num_classes)

    def op_graph(self, config: Config, batch_size: int = 1, dtype_bytes: int = 4):
        """The graph ``from_torch(self.build(config))`` gives, built without torch."""
        from hwopt.hardware.graph import GraphBuilder

        ops = list(config["ops"])
        g = GraphBuilder(self.input_shape(config, batch_size), dtype_bytes)
        x = g.bn(g.conv(g.input, _CHANNELS[0], 3))
        for s, c in enumerate(_CHANNELS):
            if s > 0:  # residual reduction block
                r = g.conv(g.pool(x, 2, 2, 0), c, 1, pad=0)
                a = g.bn(g.conv(g.act(x), c, 3, stride=2, pad=1))
                b = g.bn(g.conv(g.act(a), c, 3))
                x = g.add(r, b)
            for _ in range(_CELLS_PER_STAGE):
                nodes = [x]
                for i in (1, 2, 3):
                    acc = None
                    for k, (j, t) in enumerate(NB201_EDGES):
                        if t != i:
                            continue
                        out = _edge_graph(g, ops[k], nodes[j])
                        acc = out if acc is None else g.add(acc, out)
                    nodes.append(acc)
                x = nodes[3]
        x = g.act(g.bn(x))
        x = g.linear(g.global_pool(x), self.num_classes)
        return g.graph(x)


def _edge_graph(g, op: str, x):
    if op == "none":
        return g.zero(x)
    if op == "skip_connect":
        return x
    if op == "avg_pool_3x3":
        return g.pool(x, 3, 1, 1)
    k = 1 if op == "nor_conv_1x1" else 3
    return g.bn(g.conv(g.act(x), x[1][1], k))


def _build_model(ops: list[str], num_classes: int):
    import torch.nn as nn

    class ReLUConvBN(nn.Sequential):
        def __init__(self, c_in, c_out, k, stride, pad):
            super().__init__(nn.ReLU(inplace=False), nn.Conv2d(c_in, c_out, k, stride, pad, bias=False),
                             nn.BatchNorm2d(c_out))

    class Zero(nn.Module):
        def forward(self, x):
            return x.mul(0.0)

    def edge(op: str, c: int) -> nn.Module:
        if op == "none":
            return Zero()
        if op == "skip_connect":
            return nn.Identity()
        if op == "avg_pool_3x3":
            return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
        k = 1 if op == "nor_conv_1x1" else 3
        return ReLUConvBN(c, c, k, 1, k // 2)

    class Cell(nn.Module):
        def __init__(self, c: int):
            super().__init__()
            self.edges = nn.ModuleList(edge(o, c) for o in ops)

        def forward(self, x):
            nodes = [x]
            for i in (1, 2, 3):
                acc = None
                for k, (j, t) in enumerate(NB201_EDGES):
                    if t == i:
                        out = self.edges[k](nodes[j])
                        acc = out if acc is None else acc + out
                nodes.append(acc)
            return nodes[3]

    class ResBlock(nn.Module):
        def __init__(self, c_in: int, c_out: int):
            super().__init__()
            self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
            self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
            self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False))

        def forward(self, x):
            return self.downsample(x) + self.conv_b(self.conv_a(x))

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            layers: list[nn.Module] = []
            for s, c in enumerate(_CHANNELS):
                if s > 0:
                    layers.append(ResBlock(_CHANNELS[s - 1], c))
                layers.extend(Cell(c) for _ in range(_CELLS_PER_STAGE))
            self.stem = nn.Sequential(nn.Conv2d(3, _CHANNELS[0], 3, padding=1, bias=False),
                                      nn.BatchNorm2d(_CHANNELS[0]))
            self.cells = nn.Sequential(*layers)
            self.lastact = nn.Sequential(nn.BatchNorm2d(_CHANNELS[-1]), nn.ReLU(inplace=False))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(_CHANNELS[-1], num_classes)

        def forward(self, x):
            x = self.lastact(self.cells(self.stem(x)))
            return self.classifier(self.pool(x).view(x.size(0), -1))

    return Network()
