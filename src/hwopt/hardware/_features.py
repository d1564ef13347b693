"""Operator graphs of many configs of one model space, as flat arrays, cached on disk.

Calibrating on a table of thousands of architectures needs the per-class roofline features
of every row for several targets. Graphs are built once per (space, config, batch size),
flattened to ``(row, class, flops, bytes)`` arrays for three runtime variants — ``unfused``
(one kernel per op, as eager PyTorch runs), ``fused`` (element-wise ops fused into producers,
as inference runtimes do) and ``pruned`` (also constant-folding ``x*0`` and removing dead
ops, as graph compilers do) — and costed for any target with numpy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from hwopt._registry import Registry
from hwopt.hardware._roofline import COMPUTE_EFFICIENCY, MEMORY_EFFICIENCY, OVERHEAD_S
from hwopt.hardware._target import HardwareTarget
from hwopt.hardware.graph import OP_CLASSES, OpGraph

VARIANTS = ("unfused", "fused", "pruned")
#: calibration feature columns: one roofline time per op class (prior efficiencies), then
#: whole-model FLOPs / peak and weight bytes / bandwidth (spec seconds), then the kernel count
FEATURES = tuple(OP_CLASSES) + ("flops_s", "weights_s", "n_ops")
N_CLASSES = len(OP_CLASSES)
FLOPS_COL, WEIGHTS_COL, NOPS_COL = N_CLASSES, N_CLASSES + 1, N_CLASSES + 2


def spec_seconds(F: np.ndarray, kind: str) -> np.ndarray:
    """Spec-sheet roofline latency (s) from feature rows: class times plus kernel overheads."""
    return F[:, :N_CLASSES].sum(1) + F[:, NOPS_COL] * OVERHEAD_S.get(kind, 5e-6)


def graph_variants(graph: OpGraph) -> dict[str, OpGraph]:
    return {"unfused": graph.without_free(), "fused": graph.fused().without_free(),
            "pruned": graph.pruned().fused().without_free()}


@dataclass
class GraphTable:
    """Flattened op lists of ``n`` graphs per variant, plus weights / activation memory."""

    n: int
    ops: dict[str, np.ndarray]  # variant -> structured array (row, kind, flops, bytes)
    weight_bytes: np.ndarray
    peak_activation_bytes: np.ndarray

    @classmethod
    def from_graphs(cls, graphs: Sequence[OpGraph]) -> "GraphTable":
        kinds = {k: i for i, k in enumerate(OP_CLASSES)}
        dt = np.dtype([("row", np.int32), ("kind", np.int8), ("flops", np.float64), ("bytes", np.float64)])
        per: dict[str, list] = {v: [] for v in VARIANTS}
        wb, pa = [], []
        for r, g in enumerate(graphs):
            variants = graph_variants(g)
            for v, gv in variants.items():
                per[v].extend((r, kinds[o.kind], o.flops, o.bytes) for o in gv.ops)
            wb.append(g.weight_bytes)
            pa.append(variants["fused"].peak_activation_bytes())
        return cls(len(graphs), {v: np.array(per[v], dtype=dt) for v in VARIANTS}, np.array(wb), np.array(pa))

    def features(self, target: HardwareTarget, dtype: str = "fp32", variant: str = "fused") -> np.ndarray:
        """``(n, len(FEATURES))``: per-class roofline seconds at the prior efficiencies, kernel count."""
        a = self.ops[variant]
        eff = np.array([COMPUTE_EFFICIENCY[k] for k in OP_CLASSES])
        peak = target.peak_flops(dtype)
        bw = target.bandwidth_bytes_per_s * MEMORY_EFFICIENCY
        t = np.maximum(a["flops"] / (peak * eff[a["kind"]]), a["bytes"] / bw)
        out = np.zeros((self.n, len(FEATURES)))
        np.add.at(out, (a["row"], a["kind"].astype(np.int64)), t)
        out[:, FLOPS_COL] = np.bincount(a["row"], weights=a["flops"], minlength=self.n) / target.peak_flops(dtype)
        out[:, WEIGHTS_COL] = self.weight_bytes / target.bandwidth_bytes_per_s
        out[:, NOPS_COL] = np.bincount(a["row"], minlength=self.n)
        return out

    def descriptors(self) -> np.ndarray:
        """``(n, 7)`` hardware-independent log counts: FLOPs, bytes moved and kernels of the
        ``unfused`` and ``pruned`` variants, and weight bytes (predictor features for search)."""
        cols = []
        for v in ("unfused", "pruned"):
            a = self.ops[v]
            cols += [np.bincount(a["row"], weights=a["flops"], minlength=self.n),
                     np.bincount(a["row"], weights=a["bytes"], minlength=self.n),
                     np.bincount(a["row"], minlength=self.n).astype(float)]
        cols.append(self.weight_bytes)
        return np.log1p(np.column_stack(cols))

    def class_counts(self) -> np.ndarray:
        """``(n, 6 * classes)`` FLOPs, bytes moved and kernels per operator class of the
        ``unfused`` and ``pruned`` variants: the terms an additive latency model weighs."""
        cols = []
        for v in ("unfused", "pruned"):
            a = self.ops[v]
            kind = a["kind"].astype(np.int64)
            for w in (a["flops"], a["bytes"], np.ones(len(a))):
                M = np.zeros((self.n, len(OP_CLASSES)))
                np.add.at(M, (a["row"], kind), w)
                cols.append(M)
        return np.hstack(cols)

    def spec_latency_s(self, target: HardwareTarget, dtype: str = "fp32", variant: str = "fused") -> np.ndarray:
        return spec_seconds(self.features(target, dtype, variant), target.kind)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # parallel builders never share a temp file
        np.savez_compressed(tmp, n=self.n, weight_bytes=self.weight_bytes, peak=self.peak_activation_bytes,
                            **{f"ops_{v}": self.ops[v] for v in VARIANTS})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "GraphTable":
        z = np.load(path)
        return cls(int(z["n"]), {v: z[f"ops_{v}"] for v in VARIANTS}, z["weight_bytes"], z["peak"])


#: analytic graph builders for spaces defined elsewhere: space name -> "module:function"
ANALYTIC_GRAPHS = Registry("analytic graph")
ANALYTIC_GRAPHS.register("ofa-mbv3", "hwopt.hardware.graph._mbv3:mbv3_graph", "elastic MobileNetV3 sub-networks")


def graph_builder(space: Any) -> Callable[[dict, int], OpGraph]:
    """The fastest way to get a config's graph: an analytic builder, else a torch trace."""
    if hasattr(space, "op_graph"):
        return lambda cfg, b: space.op_graph(cfg, b)
    if space.name in ANALYTIC_GRAPHS:
        fn = ANALYTIC_GRAPHS.get(space.name)
        return lambda cfg, b: fn(space, cfg, b)
    from hwopt.hardware.graph import from_torch

    return lambda cfg, b: from_torch(space.build(cfg), space.input_shape(cfg, b))


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hwopt")) / "graphs"


def graph_table(space: Any, configs: Sequence[dict], batch_size: int = 1, cache: bool = True,
                progress: Callable[[int, int], None] | None = None) -> GraphTable:
    """GraphTable of ``configs`` (canonical dicts) at ``batch_size``, reusing the disk cache."""
    key = hashlib.sha256(json.dumps([space.name, batch_size, list(configs)], sort_keys=True,
                                    default=str).encode()).hexdigest()[:20]
    path = cache_dir() / f"{space.name}-b{batch_size}-{key}.npz"
    if cache and path.is_file():
        try:
            return GraphTable.load(path)
        except Exception:  # noqa: BLE001 - a corrupt cache entry is rebuilt
            pass
    if cache and len(configs) >= 1000:
        logging.getLogger("hwopt").warning("building the operator graphs of %d %s configs once (cached in %s)",
                                           len(configs), space.name, path.parent)
    build = graph_builder(space)
    graphs = []
    for k, cfg in enumerate(configs):
        graphs.append(build(cfg, batch_size))
        if progress and (k + 1) % 500 == 0:
            progress(k + 1, len(configs))
    table = GraphTable.from_graphs(graphs)
    if cache:
        try:
            table.save(path)
        except OSError:
            pass
    return table
