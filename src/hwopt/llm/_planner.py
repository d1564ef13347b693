"""Training planner: every valid (TP, PP, DP, CP, micro-batch, interleaving, recomputation, ZeRO,
offload, precision) for a model x cluster x global batch, ranked; each rejection with its reason.

Layouts that cannot run (TP beyond a node, PP not dividing the layers, batch not divisible, ...)
are rejected once per (TP, PP, CP) before the inner dimensions are expanded; the rest are
estimated (per-layer times are cached, so ten thousand plans take well under a second) and
rejected when they do not fit the GPU's memory. Spaces larger than ``max_plans`` are searched
with a hwopt Strategy (NSGA-II by default) instead of enumerated.
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
    shortfall_gb: float | None = None  # for OOM rejections


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
        """Rejection reasons grouped by kind (numbers ignored), each labelled by its first example,
        with how many plans the group rejected."""
        import re

        groups: dict[str, list] = {}
        for r in self.rejected:
            head = "OOM" if r.reason.startswith("OOM") else r.reason
            key = re.sub(r"\d+(\.\d+)?", "#", head)
            g = groups.setdefault(key, [r.reason, 0, set()])
            g[1] += r.count
            g[2].add(r.reason)
        out = {}
        for key, (example, count, variants) in groups.items():
            if key == "OOM":
                label = "OOM: does not fit GPU memory"
            else:
                label = example + ("  (and similar)" if len(variants) > 1 else "")
            out[label] = count
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def closest_oom(self, n: int = 5) -> list[Rejected]:
        """The out-of-memory plans that missed by the least."""
        return sorted((r for r in self.rejected if r.shortfall_gb is not None), key=lambda r: r.shortfall_gb)[:n]


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
    max_plans: int = 200_000,
    seed: int = 0,
    search: str = "nsga2",
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
    candidates: list[tuple[TrainConfig, list]] = []
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
        candidates.append((probe, inner))
    notes: list[str] = []
    flat = [(probe, x) for probe, inner in candidates for x in inner]
    if len(flat) > max_plans:  # very large spaces go through hwopt's search engine
        flat = _search(model, hardware, candidates, max_plans, seed, search, objective, eff, capacity, notes)
    for probe, (mb, v, rc, (z, oo, op), pr) in flat:
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
                f"of {capacity / GB:.1f} GB ({_mem_text(est.memory)})"), shortfall_gb=(need - capacity) / GB))
            continue
        plans.append(est)
    key = {
        "throughput": lambda e: (-e.tokens_per_s, e.memory["total"]),
        "cost": lambda e: (e.n_gpus * (e.price_per_gpu_hour or 0.0) / e.tokens_per_s, -e.tokens_per_s),
        "memory": lambda e: (e.memory["total"], -e.tokens_per_s),
    }[objective]
    plans.sort(key=key)
    if objective == "cost" and hardware.price_per_hour_usd is None:
        notes.append(f"{hardware.name} has no price in the catalog; cost ranking falls back to throughput")
    return PlanResult(plans, rejected, objective, considered, notes)


def _search(model, hardware, candidates, budget: int, seed: int, strategy: str, objective: str,
            eff: Efficiency, capacity: float, notes: list[str]) -> list:
    """Search the layouts with a hwopt Strategy (ask/tell) instead of enumerating them all.

    The space has one categorical per dimension (the structurally valid (TP, PP, CP) layouts are
    one of them); the objectives are the ranking key and memory, with memory <= capacity as the
    constraint. Returns the distinct (layout, inner choices) the search evaluated."""
    import numpy as np

    from hwopt.space import Categorical, SearchSpace
    from hwopt.strategies import Problem, get_strategy

    inner_all = [x for _, inner in candidates for x in inner]
    mbs, vs, rcs, states, precs = (list(dict.fromkeys(x[i] for x in inner_all)) for i in range(5))
    space = SearchSpace([
        Categorical("layout", list(range(len(candidates)))),
        Categorical("mb", mbs, ordered=True),
        Categorical("v", vs, ordered=True),
        Categorical("recompute", rcs),
        Categorical("state", list(range(len(states)))),
        Categorical("precision", precs),
    ], name="llm-plan")
    strat = get_strategy(strategy, seed=seed)
    strat.setup(Problem(space, n_obj=2, n_constr=1, objective_names=(objective, "memory")))
    chosen: dict[str, tuple] = {}
    results: dict[str, tuple[float, float, float]] = {}
    stalls = 0
    while len(results) < budget and stalls < 50:  # stop when the strategy only repeats itself
        configs = strat.ask(max(1, min(strat.batch_size, budget - len(results))))
        F = np.empty((len(configs), 2))
        G = np.empty((len(configs), 1))
        new = 0
        for i, c in enumerate(configs):
            key = space.hash(c)
            if key not in results:
                probe = candidates[int(c["layout"])][0]
                z, oo, op = states[int(c["state"])]
                cfg = replace(probe, micro_batch=c["mb"], virtual_stages=c["v"] if probe.pp > 1 else 1,
                              recompute=c["recompute"], zero=z, offload_optimizer=oo, offload_params=op,
                              precision=c["precision"])
                if check_train_config(model, hardware, cfg):
                    results[key] = (np.nan, np.nan, 1.0)
                else:
                    est = estimate_training(model, hardware, cfg, eff, check=False)
                    rank = {"throughput": -est.tokens_per_s, "memory": est.memory["total"],
                            "cost": (est.price_per_gpu_hour or 1.0) * est.n_gpus / est.tokens_per_s}[objective]
                    results[key] = (rank, est.memory["total"] / GB, (est.memory["total"] - capacity) / GB)
                chosen[key] = (probe, (cfg.micro_batch, cfg.virtual_stages, cfg.recompute, (z, oo, op),
                                       cfg.precision))
                new += 1
            F[i, 0], F[i, 1], G[i, 0] = results[key]
        stalls = 0 if new else stalls + 1
        strat.tell(configs, F, G)
    notes.append(f"{len(inner_all)} layouts pass the structural checks; searched {len(chosen)} of them "
                 f"with the '{strategy}' strategy (seed {seed})")
    return list(dict.fromkeys(chosen.values()))


def _mem_text(mem: dict[str, float]) -> str:
    parts = [f"{k} {v / GB:.1f}" for k, v in mem.items() if k != "total" and v > 0]
    return ", ".join(parts)
