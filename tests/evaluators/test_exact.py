"""Exact objectives of model spaces: what a config's operator graph gives equals what evaluate() measures."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from hwopt.evaluators import count_macs, count_params, parse_objectives  # noqa: E402
from hwopt.evaluators._model import ModelEvaluator  # noqa: E402
from hwopt.hardware._features import graph_builder  # noqa: E402
from hwopt.supernets import get_space  # noqa: E402


@pytest.mark.parametrize("name", ["nb201", "fbnet", "ofa-mbv3", "ofa-resnet50"])
def test_graph_macs_and_params_equal_counting_the_built_model(name):
    space = get_space(name)
    build = graph_builder(space)  # analytic, no model built
    for cfg in space.space.sample(3, seed=11):
        graph = build(cfg, 1)
        model = space.build(cfg)
        assert graph.macs == count_macs(model, space.input_shape(cfg, 1))
        assert graph.weight_bytes / graph.dtype_bytes == count_params(model)


@pytest.mark.parametrize("name", ["fbnet", "ofa-mbv3", "ofa-resnet50"])
def test_exact_fn_computes_what_evaluate_measures(name):
    space = get_space(name)
    objectives, _ = parse_objectives(["params:min", "latency@raspi4:min", "macs:min"])
    ev = ModelEvaluator(space, [o.name for o in objectives])
    fn, cols = ev.exact_fn(objectives)
    assert cols == (0, 1, 2)
    cfgs = space.space.sample(4, seed=3)
    X = np.array([space.space.encode(c) for c in cfgs])
    V = fn(X)
    for cfg, row in zip(cfgs, V):
        measured = ev.evaluate(cfg)
        assert row == pytest.approx([measured[o.name] for o in objectives], rel=1e-12)
    assert np.array_equal(fn(X[::-1]), V[::-1])  # cached rows come back in the asked order
    import pickle

    assert pickle.loads(pickle.dumps(ev)).exact_fn(objectives)[0](X) == pytest.approx(V)  # as process workers get it


def test_exact_fn_offers_only_exact_columns():
    space = get_space("fbnet")
    objectives, _ = parse_objectives(["latency:min", "macs:min"])
    assert ModelEvaluator(space, ["latency", "macs"]).exact_fn(objectives)[1] == (1,)
    # fvcore's convention also counts norms and pooling, which the graph's MACs do not
    fv = ModelEvaluator(space, ["latency", "macs"], macs_convention="fvcore")
    assert fv.exact_fn(objectives) == (None, ())
    # a space without an analytic graph (a user's own): a torch trace per candidate would cost
    # more than predicting
    from hwopt.supernets.demo import DemoSpace

    class Custom(DemoSpace):
        name = "custom"

    objectives, _ = parse_objectives(["params:min", "macs:min"])
    assert ModelEvaluator(Custom(), ["params", "macs"]).exact_fn(objectives) == (None, ())


def test_descriptors_and_cost_counts_of_model_spaces():
    from hwopt.predictors import PREDICTORS, kendall_tau

    space = get_space("fbnet")
    objectives, _ = parse_objectives(["macs:min", "latency:min"])
    assert ModelEvaluator(space, ["macs"]).cost_fn(objectives[:1]) == (None, ())  # they serve a measured latency
    ev = ModelEvaluator(space, ["latency", "latency@raspi4"])
    X = np.array([space.space.encode(c) for c in space.space.sample(80, seed=4)])
    D = ev.feature_fn()(X)
    assert D.shape == (80, 2) and np.isfinite(D).all() and abs(D.mean()) < 0.5
    models = [space.build(space.space.decode(x)) for x in X[:5]]
    assert np.array_equal(np.argsort(D[:5, 1]), np.argsort([count_params(m) for m in models]))
    fn, cols = ev.cost_fn(objectives)
    assert cols == (1,)
    C = fn(X)
    assert (C >= 0).all() and C.shape[0] == 80
    # the counts carry an additive latency: fitted on 40 configs, they rank the others' roofline latency
    fn, _ = ev.exact_fn(parse_objectives(["latency@raspi4:min"])[0])
    y = np.log(fn(X)[:, 0])
    model = PREDICTORS.create("additive-cost").fit(C[:40], y[:40])
    assert kendall_tau(y[40:], model.predict(C[40:])) > 0.9


def test_a_model_space_search_computes_exact_objectives_instead_of_predicting_them(tmp_path):
    from hwopt.api import search

    st = search(study=str(tmp_path / "s.db"), space="fbnet", objectives=["latency:min", "params:min"],
                strategy="linas+", strategy_options={"initial": 6, "batch": 4}, budget=10, seed=0,
                evaluator_options={"max_time_s": 0.2, "min_repeats": 3})
    fitted = [r for r in st.rounds() if "health" in r]  # rounds after the initial random design
    assert fitted and all(set(r["health"]) == {"latency"} for r in fitted)  # params: computed, not predicted


@pytest.mark.parametrize("name", ["nb201", "ofa-mbv3"])  # nb201 has x*0 edges to prune, ofa-mbv3 none
def test_graph_rows_count_as_the_graph_table_does(name):
    from hwopt.hardware._features import GraphRows, GraphTable

    space = get_space(name)
    build = graph_builder(space)
    cfgs = space.space.sample(12, seed=6)
    X = np.array([space.space.encode(c) for c in cfgs])
    rows = GraphRows(space, build)
    table = GraphTable.from_graphs([build(c, 1) for c in cfgs])
    assert np.allclose(rows.class_counts(X), table.class_counts())
    assert np.array_equal(rows.counts(X)[:, 1], table.weight_bytes / 4)


@pytest.mark.parametrize("name", ["fbnet", "ofa-mbv3", "ofa-resnet50", "demo", "transformer"])
def test_counting_by_segments_equals_counting_the_whole_graph(name):
    """Spaces whose graph is a chain of segments are counted segment by segment (each distinct
    segment built once); the sums must be exactly the whole graph's counts."""
    from hwopt.hardware._features import GraphRows, graph_segments

    space = get_space(name)
    assert graph_segments(space) is not None
    cfgs = space.space.sample(40, seed=11)
    X = np.array([space.space.encode(c) for c in cfgs])
    by_segments = GraphRows(space, graph_builder(space))
    whole = GraphRows(space, graph_builder(space))
    whole._segments = None
    assert np.array_equal(by_segments.class_counts(X), whole.class_counts(X))
    assert np.array_equal(by_segments.counts(X), whole.counts(X))
    assert len(by_segments._segment_cache) < 40 * 20  # segments shared between configs are built once


