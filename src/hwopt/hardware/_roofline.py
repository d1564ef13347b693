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

The spec-sheet estimate also depends on the *runtime* that runs the model (``RUNTIMES``):
``compiled`` (ONNX Runtime, TensorRT, TFLite: element-wise ops fused into their producers, the
launch overheads above) or ``eager`` (PyTorch eager: one kernel per op, each also paying the
framework's dispatch cost on the host CPU). A calibration learns both from measurements, so the
runtime matters only where there are none.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwopt.errors import ConfigError
from hwopt.hardware._target import HardwareTarget
from hwopt.hardware.graph import OP_CLASSES, Op, OpGraph

COMPUTE_EFFICIENCY = {
    "conv": 0.5, "conv1x1": 0.5, "dwconv": 0.05, "gemm": 0.6, "pool": 0.1, "eltwise": 0.1, "norm": 0.1,
    "softmax": 0.1, "reduce": 0.1, "memory": 1.0,
}
MEMORY_EFFICIENCY = 0.7
OVERHEAD_S = {"gpu": 5e-6, "accelerator": 5e-6, "cpu": 2e-6, "mobile": 1e-5, "edge": 1e-5}
#: host-side cost of one operator call in PyTorch eager mode (framework dispatch, module call):
#: 4.7-5.5 us per module on a chain of ReLU / Conv2d / BatchNorm2d modules with 4-element tensors,
#: torch 2.13, one thread, on the AMD EPYC that runs this project's CI (``benchmarks/eager_dispatch.py``);
#: older hosts and framework versions are slower, so this is a floor.
EAGER_DISPATCH_S = 5e-6


@dataclass(frozen=True)
class Runtime:
    """How a runtime executes a graph: which graph variant (see ``_features.VARIANTS``), what each
    kernel costs on top of the device's own launch overhead, and the spec-sheet estimate's 80%
    interval as multiples of it (where measured latencies fall around this runtime's roofline)."""

    name: str
    variant: str
    dispatch_s: float
    spec_interval: tuple[float, float]

    def overhead_s(self, kind: str) -> float:
        return OVERHEAD_S.get(kind, 5e-6) + self.dispatch_s


#: Spec intervals. Measured latencies lie on both sides of the roofline. Compiled: on the 65
#: measured device settings of the shared latency tables the typical (median) latency was
#: 1.3-217 x the fused roofline (GPUs at batch 32-256 1.3-6.2 x, phones and boards 3.7-11 x, GPUs
#: at batch 1 8.5-30 x, server CPUs 17-217 x) and at most 17.8 x on 80% of them; on the `local`
#: CPU with ONNX Runtime, whose measured copy bandwidth understates what cache-resident small
#: models get, 0.27-0.62 x (10th-90th percentile over 220 models). Eager: on the same settings
#: 0.7-58 x the eager roofline, at most 4.9 x on 80% of them; on the `local` CPU with PyTorch
#: eager 0.63-0.85 x (100 ofa-mbv3 sub-networks). `benchmarks/costmodel_shared_tables.py` prints
#: the 80th percentiles. One interval per runtime for every device, because a spec sheet says
#: nothing about where in that range a device falls.
RUNTIMES = {
    "compiled": Runtime("compiled", "fused", 0.0, (0.3, 17.8)),  # ONNX Runtime, TensorRT, TFLite
    "eager": Runtime("eager", "unfused", EAGER_DISPATCH_S, (0.6, 4.9)),  # PyTorch eager
}


def get_runtime(name: str) -> Runtime:
    if name not in RUNTIMES:
        raise ConfigError(f"unknown runtime {name!r}; valid: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]


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


def op_times(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32", runtime: str = "compiled") -> list[OpTime]:
    """Spec-sheet roofline time of every op of ``graph`` (already fused / pruned as wanted)."""
    peak = target.peak_flops(dtype)
    bw = target.bandwidth_bytes_per_s * MEMORY_EFFICIENCY
    over = get_runtime(runtime).overhead_s(target.kind)
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
