"""Named model presets, written as the fields of their published config.json (or paper table).

Each preset goes through the same parser as a user's config.json, so a preset and the file it
was copied from give the same ModelSpec. ``source`` says where the numbers come from.
"""

from __future__ import annotations

import re
from pathlib import Path

from hwopt.errors import UnknownNameError
from hwopt.llm._spec import ModelSpec, spec_from_hf_config


def _llama(h, f, l, a, kv, v, pos, src, **kw):
    cfg = {"model_type": "llama", "hidden_size": h, "intermediate_size": f, "num_hidden_layers": l,
           "num_attention_heads": a, "num_key_value_heads": kv, "vocab_size": v,
           "max_position_embeddings": pos, "tie_word_embeddings": False}
    cfg.update(kw)
    return cfg, src


def _megatron(l, h, a, v=51200, s=2048, src="Narayanan et al. 2021 (arXiv 2104.04473) Table 1"):
    """Megatron-LM GPT: GPT-2 architecture (learned positions, tied embeddings, biases, 4h MLP)."""
    return {"model_type": "gpt2", "n_layer": l, "n_embd": h, "n_head": a, "vocab_size": v,
            "n_positions": s, "resid_pdrop": 0.1}, src


_HF = "Hugging Face config.json of"
PRESETS: dict[str, tuple[dict, str]] = {
    "llama-2-7b": _llama(4096, 11008, 32, 32, 32, 32000, 4096, f"{_HF} meta-llama/Llama-2-7b-hf"),
    "llama-2-13b": _llama(5120, 13824, 40, 40, 40, 32000, 4096, f"{_HF} meta-llama/Llama-2-13b-hf"),
    "llama-2-70b": _llama(8192, 28672, 80, 64, 8, 32000, 4096, f"{_HF} meta-llama/Llama-2-70b-hf"),
    "llama-3-8b": _llama(4096, 14336, 32, 32, 8, 128256, 8192, f"{_HF} meta-llama/Meta-Llama-3-8B"),
    "llama-3-70b": _llama(8192, 28672, 80, 64, 8, 128256, 8192, f"{_HF} meta-llama/Meta-Llama-3-70B"),
    "mistral-7b": _llama(4096, 14336, 32, 32, 8, 32000, 32768, f"{_HF} mistralai/Mistral-7B-v0.1",
                         model_type="mistral"),
    "mixtral-8x7b": _llama(4096, 14336, 32, 32, 8, 32000, 32768, f"{_HF} mistralai/Mixtral-8x7B-v0.1",
                           model_type="mixtral", num_local_experts=8, num_experts_per_tok=2),
    "qwen2-7b": _llama(3584, 18944, 28, 28, 4, 152064, 131072, f"{_HF} Qwen/Qwen2-7B",
                       model_type="qwen2"),
    "deepseek-moe-16b": _llama(2048, 10944, 28, 16, 16, 102400, 4096, f"{_HF} deepseek-ai/deepseek-moe-16b-base",
                               model_type="deepseek", n_routed_experts=64, num_experts_per_tok=6,
                               n_shared_experts=2, moe_intermediate_size=1408, first_k_dense_replace=1),
    "gpt2": ({"model_type": "gpt2", "n_layer": 12, "n_embd": 768, "n_head": 12, "vocab_size": 50257,
              "n_positions": 1024}, f"{_HF} openai-community/gpt2"),
    "gpt2-xl": ({"model_type": "gpt2", "n_layer": 48, "n_embd": 1600, "n_head": 25, "vocab_size": 50257,
                 "n_positions": 1024}, f"{_HF} openai-community/gpt2-xl"),
    "pythia-6.9b": ({"model_type": "gpt_neox", "num_hidden_layers": 32, "hidden_size": 4096,
                     "num_attention_heads": 32, "intermediate_size": 16384, "vocab_size": 50432,
                     "max_position_embeddings": 2048, "use_parallel_residual": True,
                     "tie_word_embeddings": False}, f"{_HF} EleutherAI/pythia-6.9b"),
    "falcon-7b": ({"model_type": "falcon", "num_hidden_layers": 32, "hidden_size": 4544,
                   "num_attention_heads": 71, "multi_query": True, "parallel_attn": True, "bias": False,
                   "vocab_size": 65024, "new_decoder_architecture": False}, f"{_HF} tiiuae/falcon-7b"),
    # GPT-3 175B as trained by OpenAI (Brown et al. 2020, Table 2.1; GPT-2 BPE vocabulary).
    "gpt3-175b": _megatron(96, 12288, 96, v=50257, src="Brown et al. 2020 (arXiv 2005.14165) Table 2.1"),
    # Megatron-LM GPT configurations (vocabulary padded to 51200 as in the Megatron runs).
    "megatron-gpt-1.7b": _megatron(24, 2304, 24),
    "megatron-gpt-3.6b": _megatron(30, 3072, 32),
    "megatron-gpt-7.5b": _megatron(36, 4096, 32),
    "megatron-gpt-18.4b": _megatron(40, 6144, 48),
    "megatron-gpt-39.1b": _megatron(48, 8192, 64),
    "megatron-gpt-76.1b": _megatron(60, 10240, 80),
    "megatron-gpt-145.6b": _megatron(80, 12288, 96),
    "megatron-gpt-310.1b": _megatron(96, 16384, 128),
    "megatron-gpt-529.6b": _megatron(105, 20480, 128),
    "megatron-gpt-1t": _megatron(128, 25600, 160),
    "gpt-22b": _megatron(48, 6144, 64, src="Korthikanti et al. 2022 (arXiv 2205.05198) Table 3"),
    "mt-nlg-530b": _megatron(105, 20480, 128, src="Korthikanti et al. 2022 (arXiv 2205.05198) Table 3"),
}


def _key(name: str) -> str:
    return re.sub(r"[\s_\-.]+", "", name.strip().lower())


def preset_names() -> list[str]:
    return sorted(PRESETS)


def get_model(name_or_path: str | Path | ModelSpec) -> ModelSpec:
    """A preset by name (case/dash-insensitive) or a local config.json path."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == ".json" or path.is_file() or path.is_dir():
        if path.is_dir():
            path = path / "config.json"
        return spec_from_hf_config(path)
    wanted = _key(text)
    for name, (cfg, src) in PRESETS.items():
        if _key(name) == wanted:
            return spec_from_hf_config(cfg, name).with_(source=src)
    raise UnknownNameError("model preset (or config.json path)", text, preset_names())
