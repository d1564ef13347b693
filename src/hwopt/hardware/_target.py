"""HardwareTarget: one catalog entry, with the source of every value.

Units are fixed by the field names so a YAML file can be checked by eye against a spec sheet:
``peak_tflops`` (dense, 1e12 FLOP/s per dtype), ``memory_bandwidth_gbps`` (1e9 B/s),
``memory_gb`` (1e9 bytes, as vendors quote it), link bandwidths in GB/s per device and
direction, ``caches_mb`` (1e6 bytes), power in watts, price in US$ per device-hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hwopt.errors import HardwareError

DTYPES = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "int4")
KINDS = ("gpu", "cpu", "mobile", "edge", "accelerator")

#: numeric fields that must each carry a source when present
_SOURCED = (
    "peak_tflops",
    "memory_bandwidth_gbps",
    "memory_gb",
    "caches_mb",
    "tdp_w",
    "idle_w",
    "intra_node_bandwidth_gbps",
    "inter_node_bandwidth_gbps",
    "gpus_per_node",
    "price_per_hour_usd",
)


@dataclass(frozen=True)
class HardwareTarget:
    """A device people deploy or train on; every number has a ``sources`` entry."""

    name: str
    kind: str
    description: str
    peak_tflops: dict[str, float]
    memory_bandwidth_gbps: float
    memory_gb: float
    sources: dict[str, str]
    vendor: str = ""
    aliases: tuple[str, ...] = ()
    caches_mb: dict[str, float] = field(default_factory=dict)
    tdp_w: float | None = None
    idle_w: float | None = None
    intra_node_bandwidth_gbps: float | None = None
    inter_node_bandwidth_gbps: float | None = None
    gpus_per_node: int | None = None
    price_per_hour_usd: float | None = None
    notes: str = ""

    # -- derived quantities -------------------------------------------------------------
    def peak_flops(self, dtype: str) -> float:
        """Peak dense FLOP/s for ``dtype``; falls back to the nearest wider type the device has."""
        fallbacks = {
            "int4": ("int4", "int8", "fp16"),
            "fp8": ("fp8", "fp16", "bf16"),
            "int8": ("int8", "fp16"),
            "bf16": ("bf16", "fp16", "fp32"),
            "fp16": ("fp16", "bf16", "fp32"),
            "tf32": ("tf32", "fp32"),
            "fp32": ("fp32",),
            "fp64": ("fp64", "fp32"),
        }
        for d in fallbacks.get(dtype, (dtype,)):
            if d in self.peak_tflops:
                return self.peak_tflops[d] * 1e12
        raise HardwareError(
            f"hardware {self.name!r} has no peak for dtype {dtype!r}; it has: "
            f"{', '.join(sorted(self.peak_tflops))}"
        )

    @property
    def default_dtype(self) -> str:
        """The type models run in on this device when none is named: fp32, or for a device
        without it (an int8-only Edge TPU, an fp16 VPU) the widest type it has."""
        for d in ("fp32", "tf32", "fp16", "bf16", "int8", "fp8", "int4"):
            if d in self.peak_tflops:
                return d
        return "fp32"

    @property
    def memory_bytes(self) -> float:
        return self.memory_gb * 1e9

    @property
    def bandwidth_bytes_per_s(self) -> float:
        return self.memory_bandwidth_gbps * 1e9

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["aliases"] = list(self.aliases)
        return out

    # -- validation ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> "HardwareTarget":
        """Build and validate an entry; errors name the file/entry and the bad field."""
        loc = f"{where}: " if where else ""
        if not isinstance(data, dict):
            raise HardwareError(f"{loc}a hardware entry must be a mapping, got {type(data).__name__}")
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise HardwareError(f"{loc}hardware entry without a 'name'")
        loc = f"{where}: hardware {name!r}: " if where else f"hardware {name!r}: "
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HardwareError(f"{loc}unknown field(s) {', '.join(unknown)}; valid: {', '.join(sorted(known))}")
        for req in ("kind", "description", "peak_tflops", "memory_bandwidth_gbps", "memory_gb", "sources"):
            if req not in data:
                raise HardwareError(f"{loc}missing field {req!r}")
        if data["kind"] not in KINDS:
            raise HardwareError(f"{loc}kind {data['kind']!r} is not one of {', '.join(KINDS)}")
        peaks = data["peak_tflops"]
        if not isinstance(peaks, dict) or not peaks:
            raise HardwareError(f"{loc}'peak_tflops' must be a non-empty mapping dtype -> TFLOP/s")
        for dt, v in peaks.items():
            if dt not in DTYPES:
                raise HardwareError(f"{loc}peak_tflops has unknown dtype {dt!r}; valid: {', '.join(DTYPES)}")
            _positive(v, f"{loc}peak_tflops.{dt}")
        for key in ("memory_bandwidth_gbps", "memory_gb", "tdp_w", "idle_w", "intra_node_bandwidth_gbps",
                    "inter_node_bandwidth_gbps", "gpus_per_node", "price_per_hour_usd"):
            if data.get(key) is not None:
                _positive(data[key], f"{loc}{key}")
        for k, v in (data.get("caches_mb") or {}).items():
            _positive(v, f"{loc}caches_mb.{k}")
        sources = data["sources"]
        if not isinstance(sources, dict):
            raise HardwareError(f"{loc}'sources' must map field names to where the value comes from")
        for key in _SOURCED:
            if data.get(key) not in (None, {}) and not str(sources.get(key, "")).strip():
                raise HardwareError(f"{loc}field {key!r} has no entry in 'sources'")
        kwargs = dict(data)
        kwargs["aliases"] = tuple(str(a) for a in data.get("aliases", ()))
        kwargs["peak_tflops"] = {k: float(v) for k, v in peaks.items()}
        return cls(**kwargs)


def _positive(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise HardwareError(f"{where} must be a positive number, got {value!r}")
