"""MAC / parameter counting: hand-computed layers, conventions, published reference networks."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from hwopt.errors import ConfigError  # noqa: E402
from hwopt.evaluators import count_macs, count_params  # noqa: E402


@pytest.mark.parametrize("groups", [1, 2, 8])
def test_conv_grouped_and_depthwise(groups):
    conv = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=groups, bias=True)
    # output 16 x 5 x 5, each output element: 8/groups * 3 * 3 multiply-adds; bias is free
    assert count_macs(conv, (1, 8, 10, 10)) == 16 * 25 * (8 // groups) * 9
    assert count_params(conv) == 16 * (8 // groups) * 9 + 16


def test_depthwise_conv():
    conv = nn.Conv2d(12, 12, 5, padding=2, groups=12, bias=False)
    assert count_macs(conv, (2, 12, 7, 7)) == 2 * 12 * 49 * 25


def test_linear_and_batched_matmul():
    lin = nn.Linear(20, 30)
    assert count_macs(lin, (4, 20)) == 4 * 20 * 30
    assert count_macs(lin, (2, 5, 20)) == 2 * 5 * 20 * 30


class Attention(nn.Module):
    def __init__(self, d: int, heads: int, fused: bool):
        super().__init__()
        self.qkv, self.out, self.heads, self.fused = nn.Linear(d, 3 * d), nn.Linear(d, d), heads, fused

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        if self.fused:
            y = nn.functional.scaled_dot_product_attention(q, k, v)
        else:
            y = (q @ k.transpose(-1, -2)).softmax(-1) @ v
        return self.out(y.transpose(1, 2).reshape(b, t, d))


@pytest.mark.parametrize("fused", [False, True])
def test_attention(fused):
    b, t, d, h = 2, 7, 16, 4
    expected = b * t * d * 3 * d + b * h * t * t * (d // h) * 2 + b * t * d * d
    assert count_macs(Attention(d, h, fused), (b, t, d)) == expected


def test_squeeze_excite_counts_its_convs_only():
    from hwopt.supernets._mbv3_nn import SE

    se = SE(32, 8)
    assert count_macs(se, (1, 32, 6, 6)) == 32 * 8 + 8 * 32
    assert count_params(se) == 32 * 8 + 8 + 8 * 32 + 32


def test_fvcore_convention_adds_norm_and_pool():
    m = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(4, 2, bias=False), nn.LayerNorm(2))
    base = 4 * 3 * 25 + 4 * 2
    assert count_macs(m, (1, 3, 5, 5)) == base
    assert count_macs(m, (1, 3, 5, 5), "fvcore") == base + 2 * 100 + 100 + 5 * 2
    with pytest.raises(ConfigError, match="valid: dynast, fvcore"):
        count_macs(m, (1, 3, 5, 5), "thop")


def test_counting_leaves_module_intact():
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    before = {k: v.clone() for k, v in m.state_dict().items()}
    count_macs(m, (1, 3, 8, 8))
    assert m.training
    for k, v in m.state_dict().items():
        assert torch.equal(v, before[k]) and v.device.type == "cpu"


@pytest.mark.parametrize("name, macs, params", [
    ("mobilenet_v3_large", 217e6, 5_483_032),  # TF-slim MobileNetV3 README; torchvision params
    ("resnet50", 4.1e9, 25_557_032),  # He et al. 2016 (multiply-adds); torchvision params
])
def test_reference_networks_within_one_percent(name, macs, params):
    from hwopt.supernets import reference

    with torch.device("meta"):
        model = getattr(reference, name)()
    assert abs(count_macs(model, (1, 3, 224, 224)) / macs - 1) < 0.01
    assert abs(count_params(model) / params - 1) < 0.01
