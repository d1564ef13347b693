"""The ask → evaluate → tell loop.

Configs are deduplicated by canonical hash: a config already in the study (complete or failed)
is never evaluated again — the strategy is told the stored result instead. The budget counts
distinct finished configs, so a search killed at any point and resumed ends with exactly
``budget`` of them. Each result is written to the study the moment it arrives.

Several workers may run one study stored in a database: each claims a config before evaluating
it (``_claims``), so no config is evaluated twice, and before each batch it reads what the others
finished, tells its strategy and counts it towards the budget (a run may end a few evaluations
past the budget: those the other workers had in flight).
"""

from __future__ import annotations

import logging
import warnings
from typing import Callable, Sequence

import numpy as np

from hwopt.evaluators import Evaluator, to_matrices
from hwopt.space import Config
from hwopt.strategies import Problem, Strategy
from hwopt.study._executors import InlineExecutor
from hwopt.study._study import Study, TrialRecord
from hwopt.warnings import HwoptWarning

log = logging.getLogger("hwopt")

#: batches in a row without a new config before random unseen configs are mixed in
STALL_LIMIT = 25


class Progress:
    """Receives updates from the loop; the CLI shows a bar, the API stays silent."""

    def stage(self, name: str) -> None:
        """The work that the next ``start`` counts (e.g. "re-measure") changes."""

    def start(self, total: int, done: int) -> None: ...

    def update(self, done: int, failed: int, hv: float | None) -> None: ...

    def close(self) -> None: ...


def update_front(front: np.ndarray, f: np.ndarray) -> tuple[np.ndarray, bool]:
    """Add minimisation-form point ``f`` to a non-dominated set; returns (new set, whether it changed)."""
    if len(front) and (front <= f).all(axis=1).any():
        return front, False
    keep = ~((f <= front).all(axis=1) & (f < front).any(axis=1)) if len(front) else np.ones(0, bool)
    return np.vstack([front[keep], f]), True


def history(study: Study) -> tuple[list[TrialRecord], list[Config], np.ndarray, np.ndarray]:
    """Finished trials (first of each hash), their configs, and F / G in strategy form."""
    seen: dict[str, TrialRecord] = {}
    for t in study.trials:
        if t.state in ("COMPLETE", "FAIL") and t.config_hash not in seen:
            seen[t.config_hash] = t
    records = list(seen.values())
    measurements = [t.measurements if t.ok else None for t in records]
    F, G = to_matrices(measurements, study.objectives, study.constraints)
    return records, [t.config for t in records], F, G


def _evaluate_enqueued(study: Study, evaluator: Evaluator, executor, configs: Sequence[Config], budget: int,
                       progress: Progress, known: set[str], claims=None) -> int:
    """Evaluate the feasible ``configs`` not in ``known`` (the study's finished config hashes), up to
    ``budget`` distinct configs in all."""
    space = evaluator.space
    todo: dict[str, Config] = {}
    for cfg in configs:
        h = space.hash(cfg)
        if (h not in known and h not in todo and space.is_feasible(cfg) and len(known) + len(todo) < budget
                and (claims is None or claims.claim(h))):
            todo[h] = cfg
    batch = list(todo.items())
    failed = 0
    for k, out in enumerate(executor.run(evaluator, [c for _, c in batch])):
        h, cfg = batch[out.index]
        rec = study.add(space.canonical(cfg), h, out.measurements, started=out.started, finished=out.finished,
                        space=space, fail_reason=out.fail_reason, strategy="reference", seed=None,
                        worker=claims.owner if claims is not None else None)
        if claims is not None:
            claims.done(h)
        failed += not rec.ok
        progress.update(len(known) + k + 1, failed, None)
    return len(batch)


def optimize(
    study: Study,
    evaluator: Evaluator,
    strategy: Strategy,
    budget: int,
    *,
    executor=None,
    progress: Progress | None = None,
    hv_fn: Callable[[np.ndarray], float] | None = None,
    exact: Callable[[np.ndarray], np.ndarray] | None = None,
    exact_columns: Sequence[int] = (),
    features: Callable[[np.ndarray], np.ndarray] | None = None,
    cost_counts: Callable[[np.ndarray], np.ndarray] | None = None,
    cost_columns: Sequence[int] = (),
    enqueue: Sequence[Config] = (),
) -> int:
    """Run until ``budget`` distinct configs are finished in ``study``; returns how many were evaluated now.

    ``enqueue``: configs evaluated first, before the strategy proposes any (skipped when already
    in the study; they count towards the budget); the strategy gets them as a warm start.
    """
    executor = executor or InlineExecutor()
    progress = progress or Progress()
    claims = study.claims()
    try:
        return _loop(study, evaluator, strategy, budget, executor, progress, hv_fn, enqueue, claims,
                     Problem(space=evaluator.space, n_obj=len(study.objectives), n_constr=len(study.constraints),
                             objective_names=[o.name for o in study.objectives], exact=exact,
                             exact_columns=tuple(exact_columns), features=features, cost_counts=cost_counts,
                             cost_columns=tuple(cost_columns)))
    finally:
        progress.close()
        if hasattr(executor, "close"):
            executor.close()
        if claims is not None:
            claims.close()


