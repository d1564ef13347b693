"""Calibration: fits per-class efficiencies, beats the spec sheet on held-out data, honest intervals."""

from __future__ import annotations

import numpy as np
import pytest

from hwopt.errors import ConfigError
from hwopt.hardware import fit_calibration, load_catalog
from hwopt.hardware._calibration import Calibration, _log_predict, load_calibration, save_calibration
from hwopt.hardware._features import FEATURES, NOPS_COL, GraphTable, spec_seconds
from hwopt.hardware.graph import OP_CLASSES
from hwopt.supernets import get_space


@pytest.fixture(scope="module")
def synthetic():
    """NB201 graphs with a hidden per-class cost model and 5% log-normal noise."""
    space = get_space("nb201")
    configs = space.space.sample(240, seed=1)
    table = GraphTable.from_graphs([space.op_graph(c) for c in configs])
    target = load_catalog().get("raspi4")
    feats = {v: table.features(target, "fp32", v) for v in table.ops}
    true = np.zeros(len(FEATURES))
    for c, a in {"conv": 2.5, "conv1x1": 0.7, "pool": 4.0, "eltwise": 3.0, "norm": 1.0, "gemm": 1.0}.items():
        true[OP_CLASSES.index(c)] = a * 1e3  # seconds -> ms
    true[NOPS_COL] = 0.02
    clean = 1.0 + feats["fused"] @ true
    y = clean * np.exp(np.random.default_rng(0).normal(0, 0.05, len(clean)))
    return feats, y


def _split(n, k, seed):
    idx = np.random.default_rng(seed).permutation(n)
    return idx[:k], idx[k:]


def test_calibration_beats_spec_sheet_on_held_out(synthetic):
    feats, y = synthetic
    cal_idx, test = _split(len(y), 20, 0)
    cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx], "Raspberry-Pi-4")
    pred = cal.predict({v: f[test] for v, f in feats.items()})
    spec = spec_seconds({v: f[test] for v, f in feats.items()}, "edge") * 1e3
    mape = np.mean(np.abs(pred / y[test] - 1))
    spec_mape = np.mean(np.abs(spec / y[test] - 1))
    assert mape < 0.08 < spec_mape
    assert cal.variant == "fused"


def test_interval_coverage_near_nominal(synthetic):
    feats, y = synthetic
    cover = []
    for seed in range(12):
        cal_idx, test = _split(len(y), 20, seed)
        cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx], residual=False)
        _, lo, hi = cal.predict_interval({v: f[test] for v, f in feats.items()})
        cover.append(np.mean((y[test] >= lo) & (y[test] <= hi)))
    assert 0.7 <= np.mean(cover) <= 0.92


def test_interval_widens_outside_calibrated_range(synthetic):
    feats, y = synthetic
    order = np.argsort(y)
    small = order[:20]
    cal = fit_calibration({v: f[small] for v, f in feats.items()}, y[small], residual=False)
    inside = order[:20]
    outside = order[-20:]
    p_in, lo_in, hi_in = cal.predict_interval({v: f[inside] for v, f in feats.items()})
    p_out, lo_out, hi_out = cal.predict_interval({v: f[outside] for v, f in feats.items()})
    assert np.mean(np.log(hi_out / lo_out)) > np.mean(np.log(hi_in / lo_in))


def test_save_load_roundtrip(synthetic, tmp_path, monkeypatch):
    from hwopt.hardware import _calibration

    monkeypatch.setattr(_calibration, "calibrations_dir", lambda: tmp_path)
    feats, y = synthetic
    cal = fit_calibration({v: f[:20] for v, f in feats.items()}, y[:20], "Raspberry-Pi-4")
    save_calibration(cal, "pi")
    back = load_calibration("pi")
    assert isinstance(back, Calibration)
    rest = {v: f[20:] for v, f in feats.items()}
    np.testing.assert_allclose(back.predict(rest), cal.predict(rest))
    np.testing.assert_allclose(back.predict_interval(rest), cal.predict_interval(rest))
    with pytest.raises(ConfigError, match="pi"):
        load_calibration("nope")


