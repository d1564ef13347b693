"""Per-operator roofline times for one decoder layer, and collective communication times.

Every operator's time is ``max(flops / (peak * efficiency), bytes / (bandwidth * mem_eff))``
plus a fixed launch cost. GEMM efficiency grows with the GEMM's smallest dimension
(``Efficiency.gemm_eff``). These functions are shared by inference and training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwopt.hardware import HardwareTarget
from hwopt.llm._efficiency import Efficiency
from hwopt.llm._spec import ModelSpec


@dataclass(frozen=True, eq=False)
class Device:
    """A hardware target with its efficiency set (hashable by identity, for caching)."""

    hw: HardwareTarget
    eff: Efficiency

    def peak(self, dtype: str) -> float:
        return self.hw.peak_flops(dtype)

    @property
    def bw(self) -> float:
        """HBM bandwidth reached by element-wise kernels (norms, activations, softmax)."""
        return self.hw.bandwidth_bytes_per_s * self.eff.mem

    @property
    def stream_bw(self) -> float:
        """HBM bandwidth reached by long sequential reads: GEMM operands, fused-attention K/V."""
        return self.hw.bandwidth_bytes_per_s * self.eff.stream

    @property
    def gpus_per_node(self) -> int:
        return int(self.hw.gpus_per_node or 1)

    def link_bw(self, group: int, per_node: int) -> float:
        """Effective per-GPU bandwidth (B/s) of a collective over ``group`` ranks, ``per_node`` per node."""
        intra = (self.hw.intra_node_bandwidth_gbps or self.hw.memory_bandwidth_gbps / 10) * 1e9
        if group <= per_node:
            return intra * self.eff.intra_link
        inter = (self.hw.inter_node_bandwidth_gbps or 12.5) * 1e9
        return min(intra * self.eff.intra_link, per_node * inter * self.eff.inter_link)


_DEVICES: dict[tuple[int, Efficiency], tuple[HardwareTarget, Device]] = {}


def device(hw: HardwareTarget, eff: Efficiency) -> Device:
    """One Device object per (catalog entry, efficiency set), so per-layer times can be cached."""
    key = (id(hw), eff)
    hit = _DEVICES.get(key)
    if hit is None or hit[0] is not hw:
        hit = _DEVICES[key] = (hw, Device(hw, eff))
    return hit[1]


def gemm_time(dev: Device, m: float, n: float, k: float, peak: float, w_bytes: float, a_bytes: float,
              count: float = 1.0) -> float:
    """``count`` GEMMs of (m x k) @ (k x n); the k x n operand is a weight of ``w_bytes``."""
    if m <= 0 or n <= 0 or k <= 0 or count <= 0:
        return 0.0
    flops = 2.0 * m * n * k
    bytes_ = m * k * a_bytes + k * n * w_bytes + m * n * a_bytes
    eff = dev.eff.gemm_eff(min(m, n, k))
    return count * (max(flops / (peak * eff), bytes_ / dev.stream_bw) + dev.eff.launch_s)


def mem_time(dev: Device, nbytes: float, kernels: float = 1.0) -> float:
    return nbytes / dev.bw + kernels * dev.eff.launch_s


def collective_time(dev: Device, kind: str, nbytes: float, group: int, per_node: int) -> float:
    """Ring all-reduce / all-gather / reduce-scatter of ``nbytes`` (the full tensor) per rank."""
    if group <= 1 or nbytes <= 0:
        return 0.0
    factor = {"all_reduce": 2.0, "all_gather": 1.0, "reduce_scatter": 1.0, "all_to_all": 1.0}[kind]
    # bandwidth term of a ring; latency of a tree/low-latency protocol (log2 hops per phase)
    hops = factor * math.ceil(math.log2(group))
    volume = factor * (group - 1) / group * nbytes
    return volume / dev.link_bw(group, per_node) + hops * dev.eff.comm_latency_s


def p2p_time(dev: Device, nbytes: float, inter_node: bool) -> float:
    if nbytes <= 0:
        return 0.0
    per_node = 1 if inter_node else 2
    return nbytes / dev.link_bw(2, per_node) + dev.eff.comm_latency_s


@dataclass(frozen=True)
class LayerWork:
    """Times (s) of one decoder layer's forward pass on one GPU, split by kind."""

    gemm: float  # linear layers
    attn: float  # attention core (QK^T, softmax, dropout, AV; or one fused kernel)
    elem: float  # norms, activations, residual adds, dropout
    comm: float  # tensor-parallel collectives
    attn_bwd_factor: float  # backward/forward time ratio of the attention core

    @property
    def total(self) -> float:
        return self.gemm + self.attn + self.elem + self.comm


