"""The cost model on a mixed zoo of ONNX files measured on the local CPU, families held out.

A user's own models are not configs of one space: this checks the ONNX-table path
(``hwopt measure *.onnx --csv`` → ``hwopt costmodel evaluate --table``) on sub-networks of six
families — ofa-mbv3 w1.0 and w1.2, ofa-resnet50, fbnet, nb201, transformer (``--per-family``
random configs each, exported to ONNX under ``--models``) — measured with ONNX Runtime at batch
1 (skipped for files already in ``--csv``, so the evaluation can be re-run, and an interrupted
run resumes).

Then, ``--seeds`` times: (a) **mixed**: calibrate on ``--shots`` random models of the whole zoo,
predict the others; (b) **family held out**: calibrate on ``--shots`` random models of the other
five families, predict every model of the held-out one. Beside hwopt: the FLOPs + params
least-squares anchor of issue 7 (``[1, FLOPs, params]``) fitted on the same rows. Prints Spearman, MAPE, share within ±10% and 80% interval coverage.

    nice -n 10 python benchmarks/costmodel_onnx_zoo.py
    hwopt costmodel evaluate --table benchmarks/results/local_cpu_onnx_zoo.csv --hardware local --calibrate 20 --json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

FAMILIES = {  # file prefix -> (space, space options)
    "ofa-mbv3": ("ofa-mbv3", {}),
    "ofa-mbv3-w12": ("ofa-mbv3", {"width": 1.2}),
    "ofa-resnet50": ("ofa-resnet50", {}),
    "fbnet": ("fbnet", {}),
    "nb201": ("nb201", {}),
    "transformer": ("transformer", {}),
}


def export(models: Path, per_family: int, seed: int) -> list[Path]:
    """ONNX files of ``per_family`` random configs per family (existing files kept)."""
    import torch

    from hwopt.evaluators._latency import onnx_bytes
    from hwopt.supernets import get_space

    models.mkdir(parents=True, exist_ok=True)
    files = []
    for prefix, (name, opts) in FAMILIES.items():
        space = get_space(name, **opts)
        for k, cfg in enumerate(space.space.sample(per_family, seed=seed)):
            f = models / f"{prefix}_{k:02d}.onnx"
            if not f.is_file():
                shape = space.input_shape(cfg, 1)
                f.write_bytes(onnx_bytes(space.architecture(cfg).eval(), torch.zeros(*shape)))
            files.append(f)
    return files


def family(model: str) -> str:
    return Path(model).name.rsplit("_", 1)[0]


def anchor(F_cal: np.ndarray, y_cal: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Least squares on ``[1, FLOPs, params]``."""
    w = np.linalg.lstsq(np.column_stack([np.ones(len(F_cal)), F_cal]), y_cal, rcond=None)[0]
    return np.column_stack([np.ones(len(F)), F]) @ w


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-family", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0, help="seed of the sampled configs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--shots", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--models", default="benchmarks/results/onnx_zoo", help="folder of the exported ONNX files")
    ap.add_argument("--csv", default="benchmarks/results/local_cpu_onnx_zoo.csv")
    ap.add_argument("--out", help="also write the summary JSON here")
    args = ap.parse_args(argv)
    csv = Path(args.csv)
    files = export(Path(args.models), args.per_family, args.seed)
    subprocess.run([sys.executable, "-m", "hwopt", "measure", *map(str, files), "--csv", str(csv),
                    "--threads", str(args.threads), "--evaluator-option", "min_repeats=15",
                    "--evaluator-option", "max_time_s=3", "--evaluator-option", "rel_ci=0.02"], check=True)
    from scipy.stats import spearmanr

    from hwopt.evaluators._latency import machine_state
    from hwopt.hardware import resolve_hardware
    from hwopt.hardware._calibration import fit_calibration
    from hwopt.hardware._evaluate import metrics, read_table
    from hwopt.hardware._features import spec_seconds

    machine = csv.with_suffix(".machine.json")
    if not machine.is_file():
        machine.write_text(json.dumps(machine_state("onnxruntime", args.threads), indent=1))
    table = read_table(csv, None, "latency_ms")  # rows whose output ignores the input are left out
    target = resolve_hardware("local")
    feats = table.features(target)
    fam = np.array([family(c["model"]) for c in table.configs])
    flops = np.bincount(table.graphs.ops["unfused"]["row"], weights=table.graphs.ops["unfused"]["flops"],
                        minlength=len(table.y))
    FP = np.column_stack([flops, table.graphs.weight_bytes])
    y = table.y

    def scores(cal_idx: np.ndarray, test: np.ndarray) -> dict[str, dict]:
        cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx], target.name)
        pred, lo, hi = cal.predict_interval({v: f[test] for v, f in feats.items()})
        a = anchor(FP[cal_idx], y[cal_idx], FP[test])
        rel = np.abs(a / y[test] - 1)
        return {"hwopt": metrics(y[test], pred, lo, hi),
                "flops_params": {"spearman": float(spearmanr(a, y[test])[0]), "mape": float(rel.mean()),
                                 "within_10pct": float((rel <= 0.1).mean())}}

    runs: dict[str, list] = {"mixed": []}
    for s in range(args.seeds):
        rng = np.random.default_rng(s)
        cal_idx = rng.choice(len(y), args.shots, replace=False)
        runs["mixed"].append(scores(cal_idx, np.setdiff1d(np.arange(len(y)), cal_idx)))
        for f in FAMILIES:
            others = np.where(fam != f)[0]
            runs.setdefault(f"held out: {f}", []).append(
                scores(rng.choice(others, args.shots, replace=False), np.where(fam == f)[0]))
    summary = {
        k: {m: {s: float(np.mean([r[m][s] for r in v])) for s in v[0][m]} for m in ("hwopt", "flops_params")}
        for k, v in runs.items()
    }
    summary["n_models"] = {f: int((fam == f).sum()) for f in FAMILIES}
    gap = y / (spec_seconds(feats, target.kind) * 1e3)  # measured / spec-sheet roofline
    summary["spec_gap"] = {"median": float(np.median(gap)), "p10_p90": [float(q) for q in np.percentile(gap, [10, 90])]}
    summary["dropped_constant_output"] = table.dropped
    summary["latency_ms_range"] = {f: [float(y[fam == f].min()), float(y[fam == f].max())] for f in FAMILIES}
    print(json.dumps(summary, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
