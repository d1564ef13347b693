"""Predictors: scikit-learn contract over the registry, uncertainty, features and CV selection."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from hwopt.errors import ConfigError
from hwopt.predictors import (
    PREDICTORS, NotFittedError, SpaceFeatures, clone, coverage, cross_validate, kendall_tau, select_predictor,
    undercovered,
)
from hwopt.space import Categorical, Integer, SearchSpace

FAST = {"dynast": {"alphas": (0.1, 1.0, 10.0), "costs": (1.0, 10.0)}, "ensemble": {"n_members": 3},
        "gbm": {"n_estimators": 50}, "mlp": {"hidden": (16,), "max_iter": 300}}


def data(n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, d))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.5 * X[:, 2] + 0.02 * rng.standard_normal(n)
    return X, y + 5.0


@pytest.mark.parametrize("name", PREDICTORS.names())
def test_contract(name):
    X, y = data()
    p = PREDICTORS.create(name, **FAST.get(name, {}))
    with pytest.raises(NotFittedError):
        p.predict(X)
    assert p.fit(X[:80], y[:80]) is p
    assert not any(k.endswith("_") for k in vars(PREDICTORS.create(name)))  # __init__ stores params only
    mu, sd = p.predict_dist(X[80:])
    assert mu.shape == sd.shape == (40,)
    assert (sd > 0).all() and np.allclose(p.predict(X[80:]), mu) and np.allclose(p.predict_std(X[80:]), sd)
    assert kendall_tau(y[80:], mu) > 0.5
    c = clone(p)
    assert c.get_params() == p.get_params() and not hasattr(c, "n_features_in_")
    with pytest.raises(ConfigError):
        p.predict(X[:, :2])


def test_refit_forgets_and_set_params_checks_names():
    X, y = data()
    p = PREDICTORS.create("ridge").fit(X, y)
    p.fit(X[:, :2], y)
    assert p.n_features_in_ == 2
    with pytest.raises(ConfigError, match="valid"):
        p.set_params(nope=1)
    with pytest.raises(ConfigError):
        PREDICTORS.create("ridge").fit(X[:1], y[:1])


def test_gp_leave_one_out_is_exact():
    X, y = data(60)
    p = PREDICTORS.create("gp").fit(X, y)
    mu, sd = p.loo_predictions()
    for i in (0, 17, 42):
        m = np.ones(60, bool)
        m[i] = False
        q = PREDICTORS.create("gp", theta=p.theta_).fit(X[m], y[m])
        # scaling of features is re-learned without row i, so agreement is close, not bit-exact
        assert abs(q.predict(X[i:i + 1])[0] - mu[i]) < 0.05 * np.std(y)
    assert (sd > 0).all()


def test_dynast_ridge_grid_matches_scikit_learn():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV

    from hwopt.predictors._dynast import DYNAST_ALPHAS, _ridge_grid

    rng = np.random.default_rng(3)
    X = (rng.random((83, 12)) < 0.3).astype(float)
    y = X @ rng.random(12) + 3 + 0.3 * rng.random(83)
    g = GridSearchCV(Ridge(), {"alpha": list(DYNAST_ALPHAS)}, cv=5, scoring="neg_mean_absolute_percentage_error").fit(X, y)
    score, alpha = _ridge_grid(X, y, DYNAST_ALPHAS, 5)
    assert alpha == pytest.approx(g.best_params_["alpha"]) and score == pytest.approx(g.best_score_, rel=1e-8)


def test_selection_prefers_the_nonlinear_model_on_a_nonlinear_target():
    X, y = data(150)
    y = y + 3 * np.sin(8 * X[:, 0])
    best, scores = select_predictor(X, y, ["ridge", "gp"], seed=0)
    assert best.name == "gp" and {s.name for s in scores} == {"ridge", "gp"}
    s = cross_validate(PREDICTORS.create("ridge"), X, y)
    assert 0 <= s.coverage80 <= 1 and s.rmse > 0


def test_coverage_and_undercoverage():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(4000)
    assert coverage(y, np.zeros_like(y), np.ones_like(y)) == pytest.approx(0.8, abs=0.03)
    assert undercovered(10, 50) and not undercovered(39, 50) and not undercovered(5, 10)


def test_space_features_one_hot_ordinal_and_inactive():
    sp = SearchSpace([
        Categorical("op", ["a", "b", "c"]),
        Integer("d", 1, 3),
        Integer("w", 0, 4, length=3, active_when="i < d"),
    ])
    f = SpaceFeatures(sp, extra=lambda X: X[:, :1] * 10.0)
    a = sp.encode({"op": "b", "d": 1, "w": [2, 0, 4]})
    b = sp.encode({"op": "b", "d": 1, "w": [2, 3, 1]})  # same network: w[1], w[2] inactive
    Z = f.transform(np.vstack([a, b]))
    assert np.array_equal(Z[0], Z[1])
    assert Z.shape[1] == 3 + 1 + 3 + 4 + 1  # one-hot op, ordinal d and w, their active flags, extra
    assert Z[0, :3].tolist() == [0, 1, 0] and Z[0, -1] == 10.0


def _data_dir() -> Path | None:
    import os

    for c in [os.environ.get("HWOPT_DATA_DIR"), Path(__file__).parents[2] / ".." / "shared" / "data"]:
        if c and (Path(c) / "ofa_mbv3" / "imagenet_accuracy.csv.gz").is_file():
            return Path(c)
    return None


def test_gp_ranks_ofa_accuracy_from_200_configs():
    d = _data_dir()
    if d is None:
        pytest.skip("ofa_mbv3/imagenet_accuracy.csv.gz not found (../shared/data or HWOPT_DATA_DIR)")
    import pandas as pd

    act = "i % 4 < d[i // 4]"
    sp = SearchSpace([Categorical("ks", [3, 5, 7], ordered=True, length=20, active_when=act),
                      Categorical("e", [3, 4, 6], ordered=True, length=20, active_when=act),
                      Categorical("d", [2, 3, 4], ordered=True, length=5), Categorical("r", [224], ordered=True)])
    df = pd.read_csv(d / "ofa_mbv3" / "imagenet_accuracy.csv.gz")
    X = sp.encode_many([json.loads(c) for c in df.config])
    Z = np.hstack([SpaceFeatures(sp).transform(X), df[["macs", "params"]].to_numpy() / 1e6])
    y = df.top1.to_numpy()
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:200], perm[200:1200]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = PREDICTORS.create("gp").fit(Z[tr], y[tr])
    mu, sd = p.predict_dist(Z[te])
    assert kendall_tau(y[te], mu) > 0.9
    assert 0.6 < coverage(y[te], mu, sd) < 0.97


def _additive_latency(n=300, seed=0):
    """Counts, and latencies that are a non-negative sum of per-count costs with 4% noise and
    a few rows 3x off (measurements the counts cannot explain)."""
    rng = np.random.default_rng(seed)
    C = rng.integers(0, 6, size=(n, 5)).astype(float) * rng.choice([1.0, 1e3, 1e6], size=5)
    w = np.array([2.0, 0.0, 1.5, 0.7, 3.0]) / C.max(0)
    t = (0.5 + C @ w) * np.exp(0.04 * rng.standard_normal(n))
    t[rng.choice(n, n // 30, replace=False)] *= 3.0
    return C, np.log(t)


def test_additive_cost_predicts_held_out_latencies_with_honest_intervals():
    C, y = _additive_latency()
    m = PREDICTORS.create("additive-cost").fit(C[:100], y[:100])
    mu, sd = m.predict_dist(C[100:])
    err = np.abs(mu - y[100:])
    assert np.median(err) < 0.05                     # the outliers do not drag the fit
    assert 0.7 <= coverage(y[100:], mu, sd) <= 0.92  # 80% interval holds about 80%
    assert (m.coef_ >= 0).all()
    loo, _ = m.loo_predictions()
    brute = [PREDICTORS.create("additive-cost").fit(np.delete(C[:100], i, 0), np.delete(y[:100], i)).predict(C[i:i + 1])[0]
             for i in range(10)]
    assert np.allclose(loo[:10], brute, atol=0.03)   # closed-form leave-one-out ~ refits
    with pytest.raises(ConfigError, match="non-negative"):
        PREDICTORS.create("additive-cost").fit(-C[:10], y[:10])


def test_cost_gp_corrects_what_the_cost_model_misses():
    C, y = _additive_latency(seed=1)
    rng = np.random.default_rng(1)
    Z = rng.integers(0, 2, size=(len(y), 3)).astype(float)
    y = y + 0.3 * Z[:, 0]  # a feature effect the counts do not see
    X = np.hstack([Z, C])
    cost = PREDICTORS.create("additive-cost").fit(C[:150], y[:150]).predict(C[150:])
    both = PREDICTORS.create("cost-gp", n_counts=C.shape[1]).fit(X[:150], y[:150]).predict(X[150:])
    assert np.median(np.abs(both - y[150:])) < 0.6 * np.median(np.abs(cost - y[150:]))
    with pytest.raises(ConfigError, match="n_counts"):
        PREDICTORS.create("cost-gp", n_counts=8).fit(X[:20], y[:20])
