"""Torch modules of the Once-for-All ResNet-50 super-network and its static sub-networks.

Parameter names equal OFA's ``OFAResNets`` (``input_stem.0.conv.conv.weight``,
``blocks.3.conv2.bn.bn.running_var``, ``classifier.linear.linear.weight`` ...), so the official
``ofa_resnet50_d=0+1+2_e=0.2+0.25+0.35_w=0.65+0.8+1.0`` checkpoint loads; static sub-networks use
the names of OFA's static ``ResNets`` (one ``conv``/``bn`` level less).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch.nn as nn

from hwopt.space import Config
from hwopt.supernets._extract import load_static
from hwopt.supernets.ofa_resnet import ResNetArch, active_blocks


def _conv_bn(c_in, c_out, k, stride, relu=True) -> nn.Sequential:
    mods = OrderedDict(conv=nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False), bn=nn.BatchNorm2d(c_out))
    if relu:
        mods["act"] = nn.ReLU()
    return nn.Sequential(mods)


class Residual(nn.Module):
    def __init__(self, conv: nn.Module):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return x + self.conv(x)


class Bottleneck(nn.Module):
    def __init__(self, c_in: int, mid: int, c_out: int, stride: int, identity: bool):
        super().__init__()
        self.conv1 = _conv_bn(c_in, mid, 1, 1)
        self.conv2 = _conv_bn(mid, mid, 3, stride)
        self.conv3 = _conv_bn(mid, c_out, 1, 1, relu=False)
        if identity:
            self.downsample = None
        else:
            self.downsample = nn.Sequential(OrderedDict(
                avg_pool=nn.AvgPool2d(stride, stride, 0, ceil_mode=True),
                conv=nn.Conv2d(c_in, c_out, 1, bias=False), bn=nn.BatchNorm2d(c_out)))
        self.final_act = nn.ReLU()

    def forward(self, x):
        res = x if self.downsample is None else self.downsample(x)
        return self.final_act(self.conv3(self.conv2(self.conv1(x))) + res)


class ResNet(nn.Module):
    def __init__(self, input_stem: list[nn.Module], blocks: list[nn.Module], classifier: nn.Module):
        super().__init__()
        self.input_stem = nn.ModuleList(input_stem)
        self.max_pooling = nn.MaxPool2d(3, 2, 1)
        self.blocks = nn.ModuleList(blocks)
        self.classifier = classifier

    def forward(self, x):
        for layer in self.input_stem:
            x = layer(x)
        x = self.max_pooling(x)
        for b in self.blocks:
            x = b(x)
        return self.classifier(x.mean(3).mean(2))


def static_subnet(arch: ResNetArch, config: Config) -> ResNet:
    """A freshly initialised static sub-network of ``config``."""
    stem_mid, stem_out, skip, blocks = active_blocks(arch, config)
    stem: list[nn.Module] = [_conv_bn(3, stem_mid, 3, 2)]
    if not skip:
        stem.append(Residual(_conv_bn(stem_mid, stem_mid, 3, 1)))
    stem.append(_conv_bn(stem_mid, stem_out, 3, 1))
    layers = [Bottleneck(c_in, mid, c_out, s, ident) for _, c_in, mid, c_out, s, ident in blocks]
    cls = nn.Sequential(OrderedDict(linear=nn.Linear(blocks[-1][3], arch.n_classes)))
    return ResNet(stem, layers, cls)


# --------------------------------------------------------------------------- super-network (OFA names)
class _Conv(nn.Module):  # OFA's DynamicConv2d: holds ``conv``
    def __init__(self, c_in, c_out, k=1, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False)


class _BN(nn.Module):  # OFA's DynamicBatchNorm2d: holds ``bn``
    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)


def _dyn_conv_bn(c_in, c_out, k=1, stride=1, relu=True) -> nn.Sequential:
    mods = OrderedDict(conv=_Conv(c_in, c_out, k, stride), bn=_BN(c_out))
    if relu:
        mods["act"] = nn.ReLU()
    return nn.Sequential(mods)


class _DynLayer(nn.Module):  # OFA's DynamicConvLayer: conv / bn / act attributes
    def __init__(self, c_in, c_out, k, stride):
        super().__init__()
        self.conv, self.bn, self.act = _Conv(c_in, c_out, k, stride), _BN(c_out), nn.ReLU()


class _DynBlock(nn.Module):
    def __init__(self, c_in, mid, c_out, stride, identity):
        super().__init__()
        self.conv1 = _dyn_conv_bn(c_in, mid)
        self.conv2 = _dyn_conv_bn(mid, mid, 3, stride)
        self.conv3 = _dyn_conv_bn(mid, c_out, relu=False)
        if not identity:
            self.downsample = nn.Sequential(OrderedDict(
                avg_pool=nn.AvgPool2d(stride, stride, 0, ceil_mode=True), conv=_Conv(c_in, c_out), bn=_BN(c_out)))
        self.final_act = nn.ReLU()


class _DynLinear(nn.Module):
    def __init__(self, c_in, n):
        super().__init__()
        self.linear = nn.Linear(c_in, n)


class OFAResNetSupernet(nn.Module):
    """Parameter container with OFA's names; sub-networks are extracted, not run in place."""

    def __init__(self, arch: ResNetArch):
        super().__init__()
        self.arch = arch
        mid, out = max(arch.stem_mid), max(arch.stem_out)
        self.input_stem = nn.ModuleList([_DynLayer(3, mid, 3, 2), Residual(_DynLayer(mid, mid, 3, 1)),
                                         _DynLayer(mid, out, 3, 1)])
        blocks, c_in = [], out
        for s, n in enumerate(arch.blocks_per_stage):
            c_out = max(arch.stage_widths[s])
            for j in range(n):
                stride = arch.strides[s] if j == 0 else 1
                blocks.append(_DynBlock(c_in, arch.mid_channels(c_out, max(arch.e_list)), c_out, stride,
                                        identity=stride == 1 and j > 0))
                c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.classifier = nn.Sequential(OrderedDict(linear=_DynLinear(c_in, arch.n_classes)))


