"""OpGraph from an ONNX file, using ONNX shape inference for every intermediate tensor.

A symbolic batch dimension is set to ``batch_size``. Shape-only ops (Reshape, Flatten, Shape,
Gather on shapes, Identity, Dropout, Constant, Squeeze/Unsqueeze) are free: runtimes alias or
fold them. Ops that copy a data tensor into a new layout (Transpose, Slice, Gather, Expand,
Cast, Concat, Pad, Split) are memory ops — ONNX Runtime runs each as a kernel that reads and
writes its output (a transformer's attention transposes counted as free made its latency look
half what it is). Convolutions of any rank (also transposed and the int8 ``ConvInteger`` /
``QLinearConv``), matrix products (also ``MatMulInteger`` / ``QLinearMatMul``), LSTM / GRU / RNN
layers and Einsum are counted from their shapes; any other op is an element-wise kernel.
"""

from __future__ import annotations

import math
from pathlib import Path

from hwopt.errors import ConfigError, require
from hwopt.hardware.graph._ops import Op, OpGraph, conv_op, eltwise_op, gemm_op, numel, pool_op, rnn_op

_FREE = {"Reshape", "Flatten", "Shape", "Identity", "Dropout", "Constant", "Squeeze", "Unsqueeze",
         "ConstantOfShape", "Range"}
