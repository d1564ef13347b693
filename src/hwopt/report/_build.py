"""Build a study's report once (tables, hypervolume, figures) and write it to a directory.

The report reads the study and never writes to it. Everything is computed once in
:func:`build_report`, so the CLI can print a summary of exactly what was written.
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hwopt.errors import ConfigError
from hwopt.report import _plots
from hwopt.report._frames import pareto_front, trials_frame
from hwopt.report._hv import hypervolume_curve, rebuild_benchmark
from hwopt.study import Study, non_dominated

#: optional module of another part of hwopt that draws predictor health better than the generic plot
_HEALTH_PLUGIN = "hwopt.report._health"


@dataclass
class Report:
    """Everything a report shows; :meth:`write` puts it on disk."""

    study: Study
    trials: pd.DataFrame
    front: pd.DataFrame
    hv: pd.DataFrame
    units: dict[str, str]
    true_front: np.ndarray | None = None
    health: pd.DataFrame | None = None
    figures: dict[str, bytes] = field(default_factory=dict)

    # ---------------------------------------------------------------- summary
    @property
    def counts(self) -> dict[str, int]:
        states = Counter(self.trials["state"])
        distinct = self.trials.loc[self.trials["state"].isin(["COMPLETE", "FAIL"]), "config_hash"].nunique()
        return {
            "trials": len(self.trials), "complete": states.get("COMPLETE", 0), "failed": states.get("FAIL", 0),
            "other": len(self.trials) - states.get("COMPLETE", 0) - states.get("FAIL", 0),
            "feasible": int(self.trials["feasible"].sum()), "front": len(self.front), "distinct_configs": int(distinct),
        }

    @property
    def final_hv(self) -> float | None:
        return float(self.hv["hv"].iloc[-1]) if len(self.hv) else None

    def failure_reasons(self) -> list[tuple[str, int, int]]:
        """(reason, count, first trial number), most frequent first."""
        bad = self.trials[self.trials["state"] == "FAIL"]
        out = []
        for reason, grp in bad.groupby(bad["fail_reason"].replace("", "(no reason recorded)"), sort=False):
            out.append((str(reason), len(grp), int(grp["number"].min())))
        return sorted(out, key=lambda r: (-r[1], r[2]))

    # ---------------------------------------------------------------- writing
    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write CSVs, PNGs and ``report.html`` into ``out_dir`` (created); returns name → path."""
        from hwopt.report._html import render

        out = _prepare_dir(out_dir)
        paths: dict[str, Path] = {}
        try:
            paths["pareto.csv"] = _write_csv(self.front, out / "pareto.csv")
            paths["trials.csv"] = _write_csv(self.trials, out / "trials.csv")
            for name, data in self.figures.items():
                (out / name).write_bytes(data)
                paths[name] = out / name
            (out / "report.html").write_text(render(self), encoding="utf-8")
            paths["report.html"] = out / "report.html"
        except OSError as exc:
            raise ConfigError(f"cannot write the report into {str(out_dir)!r}: {exc.strerror or exc}") from None
        return paths


def _prepare_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"report directory {str(out_dir)!r} is an existing file; give a directory with --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create report directory {str(out_dir)!r}: {exc.strerror or exc}") from None
    return out


def _write_csv(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


def _units(study: Study, benchmark: Any | None) -> dict[str, str]:
    """Units by metric: declared by the evaluator (``units``), else the ``unit`` of measurement dicts."""
    units: dict[str, str] = {}
    for t in study.trials:
        for name, v in (t.measurements or {}).items():
            if isinstance(v, dict) and isinstance(v.get("unit"), str) and name not in units:
                units[name] = v["unit"]
    declared = getattr(benchmark, "units", None) or {}
    if isinstance(declared, dict):
        units.update({k: str(v) for k, v in declared.items() if v})
    return units


def _true_front(benchmark: Any, study: Study) -> np.ndarray | None:
    """The benchmark's true Pareto front in natural units (for the 2-objective plot)."""
    try:
        F = benchmark.true_F(study.objectives)
    except Exception:  # noqa: BLE001 - the plot simply goes without it
        return None
    F = F[~np.isnan(F).any(axis=1)]
    signs = np.array([o.sign for o in study.objectives])
    return np.unique(F[non_dominated(F)], axis=0) * signs


def _health_figure(rounds: list[dict[str, Any]], health: pd.DataFrame, study: Study):
    try:
        plugin = importlib.import_module(_HEALTH_PLUGIN)
    except ModuleNotFoundError as exc:
        if exc.name != _HEALTH_PLUGIN:
            raise
        plugin = None
    draw = getattr(plugin, "health_figure", None) if plugin else None
    if draw is not None:
        return draw(rounds, [o.name for o in study.objectives])
    return _plots.health_figure(health)


def build_report(study: Study) -> Report:
    """Compute the tables, hypervolume curve and figures of a study's report."""
    trials = trials_frame(study)
    front = pareto_front(study, trials)
    benchmark, _ = rebuild_benchmark(study) if study.settings.get("benchmark") else (None, "")
    hv = hypervolume_curve(study, benchmark) if benchmark is not None else hypervolume_curve(study)
    units = _units(study, benchmark)
    true_front = _true_front(benchmark, study) if benchmark is not None and len(study.objectives) == 2 else None
    rounds = study.rounds()
    health = _plots.health_frame(rounds, [o.name for o in study.objectives]) if rounds else None
    rep = Report(study, trials, front, hv, units, true_front, health)
    objs = study.objectives
    name = study.settings.get("benchmark") or study.settings.get("space") or study.name
    figs = {
        "pareto.png": _plots.pareto_figure(trials, objs, units, true_front,
                                           title=f"{name}: {', '.join(map(str, objs))}"
                                                 + (f"  subject to {', '.join(map(str, study.constraints))}"
                                                    if study.constraints else "")),
        "hypervolume.png": _plots.hypervolume_figure(
            hv, title=f"{name}: {'fraction of true hypervolume' if hv.attrs['kind'] == 'hv_fraction' else 'hypervolume'}"
                      " vs evaluations"),
    }
    if len(objs) >= 3:
        figs["parallel.png"] = _plots.parallel_figure(trials, objs, units)
    if health is not None:
        figs["predictor_health.png"] = _health_figure(rounds, health, study)
    rep.figures = {k: _plots.png(f) for k, f in figs.items()}
    return rep


def write_report(study: Study, out_dir: str | Path) -> dict[str, Path]:
    """Write ``pareto.csv``, ``trials.csv``, ``pareto.png``, ``hypervolume.png`` and ``report.html``
    (plus ``parallel.png`` with ≥ 3 objectives, ``predictor_health.png`` when the strategy logged
    rounds) into ``out_dir``; returns file name → path."""
    return build_report(study).write(out_dir)