def subnet_tensors(net: OFAResNetSupernet, config: Config) -> dict[str, Any]:
    """The static sub-network's state dict as slices of the super-network's tensors."""
    stem_mid, stem_out, skip, blocks = active_blocks(net.arch, config)
    sd: dict[str, Any] = {}

    def bn(prefix, b: nn.BatchNorm2d, c):
        for name in ("weight", "bias", "running_mean", "running_var"):
            sd[f"{prefix}.{name}"] = getattr(b, name)[:c]
        sd[f"{prefix}.num_batches_tracked"] = b.num_batches_tracked

    def layer(prefix, src, c_in, c_out):
        sd[f"{prefix}.conv.weight"] = src.conv.conv.weight[:c_out, :c_in]
        bn(f"{prefix}.bn", src.bn.bn, c_out)

    layer("input_stem.0", net.input_stem[0], 3, stem_mid)
    i = 1
    if not skip:
        layer("input_stem.1.conv", net.input_stem[1].conv, stem_mid, stem_mid)
        i = 2
    layer(f"input_stem.{i}", net.input_stem[2], stem_mid, stem_out)
    for k, (idx, c_in, mid, c_out, _s, ident) in enumerate(blocks):
        b, p = net.blocks[idx], f"blocks.{k}"
        layer(f"{p}.conv1", b.conv1, c_in, mid)
        layer(f"{p}.conv2", b.conv2, mid, mid)
        layer(f"{p}.conv3", b.conv3, mid, c_out)
        if not ident:
            sd[f"{p}.downsample.conv.weight"] = b.downsample.conv.conv.weight[:c_out, :c_in]
            bn(f"{p}.downsample.bn", b.downsample.bn.bn, c_out)
    lin = net.classifier.linear.linear
    sd["classifier.linear.weight"] = lin.weight[:, : blocks[-1][3]]
    sd["classifier.linear.bias"] = lin.bias
    return sd


def extract_subnet(net: OFAResNetSupernet, config: Config) -> ResNet:
    return load_static(static_subnet(net.arch, config), subnet_tensors(net, config))