def test_leverage_is_the_hat_matrix_of_the_relative_fit(synthetic):
    """Interval scores are LOO residuals divided by their leverage scale: check the leverage."""
    from hwopt.hardware._calibration import _Candidate, _design, _leverage
    from hwopt.hardware._features import FLOPS_COL, WEIGHTS_COL

    feats, y = synthetic
    X = _design(feats["fused"][:20], [FLOPS_COL, WEIGHTS_COL, NOPS_COL])
    cand = _Candidate("fused", [FLOPS_COL, WEIGHTS_COL, NOPS_COL], -1.0, X, np.zeros(0, dtype=int))
    theta = cand.fit(y[:20], np.arange(20))[0]
    # the intercept is free; a slope fitted to zero sits on its constraint and does not count
    A = (X / y[:20, None])[:, [0] + [j for j in range(1, X.shape[1]) if theta[j] > 0]]
    h = _leverage(cand, theta, y[:20])[1]
    np.testing.assert_allclose(h, np.diag(A @ np.linalg.pinv(A)), atol=1e-9)
    assert h.sum() == pytest.approx(np.linalg.matrix_rank(A))


def test_bad_inputs():
    with pytest.raises(ConfigError, match="at least 3"):
        fit_calibration({"fused": np.ones((2, len(FEATURES)))}, np.ones(2))
    with pytest.raises(ConfigError, match="positive"):
        fit_calibration({"fused": np.ones((5, len(FEATURES)))}, np.array([1, 2, -1, 3, 4.0]))


def test_a_class_with_little_time_stays_near_the_shared_scale():
    """A class holding ~1% of every calibration model's time (a ResNet's one pooling layer) cannot
    identify its own efficiency; the ridge pull must hold it at the shared scale rather than let
    it absorb other costs (or vanish), or it mis-costs a model where that class matters."""
    from hwopt.hardware._calibration import _solve

    rng = np.random.default_rng(0)
    big = rng.uniform(1, 10, 20)
    tiny = 0.01 * big * np.exp(rng.normal(0, 0.3, 20))
    y = 0.2 + big + 0.05 * big ** 1.2 * np.exp(rng.normal(0, 0.02, 20))  # a cost the model lacks
    X = np.c_[np.ones(20), big, tiny]
    for lam in (0.01, 0.1, 1.0, 10.0):
        theta = _solve(X, y, lam, np.array([1, 2]))
        assert 0.67 < theta[2] / theta[1] < 1.5, (lam, theta)


def test_a_class_absent_from_the_calibration_set_is_costed_and_widens_the_interval(synthetic, monkeypatch):
    """Calibrated on NB201 cells (no softmax), models that add softmax time get it costed at the
    mean class coefficient (not at zero) and a wider interval."""
    from hwopt.hardware import _calibration

    feats, y = synthetic
    cal_idx, test = _split(len(y), 20, 0)
    cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx], residual=False)
    k = OP_CLASSES.index("softmax")
    assert k not in cal.columns
    extra = {v: f[test].copy() for v, f in feats.items()}
    for f in extra.values():
        f[:, k] = 0.3 * f[:, :len(OP_CLASSES)].sum(1)  # softmax worth 30% of each model's prior time
    y_extra = y[test] + extra["fused"][:, k] * 2e3  # ... costing as much as a typical class (mean of `true`)
    pred, lo, hi = cal.predict_interval(extra)
    monkeypatch.setattr(_calibration, "_unseen_ms", lambda F, columns, theta: np.zeros(len(F)))
    pred0, lo0, hi0 = cal.predict_interval(extra)
    assert np.all(pred > pred0)
    assert np.mean(np.abs(pred / y_extra - 1)) < np.mean(np.abs(pred0 / y_extra - 1))
    assert np.mean(np.log(hi / lo)) > 1.05 * np.mean(np.log(hi0 / lo0))