#: ops that copy a data tensor into a new layout (on shape data they are free, like every op there)
_COPY = {"Concat", "Pad", "Split", "Transpose", "Slice", "Gather", "Expand", "Cast"}
_POOL = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
_NORM = {"BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization"}
#: convolutions: input index of the weight, and the input count above which there is a bias
_CONV = {"Conv": (1, 2), "ConvTranspose": (1, 2), "ConvInteger": (1, 4), "QLinearConv": (3, 8)}
#: matrix products: input index of the second operand (int8 models use the integer variants)
_MATMUL = {"Gemm": 1, "MatMul": 1, "MatMulInteger": 1, "QLinearMatMul": 3}
#: recurrent layers: gates per hidden unit
_RNN_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def from_onnx(path: str | Path, batch_size: int = 1, dtype_bytes: int = 4) -> OpGraph:
    onnx = require("onnx")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ONNX file {str(path)!r} does not exist")
    try:
        model = onnx.load(str(path))
        for inp in model.graph.input:
            dims = inp.type.tensor_type.shape.dim
            if dims and not dims[0].HasField("dim_value"):
                dims[0].dim_value = batch_size
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"cannot read ONNX file {str(path)!r}: {first}") from None
    g = model.graph
    if not g.node:
        raise ConfigError(f"ONNX file {str(path)!r} has no operators")
    shapes: dict[str, tuple[int, ...]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        tt = vi.type.tensor_type
        if tt.HasField("shape") and all(d.HasField("dim_value") for d in tt.shape.dim):
            shapes[vi.name] = tuple(d.dim_value for d in tt.shape.dim)
    inits = {t.name: tuple(t.dims) for t in g.initializer}
    for node in g.node:  # exporters share equal weights (fresh LayerNorm scales) through Identity nodes
        if node.op_type == "Identity" and node.input and node.input[0] in inits:
            inits[node.output[0]] = inits[node.input[0]]
    graph_inputs = [i.name for i in g.input if i.name not in inits]
    producer: dict[str, tuple[str, ...]] = {n: () for n in graph_inputs}
    ops: list[Op] = []
    shape_data: set[str] = set()  # tensors computed from Shape: index arithmetic, free
    for k, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{k}"
        data_in = [i for i in node.input if i and i not in inits and i in producer]
        ins = tuple(dict.fromkeys(p for i in data_in for p in producer[i]))
        out = node.output[0] if node.output else ""
        oshape = shapes.get(out)
        ishape = shapes.get(data_in[0]) if data_in else None
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        op = None
        t = node.op_type
        if t == "Shape" or (data_in and all(i in shape_data for i in data_in)) or (
                t == "Constant" or (not data_in and t not in ("Conv", "Gemm", "MatMul"))):
            shape_data.update(node.output)
        elif t in _FREE or oshape is None:
            pass
        elif t in _CONV and ishape:
            w_at, bias_at = _CONV[t]
            w = inits.get(node.input[w_at]) or shapes.get(node.input[w_at])
            ks = tuple(w[2:]) if w else tuple(attrs.get("kernel_shape", (1,)))
            op = conv_op(name, ishape, oshape, ks, int(attrs.get("group", 1)), len(node.input) > bias_at,
                         ins, dtype_bytes, transposed=t == "ConvTranspose")
        elif t in _MATMUL:
            b_at = _MATMUL[t]
            a = shapes.get(node.input[0]) or inits.get(node.input[0])
            b = inits.get(node.input[b_at]) or shapes.get(node.input[b_at])
            if a and b:
                kdim = a[-1] if not attrs.get("transA") else a[-2]
                ndim = b[-1] if not attrs.get("transB") else b[-2]
                weight = node.input[b_at] in inits
                op = gemm_op(name, numel(oshape[:-1]) if weight else oshape[-2], kdim, ndim, weight,
                             t == "Gemm" and len(node.input) > 2, ins, 1 if weight else numel(oshape[:-2]),
                             dtype_bytes)
        elif t in _RNN_GATES and ishape:
            op = (_rnn_op(name, t, node, attrs, ishape, inits, ins, dtype_bytes)  # shapes unread: still a kernel
                  or _elementwise(name, t, node, oshape, data_in, inits, ins, dtype_bytes))
        elif t == "Einsum":
            op = (_einsum_op(name, attrs, [shapes.get(i) or inits.get(i) for i in node.input], oshape,
                             [i for i in node.input if i in inits], inits, ins, dtype_bytes)
                  or _elementwise(name, t, node, oshape, data_in, inits, ins, dtype_bytes))
        elif t in _POOL and ishape:
            op = pool_op(name, ishape, oshape, max(numel(ishape) // max(numel(oshape), 1), 1), ins, dtype_bytes, t)
        elif t in _NORM:
            op = eltwise_op(name, oshape, 1, ins, 2.0, "norm", dtype_bytes=dtype_bytes, detail=t,
                            weight_elems=sum(numel(inits[i]) for i in node.input[1:3] if i in inits))
        elif t in ("Softmax", "LogSoftmax"):
            op = eltwise_op(name, oshape, 1, ins, 5.0, "softmax", dtype_bytes=dtype_bytes)
        elif t in ("ReduceMean", "ReduceSum", "ReduceMax") and ishape:
            op = Op(name, "reduce", float(numel(ishape)), numel(ishape) * dtype_bytes, numel(oshape) * dtype_bytes,
                    0.0, ins, t)
        elif t in _COPY:
            table = numel(inits[node.input[0]]) if t == "Gather" and node.input[0] in inits else 0  # embedding
            op = Op(name, "memory", 0.0, numel(oshape) * dtype_bytes, numel(oshape) * dtype_bytes, 0.0, ins, t,
                    table_bytes=table * dtype_bytes)
        else:
            op = _elementwise(name, t, node, oshape, data_in, inits, ins, dtype_bytes)
        for o in node.output:
            producer[o] = (name,) if op is not None else ins
        if op is not None:
            ops.append(op)
    outputs = tuple(dict.fromkeys(p for o in g.output for p in producer.get(o.name, ())))
    in_bytes = sum(numel(shapes.get(n, ())) * dtype_bytes for n in graph_inputs)
    return OpGraph(ops, outputs, in_bytes, dtype_bytes, {"tracer": "onnx"})


def _elementwise(name: str, t: str, node, oshape, data_in: list[str], inits: dict, ins, dtype_bytes: int) -> Op:
    """Any other op: one FLOP per output element, reading its data inputs and weights."""
    weights = [numel(inits[i]) for i in node.input if i in inits and numel(inits[i]) > 1]  # not scalars
    return eltwise_op(name, oshape, max(len(data_in), 1), ins, 1.0, dtype_bytes=dtype_bytes, detail=t,
                      weight_elems=sum(weights))


def _rnn_op(name: str, t: str, node, attrs: dict, x_shape, inits: dict, ins, dtype_bytes: int) -> Op | None:
    """LSTM / GRU / RNN from its input ``[steps, batch, input]`` (``layout=1``: batch first) and
    weight ``[directions, gates * hidden, input]``."""
    w = inits.get(node.input[1])
    if not w or len(w) != 3 or len(x_shape) != 3:
        return None
    steps, batch = (x_shape[1], x_shape[0]) if attrs.get("layout") else (x_shape[0], x_shape[1])
    dirs, gated, n_in = w
    bias = len(node.input) > 3 and bool(node.input[3])
    return rnn_op(name, steps, batch, n_in, gated // _RNN_GATES[t], _RNN_GATES[t], dirs, 1, bias, ins, dtype_bytes)


def _einsum_op(name: str, attrs: dict, in_shapes: list, oshape, weights: list[str], inits: dict, ins,
               dtype_bytes: int) -> Op | None:
    """Einsum: 2 FLOPs per point of the joint index space when an index is summed over (a batched
    matrix product, as in attention), one per output element otherwise."""
    eq = attrs.get("equation", b"")
    eq = (eq.decode() if isinstance(eq, bytes) else str(eq)).replace(" ", "")
    if "->" not in eq or "." in eq or any(s is None for s in in_shapes):
        return None
    lhs, out = eq.split("->")
    size: dict[str, int] = {}
    for term, shape in zip(lhs.split(","), in_shapes):
        if len(term) != len(shape):
            return None
        size.update(zip(term, (int(d) for d in shape)))
    points = math.prod(size.values())
    contracted = set(size) - set(out)
    reads = sum(numel(s) for s in in_shapes)
    w_elems = sum(numel(inits[i]) for i in weights)
    return Op(name, "gemm" if contracted else "eltwise", (2.0 if contracted else 1.0) * points,
              (reads - w_elems) * dtype_bytes, numel(oshape) * dtype_bytes, w_elems * dtype_bytes, ins,
              f"einsum {eq}", macs=float(points) if contracted else 0.0)
