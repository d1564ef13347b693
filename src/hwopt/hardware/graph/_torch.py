"""OpGraph from a ``torch.nn.Module`` via ``torch.fx`` symbolic tracing and shape propagation.

Leaf modules (Conv2d, Linear, BatchNorm, activations, pools) and functional calls (``+``,
``x.mul(0.)``, ``torch.cat``, ``F.relu`` ...) become :class:`Op` records; shape-only calls
(view, flatten, getitem, Identity, Dropout) are free and rewired through; reading a tensor's
``shape`` / ``size()`` is not a data dependency (it would keep the tensor alive in the peak-memory
walk and block fusion); a parameter used directly (a learned position embedding added to the
input) counts as the using op's weights. Models that
fx cannot trace fall back to forward hooks on leaf modules (functional adds are then missed,
which the returned graph's ``meta['tracer']`` records).
"""

from __future__ import annotations

import operator
from typing import Any

from hwopt.errors import ConfigError, require
from hwopt.hardware.graph._ops import Op, OpGraph, conv_op, eltwise_op, gemm_op, numel, pool_op, rnn_op

_FREE_METHODS = {"view", "reshape", "flatten", "size", "contiguous", "permute", "transpose", "squeeze",
                 "unsqueeze", "expand", "dim", "type", "to", "float", "detach", "clone_", "chunk", "split"}
_ELT_METHODS = {"add", "add_", "mul", "mul_", "sub", "div", "relu", "relu_", "sigmoid", "tanh", "clamp",
                "clamp_", "pow", "exp", "neg", "abs", "sqrt", "rsqrt", "masked_fill"}


def from_torch(module: Any, input_shape: tuple[int, ...], dtype_bytes: int = 4) -> OpGraph:
    """Trace ``module`` on a zero input of ``input_shape`` (batch included) in eval mode."""
    torch = require("torch")
    fx = require("torch.fx")
    from torch.fx.passes.shape_prop import ShapeProp

    module = module.eval()
    x = torch.zeros(*input_shape)
    try:
        gm = fx.symbolic_trace(module)
        with torch.no_grad():
            ShapeProp(gm).propagate(x)
    except Exception:  # noqa: BLE001 - dynamic control flow; use hooks instead
        return _from_hooks(module, x, dtype_bytes)
    return _from_fx(gm, input_shape, dtype_bytes)


def _shape(node) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta")
    if meta is None or not hasattr(meta, "shape"):
        return None
    return tuple(int(s) for s in meta.shape)


def _rnn(name: str, m, in_shape, inputs, dtype_bytes: int) -> Op:
    """An ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` on an input of ``in_shape`` (unbatched: 2-D)."""
    shape = tuple(in_shape) if len(in_shape) == 3 else (in_shape[0], 1, in_shape[1])
    steps, batch = (shape[1], shape[0]) if m.batch_first and len(in_shape) == 3 else (shape[0], shape[1])
    gates = {"LSTM": 4, "GRU": 3}.get(m.mode, 1)
    return rnn_op(name, steps, batch, m.input_size, m.hidden_size, gates, 2 if m.bidirectional else 1,
                  m.num_layers, m.bias, inputs, dtype_bytes)


def _attention(name: str, m, q_shape, k_shape, inputs, dtype_bytes: int) -> Op:
    """An ``nn.MultiheadAttention`` (a leaf module, its output a tuple): the query, key, value and
    output projections and the two batched products (scores, weighted values), as one GEMM-class
    kernel group: ``b * (2 L E^2 + S (kdim + vdim) E + 2 L S E)`` MACs."""
    def batch_length(shape) -> tuple[int, int]:
        if len(shape) == 2:  # unbatched
            return 1, int(shape[0])
        return (int(shape[0]), int(shape[1])) if m.batch_first else (int(shape[1]), int(shape[0]))

    b, q_len = batch_length(q_shape)
    s_len = batch_length(k_shape)[1]
    e = m.embed_dim
    macs = b * (2 * q_len * e * e + s_len * (m.kdim + m.vdim) * e + 2 * q_len * s_len * e)
    params = sum(p.numel() for p in m.parameters())
    return Op(name, "gemm", 2.0 * macs, b * (q_len + 2 * s_len) * e * dtype_bytes, b * q_len * e * dtype_bytes,
              params * dtype_bytes, tuple(inputs), f"attention {m.num_heads} heads L {q_len} S {s_len} E {e} batch {b}",
              macs=float(macs))


def _is_metadata(node) -> bool:
    """``x.shape``, ``x.size()``, ``x.dim()``, ``x.dtype``: read the tensor's description, not its data."""
    if node.op == "call_function" and node.target is getattr:
        return len(node.args) > 1 and node.args[1] in ("shape", "dtype", "device", "ndim")
    return node.op == "call_method" and node.target in ("size", "dim")


