"""Executors: where evaluations run — inline (default) or a local process pool.

An executor runs ``evaluator.evaluate`` on configs and yields ``Outcome``s as they finish.
Exceptions never escape: a failing evaluation is an Outcome with a reason, recorded as a
failed trial. Latency measurements should run inline (parallel work disturbs timing).
"""

from __future__ import annotations

import datetime as dt
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from hwopt.errors import HwoptError
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


def get_executor(n_jobs: int = 1):
    """Inline for ``n_jobs == 1``, else a process pool of ``n_jobs`` workers."""
    return InlineExecutor() if n_jobs <= 1 else ProcessExecutor(n_jobs)
