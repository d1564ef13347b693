"""Tabular benchmarks with real measured values; each knows its true Pareto front.

``get_benchmark("nb201:raspi4")`` resolves the prefix before the first ``:`` in ``BENCHMARKS``.
"""

from __future__ import annotations

from hwopt._registry import Registry
from hwopt.benchmarks._base import REFERENCE, TabularBenchmark, hypervolume

BENCHMARKS: Registry[type[TabularBenchmark]] = Registry("benchmark")
BENCHMARKS.register("nasbench-graph", "hwopt.benchmarks._nasbench_graph:NasBenchGraphBenchmark",
                    "nasbench-graph:<dataset> — 26,206 GNN archs (PyPI nas-bench-graph): accuracy, latency, params")
BENCHMARKS.register("nb201", "hwopt.benchmarks._nb201:NB201Benchmark",
                    "nb201:<device>[:<batch>] — NAS-Bench-201 12-epoch accuracy × HELP/HW-NAS-Bench latency (--data-dir)")
BENCHMARKS.register("table", "hwopt.benchmarks._table:TableBenchmark",
                    "table:<file.csv> — configs (arch or JSON config column) with numeric metric columns")

__all__ = ["BENCHMARKS", "REFERENCE", "TabularBenchmark", "get_benchmark", "hypervolume"]


def get_benchmark(spec: str, **options) -> TabularBenchmark:
    """The benchmark named by ``spec`` (``prefix:args``); options go to its constructor."""
    prefix = spec.split(":", 1)[0]
    return BENCHMARKS.get(prefix)(spec, **options)
