"""ModelSpec: the dimensions of a decoder-only transformer, from a Hugging Face config.json.

One dataclass covers dense (GPT-2 / GPT-NeoX / Falcon / Llama / Mistral / Qwen, with grouped-query
attention) and mixture-of-experts models (Mixtral, DeepSeek-MoE style shared + routed experts);
parameter counts are exact for the supported architectures, so published sizes can be checked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError


@dataclass(frozen=True)
class ModelSpec:
    """Architecture numbers needed by the memory and time model (no weights)."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    ffn_hidden: int
    vocab: int
    head_dim: int = 0  # 0 -> hidden // heads
    max_seq: int = 2048
    gated_mlp: bool = False  # SwiGLU-style (gate, up, down) instead of (fc1, fc2)
    bias: bool = True  # linear layers carry biases (GPT-2, NeoX, Megatron GPT)
    qkv_bias: bool = False  # only the q/k/v projections have biases (Qwen2)
    tied_embeddings: bool = False
    learned_pos: bool = False  # GPT-2 learned position embeddings (max_seq x hidden)
    norm: str = "layernorm"  # or "rmsnorm" (no bias)
    parallel_attn: bool = False  # attention and MLP read the same input (GPT-J / NeoX / Falcon)
    shared_norm: bool = False  # Falcon-7B: one layernorm feeds both branches
    dropout: bool = False  # dropout layers present during training (masks kept for backward)
    n_experts: int = 0  # routed experts per MoE layer (0 = dense)
    experts_per_token: int = 0
    moe_ffn_hidden: int = 0  # width of one routed expert (0 -> ffn_hidden)
    n_shared_experts: int = 0
    first_dense_layers: int = 0  # DeepSeek: first k layers use a dense MLP of width ffn_hidden
    source: str = ""

    def __post_init__(self) -> None:
        if not self.head_dim:
            object.__setattr__(self, "head_dim", self.hidden // self.heads)

    # -- derived sizes ------------------------------------------------------------------
    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def is_moe(self) -> bool:
        return self.n_experts > 0

    @property
    def expert_hidden(self) -> int:
        return self.moe_ffn_hidden or self.ffn_hidden

    @property
    def moe_layers(self) -> int:
        return self.layers - self.first_dense_layers if self.is_moe else 0

    def mlp_params(self, width: int) -> int:
        """Parameters of one MLP (or one expert) of the given intermediate width."""
        h = self.hidden
        mats = 3 if self.gated_mlp else 2
        bias = (2 * width + h if self.gated_mlp else width + h) if self.bias else 0
        return mats * h * width + bias

    def attn_params(self) -> int:
        h, q, kv = self.hidden, self.q_dim, self.kv_dim
        w = h * q + 2 * h * kv + q * h
        if self.bias:
            w += q + 2 * kv + h
        elif self.qkv_bias:
            w += q + 2 * kv
        return w

    def norm_params(self) -> int:
        return self.hidden * (1 if self.norm == "rmsnorm" else 2)

    def layer_params(self, moe_layer: bool, active: bool = False) -> int:
        """One decoder layer; ``active`` counts only the experts a token is routed to."""
        norms = self.norm_params() * (1 if self.shared_norm else 2)
        p = self.attn_params() + norms
        if moe_layer:
            n_routed = self.experts_per_token if active else self.n_experts
            p += n_routed * self.mlp_params(self.expert_hidden)
            p += self.n_shared_experts * self.mlp_params(self.expert_hidden)
            p += self.hidden * self.n_experts  # router
        else:
            p += self.mlp_params(self.ffn_hidden)
        return p

    def embedding_params(self) -> int:
        p = self.vocab * self.hidden
        if self.learned_pos:
            p += self.max_seq * self.hidden
        return p

    def head_params(self) -> int:
        """Output projection (lm_head); zero when tied to the input embedding."""
        return 0 if self.tied_embeddings else self.vocab * self.hidden

    def total_params(self, active: bool = False) -> int:
        dense = self.layers - self.moe_layers
        p = dense * self.layer_params(False) + self.moe_layers * self.layer_params(True, active)
        return p + self.embedding_params() + self.head_params() + self.norm_params()

    def active_params(self) -> int:
        return self.total_params(active=True)

    def non_embedding_params(self, active: bool = False) -> int:
        return self.total_params(active) - self.embedding_params() - self.head_params()

    def kv_bytes_per_token(self, bytes_per_value: float) -> float:
        """K and V of every layer for one token (GQA/MQA: kv_heads, not heads)."""
        return 2 * self.layers * self.kv_dim * bytes_per_value

    def with_(self, **changes: Any) -> "ModelSpec":
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- Hugging Face config.json ----------------------------------------------------------

def _get(cfg: dict, *keys: str, default: Any = None, required: bool = True, where: str = "config.json: ") -> Any:
    for k in keys:
        if k in cfg and cfg[k] is not None:
            return cfg[k]
    if required and default is None:
        raise ConfigError(f"{where}missing field {keys[0]!r}")
    return default


def _int(cfg: dict, *keys: str, default: int | None = None, where: str = "config.json: ") -> int:
    v = _get(cfg, *keys, default=default, where=where)
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        raise ConfigError(f"{where}field {keys[0]!r} must be a positive integer, got {v!r}")
    return v


_UNSUPPORTED = {
    "kv_lora_rank": "multi-head latent attention (DeepSeek-V2/V3 MLA)",
    "encoder_layers": "encoder-decoder models",
    "cross_attention_hidden_size": "cross-attention",
}


def spec_from_hf_config(config: dict | str | Path, name: str | None = None) -> ModelSpec:
    """Parse a Hugging Face ``config.json`` (dict or local path) into a :class:`ModelSpec`.

    Supported ``model_type``: llama, mistral, qwen2, mixtral, qwen2_moe, deepseek (MoE without
    MLA), gpt2, gpt_neox, falcon. Anything else raises one ConfigError naming the field.
    """
    where = "config.json: "
    if not isinstance(config, dict):
        path = Path(config)
        where = f"{path}: "
        if not path.is_file():
            raise ConfigError(f"model config file {str(path)!r} does not exist")
        try:
            config = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc})") from None
        name = name or path.parent.name or path.stem
        where = f"{path}: "
    if not isinstance(config, dict):
        raise ConfigError(f"{where}must be a JSON object")
    mtype = config.get("model_type")
    if not isinstance(mtype, str):
        raise ConfigError(f"{where}missing field 'model_type'; supported: {', '.join(sorted(_PARSERS))}")
    for key, what in _UNSUPPORTED.items():
        if config.get(key) not in (None, 0):
            raise ConfigError(f"{where}field {key!r} ({what}) is not supported")
    parser = _PARSERS.get(mtype)
    if parser is None:
        raise ConfigError(
            f"{where}field 'model_type' = {mtype!r} is not supported; "
            f"supported: {', '.join(sorted(_PARSERS))}"
        )
    spec = parser(config, name or mtype, where)
    if spec.heads % spec.kv_heads:
        raise ConfigError(
            f"{where}field 'num_key_value_heads' = {spec.kv_heads} does not divide "
            f"num_attention_heads = {spec.heads}"
        )
    if spec.is_moe and not 0 < spec.experts_per_token <= spec.n_experts:
        raise ConfigError(
            f"{where}field 'num_experts_per_tok' = {spec.experts_per_token} must be in "
            f"1..{spec.n_experts}"
        )
    return spec


