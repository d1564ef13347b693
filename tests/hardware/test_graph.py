"""Operator graph: FLOP/byte counts of known operators, fusion, pruning, builders agree."""

from __future__ import annotations

import numpy as np
import pytest

from hwopt.hardware.graph import GraphBuilder, OpGraph
from hwopt.hardware.graph._ops import conv_op, gemm_op, pool_op


def test_conv_counts():
    op = conv_op("c", (2, 16, 32, 32), (2, 32, 16, 16), (3, 3), 1, False, ())
    assert op.kind == "conv"
    assert op.flops == 2 * (2 * 32 * 16 * 16) * 16 * 9
    assert op.weight_bytes == 32 * 16 * 9 * 4
    assert op.read_bytes == 2 * 16 * 32 * 32 * 4
    assert op.write_bytes == 2 * 32 * 16 * 16 * 4
    assert op.intensity == pytest.approx(op.flops / (op.read_bytes + op.write_bytes + op.weight_bytes))


def test_depthwise_and_pointwise_counts():
    dw = conv_op("d", (1, 64, 8, 8), (1, 64, 8, 8), (5, 5), 64, True, ())
    assert dw.kind == "dwconv"
    assert dw.flops == 2 * 64 * 8 * 8 * 25 + 64 * 8 * 8  # MACs * 2 + bias add
    assert dw.weight_bytes == (64 * 25 + 64) * 4
    pw = conv_op("p", (1, 64, 8, 8), (1, 128, 8, 8), (1, 1), 1, False, ())
    assert pw.kind == "conv1x1" and pw.flops == 2 * 128 * 64 * 64


def test_linear_and_matmul_counts():
    lin = gemm_op("l", 8, 512, 1000, True, True, ())
    assert lin.flops == 2 * 8 * 512 * 1000 + 8 * 1000
    assert lin.weight_bytes == (512 * 1000 + 1000) * 4
    assert lin.read_bytes == 8 * 512 * 4
    mm = gemm_op("m", 128, 64, 128, False, False, (), batch=12, read_elems=12 * 128 * 64 * 2)
    assert mm.flops == 2 * 12 * 128 * 64 * 128 and mm.weight_bytes == 0


def test_pool_counts():
    p = pool_op("p", (1, 16, 32, 32), (1, 16, 32, 32), 9, ())
    assert p.flops == 16 * 32 * 32 * 9 and p.kind == "pool"


def _chain() -> OpGraph:
    g = GraphBuilder((1, 8, 16, 16))
    x = g.act(g.bn(g.conv(g.input, 8, 3)))
    y = g.bn(g.conv(x, 8, 3))
    return g.graph(g.add(x, y))


def test_fusion_merges_elementwise_into_single_consumer_producer():
    g = _chain()
    f = g.fused()
    assert [o.kind for o in g.ops] == ["conv", "norm", "eltwise", "conv", "norm", "eltwise"]
    # conv+bn+relu fuse; the second conv absorbs bn and the residual add (x has two consumers so
    # the first chain ends at the relu)
    assert [o.kind for o in f.ops] == ["conv", "conv"]
    assert f.flops == pytest.approx(g.flops)
    assert f.ops[1].read_bytes == pytest.approx(g.ops[3].read_bytes + 8 * 16 * 16 * 4)
    assert sum(o.bytes for o in f.ops) < sum(o.bytes for o in g.ops)


def test_pruning_drops_zero_branches_and_dead_ops():
    g = GraphBuilder((1, 4, 8, 8))
    a = g.conv(g.input, 4, 3)
    z = g.zero(a)
    g.conv(g.input, 4, 3)  # a dead op: its result is never used
    out = g.add(a, z)
    graph = g.graph(out)
    p = graph.pruned()
    assert len(p.ops) == 2 and p.ops[1].flops == 0  # the add of a zero is folded
    assert graph.output_depends_on_input()
    g2 = GraphBuilder((1, 4, 8, 8))
    assert not g2.graph(g2.zero(g2.conv(g2.input, 4, 3))).output_depends_on_input()


