"""CPU latency measured with statistics: warm-up, then repeats until the median is stable.

DyNAS-T times a handful of runs with ``time.time()`` and keeps a mean; a single noisy run moves
it. Here every run is timed with ``perf_counter_ns``; after ``min_repeats`` the loop stops as
soon as the 95% confidence interval of the median (binomial order statistics, distribution-free)
is narrower than ``rel_ci`` of the median, or at ``max_repeats`` / ``max_time_s``. The result
keeps the spread (p10, p90, coefficient of variation) next to the median, and
:func:`machine_state` records what it was measured on.
"""

from __future__ import annotations

import io
import math
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Callable

from hwopt.errors import ConfigError, EvaluationError, require

RUNTIMES = ("onnxruntime", "torch")


def latency_stats(times_ms: list[float]) -> dict[str, Any]:
    """``{"median", "p10", "p90", "cv", "n", "unit"}`` of run times in milliseconds."""
    import numpy as np

    a = np.asarray(times_ms, dtype=float)
    if a.size == 0:
        raise EvaluationError("no latency samples")
    mean = float(a.mean())
    return {
        "median": float(np.median(a)), "p10": float(np.percentile(a, 10)), "p90": float(np.percentile(a, 90)),
        "cv": float(a.std(ddof=1) / mean) if a.size > 1 and mean > 0 else 0.0, "n": int(a.size), "unit": "ms",
    }


def median_rel_ci(times_ms: list[float], z: float = 1.96) -> float:
    """Half-width of the ~95% CI of the median, relative to the median (order statistics)."""
    n = len(times_ms)
    if n < 3:
        return math.inf
    s = sorted(times_ms)
    lo = max(0, int(math.floor(n / 2 - z * math.sqrt(n) / 2)) - 1)
    hi = min(n - 1, int(math.ceil(n / 2 + z * math.sqrt(n) / 2)))
    med = s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])
    return (s[hi] - s[lo]) / (2 * med) if med > 0 else math.inf


def time_until_stable(run: Callable[[], Any], *, warmup_s: float = 0.3, min_warmup: int = 5,
                      min_repeats: int = 20, max_repeats: int = 2000, rel_ci: float = 0.01,
                      max_time_s: float = 10.0) -> dict[str, Any]:
    """Call ``run`` to warm up, then time it until the median is stable; returns :func:`latency_stats`
    plus ``load``, the machine's 1-minute load average when timing ended (what else was running)."""
    t0, k = time.perf_counter(), 0
    while k < min_warmup or time.perf_counter() - t0 < warmup_s:
        run()
        k += 1
        if time.perf_counter() - t0 > max_time_s / 2:
            break
    times: list[float] = []
    t1 = time.perf_counter()
    check_every = max(5, min_repeats // 4)
    while len(times) < max_repeats:
        a = time.perf_counter_ns()
        run()
        times.append((time.perf_counter_ns() - a) / 1e6)
        if len(times) >= min_repeats and len(times) % check_every == 0:
            if median_rel_ci(times) < rel_ci or time.perf_counter() - t1 > max_time_s:
                break
    stats = latency_stats(times)
    try:
        stats["load"] = round(os.getloadavg()[0], 2)
    except OSError:  # no load average on this platform
        pass
    return stats


def onnx_bytes(model: Any, example: Any) -> bytes:
    """Serialise ``model`` to ONNX (opset 17, TorchScript exporter; torch.export-based on failure)."""
    torch = require("torch")
    model = model.eval()
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (example,), buf, dynamo=False, opset_version=17,
                              input_names=["input"], output_names=["output"])
            return buf.getvalue()
        except Exception as exc:  # noqa: BLE001 - fall back to the dynamo exporter
            try:
                prog = torch.onnx.export(model, (example,), None, dynamo=True, opset_version=18)
                return prog.model_proto.SerializeToString()
            except Exception:  # noqa: BLE001
                raise EvaluationError(f"ONNX export failed: {exc}") from exc


def ort_session(model_bytes_or_path: bytes | str | Path, threads: int):
    ort = require("onnxruntime", "onnx")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    src = model_bytes_or_path if isinstance(model_bytes_or_path, bytes) else str(model_bytes_or_path)
    return ort.InferenceSession(src, opts, providers=["CPUExecutionProvider"])


def onnx_input_shape(path: str | Path, batch_size: int) -> tuple[int, ...]:
    """Shape of the first input of an ONNX file, with symbolic dimensions set to ``batch_size``."""
    sess = ort_session(Path(path), 1)
    shape = sess.get_inputs()[0].shape
    return tuple(d if isinstance(d, int) and d > 0 else batch_size for d in shape)


def measure_latency(model: Any, input_shape: tuple[int, ...], *, runtime: str = "onnxruntime",
                    threads: int = 1, **stop: Any) -> dict[str, Any]:
    """Latency in ms of one forward pass on ``input_shape`` (batch included) on the local CPU.

    ``model`` is a ``torch.nn.Module`` or, for ``runtime="onnxruntime"``, an ONNX file path or
    serialised bytes. ``stop`` passes ``min_repeats``, ``max_repeats``, ``rel_ci``, ``max_time_s``
    and ``warmup_s`` on to :func:`time_until_stable`.
    """
    if runtime not in RUNTIMES:
        raise ConfigError(f"unknown runtime {runtime!r}; valid: {', '.join(RUNTIMES)}")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads!r}")
    import numpy as np

    if runtime == "onnxruntime":
        if not isinstance(model, (bytes, str, Path)):
            torch = require("torch")
            model = onnx_bytes(model, torch.zeros(*input_shape))
        sess = ort_session(model, threads)
        name = sess.get_inputs()[0].name
        x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
        return time_until_stable(lambda: sess.run(None, {name: x}), **stop)
    torch = require("torch")
    if isinstance(model, (bytes, str, Path)):
        raise ConfigError("the torch runtime needs a model space and config, not an ONNX file")
    model = model.eval()
    x = torch.randn(*input_shape, generator=torch.Generator().manual_seed(0))
    prev = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.inference_mode():
            return time_until_stable(lambda: model(x), **stop)
    finally:
        torch.set_num_threads(prev)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _physical_cores() -> int | None:
    try:
        pairs = set()
        phys = core = None
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("physical id"):
                phys = line.split(":")[1].strip()
            elif line.startswith("core id"):
                core = line.split(":")[1].strip()
                pairs.add((phys, core))
        return len(pairs) or None
    except OSError:
        return None


def machine_state(runtime: str | None = None, threads: int | None = None) -> dict[str, Any]:
    """CPU model, cores, threads, load, library versions: what a latency was measured on."""
    from importlib import metadata

    def version(pkg: str) -> str | None:
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    state: dict[str, Any] = {
        "cpu": _cpu_model(), "logical_cores": os.cpu_count(), "physical_cores": _physical_cores(),
        "available_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "platform": platform.platform(), "python": platform.python_version(),
        "versions": {p: version(p) for p in ("torch", "onnxruntime", "onnx", "numpy", "hwopt")},
    }
    if runtime is not None:
        state["runtime"] = runtime
    if threads is not None:
        state["threads"] = threads
    try:
        state["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        pass
    gov = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    if gov.exists():
        state["cpu_governor"] = gov.read_text().strip()
    return state