def _llama_like(cfg: dict, name: str, where: str) -> ModelSpec:
    heads = _int(cfg, "num_attention_heads", where=where)
    hidden = _int(cfg, "hidden_size", where=where)
    head_dim = cfg.get("head_dim") or hidden // heads
    mtype = cfg["model_type"]
    n_exp = cfg.get("num_local_experts") or cfg.get("n_routed_experts") or cfg.get("num_experts") or 0
    moe_width = cfg.get("moe_intermediate_size") or 0
    return ModelSpec(
        name=name,
        layers=_int(cfg, "num_hidden_layers", where=where),
        hidden=hidden,
        heads=heads,
        kv_heads=_int(cfg, "num_key_value_heads", default=heads, where=where),
        ffn_hidden=_int(cfg, "intermediate_size", where=where),
        vocab=_int(cfg, "vocab_size", where=where),
        head_dim=int(head_dim),
        max_seq=_int(cfg, "max_position_embeddings", default=4096, where=where),
        gated_mlp=True,
        bias=bool(cfg.get("mlp_bias", False)),
        qkv_bias=bool(cfg.get("attention_bias", mtype.startswith("qwen2"))),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        norm="rmsnorm",
        n_experts=int(n_exp),
        experts_per_token=int(cfg.get("num_experts_per_tok") or 0) if n_exp else 0,
        moe_ffn_hidden=int(moe_width),
        n_shared_experts=int(cfg.get("n_shared_experts") or 0),
        first_dense_layers=int(cfg.get("first_k_dense_replace") or 0),
        source=f"Hugging Face config.json (model_type={mtype})",
    )