def test_a_launch_bound_device_is_costed_per_kernel(data_dir, monkeypatch):
    """GPUs at batch 1 spend about a fixed time per kernel, whatever its FLOPs: on 400 measured
    FBNet sub-networks (titan_rtx, batch 1) the kernels family brings the 20-shot MAPE from about
    1.4% to 0.4%."""
    import pandas as pd

    from hwopt.hardware import _calibration
    from hwopt.hardware._features import COUNT_COL0, VARIANTS, graph_table

    archs = pd.read_csv(data_dir / "fbnet" / "archs.csv.gz").set_index("arch_id")
    lat = pd.read_csv(data_dir / "fbnet" / "latency.csv.gz", dtype={"batch_size": "Int64"})
    rows = lat[(lat.device == "titan_rtx") & (lat.batch_size == 1)].head(400)
    space = get_space("fbnet")
    table = graph_table(space, [space.parse_config(s) for s in archs.loc[rows.arch_id, "ops"]], 1, cache=False)
    feats = {v: table.features(load_catalog().get("titan_rtx"), "fp32", v) for v in VARIANTS}
    y = rows.latency_ms.to_numpy(float)
    cal_idx, test = _split(len(y), 20, 0)

    def mape() -> float:
        cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx])
        return float(np.mean(np.abs(cal.predict({v: f[test] for v, f in feats.items()}) / y[test] - 1)))

    on = mape()
    candidates = _calibration._candidates
    monkeypatch.setattr(_calibration, "_candidates", lambda *a: [c for c in candidates(*a)
                                                                 if c.columns[0] < COUNT_COL0])
    assert on < 0.007 < 0.011 < mape()


def test_candidates_within_noise_of_the_best_are_averaged():
    """Pseudo-BMA weights: equal LOO losses share equally, 10% worse over 20 points weighs
    (1/1.1)^20 = 15%, 50% worse nothing; the prediction is the weighted geometric mean."""
    from hwopt.hardware._calibration import _bma_weights

    np.testing.assert_allclose(_bma_weights([1.0, 1.0], 20), [0.5, 0.5])
    w = _bma_weights([1.0, 1.1, 1.5], 20)
    assert w[1] / w[0] == pytest.approx(1.1 ** -20) and w[2] == 0.0 and w.sum() == pytest.approx(1.0)


def test_a_calibration_saved_before_averaging_still_loads(synthetic):
    """Files written with one model and one leave-one-out model per point (no ``components``)."""
    feats, y = synthetic
    cal = fit_calibration({v: f[:20] for v, f in feats.items()}, y[:20], "Raspberry-Pi-4")
    old = cal.to_dict()
    main = old.pop("components")[0]
    old.update(variant=main["variant"], columns=main["columns"], theta=main["theta"], krr=main["krr"])
    old["jackknife"] = [{k: v for k, v in models[0].items() if k != "weight"} for models in old["jackknife"]]
    back = Calibration.from_dict(old)
    rest = {v: f[20:] for v, f in feats.items()}
    F = rest[main["variant"]]
    single = np.exp(_log_predict([{**main, "weight": 1.0}], rest))
    np.testing.assert_allclose(back.predict(rest), single)
    assert back.predict_interval(rest)[1].shape == (len(F),)


def test_cached_graph_tables_are_keyed_by_the_space_options_and_the_graph_code(tmp_path, monkeypatch):
    """ofa-mbv3 at width 1.0 and 1.2 share a name and configs; a table cached for one must not be
    served for the other, nor one of another tensor width or built by other graph code."""
    from hwopt.hardware import _features

    monkeypatch.setattr(_features, "cache_dir", lambda: tmp_path)
    narrow, wide = get_space("ofa-mbv3"), get_space("ofa-mbv3", width=1.2)
    configs = [narrow.space.canonical(c) for c in narrow.space.sample(3, seed=0)]
    a = _features.graph_table(narrow, configs)
    b = _features.graph_table(wide, configs)
    assert np.all(b.weight_bytes > 1.2 * a.weight_bytes)
    assert len(list(tmp_path.iterdir())) == 2
    int8 = _features.graph_table(narrow, configs, dtype_bytes=1)  # an int8 device's tensors
    np.testing.assert_allclose(int8.weight_bytes, a.weight_bytes / 4)
    assert len(list(tmp_path.iterdir())) == 3
    monkeypatch.setattr(_features, "_graph_code", lambda space: "other")
    _features.graph_table(narrow, configs)
    assert len(list(tmp_path.iterdir())) == 4


