"""Predictor health per round (from ``linas+``'s ``state()``): rank agreement, error, calibration.

One row of panels per predicted objective: Kendall tau (leave-one-out CV and hold-out: the
previous round's predictions of the configs just measured), RMSE, and the share of
measurements inside the stated 80 % interval against the 0.8 it should be.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def health_figure(rounds: Sequence[Mapping[str, Any]], objective_names: Sequence[str] = ()):
    from hwopt.report._plots import _message, new_figure

    per_obj: dict[str, list[tuple[float, Mapping[str, Any]]]] = {}
    for k, r in enumerate(rounds):
        x = r.get("evaluations", r.get("n_told", k + 1))
        for name, h in (r.get("health") or {}).items():
            if isinstance(h, Mapping):
                per_obj.setdefault(name, []).append((float(x), h))
    names = [n for n in objective_names if n in per_obj] + [n for n in per_obj if n not in objective_names]
    fig = new_figure(13.5, 3.2 * max(1, len(names)))
    axes = np.atleast_2d(fig.subplots(max(1, len(names)), 3, squeeze=False))
    if not names:
        _message(axes[0, 0], "no predictor health recorded (the strategy has no predictors)")
        for ax in axes[0, 1:]:
            ax.set_visible(False)
        return fig
    panels = [("Kendall tau", "tau", None), ("RMSE", "rmse", None), ("inside 80% interval", "coverage80", 0.8)]
    for row, name in zip(axes, names):
        pts = per_obj[name]
        xs = np.array([p[0] for p in pts])
        for ax, (title, key, target) in zip(row, panels):
            for src, style in (("cv", "o-"), ("holdout", "s--")):
                ys = np.array([np.nan if p[1].get(f"{src}_{key}") is None else float(p[1][f"{src}_{key}"]) for p in pts])
                if np.isfinite(ys).any():
                    ax.plot(xs, ys, style, ms=3, lw=1.2, label="leave-one-out CV" if src == "cv" else "hold-out (next round)")
            if target is not None:
                ax.axhline(target, color="grey", lw=0.8, ls=":")
                ax.set_ylim(0, 1.02)
            ax.set_title(f"{name}: {title}", fontsize=9)
            ax.set_xlabel("evaluations", fontsize=8)
            ax.grid(True, alpha=0.3)
        row[0].legend(fontsize=7)
    fig.suptitle("Predictor health per round", fontsize=11)
    return fig
