"""Training memory: model states under ZeRO / offload, and activations (Korthikanti et al. 2022).

The activation formulas generalise the paper's (GQA, gated MLPs, MoE, any activation width,
FlashAttention) and reduce to it exactly for a GPT layer with 2-byte activations and 1-byte
dropout masks:

* no recompute, no TP:            ``s*b*h*(34 + 5*a*s/h)``
* tensor parallel ``t``:          ``s*b*h*(10 + 24/t + 5*a*s/(h*t))``
* + sequence parallel:            ``s*b*h/t*(34 + 5*a*s/h)``
* selective recompute (+SP):      ``s*b*h/t*34`` (``s*b*h*(10 + 24/t)`` without SP)
* full recompute:                 ``2*s*b*h`` (``/t`` with SP)
"""

from __future__ import annotations

from dataclasses import dataclass

from hwopt.errors import ConfigError
from hwopt.llm._spec import ModelSpec

RECOMPUTE = ("none", "selective", "full")
OFFLOAD = ("none", "cpu", "nvme")


def activation_bytes_per_layer(
    model: ModelSpec,
    seq: int,
    micro_batch: int,
    tp: int = 1,
    sp: bool = False,
    recompute: str = "none",
    flash: bool = False,
    dropout: bool | None = None,
    act_bytes: float = 2.0,
    moe_layer: bool = False,
) -> float:
    """Bytes one layer keeps for backward, for one micro-batch of ``micro_batch`` x ``seq`` tokens."""
    if recompute not in RECOMPUTE:
        raise ConfigError(f"recompute {recompute!r} unknown; valid: {', '.join(RECOMPUTE)}")
    s, b, h, e = seq, micro_batch, model.hidden, act_bytes
    mask = 1.0 if (model.dropout if dropout is None else dropout) else 0.0
    if recompute == "full":
        return e * s * b * h / (tp if sp else 1)
    replicated = s * b * h * (4 * e + 2 * mask)  # LN1/LN2 inputs, QKV and FC1 inputs, 2 dropout masks
    qd, kvd = model.q_dim, model.kv_dim
    parallel = e * s * b * (qd + kvd)  # Q, K for QK^T
    parallel += e * s * b * kvd  # V
    parallel += e * s * b * qd  # attention output -> projection input
    mats = 2 if model.gated_mlp else 1
    if moe_layer:
        k, fe = model.experts_per_token, model.expert_hidden
        parallel += e * s * b * (mats + 1) * fe * (k + model.n_shared_experts)
        parallel += e * s * b * h * (k - 1)  # dispatched copies of the FC1 input
    else:
        parallel += e * s * b * (mats + 1) * model.ffn_hidden  # activation input, FC2 input
    if flash:
        attn_core = 4.0 * model.heads * s * b  # fp32 softmax statistics
    elif recompute == "selective":
        attn_core = 0.0
    else:
        # softmax output (e), dropout mask (1 byte) and dropout output (e) per score
        attn_core = model.heads * s * s * b * (e + (mask + e if mask else 0.0))
    return replicated / (tp if sp else 1) + (parallel + attn_core) / tp


def inflight_microbatches(pp: int, n_micro: int, virtual: int = 1) -> float:
    """Micro-batches whose activations stage 0 holds at once (1F1B; interleaved adds a fraction)."""
    held = float(min(pp, n_micro))
    if virtual > 1 and pp > 1:
        held *= 1.0 + (pp - 1) / (pp * virtual)
    return held


@dataclass(frozen=True)
class ModelStateBytes:
    """Bytes per parameter held on the GPU for weights, gradients and optimizer states."""

    weights: float
    grads: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.grads + self.optimizer


def model_state_bytes_per_param(
    zero: int, dp: int, offload_optimizer: str = "none", offload_params: str = "none",
    weight_bytes: float = 2.0, grad_bytes: float = 2.0, optimizer_bytes: float = 12.0,
) -> ModelStateBytes:
    """ZeRO accounting (Rajbhandari et al. 2020): 2 + 2 + 12 = 16 B/param for mixed-precision Adam
    at stage 0; stage 1 shards the 12 B of optimizer states over ``dp``, stage 2 also gradients,
    stage 3 (= FSDP full shard) also weights. Offloaded states cost no GPU memory."""
    if zero not in (0, 1, 2, 3):
        raise ConfigError(f"ZeRO stage {zero!r} unknown; valid: 0, 1, 2, 3")
    for what, v in (("offload_optimizer", offload_optimizer), ("offload_params", offload_params)):
        if v not in OFFLOAD:
            raise ConfigError(f"{what} {v!r} unknown; valid: {', '.join(OFFLOAD)}")
    if offload_params != "none" and zero != 3:
        raise ConfigError(f"offload_params={offload_params!r} needs ZeRO stage 3, got stage {zero}")
    w = weight_bytes / (dp if zero >= 3 else 1)
    g = grad_bytes / (dp if zero >= 2 else 1)
    o = optimizer_bytes / (dp if zero >= 1 else 1)
    if offload_optimizer != "none":
        o = 0.0
        if zero >= 2:
            g = 0.0  # ZeRO-Offload streams partitioned gradients to the CPU
    if offload_params != "none":
        w = 0.0
    return ModelStateBytes(weights=w, grads=g, optimizer=o)
