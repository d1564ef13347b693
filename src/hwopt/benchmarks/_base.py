"""Tabular benchmarks: a space plus a table of real measured metrics for every config.

Because every config is in the table, a benchmark knows its true Pareto front, and a search's
hypervolume can be given as ``hv_fraction`` = HV(found) / HV(true front) under one fixed
convention: each objective scaled to [0, 1] by the benchmark's global min and max over all
configs (maximised objectives flipped), reference point 1.1 in every scaled objective.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from functools import cached_property
from typing import Any, ClassVar, Sequence

import numpy as np
import pandas as pd

from hwopt.errors import EvaluationError, ObjectiveError
from hwopt.evaluators import Evaluator, Objective
from hwopt.space import Config, SearchSpace

REFERENCE = 1.1


class TabularBenchmark(Evaluator, ABC):
    """An Evaluator backed by a table: ``keys`` (one per config) and one column per metric."""

    #: registry prefix, e.g. "nb201"
    prefix: ClassVar[str] = ""
    default_objectives: tuple[str, ...] = ()
    #: unit of each metric, for plots and reports
    units: dict[str, str] = {}
    #: metrics that are cheap and exact to compute (predictor strategies compute, not predict them)
    exact_metrics: tuple[str, ...] = ()

    def __init__(self, spec: str):
        self.spec = spec

    # -- subclasses provide ---------------------------------------------------------
    @property
    @abstractmethod
    def space(self) -> SearchSpace: ...

    @abstractmethod
    def _load(self) -> pd.DataFrame:
        """The table: index = config hash (``space.hash``), columns = ``config`` (dict) + metrics."""

    # -- table ------------------------------------------------------------------------
    @cached_property
    def table(self) -> pd.DataFrame:
        df = self._load()
        assert df.index.is_unique, "benchmark table index (config hash) must be unique"
        return df

    @property
    def metrics(self) -> dict[str, str]:  # type: ignore[override]
        return dict(self._metric_directions)

    _metric_directions: dict[str, str] = {}

    def evaluate(self, config: Config) -> dict[str, Any]:
        key = self.space.hash(config)
        try:
            row = self.table.loc[key]
        except KeyError:
            raise EvaluationError(f"config is not in the {self.spec} table") from None
        return {m: float(row[m]) for m in self.metrics}

    def context(self) -> dict[str, Any]:
        return {"benchmark": self.spec, "n_configs": int(len(self.table))}

    def is_noisy(self, name: str) -> bool:
        return False  # a table returns the same row every time

    def all_configs(self) -> list[Config]:
        return list(self.table["config"])

    def encoded(self) -> np.ndarray:
        """Encodings of every config in the table (row order = ``table`` order)."""
        return self._encoded

    @cached_property
    def _encoded(self) -> np.ndarray:
        return self.space.encode_many(self.table["config"])

    @cached_property
    def _row_lookup(self) -> tuple[dict[bytes, int], dict[str, int]]:
        codes = np.asarray(self.encoded(), dtype=np.int64)
        return {x.tobytes(): i for i, x in enumerate(codes)}, {h: i for i, h in enumerate(self.table.index)}

    def rows_of(self, X: np.ndarray) -> np.ndarray:
        """Table row of each encoded config (-1 if not in the table): by encoding, else by
        canonical hash, so equivalent encodings (e.g. isomorphic graphs) find their row."""
        by_code, by_hash = self._row_lookup
        sp = self.space
        out = []
        for x in np.atleast_2d(np.asarray(X, dtype=np.int64)):
            i = by_code.get(x.tobytes())
            out.append(by_hash.get(sp.hash(sp.decode(x)), -1) if i is None else i)
        return np.asarray(out, dtype=np.int64)

    def exact_fn(self, objectives: Sequence[Objective]):
        """``(fn, columns)``: ``fn(X)`` gives the minimisation-form values of the objectives in
        ``exact_metrics`` (cheap, exactly computable ones such as params) for encoded configs, so
        predictor strategies compute them instead of predicting them; ``(None, ())`` if none."""
        cols = tuple(j for j, o in enumerate(objectives) if o.name in self.exact_metrics)
        if not cols:
            return None, ()
        V = np.column_stack([objectives[j].sign * self.table[objectives[j].name].to_numpy(float) for j in cols])
        return self._per_row(V, missing=np.nan), cols

    def _descriptors(self) -> np.ndarray | None:
        """Cheap exact descriptors of every table row (row order = ``table``), or None.

        Subclasses return what a user could compute for their own space without evaluating
        anything: counts from the model's operator graph, parameter counts.
        """
        return None

    def feature_fn(self):
        """``fn(X)`` → the standardised descriptors of encoded configs, for predictor features;
        None if the benchmark has none. A config outside the table gets the mean row (zeros).
        Built once per benchmark object."""
        return self._feature_function

    @cached_property
    def _feature_function(self):
        D = self._descriptors()
        if D is None:
            return None
        D = np.asarray(D, dtype=float).reshape(len(self.table), -1)
        sd = D.std(axis=0)
        return self._per_row((D - D.mean(axis=0)) / np.where(sd > 0, sd, 1.0))

    def _cost_counts(self) -> np.ndarray | None:
        """Non-negative per-operator-class counts (FLOPs, bytes, kernels) of every table row,
        whose weighted sum approximates a latency, or None (see ``cost_fn``)."""
        return None

    #: the metrics (measured latencies) that the cost counts describe
    counted_metrics: ClassVar[tuple[str, ...]] = ("latency",)

    def cost_fn(self, objectives: Sequence[Objective]):
        """``(fn, columns)``: ``fn(X)`` → the cost counts of encoded configs, for an additive
        latency predictor of the objectives ``columns`` (those in ``counted_metrics``);
        ``(None, ())`` if the benchmark has none or no such objective is searched. A config
        outside the table gets zeros."""
        cols = tuple(j for j, o in enumerate(objectives) if o.name in self.counted_metrics)
        if self._cost_function is None or not cols:
            return None, ()
        return self._cost_function, cols

    @cached_property
    def _cost_function(self):
        C = self._cost_counts()
        if C is None:
            return None
        C = np.asarray(C, dtype=float).reshape(len(self.table), -1)
        return self._per_row(C[:, C.max(axis=0) > 0])  # classes no config uses carry no information

    def _per_row(self, M: np.ndarray, missing: float = 0.0):
        """``fn(X)`` → the rows of ``M`` (one per table row) for encoded configs; ``missing``
        fills the row of a config outside the table."""
        M = np.vstack([M, np.full(M.shape[1], missing)])

        def lookup(X: np.ndarray) -> np.ndarray:
            return M[self.rows_of(X)]

        return lookup

    # -- hypervolume convention ---------------------------------------------------------
    def _scaled(self, F: np.ndarray, objectives: Sequence[Objective]) -> np.ndarray:
        """Minimisation-form F (as strategies see it) scaled to [0, 1] by the table's min/max."""
        lo, hi = self._bounds(tuple(objectives))
        return (F - lo) / np.where(hi > lo, hi - lo, 1.0)

    def _bounds(self, objectives: tuple[Objective, ...]) -> tuple[np.ndarray, np.ndarray]:
        key = tuple((o.name, o.direction) for o in objectives)
        if key not in self._bounds_cache:
            Fall = self.true_F(objectives)
            self._bounds_cache[key] = (np.nanmin(Fall, axis=0), np.nanmax(Fall, axis=0))
        return self._bounds_cache[key]

    @cached_property
    def _bounds_cache(self) -> dict:
        return {}

    def true_F(self, objectives: Sequence[Objective]) -> np.ndarray:
        """Minimisation-form objective matrix of every config in the table."""
        for o in objectives:
            if o.name not in self.metrics:
                raise ObjectiveError(
                    f"benchmark {self.spec} has no metric {o.name!r}; valid: {', '.join(self.metrics)}"
                )
        return np.column_stack([o.sign * self.table[o.name].to_numpy(float) for o in objectives])

    def true_hv(self, objectives: Sequence[Objective]) -> float:
        key = ("hv",) + tuple((o.name, o.direction) for o in objectives)
        if key not in self._bounds_cache:
            self._bounds_cache[key] = hypervolume(self._scaled(self.true_F(objectives), objectives))
        return self._bounds_cache[key]

    def hv_fraction(self, F: np.ndarray, objectives: Sequence[Objective]) -> float:
        """HV(found) / HV(true front); ``F`` in minimisation form, NaN rows ignored."""
        F = np.asarray(F, dtype=float).reshape(-1, len(objectives))
        F = F[~np.isnan(F).any(axis=1)]
        if len(F) == 0:
            return 0.0
        return hypervolume(self._scaled(F, objectives)) / self.true_hv(objectives)


def hypervolume(F_scaled: np.ndarray, ref: float = REFERENCE) -> float:
    """Hypervolume of scaled minimisation-form points w.r.t. ``ref`` in every objective (pymoo)."""
    from pymoo.indicators.hv import HV

    F = np.asarray(F_scaled, dtype=float)
    F = F[(F < ref).all(axis=1)]
    if len(F) == 0:
        return 0.0
    return float(HV(ref_point=np.full(F.shape[1], ref))(F))
