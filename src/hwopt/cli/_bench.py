"""``hwopt bench``: compare search strategies on tabular benchmarks over several seeds.

Writes ``DIR/curves.csv`` (hv_fraction after each distinct evaluation), ``DIR/summary.csv``
(evaluations to 95/98/99% of the true hypervolume, hv at every 50 evaluations, wall time) and
``DIR/curves.png``. Each run is saved to ``DIR/runs.jsonl`` as it finishes, and the same command
run again reuses the runs saved there: a killed bench continues where it stopped.
``--strategies default`` names the strategy ``hwopt search`` uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hwopt.cli._common import positive_int

DEFAULT_SET = ["random", "nsga2", "linas", "default", "optuna-nsga2", "optuna-tpe"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="compare strategies on tabular benchmarks (hv_fraction vs evaluations)")
    p.add_argument("--benchmark", "--benchmarks", dest="benchmarks", nargs="+", required=True, metavar="B",
                   help="e.g. nb201:raspi4 nasbench-graph:cora table:FILE.csv")
    p.add_argument("--objectives", nargs="+", default=None, help="e.g. accuracy:max latency:min (default: the benchmark's)")
    p.add_argument("--strategies", nargs="+", default=DEFAULT_SET, metavar="S",
                   help=f"strategy names; 'default' is hwopt's best (default: {' '.join(DEFAULT_SET)})")
    p.add_argument("--seeds", type=positive_int, default=10, help="seeds 0..N-1 per strategy (default 10)")
    p.add_argument("--budget", type=positive_int, default=500, help="distinct evaluations per run (default 500)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--jobs", type=positive_int, default=1, help="runs in parallel worker processes")
    p.add_argument("--data-dir", default=None, help="benchmark data directory (default: $HWOPT_DATA_DIR or ../shared/data)")
    p.add_argument("--option", action="append", default=[], metavar="STRATEGY:KEY=VALUE",
                   help="a strategy option, e.g. linas:svr_grid=full (repeatable)")
    p.set_defaults(func=run)


def _options(items: list[str], strategies: list[str]) -> dict[str, dict]:
    from hwopt.cli._common import key_values
    from hwopt.errors import ConfigError

    out: dict[str, dict] = {}
    for item in items:
        name, sep, kv = item.partition(":")
        if not sep or name not in strategies:
            raise ConfigError(f"--option {item!r} must look like STRATEGY:KEY=VALUE with a strategy of {', '.join(strategies)}")
        out.setdefault(name, {}).update(key_values([kv], "--option"))
    return out


def run(args: argparse.Namespace) -> int:
    from hwopt.benchmarks._runner import curves_frame, plot_curves, run_bench, summary_frame
    from hwopt.strategies import DEFAULT_STRATEGY, STRATEGIES

    strategies = list(dict.fromkeys(DEFAULT_STRATEGY if s == "default" else s for s in args.strategies))
    for s in strategies:
        STRATEGIES.get(s)  # unknown name → one error line listing valid ones
    options = _options(args.option, strategies)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(r, done, total, reused=False):
        print(f"[{done}/{total}] {r.benchmark} {r.strategy} seed {r.seed}: hv {r.hv[-1] if r.hv else 0:.4f} "
              f"after {len(r.hv)} evaluations, {r.wall_s:.1f} s{' (saved run, reused)' if reused else ''}",
              file=sys.stderr, flush=True)

    runs = out / "runs.jsonl"
    if runs.exists():
        print(f"continuing: the runs saved in {runs} that match this command (and this hwopt version) are reused",
              file=sys.stderr)
    try:
        results = run_bench(args.benchmarks, strategies, list(range(args.seeds)), args.budget,
                            objectives=args.objectives or (), data_dir=args.data_dir, jobs=args.jobs,
                            options=options, progress=progress, checkpoint=runs)
    except KeyboardInterrupt:
        print(f"error: interrupted; the finished runs are kept in {runs}, the same command continues", file=sys.stderr)
        return 130
    curves = curves_frame(results, args.budget)
    summary = summary_frame(results, args.budget)
    curves.to_csv(out / "curves.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    plot_curves(curves, str(out / "curves.png"))
    cols = ["benchmark", "strategy", "evals_to_95_mean", "evals_to_98_mean", "evals_to_99_mean", "never_reached_99",
            "stalled", "hv_at_100_mean", "wall_s_mean"]
    cols = [c for c in cols if c in summary.columns]
    print(summary[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for name in ("curves.csv", "summary.csv", "curves.png", "runs.jsonl"):
        print(f"{name + ':':<13}{out / name}")
    return 0