@pytest.mark.parametrize("name", ["ofa-mbv3", "fbnet", "ofa-resnet50", "transformer"])
def test_cost_metrics_summed_over_segments_equal_estimating_each_graph(name):
    """latency@HW / energy@HW / memory@HW of a segmented space come from per-segment values (sums;
    the activation peak a maximum); they must equal ``cost_metric`` on the whole graph —
    spec-sheet and calibrated, at a batch size above one."""
    from hwopt.hardware import cost_metric, fit_calibration, load_catalog
    from hwopt.hardware._estimate import cost_metric_rows, features_of
    from hwopt.hardware._features import GraphRows

    space = get_space(name)
    build = graph_builder(space)
    cfgs = space.space.sample(30 if name != "ofa-resnet50" else 12, seed=8)
    X = np.array([space.space.encode(c) for c in cfgs])
    rows = GraphRows(space, build)
    target = load_catalog().get("raspi4")
    feats = [features_of(build(c, 2), target) for c in cfgs[:12]]
    y = np.array([0.8 * f["fused"][0, :-3].sum() * 1e3 * (1.1 + 0.05 * np.sin(k)) for k, f in enumerate(feats)])
    cal = fit_calibration({v: np.vstack([f[v] for f in feats]) for v in feats[0]}, y, target.name)
    for calibration, runtime in ((None, "compiled"), (None, "eager"), (cal, "compiled")):
        for metric in ("latency@raspi4", "energy@raspi4", "memory@raspi4", "latency@a100-80gb", "cost@a100-80gb"):
            if calibration is not None and not metric.endswith("raspi4"):
                continue
            summed = cost_metric_rows(rows, X, metric, batch_size=2, calibration=calibration, runtime=runtime)
            whole = [cost_metric(space, c, metric, batch_size=2, calibration=calibration, runtime=runtime)
                     for c in cfgs]
            assert summed == pytest.approx(whole, rel=1e-9)


def test_cost_metrics_assume_the_runtime_latency_is_measured_with():
    """Without a calibration, latency@HW of an evaluator measuring with torch is the eager
    estimate (every op a kernel, plus dispatch), with ONNX Runtime the compiled one."""
    from hwopt.hardware import cost_metric

    space = get_space("fbnet")
    cfg = space.space.sample(1, seed=4)[0]
    X = np.array([space.space.encode(cfg)])
    values = {}
    for runtime in ("onnxruntime", "torch"):
        ev = ModelEvaluator(space, ["latency@titan_rtx"], runtime=runtime)
        objectives, _ = parse_objectives(["latency@titan_rtx:min"])
        fn, cols = ev.exact_fn(objectives)
        assert list(cols) == [0]
        values[runtime] = float(fn(X)[0, 0])
        assert ev.context()["cost_model"]["runtime"] == {"onnxruntime": "compiled", "torch": "eager"}[runtime]
    assert values["onnxruntime"] == pytest.approx(cost_metric(space, cfg, "latency@titan_rtx"))
    assert values["torch"] == pytest.approx(cost_metric(space, cfg, "latency@titan_rtx", runtime="eager"))
    assert values["torch"] > 1.5 * values["onnxruntime"]


def test_cost_is_the_latency_at_the_catalog_price_and_needs_a_price():
    """cost@HW: US$ per million inferences at the catalog's price per hour, back to back at the
    batch size; a target without a price is one clear error when the evaluator is built."""
    from hwopt.errors import ConfigError
    from hwopt.hardware import cost_metric, load_catalog

    space = get_space("fbnet")
    cfg = space.space.sample(1, seed=3)[0]
    hw = load_catalog().get("a100-80gb")
    lat = cost_metric(space, cfg, "latency@a100-80gb", batch_size=8)
    usd = cost_metric(space, cfg, "cost@a100-80gb", batch_size=8)
    assert usd == pytest.approx(lat / 1e3 / 8 * hw.price_per_hour_usd / 3600 * 1e6)
    with pytest.raises(ConfigError, match="no price per hour"):
        ModelEvaluator(space, ["cost@raspi4"])
