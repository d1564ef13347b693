"""Helpers shared by CLI commands: progress bar, option parsing, summaries."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from hwopt.errors import ConfigError
from hwopt.study import Progress


class BarProgress(Progress):
    """A tqdm bar on stderr: evaluations, failures and hypervolume so far."""

    def __init__(self, desc: str = "search"):
        self.desc = desc
        self._bar = None

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


def print_summary(study, report_paths: dict | None, out=sys.stdout) -> None:
    trials = study.trials
    ok = sum(t.ok for t in trials)
    failed = sum(t.state == "FAIL" for t in trials)
    objs = ", ".join(str(o) for o in study.objectives)
    cons = ", ".join(str(c) for c in study.constraints)
    print(f"study:      {study.storage}  ({study.name})", file=out)
    print(f"objectives: {objs}" + (f"   constraints: {cons}" if cons else ""), file=out)
    print(f"trials:     {ok} complete, {failed} failed", file=out)
    if report_paths:
        from hwopt.report import pareto_front

        front = pareto_front(study)
        print(f"front:      {len(front)} non-dominated feasible configs", file=out)
        cols = [c for c in ["number", *[o.name for o in study.objectives]] if c in front.columns]
        if len(front):
            print(front[cols].head(10).to_string(index=False), file=out)
        for name, path in report_paths.items():
            print(f"{name + ':':<12}{path}", file=out)
