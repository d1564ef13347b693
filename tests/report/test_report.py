"""The report: front correctness, CSV layout, files, constraints, failures, hypervolume, HTML, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from hwopt.benchmarks import hypervolume
from hwopt.cli import main
from hwopt.errors import ConfigError
from hwopt.evaluators import parse_objectives
from hwopt.report import hypervolume_curve, non_dominated, pareto_front, trials_frame, write_report
from hwopt.study import Study

from report_toy import ReportToy, make_study

PNG = b"\x89PNG\r\n\x1a\n"


def dominates(a, b) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def min_form(df: pd.DataFrame, study: Study) -> np.ndarray:
    return np.column_stack([o.sign * df[o.name].to_numpy(float) for o in study.objectives])


def feasible_complete(study: Study) -> list:
    out = []
    for t in study.trials:
        if not t.ok:
            continue
        ok = True
        for c in study.constraints:
            v = t.measurements[c.name]
            v = v["median"] if isinstance(v, dict) else v
            ok &= (v <= c.bound) if c.op == "<=" else (v >= c.bound)
        if ok:
            out.append(t)
    return out


def brute_front_numbers(study: Study) -> set[int]:
    """The non-dominated feasible complete trials by the definition, pair by pair."""
    ts = feasible_complete(study)
    F = np.array([[o.sign * (t.measurements[o.name]["median"] if isinstance(t.measurements[o.name], dict)
                             else t.measurements[o.name]) for o in study.objectives] for t in ts])
    return {t.number for i, t in enumerate(ts) if not any(dominates(F[j], F[i]) for j in range(len(ts)) if j != i)}


@pytest.mark.parametrize("which", ["two", "three", "cons"])
def test_pareto_csv_is_exactly_the_non_dominated_feasible_set(studies, tmp_path, which):
    st = Study.load(studies[which])
    paths = write_report(st, tmp_path / "r")
    front = pd.read_csv(paths["pareto.csv"])
    assert len(front) > 1
    pool = feasible_complete(st)
    F_pool = np.array([[o.sign * (t.measurements[o.name]["median"] if isinstance(t.measurements[o.name], dict)
                                  else t.measurements[o.name]) for o in st.objectives] for t in pool])
    for f in min_form(front, st):
        assert not any(dominates(g, f) for g in F_pool)
    assert set(front["number"]) == brute_front_numbers(st)
    assert (front["state"] == "COMPLETE").all()


def test_constrained_front_excludes_infeasible_trials_that_would_dominate(studies):
    st = Study.load(studies["cons"])
    trials = trials_frame(st)
    front = pareto_front(st)
    assert (front["size"] <= 3).all() and front["feasible"].all()
    infeasible = trials[(trials["state"] == "COMPLETE") & (trials["size"] > 3)]
    assert len(infeasible) and not infeasible["feasible"].any() and not infeasible["on_front"].any()
    # the test means something: some infeasible trial dominates some front member
    Fi, Ff = min_form(infeasible, st), min_form(front, st)
    assert any(dominates(a, b) for a in Fi for b in Ff)


def test_csv_columns_are_named_after_metrics(studies, tmp_path):
    st = Study.load(studies["two"])
    paths = write_report(st, tmp_path / "r")
    for name in ("pareto.csv", "trials.csv"):
        df = pd.read_csv(paths[name])
        cols = list(df.columns)
        assert cols[:4] == ["number", "state", "config_hash", "config"]
        assert cols[4:6] == ["err", "lat"]  # objectives first, in order
        for c in ("size", "acc", "lat_p10", "lat_p90", "lat_cv", "lat_n", "lat_unit", "fail_reason", "duration_s"):
            assert c in cols
    trials = pd.read_csv(paths["trials.csv"])
    ev = ReportToy()
    by_number = {t.number: t for t in st.trials}
    for row in trials.itertuples(index=False):
        cfg = json.loads(row.config)
        assert ev.space.hash(cfg) == row.config_hash
        t = by_number[row.number]
        if t.ok:
            assert row.lat == pytest.approx(t.measurements["lat"]["median"])
            assert row.lat_p90 == pytest.approx(t.measurements["lat"]["p90"])
            assert row.err == pytest.approx(t.measurements["err"])
    assert set(trials["state"]) <= {"COMPLETE", "FAIL"}
    assert len(trials) == len(st.trials)


def test_failed_trials_are_listed_with_their_reasons(studies, tmp_path):
    st = Study.load(studies["two"])
    paths = write_report(st, tmp_path / "r")
    trials = pd.read_csv(paths["trials.csv"], keep_default_na=False)
    failed = trials[trials["state"] == "FAIL"]
    assert len(failed) >= 1
    assert set(failed["fail_reason"]) <= {"simulated out of memory", "simulated timeout after 10 s"}
    assert (trials.loc[trials["state"] == "COMPLETE", "fail_reason"] == "").all()
    html = paths["report.html"].read_text()
    for reason in set(failed["fail_reason"]):
        assert reason in html
    assert f"{(trials['state'] == 'FAIL').sum()} failed" in html


@pytest.mark.parametrize("which, extra", [("two", set()), ("three", {"parallel.png"})])
def test_files_written(studies, tmp_path, which, extra):
    paths = write_report(Study.load(studies[which]), tmp_path / "out" / "nested")
    expected = {"pareto.csv", "trials.csv", "pareto.png", "hypervolume.png", "report.html"} | extra
    assert set(paths) == expected
    for name, p in paths.items():
        assert p.is_file() and p.parent == tmp_path / "out" / "nested"
        if name.endswith(".png"):
            assert p.read_bytes()[:8] == PNG


def test_three_objectives_add_pair_plots_and_parallel_coordinates(studies, tmp_path):
    paths = write_report(Study.load(studies["three"]), tmp_path / "r")
    html = paths["report.html"].read_text()
    assert "Parallel coordinates" in html
    from matplotlib.image import imread

    two = imread(write_report(Study.load(studies["two"]), tmp_path / "r2")["pareto.png"])
    three = imread(paths["pareto.png"])
    assert three.shape[1] > 1.5 * two.shape[1]  # three panels side by side


def test_html_is_self_contained(studies, tmp_path):
    st = Study.load(studies["cons"])
    st.add_round({"evaluations": 10, "round": 1, "mape": [0.1, 0.2], "kendall_tau": 0.8})
    st.add_round({"evaluations": 20, "round": 2, "mape": [0.05, 0.1], "kendall_tau": 0.9})
    paths = write_report(Study.load(studies["cons"]), tmp_path / "r")
    html = paths["report.html"].read_text()
    refs = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html, flags=re.I)
    assert refs and all(r.startswith("data:") for r in refs)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert html.count("data:image/png;base64,") == 3  # pareto, hypervolume, predictor health
    assert "predictor_health.png" in paths
    assert "kendall_tau" in html and "mape[err]" in html  # per-objective diagnostics named by objective
    assert "toy-cpu" in html and "size&lt;=3" in html  # evaluator context and settings


def test_hypervolume_curve_without_benchmark_is_study_scaled(studies):
    st = Study.load(studies["two"])
    curve = hypervolume_curve(st)
    assert curve.attrs["kind"] == "hv_study_scaled"
    assert list(curve.columns) == ["evaluations", "hv"]
    assert list(curve["evaluations"]) == list(range(1, len(st.trials) + 1))
    assert (np.diff(curve["hv"]) >= -1e-12).all()
    # final value: independent HV of all feasible points, scaled by the complete trials' min/max
    done = trials_frame(st)
    done = done[done["state"] == "COMPLETE"]
    F = min_form(done, st)
    lo, hi = F.min(axis=0), F.max(axis=0)
    assert curve["hv"].iloc[-1] == pytest.approx(hypervolume((F - lo) / (hi - lo)))
    # after k evaluations it is the HV of the first k feasible complete configs only
    k = 20
    first = done[done["number"] < k]
    assert curve["hv"].iloc[k - 1] == pytest.approx(hypervolume((min_form(first, st) - lo) / (hi - lo)))


def test_unrebuildable_benchmark_falls_back_and_says_why(tmp_path):
    st = make_study(tmp_path / "s.db", ["err:min", "lat:min"], budget=20,
                    settings={"benchmark": f"table:{tmp_path / 'gone.csv'}"})
    curve = hypervolume_curve(st)
    assert curve.attrs["kind"] == "hv_study_scaled"
    assert "could not be rebuilt" in curve.attrs["label"]
    html = write_report(st, tmp_path / "r")["report.html"].read_text()
    assert "could not be rebuilt" in html


def test_benchmark_study_reports_fraction_of_true_hypervolume(tmp_path):
    pytest.importorskip("nas_bench_graph")
    from hwopt.api import search
    from hwopt.benchmarks import get_benchmark

    st = search(study=tmp_path / "b.db", benchmark="nasbench-graph:cora", objectives=["accuracy:max", "latency:min"],
                strategy="random", budget=40, seed=1)
    bench = get_benchmark("nasbench-graph:cora")
    curve = hypervolume_curve(st, bench)
    assert curve.attrs["kind"] == "hv_fraction" and len(curve) == 40
    F = np.array([[-t.measurements["accuracy"], t.measurements["latency"]] for t in st.trials if t.ok])
    assert curve["hv"].iloc[-1] == pytest.approx(bench.hv_fraction(F, st.objectives))
    assert 0 < curve["hv"].iloc[-1] <= 1
    paths = write_report(st, tmp_path / "r")
    assert "true front" in paths["report.html"].read_text()


def test_non_dominated_matches_brute_force_with_ties():
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 4):
        F = rng.integers(0, 6, size=(120, m)).astype(float)  # many ties and duplicates
        F[5] = F[7]
        mask = non_dominated(F)
        brute = [not any(dominates(F[j], F[i]) for j in range(len(F)) if j != i) for i in range(len(F))]
        assert list(mask) == brute
    assert non_dominated(np.zeros((0, 2))).shape == (0,)


def test_empty_and_single_objective_studies_still_report(tmp_path):
    objs, cons = parse_objectives(["err:min"])
    empty = Study.create(tmp_path / "e.db", objs, cons, settings={})
    paths = write_report(empty, tmp_path / "r0")
    assert pd.read_csv(paths["trials.csv"]).empty and pd.read_csv(paths["pareto.csv"]).empty
    assert "No complete trial" in paths["report.html"].read_text()
    st = make_study(tmp_path / "one.db", ["err:min"], budget=15)
    paths = write_report(st, tmp_path / "r1")
    front = pd.read_csv(paths["pareto.csv"])
    ok = [t.measurements["err"] for t in st.trials if t.ok]
    assert set(front["err"]) == {min(ok)}


def test_report_into_an_existing_file_is_a_config_error(studies, tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ConfigError, match="afile"):
        write_report(Study.load(studies["two"]), f)


# ----------------------------------------------------------------------------- CLI
def test_cli_report_prints_paths_and_summary(studies, tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["report", str(studies["three"]), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    n_front = len(pd.read_csv(out / "pareto.csv"))
    assert f"front:       {n_front} non-dominated" in text
    assert re.search(r"hypervolume: \d\.\d{4}", text)
    for name in ("pareto.csv", "trials.csv", "pareto.png", "hypervolume.png", "report.html", "parallel.png"):
        assert str(out / name) in text


@pytest.mark.parametrize("argv, needle", [
    (["report", "/nonexistent/study.db", "--out", "{tmp}/r"], "does not exist"),
    (["report", "{two}", "--out", "{tmp}/afile"], "existing file"),
    (["report", "{two}", "--out", "{tmp}/r", "--study-name", "nope"], "no study 'nope'"),
])
def test_cli_report_errors_are_one_line(studies, tmp_path, capsys, argv, needle):
    (tmp_path / "afile").write_text("x")
    argv = [a.format(tmp=tmp_path, two=studies["two"]) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err


def test_a_config_evaluated_twice_counts_once(tmp_path):
    import datetime as dt

    objs, cons = parse_objectives(["err:min", "lat:min"])
    st = Study.create(tmp_path / "d.db", objs, cons, settings={})
    ev = ReportToy()
    now = dt.datetime.now()
    for cfg in ({"x": [1, 1, 1, 1], "op": "a"}, {"x": [8, 8, 8, 1], "op": "a"}, {"x": [1, 1, 1, 1], "op": "a"}):
        st.add(cfg, ev.space.hash(cfg), ev.evaluate(cfg), started=now, finished=now, space=ev.space)
    front = pareto_front(st)
    assert list(front["number"]) == [0, 1]  # the repeat (trial 2) is in trials.csv, not twice on the front
    assert len(trials_frame(st)) == 3
    assert list(hypervolume_curve(st)["evaluations"]) == [1, 2]
