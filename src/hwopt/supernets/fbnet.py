"""The FBNet space of HW-NAS-Bench (CIFAR-100 size) as PyTorch models, plus its analytic op graph.

22 searchable layers arranged as FBNet-v1: stages of ``[1,4,4,4,4,4,1]`` layers with output
channels ``[16,24,32,64,112,184,352]`` and CIFAR strides ``[1,1,2,2,1,2,1]`` (stride on a stage's
first layer), a 3x3 stem of 16 channels (stride 1), a 1x1 head of 1504 channels, global pooling
and a linear classifier. Layer choices (HW-NAS-Bench ``PRIMITIVES`` order): ``k{3,5}_e{1,3,6}``
inverted-bottleneck blocks (1x1 expand - kxk depthwise - 1x1 project, BN after each conv, ReLU
after the first two, residual add when shapes match), ``_g2`` with 2-group 1x1 convs, and
``skip`` (identity, or a 1x1 conv + BN projection where the shape changes). The channel shuffle
of grouped blocks is a reshape/transpose and is counted as free. Weights are random.
"""

from __future__ import annotations

import json
from typing import Any

from hwopt.errors import SpaceError
from hwopt.space import Categorical, Config, SearchSpace
from hwopt.supernets._base import ImageModelSpace

FBNET_OPS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
_STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
_STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
_STAGE_STRIDES = (1, 1, 2, 2, 1, 2, 1)
_STEM, _HEAD = 16, 1504


def _layers() -> list[tuple[int, int, int]]:
    """(c_in, c_out, stride) of the 22 searchable layers."""
    out, c_in = [], _STEM
    for n, c, s in zip(_STAGE_LAYERS, _STAGE_CHANNELS, _STAGE_STRIDES):
        for i in range(n):
            out.append((c_in, c, s if i == 0 else 1))
            c_in = c
    return out


def _parse_op(op: str) -> tuple[int, int, int]:
    """``k5_e6_g2`` -> (kernel 5, expansion 6, groups 2)."""
    parts = op.split("_")
    return int(parts[0][1:]), int(parts[1][1:]), (2 if len(parts) > 2 else 1)


class FBNetSpace(ImageModelSpace):
    """FBNet space of HW-NAS-Bench; configs ``{"ops": [22 names]}``, ``k5_e6-skip-...`` or op indices."""

    name = "fbnet"
    description = "FBNet space as in HW-NAS-Bench (CIFAR-100, 22 layers x 9 choices)"
    default_objectives = ("latency:min",)

    def __init__(self, num_classes: int = 100, resolution: int = 32):
        super().__init__(SearchSpace([Categorical("ops", list(FBNET_OPS), length=22)], name="fbnet"),
                         num_classes, resolution)

    def parse_config(self, obj: Any) -> Config:
        if isinstance(obj, str) and "-" in obj and not obj.strip().startswith(("{", "[")):
            obj = {"ops": obj.strip().split("-")}
        elif isinstance(obj, str) and obj.strip().startswith("["):
            obj = json.loads(obj)
        if isinstance(obj, list):
            try:
                obj = {"ops": [FBNET_OPS[int(i)] for i in obj]}
            except (ValueError, IndexError):
                raise SpaceError(f"FBNet op indices must be integers 0-{len(FBNET_OPS) - 1}: {obj!r}") from None
        return super().parse_config(obj)

    def build(self, config: Config):
        return _build_model(list(config["ops"]), self.num_classes)

    def op_graph(self, config: Config, batch_size: int = 1, dtype_bytes: int = 4):
        """The graph ``from_torch(self.build(config))`` gives, built without torch."""
        from hwopt.hardware.graph import GraphBuilder

        g = GraphBuilder(self.input_shape(config, batch_size), dtype_bytes)
        x = g.input
        for seg in self.graph_segments(config):
            x = self._segment(g, x, seg)
        return g.graph(x)

    def graph_segments(self, config: Config) -> list[tuple]:
        """The graph as a chain of segment keys (stem, one per layer, head) whose counts add up."""
        ops = self.space.validate(config)["ops"]
        return [("stem",)] + [("layer", op, *shape) for op, shape in zip(ops, _layers())] + [("head",)]

    def segment_graph(self, seg: tuple, input_shape: tuple[int, ...], dtype_bytes: int = 4):
        """One segment on its own and its output shape."""
        from hwopt.hardware.graph._build import segment_graph

        return segment_graph(self._segment, seg, input_shape, dtype_bytes)

    def _segment(self, g, x, seg: tuple):
        if seg[0] == "stem":
            return g.act(g.bn(g.conv(x, _STEM, 3)))
        if seg[0] == "head":
            x = g.act(g.bn(g.conv(x, _HEAD, 1, pad=0)))
            return g.linear(g.global_pool(x), self.num_classes)
        _, op, c_in, c_out, s = seg
        if op == "skip":
            return g.bn(g.conv(x, c_out, 1, stride=s, pad=0)) if c_in != c_out or s != 1 else x
        k, e, groups = _parse_op(op)
        mid = c_in * e
        y = g.act(g.bn(g.conv(x, mid, 1, pad=0, groups=groups)))
        y = g.act(g.bn(g.conv(y, mid, k, stride=s, groups=mid)))
        y = g.bn(g.conv(y, c_out, 1, pad=0, groups=groups))
        return g.add(x, y) if (c_in == c_out and s == 1) else y


def _build_model(ops: list[str], num_classes: int):
    import torch.nn as nn

    def cbr(c_in, c_out, k, stride=1, groups=1, relu=True):
        mods = [nn.Conv2d(c_in, c_out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
        return nn.Sequential(*(mods + [nn.ReLU(inplace=False)] if relu else mods))

    class Shuffle(nn.Module):
        def __init__(self, groups: int):
            super().__init__()
            self.groups = groups

        def forward(self, x):
            n, c, h, w = x.size()
            return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    class IRF(nn.Module):
        def __init__(self, c_in, c_out, stride, k, e, groups):
            super().__init__()
            mid = c_in * e
            self.residual = c_in == c_out and stride == 1
            layers = [cbr(c_in, mid, 1, groups=groups)]
            if groups > 1:
                layers.append(Shuffle(groups))
            layers += [cbr(mid, mid, k, stride, groups=mid), cbr(mid, c_out, 1, groups=groups, relu=False)]
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            y = self.body(x)
            return x + y if self.residual else y

    blocks: list[nn.Module] = []
    for op, (c_in, c_out, s) in zip(ops, _layers()):
        if op == "skip":
            blocks.append(nn.Identity() if (c_in == c_out and s == 1) else cbr(c_in, c_out, 1, s, relu=False))
        else:
            k, e, groups = _parse_op(op)
            blocks.append(IRF(c_in, c_out, s, k, e, groups))
    return nn.Sequential(
        cbr(3, _STEM, 3), *blocks, cbr(_STAGE_CHANNELS[-1], _HEAD, 1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(_HEAD, num_classes),
    )