def _from_fx(gm, input_shape, dtype_bytes: int) -> OpGraph:
    import torch
    import torch.nn as nn

    mods = dict(gm.named_modules())
    ops: list[Op] = []
    alias: dict[str, tuple[str, ...]] = {}  # free node -> producers it forwards
    is_op: set[str] = set()
    param_elems: dict[str, int] = {}  # get_attr node of a parameter -> its size

    def producers(args) -> tuple[str, ...]:
        out: list[str] = []
        def visit(a):
            if isinstance(a, torch.fx.Node):
                if a.name in is_op:
                    out.append(a.name)
                else:
                    out.extend(alias.get(a.name, ()))
            elif isinstance(a, (list, tuple)):
                for b in a:
                    visit(b)
            elif isinstance(a, dict):
                for b in a.values():
                    visit(b)
        visit(args)
        return tuple(dict.fromkeys(out))

    def tensor_args(node) -> list:
        return [a for a in node.args if isinstance(a, torch.fx.Node) and _shape(a) is not None]

    outputs: tuple[str, ...] = ()
    for node in gm.graph.nodes:
        shape = _shape(node)
        ins = producers((node.args, node.kwargs))
        op: Op | None = None
        if node.op == "output":
            outputs = ins
            continue
        if node.op in ("placeholder", "get_attr"):
            alias[node.name] = ()
            if node.op == "get_attr":
                try:
                    param_elems[node.name] = gm.get_parameter(node.target).numel()
                except AttributeError:  # a buffer or constant, not a weight
                    pass
            continue
        if _is_metadata(node):
            alias[node.name] = ()
            continue
        t_in = tensor_args(node)
        in_shape = _shape(t_in[0]) if t_in else None
        if node.op == "call_module":
            m = mods[node.target]
            if isinstance(m, nn.modules.conv._ConvNd) and shape:
                op = conv_op(node.name, in_shape, shape, tuple(m.kernel_size), m.groups, m.bias is not None, ins,
                             dtype_bytes, transposed=m.transposed)
            elif isinstance(m, nn.RNNBase) and in_shape:
                op = _rnn(node.name, m, in_shape, ins, dtype_bytes)
            elif isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and shape:  # a lookup reads only its rows
                op = Op(node.name, "memory", 0.0, numel(shape) * dtype_bytes, numel(shape) * dtype_bytes, 0.0, ins,
                        type(m).__name__, table_bytes=m.weight.numel() * dtype_bytes)
            elif isinstance(m, nn.MultiheadAttention) and in_shape:
                op = _attention(node.name, m, in_shape, _shape(t_in[1]) if len(t_in) > 1 else in_shape, ins,
                                dtype_bytes)
            elif isinstance(m, nn.Linear) and shape:
                rows = numel(shape[:-1])
                op = gemm_op(node.name, rows, m.in_features, m.out_features, True, m.bias is not None, ins,
                             dtype_bytes=dtype_bytes)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)) and shape:
                op = eltwise_op(node.name, shape, 1, ins, 2.0, "norm", dtype_bytes=dtype_bytes,
                                detail=type(m).__name__, weight_elems=sum(p.numel() for p in m.parameters()))
            elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveMaxPool2d)) and shape:
                if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
                    window = max(numel(in_shape) // max(numel(shape), 1), 1)
                else:
                    k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
                    window = k[0] * k[1]
                op = pool_op(node.name, in_shape, shape, window, ins, dtype_bytes, type(m).__name__)
            elif isinstance(m, (nn.Identity, nn.Dropout, nn.Flatten, nn.Unflatten)):
                op = None
            elif isinstance(m, nn.Softmax) and shape:
                op = eltwise_op(node.name, shape, 1, ins, 5.0, "softmax", dtype_bytes=dtype_bytes)
            elif shape:  # activations and other element-wise leaf modules (a PReLU's slopes are weights)
                op = eltwise_op(node.name, shape, 1, ins, 1.0, dtype_bytes=dtype_bytes, detail=type(m).__name__,
                                weight_elems=sum(p.numel() for p in m.parameters()))
        elif node.op in ("call_function", "call_method"):
            target = node.target
            tname = target if isinstance(target, str) else getattr(target, "__name__", str(target))
            consts = [a for a in node.args[1:] if isinstance(a, (int, float))]
            if tname in _FREE_METHODS or target in (torch.flatten, torch.reshape, operator.getitem, getattr):
                op = None
            elif shape is None:
                op = None
            elif tname in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"):
                w = node.args[1]
                wshape = _shape(w) if isinstance(w, torch.fx.Node) else None
                transposed = tname.startswith("conv_transpose")
                groups = node.kwargs.get("groups", node.args[6] if len(node.args) > 6 else 1)
                op = conv_op(node.name, in_shape, shape, tuple(wshape[2:]) if wshape else (1,), groups, False,
                             ins, dtype_bytes, transposed=transposed)
            elif tname in ("linear",):
                w = _shape(node.args[1])
                op = gemm_op(node.name, numel(shape[:-1]), w[1], w[0], True, False, ins, dtype_bytes=dtype_bytes)
            elif tname in ("matmul", "bmm", "mm"):
                a, b = _shape(t_in[0]), _shape(t_in[1])
                batch = numel(shape[:-2])
                op = gemm_op(node.name, a[-2], a[-1], b[-1], False, False, ins, batch, dtype_bytes,
                             read_elems=numel(a) + numel(b))
            elif tname in ("cat", "stack", "pad"):
                op = Op(node.name, "memory", 0.0, numel(shape) * dtype_bytes, numel(shape) * dtype_bytes, 0.0, ins,
                        tname)
            elif tname in ("adaptive_avg_pool2d", "avg_pool2d", "max_pool2d"):
                op = pool_op(node.name, in_shape, shape, max(numel(in_shape) // max(numel(shape), 1), 1), ins,
                             dtype_bytes, tname)
            elif tname in ("mean", "sum", "amax"):
                op = Op(node.name, "reduce", float(numel(in_shape)), numel(in_shape) * dtype_bytes,
                        numel(shape) * dtype_bytes, 0.0, ins, tname)
            elif tname in ("softmax", "log_softmax"):
                op = eltwise_op(node.name, shape, 1, ins, 5.0, "softmax", dtype_bytes=dtype_bytes)
            else:  # arithmetic / activations: element-wise; a parameter operand is a weight
                zero = tname in ("mul", "mul_") and any(c == 0 for c in consts)
                weights = [param_elems[a.name] for a in t_in if a.name in param_elems]
                op = eltwise_op(node.name, shape, max(len(t_in) - len(weights), 1), ins, 1.0, zero=zero,
                                dtype_bytes=dtype_bytes, detail=tname, weight_elems=sum(weights))
        if op is None:
            alias[node.name] = ins
        else:
            ops.append(op)
            is_op.add(node.name)
    return OpGraph(ops, outputs, numel(input_shape) * dtype_bytes, dtype_bytes, {"tracer": "torch.fx"})


def _from_hooks(module, x, dtype_bytes: int) -> OpGraph:
    """Fallback for untraceable models: one Op per leaf-module call, chained in call order."""
    import torch
    import torch.nn as nn

    records: list[tuple[str, Any, tuple, tuple]] = []
    handles = []
    for name, m in module.named_modules():
        if len(list(m.children())) == 0:
            handles.append(m.register_forward_hook(
                lambda mod, inp, out, name=name: records.append(
                    (name, mod, tuple(inp[0].shape) if inp and hasattr(inp[0], "shape") else (),
                     tuple(out.shape) if hasattr(out, "shape") else ()))))
    try:
        with torch.no_grad():
            module(x)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"cannot run the model on an input of shape {tuple(x.shape)}: {exc}") from None
    finally:
        for h in handles:
            h.remove()
    ops: list[Op] = []
    prev: tuple[str, ...] = ()
    for k, (name, m, ish, osh) in enumerate(records):
        nm = f"{name or 'module'}#{k}"
        if isinstance(m, nn.modules.conv._ConvNd):
            op = conv_op(nm, ish, osh, tuple(m.kernel_size), m.groups, m.bias is not None, prev, dtype_bytes,
                         transposed=m.transposed)
        elif isinstance(m, nn.RNNBase):
            op = _rnn(nm, m, ish, prev, dtype_bytes)
        elif isinstance(m, nn.MultiheadAttention):
            op = _attention(nm, m, ish, ish, prev, dtype_bytes)
        elif isinstance(m, nn.Linear):
            op = gemm_op(nm, numel(osh[:-1]), m.in_features, m.out_features, True, m.bias is not None, prev,
                         dtype_bytes=dtype_bytes)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.LayerNorm)):
            op = eltwise_op(nm, osh, 1, prev, 2.0, "norm", dtype_bytes=dtype_bytes)
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.MaxPool2d)):
            op = pool_op(nm, ish, osh, max(numel(ish) // max(numel(osh), 1), 1), prev, dtype_bytes)
        elif isinstance(m, (nn.Identity, nn.Dropout, nn.Flatten)) or not osh:
            continue
        else:
            op = eltwise_op(nm, osh, 1, prev, dtype_bytes=dtype_bytes, detail=type(m).__name__)
        ops.append(op)
        prev = (nm,)
    return OpGraph(ops, prev, numel(x.shape) * dtype_bytes, dtype_bytes, {"tracer": "hooks"})
