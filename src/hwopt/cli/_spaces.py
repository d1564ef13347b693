"""``hwopt spaces``: list model spaces, or show one space's parameters."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spaces", help="list model spaces (super-networks), or show one")
    p.add_argument("name", nargs="?", help="show this space's parameters (a name, or a YAML/JSON space file to check)")
    p.add_argument("--json", action="store_true", help="print the space as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.supernets import SPACES, get_space

    if not args.name:
        width = max((len(n) for n in SPACES.names()), default=4) + 2
        for name in SPACES.names():
            print(f"{name:<{width}}{SPACES.help(name)}")
        return 0
    from pathlib import Path

    if args.name not in SPACES and Path(args.name).suffix in (".yaml", ".yml", ".json"):
        from hwopt.space import load_space

        space, ms = load_space(args.name), None
    else:
        ms = get_space(args.name)
        space = ms.space
    if args.json:
        print(json.dumps(space.to_dict(), indent=2))
        return 0
    if ms is not None:
        print(f"{args.name}: {ms.description}")
        print(f"default objectives: {' '.join(ms.default_objectives)}")
    else:
        print(f"{args.name}: valid space file")
    for p in space.parameters:
        extra = f" x{p.length}" if p.length else ""
        cond = f"  active when {p.active_when}" if p.active_when else ""
        print(f"  {p.name}{extra}: {p.kind} {p.values if p.n_levels <= 12 else f'{p.n_levels} levels'}{cond}")
    for c in space.constraints:
        print(f"  constraint: {c}")
    print(f"encodings: {space.size():.3g}")
    return 0
