import os
import signal
import sqlite3
import subprocess
import sys
import time

import optuna
import pytest

from hwopt.errors import ConfigError, EvaluationError, StudyError
from hwopt.evaluators import parse_objectives
from hwopt.study import Study, history, optimize
from hwopt.strategies import get_strategy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "strategies"))
from test_contract import ToyEvaluator  # noqa: E402


def make(path, objectives=("f1:min", "f2:min")):
    objs, cons = parse_objectives(list(objectives))
    return Study.create(path, objs, cons, settings={"note": "test"})


def test_trials_keep_config_hash_measurements_and_provenance(tmp_path):
    path = tmp_path / "s.db"
    st = make(path)
    optimize(st, ToyEvaluator(fail_every=5), get_strategy("random", seed=1), 12)
    st2 = Study.load(path)
    assert st2.settings["note"] == "test"
    assert [o.name for o in st2.objectives] == ["f1", "f2"]
    trials = st2.trials
    assert len(trials) == 12
    ok = [t for t in trials if t.ok]
    bad = [t for t in trials if not t.ok]
    assert bad and all(t.state == "FAIL" and "simulated" in t.fail_reason for t in bad)
    for t in ok:
        assert set(t.measurements) == {"f1", "f2", "f3"}
        assert t.values == [t.measurements["f1"], t.measurements["f2"]]
        assert len(t.config_hash) == 16 and t.duration_s is not None and t.duration_s >= 0
        assert t.strategy == "random" and t.seed == 1 and t.hwopt_version
        assert ToyEvaluator().space.hash(t.config) == t.config_hash


def test_study_opens_in_plain_optuna_with_flat_params(tmp_path):
    path = tmp_path / "s.db"
    optimize(make(path), ToyEvaluator(), get_strategy("random", seed=0), 5)
    st = optuna.load_study(study_name="hwopt", storage=f"sqlite:///{path}")
    t = st.trials[0]
    assert "x[0]" in t.params and "op" in t.params
    assert st.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    if t.params["op"] != "c":
        assert "extra" not in t.params  # inactive parameters are not params


def test_creating_over_an_existing_study_is_refused(tmp_path):
    path = tmp_path / "s.db"
    make(path)
    with pytest.raises(StudyError, match="hwopt resume"):
        make(path)


def test_loading_a_missing_study_is_one_clear_error(tmp_path):
    with pytest.raises(StudyError, match="does not exist"):
        Study.load(tmp_path / "nope.db")


def test_rerunning_optimize_never_repeats_a_config(tmp_path):
    path = tmp_path / "s.db"
    st = make(path)
    optimize(st, ToyEvaluator(), get_strategy("nsga2", seed=0, population=10), 25)
    ev = ToyEvaluator()
    n = optimize(Study.load(path), ev, get_strategy("nsga2", seed=0, population=10), 40)
    assert n == 15 and ev.calls == 15
    hashes = [t.config_hash for t in Study.load(path).trials]
    assert len(hashes) == len(set(hashes)) == 40
    records, configs, F, G = history(Study.load(path))
    assert F.shape == (40, 2)


def test_enqueued_configs_are_evaluated_first_once_and_warm_start_the_strategy(tmp_path):
    path = tmp_path / "s.db"
    ev = ToyEvaluator()
    refs = [{"x": [9] * 8, "op": "a", "extra": None}, {"x": [0] * 8, "op": "b", "extra": None}]
    strat = get_strategy("linas+", seed=0, initial=4, batch=3)
    optimize(make(path), ev, strat, 8, enqueue=refs + refs[:1])
    trials = Study.load(path).trials
    assert [t.config for t in trials[:2]] == [ev.space.canonical(c) for c in refs]
    assert [t.strategy for t in trials] == ["reference"] * 2 + ["linas+"] * 6 and len(trials) == 8
    assert len(strat._X) == 8  # told to the strategy as a warm start, counted in the budget
    ev2 = ToyEvaluator()
    assert optimize(Study.load(path), ev2, get_strategy("random", seed=0), 10, enqueue=refs) == 2
    assert ev2.calls == 2  # resumed: the references are not measured again
    ev3 = ToyEvaluator()  # a budget smaller than the queue: the queue stops at the budget
    assert optimize(make(tmp_path / "t.db"), ev3, get_strategy("random", seed=0), 1, enqueue=refs) == 1


