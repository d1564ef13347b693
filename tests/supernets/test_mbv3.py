"""Elastic MobileNetV3: weight inheritance, kernel transform, channel sorting, OFA key layout."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hwopt.supernets._mbv3 import MBV3Arch, make_divisible  # noqa: E402
from hwopt.supernets._mbv3_nn import (  # noqa: E402
    elastic_supernet, extract_subnet, sort_channels, static_subnet, subnet_tensors,
)

ARCH = MBV3Arch(stem=8, first_block=8, widths=(16, 24), strides=(2, 2), acts=("relu", "h_swish"), se=(False, True),
                final_expand=32, last_channel=48, n_classes=5, ks_list=(3, 5, 7), e_list=(2, 4), d_list=(1, 2),
                resolutions=(16, 20), in_channels=1, stem_stride=1)
CFG = {"ks": [5, 3, 3, None], "e": [2, 4, 4, None], "d": [2, 1], "r": 20}


@pytest.fixture()
def net():
    torch.manual_seed(0)
    n = elastic_supernet(ARCH)
    with torch.no_grad():  # make every elastic mechanism matter: non-identity transforms, BN stats
        for name, p in n.named_parameters():
            if name.endswith("_matrix"):
                p.add_(0.1 * torch.randn_like(p))
        for m in n.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    return n.eval()


def test_make_divisible_rounds_like_tf():
    assert make_divisible(19.2) == 24  # would lose >10% at 16
    assert make_divisible(240 * 1.0) == 240
    assert make_divisible(3) == 8


def test_subnet_equals_supernet_forward(net):
    sub = extract_subnet(net, CFG)
    x = torch.randn(3, 1, 20, 20)
    with torch.no_grad():
        assert torch.allclose(net(x, CFG), sub(x), atol=1e-6)


def test_inherited_weights_have_subnet_shapes_and_share_storage(net):
    tensors = subnet_tensors(net, CFG)
    fresh = static_subnet(ARCH, CFG).state_dict()
    assert tensors.keys() == fresh.keys()
    for k, v in tensors.items():
        assert tuple(v.shape) == tuple(fresh[k].shape), k
    # channel slices are views of the super-network's storage (no copy), kernel transforms are not
    pw = net.blocks[1].conv.point_linear.conv.conv.weight
    sliced = tensors["blocks.1.conv.point_linear.conv.weight"]
    assert sliced.untyped_storage().data_ptr() == pw.untyped_storage().data_ptr()
    mid = ARCH.mid_channels(8, 2)
    assert tuple(tensors["blocks.1.conv.depth_conv.conv.weight"].shape) == (mid, 1, 5, 5)
    # the built sub-network owns copies: training it leaves the super-network untouched
    sub = extract_subnet(net, CFG)
    with torch.no_grad():
        sub.blocks[1].conv.point_linear.conv.weight.add_(1.0)
    assert torch.equal(sliced, pw[: sliced.shape[0], : sliced.shape[1]])


def test_kernel_transform_uses_centre_and_matrices(net):
    dw = net.blocks[1].conv.depth_conv.conv
    c = 4
    w3 = dw.weight(c, 3)
    # by hand: 7 -> centre 5x5 -> matrix, -> centre 3x3 -> matrix
    w = dw.conv.weight[:c]
    w5 = torch.nn.functional.linear(w[:, :, 1:6, 1:6].reshape(-1, 25), getattr(dw, "7to5_matrix")).view(c, 1, 5, 5)
    ref = torch.nn.functional.linear(w5[:, :, 1:4, 1:4].reshape(-1, 9), getattr(dw, "5to3_matrix")).view(c, 1, 3, 3)
    assert torch.allclose(w3, ref)
    assert torch.equal(dw.weight(c, 7), w)


def test_sort_channels_keeps_function_and_orders_importance(net):
    x = torch.randn(2, 1, 20, 20)
    full = {"ks": [7] * 4, "e": [4] * 4, "d": [2, 2], "r": 20}
    with torch.no_grad():
        before = net(x, full)
        sort_channels(net)
        after = net(x, full)
    assert torch.allclose(before, after, atol=1e-5)
    imp = net.blocks[2].conv.point_linear.conv.conv.weight.abs().sum(dim=(0, 2, 3))
    assert torch.all(imp[:-1] >= imp[1:])


def test_ofa_state_dict_layout():
    from hwopt.supernets.ofa import ofa_mbv3_arch

    with torch.device("meta"):
        sd = elastic_supernet(ofa_mbv3_arch(1.0)).state_dict()
    for key, shape in {
        "first_conv.conv.weight": (16, 3, 3, 3),
        "blocks.0.conv.depth_conv.conv.weight": (16, 1, 3, 3),
        "blocks.1.conv.inverted_bottleneck.conv.conv.weight": (96, 16, 1, 1),
        "blocks.1.conv.depth_conv.conv.conv.weight": (96, 1, 7, 7),
        "blocks.1.conv.depth_conv.conv.7to5_matrix": (25, 25),
        "blocks.1.conv.depth_conv.conv.5to3_matrix": (9, 9),
        "blocks.5.conv.depth_conv.se.fc.reduce.weight": (40, 144, 1, 1),
        "blocks.20.conv.point_linear.bn.bn.running_var": (160,),
        "final_expand_layer.conv.weight": (960, 160, 1, 1),
        "feature_mix_layer.conv.weight": (1280, 960, 1, 1),
        "classifier.linear.weight": (1000, 1280),
    }.items():
        assert tuple(sd[key].shape) == shape, key
    assert not any(k.startswith("blocks.21.") for k in sd)
