"""Operator graphs: per-operator FLOPs and bytes, with the fusions and pruning runtimes apply.

An :class:`OpGraph` is a topologically ordered list of :class:`Op` records, built from a
``torch.nn.Module`` (``from_torch``), an ONNX file (``from_onnx``) or analytically by a model
space that knows its own op list (NB201, FBNet: fast for tables of thousands of archs). All
three produce the same records, so they share fusion, pruning and costing.

Conventions: one multiply-accumulate is 2 FLOPs; an element-wise op costs one FLOP per output
element (``norm`` two); bytes are activations read + weights read + output written, at the
dtype width given when the graph was built; the batch size is baked in at build time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable

#: op classes; each gets its own efficiency in the roofline and its own term in calibration
OP_CLASSES = ("conv", "conv1x1", "dwconv", "gemm", "pool", "eltwise", "norm", "softmax", "reduce", "memory")
#: classes that runtimes fuse into a compute producer (bias, activation, residual add, folded BN)
FUSABLE = ("eltwise", "norm")
#: classes that can absorb fused element-wise consumers
PRODUCERS = ("conv", "conv1x1", "dwconv", "gemm", "pool")
#: classes that hold a layer's weights and do its arithmetic (what "depth" counts)
COMPUTE_CLASSES = ("conv", "conv1x1", "dwconv", "gemm")


@dataclass
class Op:
    """One operator (after fusion: a kernel) with its cost counters."""

    name: str
    kind: str
    flops: float
    read_bytes: float  # activations read
    write_bytes: float  # output written
    weight_bytes: float = 0.0
    inputs: tuple[str, ...] = ()  # names of producer ops; graph inputs are not listed
    detail: str = ""
    fused: tuple[str, ...] = ()
    zero: bool = False  # output is identically zero (x * 0): foldable to a constant
    macs: float = 0.0  # multiply-accumulates of a conv / matrix product (bias adds not counted)
    #: parameters held but read only in part per inference (an embedding table, of which a lookup
    #: reads its rows): model weights and memory, not bytes moved
    table_bytes: float = 0.0

    @property
    def bytes(self) -> float:
        return self.read_bytes + self.write_bytes + self.weight_bytes

    def evolve(self, **changes) -> "Op":
        """A copy with ``changes``: ``dataclasses.replace`` without its per-call validation, which
        was most of the time of fusing the graphs of thousands of candidates in a search."""
        new = object.__new__(Op)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    @property
    def intensity(self) -> float:
        """Arithmetic intensity, FLOPs per byte moved."""
        return self.flops / self.bytes if self.bytes else 0.0


@dataclass
class OpGraph:
    """Ops in topological order; ``outputs`` names the ops whose results leave the model."""

    ops: list[Op]
    outputs: tuple[str, ...]
    input_bytes: float = 0.0
    dtype_bytes: int = 4
    meta: dict = field(default_factory=dict)

    # -- summaries ------------------------------------------------------------------------
    @property
    def flops(self) -> float:
        return sum(o.flops for o in self.ops)

    @property
    def weight_bytes(self) -> float:
        return sum(o.weight_bytes + o.table_bytes for o in self.ops)

    @property
    def macs(self) -> float:
        """Multiply-accumulates of convolutions and matrix products: the "dynast" MAC convention
        of :func:`hwopt.evaluators.count_macs` (bias adds, norms, activations, pooling free)."""
        return sum(o.macs for o in self.ops)

    def consumers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {o.name: [] for o in self.ops}
        for o in self.ops:
            for i in o.inputs:
                out.setdefault(i, []).append(o.name)
        return out

    def by_class(self) -> dict[str, dict[str, float]]:
        """Per op class: count, flops, bytes (the calibration features)."""
        agg: dict[str, dict[str, float]] = {}
        for o in self.ops:
            a = agg.setdefault(o.kind, {"count": 0.0, "flops": 0.0, "bytes": 0.0})
            a["count"] += 1
            a["flops"] += o.flops
            a["bytes"] += o.bytes
        return agg

    def peak_activation_bytes(self) -> float:
        """Peak bytes of live activations when ops run in order and die after their last use."""
        last_use: dict[str, int] = {}
        for k, o in enumerate(self.ops):
            for i in o.inputs:
                last_use[i] = k
        for name in self.outputs:
            last_use[name] = len(self.ops)
        size = {o.name: o.write_bytes for o in self.ops}
        input_last = max((k for k, o in enumerate(self.ops) if not o.inputs), default=-1)
        live = self.input_bytes
        peak = live
        for k, o in enumerate(self.ops):
            live += o.write_bytes
            peak = max(peak, live)
            for i in set(o.inputs):
                if last_use.get(i) == k:
                    live -= size.get(i, 0.0)
            if k == input_last:
                live -= self.input_bytes
        return peak

    def output_depends_on_input(self) -> bool:
        """False when every path from the input to the outputs passes through an ``x * 0``."""
        live: set[str] = set()
        for o in self.ops:
            if o.zero:
                continue
            if not o.inputs or any(i in live for i in o.inputs):
                live.add(o.name)
        return any(n in live for n in self.outputs)

    def compute_depth(self) -> tuple[int, int]:
        """Fewest and most compute ops (convolutions, matrix products) on a path from the input to
        an output, ``x * 0`` edges cut: how shallow a shortcut and how deep the deepest chain of
        the network is, which op counts do not tell (two convolutions side by side or in series
        count the same). ``(0, 0)`` when the output does not depend on the input."""
        lo: dict[str, int] = {}
        hi: dict[str, int] = {}
        for o in self.ops:
            if o.zero:
                continue
            w = int(o.kind in COMPUTE_CLASSES)
            if not o.inputs:  # reads the graph input
                lo[o.name], hi[o.name] = w, w
                continue
            live = [i for i in o.inputs if i in lo]
            if live:
                lo[o.name] = w + min(lo[i] for i in live)
                hi[o.name] = w + max(hi[i] for i in live)
        outs = [n for n in self.outputs if n in lo]
        return (min(lo[n] for n in outs), max(hi[n] for n in outs)) if outs else (0, 0)

    # -- transformations ----------------------------------------------------------------
    def fused(self) -> "OpGraph":
        """Fuse element-wise / norm ops into their producer, as inference runtimes do.

        A fusable op joins the chain of one of its producers when that producer is a compute
        op (conv, gemm, pool, or a chain already rooted at one) whose only consumer it is.
        The chain keeps the producer's reads and weights, adds the other inputs' reads and the
        fused op's FLOPs, and writes only the last output.
        """
        ops: dict[str, Op] = {}
        alias: dict[str, str] = {}
        tail: dict[str, str] = {}  # chain root -> original name of its last op
        users = self.consumers()
        order: list[str] = []
        for o in self.ops:
            ins = tuple(dict.fromkeys(alias.get(i, i) for i in o.inputs))
            if ins != o.inputs:
                o = o.evolve(inputs=ins)
            target = None
            if o.kind in FUSABLE and not o.zero:
                for i in ins:
                    p = ops.get(i)
                    if p is not None and p.kind in PRODUCERS and len(users.get(tail.get(i, i), [])) == 1:
                        target = p
                        break
            if target is None:
                ops[o.name] = o
                order.append(o.name)
                continue
            other_reads = o.read_bytes - target.write_bytes if len(o.inputs) > 1 else 0.0
            merged = target.evolve(
                flops=target.flops + o.flops,
                read_bytes=target.read_bytes + max(other_reads, 0.0),
                write_bytes=o.write_bytes,
                weight_bytes=target.weight_bytes + o.weight_bytes,
                table_bytes=target.table_bytes + o.table_bytes,
                inputs=tuple(dict.fromkeys(target.inputs + tuple(i for i in ins if i != target.name))),
                fused=target.fused + (o.name,),
            )
            ops[target.name] = merged
            alias[o.name] = target.name
            tail[target.name] = o.name
        outputs = tuple(dict.fromkeys(alias.get(n, n) for n in self.outputs))
        return OpGraph([ops[n] for n in order], outputs, self.input_bytes, self.dtype_bytes, dict(self.meta))

    def pruned(self) -> "OpGraph":
        """Fold ``x * 0`` to a constant and drop ops whose results cannot reach an output.

        This is what graph compilers with constant folding and dead-code elimination do (e.g.
        TFLite conversion): an edge that multiplies by zero stops data flow, and an add of a
        constant zero is an identity.
        """
        zero = {o.name for o in self.ops if o.zero}
        needed: set[str] = set(self.outputs)
        for o in reversed(self.ops):
            if o.name in needed and o.name not in zero:
                needed.update(i for i in o.inputs if i not in zero)
        keep = []
        for o in self.ops:
            if o.name in needed and o.name not in zero:
                ins = tuple(i for i in o.inputs if i not in zero)
                if o.kind == "eltwise" and len(o.inputs) > 1 and len(ins) <= 1:
                    # add with constant-zero operands: an identity, free
                    keep.append(o.evolve(inputs=ins, flops=0.0, read_bytes=0.0, write_bytes=0.0, kind="memory",
                                        detail=o.detail + " (folded)"))
                    continue
                keep.append(o if ins == o.inputs else o.evolve(inputs=ins))
        names = {o.name for o in keep}
        return OpGraph(keep, tuple(n for n in self.outputs if n in names), self.input_bytes, self.dtype_bytes,
                       dict(self.meta))

    def without_free(self) -> "OpGraph":
        """Drop ops that move no bytes and do no FLOPs (folded identities)."""
        free = {o.name: o for o in self.ops if o.flops == 0 and o.bytes == 0}
        def resolve(n: str) -> tuple[str, ...]:
            if n in free:
                return tuple(x for i in free[n].inputs for x in resolve(i))
            return (n,)
        if not free:
            return OpGraph(list(self.ops), self.outputs, self.input_bytes, self.dtype_bytes, dict(self.meta))
        ops = [o.evolve(inputs=tuple(dict.fromkeys(x for i in o.inputs for x in resolve(i))))
               if any(i in free for i in o.inputs) else o
               for o in self.ops if o.name not in free]
        outs = tuple(dict.fromkeys(x for n in self.outputs for x in resolve(n)))
        return OpGraph(ops, outs, self.input_bytes, self.dtype_bytes, dict(self.meta))


# -- helpers used by every builder (torch, ONNX, analytic) --------------------------------
def numel(shape: Iterable[int]) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def conv_op(name: str, in_shape, out_shape, kernel: tuple[int, ...], groups: int, bias: bool, inputs,
            dtype_bytes: int = 4, transposed: bool = False) -> Op:
    """Convolution of any rank: 2 * N*Co*prod(out spatial) * (Ci/g)*prod(kernel) FLOPs (transposed:
    every input pixel scatters into prod(kernel) outputs per output channel of its group).

    Class ``dwconv`` for grouped ones, depthwise included (runtimes run them as separate, less
    efficient kernels than dense convolutions), ``conv1x1`` for a dense 1x1 kernel (a GEMM),
    ``conv`` otherwise."""
    ci = int(in_shape[1])
    co = int(out_shape[1])
    k = math.prod(int(d) for d in kernel)
    if transposed:
        macs = numel(in_shape) * (co // groups) * k
    else:
        macs = numel(out_shape) * (ci // groups) * k
    w = co * (ci // groups) * k + (co if bias else 0)
    if groups > 1:
        kind = "dwconv"
    elif k == 1:
        kind = "conv1x1"
    else:
        kind = "conv"
    size = "x".join(str(int(d)) for d in kernel)
    return Op(name, kind, 2.0 * macs + (numel(out_shape) if bias else 0),
              numel(in_shape) * dtype_bytes, numel(out_shape) * dtype_bytes, w * dtype_bytes, tuple(inputs),
              f"{'convT' if transposed else 'conv'} {size} {ci}->{co} g{groups} out {tuple(int(s) for s in out_shape)}",
              macs=float(macs))


def gemm_op(name: str, m: int, k: int, n: int, weight: bool, bias: bool, inputs, batch: int = 1,
            dtype_bytes: int = 4, read_elems: int | None = None) -> Op:
    """(batch x) M x K @ K x N: 2*M*K*N FLOPs."""
    flops = 2.0 * batch * m * k * n + (batch * m * n if bias else 0)
    w = (k * n + (n if bias else 0)) if weight else 0
    reads = read_elems if read_elems is not None else batch * m * k + (0 if weight else batch * k * n)
    return Op(name, "gemm", flops, reads * dtype_bytes, batch * m * n * dtype_bytes, w * dtype_bytes,
              tuple(inputs), f"gemm {batch}x{m}x{k}x{n}", macs=float(batch * m * k * n))


def rnn_op(name: str, steps: int, batch: int, n_in: int, hidden: int, gates: int, directions: int = 1,
           layers: int = 1, bias: bool = True, inputs=(), dtype_bytes: int = 4) -> Op:
    """LSTM (4 gates) / GRU (3) / plain RNN (1) as one GEMM per step over [input, hidden state]:
    2 * steps * batch * directions * gates * hidden * (input + hidden) FLOPs per layer (layers
    after the first read ``directions * hidden``)."""
    macs = w = 0
    for layer in range(layers):
        k = (n_in if layer == 0 else directions * hidden) + hidden
        macs += steps * batch * directions * gates * hidden * k
        w += directions * gates * hidden * (k + (2 if bias else 0))
    return Op(name, "gemm", 2.0 * macs, steps * batch * n_in * dtype_bytes,
              steps * batch * directions * hidden * dtype_bytes, w * dtype_bytes, tuple(inputs),
              f"rnn x{gates} gates steps {steps} batch {batch} in {n_in} hidden {hidden} "
              f"x{directions} x{layers} layers",
              macs=float(macs))


def eltwise_op(name: str, out_shape, n_inputs: int, inputs, flops_per_elem: float = 1.0, kind: str = "eltwise",
               zero: bool = False, dtype_bytes: int = 4, detail: str = "", weight_elems: int = 0) -> Op:
    e = numel(out_shape)
    return Op(name, kind, flops_per_elem * e, n_inputs * e * dtype_bytes, e * dtype_bytes,
              weight_elems * dtype_bytes, tuple(inputs), detail or kind, zero=zero)


def pool_op(name: str, in_shape, out_shape, window: int, inputs, dtype_bytes: int = 4, detail: str = "") -> Op:
    return Op(name, "pool", float(numel(out_shape) * window), numel(in_shape) * dtype_bytes,
              numel(out_shape) * dtype_bytes, 0.0, tuple(inputs), detail or f"pool window {window}")
