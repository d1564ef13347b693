"""``hwopt report``: write a study's report (CSVs, plots, self-contained HTML) and summarise it."""

from __future__ import annotations

import argparse

from hwopt.cli._common import report_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write the report of a study (pareto.csv, trials.csv, plots, report.html)",
                       description="Write a study's Pareto front, all trials, plots and a self-contained HTML page.")
    p.add_argument("study", help="study storage (SQLite file or SQLAlchemy URL)")
    p.add_argument("--out", help="report directory (default: <study>-report)")
    p.add_argument("--study-name", help="study name, if the storage holds several")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.report import build_report
    from hwopt.study import Study

    study = Study.load(args.study, args.study_name)
    rep = build_report(study)
    paths = rep.write(args.out or report_dir_for(args.study))
    c = rep.counts
    objs = ", ".join(str(o) for o in study.objectives)
    cons = ", ".join(str(x) for x in study.constraints)
    print(f"study:       {study.storage}  ({study.name})")
    print(f"objectives:  {objs}" + (f"   constraints: {cons}" if cons else ""))
    print(f"trials:      {c['complete']} complete, {c['failed']} failed"
          + (f", {c['other']} other" if c["other"] else "") + f"  ({c['distinct_configs']} distinct configs)")
    print(f"front:       {c['front']} non-dominated feasible configs")
    hv = rep.final_hv
    kind = "of the true front's HV" if rep.hv.attrs.get("kind") == "hv_fraction" else "(objectives scaled by the study's min/max)"
    print(f"hypervolume: {hv:.4f} {kind}" if hv is not None else "hypervolume: n/a (no finished evaluations)")
    for name, path in paths.items():
        print(f"{name + ':':<22} {path}")
    return 0
