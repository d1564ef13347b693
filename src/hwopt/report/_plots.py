"""The report's figures, drawn on matplotlib's Agg canvas (no display, no pyplot global state).

Every axis names its metric, its unit when known and its direction, so a plot read on its own
says which way is better. Each function returns a ``Figure``; :func:`png` turns it into bytes.
"""

from __future__ import annotations

import io
import itertools
import math
import textwrap
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from hwopt.evaluators import Objective

FRONT = "#d62728"
OTHER = "#7f7f7f"
INFEASIBLE = "#ff9f40"
TRUE_FRONT = "#1f1f1f"
DPI = 110


def new_figure(width: float, height: float):
    """A Figure bound to an Agg canvas (safe in threads and without a display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def axis_label(o: Objective, units: Mapping[str, str]) -> str:
    unit = units.get(o.name) or o.unit
    arrow = "higher is better" if o.direction == "max" else "lower is better"
    return f"{o.name}{f' [{unit}]' if unit else ''}  ({o.direction}: {arrow})"


def _message(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color=OTHER)
    ax.set_xticks([])
    ax.set_yticks([])


def _staircase(front: np.ndarray, signs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The attainment staircase of a 2-D front given in natural units (``signs`` map to min form)."""
    Fm = front * signs
    Fm = Fm[np.argsort(Fm[:, 0], kind="stable")]
    xs, ys = [Fm[0, 0]], [Fm[0, 1]]
    for x, y in Fm[1:]:
        xs += [x, x]
        ys += [ys[-1], y]
    return np.array(xs) * signs[0], np.array(ys) * signs[1]


def pareto_figure(trials: pd.DataFrame, objectives: Sequence[Objective], units: Mapping[str, str],
                  true_front: np.ndarray | None = None, title: str = ""):
    """All complete trials with the feasible front highlighted; every objective pair when m ≥ 3."""
    m = len(objectives)
    done = trials[trials["state"] == "COMPLETE"]
    feas = done[done["feasible"]]
    infeas = done[~done["feasible"]]
    front = done[done["on_front"]]
    if m == 1:
        return _single_objective_figure(done, objectives[0], units, title)
    pairs = list(itertools.combinations(range(m), 2))
    ncols = min(3, len(pairs))
    nrows = math.ceil(len(pairs) / ncols)
    size = (7.5, 5.5) if m == 2 else (5.2 * ncols, 4.4 * nrows)
    fig = new_figure(*size)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    names = [o.name for o in objectives]
    signs = np.array([o.sign for o in objectives])
    for ax, (i, j) in zip(axes, pairs):
        xi, yj = names[i], names[j]
        if len(done) == 0:
            _message(ax, "no complete trials")
        else:
            rest = feas[~feas["on_front"]]
            ax.scatter(rest[xi], rest[yj], s=14, c=OTHER, alpha=0.45, linewidths=0,
                       label=f"feasible, dominated ({len(rest)})")
            if len(infeas):
                ax.scatter(infeas[xi], infeas[yj], s=18, c=INFEASIBLE, marker="x", linewidths=1,
                           label=f"infeasible ({len(infeas)})")
            if true_front is not None and m == 2 and len(true_front):
                tx, ty = _staircase(true_front, signs)
                ax.plot(tx, ty, ls="--", lw=1.1, c=TRUE_FRONT, alpha=0.7, label=f"true front ({len(true_front)})")
            if len(front):
                if m == 2:
                    fx, fy = _staircase(front[[xi, yj]].to_numpy(float), signs)
                    ax.plot(fx, fy, c=FRONT, lw=1.4, alpha=0.9)
                ax.scatter(front[xi], front[yj], s=34, c=FRONT, edgecolors="white", linewidths=0.6, zorder=3,
                           label=f"Pareto front ({len(front)})")
            ax.legend(fontsize=8, loc="best", framealpha=0.85)
        ax.set_xlabel(axis_label(objectives[i], units), fontsize=9)
        ax.set_ylabel(axis_label(objectives[j], units), fontsize=9)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle(title or "Pareto front", fontsize=12)
    return fig


