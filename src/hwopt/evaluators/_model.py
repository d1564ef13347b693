"""ModelEvaluator: accuracy, latency, MACs and params of a model space's sub-networks, one pass.

Each config is built once (weights inherited from the super-network); MACs and params are
counted on it, accuracy is measured after BatchNorm re-calibration, and latency is measured on
the local CPU with the chosen runtime. The settings and machine state go to ``context()``.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import Any, Sequence

import numpy as np

from hwopt.errors import ConfigError, EvaluationError, HwoptError, ObjectiveError
from hwopt.evaluators._base import Evaluator
from hwopt.evaluators._latency import RUNTIMES, machine_state, measure_latency
from hwopt.evaluators._objective import Objective
from hwopt.space import Config, SearchSpace

#: the cost model's runtime for each measurement runtime (``hwopt.hardware._roofline.RUNTIMES``)
COST_RUNTIME = {"onnxruntime": "compiled", "torch": "eager"}
_LATENCY_KEYS = ("warmup_s", "min_repeats", "max_repeats", "rel_ci", "max_time_s")


class ModelEvaluator(Evaluator):
    """Computes the requested ``metrics`` of a :class:`~hwopt.supernets.ModelSpace`'s configs.

    Options: ``runtime`` (onnxruntime | torch), ``batch_size`` and ``threads`` of the latency
    measurement (MACs are per single input), ``macs_convention`` (see
    :func:`~hwopt.evaluators.count_macs`), the stopping rule of the latency loop (``rel_ci``,
    ``min_repeats``, ``max_repeats``, ``max_time_s``, ``warmup_s``); anything else (``data``,
    ``subset``, ``calib_batches``...) goes to the space's ``accuracy_data``.

    Metrics named ``latency@HW``, ``energy@HW``, ``memory@HW`` or ``cost@HW`` are estimated by the hardware
    cost model for catalog target ``HW`` (``calibration`` names a saved calibration,
    ``hardware_files`` extends the catalog) — hardware you do not have, inside any search; without
    a calibration they assume the runtime latency is measured with (``torch``: eager).
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
            from hwopt.hardware._estimate import check_cost_metric
            from hwopt.hardware._local import resolve_hardware

            for m in self.cost_metrics:
                name, _, hw = m.partition("@")
                if name not in COST_METRICS or not hw:
                    raise ObjectiveError(f"cost metric {m!r} must be NAME@HARDWARE with NAME one of {', '.join(COST_METRICS)}")
                # unknown hardware, or one without the data the metric needs: one clear error now, not per trial
                check_cost_metric(name, resolve_hardware(hw, *self.hardware_files))
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
        for m in self.cost_metrics:
            out[m] = self._cost(cfg, m)
        return {k: out[k] for k in self.requested}

    def is_noisy(self, name: str) -> bool:
        """Only the measured latency varies between runs: MACs and params are counts, cost metrics
        are computed, and accuracy is evaluated on fixed data after a seeded BN recalibration."""
        return name == "latency"

    def restricted_to(self, names: list[str]) -> "ModelEvaluator":
        keep = [m for m in self.requested if m in names]
        if not keep or keep == self.requested:
            return self
        clone = copy.copy(self)
        clone.requested = keep
        clone.cost_metrics = [m for m in self.cost_metrics if m in keep]
        if "accuracy" not in keep:
            clone.data = None
        return clone

    def reference_configs(self) -> list[Config]:
        """The space's reference sub-networks, evaluated first by ``hwopt search``."""
        return list(self.model_space.reference_configs())

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_graph_rows", None)  # holds closures and a cache; a worker process rebuilds it
        return state

    @cached_property
    def _graph_rows(self):
        """Per-config graph counts when the space has an analytic graph (fast), else None: a
        torch trace per candidate would cost more than predicting."""
        from hwopt.hardware._features import GraphRows, analytic_graph_builder

        build = analytic_graph_builder(self.model_space)
        return GraphRows(self.model_space, build) if build is not None else None

    def exact_fn(self, objectives: Sequence[Objective]):
        """``(fn, columns)``: the objectives a config's analytic operator graph gives exactly,
        without building the model — MACs (``dynast`` convention), params and cost-model
        metrics (``latency@HW`` ...) — so predictor strategies compute them instead of predicting
        them. ``fn(X)`` takes encoded configs and returns minimisation-form values (NaN for a
        config the space rejects); ``(None, ())`` when the space has no analytic graph.

        MACs and params count only where the graph agrees with counting the built model on a
        few sample configs (checked here once), so a column is exact or not offered at all.
        """
        rows = self._graph_rows
        if rows is None:
            return None, ()
        offered = set(self.cost_metrics) | self._graph_counts_that_match(rows.build)
        cols = tuple(j for j, o in enumerate(objectives) if o.name in offered)
        if not cols:
            return None, ()
        from hwopt.hardware._calibration import load_calibration
        from hwopt.hardware._estimate import cost_metric_rows

        sp, costs = self.space, {}
        names = [objectives[j].name for j in cols]
        signs = np.array([objectives[j].sign for j in cols])
        # read once, not on every call (an inner search calls fn once per generation)
        calibration = load_calibration(self.calibration) if isinstance(self.calibration, str) else self.calibration

        def cost(x: np.ndarray, metric: str) -> float:
            key = (x.tobytes(), metric)
            if key not in costs:
                if len(costs) >= 50_000:
                    costs.clear()
                try:
                    cfg = sp.validate(sp.decode(x))
                except HwoptError:
                    return float("nan")
                costs[key] = self._cost(cfg, metric)
            return costs[key]

        def fn(X: np.ndarray) -> np.ndarray:
            X = np.asarray(X, dtype=np.int64).reshape(-1, sp.n_var)
            counts = rows.counts(X)
            V = np.empty((len(X), len(names)))
            for k, name in enumerate(names):
                if name in ("macs", "params"):
                    V[:, k] = counts[:, ("macs", "params").index(name)]
                    continue
                summed = cost_metric_rows(rows, X, name, self.batch_size, calibration=calibration,
                                          hardware_files=self.hardware_files, runtime=self.cost_runtime)
                V[:, k] = summed if summed is not None else [cost(x, name) for x in X]
            return V * signs

        return fn, cols

    def feature_fn(self):
        """``fn(X)`` → standardised log MACs and log params of each config (from its analytic
        graph), exact metrics the predictors learn from beside the encoding; None without an
        analytic graph."""
        rows = self._graph_rows
        if rows is None:
            return None
        ref = np.log(rows.counts(self._reference_rows))
        mean, sd = np.nanmean(ref, axis=0), np.nanstd(ref, axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        return lambda X: np.nan_to_num((np.log(rows.counts(X)) - mean) / sd)

    def cost_fn(self, objectives: Sequence[Objective]):
        """``(fn, columns)``: ``fn(X)`` → FLOPs, bytes moved and kernels per operator class of
        each config's graph, the terms of an additive latency model for the measured
        ``latency`` objective (``columns``); ``(None, ())`` when no latency is searched or the
        space has no analytic graph."""
        rows = self._graph_rows
        cols = tuple(j for j, o in enumerate(objectives) if o.name == "latency")
        if rows is None or not cols:
            return None, ()
        used = np.nanmax(rows.class_counts(self._reference_rows), axis=0) > 0
        return (lambda X: np.nan_to_num(rows.class_counts(X)[:, used])), cols

    @cached_property
    def _reference_rows(self) -> np.ndarray:
        """Encodings of a fixed random sample of 200 configs: the scale of the space's counts."""
        return np.array([self.space.encode(c) for c in self.space.sample(200, seed=0)])

    def _graph_counts_that_match(self, build, samples: int = 3) -> set[str]:
        """Which of macs / params (requested ones) the graph gives exactly as ``evaluate`` counts them."""
        from hwopt.evaluators._counting import count_macs, count_params

        wanted = {m for m in ("macs", "params") if m in self.requested}
        if self.macs_convention != "dynast":
            wanted.discard("macs")
        for cfg in self.space.sample(samples, seed=0) if wanted else []:
            try:
                graph = build(cfg, 1)
                model = self.model_space.build(cfg)
                macs, params = count_macs(model, self.model_space.input_shape(cfg, 1)), count_params(model)
            except Exception:  # noqa: BLE001 - unverifiable: measured, not computed
                return set()
            if graph.macs != macs:
                wanted.discard("macs")
            if graph.weight_bytes / graph.dtype_bytes != params:
                wanted.discard("params")
        return wanted

    def _cost(self, cfg: Config, metric: str) -> float:
        from hwopt.hardware import cost_metric

        return cost_metric(self.model_space, cfg, metric, batch_size=self.batch_size,
                           calibration=self.calibration, hardware_files=self.hardware_files,
                           runtime=self.cost_runtime)

    @property
    def cost_runtime(self) -> str:
        """The runtime cost metrics assume without a calibration: the one latency is measured with
        (``torch`` runs eager, ONNX Runtime a compiled graph)."""
        return COST_RUNTIME[self.runtime]

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
                                   "batch_size": self.batch_size,
                                   "runtime": None if self.calibration else self.cost_runtime})
        return ctx