def test_peak_activation_memory():
    g = GraphBuilder((1, 4, 8, 8))
    a = g.conv(g.input, 4, 3)
    b = g.conv(a, 4, 3)
    graph = g.graph(g.conv(b, 4, 3))
    t = 4 * 8 * 8 * 4
    assert graph.peak_activation_bytes() == 2 * t  # never more than input + one output alive


@pytest.mark.parametrize("space_name,config", [
    ("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"),
    ("nb201", "|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|"),
    ("fbnet", "k5_e6-skip-k3_e1_g2-k5_e1-k3_e3-skip-k5_e3-k3_e6-k5_e1_g2-k3_e1-skip-k5_e6-k3_e3-k3_e1-skip-k5_e6-"
              "k5_e3-k3_e1_g2-skip-k3_e6-k5_e1-skip"),
])
def test_analytic_graph_equals_traced_graph(space_name, config):
    pytest.importorskip("torch")
    from hwopt.hardware.graph import from_torch
    from hwopt.supernets import get_space

    space = get_space(space_name)
    cfg = space.parse_config(config)
    traced = from_torch(space.build(cfg), space.input_shape(cfg, 2))
    analytic = space.op_graph(cfg, 2)
    for f in (lambda g: g, lambda g: g.fused(), lambda g: g.pruned().fused()):
        a, b = f(traced), f(analytic)
        assert a.by_class() == b.by_class()
        assert a.peak_activation_bytes() == b.peak_activation_bytes()
    import torch

    n_params = sum(p.numel() for p in space.build(cfg).parameters())
    assert traced.weight_bytes == analytic.weight_bytes == 4 * n_params
    with torch.no_grad():
        out = space.build(cfg).eval()(torch.zeros(space.input_shape(cfg, 2)))
    assert out.shape == (2, space.num_classes)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_onnx_graph_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from hwopt.hardware.graph import from_onnx, from_torch
    from hwopt.supernets import get_space

    space = get_space("fbnet")
    cfg = space.space.sample(1, seed=3)[0]
    model = space.build(cfg).eval()
    path = tmp_path / "m.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "b"}})
    a = from_torch(model, (4, 3, 32, 32)).fused()
    b = from_onnx(path, batch_size=4).fused()
    conv_kinds = ("conv", "conv1x1", "dwconv", "gemm")
    for k in conv_kinds:  # BN is folded by the exporter; convs and GEMMs agree exactly
        assert a.by_class()[k]["count"] == b.by_class()[k]["count"]
    assert a.flops == pytest.approx(b.flops, rel=0.05)  # BN FLOPs exist only in the torch graph
    assert len(a.ops) == len(b.ops)


@pytest.mark.parametrize("name", ["ofa-mbv3", "ofa-resnet50", "demo", "transformer"])
def test_supernet_analytic_graph_equals_traced_graph(name):
    pytest.importorskip("torch")
    from hwopt.hardware._features import graph_builder
    from hwopt.hardware.graph import from_torch
    from hwopt.supernets import get_space

    space = get_space(name)
    build = graph_builder(space)
    for cfg in space.space.sample(2, seed=5):
        traced = from_torch(space.architecture(cfg), space.input_shape(cfg, 1))
        analytic = build(cfg, 1)
        assert analytic.meta["tracer"] == "analytic"
        for f in (lambda g: g, lambda g: g.fused(), lambda g: g.pruned().fused()):
            assert f(traced).by_class() == f(analytic).by_class()
        assert traced.weight_bytes == analytic.weight_bytes
        assert traced.peak_activation_bytes() == analytic.peak_activation_bytes()


