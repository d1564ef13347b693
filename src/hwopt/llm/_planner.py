"""Training planner: every valid (TP, PP, DP, CP, micro-batch, interleaving, recomputation, ZeRO,
offload, precision) for a model x cluster x global batch, ranked; each rejection with its reason.

Layouts that cannot run (TP beyond a node, PP not dividing the layers, batch not divisible, ...)
are rejected once per (TP, PP, CP) before the inner dimensions are expanded; the rest are
estimated (per-layer times are cached, so a few thousand plans take about a second) and
rejected when they do not fit the GPU's memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import product
from typing import Iterable

from hwopt.errors import ConfigError
from hwopt.hardware import HardwareTarget
from hwopt.llm._efficiency import Efficiency, efficiency_for
from hwopt.llm._spec import ModelSpec
from hwopt.llm._training import TrainConfig, TrainingEstimate, check_train_config, estimate_training

GB = 1e9
#: (ZeRO stage, optimizer offload, parameter offload) combinations worth considering
STATE_OPTIONS = (
    (0, "none", "none"), (1, "none", "none"), (2, "none", "none"), (3, "none", "none"),
    (1, "cpu", "none"), (2, "cpu", "none"), (3, "cpu", "none"), (3, "cpu", "cpu"), (3, "nvme", "nvme"),
)
OBJECTIVES = ("throughput", "cost", "memory")


@dataclass
class Rejected:
    config: TrainConfig
    reason: str
    count: int = 1  # how many plans share this structural reason


@dataclass
class PlanResult:
    """Feasible plans, best first, and rejected plans with their reasons."""

    plans: list[TrainingEstimate]
    rejected: list[Rejected]
    objective: str
    n_considered: int
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> TrainingEstimate | None:
        return self.plans[0] if self.plans else None

    @property
    def n_rejected(self) -> int:
        return sum(r.count for r in self.rejected)

    def rejection_summary(self) -> dict[str, int]:
        """Reasons without plan-specific numbers, with how many plans each rejected."""
        import re

        out: dict[str, int] = {}
        for r in self.rejected:
            key = re.sub(r"OOM by [\d.]+ GB.*", "OOM (does not fit GPU memory)", r.reason)
            out[key] = out.get(key, 0) + r.count
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _pow2_upto(n: int) -> list[int]:
    out, v = [], 1
    while v <= n:
        out.append(v)
        v *= 2
    return out


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def plan(
    model: ModelSpec | str,
    hardware: HardwareTarget | str,
    n_gpus: int,
    global_batch: int,
    seq_len: int,
    *,
    objective: str = "throughput",
    precisions: Iterable[str] = ("bf16",),
    recompute: Iterable[str] = ("none", "selective", "full"),
    states: Iterable[tuple[int, str, str]] = STATE_OPTIONS,
    tp: Iterable[int] | None = None,
    pp: Iterable[int] | None = None,
    cp: Iterable[int] = (1,),
    micro_batches: Iterable[int] | None = None,
    virtual_stages: Iterable[int] = (1, 2, 4),
    flash: bool = True,
    efficiency: Efficiency | None = None,
    memory_limit_gb: float | None = None,
) -> PlanResult:
    """Enumerate, estimate and rank training plans for ``n_gpus`` GPUs of ``hardware``."""
    from hwopt.llm._presets import get_model
    from hwopt.llm._validate import resolve_gpu

    model = get_model(model)
    hardware = resolve_gpu(hardware) if isinstance(hardware, str) else hardware
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective {objective!r} unknown; valid: {', '.join(OBJECTIVES)}")
    for name, v in (("n_gpus", n_gpus), ("global_batch", global_batch), ("seq_len", seq_len)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")
    eff = efficiency or efficiency_for(hardware.name)
    capacity = (memory_limit_gb * GB) if memory_limit_gb else hardware.memory_bytes
    tps = sorted(set(tp)) if tp else [t for t in _pow2_upto(n_gpus) if t <= 4 * (hardware.gpus_per_node or 8)]
    pps = sorted(set(pp)) if pp else [p for p in _divisors(n_gpus) if p <= model.layers]
    mbs = sorted(set(micro_batches)) if micro_batches else _pow2_upto(16)
    precisions, recompute, states = list(precisions), list(recompute), list(states)
    vs = sorted(set(virtual_stages))

    plans: list[TrainingEstimate] = []
    rejected: list[Rejected] = []
    considered = 0
    base = TrainConfig(global_batch=global_batch, seq_len=seq_len, flash=flash, sp=True)
    for t, p, c in product(tps, pps, sorted(set(cp))):
        if n_gpus % (t * p * c):
            continue
        d = n_gpus // (t * p * c)
        inner = [(mb, v, rc, st, pr) for mb in mbs for v in (vs if p > 1 else [1]) for rc in recompute
                 for st in states for pr in precisions]
        probe = replace(base, tp=t, pp=p, cp=c, dp=d, micro_batch=1, sp=t > 1)
        structural = check_train_config(model, hardware, probe)
        if structural and "global batch" not in structural:
            considered += len(inner)
            rejected.append(Rejected(probe, structural, len(inner)))
            continue
        for mb, v, rc, (z, oo, op), pr in inner:
            considered += 1
            cfg = replace(probe, micro_batch=mb, virtual_stages=v, recompute=rc, zero=z,
                          offload_optimizer=oo, offload_params=op, precision=pr)
            reason = check_train_config(model, hardware, cfg)
            if reason:
                rejected.append(Rejected(cfg, reason))
                continue
            est = estimate_training(model, hardware, cfg, eff, check=False)
            need = est.memory["total"]
            if need > capacity:
                rejected.append(Rejected(cfg, (
                    f"OOM by {(need - capacity) / GB:.1f} GB on {est.memory_gpu}: needs {need / GB:.1f} GB "
                    f"of {capacity / GB:.1f} GB ({_mem_text(est.memory)})")))
                continue
            plans.append(est)
    key = {
        "throughput": lambda e: (-e.tokens_per_s, e.memory["total"]),
        "cost": lambda e: (e.n_gpus * (e.price_per_gpu_hour or 0.0) / e.tokens_per_s, -e.tokens_per_s),
        "memory": lambda e: (e.memory["total"], -e.tokens_per_s),
    }[objective]
    plans.sort(key=key)
    notes = []
    if objective == "cost" and hardware.price_per_hour_usd is None:
        notes.append(f"{hardware.name} has no price in the catalog; cost ranking falls back to throughput")
    return PlanResult(plans, rejected, objective, considered, notes)


def _mem_text(mem: dict[str, float]) -> str:
    parts = [f"{k} {v / GB:.1f}" for k, v in mem.items() if k != "total" and v > 0]
    return ", ".join(parts)
