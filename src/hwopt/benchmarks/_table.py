"""``table:<file.csv>``: any CSV of configs with numeric metric columns.

The config column is ``arch`` (a NAS-Bench-201 cell string) or ``config`` (JSON). The space is
the NB201 cell space for ``arch``; for ``config`` it is given (``space=`` a registered model
space name or a space file) or inferred: one categorical parameter per key (a list of
``length`` values for list keys) over the values seen, ordered when numeric. Rows that share a
canonical config are averaged, with a warning.
"""

from __future__ import annotations

import json
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from hwopt.benchmarks._base import TabularBenchmark
from hwopt.errors import BenchmarkError, HwoptError
from hwopt.space import Categorical, SearchSpace, load_space
from hwopt.supernets._cells import arch_to_config, nb201_space
from hwopt.warnings import HwoptWarning


class TableBenchmark(TabularBenchmark):
    """Every numeric column except the config column is a metric; directions come from objectives."""

    prefix = "table"

    def __init__(self, spec: str, space: str | SearchSpace | None = None, **_: object):
        super().__init__(spec)
        path = Path(spec.split(":", 1)[1]) if ":" in spec else Path("")
        if not path.is_file():
            raise BenchmarkError(f"table file {str(path)!r} does not exist (write table:<file.csv>)")
        self.path = path
        try:
            self._raw = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BenchmarkError(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None
        if "arch" in self._raw.columns:
            self._column = "arch"
        elif "config" in self._raw.columns:
            self._column = "config"
        else:
            raise BenchmarkError(f"{path}: needs a column 'arch' (NB201 cell string) or 'config' (JSON); has {list(self._raw.columns)}")
        numeric = [c for c in self._raw.columns if c != self._column and pd.api.types.is_numeric_dtype(self._raw[c])]
        if not numeric:
            raise BenchmarkError(f"{path}: no numeric metric columns besides {self._column!r}")
        self._metric_directions = {c: "min" for c in numeric}
        self._space_arg = space

    @cached_property
    def _configs(self) -> list[dict]:
        parse = arch_to_config if self._column == "arch" else _parse_json
        out = []
        for row, value in enumerate(self._raw[self._column]):
            try:
                out.append(parse(value))
            except HwoptError as exc:
                raise BenchmarkError(f"{self.path}: row {row + 1}: {exc}") from None
        return out

    @cached_property
    def space(self) -> SearchSpace:
        arg = self._space_arg
        if isinstance(arg, SearchSpace):
            return arg
        if arg:
            from hwopt.supernets import SPACES, get_space

            return get_space(arg).space if arg in SPACES else load_space(arg)
        if self._column == "arch":
            return nb201_space()
        return _infer_space(self._configs, name=f"table:{self.path.name}")

    def _load(self) -> pd.DataFrame:
        metrics = list(self.metrics)
        hashes = [self.space.hash(c) for c in self._configs]
        df = self._raw[metrics].astype(float).copy()
        df["_hash"] = hashes
        grouped = df.groupby("_hash", sort=False)
        out = grouped[metrics].mean()
        if len(out) < len(df):
            warnings.warn(
                f"{self.path}: {len(df) - len(out)} rows share a canonical config with another row; their metrics are averaged",
                HwoptWarning, stacklevel=2,
            )
        first = {h: i for i, h in reversed(list(enumerate(hashes)))}
        out.insert(0, "config", [self.space.canonical(self._configs[first[h]]) for h in out.index])
        return out


def _parse_json(value: object) -> dict:
    try:
        cfg = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"config is not valid JSON ({exc.msg})") from None
    if not isinstance(cfg, dict):
        raise BenchmarkError(f"config must be a JSON object, got {value!r}")
    return cfg


def _infer_space(configs: list[dict], name: str) -> SearchSpace:
    keys = list(configs[0])
    params = []
    for k in keys:
        vals = [c.get(k) for c in configs]
        if any(v is None for v in vals):
            raise BenchmarkError(f"cannot infer a space: key {k!r} is missing or null in some rows; pass --space")
        if isinstance(vals[0], list):
            lengths = {len(v) for v in vals}
            if len(lengths) != 1:
                raise BenchmarkError(f"cannot infer a space: list {k!r} has several lengths {sorted(lengths)}; pass --space")
            flat = sorted({e for v in vals for e in v}, key=_sort_key)
            params.append(Categorical(k, flat, length=lengths.pop(), ordered=_numeric(flat)))
        else:
            uniq = sorted(set(vals), key=_sort_key)
            params.append(Categorical(k, uniq, ordered=_numeric(uniq)))
    return SearchSpace(params, name=name)


def _numeric(values: list) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def _sort_key(v: object):
    return (0, float(v), "") if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, 0.0, str(v))
