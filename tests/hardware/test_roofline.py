"""Roofline: op times respect both bounds; estimates carry memory, energy and intervals."""

from __future__ import annotations

import pytest

from hwopt.hardware import estimate_graph, load_catalog
from hwopt.hardware._roofline import COMPUTE_EFFICIENCY, MEMORY_EFFICIENCY, op_times
from hwopt.hardware.graph import GraphBuilder


def _graph(batch=1, c=64):
    g = GraphBuilder((batch, c, 28, 28))
    x = g.act(g.bn(g.conv(g.input, c, 3)))
    x = g.act(g.bn(g.conv(x, c, 3, groups=c)))
    return g.graph(g.linear(g.global_pool(x), 10))


@pytest.mark.parametrize("hw", ["A100-80GB", "raspi4", "xeon_gold_6226", "pixel2"])
def test_op_time_is_above_both_roofline_bounds(hw):
    t = load_catalog().get(hw)
    graph = _graph().fused()
    for ot in op_times(graph, t):
        assert ot.seconds >= ot.op.flops / t.peak_flops("fp32")
        assert ot.seconds >= ot.op.bytes / t.bandwidth_bytes_per_s
        assert ot.compute_s == pytest.approx(ot.op.flops / (t.peak_flops("fp32") * COMPUTE_EFFICIENCY[ot.op.kind]))
        assert ot.memory_s == pytest.approx(ot.op.bytes / (t.bandwidth_bytes_per_s * MEMORY_EFFICIENCY))


def test_dense_conv_compute_bound_pooling_memory_bound():
    cat = load_catalog()
    g = _graph(batch=8).fused()
    cpu = {ot.op.kind: ot.bound for ot in op_times(g, cat.get("xeon_gold_6240"))}
    gpu = {ot.op.kind: ot.bound for ot in op_times(g, cat.get("A100-80GB"))}
    assert cpu["conv"] == "compute"
    assert gpu["pool"] == "memory" and cpu["pool"] == "memory"


def test_estimate_scales_with_batch_and_reports_memory_energy():
    t = load_catalog().get("rtx4090")
    e1 = estimate_graph(_graph(1), t, 1)
    e64 = estimate_graph(_graph(64), t, 64)
    assert e64.latency_ms > e1.latency_ms
    assert e64.weights_mb == pytest.approx(e1.weights_mb)
    assert e64.activations_mb > e1.activations_mb
    lo, hi = e1.interval_ms
    assert lo < e1.latency_ms < hi
    assert e1.energy_mj == pytest.approx(e1.power_w * e1.latency_ms)
    assert (t.idle_w or 0) < e1.power_w <= t.tdp_w
    assert sum(o.ms for o in e1.ops) == pytest.approx(e1.latency_ms)


def test_lower_precision_is_not_slower():
    t = load_catalog().get("H100")
    g = _graph(32)
    assert estimate_graph(g, t, 32, "fp16").latency_ms <= estimate_graph(g, t, 32, "fp32").latency_ms
