"""Export: ONNX verified against PyTorch; state dict + config rebuild the module exactly."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from hwopt.errors import CheckpointError, ConfigError  # noqa: E402
from hwopt.report._export import export_model, load_exported  # noqa: E402
from hwopt.supernets import get_space  # noqa: E402

OFA_CFG = {"ks": [3, 5, 7, 3] * 5, "e": [3, 4, 6, 4] * 5, "d": [2, 3, 4, 2, 3], "r": 128}


@pytest.fixture(scope="module")
def ofa():
    return get_space("ofa-mbv3")


def test_onnx_export_matches_pytorch(tmp_path, ofa):
    out = tmp_path / "sub.onnx"
    s = export_model(ofa, OFA_CFG, "onnx", out)
    assert out.is_file() and s["verified"] and s["max_abs_diff"] <= 1e-4
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape[0] == "batch"  # dynamic batch axis
    y = sess.run(None, {"input": torch.randn(3, 3, 128, 128).numpy()})[0]
    assert y.shape == (3, 1000)


def test_torch_export_rebuilds_exactly(tmp_path, ofa):
    out = tmp_path / "sub.pt"
    s = export_model(ofa, OFA_CFG, "torch", out)
    assert s["state_dict_identical"] and s["max_abs_diff"] == 0.0
    meta = json.loads((tmp_path / "sub.json").read_text())
    assert meta["space"] == "ofa-mbv3" and meta["config"]["d"] == OFA_CFG["d"] and meta["space_options"]["width"] == 1.0
    model, meta2 = load_exported(out)
    ref = ofa.build(OFA_CFG)
    for (k, a), b in zip(ref.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert torch.equal(model(x), ref(x))


def test_demo_export(tmp_path, demo_cache, monkeypatch):
    monkeypatch.setenv("HWOPT_CACHE_DIR", str(demo_cache))
    from hwopt.supernets.demo import DemoSpace

    space = DemoSpace(recipe={"full_epochs": 1, "elastic_epochs": 1, "batch_size": 64, "random_subnets": 1,
                              "train_images": 128})
    cfg = {"ks": [3, 5, 7] * 3, "e": [2, 4, 6] * 3, "d": [1, 2, 3], "r": 20}
    s = export_model(space, cfg, "onnx", tmp_path / "d.onnx")
    assert s["verified"] and s["input_shape"] == [1, 1, 20, 20]
    s = export_model(space, cfg, "torch", tmp_path / "d.pt")
    assert s["state_dict_identical"]


def test_export_errors(tmp_path, ofa):
    with pytest.raises(ConfigError, match="valid: onnx, torch"):
        export_model(ofa, OFA_CFG, "tflite", tmp_path / "x")
    with pytest.raises(ConfigError, match="is a directory"):
        export_model(ofa, OFA_CFG, "onnx", tmp_path)
    junk = tmp_path / "junk.pt"
    torch.save({"a": torch.zeros(1)}, junk)
    with pytest.raises(CheckpointError, match="not an hwopt export"):
        load_exported(junk)
