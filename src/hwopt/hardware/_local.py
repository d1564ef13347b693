"""The ``local`` hardware target: this machine's CPU, detected and briefly measured.

Cores, model name and memory come from the OS (``/proc/cpuinfo``, ``/proc/meminfo``,
``os.sched_getaffinity``). Peak FP32 FLOP/s is *measured* as the best of a few single-precision
matrix products (numpy's BLAS on all usable cores), memory bandwidth as the best large array
copy (read + write bytes / time). Both are achieved figures, so they sit below spec sheets;
the sources say so. Results are cached per CPU model in the user cache directory.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from pathlib import Path

import numpy as np

from hwopt.hardware._target import HardwareTarget


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        if m:
            return m.group(1).strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _memory_gb() -> float:
    try:
        m = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        if m:
            return int(m.group(1)) * 1024 / 1e9
    except OSError:
        pass
    return 1.0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def measure_peak_gflops(n: int = 1024, repeats: int = 3) -> float:
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.copy()
    best = float("inf")
    a @ b
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2.0 * n ** 3 / best / 1e9


def measure_bandwidth_gbps(mb: int = 128, repeats: int = 3) -> float:
    src = np.ones(mb * 1024 * 1024 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t)
    return 2.0 * src.nbytes / best / 1e9


def detect_local(cache: bool = True) -> HardwareTarget:
    """A HardwareTarget for this machine (kind ``cpu``), measured once and cached."""
    model, cores = _cpu_model(), _cores()
    path = None
    if cache:
        import platformdirs

        key = re.sub(r"[^A-Za-z0-9]+", "_", f"{model}_{cores}")[:80]
        path = Path(platformdirs.user_cache_dir("hwopt")) / "local" / f"{key}.json"
        if path.is_file():
            try:
                return HardwareTarget.from_dict(json.loads(path.read_text()), "local cache")
            except Exception:  # noqa: BLE001 - stale cache: measure again
                pass
    gflops = measure_peak_gflops()
    bw = measure_bandwidth_gbps()
    entry = {
        "name": "local",
        "kind": "cpu",
        "vendor": "",
        "description": f"this machine: {model}, {cores} usable cores",
        "peak_tflops": {"fp32": round(gflops / 1e3, 4)},
        "memory_bandwidth_gbps": round(bw, 2),
        "memory_gb": round(_memory_gb(), 2),
        "sources": {
            "peak_tflops": f"measured: best of 3 numpy float32 1024^3 matrix products on {cores} cores",
            "memory_bandwidth_gbps": "measured: best of 3 numpy copies of 128 MiB (read + write bytes)",
            "memory_gb": "/proc/meminfo MemTotal",
        },
        "notes": "detected by hwopt; achieved (not spec-sheet) peaks",
    }
    target = HardwareTarget.from_dict(entry, "local")
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(entry))
        except OSError:
            pass
    return target


def resolve_hardware(name: str, *hardware_files: str | Path) -> HardwareTarget:
    """Catalog lookup that also understands ``local`` (this machine)."""
    from hwopt.hardware._catalog import load_catalog

    from hwopt.errors import UnknownNameError

    catalog = load_catalog(*hardware_files)
    if name.strip().lower() == "local":
        try:
            return catalog.get("local")  # a user file may define its own
        except KeyError:
            return detect_local()
    try:
        return catalog.get(name)
    except UnknownNameError as exc:
        raise UnknownNameError("hardware", name, [*exc.valid, "local"]) from None