def layer_forward(
    dev: Device,
    model: ModelSpec,
    *,
    batch: int,
    q_len: int,
    ctx_len: int,
    tp: int,
    sp: bool,
    flash: bool,
    dropout: bool,
    compute_dtype: str,
    a_bytes: float,
    w_bytes: float,
    kv_bytes: float,
    causal: bool = True,
    moe_layer: bool = False,
    tp_per_node: int | None = None,
) -> LayerWork:
    """Forward time of one layer for ``batch`` sequences of ``q_len`` new tokens over ``ctx_len`` context."""
    peak = dev.peak(compute_dtype)
    attn_peak = dev.peak("fp16" if compute_dtype == "fp8" else compute_dtype)
    h, f = model.hidden, model.ffn_hidden
    T = batch * q_len  # tokens through the GEMMs
    Tr = T / tp if sp else T  # tokens through the replicated (non tensor-parallel) ops
    qd, kvd = model.q_dim / tp, max(model.kv_dim / tp, model.head_dim)
    heads = model.heads / tp
    mask = 1.0 if dropout else 0.0

    # linear layers
    gemm = gemm_time(dev, T, qd + 2 * kvd, h, peak, w_bytes, a_bytes)
    gemm += gemm_time(dev, T, h, qd, peak, w_bytes, a_bytes)
    mats = 2 if model.gated_mlp else 1
    if moe_layer:
        E, k = model.n_experts, model.experts_per_token
        touched = E * (1.0 - (1.0 - k / E) ** T)  # expected experts hit by T tokens
        per_expert = T * k / max(touched, 1e-9)
        fe = model.expert_hidden / tp
        gemm += gemm_time(dev, per_expert, mats * fe, h, peak, w_bytes, a_bytes, touched)
        gemm += gemm_time(dev, per_expert, h, fe, peak, w_bytes, a_bytes, touched)
        if model.n_shared_experts:
            fs = model.n_shared_experts * model.expert_hidden / tp
            gemm += gemm_time(dev, T, mats * fs, h, peak, w_bytes, a_bytes)
            gemm += gemm_time(dev, T, h, fs, peak, w_bytes, a_bytes)
        gemm += gemm_time(dev, T, E, h, peak, a_bytes, a_bytes)  # router
        ffn_elems = T * k * model.expert_hidden / tp + T * model.n_shared_experts * model.expert_hidden / tp
    else:
        gemm += gemm_time(dev, T, mats * f / tp, h, peak, w_bytes, a_bytes)
        gemm += gemm_time(dev, T, h, f / tp, peak, w_bytes, a_bytes)
        ffn_elems = T * f / tp

    # attention core; causal prefill/training attends to (ctx+1)/2 keys on average
    keys = (ctx_len + 1) / 2 if (causal and q_len > 1) else ctx_len
    kv_read = batch * ctx_len * 2 * kvd * kv_bytes
    if flash:
        flops = 4.0 * batch * q_len * keys * qd
        bytes_ = kv_read + 2 * T * qd * a_bytes
        attn = max(flops / (attn_peak * dev.eff.flash_attn), bytes_ / dev.stream_bw) + dev.eff.launch_s
        attn_bwd = 2.5
    else:
        # unfused (Megatron 2021/2022): two batched GEMMs over the full score matrix
        scores = batch * heads * q_len * ctx_len
        hd = model.head_dim
        attn = gemm_time(dev, q_len, ctx_len, hd, attn_peak, kv_bytes, a_bytes, batch * heads)
        attn += gemm_time(dev, q_len, hd, ctx_len, attn_peak, kv_bytes, a_bytes, batch * heads)
        attn -= 2 * (batch * heads - 1) * dev.eff.launch_s  # batched: one launch each
        attn += mem_time(dev, scores * a_bytes * 2)  # fused scale-mask-softmax
        if dropout:
            attn += mem_time(dev, scores * (2 * a_bytes + 1))  # attention dropout
        attn_bwd = 2.0

    # element-wise: 2 norms (read+write), activation, 2 residual adds (+ dropout masks)
    norms = 1 if model.shared_norm else 2
    elem = mem_time(dev, norms * Tr * h * 2 * a_bytes, norms)
    act_io = 3 if model.gated_mlp else 2
    elem += mem_time(dev, ffn_elems * act_io * a_bytes)
    elem += mem_time(dev, 2 * Tr * h * (3 * a_bytes + mask), 2)

    # tensor-parallel collectives: all-reduce (or reduce-scatter + all-gather with SP)
    comm = 0.0
    if tp > 1:
        n_coll = 1 if model.parallel_attn else 2
        per_node = tp_per_node or min(tp, dev.gpus_per_node)
        size = T * h * a_bytes
        if sp:
            comm = n_coll * (collective_time(dev, "all_gather", size, tp, per_node)
                             + collective_time(dev, "reduce_scatter", size, tp, per_node))
        else:
            comm = n_coll * collective_time(dev, "all_reduce", size, tp, per_node)
    return LayerWork(gemm=gemm, attn=attn, elem=elem, comm=comm, attn_bwd_factor=attn_bwd)


def head_forward(dev: Device, model: ModelSpec, tokens: float, tp: int, compute_dtype: str,
                 a_bytes: float, w_bytes: float, with_loss: bool) -> float:
    """Final norm + output projection (vocab-parallel) + cross-entropy for ``tokens`` tokens."""
    peak = dev.peak(compute_dtype)
    t = mem_time(dev, tokens * model.hidden * 2 * a_bytes)
    t += gemm_time(dev, tokens, model.vocab / tp, model.hidden, peak, w_bytes, a_bytes)
    if with_loss:  # fp32 softmax/cross-entropy passes over the logits
        t += mem_time(dev, tokens * model.vocab / tp * (a_bytes + 3 * 4.0), 3)
    return t
