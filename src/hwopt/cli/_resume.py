"""``hwopt resume``: continue a killed or finished study (no completed evaluation is redone)."""

from __future__ import annotations

import argparse

from hwopt.cli._common import BarProgress, positive_int, report_and_summary, report_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("resume", help="continue a study until its budget is reached")
    p.add_argument("study", help="study storage (SQLite file or SQLAlchemy URL)")
    p.add_argument("--study-name", help="study name, if the storage holds several")
    p.add_argument("--budget", type=positive_int, help="raise the study's budget to N distinct configs")
    p.add_argument("--out", help="report directory (default: <study>-report)")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt import api

    st = api.resume(args.study, budget=args.budget, progress=BarProgress("resume"), study_name=args.study_name)
    report_and_summary(st, args.out or report_dir_for(args.study), write=not args.no_report)
    return 0
