"""``hwopt remeasure``: measure a study's Pareto configs again and confirm its front."""

from __future__ import annotations

import argparse

from hwopt.cli._common import BarProgress, positive_int, report_and_summary, report_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("remeasure", help="measure a study's Pareto configs again and confirm the front",
                       description="Evaluate every Pareto config of a study until it has N re-measurements "
                                   "(stored ones count; configs that join the front are measured too), then "
                                   "rewrite the report with the front of the medians.")
    p.add_argument("study", help="study storage (SQLite file or SQLAlchemy URL)")
    p.add_argument("--repeats", type=positive_int, help="re-measurements per Pareto config (default: the study's "
                   "setting, else 1)")
    p.add_argument("--study-name", help="study name, if the storage holds several")
    p.add_argument("--out", help="report directory (default: <study>-report)")
    p.add_argument("--no-report", action="store_true", help="do not write the report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt import api

    st = api.remeasure_front(args.study, args.repeats, progress=BarProgress("re-measure front"),
                             study_name=args.study_name)
    report_and_summary(st, args.out or report_dir_for(args.study), write=not args.no_report)
    return 0
