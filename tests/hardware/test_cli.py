"""CLI: hardware list/show, estimate (and its errors), costmodel evaluate/calibrate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hwopt.cli import main

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _data_dir() -> Path:
    return Path(os.environ.get("HWOPT_DATA_DIR", Path(__file__).parents[2] / ".." / "shared" / "data"))


def test_hardware_list_and_show(capsys):
    assert main(["hardware", "list"]) == 0
    out = capsys.readouterr().out
    assert "Raspberry-Pi-4" in out and "local" in out
    assert main(["hardware", "show", "pixel2"]) == 0
    assert "source:" in capsys.readouterr().out
    assert main(["hardware", "show", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown hardware 'nope'") and err.count("\n") == 1


def test_estimate_space_config(capsys):
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "raspi4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    lo, hi = d["interval_ms"]
    assert lo < d["latency_ms"] < hi and d["energy_mj"] > 0 and d["ops"]


def test_estimate_names_its_runtime(capsys):
    """The spec-sheet estimate says which runtime it assumed; eager runs every op (more ops listed,
    a longer latency) and an unknown runtime is one error line."""
    base = ["estimate", "nb201", "--config", ARCH, "--hardware", "titan_x", "--top", "1000"]
    out = {}
    for rt in ("compiled", "eager"):
        assert main(base + ["--runtime", rt, "--json"]) == 0
        out[rt] = json.loads(capsys.readouterr().out)
        assert out[rt]["runtime"] == rt
    assert out["eager"]["latency_ms"] > out["compiled"]["latency_ms"]
    assert len(out["eager"]["ops"]) > len(out["compiled"]["ops"])
    assert main(base + ["--runtime", "eager"]) == 0
    assert "spec sheet only, eager runtime: unfused graph" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(base + ["--runtime", "jit"])
    assert capsys.readouterr().err.count("invalid choice: 'jit'") == 1


def test_estimate_unknown_hardware_one_error_line(capsys):
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "no-such-gpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown hardware 'no-such-gpu'") and err.count("\n") == 1


@pytest.mark.parametrize("content", [b"not an onnx model", b""])
def test_estimate_broken_onnx_one_error_line(tmp_path, capsys, content):
    pytest.importorskip("onnx")
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(content)
    assert main(["estimate", str(bad), "--hardware", "a100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "broken.onnx" in err and err.count("\n") == 1


def test_estimate_missing_onnx(capsys):
    assert main(["estimate", "/nonexistent/m.onnx", "--hardware", "a100"]) == 2
    assert "does not exist" in capsys.readouterr().err


def _synthetic_table(tmp_path: Path) -> Path:
    """Long-format CSV: NB201 archs on two devices with latencies from a hidden per-op cost."""
    import pandas as pd

    from hwopt.supernets import get_space
    from hwopt.supernets._cells import config_to_arch

    space = get_space("nb201")
    cfgs = space.space.sample(80, seed=2)
    rows = []
    rng = np.random.default_rng(0)
    for c in cfgs:
        g = space.op_graph(c).fused()
        base = sum(o.flops for o in g.ops) / 2e7 + 0.01 * len(g.ops)
        for dev, k in (("pi", 1.0), ("other", 3.0)):
            rows.append({"arch": config_to_arch(c), "device": dev, "batch_size": None,
                         "latency_ms": k * base * float(np.exp(rng.normal(0, 0.03)))})
    path = tmp_path / "t.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_costmodel_evaluate_json(tmp_path, capsys, monkeypatch):
    from hwopt.hardware import _calibration, _features

    monkeypatch.setattr(_features, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(_calibration, "calibrations_dir", lambda: tmp_path / "cal")
    table = _synthetic_table(tmp_path)
    args = ["costmodel", "evaluate", "--table", str(table), "--space", "nb201", "--metric", "latency_ms",
            "--hardware", "raspi4", "--device", "pi", "--seed", "1", "--json"]
    assert main(args + ["--calibrate", "20", "--save", "pi-cal"]) == 0
    cal = json.loads(capsys.readouterr().out)
    assert set(cal) >= {"spearman", "mape", "within_10pct", "coverage_80", "n"}
    assert main(args + ["--calibrate", "0"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert cal["n"] + 20 == spec["n"]
    assert cal["mape"] < spec["mape"] and cal["spearman"] > 0.9
    # the saved calibration is reused by estimate
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "raspi4", "--calibration", "pi-cal",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["calibration"] == "pi-cal" and d["runtime"] is None
    # a calibration learnt its runtime: --runtime beside it changes nothing, and says so
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "raspi4", "--calibration", "pi-cal",
                 "--runtime", "eager", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["latency_ms"] == d["latency_ms"] and "--runtime eager is not used" in out.err
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "pixel2", "--calibration", "pi-cal"]) == 2
    assert "fitted for hardware" in capsys.readouterr().err
    # long table without --device: one error line
    no_device = [a for a in args if a not in ("--device", "pi")]
    assert main(no_device + ["--calibrate", "20"]) == 2
    assert "--device" in capsys.readouterr().err


def test_costmodel_evaluate_on_shared_rows(tmp_path, capsys, monkeypatch):
    """A slice of the shared NB201 pixel2 table: the command runs and calibration helps."""
    import pandas as pd

    from hwopt.hardware import _features

    path = _data_dir() / "nb201" / "latency.csv.gz"
    if not path.is_file():
        pytest.skip(f"shared data not found at {path} (set HWOPT_DATA_DIR)")
    monkeypatch.setattr(_features, "cache_dir", lambda: tmp_path / "cache")
    df = pd.read_csv(path, dtype={"batch_size": "Int64"}, nrows=27 * 400)
    small = tmp_path / "raspi.csv"
    df[df.device == "raspi4"].to_csv(small, index=False)
    base = ["costmodel", "evaluate", "--table", str(small), "--space", "nb201", "--hardware", "raspi4", "--json"]
    assert main(base + ["--calibrate", "20"]) == 0
    cal = json.loads(capsys.readouterr().out)
    assert main(base + ["--calibrate", "0"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert cal["mape"] < spec["mape"]
    assert cal["n"] + 20 == spec["n"]
    assert main(base + ["--calibrate", "0", "--runtime", "eager"]) == 0
    eager = json.loads(capsys.readouterr().out)
    assert eager["n"] == spec["n"] and eager["spearman"] != spec["spearman"]


def _onnx_nets(folder: Path, n: int) -> list[Path]:
    """``n`` small CNNs of growing width and depth, exported to ONNX."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    from hwopt.evaluators._latency import onnx_bytes

    folder.mkdir()
    files = []
    for i in range(n):
        w, d = 16 + 8 * (i % 5), 1 + i % 3
        layers = [torch.nn.Conv2d(3, w, 3, padding=1), torch.nn.ReLU()]
        for _ in range(d):
            layers += [torch.nn.Conv2d(w, w, 3, padding=1), torch.nn.BatchNorm2d(w), torch.nn.ReLU()]
        layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(w, 10)]
        f = folder / f"net{i:02d}.onnx"
        f.write_bytes(onnx_bytes(torch.nn.Sequential(*layers), torch.zeros(1, 3, 48, 48)))
        files.append(f)
    return files


