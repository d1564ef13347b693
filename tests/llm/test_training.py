"""Training estimate: FLOP conventions, layout checks, and physically expected orderings."""

import pytest

from hwopt.errors import ConfigError
from hwopt.hardware import get_hardware
from hwopt.llm import TrainConfig, check_train_config, estimate_training, get_model, megatron_flops
from hwopt.llm import model_flops_per_token

A100 = get_hardware("A100-80GB-SXM")


def test_megatron_flops_formula():
    B, s, l, h, V = 512, 2048, 24, 2304, 51200
    assert megatron_flops(B, s, l, h, V, True) == pytest.approx(
        96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h)))
    assert megatron_flops(B, s, l, h, V, False) / megatron_flops(B, s, l, h, V, True) == pytest.approx(
        72 * (1 + s / (6 * h) + V / (12 * l * h)) / (96 * (1 + s / (6 * h) + V / (16 * l * h))))


def test_model_flops_match_megatron_convention():
    m = get_model("gpt3-175b").with_(vocab=51200)
    per_token = model_flops_per_token(m, 2048)
    ref = megatron_flops(1, 2048, 96, 12288, 51200, False) / 2048
    assert per_token == pytest.approx(ref, rel=2e-3)  # differs only by biases and norms


@pytest.mark.parametrize("changes, reason", [
    (dict(tp=16, dp=8), "TP 16 exceeds 8 GPUs per node"),
    (dict(pp=5, dp=1), "does not divide 96 layers"),
    (dict(dp=7), "not divisible by DP 7"),
    (dict(tp=8, dp=1, virtual_stages=2), "needs PP > 1"),
    (dict(precision="fp8"), "no fp8"),
    (dict(zero=2, pp=2), "pipeline"),
    (dict(offload_params="cpu", zero=2), "stage 3"),
    (dict(cp=2, flash=False), "flash"),
])
def test_layout_rejections(changes, reason):
    cfg = TrainConfig(global_batch=64, seq_len=2048, **changes)
    msg = check_train_config(get_model("gpt3-175b"), A100, cfg)
    assert msg and reason in msg
    with pytest.raises(ConfigError, match=reason.split()[0]):
        estimate_training("gpt3-175b", A100, cfg)


def test_orderings():
    base = dict(global_batch=64, seq_len=2048, tp=8, pp=8, dp=1, sp=True, flash=False)
    full = estimate_training("gpt3-175b", "a100", recompute="full", **base)
    sel = estimate_training("gpt3-175b", "a100", recompute="selective", **base)
    none = estimate_training("gpt3-175b", "a100", recompute="none", **base)
    assert none.iter_time_s < sel.iter_time_s < full.iter_time_s
    assert full.memory["activations"] < sel.memory["activations"] < none.memory["activations"]
    assert full.hfu > full.mfu
    inter = estimate_training("gpt3-175b", "a100", recompute="full", virtual_stages=3, **base)
    assert inter.time["bubble"] == pytest.approx(full.time["bubble"] / 3, rel=0.05)


def test_zero_offload_memory_and_time():
    base = dict(global_batch=64, seq_len=2048, dp=8, micro_batch=1, recompute="full")
    z0 = estimate_training("llama-2-7b", "a100-80gb", zero=0, **base)
    z3 = estimate_training("llama-2-7b", "a100-80gb", zero=3, **base)
    off = estimate_training("llama-2-7b", "a100-80gb", zero=3, offload_optimizer="cpu", offload_params="cpu", **base)
    n = get_model("llama-2-7b").total_params()
    assert z0.memory["weights"] + z0.memory["gradients"] + z0.memory["optimizer"] == pytest.approx(16 * n)
    assert z3.memory["optimizer"] == pytest.approx(12 * n / 8)
    assert off.memory["optimizer"] == 0 and off.memory["weights"] == 0
    assert off.iter_time_s > z3.iter_time_s


def test_cost_and_time_to_train():
    est = estimate_training("gpt3-175b", "a100-80gb", global_batch=1536, seq_len=2048, tp=8, pp=8, dp=16,
                            recompute="selective", sp=True)
    tokens = 300e9
    assert est.time_to_train_s(tokens) == pytest.approx(tokens / est.tokens_per_s)
    assert est.cost_to_train_usd(tokens) == pytest.approx(est.time_to_train_s(tokens) / 3600 * 1024 * 5.12)
    assert 0.3 < est.mfu < 0.7
