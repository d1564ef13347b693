"""Estimates for one model on one target: latency with an interval, memory, energy, top ops.

Power model (documented, not fitted): ``P = P_idle + (TDP - P_idle) * u`` where ``u`` is the
share of the inference during which the bottleneck resource (compute or DRAM) would be busy at
its spec-sheet peak: ``u = sum_ops max(flops/peak, bytes/bandwidth) / latency``, clipped to
[0, 1]. ``P_idle`` is the catalog's ``idle_w`` or, when absent, 30% of TDP. Energy = P x latency.

Without a calibration the latency interval is the prior ``[latency / 2.5, latency * 2.5]``, a
width chosen to express that a spec-sheet roofline is typically off by a factor of about two;
with one, it is the calibration's conformal interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwopt.errors import ConfigError
from hwopt.hardware._calibration import Calibration, load_calibration
from hwopt.hardware._features import (COUNT_COL0, FEATURES, FLOPS_COL, NOPS_COL, VARIANTS, WEIGHTS_COL, GraphRows,
                                      graph_builder, graph_variant, graph_variants, spec_seconds)
from hwopt.hardware._roofline import DTYPE_BYTES, get_runtime, op_times
from hwopt.hardware._target import HardwareTarget
from hwopt.hardware.graph import OP_CLASSES, OpGraph

IDLE_SHARE = 0.3


@dataclass
class OpEstimate:
    name: str
    kind: str
    ms: float
    bound: str
    flops: float
    bytes: float
    detail: str


@dataclass
class Estimate:
    hardware: str
    batch_size: int
    dtype: str
    latency_ms: float
    interval_ms: tuple[float, float]
    coverage: float
    flops: float
    bytes: float
    weights_mb: float
    activations_mb: float
    memory_mb: float
    power_w: float | None
    energy_mj: float | None
    usd_per_million: float | None
    calibration: str | None
    variant: str
    ops: list[OpEstimate] = field(default_factory=list)
    #: the runtime the spec-sheet estimate assumed (None when a calibration made the estimate)
    runtime: str | None = None

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        d = asdict(self)
        d["interval_ms"] = list(self.interval_ms)
        ops = sorted(self.ops, key=lambda o: -o.ms)
        d["ops"] = [asdict(o) for o in (ops[:top] if top else ops)]
        return d


def features_of(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32") -> dict[str, np.ndarray]:
    """Calibration features ``(1, len(FEATURES))`` of one graph, per runtime variant."""
    out = {}
    for v, g in graph_variants(graph).items():
        row = np.zeros((1, len(FEATURES)))
        for t in op_times(g, target, dtype):
            row[0, OP_CLASSES.index(t.op.kind)] += max(t.compute_s, t.memory_s)
            row[0, NOPS_COL] += 1
            row[0, COUNT_COL0 + OP_CLASSES.index(t.op.kind)] += 1
        row[0, FLOPS_COL] = g.flops / target.peak_flops(dtype)
        row[0, WEIGHTS_COL] = graph.weight_bytes / target.bandwidth_bytes_per_s
        out[v] = row
    return out


def estimate_graph(graph: OpGraph, target: HardwareTarget, batch_size: int = 1, dtype: str = "fp32",
                   calibration: Calibration | str | None = None, runtime: str = "compiled") -> Estimate:
    """Estimate for a graph built at ``batch_size`` (its dtype width should match ``dtype``).
    ``runtime`` (``_roofline.RUNTIMES``) shapes the spec-sheet estimate; a calibration has learnt
    its runtime's behaviour from measurements and ignores it."""
    cal_name = None
    if isinstance(calibration, str):
        cal_name = calibration
        calibration = load_calibration(calibration)
    rt = get_runtime(runtime)
    variant = calibration.variant if calibration else rt.variant
    g = graph_variant(graph, variant)  # only the variants needed: most of an estimate's time
    fused = g if variant == "fused" else graph_variant(graph, "fused")
    times = op_times(g, target, dtype, runtime)
    if calibration is not None:
        check_calibration(calibration, cal_name, target)
        feats = features_of(graph, target, dtype)
        pred, lo, hi = calibration.predict_interval(feats)
        latency, interval = float(pred[0]), (float(lo[0]), float(hi[0]))
        # per-op share of the calibrated linear part, scaled by the residual correction
        theta = dict(zip(calibration.columns, calibration.theta[1:]))
        scale = latency / max(_linear(calibration, feats), 1e-12)
        peak, bw = target.peak_flops(dtype), target.bandwidth_bytes_per_s
        per_op = [(t, (theta.get(OP_CLASSES.index(t.op.kind), 0.0) * max(t.compute_s, t.memory_s) * 1e3
                       + theta.get(FLOPS_COL, 0.0) * t.op.flops / peak * 1e3
                       + theta.get(WEIGHTS_COL, 0.0) * t.op.weight_bytes / bw * 1e3
                       + theta.get(NOPS_COL, 0.0)
                       + theta.get(COUNT_COL0 + OP_CLASSES.index(t.op.kind), 0.0)) * scale) for t in times]
        coverage = calibration.coverage
    else:
        per_op = [(t, t.seconds * 1e3) for t in times]
        latency = sum(ms for _, ms in per_op)
        interval = (latency * rt.spec_interval[0], latency * rt.spec_interval[1])
        coverage = 0.8
    power = energy = None
    if target.tdp_w:
        p, e = power_energy(target, np.array([latency]), np.array([busy_seconds(g, target, dtype)]))
        power, energy = float(p[0]), float(e[0])
    weights = graph.weight_bytes
    acts = fused.peak_activation_bytes()
    return Estimate(
        hardware=target.name, batch_size=batch_size, dtype=dtype, latency_ms=latency, interval_ms=interval,
        coverage=coverage, flops=graph.flops, bytes=sum(o.bytes for o in g.ops), weights_mb=weights / 1e6,
        activations_mb=acts / 1e6, memory_mb=(weights + acts) / 1e6, power_w=power, energy_mj=energy,
        usd_per_million=_usd_per_million(target, latency, batch_size),
        calibration=cal_name if cal_name else ("(given)" if calibration is not None else None), variant=variant,
        ops=[OpEstimate(t.op.name, t.op.kind, ms, t.bound, t.op.flops, t.op.bytes, t.op.detail) for t, ms in per_op],
        runtime=None if calibration is not None else rt.name,
    )