def _finished_by_others(study: Study, known: dict) -> list[TrialRecord]:
    """Finished trials of configs this worker does not know yet (first trial of each)."""
    seen: dict[str, TrialRecord] = {}
    for t in study.trials:
        if t.state in ("COMPLETE", "FAIL") and t.config_hash not in known:
            seen.setdefault(t.config_hash, t)
    return list(seen.values())


def _loop(study: Study, evaluator: Evaluator, strategy: Strategy, budget: int, executor, progress: Progress,
          hv_fn: Callable[[np.ndarray], float] | None, enqueue: Sequence[Config], claims, problem: Problem) -> int:
    space = evaluator.space
    objectives, constraints = study.objectives, study.constraints
    finished = {t.config_hash for t in study.trials if t.state in ("COMPLETE", "FAIL")}
    progress.start(budget, len(finished))
    evaluated = _evaluate_enqueued(study, evaluator, executor, enqueue, budget, progress, finished, claims)
    strategy.setup(problem)
    records, configs, F_hist, G_hist = history(study)
    known: dict[str, tuple[np.ndarray, np.ndarray]] = {
        t.config_hash: (F_hist[i], G_hist[i]) for i, t in enumerate(records)
    }
    if records:
        strategy.warm_start(configs, F_hist, G_hist)
    failed = sum(1 for t in records if not t.ok)
    front = np.zeros((0, len(objectives)))  # feasible non-dominated points: all the hypervolume needs
    for i, t in enumerate(records):
        if t.ok and not (G_hist[i] > 0).any():
            front, _ = update_front(front, F_hist[i])
    hv = hv_fn(front) if hv_fn and len(front) else None
    progress.update(len(known), failed, hv)
    #: proposals that break the space's constraints: told as failures, never evaluated or counted
    known_infeasible: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    stall = 0
    seen_others = 0  # configs other workers had finished when this one last read the study
    fallback = None
    strategy_name = type(strategy).name or type(strategy).__name__
    while len(known) < budget:
        others = []
        if claims is not None:  # a worker writes a trial before it marks the claim done
            n = claims.finished_by_others()
            if n > seen_others:
                seen_others, others = n, _finished_by_others(study, known)
        if others:  # tell the strategy, count them, and look again (the budget may be reached)
            F, G = to_matrices([t.measurements if t.ok else None for t in others], objectives, constraints)
            for k, t in enumerate(others):
                known[t.config_hash] = (F[k], G[k])
                failed += not t.ok
                if t.ok and not (G[k] > 0).any():
                    front, _ = update_front(front, F[k])
            strategy.tell([t.config for t in others], F, G.reshape(len(others), len(constraints)))
            hv = hv_fn(front) if hv_fn and len(front) else hv
            progress.update(len(known), failed, hv)
            continue
        want = max(1, strategy.batch_size)
        batch = strategy.ask(want)
        if stall >= STALL_LIMIT:
            if fallback is None:
                from hwopt.strategies._random import RandomStrategy

                warnings.warn(
                    f"{strategy_name} proposed only known configs for {STALL_LIMIT} batches; mixing in random unseen configs",
                    HwoptWarning, stacklevel=3,
                )
                fallback = RandomStrategy(seed=(strategy.seed or 0) + 7919)
                fallback.setup(strategy.problem)
            batch = list(batch) + fallback.ask(want)
        if not batch:
            stall += 1
            continue
        hashes = [space.hash(c) for c in batch]
        for c, h in zip(batch, hashes):
            if h not in known and not space.is_feasible(c):  # violates the space's own constraints:
                known_infeasible[h] = (np.full(len(objectives), np.nan), np.full(len(constraints), np.inf))
        new: list[int] = []
        pending: set[str] = set()
        for i, h in enumerate(hashes):
            if (h not in known and h not in known_infeasible and h not in pending and len(known) + len(new) < budget
                    and (claims is None or claims.claim(h))):
                new.append(i)
                pending.add(h)
        stall = 0 if new else stall + 1
        for out in executor.run(evaluator, [batch[i] for i in new]):
            i = new[out.index]
            rec = study.add(
                space.canonical(batch[i]), hashes[i], out.measurements, started=out.started,
                finished=out.finished, space=space, fail_reason=out.fail_reason,
                strategy=strategy_name, seed=strategy.seed, worker=claims.owner if claims is not None else None,
            )
            if claims is not None:
                claims.done(hashes[i])
            f, g = to_matrices([rec.measurements if rec.ok else None], objectives, constraints)
            known[hashes[i]] = (f[0], g[0])
            evaluated += 1
            if rec.ok:
                if not (g[0] > 0).any():
                    front, changed = update_front(front, f[0])
                    if changed and hv_fn:
                        hv = hv_fn(front)
            else:
                failed += 1
            progress.update(len(known), failed, hv)
        told = [(c, known[h] if h in known else known_infeasible[h])
                for c, h in zip(batch, hashes) if h in known or h in known_infeasible]
        if told:
            F = np.array([fg[0] for _, fg in told])
            G = np.array([fg[1] for _, fg in told]).reshape(len(told), len(constraints))
            strategy.tell([c for c, _ in told], F, G)
            if fallback is not None:
                fallback.tell([c for c, _ in told], F, G)
        state = strategy.state()
        if state and new:
            study.add_round({"evaluations": len(known), **state})
    return evaluated
