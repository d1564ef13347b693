"""OpGraph from an ONNX file, using ONNX shape inference for every intermediate tensor.

A symbolic batch dimension is set to ``batch_size``. Shape-only ops (Reshape, Flatten, Shape,
Gather on shapes, Identity, Dropout, Constant, Squeeze/Unsqueeze) are free: runtimes alias or
fold them. Ops that copy a data tensor into a new layout (Transpose, Slice, Gather, Expand,
Cast, Concat, Pad, Split) are memory ops — ONNX Runtime runs each as a kernel that reads and
writes its output (a transformer's attention transposes counted as free made its latency look
half what it is).
"""

from __future__ import annotations

from pathlib import Path

from hwopt.errors import ConfigError, require
from hwopt.hardware.graph._ops import Op, OpGraph, conv_op, eltwise_op, gemm_op, numel, pool_op

_FREE = {"Reshape", "Flatten", "Shape", "Identity", "Dropout", "Constant", "Squeeze", "Unsqueeze",
         "ConstantOfShape", "Range"}
#: ops that copy a data tensor into a new layout (on shape data they are free, like every op there)
_COPY = {"Concat", "Pad", "Split", "Transpose", "Slice", "Gather", "Expand", "Cast"}
_POOL = {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}
_NORM = {"BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization"}


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
        dims = vi.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
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
        elif t == "Conv" and ishape:
            w = inits.get(node.input[1]) or shapes.get(node.input[1])
            ks = tuple(w[2:]) if w else tuple(attrs.get("kernel_shape", (1, 1)))
            op = conv_op(name, ishape, oshape, (ks + (1, 1))[:2], int(attrs.get("group", 1)), len(node.input) > 2,
                         ins, dtype_bytes)
        elif t in ("Gemm", "MatMul"):
            a = shapes.get(node.input[0]) or inits.get(node.input[0])
            b = inits.get(node.input[1]) or shapes.get(node.input[1])
            if a and b:
                kdim = a[-1] if not attrs.get("transA") else a[-2]
                ndim = b[-1] if not attrs.get("transB") else b[-2]
                weight = node.input[1] in inits
                op = gemm_op(name, numel(oshape[:-1]) if weight else oshape[-2], kdim, ndim, weight,
                             len(node.input) > 2, ins, 1 if weight else numel(oshape[:-2]), dtype_bytes)
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
            op = Op(name, "memory", 0.0, numel(oshape) * dtype_bytes, numel(oshape) * dtype_bytes, 0.0, ins, t)
        else:
            weights = [numel(inits[i]) for i in node.input if i in inits and numel(inits[i]) > 1]  # not scalars
            op = eltwise_op(name, oshape, max(len(data_in), 1), ins, 1.0, dtype_bytes=dtype_bytes, detail=t,
                            weight_elems=sum(weights))
        for o in node.output:
            producer[o] = (name,) if op is not None else ins
        if op is not None:
            ops.append(op)
    outputs = tuple(dict.fromkeys(p for o in g.output for p in producer.get(o.name, ())))
    in_bytes = sum(numel(shapes.get(n, ())) * dtype_bytes for n in graph_inputs)
    return OpGraph(ops, outputs, in_bytes, dtype_bytes, {"tracer": "onnx"})