def _usd_per_million(target: HardwareTarget, latency_ms, batch_size: int):
    """US$ per million inferences (samples) with the device rented at its catalog price and kept
    busy back to back at this batch size; None without a price."""
    if not target.price_per_hour_usd:
        return None
    return latency_ms / 1e3 / batch_size * target.price_per_hour_usd / 3600 * 1e6


def busy_seconds(graph: OpGraph, target: HardwareTarget, dtype: str = "fp32") -> float:
    """Seconds the bottleneck resource would be busy at its spec-sheet peak (the power model's ``u``)."""
    peak, bw = target.peak_flops(dtype), target.bandwidth_bytes_per_s
    return sum(max(o.flops / peak, o.bytes / bw) for o in graph.ops)


def idle_power(target: HardwareTarget) -> float:
    """The power model's ``P_idle`` (W): the catalog's ``idle_w``, else a share of TDP."""
    return target.idle_w if target.idle_w is not None else IDLE_SHARE * target.tdp_w


def power_energy(target: HardwareTarget, latency_ms: np.ndarray, busy_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power (W) and energy (mJ) of the module docstring's power model; needs ``target.tdp_w``."""
    idle = idle_power(target)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(latency_ms > 0, np.clip(busy_s / (latency_ms / 1e3), 0.0, 1.0), 0.0)
    power = idle + (target.tdp_w - idle) * u
    return power, power * latency_ms  # W * ms = mJ


def _segment_peak(graph: OpGraph) -> float:
    """Peak live activation bytes of a segment's fused graph as the whole graph has them there: the
    segment's input (its free stand-in producer's output) live from the start until its last use."""
    stand_in = [o for o in graph.ops if o.kind == "memory" and o.detail == "external"]
    if not stand_in:  # the first segment reads the model input, counted as in the whole graph
        return graph_variant(graph, "fused").peak_activation_bytes()
    ops = [o.evolve(write_bytes=graph.input_bytes) if o is stand_in[0] else o for o in graph.ops]
    return graph_variant(OpGraph(ops, graph.outputs, 0.0, graph.dtype_bytes, dict(graph.meta)),
                         "fused").peak_activation_bytes()


def _linear(cal: Calibration, feats: dict[str, np.ndarray]) -> float:
    """The calibration's linear part (before the residual correction)."""
    return float(cal._design(feats[cal.variant])[0] @ np.asarray(cal.theta))


def load_model_graph(model: Any, batch_size: int = 1, dtype: str = "fp32", input_shape=None,
                     config: Any = None) -> OpGraph:
    """An OpGraph from an OpGraph, an ONNX path, a torch module (with ``input_shape``) or a space name."""
    from hwopt.hardware.graph import from_onnx, from_torch

    width = DTYPE_BYTES.get(dtype)
    if width is None:
        raise ConfigError(f"unknown dtype {dtype!r}; valid: {', '.join(DTYPE_BYTES)}")
    if isinstance(model, OpGraph):
        return model
    if isinstance(model, (str, Path)) and str(model).lower().endswith(".onnx"):
        return from_onnx(model, batch_size, width)
    if isinstance(model, str):
        from hwopt.supernets import get_space

        space = get_space(model)
        if config is None:
            raise ConfigError(f"model space {model!r} needs a config (--config JSON or arch string)")
        return graph_builder(space)(space.parse_config(config), batch_size, width)
    if input_shape is None:
        raise ConfigError("estimating a torch module needs input_shape")
    return from_torch(model, (batch_size, *tuple(input_shape)[1:]), width)


def estimate(model: Any, hardware: str | HardwareTarget, batch_size: int = 1, dtype: str | None = None,
             calibration: Calibration | str | None = None, input_shape=None, config: Any = None,
             hardware_files: tuple = (), runtime: str = "compiled") -> Estimate:
    """Latency / memory / energy estimate of ``model`` on ``hardware`` (see module docstring)."""
    from hwopt.hardware._local import resolve_hardware

    if batch_size < 1:
        raise ConfigError(f"batch size must be >= 1, got {batch_size}")
    get_runtime(runtime)  # an unknown runtime fails before any graph is built
    target = hardware if isinstance(hardware, HardwareTarget) else resolve_hardware(hardware, *hardware_files)
    dtype = dtype or target.default_dtype
    graph = load_model_graph(model, batch_size, dtype, input_shape, config)
    return estimate_graph(graph, target, batch_size, dtype, calibration, runtime)


#: cost-model metrics a search can optimise as ``NAME@HARDWARE`` (e.g. ``latency@a100-80gb``)
COST_METRICS = {"latency": "latency_ms", "energy": "energy_mj", "memory": "memory_mb", "cost": "usd_per_million"}
#: why a metric cannot be estimated on a target that lacks a catalog field
_NEEDS = {"energy": ("tdp_w", "TDP"), "cost": ("price_per_hour_usd", "price per hour")}


def check_calibration(cal: Calibration, name: str | None, target: HardwareTarget) -> None:
    """Refuse a calibration fitted for another hardware target, or on a column other than latency
    in milliseconds (an energy calibration is for ``hwopt costmodel evaluate``, not estimates)."""
    if cal.hardware and cal.hardware != target.name:
        raise ConfigError(f"calibration {name or ''!r} was fitted for hardware {cal.hardware!r}, not {target.name!r}")
    if cal.metric != "latency_ms":
        raise ConfigError(f"calibration {name or ''!r} was fitted on {cal.metric!r}; estimates need one fitted on "
                          "latency_ms")


def check_cost_metric(name: str, target: HardwareTarget) -> None:
    """Refuse a cost metric ``name`` (latency, energy, ...) that ``target`` lacks the data for."""
    field, what = _NEEDS.get(name, (None, ""))
    if field and not getattr(target, field):
        raise ConfigError(f"hardware {target.name!r} has no {what} in the catalog, so {name} cannot be estimated "
                          "(add it with --hardware-file)")


def cost_metric(model_space: Any, config: Any, metric: str, batch_size: int = 1, dtype: str | None = None,
                calibration: Calibration | str | None = None, hardware_files: tuple = (),
                runtime: str = "compiled") -> float:
    """Value of ``metric`` = ``latency@HW`` / ``energy@HW`` / ``memory@HW`` / ``cost@HW`` (US$ per
    million inferences at the catalog price) for one config of a model space.

    This is how objectives like ``latency@a100-80gb:min`` or ``energy@raspi5:min`` are computed
    inside a search: the config's operator graph (analytic where the space has one, else a torch
    trace) is costed on the catalog target, with a saved calibration when given (else as
    ``runtime`` would run it).
    """
    from hwopt.hardware._local import resolve_hardware

    name, sep, hw = metric.partition("@")
    if not sep or name not in COST_METRICS or not hw:
        raise ConfigError(f"cost metric {metric!r} must be NAME@HARDWARE with NAME one of "
                          f"{', '.join(COST_METRICS)}")
    target = resolve_hardware(hw, *hardware_files)
    dtype = dtype or target.default_dtype
    check_cost_metric(name, target)
    cfg = model_space.space.validate(config)
    width = DTYPE_BYTES.get(dtype, 4)
    graph = graph_builder(model_space)(cfg, batch_size, width)
    return float(getattr(estimate_graph(graph, target, batch_size, dtype, calibration, runtime), COST_METRICS[name]))


def cost_metric_rows(rows: GraphRows, X: np.ndarray, metric: str, batch_size: int = 1, dtype: str | None = None,
                     calibration: Calibration | str | None = None, hardware_files: tuple = (),
                     runtime: str = "compiled") -> np.ndarray | None:
    """:func:`cost_metric` of many encoded configs at once, from per-segment values: ``latency@HW``
    and ``energy@HW`` are sums over operators (roofline seconds, the calibration's features, the
    busy time of the power model) and ``memory@HW`` is summed weights plus the activation peak,
    the largest of a chain's segments' (each segment's input live until its last use), so a
    segmented space (``rows.segmented``) gets them without building whole graphs. None for a space
    without segments; NaN for configs the space rejects."""
    from hwopt.hardware._local import resolve_hardware

    name, sep, hw = metric.partition("@")
    if name not in COST_METRICS or not hw or not rows.segmented:
        return None
    target = resolve_hardware(hw, *hardware_files)
    dtype = dtype or target.default_dtype
    check_cost_metric(name, target)
    cal = load_calibration(calibration) if isinstance(calibration, str) else calibration
    if cal is not None:
        check_calibration(cal, calibration if isinstance(calibration, str) else None, target)
    width = DTYPE_BYTES.get(dtype, 4)
    if name == "memory":
        W = rows.sums(X, lambda g: [g.weight_bytes], "weight bytes", batch_size, width)
        P = rows.sums(X, lambda g: [_segment_peak(g)], "activation peak", batch_size, width, combine=np.maximum)
        return (W[:, 0] + P[:, 0]) / 1e6 if W.shape[1] else np.full(len(W), np.nan)

    def of(graph: OpGraph) -> np.ndarray:
        variants = graph_variants(graph)
        feats = features_of(graph, target, dtype)
        return np.concatenate([feats[v][0] for v in VARIANTS] + [[busy_seconds(variants[v], target, dtype)
                                                                  for v in VARIANTS]])

    tag = ("cost", target.name, target.kind, target.peak_flops(dtype), target.bandwidth_bytes_per_s, dtype)
    S = rows.sums(X, of, tag, batch_size, width)
    nf = len(FEATURES)
    if S.shape[1] == 0:  # every config rejected by the space
        return np.full(len(S), np.nan)
    feats = {v: S[:, k * nf:(k + 1) * nf] for k, v in enumerate(VARIANTS)}
    ok = np.isfinite(S).all(axis=1)
    latency = np.full(len(S), np.nan)
    if ok.any():
        latency[ok] = (cal.predict({v: F[ok] for v, F in feats.items()}) if cal is not None
                       else spec_seconds({v: F[ok] for v, F in feats.items()}, target.kind, runtime) * 1e3)
    if name == "latency":
        return latency
    if name == "cost":
        return _usd_per_million(target, latency, batch_size)
    busy = S[:, len(VARIANTS) * nf + VARIANTS.index(cal.variant if cal is not None else get_runtime(runtime).variant)]
    return power_energy(target, latency, busy)[1]
