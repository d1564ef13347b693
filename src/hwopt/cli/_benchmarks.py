"""``hwopt benchmarks``: list tabular benchmarks and, with data present, their devices."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmarks", help="list tabular benchmarks")
    p.add_argument("--data-dir", help="benchmark data directory (default: $HWOPT_DATA_DIR or ../shared/data)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.benchmarks import BENCHMARKS
    from hwopt.benchmarks._data import default_data_dir

    for name in BENCHMARKS.names():
        print(f"{name:<16}{BENCHMARKS.help(name)}")
    from pathlib import Path

    data = Path(args.data_dir) if args.data_dir else default_data_dir()
    lat = data / "nb201" / "latency.csv.gz" if data else None
    if lat is not None and lat.is_file():
        import pandas as pd

        df = pd.read_csv(lat, usecols=["device", "batch_size"], dtype={"batch_size": "Int64"}).drop_duplicates()
        specs = [f"nb201:{r.device}" + ("" if pd.isna(r.batch_size) else f":{int(r.batch_size)}")
                 for r in df.sort_values(["device", "batch_size"]).itertuples()]
        print(f"\nnb201 settings in {data}:")
        for i in range(0, len(specs), 4):
            print("  " + "  ".join(f"{s:<24}" for s in specs[i:i + 4]).rstrip())
    import nas_bench_graph
    from importlib import resources

    sets = sorted(p.name[:-6] for p in (resources.files(nas_bench_graph) / "light").iterdir()
                  if p.name.endswith(".bench") and p.name != "proteins.bench")
    print("\nnasbench-graph datasets: " + ", ".join(sets))
    return 0
