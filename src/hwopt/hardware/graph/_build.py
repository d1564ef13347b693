"""Build an OpGraph analytically, op by op, in the order a forward pass would run them.

Model spaces whose op list is known from the config (NB201, FBNet) use this to get the same
graph ``from_torch`` traces, in about a millisecond instead of a trace (tests check equality).
A tensor is the tuple of op names that produce it (``()`` for the model input).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from hwopt.hardware.graph._ops import Op, OpGraph, conv_op, eltwise_op, gemm_op, numel, pool_op

Tensor = tuple[tuple[str, ...], tuple[int, ...]]


class GraphBuilder:
    """Records ops; each method takes and returns ``(producers, shape)`` tensors."""

    def __init__(self, input_shape: tuple[int, ...], dtype_bytes: int = 4):
        self.ops: list[Op] = []
        self.dtype_bytes = dtype_bytes
        self.input: Tensor = ((), tuple(input_shape))
        self._n = 0

    def _name(self, kind: str) -> str:
        self._n += 1
        return f"{kind}_{self._n}"

    def _add(self, op: Op) -> Tensor:
        self.ops.append(op)
        return (op.name,), self._shape

    def conv(self, x: Tensor, c_out: int, k: int, stride: int = 1, pad: int | None = None, groups: int = 1,
             bias: bool = False) -> Tensor:
        pad = k // 2 if pad is None else pad
        n, _, h, w = x[1]
        ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        self._shape = (n, c_out, ho, wo)
        return self._add(conv_op(self._name("conv"), x[1], self._shape, (k, k), groups, bias, x[0], self.dtype_bytes))

    def external(self, x: Tensor) -> Tensor:
        """``x`` as the output of a free stand-in op: a segment built on its own sees a producer
        where the whole graph has one (``without_free`` drops it again)."""
        self._shape = x[1]
        return self._add(Op(self._name("external"), "memory", 0.0, 0.0, 0.0, 0.0, x[0], "external"))

    def bn(self, x: Tensor) -> Tensor:
        self._shape = x[1]
        return self._add(eltwise_op(self._name("bn"), x[1], 1, x[0], 2.0, "norm", dtype_bytes=self.dtype_bytes,
                                    detail="BatchNorm2d", weight_elems=2 * x[1][1]))

    def act(self, x: Tensor, detail: str = "ReLU") -> Tensor:
        self._shape = x[1]
        return self._add(eltwise_op(self._name("act"), x[1], 1, x[0], 1.0, dtype_bytes=self.dtype_bytes,
                                    detail=detail))

    def zero(self, x: Tensor) -> Tensor:
        self._shape = x[1]
        return self._add(eltwise_op(self._name("mul"), x[1], 1, x[0], 1.0, zero=True, dtype_bytes=self.dtype_bytes,
                                    detail="mul"))

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        self._shape = a[1]
        ins = tuple(dict.fromkeys(a[0] + b[0]))
        return self._add(eltwise_op(self._name("add"), a[1], 2, ins, 1.0, dtype_bytes=self.dtype_bytes, detail="add"))

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        """Broadcasting product (e.g. squeeze-excite scaling); the output has ``a``'s shape."""
        self._shape = a[1]
        ins = tuple(dict.fromkeys(a[0] + b[0]))
        return self._add(eltwise_op(self._name("mul"), a[1], 2, ins, 1.0, dtype_bytes=self.dtype_bytes, detail="mul"))

    def mean(self, x: Tensor, dim: int, keepdim: bool = True) -> Tensor:
        """``x.mean(dim, keepdim)``: a reduction reading every input element once."""
        shape = list(x[1])
        shape[dim] = 1
        self._shape = tuple(shape) if keepdim else tuple(shape[:dim] + shape[dim + 1:])
        name = self._name("mean")
        d = self.dtype_bytes
        return self._add(Op(name, "reduce", float(numel(x[1])), numel(x[1]) * d, numel(shape) * d, 0.0, x[0], "mean"))

    def pool(self, x: Tensor, k: int, stride: int, pad: int, detail: str = "AvgPool2d", ceil: bool = False) -> Tensor:
        """A ``k``×``k`` pooling window (average or max: the same counts); ``ceil`` as ``ceil_mode``."""
        n, c, h, w = x[1]

        def out(size: int) -> int:
            if not ceil:
                return (size + 2 * pad - k) // stride + 1
            o = -(-(size + 2 * pad - k) // stride) + 1
            return o - 1 if (o - 1) * stride >= size + pad else o  # the last window starts inside

        self._shape = (n, c, out(h), out(w))
        return self._add(pool_op(self._name("pool"), x[1], self._shape, k * k, x[0], self.dtype_bytes, detail))

    def global_pool(self, x: Tensor) -> Tensor:
        n, c, h, w = x[1]
        self._shape = (n, c, 1, 1)
        return self._add(pool_op(self._name("pool"), x[1], self._shape, h * w, x[0], self.dtype_bytes,
                                 "AdaptiveAvgPool2d"))

    def linear(self, x: Tensor, out_features: int) -> Tensor:
        n = x[1][0]
        k = numel(x[1][1:])
        self._shape = (n, out_features)
        return self._add(gemm_op(self._name("linear"), n, k, out_features, True, True, x[0],
                                 dtype_bytes=self.dtype_bytes))

    def dense(self, x: Tensor, out_features: int, bias: bool = True) -> Tensor:
        """``nn.Linear`` on the last dimension (every leading dimension is a row)."""
        self._shape = (*x[1][:-1], out_features)
        return self._add(gemm_op(self._name("linear"), numel(x[1][:-1]), x[1][-1], out_features, True, bias, x[0],
                                 dtype_bytes=self.dtype_bytes))

    def matmul(self, a: Tensor, b: Tensor) -> Tensor:
        """Batched ``a @ b`` of two activations (attention scores, weighted values)."""
        self._shape = (*a[1][:-1], b[1][-1])
        ins = tuple(dict.fromkeys(a[0] + b[0]))
        return self._add(gemm_op(self._name("matmul"), a[1][-2], a[1][-1], b[1][-1], False, False, ins,
                                 numel(a[1][:-2]), self.dtype_bytes, read_elems=numel(a[1]) + numel(b[1])))

    def layer_norm(self, x: Tensor) -> Tensor:
        """``nn.LayerNorm`` over the last dimension, with its scale and shift."""
        self._shape = x[1]
        return self._add(eltwise_op(self._name("ln"), x[1], 1, x[0], 2.0, "norm", dtype_bytes=self.dtype_bytes,
                                    detail="LayerNorm", weight_elems=2 * x[1][-1]))

    def softmax(self, x: Tensor) -> Tensor:
        self._shape = x[1]
        return self._add(eltwise_op(self._name("softmax"), x[1], 1, x[0], 5.0, "softmax", dtype_bytes=self.dtype_bytes))

    def add_parameter(self, x: Tensor, elems: int) -> Tensor:
        """``x + p`` with a learned tensor ``p`` of ``elems`` values (a position embedding): its weights."""
        self._shape = x[1]
        return self._add(eltwise_op(self._name("add"), x[1], 1, x[0], 1.0, dtype_bytes=self.dtype_bytes, detail="add",
                                    weight_elems=elems))

    @staticmethod
    def view(x: Tensor, shape: tuple[int, ...]) -> Tensor:
        """A reshape or transpose: no op, the same producers."""
        return x[0], tuple(shape)

    def graph(self, outputs: Tensor) -> OpGraph:
        return OpGraph(list(self.ops), outputs[0], numel(self.input[1]) * self.dtype_bytes, self.dtype_bytes,
                       {"tracer": "analytic"})


def segment_graph(apply: Callable[[GraphBuilder, Tensor, tuple], Tensor], seg: tuple, input_shape: tuple[int, ...],
                  dtype_bytes: float = 4) -> tuple[OpGraph, tuple[int, ...]]:
    """One segment of a chain-shaped graph on its own, and its output shape. ``apply(g, x, seg)``
    adds the segment's ops; a ``("stem", ...)`` segment reads the model input, any other one a
    free stand-in producer, so fusion decides as it would in the whole graph."""
    g = GraphBuilder(input_shape, dtype_bytes)
    y = apply(g, g.input if seg[0] == "stem" else g.external(g.input), seg)
    return g.graph(y), y[1]


def chain_graph(keys: Callable[[Any, dict], list[tuple]], apply: Callable[[Any, GraphBuilder, Tensor, tuple], Tensor]
                ) -> tuple[Callable[..., OpGraph], "GraphSegments"]:
    """The whole-graph builder ``build(space, config, batch_size=1, dtype_bytes=4)`` and the
    :class:`GraphSegments` of a space whose graph is the chain of segments ``keys(space, config)``,
    each added by ``apply(space, g, x, key)``: one definition serves both, so they cannot drift."""

    def build(space: Any, config: dict, batch_size: int = 1, dtype_bytes: int = 4) -> OpGraph:
        g = GraphBuilder(space.input_shape(space.space.validate(config), batch_size), dtype_bytes)
        x = g.input
        for seg in keys(space, config):
            x = apply(space, g, x, seg)
        return g.graph(x)

    def graph(space: Any, seg: tuple, shape: tuple[int, ...], dtype_bytes: float = 4):
        return segment_graph(lambda g, x, s: apply(space, g, x, s), seg, shape, dtype_bytes)

    return build, GraphSegments(keys=keys, graph=graph, build=build)


@dataclass(frozen=True)
class GraphSegments:
    """How a space's graph splits into a chain of segments whose counts add up:
    ``keys(space, config)`` (hashable segment keys, validating the config) and
    ``graph(space, key, input_shape, dtype_bytes)`` (:func:`segment_graph` of one key)."""

    keys: Callable[[Any, dict], list[tuple]]
    graph: Callable[..., tuple[OpGraph, tuple[int, ...]]]
    #: the whole graph at once, ``build(space, config, batch_size=1, dtype_bytes=4)`` (None when the
    #: space builds it itself, ``op_graph``)
    build: Callable[..., OpGraph] | None = None
