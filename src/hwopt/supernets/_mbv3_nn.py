"""Torch modules of the elastic MobileNetV3 (imported lazily by the spaces that use it).

Module and parameter names follow Once-for-All's, so official checkpoints load into
:class:`ElasticMobileNetV3` and OFA's static sub-network layout is what
:func:`static_subnet` / :func:`extract_subnet` produce.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from hwopt.space import Config
from hwopt.supernets._extract import load_static
from hwopt.supernets._mbv3 import MBV3Arch


def _act(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "h_swish": nn.Hardswish, "h_sigmoid": nn.Hardsigmoid}[name]()


# --------------------------------------------------------------------------- static sub-network
"""Module classes of the static sub-network (defined lazily: torch is optional)."""

class SE(nn.Module):
    """Squeeze-excite: channel means → 1x1 reduce → ReLU → 1x1 expand → h-sigmoid → scale."""

    def __init__(self, c: int, mid: int):
        super().__init__()
        self.fc = nn.Sequential(OrderedDict(
            reduce=nn.Conv2d(c, mid, 1, 1, 0, bias=True), relu=nn.ReLU(),
            expand=nn.Conv2d(mid, c, 1, 1, 0, bias=True), h_sigmoid=nn.Hardsigmoid()))

    def forward(self, x):
        return x * self.fc(x.mean(3, keepdim=True).mean(2, keepdim=True))

class MBConv(nn.Module):
    def __init__(self, c_in, c_out, k, stride, mid, act, se_mid, bn_eps, expand=True):
        super().__init__()
        if expand:  # OFA's first block (expand ratio 1) has no inverted bottleneck
            self.inverted_bottleneck = nn.Sequential(OrderedDict(
                conv=nn.Conv2d(c_in, mid, 1, 1, 0, bias=False), bn=nn.BatchNorm2d(mid, eps=bn_eps), act=_act(act)))
        else:
            self.inverted_bottleneck = None
        dw = OrderedDict(conv=nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
                         bn=nn.BatchNorm2d(mid, eps=bn_eps), act=_act(act))
        if se_mid > 0:
            dw["se"] = SE(mid, se_mid)
        self.depth_conv = nn.Sequential(dw)
        self.point_linear = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(mid, c_out, 1, 1, 0, bias=False), bn=nn.BatchNorm2d(c_out, eps=bn_eps)))

    def forward(self, x):
        if self.inverted_bottleneck is not None:
            x = self.inverted_bottleneck(x)
        return self.point_linear(self.depth_conv(x))

class Residual(nn.Module):
    def __init__(self, conv: nn.Module, residual: bool):
        super().__init__()
        self.conv = conv
        self.residual = residual

    def forward(self, x):
        y = self.conv(x)
        return x + y if self.residual else y

class MobileNetV3(nn.Module):
    """Static MobileNetV3 sub-network; state-dict names as OFA's static ``MobileNetV3``."""

    def __init__(self, first_conv, blocks, final_expand_layer, feature_mix_layer, classifier):
        super().__init__()
        self.first_conv = first_conv
        self.blocks = nn.ModuleList(blocks)
        self.final_expand_layer = final_expand_layer
        self.feature_mix_layer = feature_mix_layer
        self.classifier = classifier

    def forward(self, x):
        x = self.first_conv(x)
        for b in self.blocks:
            x = b(x)
        x = self.final_expand_layer(x)
        x = x.mean(3, keepdim=True).mean(2, keepdim=True)
        x = self.feature_mix_layer(x)
        return self.classifier(torch.flatten(x, 1))


