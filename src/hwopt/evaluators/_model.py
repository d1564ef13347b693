"""ModelEvaluator: accuracy, latency, MACs and params of a model space's sub-networks, one pass.

Each config is built once (weights inherited from the super-network); MACs and params are
counted on it, accuracy is measured after BatchNorm re-calibration, and latency is measured on
the local CPU with the chosen runtime. The settings and machine state go to ``context()``.
"""

from __future__ import annotations

from typing import Any

from hwopt.errors import ConfigError, EvaluationError, HwoptError, ObjectiveError
from hwopt.evaluators._base import Evaluator
from hwopt.evaluators._latency import RUNTIMES, machine_state, measure_latency
from hwopt.space import Config, SearchSpace

_LATENCY_KEYS = ("warmup_s", "min_repeats", "max_repeats", "rel_ci", "max_time_s")


class ModelEvaluator(Evaluator):
    """Computes the requested ``metrics`` of a :class:`~hwopt.supernets.ModelSpace`'s configs.

    Options: ``runtime`` (onnxruntime | torch), ``batch_size`` and ``threads`` of the latency
    measurement (MACs are per single input), ``macs_convention`` (see
    :func:`~hwopt.evaluators.count_macs`), the stopping rule of the latency loop (``rel_ci``,
    ``min_repeats``, ``max_repeats``, ``max_time_s``, ``warmup_s``); anything else (``data``,
    ``subset``, ``calib_batches``...) goes to the space's ``accuracy_data``.

    Metrics named ``latency@HW``, ``energy@HW`` or ``memory@HW`` are estimated by the hardware
    cost model for catalog target ``HW`` (``calibration`` names a saved calibration,
    ``hardware_files`` extends the catalog) — hardware you do not have, inside any search.
    """

    def __init__(self, model_space: Any, metrics: list[str] | tuple[str, ...], *, runtime: str = "onnxruntime",
                 batch_size: int = 1, threads: int = 1, macs_convention: str = "dynast",
                 calibration: str | None = None, hardware_files: tuple[str, ...] | list[str] = (), **options: Any):
        self.model_space = model_space
        self.metrics = dict(model_space.metrics)
        self.requested = list(dict.fromkeys(metrics))
        self.calibration, self.hardware_files = calibration, tuple(hardware_files)
        self.cost_metrics = [m for m in self.requested if "@" in m]
        if self.cost_metrics:
            from hwopt.hardware import COST_METRICS
            from hwopt.hardware._local import resolve_hardware

            for m in self.cost_metrics:
                name, _, hw = m.partition("@")
                if name not in COST_METRICS or not hw:
                    raise ObjectiveError(f"cost metric {m!r} must be NAME@HARDWARE with NAME one of {', '.join(COST_METRICS)}")
                resolve_hardware(hw, *self.hardware_files)  # unknown hardware: one clear error now, not per trial
                self.metrics[m] = "min"
        if not self.requested:
            raise ObjectiveError(f"no metrics requested; valid: {', '.join(sorted(self.metrics))}")
        self.check_metrics(self.requested)
        if runtime not in RUNTIMES:
            raise ConfigError(f"unknown runtime {runtime!r}; valid: {', '.join(RUNTIMES)}")
        for name, v in (("batch_size", batch_size), ("threads", threads)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        self.runtime, self.batch_size, self.threads = runtime, batch_size, threads
        self.macs_convention = macs_convention
        self.latency_options = {k: options.pop(k) for k in _LATENCY_KEYS if k in options}
        self.data = model_space.accuracy_data(**options) if "accuracy" in self.requested else None
        if self.data is None and options:
            raise ConfigError(f"unknown evaluator option(s) {sorted(options)} without an accuracy metric; "
                              f"valid: runtime, batch_size, threads, macs_convention, {', '.join(_LATENCY_KEYS)}")

    @property
    def space(self) -> SearchSpace:
        return self.model_space.space

    def evaluate(self, config: Config) -> dict[str, Any]:
        import torch

        # PyTorch work (build, BN re-calibration, accuracy) uses the latency thread count too:
        # more threads than free cores makes small models several times slower on a busy machine
        prev = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._evaluate(config)
        finally:
            torch.set_num_threads(prev)

    def _evaluate(self, config: Config) -> dict[str, Any]:
        from hwopt.evaluators._accuracy import recalibrate_bn, top1_accuracy
        from hwopt.evaluators._counting import count_macs, count_params

        cfg = self.space.validate(config)
        try:
            model = self.model_space.build(cfg)
        except HwoptError:
            raise
        except Exception as exc:  # noqa: BLE001 - a config the model cannot be built for
            raise EvaluationError(f"building the model failed: {type(exc).__name__}: {exc}") from exc
        out: dict[str, Any] = {}
        if "macs" in self.requested:
            out["macs"] = count_macs(model, self.model_space.input_shape(cfg, 1), self.macs_convention)
        if "params" in self.requested:
            out["params"] = count_params(model)
        if "accuracy" in self.requested:
            shape = self.model_space.input_shape(cfg, 1)
            recalibrate_bn(model, self.data.calibration(shape))
            out["accuracy"] = top1_accuracy(model, self.data.validation(shape))
        if "latency" in self.requested:
            out["latency"] = measure_latency(model, self.model_space.input_shape(cfg, self.batch_size),
                                             runtime=self.runtime, threads=self.threads, **self.latency_options)
        if self.cost_metrics:
            from hwopt.hardware import cost_metric

            for m in self.cost_metrics:
                out[m] = cost_metric(self.model_space, cfg, m, batch_size=self.batch_size,
                                     calibration=self.calibration, hardware_files=self.hardware_files)
        return {k: out[k] for k in self.requested}

    def context(self) -> dict[str, Any]:
        ctx: dict[str, Any] = {"space": self.model_space.name, "metrics": self.requested,
                               "macs_convention": self.macs_convention, "macs_batch_size": 1}
        if "latency" in self.requested:
            ctx.update(runtime=self.runtime, batch_size=self.batch_size, threads=self.threads,
                       latency_options=self.latency_options, machine=machine_state(self.runtime, self.threads))
        if self.data is not None:
            ctx["data"] = self.data.describe()
        if self.cost_metrics:
            ctx.update(cost_model={"metrics": self.cost_metrics, "calibration": self.calibration,
                                   "batch_size": self.batch_size})
        return ctx
