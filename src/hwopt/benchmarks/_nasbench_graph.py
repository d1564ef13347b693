"""``nasbench-graph:<dataset>``: the 26,206 GNN architectures of NAS-Bench-Graph (PyPI package).

The space is the package's: a link pattern (9 choices) and an operation per layer (4 × 9).
Isomorphic architectures share one benchmark entry; the space's ``canonicalize`` hook maps
each config to one representative, so equivalent configs are evaluated (and counted) once.
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np
import pandas as pd

from hwopt.benchmarks._base import TabularBenchmark
from hwopt.errors import BenchmarkError, require
from hwopt.space import Categorical, Config, SearchSpace


class NasBenchGraphBenchmark(TabularBenchmark):
    """``accuracy`` (test, %), ``valid_accuracy`` (%), ``latency`` (ms) and ``params`` (M)."""

    prefix = "nasbench-graph"
    default_objectives = ("accuracy:max", "latency:min")
    exact_metrics = ("params",)
    units = {"accuracy": "%", "valid_accuracy": "%", "latency": "ms", "params": "M"}
    _metric_directions = {"accuracy": "max", "valid_accuracy": "max", "latency": "min", "params": "min"}

    def __init__(self, spec: str, **_: object):
        super().__init__(spec)
        parts = spec.split(":")
        nbg = require("nas_bench_graph", extra="core")
        from importlib import resources

        # proteins uses a reduced op set whose keys the package's valid_hash() does not produce
        available = sorted(p.name[: -len(".bench")] for p in (resources.files(nbg) / "light").iterdir()
                           if p.name.endswith(".bench") and p.name != "proteins.bench")
        if len(parts) != 2 or parts[1] not in available:
            raise BenchmarkError(
                f"write nasbench-graph:<dataset> with a dataset of {', '.join(available)}; got {spec!r}"
            )
        self.dataset = parts[1]

    @cached_property
    def _links(self) -> list[str]:
        from nas_bench_graph.architecture import link_list

        return ["".join(map(str, lk)) for lk in link_list]

    @cached_property
    def _ops(self) -> list[str]:
        from nas_bench_graph.architecture import gnn_list

        return list(gnn_list)

    @cached_property
    def _representatives(self) -> tuple[dict[tuple, int], dict[int, Config]]:
        """Every (link, ops) → benchmark key, and each key → its first config in space order."""
        from nas_bench_graph import Arch

        key_of: dict[tuple, int] = {}
        rep: dict[int, Config] = {}
        for link in self._links:
            for ops in itertools.product(self._ops, repeat=4):
                if all(o == "skip" for o in ops):
                    continue
                k = Arch([int(c) for c in link], list(ops)).valid_hash()
                key_of[(link, ops)] = k
                rep.setdefault(k, {"link": link, "ops": list(ops)})
        return key_of, rep

    def _canonicalize(self, config: Config) -> Config:
        key_of, rep = self._representatives
        k = key_of.get((config["link"], tuple(config["ops"])))
        return dict(rep[k]) if k is not None else config

    @cached_property
    def space(self) -> SearchSpace:
        return SearchSpace(
            [Categorical("link", self._links), Categorical("ops", self._ops, length=4)],
            constraints=["not (ops[0] == 'skip' and ops[1] == 'skip' and ops[2] == 'skip' and ops[3] == 'skip')"],
            name=f"nasbench-graph:{self.dataset}",
            canonicalize=self._canonicalize,
        )

    def _cost_counts(self) -> np.ndarray:
        """Layers per operation type of each architecture: the terms of an additive latency model
        (every layer runs, whatever the links), as a user of such a space could count them."""
        ops = self._ops
        return np.asarray([[cfg["ops"].count(o) for o in ops] for cfg in self.table["config"]], dtype=float)

    def _load(self) -> pd.DataFrame:
        from nas_bench_graph import light_read

        bench = light_read(self.dataset)
        _, rep = self._representatives
        rows, index = [], []
        for k, cfg in rep.items():
            if k not in bench:
                continue
            e = bench[k]
            rows.append({"config": cfg, "accuracy": 100 * float(e["perf"]), "valid_accuracy": 100 * float(e["valid_perf"]),
                         "latency": 1000 * float(e["latency"]), "params": float(e["para"])})
            index.append(self.space.hash(cfg))
        return pd.DataFrame(rows, index=index)
