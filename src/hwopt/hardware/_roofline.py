"""Roofline time per operator, with per-op-class efficiencies and a per-op launch overhead.

``time(op) = max(flops / (peak * eff_compute[class]), bytes / (bandwidth * eff_memory)) + overhead``

The default efficiencies below are documented priors, not fits to any data set: dense
convolutions and GEMMs reach about half of peak in tuned libraries (cuDNN, oneDNN, XNNPACK
report 40-80% on large layers), depthwise convolutions are memory- and latency-bound and reach
a few percent of peak, element-wise / pooling ops are bandwidth-bound. Achieved DRAM bandwidth
is about 70% of the spec-sheet figure (STREAM-like). The overhead is the fixed cost of
dispatching one kernel: about 5 us for a CUDA launch through a framework, 2 us on a CPU
runtime, 10 us on phone / embedded runtimes. Calibration (``hwopt.hardware.calibration``)
replaces these priors with per-class factors fitted to measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwopt.hardware._target import HardwareTarget
from hwopt.hardware.graph import OP_CLASSES, Op, OpGraph

COMPUTE_EFFICIENCY = {
    "conv": 0.5, "conv1x1": 0.5, "dwconv": 0.05, "gemm": 0.6, "pool": 0.1, "eltwise": 0.1, "norm": 0.1,
    "softmax": 0.1, "reduce": 0.1, "memory": 1.0,
}
MEMORY_EFFICIENCY = 0.7
OVERHEAD_S = {"gpu": 5e-6, "accelerator": 5e-6, "cpu": 2e-6, "mobile": 1e-5, "edge": 1e-5}
DTYPE_BYTES = {"fp64": 8, "fp32": 4, "tf32": 4, "fp16": 2, "bf16": 2, "fp8": 1, "int8": 1, "int4": 0.5}


@dataclass(frozen=True)
class OpTime:
    """Roofline time of one op, split into its compute and memory bounds."""

    op: Op
    compute_s: float
    memory_s: float
    overhead_s: float

    @property
    def seconds(self) -> float:
        return max(self.compute_s, self.memory_s) + self.overhead_s

    @property
    def bound(self) -> str:
        return "compute" if self.compute_s >= self.memory_s else "memory"


def op_times(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32") -> list[OpTime]:
    """Spec-sheet roofline time of every op of ``graph`` (already fused / pruned as wanted)."""
    peak = target.peak_flops(dtype)
    bw = target.bandwidth_bytes_per_s * MEMORY_EFFICIENCY
    over = OVERHEAD_S.get(target.kind, 5e-6)
    out = []
    for op in graph.ops:
        if op.flops == 0 and op.bytes == 0:
            continue
        eff = COMPUTE_EFFICIENCY.get(op.kind, 0.1)
        out.append(OpTime(op, op.flops / (peak * eff), op.bytes / bw, over))
    return out


def class_features(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32") -> dict[str, float]:
    """Per-class roofline seconds (without overhead) plus the kernel count: the calibration basis."""
    feats = {c: 0.0 for c in OP_CLASSES}
    n = 0
    for t in op_times(graph, target, dtype):
        feats[t.op.kind] = feats.get(t.op.kind, 0.0) + max(t.compute_s, t.memory_s)
        n += 1
    feats["n_ops"] = float(n)
    return feats


def spec_latency_s(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32") -> float:
    return sum(t.seconds for t in op_times(graph, target, dtype))
