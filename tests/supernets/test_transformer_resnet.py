"""transformer and ofa-resnet50: weight inheritance, counts, checkpoint layout."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hwopt.errors import CheckpointError  # noqa: E402
from hwopt.evaluators import count_macs, count_params  # noqa: E402
from hwopt.supernets import get_space  # noqa: E402

TINY_T = {"full_epochs": 1, "elastic_epochs": 1, "train_images": 128}


@pytest.fixture()
def transformer(demo_cache, monkeypatch):
    monkeypatch.setenv("HWOPT_CACHE_DIR", str(demo_cache))
    return get_space("transformer", recipe=TINY_T)


def test_transformer_subnet_equals_supernet(transformer):
    net = transformer.supernet
    cfg = {"layers": 3, "hidden": 48, "heads": [2, 4, 1, None], "ffn": [64, 32, 128, None]}
    sub = transformer.build(cfg)
    x = torch.randn(2, 16, 4)
    with torch.no_grad():
        assert torch.allclose(net(x, cfg), sub(x), atol=1e-5)
    assert len(sub.layers) == 3 and sub.layers[1].attn.q.weight.shape == (4 * 16, 48)
    assert sub.layers[2].fc1.weight.shape == (128, 48)
    from hwopt.supernets._transformer_nn import subnet_tensors

    t = subnet_tensors(net, cfg)["layers.0.fc1.weight"]
    assert t.untyped_storage().data_ptr() == net.layers[0].fc1.weight.untyped_storage().data_ptr()


def test_transformer_macs_by_hand(transformer):
    cfg = {"layers": 1, "hidden": 32, "heads": [2, None, None, None], "ffn": [64, None, None, None]}
    t, e, h, d, f = 16, 32, 2, 16, 64
    expected = t * 4 * e + t * e * h * d * 3 + h * t * t * d * 2 + t * h * d * e + t * e * f * 2 + e * 10
    assert count_macs(transformer.architecture(cfg), (1, t, 4)) == expected


def test_transformer_evaluator(transformer):
    ev = transformer.make_evaluator(["accuracy", "params"])
    res = ev.evaluate(transformer.space.sample(1, seed=0)[0])
    assert 0 <= res["accuracy"] <= 100 and res["params"] > 0


def test_ofa_resnet50_layout_and_extraction(tmp_path):
    space = get_space("ofa-resnet50")
    sd = space.supernet.state_dict()
    assert tuple(sd["input_stem.1.conv.conv.conv.weight"].shape) == (32, 32, 3, 3)
    assert tuple(sd["blocks.0.downsample.conv.conv.weight"].shape) == (256, 64, 1, 1)
    assert tuple(sd["classifier.linear.linear.weight"].shape) == (1000, 2048)
    assert not any(k.startswith("blocks.18.") for k in sd)
    cfg = {"d": [0, 1, 0, 2, 0], "e": [0.25] * 18, "w": [0, 1, 2, 0, 1, 2], "r": 128}
    sub = space.build(cfg)
    assert len(sub.input_stem) == 2  # d[0] < 2 skips the stem's residual conv
    assert len(sub.blocks) == 2 + 3 + 4 + 4 and sub.blocks[0].conv1.conv.weight.shape == (64, 48, 1, 1)
    assert sub(torch.randn(1, 3, 128, 128)).shape == (1, 1000)
    ckpt = tmp_path / "ofa_resnet50.pth"
    torch.save({"state_dict": sd}, ckpt)
    loaded = get_space("ofa-resnet50", weights=str(ckpt))
    assert torch.equal(loaded.build(cfg).blocks[3].conv2.conv.weight, sub.blocks[3].conv2.conv.weight)
    del sd["blocks.5.conv2.bn.bn.weight"]
    torch.save({"state_dict": sd}, ckpt)
    with pytest.raises(CheckpointError, match="missing key 'blocks.5.conv2.bn.bn.weight'"):
        get_space("ofa-resnet50", weights=str(ckpt)).supernet


def test_ofa_resnet50_largest_and_smallest_counts():
    space = get_space("ofa-resnet50")
    big = {"d": [2] * 5, "e": [0.35] * 18, "w": [2] * 6, "r": 224}
    small = {"d": [0] * 5, "e": [0.2] * 18, "w": [0] * 6, "r": 224}
    with torch.device("meta"):
        mb, ms = space.architecture(big), space.architecture(small)
    assert count_macs(mb, (1, 3, 224, 224)) > 5 * count_macs(ms, (1, 3, 224, 224))
    assert count_params(mb) > count_params(ms)


def test_a_search_measures_the_largest_and_smallest_sub_network_first(transformer, tmp_path):
    from hwopt.api import search

    st = search(study=str(tmp_path / "s.db"), space="transformer", space_options={"recipe": TINY_T},
                objectives=["params:min", "macs:min"], strategy="random", budget=4)
    trials = st.trials
    assert [t.strategy for t in trials] == ["reference", "reference", "random", "random"]
    assert [t.config for t in trials[:2]] == transformer.reference_configs()
    assert trials[0].measurements["params"] == max(t.measurements["params"] for t in trials)
    st = search(study=str(tmp_path / "t.db"), space="transformer", space_options={"recipe": TINY_T},
                objectives=["params:min"], strategy="random", budget=2, references=False)
    assert [t.strategy for t in st.trials] == ["random", "random"]
