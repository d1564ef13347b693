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
from hwopt.hardware._roofline import COMPUTE_EFFICIENCY, MEMORY_EFFICIENCY, get_runtime
from hwopt.hardware._target import HardwareTarget
from hwopt.hardware.graph import OP_CLASSES, OpGraph
from hwopt.hardware.graph._build import GraphSegments

VARIANTS = ("unfused", "fused", "pruned")
#: calibration feature columns: one roofline time per op class (prior efficiencies), then
#: whole-model FLOPs / peak and weight bytes / bandwidth (spec seconds), then the kernel count,
#: then the kernel count per op class
FEATURES = tuple(OP_CLASSES) + ("flops_s", "weights_s", "n_ops") + tuple(f"n_{c}" for c in OP_CLASSES)
N_CLASSES = len(OP_CLASSES)
FLOPS_COL, WEIGHTS_COL, NOPS_COL = N_CLASSES, N_CLASSES + 1, N_CLASSES + 2
COUNT_COL0 = N_CLASSES + 3  # first per-class kernel count
#: columns that count kernels (the others are seconds)
COUNT_COLS = frozenset([NOPS_COL, *range(COUNT_COL0, COUNT_COL0 + N_CLASSES)])


def spec_seconds(features: dict[str, np.ndarray], kind: str, runtime: str = "compiled") -> np.ndarray:
    """Spec-sheet roofline latency (s) from per-variant feature rows, as ``runtime`` runs the
    model: the class times and kernel overheads of that runtime's graph variant."""
    rt = get_runtime(runtime)
    F = features[rt.variant]
    return F[:, :N_CLASSES].sum(1) + F[:, NOPS_COL] * rt.overhead_s(kind)


#: the runtime variants whose per-class counts are cost counts (and descriptors)
COUNTED_VARIANTS = ("unfused", "pruned")


def _per_class(row: np.ndarray, kind: np.ndarray, flops: np.ndarray, moved: np.ndarray, n: int) -> np.ndarray:
    """``(n, 3 * classes)``: FLOPs, bytes moved and kernel count per op class, summed per row."""
    cols = []
    for w in (flops, moved, np.ones(len(kind))):
        M = np.zeros((n, len(OP_CLASSES)))
        np.add.at(M, (np.asarray(row, dtype=np.int64), np.asarray(kind, dtype=np.int64)), w)
        cols.append(M)
    return np.hstack(cols)


def graph_variant(graph: OpGraph, variant: str) -> OpGraph:
    """The graph as runtime ``variant`` (one of VARIANTS) runs it."""
    if variant == "unfused":
        return graph.without_free()
    if variant == "fused":
        return graph.fused().without_free()
    return graph.pruned().fused().without_free()


def graph_variants(graph: OpGraph) -> dict[str, OpGraph]:
    return {v: graph_variant(graph, v) for v in VARIANTS}