def test_parameters_layer_norms_and_shape_reads_in_torch_and_onnx_graphs(tmp_path):
    """A learned position tensor counts as weights, a LayerNorm's weights are its normalized
    shape's (not a channel count), and reading a tensor's shape is no data dependency."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    import torch.nn as nn

    from hwopt.evaluators import count_params
    from hwopt.hardware.graph import from_onnx, from_torch

    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.pos = nn.Linear(4, 8), nn.Parameter(torch.randn(1, 5, 8))
            self.ln1, self.ln2 = nn.LayerNorm(8), nn.LayerNorm(8)

        def forward(self, x):
            y = self.ln1(self.fc(x) + self.pos)
            b, t, _ = y.shape
            return self.ln2(y * 2.0).reshape(b, t * 8)

    model = Tokens().eval()
    traced = from_torch(model, (2, 5, 4))
    assert traced.meta["tracer"] == "torch.fx"
    assert traced.weight_bytes / 4 == count_params(model) == 4 * 8 + 8 + 40 + 2 * 16
    last = traced.ops[-1]
    assert last.detail == "LayerNorm" and traced.outputs == (last.name,)
    assert [o.inputs for o in traced.ops if o.detail == "mul"] == [(traced.ops[2].name,)]  # ln1 only
    path = tmp_path / "t.onnx"
    torch.onnx.export(model, torch.zeros(2, 5, 4), str(path), dynamo=False, input_names=["x"])
    assert from_onnx(path, batch_size=2).weight_bytes / 4 == count_params(model)


def _onnx_graph(tmp_path, node, inputs, inits, out_type="f"):
    """OpGraph of a one-node ONNX model (inputs: name -> (element type, shape))."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from hwopt.hardware.graph import from_onnx

    types = {"f": TensorProto.FLOAT, "u8": TensorProto.UINT8, "i32": TensorProto.INT32}
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, types[t], s) for n, (t, s) in inputs.items()],
                          [helper.make_tensor_value_info(node.output[0], types[out_type], None)],
                          [numpy_helper.from_array(v, k) for k, v in inits.items()])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return from_onnx(path)


def test_onnx_convolutions_of_any_rank_recurrent_layers_einsum_and_int8_ops_are_counted(tmp_path):
    """Each is one kernel whose MACs follow from its shapes (before: all but Conv2d / Gemm / MatMul
    were element-wise ops of a few FLOPs, and a 3-D kernel lost its depth)."""
    from onnx import helper

    z, u8 = np.float32, np.uint8
    cases = [  # node, inputs, initializers, expected (kind, MACs)
        (helper.make_node("ConvTranspose", ["x", "w"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
         {"x": ("f", ["N", 8, 16, 16])}, {"w": np.zeros((8, 4, 2, 2), z)}, ("conv", 8 * 16 * 16 * 4 * 4)),
        (helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3, 3], pads=[1] * 6),
         {"x": ("f", [1, 4, 8, 8, 8])}, {"w": np.zeros((6, 4, 3, 3, 3), z)}, ("conv", 6 * 512 * 4 * 27)),
        (helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[5], pads=[2, 2]),
         {"x": ("f", [1, 4, 100])}, {"w": np.zeros((8, 4, 5), z)}, ("conv", 8 * 100 * 4 * 5)),
        (helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1], group=2),
         {"x": ("f", [1, 8, 4, 4])}, {"w": np.zeros((8, 4, 1, 1), z)}, ("dwconv", 8 * 16 * 4)),
        (helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], pads=[1] * 4, group=8),
         {"x": ("f", [1, 8, 4, 4])}, {"w": np.zeros((8, 1, 3, 3), z)}, ("dwconv", 8 * 16 * 9)),
        (helper.make_node("LSTM", ["x", "W", "R"], ["Y"], hidden_size=32),
         {"x": ("f", [10, 2, 16])}, {"W": np.zeros((1, 128, 16), z), "R": np.zeros((1, 128, 32), z)},
         ("gemm", 10 * 2 * 128 * (16 + 32))),
        (helper.make_node("Einsum", ["q", "k"], ["s"], equation="bhqd,bhkd->bhqk"),
         {"q": ("f", [2, 4, 16, 8]), "k": ("f", [2, 4, 16, 8])}, {}, ("gemm", 2 * 4 * 16 * 16 * 8)),
        (helper.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"], kernel_shape=[3, 3],
                          pads=[1] * 4),
         {"x": ("u8", [1, 8, 16, 16])},
         {"xs": np.array(0.1, z), "xz": np.array(0, u8), "w": np.zeros((16, 8, 3, 3), u8), "ws": np.array(0.1, z),
          "wz": np.array(0, u8), "ys": np.array(0.1, z), "yz": np.array(0, u8)}, ("conv", 16 * 256 * 8 * 9)),
        (helper.make_node("MatMulInteger", ["a", "b"], ["y"]),
         {"a": ("u8", [1, 12, 32])}, {"b": np.zeros((32, 64), u8)}, ("gemm", 12 * 32 * 64)),
    ]
    out_types = {"QLinearConv": "u8", "MatMulInteger": "i32"}
    for node, inputs, inits, (kind, macs) in cases:
        ops = _onnx_graph(tmp_path, node, inputs, inits, out_types.get(node.op_type, "f")).ops
        assert [(o.kind, o.macs) for o in ops] == [(kind, macs)], node.op_type


