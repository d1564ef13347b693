"""Check the cost model on a table of measured models: calibrate on N rows, predict the rest.

Used by ``hwopt costmodel evaluate|calibrate`` and by ``benchmarks/costmodel_*.py``. A table
names its models either as configs of a model space (a column of ``CONFIG_COLUMNS``) or as
ONNX files (a ``model`` column, paths relative to the table's folder), so any set of models a
user has measured can calibrate the cost model. Rows whose model output does not depend on its
input (e.g. NAS-Bench-201 cells whose every path is ``none``) are dropped by default: runtimes
fold such graphs to a constant, so their latency is not a compute latency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from hwopt.errors import ConfigError
from hwopt.hardware._calibration import Calibration, fit_calibration
from hwopt.hardware._features import VARIANTS, GraphTable, graph_table, spec_seconds
from hwopt.hardware._roofline import get_runtime
from hwopt.hardware._target import HardwareTarget

CONFIG_COLUMNS = ("arch", "config", "ops", "op_idx")
#: measured columns the spec sheet alone can predict: name -> (quantity, factor from ms / mJ)
SPEC_METRICS = {"latency_ms": ("latency", 1.0), "latency_s": ("latency", 1e-3), "latency_us": ("latency", 1e3),
                "energy_mj": ("energy", 1.0), "energy_j": ("energy", 1e-3), "energy_uj": ("energy", 1e3)}
#: the column of a table of ONNX files
MODEL_COLUMN = "model"


@dataclass
class MeasuredTable:
    """Configs (canonical), measured values and the graph table of one device setting."""

    configs: list[dict]
    y: np.ndarray
    batch_size: int
    graphs: GraphTable
    dropped: int = 0
    metric: str = "latency_ms"

    def features(self, target: HardwareTarget, dtype: str = "fp32") -> dict[str, np.ndarray]:
        return {v: self.graphs.features(target, dtype, v) for v in VARIANTS}


def read_table(path: str | Path, space: Any = None, metric: str = "latency_ms", device: str | None = None,
               batch_size: int | None = None, configs_file: str | Path | None = None,
               keep_constant: bool = False, dtype_bytes: float = 4) -> MeasuredTable:
    """Read a (possibly long-format, gzip) CSV; filter by device / batch size; build graphs with
    tensors of ``dtype_bytes`` (the width of the type the models ran in: 1 for an int8 device).

    With ``space`` None the table's ``model`` column names ONNX files."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"table {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path, dtype={"batch_size": "Int64"} if _has_column(path, "batch_size") else None)
    except Exception as exc:  # noqa: BLE001
        raise ConfigError(f"cannot read table {str(path)!r}: {exc}") from None
    if configs_file is not None:
        extra = pd.read_csv(configs_file)
        on = [c for c in df.columns if c in extra.columns and c not in CONFIG_COLUMNS]
        if not on:
            raise ConfigError(f"{configs_file} shares no id column with {path}")
        df = df.merge(extra, on=on)
    if metric not in df.columns:
        raise ConfigError(f"table has no column {metric!r} (name the measured column with --metric); "
                          f"columns: {', '.join(map(str, df.columns))}")
    if device is not None:
        if "device" not in df.columns:
            raise ConfigError("--device given but the table has no 'device' column")
        if device not in set(df.device):
            raise ConfigError(f"device {device!r} not in table; devices: {', '.join(sorted(set(df.device)))}")
        df = df[df.device == device]
    if "batch_size" in df.columns:
        if batch_size is not None:
            df = df[df.batch_size == batch_size]
        sizes = set(df.batch_size.dropna().astype(int))
        if len(sizes) > 1:
            raise ConfigError(f"table mixes batch sizes {sorted(sizes)}; choose one with --batch-size")
        if batch_size is None:
            batch_size = sizes.pop() if sizes else 1
    if "device" in df.columns and df.device.nunique() > 1:
        raise ConfigError(f"table mixes devices {sorted(set(df.device))}; choose one with --device")
    if df.empty:
        raise ConfigError("no rows left after filtering")
    y = df[metric].to_numpy(dtype=float)
    batch = int(batch_size or 1)
    if space is None:
        configs, graphs, live = _onnx_models(df, path.parent, batch, dtype_bytes)
        live = None if keep_constant else live
    else:
        col = next((c for c in CONFIG_COLUMNS if c in df.columns), None)
        if col is None:
            raise ConfigError(f"table needs one of the columns {', '.join(CONFIG_COLUMNS)} (use --configs to join "
                              f"one), or a {MODEL_COLUMN!r} column of ONNX files without a space")
        configs = [_parse_row(space, col, v) for v in df[col].tolist()]
        graphs = graph_table(space, configs, batch, dtype_bytes=dtype_bytes)
        live = None if keep_constant else _input_dependent(space, configs, batch)
    keep = np.isfinite(y) & (y > 0)
    if live is not None:
        keep &= live
    dropped = int((~keep).sum())
    idx = np.where(keep)[0]
    return MeasuredTable([configs[i] for i in idx], y[idx], batch, _subset(graphs, idx), dropped, metric)