@dataclass
class GraphTable:
    """Flattened op lists of ``n`` graphs per variant, plus weights / activation memory."""

    n: int
    ops: dict[str, np.ndarray]  # variant -> structured array (row, kind, flops, bytes)
    weight_bytes: np.ndarray
    peak_activation_bytes: np.ndarray
    depth: np.ndarray  # (n, 2): fewest and most compute ops on an input-to-output path

    @classmethod
    def from_graphs(cls, graphs: Sequence[OpGraph]) -> "GraphTable":
        kinds = {k: i for i, k in enumerate(OP_CLASSES)}
        dt = np.dtype([("row", np.int32), ("kind", np.int8), ("flops", np.float64), ("bytes", np.float64)])
        per: dict[str, list] = {v: [] for v in VARIANTS}
        wb, pa, depth = [], [], []
        for r, g in enumerate(graphs):
            variants = graph_variants(g)
            for v, gv in variants.items():
                per[v].extend((r, kinds[o.kind], o.flops, o.bytes) for o in gv.ops)
            wb.append(g.weight_bytes)
            pa.append(variants["fused"].peak_activation_bytes())
            depth.append(g.compute_depth())
        return cls(len(graphs), {v: np.array(per[v], dtype=dt) for v in VARIANTS}, np.array(wb), np.array(pa),
                   np.array(depth, dtype=float).reshape(-1, 2))

    def features(self, target: HardwareTarget, dtype: str = "fp32", variant: str = "fused") -> np.ndarray:
        """``(n, len(FEATURES))``: per-class roofline seconds at the prior efficiencies, kernel counts."""
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
        np.add.at(out, (a["row"], COUNT_COL0 + a["kind"].astype(np.int64)), 1.0)
        return out

    def busy_seconds(self, target: HardwareTarget, dtype: str = "fp32", variant: str = "fused") -> np.ndarray:
        """``(n,)``: seconds the bottleneck resource would be busy at its spec-sheet peak (the
        power model's ``u``, ``hardware._estimate.busy_seconds`` of every row)."""
        a = self.ops[variant]
        t = np.maximum(a["flops"] / target.peak_flops(dtype), a["bytes"] / target.bandwidth_bytes_per_s)
        return np.bincount(a["row"], weights=t, minlength=self.n)

    def descriptors(self) -> np.ndarray:
        """``(n, 9)`` hardware-independent predictor features for search: log FLOPs, bytes moved
        and kernels of the ``unfused`` and ``pruned`` variants, log weight bytes, and the fewest
        and most compute ops on an input-to-output path (``OpGraph.compute_depth``)."""
        cols = []
        for v in COUNTED_VARIANTS:
            a = self.ops[v]
            cols += [np.bincount(a["row"], weights=a["flops"], minlength=self.n),
                     np.bincount(a["row"], weights=a["bytes"], minlength=self.n),
                     np.bincount(a["row"], minlength=self.n).astype(float)]
        cols.append(self.weight_bytes)
        return np.hstack([np.log1p(np.column_stack(cols)), self.depth])

    def class_counts(self) -> np.ndarray:
        """``(n, 6 * classes)`` FLOPs, bytes moved and kernels per operator class of the
        ``unfused`` and ``pruned`` variants: the terms an additive latency model weighs."""
        return np.hstack([_per_class(self.ops[v]["row"], self.ops[v]["kind"], self.ops[v]["flops"],
                                     self.ops[v]["bytes"], self.n) for v in COUNTED_VARIANTS])

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # parallel builders never share a temp file
        np.savez_compressed(tmp, n=self.n, weight_bytes=self.weight_bytes, peak=self.peak_activation_bytes,
                            depth=self.depth, **{f"ops_{v}": self.ops[v] for v in VARIANTS})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> "GraphTable":
        z = np.load(path)
        return cls(int(z["n"]), {v: z[f"ops_{v}"] for v in VARIANTS}, z["weight_bytes"], z["peak"], z["depth"])


#: analytic graphs of spaces defined elsewhere whose graph is a chain of segments with additive
#: counts: space name -> "module:object", a GraphSegments with ``keys(space, config)`` (hashable
#: segment keys), ``graph(space, key, input_shape, dtype_bytes)`` (the segment's OpGraph and
#: output shape: each distinct segment is built once) and ``build`` (the whole graph)
GRAPH_SEGMENTS = Registry("graph segments")
GRAPH_SEGMENTS.register("ofa-mbv3", "hwopt.hardware.graph._mbv3:MBV3_SEGMENTS", "stem, one per block, head")
GRAPH_SEGMENTS.register("ofa-resnet50", "hwopt.hardware.graph._resnet:RESNET_SEGMENTS", "stem, one per bottleneck, head")
GRAPH_SEGMENTS.register("demo", "hwopt.hardware.graph._mbv3:MBV3_SEGMENTS", "stem, one per block, head")
GRAPH_SEGMENTS.register("transformer", "hwopt.hardware.graph._transformer:TRANSFORMER_SEGMENTS",
                        "embedding, one per layer, head")


def graph_segments(space: Any) -> GraphSegments | None:
    """How to count ``space`` segment by segment (its own methods or a registered entry), or None."""
    if hasattr(space, "graph_segments") and hasattr(space, "segment_graph"):
        return GraphSegments(keys=lambda _, cfg: space.graph_segments(cfg),
                             graph=lambda _, key, shape, d=4: space.segment_graph(key, shape, d))
    name = getattr(space, "name", None)
    return GRAPH_SEGMENTS.get(name) if name in GRAPH_SEGMENTS else None


def analytic_graph_builder(space: Any) -> Callable[..., OpGraph] | None:
    """The space's analytic graph builder ``build(config, batch_size, dtype_bytes=4)`` (well under
    a millisecond per config, no model built), or None when only a torch trace of the built
    model gives its graph."""
    if hasattr(space, "op_graph"):
        return lambda cfg, b, d=4: space.op_graph(cfg, b, d)
    if space.name in GRAPH_SEGMENTS:
        fn = GRAPH_SEGMENTS.get(space.name).build
        return lambda cfg, b, d=4: fn(space, cfg, b, d)
    return None


