"""Latency statistics and stopping rule, machine state, BN re-calibration, accuracy."""

from __future__ import annotations

import itertools

import pytest

from hwopt.errors import ConfigError
from hwopt.evaluators._latency import latency_stats, machine_state, median_rel_ci, time_until_stable


def test_latency_stats_fields():
    s = latency_stats([1.0, 2.0, 3.0, 4.0, 10.0])
    assert s == {"median": 3.0, "p10": pytest.approx(1.4), "p90": pytest.approx(7.6),
                 "cv": pytest.approx(3.535533 / 4.0, rel=1e-5), "n": 5, "unit": "ms"}


def test_median_ci_shrinks_with_more_samples():
    import numpy as np

    rng = np.random.default_rng(0)
    x = list(1.0 + 0.1 * rng.standard_normal(2000))
    assert median_rel_ci(x[:20]) > median_rel_ci(x[:2000])
    assert median_rel_ci(x[:2]) == float("inf")
    assert median_rel_ci([5.0] * 50) == 0.0


def test_stops_when_median_is_stable():
    calls = itertools.count()
    s = time_until_stable(lambda: next(calls), warmup_s=0.0, min_warmup=3, min_repeats=20, max_repeats=500, rel_ci=10.0)
    assert s["n"] == 20  # a huge tolerance is met at the first check
    s = time_until_stable(lambda: None, warmup_s=0.0, min_warmup=1, min_repeats=10, max_repeats=40, rel_ci=0.0)
    assert s["n"] == 40  # an impossible tolerance runs to max_repeats


def test_machine_state_records_environment():
    st = machine_state("onnxruntime", 1)
    assert st["cpu"] and st["logical_cores"] >= 1 and st["threads"] == 1 and st["runtime"] == "onnxruntime"
    assert "onnxruntime" in st["versions"] and "python" in st


def test_measure_latency_both_runtimes():
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from hwopt.evaluators import measure_latency

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(64, 2))
    for runtime in ("onnxruntime", "torch"):
        s = measure_latency(model, (2, 1, 6, 6), runtime=runtime, threads=1, warmup_s=0.0, min_repeats=10,
                            max_time_s=0.2)
        assert s["unit"] == "ms" and s["n"] >= 10 and 0 < s["p10"] <= s["median"] <= s["p90"]
    with pytest.raises(ConfigError, match="valid: onnxruntime, torch"):
        measure_latency(model, (1, 1, 6, 6), runtime="tflite")
    with pytest.raises(ConfigError, match="threads"):
        measure_latency(model, (1, 1, 6, 6), threads=0)


def test_bn_recalibration_changes_statistics_and_accuracy_is_percent():
    torch = pytest.importorskip("torch")
    from hwopt.evaluators import recalibrate_bn, top1_accuracy

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 1), torch.nn.BatchNorm2d(3), torch.nn.Flatten(),
                                torch.nn.Linear(12, 2))
    bn = model[1]
    bn.momentum = 0.1
    x = 3.0 + 2.0 * torch.randn(64, 1, 2, 2)
    y = torch.zeros(64, dtype=torch.long)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    assert recalibrate_bn(model, batches) == 4
    assert not model.training and bn.momentum == 0.1
    with torch.no_grad():
        feats = model[0](x)
    # the exact mean over the batches, not an exponential moving average
    assert torch.allclose(bn.running_mean, feats.mean(dim=(0, 2, 3)), atol=1e-5)
    assert not torch.allclose(bn.running_var, torch.ones(3))
    acc = top1_accuracy(model, batches)
    assert 0.0 <= acc <= 100.0
