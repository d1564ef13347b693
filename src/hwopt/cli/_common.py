"""Helpers shared by CLI commands: progress bar, option parsing, summaries."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hwopt.errors import ConfigError
from hwopt.study import Progress


class BarProgress(Progress):
    """A tqdm bar on stderr: evaluations, failures and hypervolume so far."""

    def __init__(self, desc: str = "search"):
        self.desc = desc
        self._bar = None

    def stage(self, name: str) -> None:
        self.desc = name

    def start(self, total: int, done: int) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, initial=done, desc=self.desc, unit="eval", file=sys.stderr,
                         dynamic_ncols=True, mininterval=0.3, disable=None)

    def update(self, done: int, failed: int, hv: float | None) -> None:
        if self._bar is None:
            return
        self._bar.n = done
        post = {"failed": failed}
        if hv is not None:
            post["hv"] = f"{hv:.4f}"
        self._bar.set_postfix(post, refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def key_values(items: list[str] | None, what: str) -> dict[str, Any]:
    """``["a=1", "b=x"]`` → ``{"a": 1, "b": "x"}`` (numbers and booleans parsed)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"{what} {item!r} must look like KEY=VALUE")
        k, v = item.split("=", 1)
        out[k.strip()] = _parse_value(v.strip())
    return out


def _parse_value(v: str) -> Any:
    low = v.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def default_study_path() -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path("runs") / f"search-{stamp}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def report_dir_for(study_path: str) -> Path:
    p = Path(study_path)
    return p.with_name(p.stem + "-report") if "://" not in study_path else Path("report")


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"{v} must be at least 1")
    return v


def report_and_summary(study, out_dir, write: bool = True, out=None) -> None:
    """Write the study's report (unless ``write`` is False) and print its summary."""
    from hwopt.report import build_report

    out = out or sys.stdout
    rep = build_report(study)
    paths = rep.write(out_dir) if write else {}
    c = rep.counts
    objs = ", ".join(str(o) for o in study.objectives)
    cons = ", ".join(str(x) for x in study.constraints)
    print(f"study:       {study.storage}  ({study.name})", file=out)
    print(f"objectives:  {objs}" + (f"   constraints: {cons}" if cons else ""), file=out)
    print(f"trials:      {c['complete']} complete, {c['failed']} failed"
          + (f", {c['other']} other" if c["other"] else "") + f"  ({c['distinct_configs']} distinct configs)", file=out)
    again = ""
    if "remeasured" in rep.trials.columns:
        n = int(rep.trials["remeasured"].fillna(0).sum())
        again = f" (confirmed: {n} re-measurements, front of the medians)"
    print(f"front:       {c['front']} non-dominated feasible configs{again}", file=out)
    hv = rep.final_hv
    kind = "of the true front's HV" if rep.hv.attrs.get("kind") == "hv_fraction" else "(objectives scaled by the study's min/max)"
    print(f"hypervolume: {hv:.4f} {kind}" if hv is not None else "hypervolume: n/a (no finished evaluations)", file=out)
    if write:
        front = rep.front
        names = [o.name for o in study.objectives]
        moved = [f"{n}_confirmed" for n in names  # confirmed values that differ from the first ones
                 if f"{n}_confirmed" in front.columns and not np.allclose(front[n], front[f"{n}_confirmed"])]
        cols = [col for col in ["number", *names, "remeasured", *moved] if col in front.columns]
        if len(front):
            shown = front if len(front) <= 20 else front.head(10)
            print(shown[cols].to_string(index=False), file=out)
            if len(shown) < len(front):
                print(f"... and {len(front) - len(shown)} more front configs in pareto.csv", file=out)
        width = max(len(n) for n in paths) + 2
        for name, path in paths.items():
            print(f"{name + ':':<{width}}{path}", file=out)
