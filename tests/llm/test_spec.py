"""Model specs: presets reproduce published parameter counts; config.json parsing and its errors."""

import json

import pytest

from hwopt.errors import ConfigError, UnknownNameError
from hwopt.llm import get_model, preset_names, spec_from_hf_config


@pytest.mark.parametrize("name, total, active", [
    ("llama-2-7b", 6_738_415_616, 6_738_415_616),
    ("llama-2-13b", 13_015_864_320, 13_015_864_320),
    ("llama-2-70b", 68_976_648_192, 68_976_648_192),
    ("llama-3-8b", 8_030_261_248, 8_030_261_248),
    ("mistral-7b", 7_241_732_096, 7_241_732_096),
    ("mixtral-8x7b", 46_702_792_704, 12_879_925_248),
    ("qwen2-7b", 7_615_616_512, 7_615_616_512),
    ("gpt2", 124_439_808, 124_439_808),
    ("pythia-6.9b", 6_857_302_016, 6_857_302_016),
    ("falcon-7b", 6_921_720_704, 6_921_720_704),
])
def test_preset_parameter_counts(name, total, active):
    m = get_model(name)
    assert m.total_params() == total
    assert m.active_params() == active


def test_mixtral_hand_count():
    # attention 2*4096^2 + 2*4096*1024, 8 experts of 3*4096*14336, router 4096*8, 2 RMSNorms
    attn, expert = 2 * 4096**2 + 2 * 4096 * 1024, 3 * 4096 * 14336
    layer_total = attn + 8 * expert + 4096 * 8 + 2 * 4096
    layer_active = attn + 2 * expert + 4096 * 8 + 2 * 4096
    emb = 2 * 32000 * 4096 + 4096
    m = get_model("Mixtral-8x7B")
    assert m.total_params() == 32 * layer_total + emb
    assert m.active_params() == 32 * layer_active + emb


def test_megatron_gpt_counts_follow_paper_formula():
    # Narayanan et al. 2021: P = 12 l h^2 (1 + 13/(12h) + (V + s)/(12 l h)), plus the final
    # layernorm (2h) that the paper's formula leaves out
    m = get_model("megatron-gpt-1.7b")
    l, h, V, s = 24, 2304, 51200, 2048
    paper = 12 * l * h * h * (1 + 13 / (12 * h) + (V + s) / (12 * l * h))
    assert m.total_params() == round(paper) + 2 * h


def test_presets_have_sources():
    for n in preset_names():
        assert get_model(n).source


def _write(tmp_path, cfg):
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    return p


def test_parse_llama_config_file(tmp_path):
    p = _write(tmp_path, {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 11008,
                          "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
                          "vocab_size": 32000, "max_position_embeddings": 4096})
    assert spec_from_hf_config(p).total_params() == 6_738_415_616
    assert get_model(str(p)).total_params() == 6_738_415_616
    assert get_model(str(tmp_path)).layers == 32  # directory holding config.json


def test_parse_deepseek_moe_and_falcon_and_neox():
    ds = get_model("deepseek-moe-16b")
    assert ds.is_moe and ds.moe_layers == 27 and ds.n_shared_experts == 2
    assert 16.3e9 < ds.total_params() < 16.5e9 and 2.7e9 < ds.active_params() < 2.9e9
    assert get_model("falcon-7b").kv_heads == 1
    assert get_model("pythia-6.9b").parallel_attn


@pytest.mark.parametrize("cfg, field", [
    ({"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 2,
      "vocab_size": 10}, "intermediate_size"),
    ({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 1, "num_hidden_layers": "x",
      "num_attention_heads": 32, "vocab_size": 10}, "num_hidden_layers"),
    ({"model_type": "t5"}, "model_type"),
    ({"hidden_size": 1}, "model_type"),
    ({"model_type": "llama", "kv_lora_rank": 512}, "kv_lora_rank"),
    ({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 8, "num_key_value_heads": 3, "vocab_size": 100}, "num_key_value_heads"),
    ({"model_type": "mixtral", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
      "num_attention_heads": 8, "vocab_size": 100, "num_local_experts": 4, "num_experts_per_tok": 5},
     "num_experts_per_tok"),
])
def test_config_errors_name_the_field(cfg, field):
    with pytest.raises(ConfigError) as info:
        spec_from_hf_config(cfg)
    assert field in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        spec_from_hf_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        spec_from_hf_config(bad)
    with pytest.raises(UnknownNameError, match="llama-2-7b"):
        get_model("llama-9-9b")
