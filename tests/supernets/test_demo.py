"""demo: training cache keyed by a content hash, trained sub-networks, registry entry."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hwopt.errors import ConfigError  # noqa: E402
from hwopt.supernets import SPACES, get_space  # noqa: E402
from hwopt.supernets import demo as demo_mod  # noqa: E402


def test_training_is_cached_by_content_hash(demo_cache, monkeypatch, tiny_recipe):
    TINY_RECIPE = tiny_recipe
    monkeypatch.setenv("HWOPT_CACHE_DIR", str(demo_cache))
    calls = []
    real = demo_mod.train_supernet
    monkeypatch.setattr(demo_mod, "train_supernet", lambda *a, **k: calls.append(1) or real(*a, **k))
    net1, path1, info1 = demo_mod.load_or_train(TINY_RECIPE)
    assert path1.is_file() and path1.parent == demo_cache / "demo"
    net2, path2, _ = demo_mod.load_or_train(TINY_RECIPE)
    assert path2 == path1
    n_after_two = len(calls)
    assert n_after_two <= 1  # the second call loaded the cache
    for (k, a), b in zip(net1.state_dict().items(), net2.state_dict().values()):
        assert torch.equal(a, b), k
    other = {**TINY_RECIPE, "seed": 1}
    assert demo_mod.recipe_hash({**demo_mod.DEFAULT_RECIPE, **other}) != demo_mod.recipe_hash(
        {**demo_mod.DEFAULT_RECIPE, **TINY_RECIPE})
    assert "train_seconds" in info1


def test_hash_covers_code(monkeypatch, tmp_path):
    base = demo_mod.recipe_hash(demo_mod.DEFAULT_RECIPE)
    fake = tmp_path / "pkg"
    fake.mkdir()
    for name in demo_mod._CODE_FILES:
        (fake / name).write_bytes((demo_mod.Path(demo_mod.__file__).parent / name).read_bytes())
    (fake / "_mbv3_nn.py").write_text((fake / "_mbv3_nn.py").read_text() + "\n# changed\n")
    monkeypatch.setattr(demo_mod, "__file__", str(fake / "demo.py"))
    assert demo_mod.recipe_hash(demo_mod.DEFAULT_RECIPE) != base


def test_demo_evaluator_one_pass(tiny_demo):
    ev = tiny_demo.make_evaluator(["accuracy", "latency", "macs"], runtime="onnxruntime", batch_size=1,
                                  max_time_s=0.2, min_repeats=5, warmup_s=0.0)
    small = {"ks": [3] * 9, "e": [2] * 9, "d": [1, 1, 1], "r": 12}
    big = {"ks": [7] * 9, "e": [6] * 9, "d": [3, 3, 3], "r": 24}
    a, b = ev.evaluate(small), ev.evaluate(big)
    assert list(a) == ["accuracy", "latency", "macs"]
    assert 0 <= a["accuracy"] <= 100
    assert b["macs"] > 10 * a["macs"]
    assert set(a["latency"]) - {"load"} == {"median", "p10", "p90", "cv", "n", "unit"}
    ctx = ev.context()
    assert ctx["runtime"] == "onnxruntime" and ctx["machine"]["versions"]["torch"]
    assert ctx["data"]["dataset"] == "sklearn digits"


def test_demo_rejects_foreign_options(tiny_demo):
    with pytest.raises(ConfigError, match="drop --data"):
        tiny_demo.make_evaluator(["accuracy"], data="/some/dir")
    with pytest.raises(ConfigError, match="unknown demo recipe key"):
        get_space("demo", recipe={"epochs": 3})


def test_registry_lists_spaces():
    for name in ("demo", "ofa-mbv3"):
        assert name in SPACES.names()
        assert SPACES.get(name).name == name
