"""``hwopt hardware list|show``: the hardware catalog (built-in, user files, and ``local``)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hardware", help="list hardware targets or show one (with sources)")
    hs = p.add_subparsers(dest="hw_command", metavar="{list,show}")
    pl = hs.add_parser("list", help="list targets")
    pl.add_argument("--kind", help="only this kind (gpu, cpu, mobile, edge, accelerator)")
    ps = hs.add_parser("show", help="show one target with the source of every value")
    ps.add_argument("name", help="target name or alias; 'local' detects this machine")
    for q in (pl, ps):
        q.add_argument("--hardware-file", action="append", default=[], metavar="FILE",
                       help="extra catalog YAML (may repeat); overrides built-in entries of the same name")
        q.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run, hw_command=None)


def run(args: argparse.Namespace) -> int:
    from hwopt.errors import ConfigError
    from hwopt.hardware import KINDS, load_catalog, resolve_hardware

    if args.hw_command in (None, "list"):
        cat = load_catalog(*getattr(args, "hardware_file", []))
        kind = getattr(args, "kind", None)
        if kind and kind not in KINDS:
            raise ConfigError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")
        rows = [t for t in cat if not kind or t.kind == kind]
        if getattr(args, "json", False):
            print(json.dumps([t.to_dict() for t in rows], indent=1))
            return 0
        print(f"{'name':<24}{'kind':<8}{'fp32 TF':>9}{'fp16 TF':>9}{'GB/s':>8}{'GB':>7}{'TDP W':>7}")
        for t in rows:
            fp16 = t.peak_tflops.get("fp16")
            print(f"{t.name:<24}{t.kind:<8}{t.peak_tflops.get('fp32', float('nan')):>9.3g}"
                  f"{(f'{fp16:.4g}' if fp16 else '-'):>9}{t.memory_bandwidth_gbps:>8.4g}{t.memory_gb:>7.4g}"
                  f"{(f'{t.tdp_w:g}' if t.tdp_w else '-'):>7}")
        print("local                   cpu     (this machine: hwopt hardware show local)")
        return 0
    t = resolve_hardware(args.name, *args.hardware_file)
    d = t.to_dict()
    if args.json:
        print(json.dumps(d, indent=1))
        return 0
    print(f"{t.name} ({t.kind}{', ' + t.vendor if t.vendor else ''}): {t.description}")
    if t.aliases:
        print(f"  aliases: {', '.join(t.aliases)}")
    sources = t.sources
    for key in ("peak_tflops", "memory_bandwidth_gbps", "memory_gb", "caches_mb", "tdp_w", "idle_w",
                "intra_node_bandwidth_gbps", "inter_node_bandwidth_gbps", "gpus_per_node", "price_per_hour_usd"):
        v = d.get(key)
        if v in (None, {}, ()):
            continue
        print(f"  {key}: {v}")
        if sources.get(key):
            print(f"      source: {sources[key]}")
    if t.notes:
        print(f"  notes: {t.notes}")
    return 0