def _qwen2_moe(cfg: dict, name: str, where: str) -> ModelSpec:
    spec = _llama_like(cfg, name, where)
    shared = int(cfg.get("shared_expert_intermediate_size") or 0)
    width = spec.expert_hidden
    # Qwen2-MoE has one shared expert of a different width; express it in expert units.
    n_shared = shared // width if shared and shared % width == 0 else 0
    if shared and not n_shared:
        raise ConfigError(
            f"{where}field 'shared_expert_intermediate_size' = {shared} is not a multiple "
            f"of moe_intermediate_size = {width}"
        )
    return spec.with_(n_shared_experts=n_shared)


def _gpt2(cfg: dict, name: str, where: str) -> ModelSpec:
    hidden = _int(cfg, "n_embd", where=where)
    return ModelSpec(
        name=name,
        layers=_int(cfg, "n_layer", where=where),
        hidden=hidden,
        heads=_int(cfg, "n_head", where=where),
        kv_heads=_int(cfg, "n_head", where=where),
        ffn_hidden=_int(cfg, "n_inner", default=4 * hidden, where=where),
        vocab=_int(cfg, "vocab_size", where=where),
        max_seq=_int(cfg, "n_positions", "n_ctx", where=where),
        tied_embeddings=True,
        learned_pos=True,
        dropout=float(cfg.get("resid_pdrop", 0.1) or 0) > 0,
        source="Hugging Face config.json (model_type=gpt2)",
    )


def _gpt_neox(cfg: dict, name: str, where: str) -> ModelSpec:
    heads = _int(cfg, "num_attention_heads", where=where)
    return ModelSpec(
        name=name,
        layers=_int(cfg, "num_hidden_layers", where=where),
        hidden=_int(cfg, "hidden_size", where=where),
        heads=heads,
        kv_heads=heads,
        ffn_hidden=_int(cfg, "intermediate_size", where=where),
        vocab=_int(cfg, "vocab_size", where=where),
        max_seq=_int(cfg, "max_position_embeddings", default=2048, where=where),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        parallel_attn=bool(cfg.get("use_parallel_residual", True)),
        source="Hugging Face config.json (model_type=gpt_neox)",
    )


def _falcon(cfg: dict, name: str, where: str) -> ModelSpec:
    hidden = _int(cfg, "hidden_size", where=where)
    heads = _int(cfg, "num_attention_heads", "n_head", where=where)
    new_arch = bool(cfg.get("new_decoder_architecture", False))
    if new_arch:
        kv = _int(cfg, "num_kv_heads", "n_head_kv", where=where)
    elif cfg.get("multi_query", True):
        kv = 1
    else:
        kv = heads
    return ModelSpec(
        name=name,
        layers=_int(cfg, "num_hidden_layers", "n_layer", where=where),
        hidden=hidden,
        heads=heads,
        kv_heads=kv,
        ffn_hidden=_int(cfg, "ffn_hidden_size", default=4 * hidden, where=where),
        vocab=_int(cfg, "vocab_size", where=where),
        max_seq=_int(cfg, "max_position_embeddings", default=2048, where=where),
        bias=bool(cfg.get("bias", False)),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", True)),
        parallel_attn=bool(cfg.get("parallel_attn", True)),
        shared_norm=not new_arch and bool(cfg.get("parallel_attn", True)),
        source="Hugging Face config.json (model_type=falcon)",
    )


_PARSERS = {
    "llama": _llama_like,
    "mistral": _llama_like,
    "qwen2": _llama_like,
    "mixtral": _llama_like,
    "deepseek": _llama_like,
    "qwen2_moe": _qwen2_moe,
    "gpt2": _gpt2,
    "gpt_neox": _gpt_neox,
    "falcon": _falcon,
}
