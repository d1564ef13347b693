"""Inference estimate: memory (weights, KV cache, activations), prefill and decode times.

Prefill runs every layer over the prompt (GEMMs compute-bound, attention fused or not); each
decode step reads all weights touched and the KV cache of every sequence (memory-bound at small
batch, compute-bound at large batch): both from the operator roofline of ``_roofline``.
TTFT = prefill of the batch; TPOT = mean decode step over the generated context lengths;
throughput = output tokens / (prefill + all decode steps), the offline serving convention.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hwopt.errors import ConfigError
from hwopt.hardware import HardwareTarget
from hwopt.llm._efficiency import Efficiency, efficiency_for
from hwopt.llm._precision import Precision
from hwopt.llm._roofline import collective_time, device, head_forward, layer_forward, p2p_time
from hwopt.llm._spec import ModelSpec

GB = 1e9
_DECODE_SAMPLES = 8


@dataclass
class InferenceEstimate:
    """Predicted memory and latency/throughput of serving one batch."""

    model: str
    hardware: str
    batch: int
    input_len: int
    output_len: int
    tp: int
    pp: int
    precision: Precision
    flash: bool
    memory: dict[str, float]  # bytes per GPU, by kind (the fullest GPU)
    fits: bool
    ttft_s: float
    tpot_s: float
    prefill_s: float
    decode_s: float
    max_batch: int
    notes: list[str] = field(default_factory=list)

    @property
    def n_gpus(self) -> int:
        return self.tp * self.pp

    @property
    def total_s(self) -> float:
        return self.prefill_s + self.decode_s

    @property
    def output_tokens_per_s(self) -> float:
        return self.batch * self.output_len / self.total_s if self.output_len else 0.0

    @property
    def output_tokens_per_s_per_gpu(self) -> float:
        return self.output_tokens_per_s / self.n_gpus

    def joules_per_output_token(self, tdp_w: float | None) -> float | None:
        """Upper bound: all GPUs at TDP for prefill + decode, divided by the generated tokens."""
        if tdp_w is None or not self.output_len:
            return None
        return self.n_gpus * tdp_w * self.total_s / (self.batch * self.output_len)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["precision"] = asdict(self.precision)
        out.update(n_gpus=self.n_gpus, total_s=self.total_s, output_tokens_per_s=self.output_tokens_per_s,
                   output_tokens_per_s_per_gpu=self.output_tokens_per_s_per_gpu)
        return out


def weight_bytes(model: ModelSpec, precision: Precision) -> float:
    """All weights: linear layers at the weight precision (with quantisation scales), embeddings,
    output head, norms and biases at the activation precision."""
    linear, other = _split_params(model)
    return linear * precision.weight_bytes + other * precision.act_bytes


def _split_params(model: ModelSpec) -> tuple[float, float]:
    total = model.total_params()
    h = model.hidden
    mats = 3 if model.gated_mlp else 2
    lin_attn = h * model.q_dim * 2 + 2 * h * model.kv_dim
    lin_dense = mats * h * model.ffn_hidden
    lin_moe = (model.n_experts + model.n_shared_experts) * mats * h * model.expert_hidden if model.is_moe else 0
    linear = model.layers * lin_attn + (model.layers - model.moe_layers) * lin_dense + model.moe_layers * lin_moe
    return float(linear), float(total - linear)


def kv_cache_bytes(model: ModelSpec, tokens: float, precision: Precision, tp: int = 1, pp: int = 1) -> float:
    """KV cache of ``tokens`` (batch x context) tokens on one GPU; KV heads are split over TP and
    replicated when TP exceeds their number."""
    heads_per_gpu = max(model.kv_heads / tp, 1.0)
    return tokens * 2 * (model.layers / pp) * heads_per_gpu * model.head_dim * precision.kv_bytes


def memory_per_gpu(model: ModelSpec, hw: HardwareTarget, batch: int, context: int, precision: Precision,
                   tp: int = 1, pp: int = 1, max_num_tokens: int = 8192,
                   efficiency: Efficiency | None = None) -> dict[str, float]:
    eff = efficiency or efficiency_for(hw.name)
    w = weight_bytes(model, precision) / (tp * pp)
    kv = kv_cache_bytes(model, batch * context, precision, tp, pp)
    # largest transient: one layer's activations over a prefill chunk, plus fp32 logits
    tokens = min(batch * context, max(max_num_tokens, batch))
    mats = 2 if model.gated_mlp else 1
    width = model.hidden * 2 + (model.q_dim + 2 * model.kv_dim + (mats + 1) * model.ffn_hidden) / tp
    act = tokens * width * precision.act_bytes + batch * model.vocab / tp * 4.0
    mem = {"weights": w, "kv_cache": kv, "activations": act, "reserve": eff.reserve_gb * GB}
    mem["total"] = sum(mem.values())
    return mem


def _check(model: ModelSpec, hw: HardwareTarget, batch: int, input_len: int, output_len: int, tp: int,
           pp: int) -> None:
    for name, v, low in (("batch", batch, 1), ("input_len", input_len, 1), ("output_len", output_len, 0),
                         ("tp", tp, 1), ("pp", pp, 1)):
        if not isinstance(v, int) or isinstance(v, bool) or v < low:
            raise ConfigError(f"{name} must be an integer >= {low}, got {v!r}")
    gpn = int(hw.gpus_per_node or 1)
    if tp > gpn:
        raise ConfigError(f"TP {tp} exceeds {gpn} GPUs per node of {hw.name}")
    if model.heads % tp:
        raise ConfigError(f"TP {tp} does not divide {model.heads} attention heads of {model.name}")
    if model.layers % pp:
        raise ConfigError(f"PP {pp} does not divide {model.layers} layers of {model.name}")


def estimate_inference(
    model: ModelSpec | str,
    hardware: HardwareTarget | str,
    batch: int = 1,
    input_len: int = 512,
    output_len: int = 128,
    tp: int = 1,
    pp: int = 1,
    precision: Precision | str | None = None,
    flash: bool = True,
    max_num_tokens: int = 8192,
    efficiency: Efficiency | None = None,
) -> InferenceEstimate:
    """Predict memory, TTFT, TPOT and throughput of generating ``output_len`` tokens for ``batch``
    prompts of ``input_len`` tokens on ``tp * pp`` GPUs."""
    from hwopt.llm._presets import get_model
    from hwopt.llm._validate import resolve_gpu

    model = get_model(model)
    hardware = resolve_gpu(hardware) if isinstance(hardware, str) else hardware
    prec = precision if isinstance(precision, Precision) else Precision.parse(precision)
    _check(model, hardware, batch, input_len, output_len, tp, pp)
    if prec.compute_dtype == "fp8" and "fp8" not in hardware.peak_tflops:
        raise ConfigError(f"{hardware.name} has no fp8 tensor cores; use activations=fp16/bf16")
    eff = efficiency or efficiency_for(hardware.name)
    dev = device(hardware, eff)
    ctx = input_len + output_len
    memory = memory_per_gpu(model, hardware, batch, ctx, prec, tp, pp, max_num_tokens, eff)
    fits = memory["total"] <= hardware.memory_bytes
    common = dict(tp=tp, sp=False, flash=flash, dropout=False, compute_dtype=prec.compute_dtype,
                  a_bytes=prec.act_bytes, w_bytes=prec.weight_bytes, kv_bytes=prec.kv_bytes)
    inter = False  # pipeline stages of a serving replica sit in one node when they fit
    if tp * pp > dev.gpus_per_node:
        inter = True

    def model_time(b: int, q: int, c: int) -> float:
        """All layers on all stages for one pass of ``b`` sequences (``q`` new tokens each)."""
        dense = model.layers - model.moe_layers
        t = dense * layer_forward(dev, model, batch=b, q_len=q, ctx_len=c, **common).total
        if model.moe_layers:
            t += model.moe_layers * layer_forward(dev, model, batch=b, q_len=q, ctx_len=c, moe_layer=True,
                                                  **common).total
        t += head_forward(dev, model, b, tp, prec.compute_dtype, prec.act_bytes, prec.act_bytes, False)
        if pp > 1:
            t += (pp - 1) * p2p_time(dev, b * q * model.hidden * prec.act_bytes, inter)
        return t

    # prefill in chunks of at most max_num_tokens prompt tokens (whole prompts per chunk)
    per_chunk = max(1, min(batch, max_num_tokens // input_len)) if input_len <= max_num_tokens else 1
    full, rest = divmod(batch, per_chunk)
    chunk = model_time(per_chunk, input_len, input_len)  # one chunk through every stage
    # chunks are pipelined over the PP stages: (n + pp - 1) slots of one stage's time
    prefill = (full + pp - 1) * chunk / pp
    if rest:
        prefill += model_time(rest, input_len, input_len) / pp
    ttft = prefill  # the batch's last prompt gets its first token after the whole prefill

    decode_total, tpot = 0.0, 0.0
    if output_len > 0:
        n = min(_DECODE_SAMPLES, output_len)
        steps = [input_len + 1 + round(i * (output_len - 1) / max(n - 1, 1)) for i in range(n)]
        # with PP the batch is split into up to pp micro-batches that keep the stages busy: one
        # decode step of the whole batch takes max(n_micro, pp) slots of one stage's time
        n_micro = min(pp, batch)
        mb = -(-batch // n_micro)
        per_step = [max(n_micro, pp) * model_time(mb, 1, c) / pp for c in steps]
        tpot = sum(per_step) / n
        decode_total = tpot * (output_len - 1)
        if output_len == 1:
            decode_total = 0.0
    notes = []
    if not fits:
        notes.append(f"OOM by {(memory['total'] - hardware.memory_bytes) / GB:.1f} GB per GPU")
    return InferenceEstimate(
        model=model.name, hardware=hardware.name, batch=batch, input_len=input_len, output_len=output_len,
        tp=tp, pp=pp, precision=prec, flash=flash, memory=memory, fits=fits, ttft_s=ttft, tpot_s=tpot,
        prefill_s=prefill, decode_s=decode_total,
        max_batch=max_batch(model, hardware, ctx, prec, tp, pp, max_num_tokens, eff), notes=notes,
    )


def max_batch(model: ModelSpec, hw: HardwareTarget, context: int, precision: Precision, tp: int = 1,
              pp: int = 1, max_num_tokens: int = 8192, efficiency: Efficiency | None = None,
              limit: int = 1 << 20) -> int:
    """Largest batch whose weights + KV cache + activations fit one GPU's memory (0 if none)."""
    cap = hw.memory_bytes

    def fits(b: int) -> bool:
        return memory_per_gpu(model, hw, b, context, precision, tp, pp, max_num_tokens, efficiency)["total"] <= cap

    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi < limit and fits(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def tp_allreduce_time(model: ModelSpec, hw: HardwareTarget, tokens: int, tp: int, act_bytes: float = 2.0) -> float:
    """One tensor-parallel all-reduce of ``tokens`` hidden states (exposed for reports/tests)."""
    dev = device(hw, efficiency_for(hw.name))
    return collective_time(dev, "all_reduce", tokens * model.hidden * act_bytes, tp, min(tp, dev.gpus_per_node))
