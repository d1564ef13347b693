"""``hwopt bench`` on a NAS-Bench-201-style table the team never tuned on: every strategy runs."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from hwopt.benchmarks._runner import RunResult, evals_to, run_one, summary_frame
from hwopt.cli import main
from hwopt.strategies import STRATEGIES
from hwopt.supernets._cells import NB201_OPS, config_to_arch

SUMMARY_COLUMNS = ["benchmark", "strategy", "evals_to_95_mean", "evals_to_95_std", "evals_to_98_mean",
                   "evals_to_98_std", "evals_to_99_mean", "evals_to_99_std", "never_reached_99", "stalled"]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """All 15,625 cells with made-up but structured metrics (not NB201 values)."""
    rng = np.random.default_rng(7)
    cost = dict(zip(NB201_OPS, [0.0, 0.1, 0.5, 1.5, 0.3]))
    gain = rng.random((6, 5))
    rows = []
    for ops in itertools.product(range(5), repeat=6):
        names = [NB201_OPS[o] for o in ops]
        acc = 40 + 10 * sum(gain[i, o] for i, o in enumerate(ops)) + rng.normal(0, 1)
        lat = 1 + sum(cost[n] for n in names) * (1 + 0.1 * rng.random())
        rows.append({"arch": config_to_arch({"ops": names}), "acc": acc, "latency_ms": lat})
    path = tmp_path_factory.mktemp("table") / "cells.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_runs_on_a_table(table, name):
    opts = {"population": 10} if name in ("nsga2", "age", "unsga3") else {}
    if name == "linas":
        opts = {"population": 10, "inner_evals": 200}
    r = run_one(f"table:{table}", name, 0, 30, ["acc:max", "latency_ms:min"], options=opts)
    assert 1 <= len(r.hv) <= 30 and all(0 <= v <= 1 + 1e-9 for v in r.hv)
    assert all(b >= a - 1e-12 for a, b in zip(r.hv, r.hv[1:]))  # the found front only grows


def test_summary_counts_unreached_runs_as_budget_plus_one():
    runs = [RunResult("b", "s", 0, [0.5, 0.96, 0.991], 1.0),
            RunResult("b", "s", 1, [0.5, 0.97], 3.0, stopped="no new proposals")]
    s = summary_frame(runs, 3).iloc[0]
    assert evals_to(runs[0].hv, 0.99, 3) == 3 and s.evals_to_99_mean == pytest.approx((3 + 4) / 2)
    assert s.never_reached_99 == 1 and s.stalled == 1 and s.wall_s_mean == 2.0


def test_cli_writes_curves_summary_and_plot(table, tmp_path, capsys):
    out = tmp_path / "bench"
    rc = main(["bench", "--benchmark", f"table:{table}", "--objectives", "acc:max", "latency_ms:min",
               "--strategies", "random", "default", "--seeds", "2", "--budget", "50", "--out", str(out)])
    assert rc == 0
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == ["benchmark", "strategy", "seed", "evaluations", "hv_fraction"]
    assert len(curves) == 2 * 2 * 50
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary.columns)[: len(SUMMARY_COLUMNS)] == SUMMARY_COLUMNS
    assert "hv_at_50_mean" in summary and list(summary.columns)[-1] == "wall_s_mean" and len(summary) == 2
    assert (out / "curves.png").stat().st_size > 0


def test_cli_errors_are_one_line(table, tmp_path, capsys):
    rc = main(["bench", "--benchmark", f"table:{table}", "--objectives", "acc:max", "--strategies", "nope",
               "--seeds", "1", "--budget", "5", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error:") and "random" in err[0]


def test_a_stalled_one_config_sampler_gets_as_many_proposals_as_a_population(table, monkeypatch):
    import hwopt.benchmarks._runner as runner
    from hwopt.strategies import Strategy

    class Stuck(Strategy):
        """Proposes one fixed config per ask, forever (like a sampler that has converged)."""

        name = "stuck"
        batch_size = 1

        def ask(self, n):
            self.asked = getattr(self, "asked", 0) + 1
            return [{"ops": ["nor_conv_3x3"] * 6}]

        def tell(self, configs, F, G):
            pass

    strategy = Stuck(seed=0)
    monkeypatch.setattr(runner, "get_strategy", lambda *a, **k: strategy)
    r = run_one(f"table:{table}", "stuck", 0, 100, ["acc:max", "latency_ms:min"], patience=50, patience_proposals=250)
    assert r.stopped == "no new proposals" and len(r.hv) == 1
    assert strategy.asked == 251  # 1 new config, then 250 re-proposals (not 50 asks)


def test_a_bench_that_died_continues_from_its_saved_runs(table, tmp_path, monkeypatch, capsys):
    """Runs are saved as they finish; a second call reuses them and only runs what is missing."""
    import hwopt.benchmarks._runner as runner

    calls = []
    real = runner._worker

    def dies_on_the_third_run(task):
        calls.append(task[2])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the process is stopped in the middle of the bench
        return real(task)

    monkeypatch.setattr(runner, "_worker", dies_on_the_third_run)
    out = tmp_path / "bench"
    args = ["bench", "--benchmark", f"table:{table}", "--objectives", "acc:max", "latency_ms:min",
            "--strategies", "random", "--seeds", "4", "--budget", "30", "--out", str(out)]
    assert main(args) == 130
    assert "finished runs are kept" in capsys.readouterr().err.strip().splitlines()[-1]
    assert len((out / "runs.jsonl").read_text().splitlines()) == 2
    with (out / "runs.jsonl").open("a") as f:
        f.write('{"key": "cut short')  # the line a kill can leave behind
    seen = []
    monkeypatch.setattr(runner, "_worker", lambda task: seen.append(task[2]) or real(task))
    assert main(args) == 0
    assert seen == [2, 3]  # seeds 0 and 1 were reused, not run again
    curves = pd.read_csv(out / "curves.csv")
    fresh = run_one(f"table:{table}", "random", 0, 30, ["acc:max", "latency_ms:min"])
    assert curves[curves.seed == 0].hv_fraction.tolist() == pytest.approx(fresh.hv)
    err = capsys.readouterr().err
    assert "continuing" in err and err.count("(saved run, reused)") == 2


def _killed_on_seed_1(task):
    """A worker that the OS kills (out of memory, kill -9) in the middle of seed 1."""
    import os
    import signal

    import hwopt.benchmarks._runner as runner

    if task[2] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return runner.run_one(*task)


def test_a_dead_worker_process_is_one_error_line_and_keeps_finished_runs(table, tmp_path, monkeypatch, capsys):
    import hwopt.benchmarks._runner as runner

    monkeypatch.setattr(runner, "_worker", _killed_on_seed_1)
    out = tmp_path / "bench"
    rc = main(["bench", "--benchmark", f"table:{table}", "--objectives", "acc:max", "latency_ms:min",
               "--strategies", "random", "--seeds", "2", "--budget", "20", "--out", str(out), "--jobs", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and err[-1].startswith("error:") and "worker process died" in err[-1] and "runs.jsonl" in err[-1]


def test_search_summary_lists_a_long_front_in_part_and_says_how_many_more(tmp_path, capsys):
    """Every cell of this table trades accuracy for latency one to one, so a search's whole
    history is its front: the summary prints 10 of them and points to pareto.csv for the rest."""
    rows = [{"arch": config_to_arch({"ops": [NB201_OPS[o] for o in ops]}), "acc": 50 + k * 1e-3,
             "latency_ms": 1 + k * 1e-3} for k, ops in enumerate(itertools.product(range(5), repeat=6))]
    path = tmp_path / "line.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    rc = main(["search", "--benchmark", f"table:{path}", "--objectives", "acc:max", "latency_ms:min",
               "--strategy", "random", "--budget", "30", "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "front:       30 non-dominated" in out and "... and 20 more front configs in pareto.csv" in out