def _single_objective_figure(done: pd.DataFrame, o: Objective, units: Mapping[str, str], title: str):
    fig = new_figure(7.5, 5.0)
    ax = fig.subplots()
    if len(done) == 0:
        _message(ax, "no complete trials")
    else:
        feas = done[done["feasible"]]
        ax.scatter(feas["number"], feas[o.name], s=14, c=OTHER, alpha=0.6, linewidths=0, label="feasible trials")
        infeas = done[~done["feasible"]]
        if len(infeas):
            ax.scatter(infeas["number"], infeas[o.name], s=18, c=INFEASIBLE, marker="x", label="infeasible")
        if len(feas):
            best = feas[o.name].cummax() if o.direction == "max" else feas[o.name].cummin()
            ax.step(feas["number"], best, where="post", c=FRONT, lw=1.4, alpha=0.7, label="best so far")
            top = feas[feas["on_front"]]
            ax.scatter(top["number"], top[o.name], s=40, c=FRONT, edgecolors="white", zorder=3,
                       label=f"best ({len(top)})")
        ax.legend(fontsize=8)
    ax.set_xlabel("trial number")
    ax.set_ylabel(axis_label(o, units))
    ax.grid(True, alpha=0.3)
    fig.suptitle(title or "Objective by trial", fontsize=12)
    return fig


def hypervolume_figure(curve: pd.DataFrame, title: str = ""):
    """HV vs evaluations; the label in ``curve.attrs`` says which convention."""
    fig = new_figure(7.5, 4.8)
    ax = fig.subplots()
    fraction = curve.attrs.get("kind") == "hv_fraction"
    if len(curve) == 0:
        _message(ax, "no finished evaluations")
    else:
        ax.step(curve["evaluations"], curve["hv"], where="post", lw=1.6, c="#1f77b4")
        last = curve.iloc[-1]
        ax.annotate(f"{last['hv']:.4f}", (last["evaluations"], last["hv"]), textcoords="offset points",
                    xytext=(-4, -14 if fraction and last["hv"] > 0.9 else 6), ha="right", fontsize=9)
        if fraction:
            ax.axhline(1.0, ls="--", lw=1, c=TRUE_FRONT, alpha=0.6, label="true front")
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=8, loc="lower right")
        ax.set_xlim(0, max(1, int(curve["evaluations"].iloc[-1])))
    ax.set_xlabel("evaluations (distinct finished configs)")
    ax.set_ylabel("fraction of true hypervolume" if fraction else "hypervolume (scaled objectives)")
    ax.grid(True, alpha=0.3)
    note = "\n".join(textwrap.wrap(curve.attrs.get("label", ""), 95))
    fig.suptitle(title or "Hypervolume", fontsize=12)
    ax.set_title(note, fontsize=7.5, color="#444444")
    return fig


