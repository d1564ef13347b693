"""Few-shot cost-model benchmark on the shared latency tables (docs/benchmarks.md, "Hardware cost model").

For every measured device setting of the NAS-Bench-201, FBNet and OFA-MobileNetV3 tables:
calibrate on ``--shots`` random architectures, predict all others, ``--seeds`` times, and
report Spearman, MAPE, the share of predictions within +-10% and the coverage of the stated
80% interval, for

* ``hwopt``   : the calibrated roofline cost model (``hwopt costmodel evaluate`` does the same),
* ``spec``    : the spec-sheet roofline alone (no measurement),
* ``flops``   : anchor 1, least squares on [1, FLOPs, params],
* ``additive``: anchor 2, least squares on [1, count of each op type] (NB201: the 5 edge ops;
  FBNet: the 9 layer choices; OFA: active blocks per (kernel, expand) pair, weighted by
  (r/224)^2 since every op's cost scales with the pixel count).

NAS-Bench-201 cells whose output does not depend on the input are left out (as in the issue's
protocol). ``eyeriss`` / ``fpga`` are simulator outputs, not measurements: their rows are marked
``"simulated": true`` and kept out of the summary over measured devices.
``xeon_cpu`` (model not stated) uses the Xeon-Gold-6240 entry as its spec sheet.

    nice -n 10 python benchmarks/costmodel_shared_tables.py --out benchmarks/results/costmodel.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hwopt.hardware import fit_calibration, load_catalog
from hwopt.hardware._evaluate import metrics
from hwopt.hardware._features import VARIANTS, graph_table, spec_seconds
from hwopt.hardware._roofline import DTYPE_BYTES, RUNTIMES
from hwopt.supernets import get_space

SIMULATED = {"eyeriss", "fpga"}
PROXY = {"xeon_cpu": "Xeon-Gold-6240"}


def _nb201(D: Path):
    lat = pd.read_csv(D / "nb201" / "latency.csv.gz", dtype={"batch_size": "Int64"})
    archs = lat.drop_duplicates("arch_index").sort_values("arch_index")
    space = get_space("nb201")
    cfgs = [space.parse_config(a) for a in archs.arch]
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    counts = np.array([[c["ops"].count(o) for o in ops] for c in cfgs], float)
    lat = lat.rename(columns={"arch_index": "row"})
    return space, cfgs, counts, lat


def _fbnet(D: Path):
    archs = pd.read_csv(D / "fbnet" / "archs.csv.gz").sort_values("arch_id")
    lat = pd.read_csv(D / "fbnet" / "latency.csv.gz", dtype={"batch_size": "Int64"})
    space = get_space("fbnet")
    cfgs = [space.parse_config(s) for s in archs.ops]
    from hwopt.supernets.fbnet import FBNET_OPS

    counts = np.array([[c["ops"].count(o) for o in FBNET_OPS] for c in cfgs], float)
    row = {a: i for i, a in enumerate(archs.arch_id)}
    lat["row"] = lat.arch_id.map(row)
    return space, cfgs, counts, lat


def _ofa_counts(space, cfgs):
    pairs = [(k, e) for k in (3, 5, 7) for e in (3, 4, 6)]
    out = []
    for c in cfgs:
        blocks = [(k, int(e)) for _, _, _, _, k, e, *_ in space.arch.blocks(c)]
        out.append([blocks.count(p) * (c["r"] / 224) ** 2 for p in pairs])
    return np.array(out, float)


def _ofa(D: Path, which: str):
    if which == "help":
        lat = pd.read_csv(D / "ofa_mbv3" / "latency_help.csv.gz", dtype={"batch_size": "Int64"})
        space = get_space("ofa-mbv3", width=1.2)  # HELP measured w1.2 sub-networks (see data README)
    else:
        lat = pd.read_csv(D / "ofa_mbv3" / "latency_xeon_gpu.csv.gz", dtype={"batch_size": "Int64"})
        space = get_space("ofa-mbv3", width=1.0)
    uniq = list(dict.fromkeys(lat.config))
    row = {c: i for i, c in enumerate(uniq)}
    lat["row"] = lat.config.map(row)
    cfgs = [space.space.canonical(space.parse_config(c)) for c in uniq]
    return space, cfgs, _ofa_counts(space, cfgs), lat


def _lstsq_fit_predict(Xc, yc, Xt):
    A = np.c_[np.ones(len(Xc)), Xc]
    scale = np.abs(A).max(0) + 1e-30
    w = np.linalg.lstsq(A / scale, yc, rcond=None)[0] / scale
    return np.maximum(np.c_[np.ones(len(Xt)), Xt] @ w, 1e-6)


def run_table(name, space, cfgs, counts, lat, seeds, shots, cat, log):
    results = []
    tables = {}
    dep_all = None
    if hasattr(space, "op_graph"):
        dep_all = np.array([space.op_graph(c).output_depends_on_input() for c in cfgs])
    for (dev, b), g in lat.groupby(["device", "batch_size"], dropna=False):
        batch = 1 if pd.isna(b) else int(b)
        target = cat.get(PROXY.get(dev, dev))
        width = DTYPE_BYTES[target.default_dtype]  # tensors as wide as the type the device runs
        if (batch, width) not in tables:
            t0 = time.time()
            tables[batch, width] = graph_table(space, cfgs, batch, dtype_bytes=width)
            log(f"  graphs of {len(cfgs)} {name} configs at batch {batch}, {width} bytes: {time.time() - t0:.0f}s")
        T = tables[batch, width]
        rows = g.row.to_numpy()
        y = g.latency_ms.to_numpy(float)
        if dep_all is not None:  # drop models whose output does not depend on the input
            dep = dep_all[rows]
            rows, y = rows[dep], y[dep]
        feats = {v: T.features(target, target.default_dtype, v)[rows] for v in VARIANTS}
        unf = T.ops["unfused"]
        flops = np.bincount(unf["row"], weights=unf["flops"], minlength=T.n)[rows]
        params = T.weight_bytes[rows] / 4
        fp = np.c_[flops, params]
        cnt = counts[rows]
        spec_runtimes = {"spec": "compiled", "spec_eager": "eager"}
        specs = {m: spec_seconds(feats, target.kind, rt) * 1e3 for m, rt in spec_runtimes.items()}
        per = {m: [] for m in ("hwopt", "spec", "spec_eager", "flops", "additive")}
        variants = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            cal = rng.choice(len(y), shots, replace=False)
            test = np.setdiff1d(np.arange(len(y)), cal)
            c = fit_calibration({v: f[cal] for v, f in feats.items()}, y[cal], target.name)
            variants.append(c.variant)
            p, lo, hi = c.predict_interval({v: f[test] for v, f in feats.items()})
            per["hwopt"].append(metrics(y[test], p, lo, hi))
            for m, spec in specs.items():
                s, (lo, hi) = spec[test], RUNTIMES[spec_runtimes[m]].spec_interval
                per[m].append(metrics(y[test], s, s * lo, s * hi))
            for m, X in (("flops", fp), ("additive", cnt)):
                q = _lstsq_fit_predict(X[cal], y[cal], X[test])
                per[m].append(metrics(y[test], q, q, q))
        row = {"table": name, "device": dev, "batch_size": None if pd.isna(b) else int(b), "hardware": target.name,
               "n": int(len(y)), "seeds": seeds, "variants": {v: variants.count(v) for v in set(variants)},
               "simulated": dev in SIMULATED, "spec_gap_median": float(np.median(y / specs["spec"])),
               "spec_eager_gap_median": float(np.median(y / specs["spec_eager"]))}
        for m, lst in per.items():
            row[m] = {k: float(np.mean([d[k] for d in lst])) for k in ("spearman", "mape", "within_10pct",
                                                                         "coverage_80")}
            row[m]["within_10pct_std"] = float(np.std([d["within_10pct"] for d in lst]))
            row[m]["coverage_80_std"] = float(np.std([d["coverage_80"] for d in lst], ddof=1))
        results.append(row)
        h = row["hwopt"]
        log(f"  {dev:<18}{str(row['batch_size'] or '-'):>4}  hwopt rho {h['spearman']:.3f} mape {h['mape']:.3f} "
            f"w10 {h['within_10pct']:.3f} cov {h['coverage_80']:.3f} | additive w10 "
            f"{row['additive']['within_10pct']:.3f} flops w10 {row['flops']['within_10pct']:.3f} | "
            f"spec mape {row['spec']['mape']:.2f}")
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("HWOPT_DATA_DIR", str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    ap.add_argument("--data", default=default)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--shots", type=int, default=20)
    ap.add_argument("--tables", default="nb201,fbnet,ofa_help,ofa_xeon_gpu")
    ap.add_argument("--out", default="benchmarks/results/costmodel_shared_tables.json")
    args = ap.parse_args(argv)
    D = Path(args.data)
    if not (D / "nb201" / "latency.csv.gz").is_file():
        print(f"error: shared data not found in {D} (use --data or HWOPT_DATA_DIR)", file=sys.stderr)
        return 2
    cat = load_catalog()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    loaders = {"nb201": lambda: _nb201(D), "fbnet": lambda: _fbnet(D), "ofa_help": lambda: _ofa(D, "help"),
               "ofa_xeon_gpu": lambda: _ofa(D, "xeon_gpu")}
    results = []
    for name in args.tables.split(","):
        log(f"{name}:")
        results += run_table(name, *loaders[name](), args.seeds, args.shots, cat, log)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seeds": args.seeds, "shots": args.shots, "results": results}, indent=1))
    print(markdown(results))
    return 0


def markdown(results) -> str:
    lines = ["| table | device | batch | hwopt rho / MAPE / ±10% / cov80 | spec-only rho / MAPE | "
             "spec-only eager rho / MAPE | FLOPs+params rho / ±10% | additive rho / ±10% |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: r.get("simulated", False)):
        h, s, f, a = r["hwopt"], r["spec"], r["flops"], r["additive"]
        se_ = r.get("spec_eager", {"spearman": float("nan"), "mape": float("nan")})
        dev = r["device"] + (" (simulated)" if r.get("simulated") else "")
        lines.append(f"| {r['table']} | {dev} | {r['batch_size'] or '-'} | {h['spearman']:.3f} / "
                     f"{h['mape'] * 100:.1f}% / {h['within_10pct'] * 100:.1f}% / {h['coverage_80'] * 100:.1f}% | "
                     f"{s['spearman']:.3f} / {s['mape'] * 100:.0f}% | {se_['spearman']:.3f} / {se_['mape'] * 100:.0f}% | "
                     f"{f['spearman']:.3f} / "
                     f"{f['within_10pct'] * 100:.1f}% | {a['spearman']:.3f} / {a['within_10pct'] * 100:.1f}% |")
    simulated = [r for r in results if r.get("simulated")]
    results = [r for r in results if not r.get("simulated")]
    w = [r["hwopt"]["within_10pct"] for r in results]
    rho = [r["hwopt"]["spearman"] for r in results]
    best = [max(r["flops"]["within_10pct"], r["additive"]["within_10pct"]) for r in results]
    beat = sum(x >= b for x, b in zip(w, best))
    cov = [r["hwopt"]["coverage_80"] for r in results]
    # a 20-shot interval's coverage varies from one calibration draw to the next (for split conformal
    # with this rank it is Beta(17, 4): std 8.4 points); a setting is "consistent with 75-85%" when
    # its 10-seed mean lies within two standard errors of that band
    se = [r["hwopt"]["coverage_80_std"] / np.sqrt(r["seeds"]) for r in results]
    consistent = sum(0.75 - 2 * e <= c <= 0.85 + 2 * e for c, e in zip(cov, se))
    spread = np.median([r["hwopt"]["coverage_80_std"] for r in results])
    # how many settings an exactly calibrated method (mean coverage 80%) with the same per-seed
    # spreads would leave outside 75-85% by sampling noise alone (normal 10-seed means)
    sim = np.random.default_rng(0).normal(0.80, se, size=(100_000, len(se)))
    outside = ((sim < 0.75) | (sim > 0.85)).sum(1)
    lines.append("")
    lines.append(f"median over settings: within ±10% {np.median(w) * 100:.1f}%, Spearman {np.median(rho):.3f}; "
                 f"at least the best anchor's ±10% share on {beat}/{len(w)} settings; 80% interval coverage "
                 f"{min(cov) * 100:.1f}-{max(cov) * 100:.1f}% (in 75-85% on "
                 f"{sum(0.75 <= c <= 0.85 for c in cov)}/{len(cov)}; within two standard errors of it on "
                 f"{consistent}/{len(cov)}; per-seed coverage std {spread * 100:.1f} points, median over settings; "
                 f"an exactly calibrated method with these spreads would leave {outside.mean():.1f} settings outside "
                 f"75-85%, {np.percentile(outside, 5):.0f}-{np.percentile(outside, 95):.0f} in 90% of 100,000 "
                 "simulated tables)")
    for m, key, what in (("spec", "spec_gap_median", "compiled"), ("spec_eager", "spec_eager_gap_median", "eager")):
        gap, rows = [r[key] for r in results if key in r], [r[m] for r in results if m in r]
        if gap:
            lines.append(f"measured / spec-sheet roofline ({what} runtime), median per setting: {min(gap):.1f}-"
                         f"{max(gap):.1f} x, 80th percentile over settings {np.percentile(gap, 80):.1f} x (the "
                         f"upper factor of its spec-only interval, hwopt.hardware._roofline.RUNTIMES); spec sheet "
                         f"only: median Spearman {np.median([x['spearman'] for x in rows]):.3f}, median MAPE "
                         f"{np.median([x['mape'] for x in rows]) * 100:.0f}%, 80% interval coverage mean "
                         f"{np.mean([x['coverage_80'] for x in rows]) * 100:.1f}%")
    if simulated:
        names = ", ".join(sorted({r["device"] for r in simulated}))
        lines.append(f"(the {len(simulated)} simulated settings, {names}, "
                     "are listed last and left out of this summary)")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