def test_torch_convolutions_of_any_rank_recurrent_layers_and_attention_are_counted():
    """Conv1d / Conv3d / ConvTranspose2d / a 2-layer bidirectional LSTM / nn.MultiheadAttention:
    MACs from their shapes, weights equal to the parameter count (before: element-wise ops or,
    for the modules returning tuples, nothing)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from hwopt.hardware.graph import from_torch

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c3 = nn.Conv1d(4, 8, 5, padding=2), nn.Conv3d(2, 4, 3, padding=1)
            self.ct, self.lstm = nn.ConvTranspose2d(8, 4, 2, stride=2), nn.LSTM(16, 32, num_layers=2, bidirectional=True)
            self.att = nn.MultiheadAttention(16, 2, batch_first=True)

        def forward(self, x):
            y, _ = self.lstm(torch.zeros(10, 2, 16))
            t = torch.zeros(3, 12, 16)
            a, _ = self.att(t, t, t)
            return (self.c1(x).sum() + self.c3(torch.zeros(1, 2, 4, 4, 4)).sum()
                    + self.ct(torch.zeros(1, 8, 8, 8)).sum() + y.sum() + a.sum())

    net = Net()
    ops = [o for o in from_torch(net, (1, 4, 100)).ops if o.macs]
    lstm = 10 * 2 * 2 * 4 * 32 * (16 + 32) + 10 * 2 * 2 * 4 * 32 * (64 + 32)
    assert sorted((o.kind, o.macs) for o in ops) == sorted([
        ("conv", 8 * 100 * 4 * 5), ("conv", 4 * 64 * 2 * 27), ("conv", 8 * 64 * 4 * 4), ("gemm", lstm),
        ("gemm", 3 * (4 * 12 * 16 * 16 + 2 * 12 * 12 * 16))])
    assert sum(o.weight_bytes for o in ops) == 4 * sum(p.numel() for p in net.parameters())


def test_an_embedding_table_is_model_weight_but_a_lookup_reads_only_its_rows(tmp_path):
    """nn.Embedding / an ONNX Gather on an initializer: the table counts in the model's weights
    (memory estimates), its bytes moved are the rows looked up (before: the table was missing from
    the weights, or in ONNX read in full by nobody)."""
    torch = pytest.importorskip("torch")
    from torch import nn

    from hwopt.hardware.graph import from_onnx, from_torch

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.fc = nn.Embedding(1000, 32), nn.Linear(32, 4)

        def forward(self, x):
            return self.fc(self.emb(x.long())).mean(1)

    net = Net().eval()
    params = sum(p.numel() for p in net.parameters())
    path = tmp_path / "emb.onnx"
    torch.onnx.export(net, (torch.zeros(2, 7),), str(path), dynamo=False)
    for g in (from_torch(net, (2, 7)), from_onnx(path)):
        assert g.weight_bytes == 4 * params
        lookup = next(o for o in g.ops if o.table_bytes)
        assert lookup.table_bytes == 4 * 1000 * 32 and lookup.bytes == 2 * 4 * (2 * 7 * 32)


def test_compute_depth_counts_convolutions_on_the_shallowest_and_deepest_paths():
    """NB201 network: stem conv, 3 x 5 cells, two residual reduction blocks (two convolutions on
    the main path, one on the shortcut), classifier. A cell with a skip from input to output and
    three convolutions in series adds 0 / 3 per cell; a cell whose output sees no input has none."""
    from hwopt.supernets import get_space

    sp = get_space("nb201")

    def depth(arch):
        return sp.op_graph(sp.parse_config(arch)).compute_depth()

    assert depth("|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|") == (
        1 + 15 * 0 + 2 * 1 + 1, 1 + 15 * 3 + 2 * 2 + 1)
    assert depth("|skip_connect~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|") == (4, 6)
    assert depth("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|") == (0, 0)