def graph_builder(space: Any) -> Callable[..., OpGraph]:
    """The fastest way to get a config's graph: an analytic builder, else a torch trace."""
    build = analytic_graph_builder(space)
    if build is not None:
        return build
    from hwopt.hardware.graph import from_torch

    return lambda cfg, b, d=4: from_torch(space.build(cfg), space.input_shape(cfg, b), d)


def cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("hwopt")) / "graphs"


def _graph_code(space: Any) -> str:
    """Hash of the source that turns ``space``'s configs into graphs (the graph package, the
    space's and its architecture's modules): a cached table built by other code is not reused."""
    import sys

    from hwopt.hardware import graph as graph_package

    files = sorted(Path(graph_package.__file__).parent.glob("*.py"))
    for obj in (space, getattr(space, "arch", None)):
        module_file = getattr(sys.modules.get(type(obj).__module__), "__file__", None)
        if module_file:
            files.append(Path(module_file))
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def graph_table(space: Any, configs: Sequence[dict], batch_size: int = 1, cache: bool = True,
                progress: Callable[[int, int], None] | None = None, dtype_bytes: float = 4) -> GraphTable:
    """GraphTable of ``configs`` (canonical dicts) at ``batch_size``, reusing the disk cache.

    The cache key holds the space's name, architecture and options (ofa-mbv3 at width 1.0 and 1.2
    share a name and configs), the configs, and a hash of the graph-building source."""
    ident = [space.name, repr(getattr(space, "arch", None)), getattr(space, "export_options", dict)(),
             _graph_code(space)]
    key = hashlib.sha256(json.dumps([ident, batch_size, dtype_bytes, list(configs)], sort_keys=True,
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
        graphs.append(build(cfg, batch_size, dtype_bytes))
        if progress and (k + 1) % 500 == 0:
            progress(k + 1, len(configs))
    table = GraphTable.from_graphs(graphs)
    if cache:
        try:
            table.save(path)
        except OSError:
            pass
    return table


class GraphRows:
    """Counts of encoded configs of a model space with an analytic graph, each computed once.

    A predictor-in-the-loop search asks for the same candidates' exact counts round after
    round; each config's graph is built once (about a millisecond) for every kind of count
    asked for so far — MACs and parameters, per-class cost counts (these need two runtime
    variants of the graph, a few milliseconds) — and the counts kept, for up to ``max_rows``
    configs. A space whose graph is a chain of segments (:func:`graph_segments`) is counted
    segment by segment instead, each distinct segment built once: tens of microseconds per config.
    """

    def __init__(self, space: Any, build: Callable[[dict, int], OpGraph], max_rows: int = 50_000):
        self.space, self.build, self.max_rows = space, build, max_rows
        self._kinds = {"counts": (self._counts_of, 2), "classes": (self._classes_of, 6 * len(OP_CLASSES))}
        self._asked: set[str] = set()  # kinds asked for so far: computed together from one graph
        self._cache: dict[bytes, dict[str, np.ndarray]] = {}
        self._segments = graph_segments(space)
        self._segment_cache: dict[tuple, tuple[np.ndarray, tuple[int, ...]]] = {}
        self._sums: dict[tuple, dict[bytes, np.ndarray]] = {}

    @property
    def segmented(self) -> bool:
        return self._segments is not None

    def _segment_sum(self, x: np.ndarray, of: Callable[[OpGraph], np.ndarray], tag: Any, batch_size: int = 1,
                     dtype_bytes: float = 4, combine: Callable = np.add) -> np.ndarray | None:
        """``of(graph)`` of one config's segments combined (summed, or ``np.maximum`` for a peak),
        each distinct segment's value computed once per ``tag`` (a few microseconds per config
        instead of milliseconds); None when the space rejects the config."""
        sp = self.space.space
        try:
            cfg = sp.decode(x)
            keys = self._segments.keys(self.space, cfg)  # validates the config
        except Exception:  # noqa: BLE001 - a config the space rejects has no counts
            return None
        shape = tuple(self.space.input_shape(cfg, batch_size))
        total = None
        for key in keys:
            hit = self._segment_cache.get((tag, dtype_bytes, key, shape))
            if hit is None:
                graph, out_shape = self._segments.graph(self.space, key, shape, dtype_bytes)
                hit = self._segment_cache[(tag, dtype_bytes, key, shape)] = (np.asarray(of(graph), float), out_shape)
            total = hit[0].copy() if total is None else combine(total, hit[0])
            shape = hit[1]
        return total

    def sums(self, X: np.ndarray, of: Callable[[OpGraph], np.ndarray], tag: Any, batch_size: int = 1,
             dtype_bytes: float = 4, combine: Callable = np.add) -> np.ndarray:
        """``(n, width)``: ``of(graph)`` of each config's graph at ``batch_size`` / ``dtype_bytes``,
        where ``of`` of the whole graph is the ``combine`` of its segments' (counts and roofline
        seconds add up; a chain's activation peak is the largest of its segments'); rows kept per
        ``tag``. Needs a segmented space (:attr:`segmented`); NaN rows for rejected configs."""
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.space.space.n_var)
        cache = self._sums.setdefault((tag, batch_size, dtype_bytes), {})
        rows = []
        for x in X:
            key = x.tobytes()
            row = cache.get(key)
            if row is None:
                if len(cache) >= self.max_rows:
                    cache.clear()
                row = cache[key] = self._segment_sum(x, of, tag, batch_size, dtype_bytes, combine)
            rows.append(row)
        width = next((len(r) for r in rows if r is not None), 0)
        return np.array([r if r is not None else np.full(width, np.nan) for r in rows]).reshape(len(X), width)

    def _all_counts(self, graph: OpGraph) -> np.ndarray:
        return np.concatenate([of(graph) for of, _ in self._kinds.values()])

    def _by_segments(self, x: np.ndarray) -> dict[str, np.ndarray] | None:
        """Every kind of count of one config as the sum over its segments."""
        total = self._segment_sum(x, self._all_counts, "counts")
        if total is None:
            return None
        out, start = {}, 0
        for k, (_, w) in self._kinds.items():
            out[k] = total[start:start + w]
            start += w
        return out

    def _graph(self, x: np.ndarray) -> OpGraph | None:
        sp = self.space.space
        try:
            cfg = sp.validate(sp.decode(x))
        except Exception:  # noqa: BLE001 - a config the space rejects has no counts
            return None
        return self.build(cfg, 1)

    @staticmethod
    def _counts_of(graph: OpGraph) -> np.ndarray:
        return np.array([graph.macs, graph.weight_bytes / graph.dtype_bytes])

    @staticmethod
    def _classes_of(graph: OpGraph) -> np.ndarray:
        """As :meth:`GraphTable.class_counts` for one graph."""
        out = []
        fused = None if any(o.zero for o in graph.ops) else graph_variant(graph, "fused")
        for v in COUNTED_VARIANTS:  # with no x*0 to fold, pruning leaves the fused graph
            ops = graph_variant(graph, v).ops if v == "unfused" or fused is None else fused.ops
            kind = [OP_CLASSES.index(o.kind) for o in ops]
            out.append(_per_class(np.zeros(len(ops)), kind, [o.flops for o in ops], [o.bytes for o in ops], 1)[0])
        return np.concatenate(out)

    def _rows(self, X: np.ndarray, kind: str) -> np.ndarray:
        self._asked.add(kind)
        width = self._kinds[kind][1]
        X = np.asarray(X, dtype=np.int64).reshape(-1, self.space.space.n_var)
        out = np.full((len(X), width), np.nan)
        for i, x in enumerate(X):
            key = x.tobytes()
            row = self._cache.get(key)
            if row is None and self._segments is not None:
                if len(self._cache) >= self.max_rows:
                    self._cache.clear()
                row = self._cache[key] = self._by_segments(x) or {k: np.full(w, np.nan) for k, (_, w) in self._kinds.items()}
            if row is None or kind not in row:
                if row is None and len(self._cache) >= self.max_rows:
                    self._cache.clear()
                graph = self._graph(x)
                row = self._cache.setdefault(key, {})
                for k in self._asked - set(row):
                    of, w = self._kinds[k]
                    row[k] = of(graph) if graph is not None else np.full(w, np.nan)
            out[i] = row[kind]
        return out

    def counts(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)``: MACs and parameters (NaN for a config the space rejects)."""
        return self._rows(X, "counts")

    def class_counts(self, X: np.ndarray) -> np.ndarray:
        """``(n, 6 * classes)``: FLOPs, bytes moved and kernels per op class of the ``unfused`` and
        ``pruned`` variants (NaN where rejected)."""
        return self._rows(X, "classes")
