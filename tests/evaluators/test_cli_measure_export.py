"""``hwopt measure`` and ``hwopt export``: outputs, JSON form, one-line errors with exit 2."""

from __future__ import annotations

import datetime as dt
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from hwopt.cli import main  # noqa: E402

CFG = json.dumps({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128})
TINY = {"full_epochs": 1, "elastic_epochs": 1, "batch_size": 64, "random_subnets": 1, "train_images": 128}
FAST = ["--evaluator-option", "max_time_s=0.3", "--evaluator-option", "min_repeats=5"]


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_error(err, *needles):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


def test_measure_space_json(capsys):
    code, out, _ = run(capsys, "measure", "--space", "ofa-mbv3", "--config", CFG, "--json", *FAST)
    assert code == 0
    res = json.loads(out)
    assert list(res) == ["macs", "params", "latency"]
    assert res["macs"] > 0 and res["params"] > 0
    assert set(res["latency"]) - {"load"} == {"median", "p10", "p90", "cv", "n", "unit"}


def test_measure_text_and_onnx_file(capsys, tmp_path):
    code, out, _ = run(capsys, "measure", "--space", "ofa-mbv3", "--config", CFG, "--metrics", "macs", "params")
    assert code == 0 and out.splitlines()[0].startswith("macs") and "," in out
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 2))
    path = tmp_path / "m.onnx"
    from hwopt.evaluators._latency import onnx_bytes

    path.write_bytes(onnx_bytes(model, torch.zeros(1, 3, 8, 8)))
    code, out, _ = run(capsys, "measure", str(path), "--json", *FAST)
    res = json.loads(out)
    assert code == 0 and res["params"] == sum(p.numel() for p in model.parameters())
    assert res["latency"]["unit"] == "ms"


@pytest.mark.parametrize("argv, needles", [
    (["measure"], ["needs an ONNX file"]),
    (["measure", "--space", "ofa-mbv3"], ["--config"]),
    (["measure", "--space", "nope", "--config", "{}"], ["unknown space 'nope'"]),
    (["measure", "--space", "ofa-mbv3", "--config", "{bad"], ["not valid JSON"]),
    (["measure", "--space", "ofa-mbv3", "--config", CFG, "--metrics", "accuracy"], ["--weights"]),
    (["measure", "--space", "ofa-mbv3", "--config", CFG, "--metrics", "energy"], ["unknown metric 'energy'"]),
    (["measure", "--space", "ofa-mbv3", "--config", CFG, "--weights", "/no/such.pth", "--metrics", "macs"],
     ["does not exist"]),
    (["measure", "/no/model.onnx"], ["does not exist"]),
    (["measure", "--space", "ofa-mbv3", "--config", CFG, "--threads", "0"], ["must be at least 1"]),
    (["export", "/no/study.db", "--trial", "0", "--out", "x.onnx"], ["does not exist"]),
])
def test_errors_are_one_line_exit_2(capsys, argv, needles):
    try:
        code, _, err = run(capsys, *argv)
    except SystemExit as exc:  # argparse errors
        code, err = exc.code, capsys.readouterr().err
    assert code == 2
    one_error(err, *needles)


def test_measure_garbage_onnx(capsys, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    code, _, err = run(capsys, "measure", str(bad))
    assert code == 2
    one_error(err, "not a valid ONNX model")


@pytest.fixture()
def demo_study(tmp_path, monkeypatch):
    from hwopt.evaluators import Objective
    from hwopt.study import Study

    monkeypatch.setenv("HWOPT_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "s.db"
    st = Study.create(str(path), [Objective("macs", "min")],
                      settings={"space": "demo", "space_options": {"recipe": TINY}})
    now = dt.datetime.now(dt.timezone.utc)
    cfg = {"ks": [3, 5, 7] * 3, "e": [2, 4, 6] * 3, "d": [1, 2, 3], "r": 16}
    st.add(cfg, "h0", {"macs": 1.0}, started=now, finished=now)
    return path


def test_export_cli(capsys, tmp_path, demo_study):
    code, out, _ = run(capsys, "export", str(demo_study), "--trial", "0", "--format", "onnx", "--out",
                       str(tmp_path / "best.onnx"))
    assert code == 0 and "max |ONNX Runtime vs PyTorch|" in out and (tmp_path / "best.onnx").is_file()
    code, out, _ = run(capsys, "export", str(demo_study), "--trial", "0", "--format", "torch", "--out",
                       str(tmp_path / "best.pt"), "--json")
    s = json.loads(out)
    assert code == 0 and s["state_dict_identical"] and (tmp_path / "best.json").is_file()
    code, _, err = run(capsys, "export", str(demo_study), "--trial", "7", "--out", str(tmp_path / "x.onnx"))
    assert code == 2
    one_error(err, "no trial 7")


def test_export_benchmark_study_is_refused(capsys, tmp_path):
    from hwopt.evaluators import Objective
    from hwopt.study import Study

    path = tmp_path / "b.db"
    Study.create(str(path), [Objective("accuracy", "max")], settings={"benchmark": "nb201:raspi4"})
    code, _, err = run(capsys, "export", str(path), "--trial", "0", "--out", str(tmp_path / "x.onnx"))
    assert code == 2
    one_error(err, "not a model space")