def static_subnet(arch: MBV3Arch, config: Config):
    """A freshly initialised static sub-network of ``config`` (no weights inherited)."""
    eps = arch.bn_eps
    first = nn.Sequential(OrderedDict(
        conv=nn.Conv2d(arch.in_channels, arch.stem, 3, arch.stem_stride, 1, bias=False),
        bn=nn.BatchNorm2d(arch.stem, eps=eps), act=_act("h_swish")))
    blocks = [Residual(MBConv(arch.stem, arch.first_block, 3, 1, arch.stem, arch.first_act, 0, eps, expand=False),
                       arch.stem == arch.first_block)]
    for _, c_in, c_out, stride, k, e, act, se, res in arch.blocks(config):
        mid = arch.mid_channels(c_in, e)
        se_mid = arch.se_channels(mid) if se else 0
        blocks.append(Residual(MBConv(c_in, c_out, k, stride, mid, act, se_mid, eps), res))
    c_last = arch.widths[-1]
    final = nn.Sequential(OrderedDict(conv=nn.Conv2d(c_last, arch.final_expand, 1, bias=False),
                                      bn=nn.BatchNorm2d(arch.final_expand, eps=eps), act=_act("h_swish")))
    mix = nn.Sequential(OrderedDict(conv=nn.Conv2d(arch.final_expand, arch.last_channel, 1, bias=False),
                                    act=_act("h_swish")))
    cls = nn.Sequential(OrderedDict(dropout=nn.Dropout(arch.dropout), linear=nn.Linear(arch.last_channel, arch.n_classes)))
    return MobileNetV3(first, blocks, final, mix, cls)


# --------------------------------------------------------------------------- elastic super-network