def parallel_figure(trials: pd.DataFrame, objectives: Sequence[Objective], units: Mapping[str, str], title: str = ""):
    """Parallel coordinates of the feasible complete trials, better is up on every axis."""
    m = len(objectives)
    fig = new_figure(max(7.0, 2.4 * m), 5.2)
    ax = fig.subplots()
    feas = trials[(trials["state"] == "COMPLETE") & trials["feasible"]]
    if len(feas) == 0:
        _message(ax, "no feasible complete trials")
        return fig
    names = [o.name for o in objectives]
    V = feas[names].to_numpy(float)
    lo, hi = V.min(axis=0), V.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    Z = (V - lo) / span
    up = np.array([o.direction == "max" for o in objectives])
    Z[:, ~up] = 1.0 - Z[:, ~up]
    xs = np.arange(m)
    on_front = feas["on_front"].to_numpy(bool)
    for z in Z[~on_front]:
        ax.plot(xs, z, c=OTHER, alpha=0.18, lw=0.7)
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap = colormaps["viridis"]
    norm = Normalize(lo[0], hi[0] if hi[0] > lo[0] else lo[0] + 1)
    for v, z in zip(V[on_front], Z[on_front]):
        ax.plot(xs, z, c=cmap(norm(v[0])), alpha=0.9, lw=1.5)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=f"front: {axis_label(objectives[0], units)}",
                 pad=0.02)
    for k, o in enumerate(objectives):
        ax.axvline(k, c="black", lw=0.8)
        top, bottom = (hi[k], lo[k]) if up[k] else (lo[k], hi[k])
        box = {"facecolor": "white", "edgecolor": "#999999", "pad": 1.5, "lw": 0.5}
        ax.text(k, 1.03, f"{top:.4g}", ha="center", va="bottom", fontsize=8, bbox=box)
        ax.text(k, -0.03, f"{bottom:.4g}", ha="center", va="top", fontsize=8, bbox=box)
    ax.set_xticks(xs, ["\n".join(textwrap.wrap(axis_label(o, units), 22)) for o in objectives], fontsize=8.5)
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    ax.set_xlim(-0.3, m - 0.7)
    ax.set_ylabel("better ↑ (each axis scaled to its min–max)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    fig.suptitle(title or f"Parallel coordinates: Pareto front ({int(on_front.sum())}, coloured) "
                          f"and other feasible trials (grey)", fontsize=11)
    return fig


def health_frame(rounds: Sequence[Mapping[str, Any]], objective_names: Sequence[str] = ()) -> pd.DataFrame:
    """Per-round diagnostics as a flat table: scalars as columns, per-objective lists as ``key[objective]``."""
    rows = []
    for k, r in enumerate(rounds):
        row: dict[str, Any] = {}
        for key, v in r.items():
            _flat_into(row, key, v, objective_names)
        row.setdefault("round", k + 1)
        rows.append(row)
    df = pd.DataFrame(rows)
    first = [c for c in ("round", "evaluations") if c in df.columns]
    return df[first + [c for c in df.columns if c not in first]]


def _flat_into(row: dict, key: str, v: Any, names: Sequence[str]) -> None:
    if isinstance(v, Mapping):
        for k, w in v.items():
            _flat_into(row, f"{key}.{k}", w, names)
    elif isinstance(v, (list, tuple)):
        labels = list(names) if len(v) == len(names) else [str(i) for i in range(len(v))]
        if all(isinstance(w, (int, float, type(None))) for w in v):
            for lab, w in zip(labels, v):
                row[f"{key}[{lab}]"] = w
        else:
            row[key] = str(v)
    else:
        row[key] = v


def health_figure(health: pd.DataFrame, title: str = ""):
    """Every numeric diagnostic against evaluations (per-objective columns share a panel)."""
    x = "evaluations" if "evaluations" in health.columns else "round"
    groups: dict[str, list[str]] = {}
    for c in health.columns:
        if c in ("round", "evaluations") or not pd.api.types.is_numeric_dtype(health[c]):
            continue
        if health[c].isna().all():
            continue
        groups.setdefault(c.split("[", 1)[0], []).append(c)
    n = max(1, len(groups))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig = new_figure(4.6 * ncols, 3.3 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
    if not groups:
        _message(axes[0], "no numeric diagnostics")
    for ax, (name, cols) in zip(axes, groups.items()):
        for c in cols:
            ax.plot(health[x], health[c], marker="o", ms=3, lw=1.2, label=c[len(name):].strip("[]") or None)
        if len(cols) > 1:
            ax.legend(fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(x, fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in axes[len(groups):] if groups else axes[1:]:
        ax.set_visible(False)
    fig.suptitle(title or "Strategy diagnostics per round", fontsize=11)
    return fig
