"""Roofline: op times respect both bounds; estimates carry memory, energy and intervals."""

from __future__ import annotations

import numpy as np
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


def test_eager_runtime_runs_every_op_and_pays_dispatch():
    """PyTorch eager runs one kernel per op (no fusion) and each call also costs the framework's
    dispatch: the spec-sheet estimate sums the unfused graph's ops at launch + dispatch overhead."""
    from hwopt.hardware._roofline import EAGER_DISPATCH_S, OVERHEAD_S

    t = load_catalog().get("titan_rtx")
    g = _graph(1)
    compiled = estimate_graph(g, t, 1)
    eager = estimate_graph(g, t, 1, runtime="eager")
    unfused = g.without_free()
    assert eager.runtime == "eager" and compiled.runtime == "compiled" and eager.variant == "unfused"
    assert len(eager.ops) == len([o for o in unfused.ops if o.flops or o.bytes]) > len(compiled.ops)
    expected = sum(max(o.compute_s, o.memory_s) for o in op_times(unfused, t)) + len(eager.ops) * (
        OVERHEAD_S["gpu"] + EAGER_DISPATCH_S)
    assert eager.latency_ms == pytest.approx(expected * 1e3)
    assert eager.latency_ms > compiled.latency_ms


def test_unknown_runtime_is_a_config_error():
    from hwopt.errors import ConfigError
    from hwopt.hardware import estimate

    with pytest.raises(ConfigError, match="unknown runtime 'jit'; valid: compiled, eager"):
        estimate("nb201", "titan_rtx", config="|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
                 runtime="jit")


def test_eager_runtime_ranks_eager_measurements_better(data_dir):
    """HELP measured NAS-Bench-201 on GPUs with PyTorch eager: at batch 1 its latencies follow the
    number of ops, which the fused (compiled) graph undercounts. On 300 cells of titan_x at batch
    1, the eager spec-sheet estimate ranks them at Spearman 0.98 (compiled: 0.84) and lies 4.1 x
    below the measurements (median) instead of 14 x."""
    import pandas as pd
    from scipy.stats import spearmanr

    from hwopt.hardware._features import VARIANTS, graph_table, spec_seconds
    from hwopt.supernets import get_space

    lat = pd.read_csv(data_dir / "nb201" / "latency.csv.gz", dtype={"batch_size": "Int64"})
    rows = lat[(lat.device == "titan_x") & (lat.batch_size == 1)].sample(300, random_state=0)
    space = get_space("nb201")
    cfgs = [space.parse_config(a) for a in rows.arch]
    keep = np.array([space.op_graph(c).output_depends_on_input() for c in cfgs])
    table = graph_table(space, [c for c, k in zip(cfgs, keep) if k], 1, cache=False)
    target = load_catalog().get("titan_x")
    feats = {v: table.features(target, "fp32", v) for v in VARIANTS}
    y = rows.latency_ms.to_numpy(float)[keep]
    rho, gap = {}, {}
    for rt in ("compiled", "eager"):
        p = spec_seconds(feats, target.kind, rt) * 1e3
        rho[rt], gap[rt] = spearmanr(p, y)[0], float(np.median(y / p))
    assert rho["eager"] >= 0.95 > 0.9 > rho["compiled"]
    assert 2 < gap["eager"] < 6 < 10 < gap["compiled"]