def test_a_weight_sharing_search_measures_the_largest_and_smallest_sub_network_first():
    pytest.importorskip("torch")
    from hwopt.evaluators import count_macs
    from hwopt.supernets import get_space

    for name in ("ofa-mbv3", "ofa-resnet50", "demo", "transformer"):
        space = get_space(name)
        largest, smallest = space.reference_configs()
        macs = [count_macs(space.architecture(c), space.input_shape(c, 1)) for c in (largest, smallest)]
        for cfg in space.space.sample(5, seed=0):
            assert macs[1] <= count_macs(space.architecture(cfg), space.input_shape(cfg, 1)) <= macs[0]
    assert get_space("nb201").reference_configs() == []  # unordered choices: no largest network


def _complete(path) -> int:
    try:
        with sqlite3.connect(path, timeout=5) as con:
            return con.execute("select count(*) from trials where state='COMPLETE'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_kill_and_resume_in_a_subprocess(tmp_path):
    """SIGKILL halfway, then resume: exactly `budget` distinct complete configs, none lost or repeated."""
    path = tmp_path / "kill.db"
    budget = 500
    cmd = [sys.executable, "-m", "hwopt", "search", "--benchmark", "nasbench-graph:cora",
           "--objectives", "accuracy:max", "latency:min", "--strategy", "nsga2", "--budget", str(budget),
           "--seed", "0", "--study", str(path), "--no-report"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and _complete(path) < budget // 5:
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the search finished before it could be killed; raise the budget"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = _complete(path)
    assert 0 < killed_at < budget
    before = {t.config_hash: t.measurements for t in Study.load(path).trials}
    res = subprocess.run([sys.executable, "-m", "hwopt", "resume", str(path), "--no-report"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    trials = Study.load(path).trials
    hashes = [t.config_hash for t in trials if t.state == "COMPLETE"]
    assert len(hashes) == budget and len(set(hashes)) == budget
    after = {t.config_hash: t.measurements for t in trials}
    assert all(after[h] == m for h, m in before.items())  # nothing completed was lost or redone


def test_process_pool_executor_records_every_result_once(tmp_path):
    from hwopt.benchmarks import get_benchmark
    from hwopt.study import ProcessExecutor

    bench = get_benchmark("nasbench-graph:cora")
    objs, cons = parse_objectives(["accuracy:max", "latency:min"])
    st = Study.create(tmp_path / "p.db", objs, cons)
    optimize(st, bench, get_strategy("nsga2", seed=0, population=10), 30, executor=ProcessExecutor(2))
    hashes = [t.config_hash for t in st.trials]
    assert len(hashes) == len(set(hashes)) == 30
    assert all(t.ok for t in st.trials)


class FailsOnB(ToyEvaluator):
    """Fails on every config with op 'b' (whichever process evaluates it)."""

    def evaluate(self, config):
        if config["op"] == "b":
            raise EvaluationError("simulated measurement failure")
        return super().evaluate(config)


def test_ray_executor_records_every_result_once_and_failures_as_trials(tmp_path):
    """A local Ray cluster: the same configs as inline evaluation, each once; a failing evaluation
    is a failed trial with its reason."""
    pytest.importorskip("ray")
    from hwopt.study import RayExecutor

    inline = make(tmp_path / "i.db")
    optimize(inline, FailsOnB(), get_strategy("random", seed=3), 16)
    st = make(tmp_path / "r.db")
    ex = RayExecutor(2)
    optimize(st, FailsOnB(), get_strategy("random", seed=3), 16, executor=ex)
    hashes = [t.config_hash for t in st.trials]
    assert len(hashes) == len(set(hashes)) == 16
    assert set(hashes) == {t.config_hash for t in inline.trials}
    failed = [t for t in st.trials if not t.ok]
    assert failed and all("simulated measurement failure" in t.fail_reason for t in failed)
    import ray

    assert not ray.is_initialized()  # the local cluster it started is shut down with the search


def test_an_unreachable_ray_cluster_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("ray")
    from hwopt.cli import main

    code = main(["search", "--benchmark", "nasbench-graph:cora", "--budget", "5", "--study", str(tmp_path / "s.db"),
                 "--ray-address", "ray://127.0.0.1:1", "--no-report"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: cannot start or join a Ray cluster at 'ray://127.0.0.1:1'"), err


WORKER = """
import os, sys, time
sys.path.insert(0, {strategies!r})
from test_contract import ToyEvaluator
from hwopt.strategies import get_strategy
from hwopt.study import Study, optimize

class Slow(ToyEvaluator):
    def evaluate(self, config):
        time.sleep(0.01)
        return super().evaluate(config)

open({ready!r} + str(os.getpid()), "w").close()
while not os.path.exists({go!r}):  # start together, so that the two really overlap
    time.sleep(0.01)
optimize(Study.load({db!r}), Slow(), get_strategy("random", seed=0), 120)
"""


def test_two_workers_on_one_study_never_evaluate_a_config_twice(tmp_path):
    """Two processes on one SQLite study at once, proposing the same configs (same seed): every
    config evaluated once, both worked, the budget reached (plus at most what one had in flight)."""
    db = str(tmp_path / "s.db")
    make(db)
    code = WORKER.format(strategies=os.path.join(os.path.dirname(__file__), "..", "strategies"),
                         ready=str(tmp_path / "ready-"), go=str(tmp_path / "go"), db=db)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(2)]
    deadline = time.time() + 120
    while len(list(tmp_path.glob("ready-*"))) < 2 and time.time() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    st = Study.load(db)
    hashes = [t.config_hash for t in st.trials]
    assert len(hashes) == len(set(hashes)) and 120 <= len(hashes) <= 130
    workers = {t.user_attrs["hwopt"].get("worker") for t in st.optuna_study.trials}
    assert len(workers) == 2


def test_a_killed_workers_claims_lapse(tmp_path):
    from hwopt.study._claims import Claims

    url = f"sqlite:///{tmp_path / 'c.db'}"
    a, b = Claims(url, "s", lease_s=0.3), Claims(url, "s", lease_s=0.3)
    assert a.claim("h1") and a.claim("h1") and not b.claim("h1")
    a._stop.set()  # a is "killed": no more renewals
    time.sleep(0.5)
    assert b.claim("h1") and not a.claim("h1")
    b.close()
    assert a.claim("h1")  # released on close
    b2 = Claims(url, "s", lease_s=0.3)
    a.done("h1")
    a._stop.set()
    time.sleep(0.5)
    assert not b2.claim("h1")  # a finished config's claim never lapses
    a.close()
    assert not b2.claim("h1")  # nor is it released
    b2.close()


def test_an_evaluator_the_ray_workers_cannot_load_is_one_clear_error(tmp_path, monkeypatch):
    """An evaluator class from a module only this process can import: every task would fail the
    same way, so the search stops with one error naming the missing module."""
    pytest.importorskip("ray")
    import importlib

    from hwopt.study import RayExecutor

    (tmp_path / "only_here.py").write_text(
        "from test_contract import ToyEvaluator\n\nclass Here(ToyEvaluator):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    evaluator = importlib.import_module("only_here").Here()
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])  # hidden from the workers
    ex = RayExecutor(1)
    try:
        with pytest.raises(ConfigError, match="cannot be loaded on the Ray workers.*only_here"):
            list(ex.run(evaluator, [evaluator.space.sample(1, seed=0)[0]]))
    finally:
        ex.close()