class DynamicConv2d(nn.Module):
    """1x1 conv whose active input/output channels are the first ones."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, 1, 0, bias=False)

    def weight(self, c_out: int, c_in: int):
        return self.conv.weight[:c_out, :c_in]

    def forward(self, x, c_out: int):
        return F.conv2d(x, self.weight(c_out, x.size(1)))

class DynamicSeparableConv2d(nn.Module):
    """Depthwise conv with elastic kernel: centre crop then learned ``{big}to{small}_matrix``."""

    def __init__(self, c: int, ks_list: tuple[int, ...], stride: int):
        super().__init__()
        self.ks_set = sorted(set(ks_list))
        self.stride = stride
        kmax = self.ks_set[-1]
        self.conv = nn.Conv2d(c, c, kmax, stride, kmax // 2, groups=c, bias=False)
        for small, big in zip(self.ks_set[:-1], self.ks_set[1:]):
            self.register_parameter(f"{big}to{small}_matrix", nn.Parameter(torch.eye(small * small)))

    def weight(self, c: int, k: int):
        w = self.conv.weight[:c]
        for big, small in zip(reversed(self.ks_set[1:]), reversed(self.ks_set[:-1])):
            if big <= k:
                break
            a = (big - small) // 2
            crop = w[:, :, a:a + small, a:a + small].reshape(-1, small * small)
            w = F.linear(crop, getattr(self, f"{big}to{small}_matrix")).view(c, 1, small, small)
        return w

    def forward(self, x, k: int):
        c = x.size(1)
        return F.conv2d(x, self.weight(c, k), None, self.stride, k // 2, 1, c)

class DynamicBatchNorm2d(nn.Module):
    """BatchNorm over the first channels; running statistics of those channels are updated."""

    def __init__(self, c: int, eps: float):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=eps)

    def forward(self, x):
        c, bn = x.size(1), self.bn
        if bn.training and bn.track_running_stats:
            bn.num_batches_tracked += 1
        mom = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        return F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c],
                            bn.training, mom, bn.eps)

class DynamicSE(nn.Module):
    def __init__(self, c: int, arch: MBV3Arch):
        super().__init__()
        self.arch = arch
        mid = arch.se_channels(c)
        self.fc = nn.Sequential(OrderedDict(
            reduce=nn.Conv2d(c, mid, 1, 1, 0, bias=True), relu=nn.ReLU(),
            expand=nn.Conv2d(mid, c, 1, 1, 0, bias=True), h_sigmoid=nn.Hardsigmoid()))

    def forward(self, x):
        c = x.size(1)
        m = self.arch.se_channels(c)
        r, e = self.fc.reduce, self.fc.expand
        y = x.mean(3, keepdim=True).mean(2, keepdim=True)
        y = F.relu(F.conv2d(y, r.weight[:m, :c], r.bias[:m]))
        y = F.hardsigmoid(F.conv2d(y, e.weight[:c, :m], e.bias[:c]))
        return x * y

class DynamicMBConv(nn.Module):
    def __init__(self, c_in, c_out, stride, act, se, arch: MBV3Arch):
        super().__init__()
        self.arch, self.c_out = arch, c_out
        mid = arch.mid_channels(c_in, max(arch.e_list))
        self.inverted_bottleneck = nn.Sequential(OrderedDict(
            conv=DynamicConv2d(c_in, mid), bn=DynamicBatchNorm2d(mid, arch.bn_eps), act=_act(act)))
        dw = OrderedDict(conv=DynamicSeparableConv2d(mid, arch.ks_list, stride),
                         bn=DynamicBatchNorm2d(mid, arch.bn_eps), act=_act(act))
        if se:
            dw["se"] = DynamicSE(mid, arch)
        self.depth_conv = nn.Sequential(dw)
        self.point_linear = nn.Sequential(OrderedDict(conv=DynamicConv2d(mid, c_out),
                                                      bn=DynamicBatchNorm2d(c_out, arch.bn_eps)))

    def forward(self, x, k: int, e: float):
        ib, dw = self.inverted_bottleneck, self.depth_conv
        x = ib.act(ib.bn(ib.conv(x, self.arch.mid_channels(x.size(1), e))))
        x = dw.act(dw.bn(dw.conv(x, k)))
        if "se" in dw._modules:
            x = dw.se(x)
        return self.point_linear.bn(self.point_linear.conv(x, self.c_out))

class DynamicResidual(nn.Module):
    def __init__(self, conv, residual: bool):
        super().__init__()
        self.conv = conv
        self.residual = residual

    def forward(self, x, k, e):
        y = self.conv(x, k, e)
        return x + y if self.residual else y

class ElasticMobileNetV3(nn.Module):
    """The super-network; ``forward(x, config)`` runs the sub-network ``config``."""

    def __init__(self, arch: MBV3Arch):
        super().__init__()
        self.arch = arch
        base = static_subnet(arch, _max_config(arch))
        self.first_conv = base.first_conv
        blocks: list[nn.Module] = [base.blocks[0]]
        c_in = arch.first_block
        for s in range(arch.n_stages):
            for j in range(arch.max_depth):
                stride = arch.strides[s] if j == 0 else 1
                c_out = arch.widths[s]
                blocks.append(DynamicResidual(
                    DynamicMBConv(c_in, c_out, stride, arch.acts[s], arch.se[s], arch),
                    stride == 1 and c_in == c_out))
                c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.final_expand_layer = base.final_expand_layer
        self.feature_mix_layer = base.feature_mix_layer
        self.classifier = base.classifier

    def forward(self, x, config: Config):
        x = self.blocks[0](self.first_conv(x))
        for slot, *_, k, e, _act_name, _se, _res in self.arch.blocks(config):
            x = self.blocks[1 + slot](x, k, e)
        x = self.final_expand_layer(x)
        x = self.feature_mix_layer(x.mean(3, keepdim=True).mean(2, keepdim=True))
        return self.classifier(torch.flatten(x, 1))


def _max_config(arch: MBV3Arch) -> Config:
    n = arch.n_stages * arch.max_depth
    return {"ks": [max(arch.ks_list)] * n, "e": [max(arch.e_list)] * n, "d": [arch.max_depth] * arch.n_stages,
            "r": max(arch.resolutions)}


def elastic_supernet(arch: MBV3Arch):
    """A randomly initialised elastic super-network (OFA parameter names)."""
    return ElasticMobileNetV3(arch)


def subnet_tensors(supernet, config: Config) -> dict[str, Any]:
    """The static sub-network's state dict as slices of the super-network's tensors.

    Slices along the output channel share storage with the super-network; kernel-transformed
    depthwise filters are computed. Used by :func:`extract_subnet`.
    """
    arch: MBV3Arch = supernet.arch
    sd: dict[str, Any] = {}

    def put(prefix, module):
        for k, v in module.state_dict(keep_vars=True).items():
            sd[f"{prefix}.{k}"] = v

    def bn(prefix, dyn_bn, c):
        b = dyn_bn.bn
        for name in ("weight", "bias", "running_mean", "running_var"):
            sd[f"{prefix}.{name}"] = getattr(b, name)[:c]
        sd[f"{prefix}.num_batches_tracked"] = b.num_batches_tracked

    put("first_conv", supernet.first_conv)
    put("blocks.0", supernet.blocks[0])
    for i, (slot, c_in, c_out, _s, k, e, _a, se, _r) in enumerate(arch.blocks(config), start=1):
        blk = supernet.blocks[1 + slot].conv
        mid = arch.mid_channels(c_in, e)
        p = f"blocks.{i}.conv"
        ib, dw, pl = blk.inverted_bottleneck, blk.depth_conv, blk.point_linear
        sd[f"{p}.inverted_bottleneck.conv.weight"] = ib.conv.weight(mid, c_in)
        bn(f"{p}.inverted_bottleneck.bn", ib.bn, mid)
        sd[f"{p}.depth_conv.conv.weight"] = dw.conv.weight(mid, k)
        bn(f"{p}.depth_conv.bn", dw.bn, mid)
        if se:
            m = arch.se_channels(mid)
            r, x = dw.se.fc.reduce, dw.se.fc.expand
            sd[f"{p}.depth_conv.se.fc.reduce.weight"] = r.weight[:m, :mid]
            sd[f"{p}.depth_conv.se.fc.reduce.bias"] = r.bias[:m]
            sd[f"{p}.depth_conv.se.fc.expand.weight"] = x.weight[:mid, :m]
            sd[f"{p}.depth_conv.se.fc.expand.bias"] = x.bias[:mid]
        sd[f"{p}.point_linear.conv.weight"] = pl.conv.weight(c_out, mid)
        bn(f"{p}.point_linear.bn", pl.bn, c_out)
    put("final_expand_layer", supernet.final_expand_layer)
    put("feature_mix_layer", supernet.feature_mix_layer)
    put("classifier", supernet.classifier)
    return sd


def extract_subnet(supernet, config: Config):
    """A standalone static sub-network with weights copied from the super-network."""
    return load_static(static_subnet(supernet.arch, config), subnet_tensors(supernet, config))


def sort_channels(supernet) -> None:
    """Reorder each block's expanded channels by importance (L1 norm of the projection weights).

    As OFA's ``re_organize_middle_weights``: after this, the first channels of every elastic
    layer are the most important, so a smaller expand ratio keeps the best ones.
    """

    with torch.no_grad():
        for blk in list(supernet.blocks)[1:]:
            m = blk.conv
            imp = m.point_linear.conv.conv.weight.abs().sum(dim=(0, 2, 3))
            idx = torch.argsort(imp, descending=True)
            pw = m.point_linear.conv.conv.weight
            pw.copy_(pw[:, idx])
            if "se" in m.depth_conv._modules:
                se = m.depth_conv.se.fc
                se.reduce.weight.copy_(se.reduce.weight[:, idx])
                se.expand.weight.copy_(se.expand.weight[idx])
                se.expand.bias.copy_(se.expand.bias[idx])
            for t in (m.depth_conv.conv.conv.weight, m.inverted_bottleneck.conv.conv.weight):
                t.copy_(t[idx])
            for b in (m.depth_conv.bn.bn, m.inverted_bottleneck.bn.bn):
                for t in (b.weight, b.bias, b.running_mean, b.running_var):
                    t.copy_(t[idx])
