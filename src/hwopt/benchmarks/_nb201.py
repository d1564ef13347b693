"""``nb201:<device>[:<batch>]``: NAS-Bench-201 12-epoch accuracy × measured latency (HELP tables)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from hwopt.benchmarks._base import TabularBenchmark
from hwopt.benchmarks._data import resolve_data_dir
from hwopt.errors import BenchmarkError
from hwopt.space import SearchSpace
from hwopt.supernets._cells import arch_to_config, nb201_space

DATASETS = ("cifar10_val", "cifar10_test", "cifar100_val", "cifar100_test", "imagenet16_val", "imagenet16_test")


class NB201Benchmark(TabularBenchmark):
    """All 15,625 cells: ``accuracy`` (%, chosen dataset column) and ``latency`` (ms) on one device."""

    prefix = "nb201"
    default_objectives = ("accuracy:max", "latency:min")
    units = {"accuracy": "%", "latency": "ms"}
    _metric_directions = {"accuracy": "max", "latency": "min"}

    def __init__(self, spec: str, data_dir: str | Path | None = None, dataset: str = "cifar100_test"):
        super().__init__(spec)
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not parts[1]:
            raise BenchmarkError(f"write nb201:<device>[:<batch>], got {spec!r}")
        self.device = parts[1]
        try:
            self.batch = int(parts[2]) if len(parts) == 3 else None
        except ValueError:
            raise BenchmarkError(f"batch size in {spec!r} must be an integer") from None
        if dataset not in DATASETS:
            raise BenchmarkError(f"unknown NB201 dataset {dataset!r}; valid: {', '.join(DATASETS)}")
        self.dataset = dataset
        self.data_dir = resolve_data_dir(data_dir, "nb201/latency.csv.gz")

    @cached_property
    def space(self) -> SearchSpace:
        return nb201_space()

    def context(self) -> dict:
        return {**super().context(), "device": self.device, "batch_size": self.batch, "dataset": self.dataset}

    def _descriptors(self) -> np.ndarray:
        """log FLOPs, bytes moved and kernel count of each cell's operator graph as eager PyTorch
        runs it and with dead edges removed, plus log weight bytes (batch 1; disk-cached)."""
        from hwopt.hardware._features import graph_table
        from hwopt.supernets.nb201 import NB201Space

        return graph_table(NB201Space(), list(self.table["config"]), 1).descriptors()

    def _cost_counts(self) -> np.ndarray:
        """FLOPs, bytes moved and kernels per operator class of each cell's graph (batch 1; eager
        and with dead edges removed): the terms of an additive latency model."""
        from hwopt.hardware._features import graph_table
        from hwopt.supernets.nb201 import NB201Space

        return graph_table(NB201Space(), list(self.table["config"]), 1).class_counts()

    def _load(self) -> pd.DataFrame:
        lat = pd.read_csv(self.data_dir / "nb201" / "latency.csv.gz", dtype={"batch_size": "Int64"})
        devices = sorted(lat.device.unique())
        if self.device not in devices:
            raise BenchmarkError(f"unknown nb201 device {self.device!r}; valid: {', '.join(devices)}")
        lat = lat[lat.device == self.device]
        batches = sorted(int(b) for b in lat.batch_size.dropna().unique())
        if self.batch is None and len(batches) > 1:
            raise BenchmarkError(
                f"nb201:{self.device} has several batch sizes; write nb201:{self.device}:<batch> with one of {batches}"
            )
        if self.batch is not None:
            if self.batch not in batches:
                raise BenchmarkError(f"nb201:{self.device} has no batch size {self.batch}; valid: {batches or 'none stated'}")
            lat = lat[lat.batch_size == self.batch]
        acc = pd.read_csv(self.data_dir / "nb201" / "accuracy_12epoch.csv.gz")
        df = lat.merge(acc, on=["arch", "arch_index"], validate="one_to_one")
        configs = [arch_to_config(a) for a in df.arch]
        out = pd.DataFrame({
            "config": configs,
            "accuracy": df[self.dataset].to_numpy(float),
            "latency": df.latency_ms.to_numpy(float),
        })
        out.index = [self.space.hash(c) for c in configs]
        return out
