"""``hwopt spaces``: list model spaces, or show one space's parameters."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("spaces", help="list model spaces (super-networks), or show one")
    p.add_argument("name", nargs="?", help="show this space's parameters")
    p.add_argument("--json", action="store_true", help="print the space as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hwopt.supernets import SPACES, get_space

    if not args.name:
        width = max((len(n) for n in SPACES.names()), default=4) + 2
        for name in SPACES.names():
            print(f"{name:<{width}}{SPACES.help(name)}")
        return 0
    ms = get_space(args.name)
    data = ms.space.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(f"{args.name}: {ms.description}")
    print(f"default objectives: {' '.join(ms.default_objectives)}")
    for p in ms.space.parameters:
        extra = f" x{p.length}" if p.length else ""
        cond = f"  active when {p.active_when}" if p.active_when else ""
        print(f"  {p.name}{extra}: {p.kind} {p.values if p.n_levels <= 12 else f'{p.n_levels} levels'}{cond}")
    print(f"encodings: {ms.space.size():.3g}")
    return 0
