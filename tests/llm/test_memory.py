"""Memory formulas against hand-computed values and the papers' formulas."""

import pytest

from hwopt.errors import ConfigError
from hwopt.llm import (
    Precision,
    activation_bytes_per_layer,
    get_model,
    inflight_microbatches,
    kv_cache_bytes,
    model_state_bytes_per_param,
    weight_bytes,
)

GPT3 = dict(s=2048, b=1, h=12288, a=96)


@pytest.mark.parametrize("model", ["gpt3-175b", "mt-nlg-530b", "gpt-22b"])
@pytest.mark.parametrize("t", [1, 2, 8])
@pytest.mark.parametrize("b", [1, 4])
def test_korthikanti_activation_formulas(model, t, b):
    m = get_model(model)
    s, h, a = 2048, m.hidden, m.heads
    sbh = s * b * h
    f = lambda sp, rc: activation_bytes_per_layer(m, s, b, t, sp, rc)  # noqa: E731
    assert f(False, "none") == pytest.approx(sbh * (10 + 24 / t + 5 * a * s / (h * t)))
    assert f(True, "none") == pytest.approx(sbh / t * (34 + 5 * a * s / h))
    assert f(True, "selective") == pytest.approx(sbh / t * 34)
    assert f(False, "selective") == pytest.approx(sbh * (10 + 24 / t))
    assert f(False, "full") == pytest.approx(2 * sbh)
    assert f(True, "full") == pytest.approx(2 * sbh / t)


def test_activation_without_dropout_and_flash():
    m = get_model("llama-2-7b")  # no dropout, gated MLP f=11008, GQA-free
    s, b, h, f = 4096, 1, 4096, 11008
    # replicated: 4 tensors of 2 bytes; Q,K,V,O: 8 bytes per h; MLP: 3 tensors of f; flash stats 4*a*s*b
    expected = s * b * (8 * h + 8 * h + 2 * 3 * f) + 4 * 32 * s * b
    assert activation_bytes_per_layer(m, s, b, flash=True) == pytest.approx(expected)


def test_inflight_microbatches():
    assert inflight_microbatches(8, 64) == 8
    assert inflight_microbatches(8, 4) == 4
    assert inflight_microbatches(8, 64, 3) == pytest.approx(8 * (1 + 7 / 24))


def test_zero_accounting():
    assert model_state_bytes_per_param(0, 64).total == 16
    assert model_state_bytes_per_param(1, 64).total == pytest.approx(2 + 2 + 12 / 64)
    assert model_state_bytes_per_param(2, 64).total == pytest.approx(2 + (2 + 12) / 64)
    assert model_state_bytes_per_param(3, 64).total == pytest.approx(16 / 64)
    assert model_state_bytes_per_param(2, 8, "cpu").total == pytest.approx(2)
    assert model_state_bytes_per_param(3, 8, "nvme", "nvme").total == 0
    with pytest.raises(ConfigError, match="stage 3"):
        model_state_bytes_per_param(2, 8, "cpu", "cpu")
    with pytest.raises(ConfigError, match="ZeRO stage"):
        model_state_bytes_per_param(4, 8)


def test_known_facts():
    assert weight_bytes(get_model("llama-2-7b"), Precision("bf16", "bf16", "bf16")) == 2 * 6_738_415_616
    m70 = get_model("llama-2-70b")
    assert m70.kv_bytes_per_token(2) == 2 * 80 * 8 * 128 * 2 == 327_680
    assert kv_cache_bytes(m70, 1000, Precision(kv_cache="fp16")) == 327_680_000
    # TP 8 splits the 8 KV heads; TP 16 would replicate (one head per GPU)
    assert kv_cache_bytes(m70, 1, Precision(kv_cache="fp16"), tp=8) == 327_680 / 8
    assert kv_cache_bytes(m70, 1, Precision(kv_cache="fp8")) == 163_840


def test_int4_weights_include_group_scales():
    m = get_model("llama-2-7b")
    p = Precision.parse("int4")
    w = weight_bytes(m, p)
    linear = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    other = 6_738_415_616 - linear
    assert w == pytest.approx(linear * (0.5 + 2 / 128) + other * 2)


def test_precision_parse_errors():
    assert Precision.parse("weights=int4,kv=fp8").kv_cache == "fp8"
    with pytest.raises(ConfigError, match="int3"):
        Precision.parse("int3")
    with pytest.raises(ConfigError, match="colour"):
        Precision.parse("colour=fp8")
