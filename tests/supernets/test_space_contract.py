"""Contract suite over every registered model space: sample → build → forward → count → reload."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hwopt.evaluators import count_macs, count_params  # noqa: E402
from hwopt.supernets import SPACES, get_space  # noqa: E402

TINY = {"demo": {"recipe": {"full_epochs": 1, "elastic_epochs": 1, "batch_size": 64, "random_subnets": 1,
                            "train_images": 128}},
        "transformer": {"recipe": {"full_epochs": 1, "elastic_epochs": 1, "train_images": 128}}}


@pytest.mark.parametrize("name", SPACES.names())
def test_space_contract(name, demo_cache, monkeypatch):
    monkeypatch.setenv("HWOPT_CACHE_DIR", str(demo_cache))
    space = get_space(name, **TINY.get(name, {}))
    assert space.name == name and space.default_objectives
    cfg = space.space.sample(1, seed=1)[0]
    model = space.build(cfg)
    shape = space.input_shape(cfg, 2)
    with torch.no_grad():
        out = model.eval()(torch.randn(*shape))
    assert out.shape[0] == 2 and torch.isfinite(out).all()
    assert count_macs(model, space.input_shape(cfg, 1)) > 0 and count_params(model) > 0
    # the export contract: a fresh architecture takes the built module's state dict exactly
    fresh = space.architecture(cfg)
    fresh.load_state_dict(model.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.allclose(fresh.eval()(torch.ones(*shape)), model(torch.ones(*shape)))
    assert {"macs", "params", "latency"} <= set(space.metrics)
    # a space with an analytic operator graph: its MACs and params are those of the built model
    # (searches then compute them exactly instead of predicting them)
    from hwopt.hardware._features import analytic_graph_builder

    build = analytic_graph_builder(space)
    if build is not None:
        graph = build(cfg, 1)
        assert graph.macs == count_macs(model, space.input_shape(cfg, 1))
        assert graph.weight_bytes / graph.dtype_bytes == count_params(model)
