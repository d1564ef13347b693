"""``hwopt search``: run a multi-objective search and write its report."""

from __future__ import annotations

import argparse

from hwopt.cli._common import BarProgress, default_study_path, key_values, positive_int, report_and_summary, report_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="run a search (no arguments: the built-in default job)",
                       description="Multi-objective search on a tabular benchmark or a model space.")
    where = p.add_argument_group("what to search")
    where.add_argument("--benchmark", help="tabular benchmark, e.g. nasbench-graph:cora, nb201:raspi4, table:FILE.csv")
    where.add_argument("--space", help="model space (hwopt spaces); with --benchmark table:..., the table's space (name or file)")
    where.add_argument("--data-dir", help="benchmark data directory (default: $HWOPT_DATA_DIR or ../shared/data)")
    where.add_argument("--dataset", help="accuracy column of nb201 (default cifar100_test)")
    where.add_argument("--weights", help="super-network checkpoint (model spaces)")
    where.add_argument("--data", help="validation data directory for accuracy (model spaces)")
    where.add_argument("--subset", type=positive_int, help="use only N validation images (quick runs)")
    where.add_argument("--runtime", choices=["onnxruntime", "torch"], help="latency runtime (model spaces)")
    where.add_argument("--batch-size", type=positive_int, help="latency batch size (model spaces)")
    where.add_argument("--threads", type=positive_int, help="latency threads (model spaces)")
    where.add_argument("--space-option", action="append", metavar="KEY=VALUE", help="extra model-space option")
    where.add_argument("--evaluator-option", action="append", metavar="KEY=VALUE", help="extra evaluator option")
    how = p.add_argument_group("how to search")
    how.add_argument("--objectives", nargs="+", metavar="SPEC",
                     help="e.g. accuracy:max latency:min, bounds like latency<=20 (default: the space's own)")
    how.add_argument("--strategy", default="default", help="search strategy (default: hwopt's best; see hwopt search --help)")
    how.add_argument("--population", type=positive_int, help="population size of evolutionary strategies")
    how.add_argument("--strategy-option", action="append", metavar="KEY=VALUE", help="extra strategy option")
    how.add_argument("--budget", type=positive_int, default=None, help="distinct configs to evaluate (default 300)")
    how.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    how.add_argument("--jobs", type=positive_int, default=1, help="parallel evaluations (default 1)")
    how.add_argument("--executor", choices=["process", "ray"], default="process",
                     help="where parallel evaluations run: local processes (default) or Ray tasks")
    how.add_argument("--ray-address", metavar="ADDR", help="Ray cluster to join (e.g. auto, ray://head:10001; "
                     "implies --executor ray); default: a local one of --jobs CPUs")
    how.add_argument("--no-references", dest="references", action="store_false",
                     help="do not measure a super-network's largest and smallest sub-networks first")
    how.add_argument("--remeasure", type=int, metavar="N",
                     help="after the search, measure each Pareto config N more times and confirm the front on "
                          "the medians (default: 1 for a model space, 0 for a tabular benchmark)")
    out = p.add_argument_group("output")
    out.add_argument("--study", help="study storage: SQLite file or SQLAlchemy URL (default runs/search-<time>.db)")
    out.add_argument("--study-name", default="hwopt", help="study name inside the storage")
    out.add_argument("--out", help="report directory (default: <study>-report)")
    out.add_argument("--no-report", action="store_true", help="do not write the report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt import api

    bench_opts = {k: v for k, v in {"data_dir": args.data_dir, "dataset": args.dataset}.items() if v is not None}
    space_opts = {**({"weights": args.weights} if args.weights else {}), **key_values(args.space_option, "--space-option")}
    eval_opts = {k: v for k, v in {"data": args.data, "subset": args.subset, "runtime": args.runtime,
                                   "batch_size": args.batch_size, "threads": args.threads}.items() if v is not None}
    eval_opts.update(key_values(args.evaluator_option, "--evaluator-option"))
    strat_opts = key_values(args.strategy_option, "--strategy-option")
    if args.population:
        strat_opts["population"] = args.population
    benchmark, space = args.benchmark, args.space
    if benchmark and space:
        bench_opts["space"] = space
        space = None
    study_path = args.study or str(default_study_path())
    st = api.search(
        study=study_path, benchmark=benchmark, benchmark_options=bench_opts, space=space,
        space_options=space_opts, evaluator_options=eval_opts, objectives=args.objectives,
        strategy=args.strategy, strategy_options=strat_opts, budget=args.budget, seed=args.seed,
        n_jobs=args.jobs, executor="ray" if args.ray_address else args.executor, ray_address=args.ray_address,
        progress=BarProgress("search"), study_name=args.study_name, references=args.references,
        remeasure=args.remeasure,
    )
    out_dir = args.out or report_dir_for(study_path)
    report_and_summary(st, out_dir, write=not args.no_report)
    if not args.no_report:
        _export_best(st, out_dir)
    return 0


def _export_best(st, out_dir) -> None:
    """Model-space studies: export the most accurate model under the median latency (ONNX, verified)."""
    from hwopt.report._export import export_best

    s = export_best(st, out_dir)
    if s is not None:
        acc, lat = s["measurements"]["accuracy"], s["measurements"]["latency"]
        lat = lat["median"] if isinstance(lat, dict) else lat
        print(f"best under the median latency: trial {s['trial']} (accuracy {acc:.2f}, latency {lat:.3g} ms) "
              f"exported to {s['path']} (max |ONNX - PyTorch| = {s['max_abs_diff']:.2g})")
