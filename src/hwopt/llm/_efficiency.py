"""Efficiency parameters: how far real kernels and links stay below the catalog's peaks.

One set per hardware type (never per measurement). ``calibration.yaml`` in this package holds
the fitted sets with the rows they were fitted on; devices without one use ``default``, whose
values are generic assumptions stated there.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from hwopt.errors import ConfigError


@dataclass(frozen=True)
class Efficiency:
    """Achievable fractions of peak, and fixed overheads, for one hardware type."""

    gemm_max: float = 0.80  # fraction of dense peak reached by very large GEMMs
    gemm_half_dim: float = 64.0  # GEMM size (smallest of m, n, k) at which efficiency halves
    mem: float = 0.80  # fraction of HBM bandwidth reached by element-wise kernels
    stream: float = 0.85  # fraction reached by long sequential reads (GEMM weights, fused-attention K/V)
    flash_attn: float = 0.55  # fraction of peak for fused (FlashAttention-style) attention
    intra_link: float = 0.75  # fraction of NVLink / Infinity Fabric bandwidth in collectives
    inter_link: float = 0.75  # fraction of per-GPU InfiniBand / Ethernet bandwidth
    launch_s: float = 4e-6  # fixed cost per kernel
    comm_latency_s: float = 5e-6  # fixed cost per collective hop (log2(group) hops per phase)
    optimizer_bytes_per_param: float = 38.0  # HBM traffic of one mixed-precision Adam step
    host_link_gbps: float = 25.0  # CPU <-> GPU (PCIe) per GPU, for offload
    host_mem_gbps: float = 20.0  # CPU memory bandwidth available per GPU for CPU Adam
    nvme_gbps: float = 3.0  # NVMe bandwidth per GPU for ZeRO-Infinity
    reserve_gb: float = 1.5  # CUDA context, allocator fragmentation, workspaces
    source: str = "generic assumption"

    def gemm_eff(self, min_dim: float) -> float:
        return self.gemm_max * min_dim / (min_dim + self.gemm_half_dim)

    def with_(self, **kw: Any) -> "Efficiency":
        return replace(self, **kw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FIT_PARAMS = ("gemm_max", "gemm_half_dim", "mem")


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


@lru_cache(maxsize=1)
def _table() -> dict[str, Efficiency]:
    text = (resources.files("hwopt.llm") / "calibration.yaml").read_text()
    data = yaml.safe_load(text) or {}
    known = {f.name for f in fields(Efficiency)}
    out: dict[str, Efficiency] = {}
    base = Efficiency(**{k: v for k, v in (data.get("default") or {}).items() if k in known})
    out["default"] = base
    for name, values in (data.get("hardware") or {}).items():
        bad = set(values) - known
        if bad:
            raise ConfigError(f"llm/calibration.yaml: {name}: unknown field(s) {', '.join(sorted(bad))}")
        out[_key(name)] = base.with_(**values)
    return out


def efficiency_for(hardware_name: str) -> Efficiency:
    """The calibrated set for a catalog entry, or the documented default."""
    table = _table()
    return table.get(_key(hardware_name), table["default"])
