"""``hwopt report``: write a study's report (CSVs, plots, self-contained HTML) and summarise it."""

from __future__ import annotations

import argparse

from hwopt.cli._common import report_and_summary, report_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the report of a study (pareto.csv, trials.csv, plots, report.html)",
                       description="Write a study's Pareto front, all trials, plots and a self-contained HTML page.")
    p.add_argument("study", help="study storage (SQLite file or SQLAlchemy URL)")
    p.add_argument("--out", help="report directory (default: <study>-report)")
    p.add_argument("--study-name", help="study name, if the storage holds several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.study import Study

    study = Study.load(args.study, args.study_name)
    report_and_summary(study, args.out or report_dir_for(args.study))
    return 0
