"""Training estimate: per-GPU memory and step time for TP x PP x DP x CP with ZeRO / offload.

Step time = pipeline (``m`` micro-batches on the slowest stage + ``(p-1)/v`` bubble) + exposed
data-parallel communication + optimizer step (+ offload transfers). Per-layer times come from the
operator roofline in ``_roofline``; activation memory from ``_memory`` (Korthikanti et al. 2022).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

from hwopt.errors import ConfigError
from hwopt.hardware import HardwareTarget
from hwopt.llm._efficiency import Efficiency, efficiency_for
from hwopt.llm._memory import (
    RECOMPUTE,
    activation_bytes_per_layer,
    inflight_microbatches,
    model_state_bytes_per_param,
)
from hwopt.llm._roofline import Device, collective_time, device, head_forward, layer_forward, p2p_time
from hwopt.llm._spec import ModelSpec

TRAIN_PRECISIONS = ("fp32", "bf16", "fp16", "fp8")
GB = 1e9
GIB = 2**30
#: backward/forward traffic ratio of element-wise kernels (norm and dropout-add backward read
#: read the saved input and the incoming gradient and write one gradient: ~3 vs 2 tensors)
ELEM_BWD = 2.0


@dataclass(frozen=True)
class TrainConfig:
    """One training deployment: parallel layout, batch, recomputation, ZeRO, offload, precision."""

    global_batch: int
    seq_len: int
    tp: int = 1
    pp: int = 1
    dp: int = 1
    cp: int = 1
    micro_batch: int = 1
    virtual_stages: int = 1  # interleaved 1F1B model chunks per GPU (1 = plain 1F1B)
    sp: bool = False  # sequence parallelism (needs tp > 1 to matter)
    recompute: str = "none"  # none | selective | full
    zero: int = 0  # 0-3 (3 = FSDP full shard)
    offload_optimizer: str = "none"  # none | cpu | nvme
    offload_params: str = "none"  # none | cpu | nvme (ZeRO-3 only)
    precision: str = "bf16"  # fp32 | bf16 | fp16 | fp8 (GEMMs in fp8, master weights fp32)
    flash: bool = True  # fused attention; False = unfused (Megatron 2021/22)
    dp_overlap: bool = True  # gradient reduction overlapped with backward
    dropout: bool | None = None  # None = the model's own setting
    vocab_pad: int = 128  # Megatron pads the vocabulary to a multiple of vocab_pad * tp

    @property
    def n_gpus(self) -> int:
        return self.tp * self.pp * self.dp * self.cp

    @property
    def n_micro(self) -> int:
        return self.global_batch // (self.dp * self.micro_batch)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainingEstimate:
    """Predicted step time, throughput and per-GPU memory of one training configuration."""

    model: str
    hardware: str
    config: TrainConfig
    iter_time_s: float
    tokens_per_s: float
    model_flops_per_iter: float
    hardware_flops_per_iter: float
    mfu: float
    hfu: float
    memory: dict[str, float]  # bytes on the fullest GPU, by kind
    memory_gpu: str  # which GPU that is ("stage 0" / "last stage")
    time: dict[str, float]  # seconds per iteration, by component
    price_per_gpu_hour: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def n_gpus(self) -> int:
        return self.config.n_gpus

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.tokens_per_s / self.n_gpus

    @property
    def tflops_per_gpu(self) -> float:
        return self.model_flops_per_iter / self.iter_time_s / self.n_gpus / 1e12

    @property
    def peak_memory_bytes(self) -> float:
        return self.memory["total"]

    def time_to_train_s(self, tokens: float) -> float:
        return tokens / self.tokens_per_s

    def cost_to_train_usd(self, tokens: float) -> float | None:
        if self.price_per_gpu_hour is None:
            return None
        return self.time_to_train_s(tokens) / 3600 * self.n_gpus * self.price_per_gpu_hour

    def energy_to_train_kwh(self, tokens: float, tdp_w: float | None) -> float | None:
        """Upper-bound GPU energy: every GPU at its TDP for the whole run (no host, no cooling)."""
        if tdp_w is None:
            return None
        return self.time_to_train_s(tokens) * self.n_gpus * tdp_w / 3.6e6

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k != "config"}
        out["config"] = self.config.to_dict()
        out.update(tokens_per_s_per_gpu=self.tokens_per_s_per_gpu, tflops_per_gpu=self.tflops_per_gpu,
                   n_gpus=self.n_gpus)
        return out


def padded_vocab(vocab: int, tp: int, pad: int) -> int:
    if pad <= 1:
        return vocab
    mult = pad * tp
    return -(-vocab // mult) * mult


def model_flops_per_token(model: ModelSpec, seq: int) -> float:
    """Forward+backward FLOPs per token (no recomputation): 6 x active matmul parameters
    + 6 x logits + 12 x layers x seq x q_dim for attention (full score matrix, as Megatron counts)."""
    per_layer = model.attn_params() + 0.0
    dense_mlp = model.mlp_params(model.ffn_hidden)
    moe_mlp = (model.experts_per_token + model.n_shared_experts) * model.mlp_params(model.expert_hidden) \
        if model.is_moe else 0
    matmul = model.layers * per_layer + (model.layers - model.moe_layers) * dense_mlp + model.moe_layers * moe_mlp
    return 6.0 * matmul + 6.0 * model.hidden * model.vocab + 12.0 * model.layers * seq * model.q_dim


def check_train_config(model: ModelSpec, hw: HardwareTarget, cfg: TrainConfig) -> str | None:
    """The reason this layout cannot run at all (independent of memory), or None."""
    gpn = int(hw.gpus_per_node or 1)
    for name in ("tp", "pp", "dp", "cp", "micro_batch", "virtual_stages", "global_batch", "seq_len"):
        v = getattr(cfg, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            return f"{name} must be a positive integer, got {v!r}"
    if cfg.recompute not in RECOMPUTE:
        return f"recompute {cfg.recompute!r} unknown; valid: {', '.join(RECOMPUTE)}"
    if cfg.precision not in TRAIN_PRECISIONS:
        return f"precision {cfg.precision!r} unknown; valid: {', '.join(TRAIN_PRECISIONS)}"
    if cfg.precision == "fp8" and "fp8" not in hw.peak_tflops:
        return f"{hw.name} has no fp8 tensor cores"
    if cfg.precision in ("bf16",) and "bf16" not in hw.peak_tflops:
        return f"{hw.name} has no bf16 support"
    if cfg.tp > gpn:
        return f"TP {cfg.tp} exceeds {gpn} GPUs per node"
    if model.heads % cfg.tp:
        return f"TP {cfg.tp} does not divide {model.heads} attention heads"
    if cfg.tp > model.kv_heads and cfg.tp % model.kv_heads:
        return f"TP {cfg.tp} is not a multiple of {model.kv_heads} KV heads"
    if model.layers % (cfg.pp * cfg.virtual_stages):
        return f"PP {cfg.pp} x {cfg.virtual_stages} virtual stages does not divide {model.layers} layers"
    if cfg.virtual_stages > 1 and cfg.pp == 1:
        return "interleaved schedule (virtual_stages > 1) needs PP > 1"
    if cfg.seq_len % cfg.cp:
        return f"CP {cfg.cp} does not divide sequence length {cfg.seq_len}"
    if cfg.cp > 1 and not cfg.flash:
        return "context parallelism needs fused (flash) attention"
    if cfg.global_batch % (cfg.dp * cfg.micro_batch):
        return (f"global batch {cfg.global_batch} is not divisible by DP {cfg.dp} x micro-batch "
                f"{cfg.micro_batch}")
    if cfg.virtual_stages > 1 and cfg.n_micro % cfg.pp:
        return f"interleaved schedule needs micro-batches ({cfg.n_micro}) divisible by PP {cfg.pp}"
    if cfg.zero not in (0, 1, 2, 3):
        return f"ZeRO stage {cfg.zero!r} unknown; valid: 0, 1, 2, 3"
    if cfg.zero >= 2 and cfg.pp > 1:
        return f"ZeRO stage {cfg.zero} with pipeline parallelism is not supported (DeepSpeed/Megatron allow stage <= 1)"
    if cfg.offload_params != "none" and cfg.zero != 3:
        return "parameter offload needs ZeRO stage 3"
    if cfg.offload_optimizer != "none" and cfg.zero == 0:
        return "optimizer offload needs ZeRO stage >= 1"
    return None


@lru_cache(maxsize=4096)
def _layer_times(dev: Device, model: ModelSpec, b: int, s: int, tp: int, cp: int, sp: bool, flash: bool,
                 dropout: bool, compute: str, a_bytes: float, recompute: str, moe: bool) -> tuple:
    """(fwd, bwd, recompute) seconds of one layer for one micro-batch, and the fwd split."""
    w = layer_forward(dev, model, batch=b, q_len=s // cp, ctx_len=s, tp=tp, sp=sp and tp > 1, flash=flash,
                      dropout=dropout, compute_dtype=compute, a_bytes=a_bytes, w_bytes=a_bytes,
                      kv_bytes=a_bytes, moe_layer=moe)
    cp_comm = 0.0
    if cp > 1:  # ring attention: K/V all-gather forward, reduce-scatter of dK/dV backward
        per_node = max(1, min(cp, dev.gpus_per_node // tp))
        kv = b * s * 2 * max(model.kv_dim / tp, model.head_dim) * a_bytes
        cp_comm = max(0.0, collective_time(dev, "all_gather", kv, cp, per_node) - w.attn)
    fwd = w.total + cp_comm
    bwd = 2 * w.gemm + w.attn_bwd_factor * w.attn + ELEM_BWD * w.elem + w.comm + cp_comm
    rec = {"none": 0.0, "selective": w.attn, "full": fwd}[recompute]
    return fwd, bwd, rec, w


def estimate_training(
    model: ModelSpec | str,
    hardware: HardwareTarget | str,
    config: TrainConfig | None = None,
    efficiency: Efficiency | None = None,
    check: bool = True,
    **config_kw: Any,
) -> TrainingEstimate:
    """Predict iteration time, throughput, MFU and per-GPU memory; raises ConfigError if the
    layout cannot run (memory is reported, not checked: see ``memory['total']``).

    ``model`` is a ModelSpec, preset name or config.json path; ``hardware`` a catalog entry or
    name; the layout is a TrainConfig or its fields as keywords
    (``estimate_training("llama-2-7b", "h100", global_batch=512, seq_len=4096, tp=2, dp=4)``)."""
    from hwopt.llm._presets import get_model
    from hwopt.llm._validate import resolve_gpu

    model = get_model(model)
    hardware = resolve_gpu(hardware) if isinstance(hardware, str) else hardware
    if config is None:
        try:
            config = TrainConfig(**config_kw)
        except TypeError as exc:
            raise ConfigError(f"bad training configuration: {exc}") from None
    elif config_kw:
        config = replace(config, **config_kw)
    cfg = config
    if check:
        reason = check_train_config(model, hardware, cfg)
        if reason:
            raise ConfigError(reason)
    eff = efficiency or efficiency_for(hardware.name)
    dev = device(hardware, eff)
    gpn = dev.gpus_per_node
    V = padded_vocab(model.vocab, cfg.tp, cfg.vocab_pad)
    m_spec = model if V == model.vocab else model.with_(vocab=V)
    a_bytes = 4.0 if cfg.precision == "fp32" else 2.0
    compute = {"fp32": "tf32", "bf16": "bf16", "fp16": "fp16", "fp8": "fp8"}[cfg.precision]
    dropout = model.dropout if cfg.dropout is None else cfg.dropout
    sp = cfg.sp and cfg.tp > 1
    b, s, p, v, m = cfg.micro_batch, cfg.seq_len, cfg.pp, cfg.virtual_stages, cfg.n_micro

    # -- per-micro-batch time of each stage ------------------------------------------------
    lps = model.layers // p
    moe_per_stage = model.moe_layers / p
    args = (dev, m_spec, b, s, cfg.tp, cfg.cp, sp, cfg.flash, dropout, compute, a_bytes, cfg.recompute)
    f_d, b_d, r_d, w_d = _layer_times(*args, False)
    if model.is_moe:
        f_m, b_m, r_m, _ = _layer_times(*args, True)
    else:
        f_m = b_m = r_m = 0.0
    n_dense = lps - moe_per_stage
    fwd_stage = n_dense * f_d + moe_per_stage * f_m
    bwd_stage = n_dense * (b_d + r_d) + moe_per_stage * (b_m + r_m)
    tokens_mb = b * s / cfg.cp
    head = head_forward(dev, m_spec, tokens_mb, cfg.tp, compute, a_bytes, a_bytes, with_loss=True)
    head_fb = 3.0 * head
    p2p = 0.0
    if p > 1:
        inter = cfg.tp * cfg.cp * cfg.dp >= gpn
        p2p = 2 * v * p2p_time(dev, tokens_mb * model.hidden * a_bytes / cfg.tp, inter)
    t_stage_last = fwd_stage + bwd_stage + head_fb + p2p
    t_stage_avg = fwd_stage + bwd_stage + head_fb / p + p2p
    pipeline = m * t_stage_last + (p - 1) / v * t_stage_avg
    bubble = (p - 1) / v * t_stage_avg

    # -- parameters per GPU (stage with the most) -----------------------------------------
    layer_p = model.layer_params(False)
    moe_p = model.layer_params(True) if model.is_moe else 0
    stage_layer_params = (n_dense * layer_p + moe_per_stage * moe_p) / cfg.tp
    emb = (V * model.hidden + (model.max_seq * model.hidden if model.learned_pos else 0)) / cfg.tp
    head_p = V * model.hidden / cfg.tp if (not model.tied_embeddings or p > 1) else 0.0
    if p == 1:
        params_first = params_last = stage_layer_params + emb + head_p
    else:
        params_first = stage_layer_params + emb
        params_last = stage_layer_params + head_p
    params_gpu = max(params_first, params_last)

    # -- data-parallel gradient / parameter traffic ------------------------------------------
    shard = cfg.dp * cfg.cp
    grad_comm_bytes = 2.0 if cfg.precision == "fp16" else 4.0
    dp_per_node = max(1, min(shard, gpn // min(cfg.tp * cfg.cp, gpn)))
    ov = 1.0 if cfg.dp_overlap else 0.0
    bwd_mb = bwd_stage + 2 * head
    fwd_mb = fwd_stage + head
    g = params_gpu * grad_comm_bytes
    w_bytes_gather = params_gpu * a_bytes
    if cfg.zero <= 1:
        ar = collective_time(dev, "all_reduce", g, shard, dp_per_node)
        dp_time = max(0.0, ar - ov * bwd_mb)
        if cfg.zero == 1:
            dp_time = max(0.0, collective_time(dev, "reduce_scatter", g, shard, dp_per_node) - ov * bwd_mb)
            dp_time += collective_time(dev, "all_gather", w_bytes_gather, shard, dp_per_node)
    elif cfg.zero == 2:
        rs = collective_time(dev, "reduce_scatter", g, shard, dp_per_node)
        dp_time = m * max(0.0, rs - ov * bwd_mb)
        dp_time += collective_time(dev, "all_gather", w_bytes_gather, shard, dp_per_node)
    else:
        ag = collective_time(dev, "all_gather", w_bytes_gather, shard, dp_per_node)
        rs = collective_time(dev, "reduce_scatter", g, shard, dp_per_node)
        dp_time = m * (max(0.0, ag - ov * fwd_mb) + max(0.0, ag + rs - ov * bwd_mb))

    # -- optimizer step and offload transfers --------------------------------------------
    local = params_gpu / (shard if cfg.zero >= 1 else 1)
    host = eff.host_link_gbps * GB
    offload_time = 0.0
    if cfg.offload_optimizer == "none":
        opt_time = local * eff.optimizer_bytes_per_param / dev.bw
    else:
        opt_time = local * 32.0 / (eff.host_mem_gbps * GB)  # CPU Adam over fp32 states
        offload_time += local * (grad_comm_bytes + a_bytes) / host  # grads down, weights up
        if cfg.offload_optimizer == "nvme":
            offload_time += local * 2 * 12.0 / (eff.nvme_gbps * GB)
    if cfg.offload_params != "none":
        src_bw = host if cfg.offload_params == "cpu" else eff.nvme_gbps * GB
        offload_time += m * 2 * local * a_bytes / src_bw  # fetch the shard for forward and backward

    iter_time = pipeline + dp_time + opt_time + offload_time

    # -- memory of the fullest GPU ---------------------------------------------------------
    states = model_state_bytes_per_param(
        cfg.zero, shard, cfg.offload_optimizer, cfg.offload_params,
        weight_bytes=a_bytes, grad_bytes=a_bytes, optimizer_bytes=12.0 if a_bytes == 2 else 8.0,
    )
    per_layer_act = activation_bytes_per_layer(model, s // cfg.cp, b, cfg.tp, sp, cfg.recompute, cfg.flash,
                                               dropout, a_bytes)
    per_layer_act_moe = activation_bytes_per_layer(model, s // cfg.cp, b, cfg.tp, sp, cfg.recompute,
                                                   cfg.flash, dropout, a_bytes, moe_layer=True) \
        if model.is_moe else 0.0
    stage_act = n_dense * per_layer_act + moe_per_stage * per_layer_act_moe
    held = inflight_microbatches(p, m, v)
    act_first = stage_act * held
    if cfg.recompute == "full":  # one layer's full activations during its backward
        act_first += activation_bytes_per_layer(model, s // cfg.cp, b, cfg.tp, sp, "none", cfg.flash,
                                                dropout, a_bytes)
    mask = 1.0 if dropout else 0.0
    tok = (s // cfg.cp) * b
    act_first += mask * tok * model.hidden * held / (cfg.tp if sp else 1)  # embedding dropout masks
    logits = tok * (4 * model.hidden + 4 * V) / cfg.tp  # final LN/projection inputs, fp32 logits
    if p == 1:
        act_first += logits
        act_last = act_first
    else:  # the last stage runs each micro-batch's backward right after its forward
        act_last = stage_act * (1 + (p - 1) * (v - 1) / v) + logits
    zero3_buf = 2 * layer_p / cfg.tp * a_bytes if cfg.zero == 3 else 0.0  # prefetched full layers
    reserve = eff.reserve_gb * GB

    def mem(params: float, act: float) -> dict[str, float]:
        d = {"weights": params * states.weights, "gradients": params * states.grads,
             "optimizer": params * states.optimizer, "activations": act, "buffers": zero3_buf,
             "reserve": reserve}
        d["total"] = sum(d.values())
        return d

    mem_first, mem_last = mem(params_first, act_first), mem(params_last, act_last)
    if p == 1 or mem_first["total"] >= mem_last["total"]:  # (p == 1: one stage holds everything)
        memory, where = mem_first, "GPU 0 (stage 0)" if p > 1 else "GPU 0"
    else:
        memory, where = mem_last, f"GPU {cfg.n_gpus - 1} (last stage)"

    # -- FLOPs and utilisation ---------------------------------------------------------------
    tokens = cfg.global_batch * s
    mf = model_flops_per_token(m_spec, s) * tokens
    rec_flops = {"none": 0.0, "full": mf * (1 / 3) - 2.0 * model.hidden * V * tokens,
                 "selective": 4.0 * model.layers * s * model.q_dim * tokens}[cfg.recompute]
    hf = mf + rec_flops
    peak = hardware.peak_flops(compute) * cfg.n_gpus
    time = {"compute": m * (fwd_stage + bwd_stage + head_fb) - m * _tp_comm(w_d, lps, cfg.recompute),
            "tp_comm": m * _tp_comm(w_d, lps, cfg.recompute), "pp_comm": m * p2p, "bubble": bubble,
            "dp_comm": dp_time, "optimizer": opt_time, "offload": offload_time}
    return TrainingEstimate(
        model=model.name, hardware=hardware.name, config=cfg, iter_time_s=iter_time,
        tokens_per_s=tokens / iter_time, model_flops_per_iter=mf, hardware_flops_per_iter=hf,
        mfu=mf / (iter_time * peak), hfu=hf / (iter_time * peak), memory=memory, memory_gpu=where,
        time=time, price_per_gpu_hour=hardware.price_per_hour_usd,
    )


def _tp_comm(w, layers: int, recompute: str) -> float:
    return layers * w.comm * (3 if recompute == "full" else 2)


def megatron_flops(batch: int, seq: int, layers: int, hidden: int, vocab: int, recompute: bool) -> float:
    """FLOPs per iteration as Megatron-LM counts them (Narayanan et al. 2021, eq. 3):
    ``96 B s l h^2 (1 + s/6h + V/16lh)`` with full recomputation, ``72 B s l h^2 (1 + s/6h + V/12lh)``
    without (the MFU convention of Korthikanti et al. 2022)."""
    B, s, l, h, V = batch, seq, layers, hidden, vocab
    if recompute:
        return 96.0 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h))
    return 72.0 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h))
