"""Executors: where evaluations run — inline (default), a local process pool, or a Ray cluster.

An executor runs ``evaluator.evaluate`` on configs and yields ``Outcome``s as they finish.
Exceptions never escape: a failing evaluation is an Outcome with a reason, recorded as a
failed trial. Latency measurements should run inline (parallel work disturbs timing) — or on
Ray, one evaluation per node, when each node is a device of its own.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from hwopt.errors import ConfigError, HwoptError, require
from hwopt.space import Config


@dataclass
class Outcome:
    """The result of one evaluation: measurements, or a failure reason."""

    index: int
    measurements: dict[str, Any] | None
    fail_reason: str
    started: dt.datetime
    finished: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now()


def run_one(evaluator, index: int, config: Config) -> Outcome:
    started = _now()
    try:
        m = evaluator.evaluate(config)
        if not isinstance(m, dict):
            return Outcome(index, None, f"evaluator returned {type(m).__name__}, not a dict", started, _now())
        return Outcome(index, m, "", started, _now())
    except HwoptError as exc:
        return Outcome(index, None, str(exc) or type(exc).__name__, started, _now())
    except Exception as exc:  # any evaluation bug is data about that trial, not a crash of the study
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
        return Outcome(index, None, f"{type(exc).__name__}: {exc}{where}", started, _now())


class InlineExecutor:
    """Evaluates one config after another in this process."""

    n_workers = 1

    def run(self, evaluator, configs: Sequence[Config]) -> Iterator[Outcome]:
        for i, c in enumerate(configs):
            yield run_one(evaluator, i, c)

    def close(self) -> None:
        pass


_WORKER_EVALUATOR = None


def _init_worker(evaluator) -> None:
    global _WORKER_EVALUATOR
    _WORKER_EVALUATOR = evaluator


def _run_in_worker(index: int, config: Config) -> Outcome:
    return run_one(_WORKER_EVALUATOR, index, config)


class ProcessExecutor:
    """A pool of worker processes; the evaluator is sent once to each worker."""

    def __init__(self, n_workers: int = 2):
        self.n_workers = n_workers
        self._pool: ProcessPoolExecutor | None = None
        self._evaluator = None

    def run(self, evaluator, configs: Sequence[Config]) -> Iterator[Outcome]:
        if self._pool is None or self._evaluator is not evaluator:
            self.close()
            import multiprocessing as mp

            self._pool = ProcessPoolExecutor(
                self.n_workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(evaluator,)
            )
            self._evaluator = evaluator
        pending = {self._pool.submit(_run_in_worker, i, c): i for i, c in enumerate(configs)}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                i = pending.pop(fut)
                try:
                    yield fut.result()
                except Exception as exc:  # a worker died (killed, out of memory)
                    now = _now()
                    yield Outcome(i, None, f"worker process failed: {type(exc).__name__}: {exc}", now, now)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class RayExecutor:
    """Evaluations as Ray tasks: on a running cluster (``address``, e.g. ``"auto"`` or
    ``"ray://head:10001"``) or on a local one of ``n_workers`` CPUs started on first use.

    The evaluator is put in Ray's object store once per search; each task evaluates one config
    with ``cpus_per_task`` CPUs (``resources`` adds custom ones, e.g. ``{"pixel7": 1}`` so that
    latency runs only on nodes that hold that device). Results are yielded as they finish and
    written to the study by the driver, so a lost node loses only its running evaluations, which
    are recorded as failed trials with the reason.
    """

    def __init__(self, n_workers: int = 2, address: str | None = None, cpus_per_task: float = 1.0,
                 resources: dict[str, float] | None = None):
        self.n_workers = n_workers
        self.address = address
        self.cpus_per_task = cpus_per_task
        self.resources = dict(resources or {})
        self._started = False
        self._evaluator = None
        self._ref = None
        self._task = None

    def _ray(self):
        ray = require("ray", extra="ray")
        if not ray.is_initialized():
            try:
                if self.address:
                    ray.init(address=self.address, log_to_driver=False, configure_logging=False)
                else:  # a local cluster: its workers see the modules this process sees
                    path = os.pathsep.join(p for p in sys.path if p)
                    ray.init(num_cpus=self.n_workers, include_dashboard=False, log_to_driver=False,
                             configure_logging=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
                    self._started = True
            except Exception as exc:  # noqa: BLE001 - an unreachable cluster is the user's setting
                where = f"at {self.address!r}" if self.address else "locally"
                raise ConfigError(f"cannot start or join a Ray cluster {where}: {str(exc).splitlines()[0]}") from None
        if self._task is None:
            self._task = ray.remote(num_cpus=self.cpus_per_task, resources=self.resources or None,
                                    max_retries=0)(run_one)
        return ray

    def run(self, evaluator, configs: Sequence[Config]) -> Iterator[Outcome]:
        ray = self._ray()
        if self._evaluator is not evaluator:
            self._ref, self._evaluator = ray.put(evaluator), evaluator
        pending = {self._task.remote(self._ref, i, c): i for i, c in enumerate(configs)}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    i = pending.pop(ref)
                    try:
                        yield ray.get(ref)
                    except ray.exceptions.RaySystemError as exc:  # the evaluator did not load there
                        raise ConfigError(f"the evaluator cannot be loaded on the Ray workers ({_last_line(exc)}); "
                                          "make its module importable on every node (install it there, or "
                                          "start Ray with a runtime_env)") from None
                    except Exception as exc:  # the task's worker or node died
                        now = _now()
                        yield Outcome(i, None, f"ray task failed: {type(exc).__name__}: {_last_line(exc)}", now, now)
        finally:
            for ref in pending:  # abandoned (the consumer stopped early): free the cluster
                ray.cancel(ref)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._evaluator = self._ref = self._task = None


def _last_line(exc: BaseException) -> str:
    """The informative line of a Ray error (its text ends with the remote exception)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip() and not set(ln.strip()) <= set("^~")]
    return lines[-1] if lines else type(exc).__name__


#: parallel backends of ``--jobs N``
BACKENDS = ("process", "ray")


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"unknown executor backend {backend!r}; valid: {', '.join(BACKENDS)}")


def get_executor(n_jobs: int = 1, backend: str = "process", address: str | None = None):
    """Inline for one job on the process backend; else a pool of ``n_jobs`` local processes, or
    Ray tasks (``backend="ray"``: a local cluster of ``n_jobs`` CPUs, or the cluster at ``address``)."""
    check_backend(backend)
    if backend == "ray":
        return RayExecutor(n_jobs, address)
    return InlineExecutor() if n_jobs <= 1 else ProcessExecutor(n_jobs)