def test_measure_onnx_files_into_a_table_that_calibrates(tmp_path, capsys, monkeypatch):
    """hwopt measure *.onnx --csv → costmodel evaluate / calibrate → estimate, with no model space."""
    import pandas as pd

    from hwopt.hardware import _calibration

    monkeypatch.setattr(_calibration, "calibrations_dir", lambda: tmp_path / "cal")
    files = _onnx_nets(tmp_path / "models", 12)
    table = tmp_path / "measured.csv"
    fast = ["--evaluator-option", "max_time_s=0.3", "--evaluator-option", "min_repeats=5"]
    assert main(["measure", *map(str, files[:8]), "--csv", str(table), *fast]) == 0
    capsys.readouterr()
    # a second call adds only the new files: an interrupted run resumes
    assert main(["measure", *map(str, files), "--csv", str(table), *fast]) == 0
    err = capsys.readouterr().err
    assert "net08" in err and "net03" not in err
    df = pd.read_csv(table)
    assert list(df.model) == [f"models/{f.name}" for f in files]
    assert (df.latency_ms > 0).all() and (df.params > 0).all()
    args = ["costmodel", "evaluate", "--table", str(table), "--hardware", "local", "--seed", "0", "--json"]
    assert main(args + ["--calibrate", "6"]) == 0
    cal = json.loads(capsys.readouterr().out)
    assert main(args + ["--calibrate", "0"]) == 0
    spec = json.loads(capsys.readouterr().out)
    assert cal["n"] == 6 and spec["n"] == 12
    assert cal["mape"] < spec["mape"]
    assert main(["costmodel", "calibrate", "--table", str(table), "--hardware", "local", "--name", "mine"]) == 0
    assert "saved calibration 'mine' (12 models" in capsys.readouterr().out
    assert main(["estimate", str(files[3]), "--hardware", "local", "--calibration", "mine", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    lo, hi = d["interval_ms"]
    assert d["calibration"] == "mine" and lo < d["latency_ms"] < hi


def test_onnx_table_errors_are_one_line(tmp_path, capsys):
    import pandas as pd

    pd.DataFrame({"model": ["missing.onnx"], "latency_ms": [1.0]}).to_csv(tmp_path / "a.csv", index=False)
    pd.DataFrame({"arch": [ARCH], "latency_ms": [1.0]}).to_csv(tmp_path / "b.csv", index=False)
    for name, expected in (("a.csv", "does not exist"), ("b.csv", "--space")):
        assert main(["costmodel", "evaluate", "--table", str(tmp_path / name), "--hardware", "local"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and expected in err and err.count("\n") == 1
    assert main(["measure", str(tmp_path / "x.onnx"), "--space", "nb201"]) == 2
    assert main(["measure", "--space", "nb201", "--config", ARCH, "--csv", str(tmp_path / "c.csv")]) == 2
    assert "--csv is for ONNX files" in capsys.readouterr().err


def test_a_device_without_fp32_defaults_to_its_own_type(capsys):
    """The Edge TPU runs int8 only: estimates on it need no --dtype; fp32 asked for is one error line."""
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "edgetpu", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["dtype"] == "int8" and d["latency_ms"] > 0
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "edgetpu", "--dtype", "fp32"]) == 2
    err = capsys.readouterr().err
    assert "no peak for dtype 'fp32'" in err and err.count("\n") == 1


def test_a_malformed_table_row_names_its_value(tmp_path, capsys):
    """One bad architecture among good ones: one error line that shows the value, not a
    JSON parser's message about position 0."""
    import pandas as pd

    pd.DataFrame({"arch": [ARCH, "resnet18"], "latency_ms": [1.0, 2.0]}).to_csv(tmp_path / "t.csv", index=False)
    assert main(["costmodel", "evaluate", "--table", str(tmp_path / "t.csv"), "--space", "nb201",
                 "--hardware", "raspi4", "--calibrate", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: column 'arch', value 'resnet18': not a NAS-Bench-201 arch string")
    assert err.count("\n") == 1


def test_energy_tables_and_their_calibrations(tmp_path, capsys, monkeypatch):
    """An energy column: the spec-sheet prediction is the power model's energy (the same number
    ``hwopt estimate`` prints), inside its stated interval; a calibration fitted on energy is not
    used for latency estimates; a column the spec sheet cannot predict needs --calibrate N."""
    import pandas as pd

    from hwopt.hardware import _calibration, _features, estimate_graph, resolve_hardware
    from hwopt.hardware._evaluate import read_table, spec_prediction
    from hwopt.supernets import get_space

    monkeypatch.setattr(_features, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(_calibration, "calibrations_dir", lambda: tmp_path / "cal")
    space, target = get_space("nb201"), resolve_hardware("jetson_tx2")
    df = pd.read_csv(_synthetic_table(tmp_path)).query("device == 'pi'")
    df = df.assign(energy_mj=df.latency_ms * 7.0, power_w=7.0).drop(columns="latency_ms")
    df.to_csv(tmp_path / "e.csv", index=False)
    table = read_table(tmp_path / "e.csv", space, "energy_mj")
    rows = np.arange(3)
    pred, lo, hi = spec_prediction(table, table.features(target), rows, target)
    for i in rows:
        e = estimate_graph(space.op_graph(table.configs[i]), target)
        assert pred[i] == pytest.approx(e.energy_mj, rel=1e-9)
        assert lo[i] < e.latency_ms * target.tdp_w and lo[i] < pred[i] < hi[i]
    args = ["costmodel", "evaluate", "--table", str(tmp_path / "e.csv"), "--space", "nb201", "--hardware", "jetson_tx2",
            "--json"]
    assert main(args + ["--metric", "energy_mj", "--calibrate", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(table.y)
    assert main(args + ["--metric", "energy_mj", "--calibrate", "20", "--save", "tx2-energy"]) == 0
    assert json.loads(capsys.readouterr().out)["mape"] < 0.1
    assert main(["estimate", "nb201", "--config", ARCH, "--hardware", "jetson_tx2", "--calibration", "tx2-energy"]) == 2
    assert "fitted on 'energy_mj'" in capsys.readouterr().err
    assert main(args + ["--metric", "power_w", "--calibrate", "0"]) == 2
    err = capsys.readouterr().err
    assert "no spec-sheet estimate for column 'power_w'" in err and err.count("\n") == 1
    assert main(args + ["--calibrate", "0"]) == 2
    assert "--metric" in capsys.readouterr().err
