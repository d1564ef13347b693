"""Every bad input is one ``error:`` line on stderr and exit status 2 — never a traceback."""

import subprocess
import sys

import pytest

from hwopt.cli import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def assert_one_error_line(err: str, *needles: str):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0]


@pytest.mark.parametrize("argv, needles", [
    (["search", "--benchmark", "nasbench-101:x"], ["unknown benchmark", "nb201"]),
    (["search", "--benchmark", "nasbench-graph:cora", "--strategy", "bogus"], ["unknown strategy 'bogus'", "nsga2"]),
    (["search", "--benchmark", "nasbench-graph:cora", "--objectives", "foo:max"], ["unknown metric 'foo'", "accuracy"]),
    (["search", "--benchmark", "nasbench-graph:cora", "--objectives", "accuracy:up"], ["cannot parse objective"]),
    (["search", "--benchmark", "nasbench-graph:cora", "--objectives", "accuracy"], ["needs a direction"]),
    (["search", "--benchmark", "nasbench-graph:cora", "--strategy-option", "oops"], ["KEY=VALUE"]),
    (["search", "--space", "no-such-space"], ["unknown space"]),
    (["resume", "/nonexistent/study.db"], ["does not exist"]),
])
def test_bad_input_is_one_error_line(capsys, tmp_path, argv, needles):
    code, out, err = run_cli(capsys, *argv, *([] if argv[0] == "resume" else ["--study", str(tmp_path / "s.db")]))
    assert code == 2
    assert_one_error_line(err, *needles)


def test_malformed_space_file_for_a_table_benchmark(capsys, tmp_path):
    table = tmp_path / "t.csv"
    table.write_text('config,lat\n"{""a"": 1}",1.0\n')
    space = tmp_path / "space.yaml"
    space.write_text("parameters:\n  - name: a\n    type: integr\n")
    code, _, err = run_cli(capsys, "search", "--benchmark", f"table:{table}", "--space", str(space),
                           "--objectives", "lat:min", "--study", str(tmp_path / "s.db"))
    assert code == 2
    assert_one_error_line(err, "space.yaml", "unknown type 'integr'")


@pytest.mark.parametrize("command", [["search", "--space"], ["spaces"]])
def test_malformed_space_file_given_directly(capsys, tmp_path, command):
    space = tmp_path / "space.yaml"
    space.write_text("parameters:\n  - name: k\n    type: categorical\n    choices: []\n")
    code, _, err = run_cli(capsys, *command, str(space), *(["--study", str(tmp_path / "s.db")] if command[0] == "search" else []))
    assert code == 2
    assert_one_error_line(err, "space.yaml", "parameters[0] ('k')", "non-empty")


def test_valid_space_file_is_shown(capsys, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("parameters:\n  - {name: k, type: categorical, choices: [3, 5, 7], length: 4, active_when: 'i < d'}\n"
                     "  - {name: d, type: integer, low: 1, high: 4}\n")
    code, out, _ = run_cli(capsys, "spaces", str(space))
    assert code == 0 and "active when i < d" in out


def test_usage_errors_are_one_line_exit_2(tmp_path):
    res = subprocess.run([sys.executable, "-m", "hwopt", "search", "--budget", "zero"], capture_output=True, text=True)
    assert res.returncode == 2
    assert_one_error_line(res.stderr, "--budget")


def test_search_then_report_then_resume_with_larger_budget(tmp_path):
    study = tmp_path / "s.db"
    res = subprocess.run([sys.executable, "-m", "hwopt", "search", "--benchmark", "nasbench-graph:cora",
                          "--objectives", "accuracy:max", "latency:min", "--budget", "40", "--study", str(study),
                          "--out", str(tmp_path / "rep")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "40 complete" in res.stdout
    assert (tmp_path / "rep" / "pareto.csv").is_file()
    res = subprocess.run([sys.executable, "-m", "hwopt", "resume", str(study), "--budget", "60", "--no-report"],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "60 complete" in res.stdout


def test_output_piped_into_head_ends_quietly(monkeypatch, capsys):
    """`hwopt ... | head -1`: a reader that closes the pipe early is not an error."""
    import hwopt.cli._hardware as hardware_cli

    def closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(hardware_cli, "run", closed_pipe)
    code, _, err = run_cli(capsys, "hardware", "list")
    assert code == 0 and err == ""
