"""Standard reference networks to check the counters against published figures.

``mobilenet_v3_large()`` (Howard et al. 2019, Table 1: 219M MAdds, 5.4M params; torchvision
``mobilenet_v3_large``: 5,483,032 params) and ``resnet50()`` (He et al. 2016: 4.1 GFLOPs counted
as multiply-adds; torchvision: 25,557,032 params), both random-initialised, 1000 classes.
"""

from __future__ import annotations

from collections import OrderedDict

#: MobileNetV3-Large blocks (paper Table 1): kernel, expanded, out, SE, activation, stride
_MBV3_LARGE = (
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "h_swish", 2), (3, 200, 80, False, "h_swish", 1), (3, 184, 80, False, "h_swish", 1),
    (3, 184, 80, False, "h_swish", 1), (3, 480, 112, True, "h_swish", 1), (3, 672, 112, True, "h_swish", 1),
    (5, 672, 160, True, "h_swish", 2), (5, 960, 160, True, "h_swish", 1), (5, 960, 160, True, "h_swish", 1),
)


def mobilenet_v3_large(n_classes: int = 1000):
    """MobileNetV3-Large 1.0 at 224 px, built from the same static blocks as ``ofa-mbv3``."""
    import torch.nn as nn

    from hwopt.supernets._mbv3 import make_divisible
    from hwopt.supernets._mbv3_nn import MBConv, MobileNetV3, Residual, _act

    first = nn.Sequential(OrderedDict(conv=nn.Conv2d(3, 16, 3, 2, 1, bias=False), bn=nn.BatchNorm2d(16),
                                      act=_act("h_swish")))
    blocks, c_in = [], 16
    for k, mid, c_out, se, act, s in _MBV3_LARGE:
        se_mid = make_divisible(mid // 4) if se else 0
        blocks.append(Residual(MBConv(c_in, c_out, k, s, mid, act, se_mid, 1e-3, expand=mid != c_in),
                               s == 1 and c_in == c_out))
        c_in = c_out
    final = nn.Sequential(OrderedDict(conv=nn.Conv2d(160, 960, 1, bias=False), bn=nn.BatchNorm2d(960),
                                      act=_act("h_swish")))
    mix = nn.Sequential(OrderedDict(conv=nn.Conv2d(960, 1280, 1, bias=True), act=_act("h_swish")))
    cls = nn.Sequential(OrderedDict(dropout=nn.Dropout(0.2), linear=nn.Linear(1280, n_classes)))
    return MobileNetV3(first, blocks, final, mix, cls)


def resnet50(n_classes: int = 1000):
    """ResNet-50 v1.5 (stride on the 3x3 conv, as torchvision)."""
    import torch.nn as nn

    class Bottleneck(nn.Module):
        def __init__(self, c_in: int, mid: int, stride: int):
            super().__init__()
            c_out = mid * 4
            self.body = nn.Sequential(
                nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
            self.down = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.down(x))

    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                               nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for mid, n, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(n):
            layers.append(Bottleneck(c_in, mid, stride if i == 0 else 1))
            c_in = mid * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, n_classes)]
    return nn.Sequential(*layers)