def _parse_row(space: Any, col: str, value: Any) -> dict:
    """The canonical config of one table row; a malformed one is named in the error."""
    try:
        return space.space.canonical(space.parse_config(json.loads(value) if col == "op_idx" else value))
    except (ConfigError, ValueError, TypeError) as exc:
        shown = str(value) if len(str(value)) <= 60 else str(value)[:57] + "..."
        raise ConfigError(f"column {col!r}, value {shown!r}: {exc}") from None


def _onnx_models(df: Any, folder: Path, batch: int,
                 dtype_bytes: float = 4) -> tuple[list[dict], GraphTable, np.ndarray]:
    """Graphs of the ONNX files in the ``model`` column (relative paths from ``folder``)."""
    from hwopt.hardware.graph import from_onnx

    if MODEL_COLUMN not in df.columns:
        raise ConfigError(f"table has no {MODEL_COLUMN!r} column of ONNX files; for a table of configs "
                          "give the model space (--space)")
    files = [Path(str(v)) if Path(str(v)).is_absolute() else folder / str(v) for v in df[MODEL_COLUMN]]
    graphs = [from_onnx(f, batch, dtype_bytes) for f in files]  # a missing or broken file: one ConfigError line
    return ([{MODEL_COLUMN: str(f)} for f in files], GraphTable.from_graphs(graphs),
            np.array([g.output_depends_on_input() for g in graphs]))


def _has_column(path: Path, name: str) -> bool:
    import pandas as pd

    return name in pd.read_csv(path, nrows=0).columns


def _input_dependent(space: Any, configs: Sequence[dict], batch: int) -> np.ndarray:
    from hwopt.hardware._features import graph_builder

    build = graph_builder(space)
    if not hasattr(space, "op_graph"):
        return np.ones(len(configs), bool)
    return np.array([build(c, 1).output_depends_on_input() for c in configs])


def _subset(t: GraphTable, idx: np.ndarray) -> GraphTable:
    remap = np.full(t.n, -1)
    remap[idx] = np.arange(len(idx))
    ops = {}
    for v, a in t.ops.items():
        a = a[np.isin(a["row"], idx)].copy()
        a["row"] = remap[a["row"]]
        ops[v] = a
    return GraphTable(len(idx), ops, t.weight_bytes[idx], t.peak_activation_bytes[idx], t.depth[idx])


def metrics(y: np.ndarray, pred: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict[str, float]:
    from scipy.stats import spearmanr

    rel = np.abs(pred / y - 1)
    return {
        "spearman": float(spearmanr(pred, y)[0]) if len(y) > 2 else float("nan"),
        "mape": float(np.mean(rel)),
        "within_10pct": float(np.mean(rel <= 0.1)),
        "coverage_80": float(np.mean((y >= lo) & (y <= hi))),
        "n": int(len(y)),
    }


def spec_prediction(table: MeasuredTable, feats: dict[str, np.ndarray], rows: np.ndarray, target: HardwareTarget,
                    dtype: str = "fp32", runtime: str = "compiled") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spec-sheet prediction of ``table.metric`` for ``rows`` with its interval: latency as
    ``runtime`` runs the models, energy as the power model of ``hardware._estimate`` turns that
    latency into joules. Energy's interval is what latency's allows at idle power (low end) and at
    TDP (high end), as the power model is not calibrated."""
    from hwopt.hardware._estimate import check_cost_metric, idle_power, power_energy

    if table.metric not in SPEC_METRICS:
        raise ConfigError(f"no spec-sheet estimate for column {table.metric!r} (known: {', '.join(SPEC_METRICS)}); "
                          "calibrate on measured rows instead (--calibrate N)")
    quantity, factor = SPEC_METRICS[table.metric]
    rt = get_runtime(runtime)
    ms = spec_seconds({v: f[rows] for v, f in feats.items()}, target.kind, runtime) * 1e3
    lo, hi = ms * rt.spec_interval[0], ms * rt.spec_interval[1]
    if quantity == "energy":
        check_cost_metric("energy", target)
        busy = table.graphs.busy_seconds(target, dtype, rt.variant)[rows]
        ms, lo, hi = power_energy(target, ms, busy)[1], lo * idle_power(target), hi * target.tdp_w
    return ms * factor, lo * factor, hi * factor


def evaluate(table: MeasuredTable, target: HardwareTarget, calibrate: int = 20, seed: int = 0,
             dtype: str = "fp32", residual: bool = False,
             runtime: str = "compiled") -> tuple[dict[str, float], Calibration | None]:
    """Calibrate on ``calibrate`` random rows (0: spec sheet only, as ``runtime`` runs the
    models), score the other rows."""
    n = len(table.y)
    if calibrate < 0 or calibrate >= n:
        raise ConfigError(f"--calibrate must be between 0 and {n - 1} for this table, got {calibrate}")
    feats = table.features(target, dtype)
    rng = np.random.default_rng(seed)
    cal_idx = rng.choice(n, calibrate, replace=False) if calibrate else np.array([], int)
    test = np.setdiff1d(np.arange(n), cal_idx)
    if calibrate == 0:
        return metrics(table.y[test], *spec_prediction(table, feats, test, target, dtype, runtime)), None
    cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, table.y[cal_idx], target.name,
                          residual=residual)
    cal.batch_size, cal.dtype, cal.metric = table.batch_size, dtype, table.metric
    pred, lo, hi = cal.predict_interval({v: f[test] for v, f in feats.items()})
    return metrics(table.y[test], pred, lo, hi), cal