def test_many_measurements_are_cross_validated_in_folds(synthetic, tmp_path, monkeypatch):
    """Beyond LOO_MAX measurements the nested leave-one-out (~12 n^2 fits) gives way to CV+ over
    FOLDS folds: 160 measurements calibrate in seconds, every residual belongs to one fold's
    models, the intervals still hold about 80% of held-out points, and the folds survive a save."""
    from hwopt.hardware import _calibration

    monkeypatch.setattr(_calibration, "calibrations_dir", lambda: tmp_path)
    feats, y = synthetic
    cal_idx, test = _split(len(y), 160, 0)
    cal = fit_calibration({v: f[cal_idx] for v, f in feats.items()}, y[cal_idx], "Raspberry-Pi-4")
    assert len(cal.jackknife) == _calibration.FOLDS and sorted(set(cal.folds)) == list(range(_calibration.FOLDS))
    assert len(cal.folds) == len(cal.loo_residuals) == 160
    held = {v: f[test] for v, f in feats.items()}
    pred, lo, hi = cal.predict_interval(held)
    assert np.mean(np.abs(pred / y[test] - 1)) < 0.06
    assert 0.7 <= np.mean((y[test] >= lo) & (y[test] <= hi)) <= 0.95
    save_calibration(cal, "many")
    np.testing.assert_allclose(load_calibration("many").predict_interval(held), (pred, lo, hi))
    monkeypatch.setattr(_calibration, "INTERVAL_CELLS", 7 * 160)  # blocks of 7 rows: the same bounds
    np.testing.assert_allclose(cal.predict_interval(held), (pred, lo, hi))
    small = fit_calibration({v: f[cal_idx[:20]] for v, f in feats.items()}, y[cal_idx[:20]])
    assert small.folds == [] and len(small.jackknife) == 20  # jackknife+: one model set per point


def test_the_aggregate_model_keeps_its_slopes_non_negative(synthetic):
    """Two nearly collinear costs (FLOPs and weight bytes of NB201 cells) let signed least squares
    trade a large positive slope for a large negative one, which extrapolates below zero; the
    aggregate family keeps a free intercept but no negative slope."""
    from hwopt.hardware._calibration import _Candidate, _design
    from hwopt.hardware._features import FLOPS_COL, WEIGHTS_COL

    feats, y = synthetic
    cols = [FLOPS_COL, WEIGHTS_COL, NOPS_COL]
    X = _design(feats["pruned"], cols)
    cand = _Candidate("pruned", cols, -1.0, X, np.zeros(0, dtype=int))
    negative = 0
    for seed in range(20):
        idx = np.random.default_rng(seed).choice(len(y), 8, replace=False)
        theta = cand.fit(y, idx)[0]
        assert np.all(theta[1:] >= 0)
        signed = np.linalg.lstsq(X[idx] / y[idx, None], np.ones(len(idx)), rcond=None)[0]
        negative += bool(np.any(signed[1:] < 0))
    assert negative > 0  # the data do tempt signed least squares into negative slopes


def test_a_model_predicting_no_positive_latency_leaves_the_average():
    from hwopt.hardware._calibration import _log_predict
    from hwopt.hardware._features import FLOPS_COL, WEIGHTS_COL

    F = np.zeros((2, len(FEATURES)))
    F[:, FLOPS_COL] = [1e-3, 1e-6]  # seconds: 1 ms and 1 us of arithmetic
    F[:, WEIGHTS_COL] = [1e-3, 1e-6]
    sane = {"variant": "fused", "columns": [FLOPS_COL], "theta": [0.1, 1.0], "krr": {}, "weight": 0.3}
    wild = {"variant": "fused", "columns": [FLOPS_COL, WEIGHTS_COL], "theta": [-0.5, 2.0, 0.0], "krr": {},
            "weight": 0.7}
    got = _log_predict([sane, wild], {"fused": F})
    # row 0: both positive (1.1 ms and 1.5 ms), weighted; row 1: the wild model is negative there
    assert got[0] == pytest.approx(0.3 * np.log(1.1) + 0.7 * np.log(1.5))
    assert got[1] == pytest.approx(np.log(0.1 + 1e-3))


def test_the_residual_predictor_refuses_a_table_too_large_for_its_kernel(monkeypatch):
    from hwopt.hardware import _calibration

    monkeypatch.setattr(_calibration, "RESIDUAL_MAX", 10)
    F = np.abs(np.random.default_rng(0).normal(size=(12, len(FEATURES)))) * 1e-3
    with pytest.raises(ConfigError, match="at most 10 measurements, got 12"):
        fit_calibration({"fused": F}, np.linspace(1, 2, 12), residual=True)
