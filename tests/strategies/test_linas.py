"""linas (faithful DyNAS-T baseline) and linas+ (hwopt's successor): behaviour on small problems."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hwopt.benchmarks._base import hypervolume
from hwopt.errors import ConfigError
from hwopt.space import Categorical, Integer, SearchSpace
from hwopt.strategies import Problem, get_strategy
from hwopt.strategies._hvi import hv_improvement
from hwopt.strategies._nsga2_numpy import nondominated_ranks, nsga2
from hwopt.warnings import PredictorWarning

SPACE = SearchSpace([Categorical("op", ["a", "b", "c", "d"], length=4), Integer("w", 1, 4)], name="tiny")


def objectives(X: np.ndarray) -> np.ndarray:
    """Two conflicting smooth objectives of encoded configs (256 · 4 = 1024 configs)."""
    cost = X[:, :4].sum(axis=1) + X[:, 4]
    err = (3 - X[:, :4]).sum(axis=1) * 1.5 + (3 - X[:, 4]) * 2 + 0.3 * (X[:, 0] == 1)
    return np.column_stack([err, cost]).astype(float)


def drive(strategy, budget, problem=None):
    strategy.setup(problem or Problem(SPACE, 2, objective_names=["err", "cost"]))
    seen: dict[str, np.ndarray] = {}
    asked = 0
    while len(seen) < budget:
        cfgs = strategy.ask(min(strategy.batch_size, budget - len(seen)))
        if not cfgs:
            break
        asked += len(cfgs)
        F = objectives(SPACE.encode_many(cfgs))
        for c, f in zip(cfgs, F):
            seen.setdefault(SPACE.hash(c), f)
        strategy.tell(cfgs, F, np.zeros((len(cfgs), 0)))
    return seen, asked


def test_hv_improvement_matches_pymoo_in_2d():
    rng = np.random.default_rng(0)
    P, C = rng.random((7, 2)), rng.random((40, 2))
    exact = [hypervolume(np.vstack([P, c])) - hypervolume(P) for c in C]
    assert np.allclose(hv_improvement(C, P, np.array([1.1, 1.1])), exact)


def test_nondominated_ranks_match_pymoo():
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.random.default_rng(1).integers(0, 6, size=(60, 2)).astype(float)
    ranks = nondominated_ranks(F)
    for r, front in enumerate(NonDominatedSorting().do(F)):
        assert (ranks[front] == r).all()


def test_numpy_nsga2_converges_and_keeps_a_unique_population():
    rng = np.random.default_rng(0)
    X = nsga2(objectives, SPACE.xl, SPACE.xu, 20, 60, rng, mutation_prob=0.2)
    assert len(np.unique(X, axis=0)) == len(X) == 20
    assert (nondominated_ranks(objectives(X)) == 0).mean() > 0.8


def test_linas_never_hands_out_measured_configs_and_counts_reproposals():
    s = get_strategy("linas", seed=0, population=20, inner_evals=400)
    seen, asked = drive(s, 80)
    assert asked == len(seen)  # nothing proposed twice
    st = s.state()
    assert st["round"] >= 4 and st["reproposed"] >= 0


def test_linas_plus_finds_most_of_the_front_without_repeats():
    s = get_strategy("linas+", seed=0)
    seen, asked = drive(s, 60)
    assert asked == len(seen)
    F = np.array(list(seen.values()))
    allF = objectives(np.indices((4, 4, 4, 4, 4)).reshape(5, -1).T)
    lo, hi = allF.min(0), allF.max(0)
    frac = hypervolume((F - lo) / (hi - lo)) / hypervolume((allF - lo) / (hi - lo))
    rand = np.random.default_rng(0).choice(len(allF), 60, replace=False)
    frac_random = hypervolume((allF[rand] - lo) / (hi - lo)) / hypervolume((allF - lo) / (hi - lo))
    assert frac > max(0.95, frac_random)
    st = s.state()
    assert st["inner"] == "enumerate" and set(st["health"]) == {"err", "cost"}
    for h in st["health"].values():
        assert {"predictor", "cv_tau", "cv_rmse", "cv_coverage80", "holdout_tau"} <= set(h)


def test_linas_plus_uses_exact_columns_and_the_ga_for_big_spaces():
    calls = []

    def exact(X):
        calls.append(len(X))
        return objectives(np.asarray(X))[:, 1:2]

    problem = Problem(SPACE, 2, objective_names=["err", "cost"], exact=exact, exact_columns=(1,))
    s = get_strategy("linas+", seed=1, enumerate_limit=10, inner_population=20, inner_generations=5)
    seen, _ = drive(s, 30, problem)
    assert calls and s.state()["inner"] == "nsga2"
    assert set(s.state()["health"]) == {"err"}  # cost is computed, not predicted


@pytest.mark.filterwarnings("ignore::hwopt.warnings.PredictorWarning")  # a noise-free toy: health may warn
def test_linas_plus_feeds_the_problems_descriptors_to_its_predictors():
    rows = []

    def descriptors(X):  # a cheap exact count (as log FLOPs of a model's graph)
        X = np.asarray(X)
        rows.append(len(X))
        return np.column_stack([X[:, :4].sum(axis=1) + X[:, 4]]).astype(float)

    problem = Problem(SPACE, 2, objective_names=["err", "cost"], features=descriptors)
    for use in (True, False):
        rows.clear()
        s = get_strategy("linas+", seed=0, descriptors=use)
        seen, _ = drive(s, 30, problem)
        assert len(seen) == 30
        assert s._features.transform(SPACE.xl[None]).shape[1] == 17 + use  # one-hot + ordinal (+ descriptor)
        assert bool(rows) == use


@pytest.mark.filterwarnings("ignore::hwopt.warnings.PredictorWarning")
def test_linas_plus_models_a_latency_on_the_problems_cost_counts():
    def counts(X):  # per-op-type kernel counts: a latency is (about) their weighted sum
        X = np.asarray(X)
        return np.column_stack([(X[:, :4] == k).sum(axis=1) for k in range(4)] + [X[:, 4]]).astype(float)

    def latency(X):
        return 1.0 + counts(X) @ np.array([0.5, 2.0, 4.0, 8.0, 3.0])

    problem = Problem(SPACE, 2, objective_names=["err", "latency"], cost_counts=counts, cost_columns=(1,))
    for use in (True, False):
        s = get_strategy("linas+", seed=0, cost_model=use)
        s.setup(problem)
        while len(s._X) < 40:
            cfgs = s.ask(s.batch_size)
            X = SPACE.encode_many(cfgs)
            s.tell(cfgs, np.column_stack([objectives(X)[:, 0], latency(X)]), np.zeros((len(cfgs), 0)))
        health = s.state()["health"]["latency"]
        assert (health["predictor"] == "cost-gp") == use  # the exact additive model wins when offered
        if use:
            assert health["cv_tau"] > 0.95
    with pytest.raises(ConfigError, match="cost_model"):
        get_strategy("linas+", cost_model="yes")
    with pytest.raises(ConfigError, match="cost counts"):
        get_strategy("linas+", predictor="cost-gp")


def test_linas_plus_warns_when_measurements_leave_the_stated_interval():
    """Judged on predictions made once the hold-out recalibration could widen the stated std:
    misses before that (its first hold-outs) are what it corrects, not a reason to warn."""
    s = get_strategy("linas+", seed=0)
    s.setup(Problem(SPACE, 2, objective_names=["err", "cost"]))
    miss, hit = (5.0, 0.0, 0.1, 0.1), (0.05, 0.0, 0.1, 0.1)
    s._health = {0: [(*miss, 0.0)] * 25 + [(*hit, 1.0)] * 25}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s._check_health()
    s._health = {0: [(*hit, 0.0)] * 10 + [(*miss, 1.0)] * 25}
    with pytest.warns(PredictorWarning, match="err"):
        s._check_health()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s._check_health()  # once per objective


def test_linas_plus_warm_start_seeds_the_model():
    cfgs = SPACE.sample(15, 3)
    F = objectives(SPACE.encode_many(cfgs))
    s = get_strategy("linas+", seed=0)
    s.setup(Problem(SPACE, 2, objective_names=["err", "cost"]))
    s.warm_start(cfgs, F, np.zeros((15, 0)))
    out = s.ask(5)
    assert len(out) == 5 and s.state()["round"] == 1  # model-based at once, no random design
    assert not {SPACE.hash(c) for c in out} & {SPACE.hash(c) for c in cfgs}


@pytest.mark.parametrize("engine", ["numpy", "pymoo"])
def test_linas_inner_engines_both_run(engine):
    s = get_strategy("linas", seed=0, population=10, inner_evals=100, engine=engine, svr_grid="coarse")
    seen, asked = drive(s, 25)
    assert len(seen) == asked >= 15 and s.state()["round"] >= 2


def test_linas_rejects_unknown_options():
    with pytest.raises(ConfigError, match="numpy"):
        get_strategy("linas", engine="fortran")
    with pytest.raises(ConfigError, match="predictor"):
        get_strategy("linas+", predictor="oracle")


def test_expected_hvi_matches_monte_carlo_for_normal_and_lognormal_marginals():
    from hwopt.strategies._hvi import expected_hvi_2d

    rng = np.random.default_rng(0)
    P, ref = np.array([[0.1, 0.8], [0.3, 0.5], [0.6, 0.2]]), np.array([1.1, 1.1])
    M = np.array([[0.25, 0.45], [0.5, 0.5], [0.05, 0.9]])
    S = np.array([[0.05, 0.1], [0.1, 0.02], [0.01, 0.3]])
    lo, scale = np.array([0.0, 1.0]), np.array([1.0, 2.0])
    M[:, 1] = np.log(lo[1] + scale[1] * M[:, 1])  # column 1 log-normal in measured units
    got = expected_hvi_2d(M, S, {1}, lo, scale, P, ref)
    for i in range(3):
        z = rng.standard_normal((100_000, 2))
        X = np.column_stack([M[i, 0] + S[i, 0] * z[:, 0], (np.exp(M[i, 1] + S[i, 1] * z[:, 1]) - lo[1]) / scale[1]])
        mc = hv_improvement(X, P, ref).mean()
        assert got[i] == pytest.approx(mc, rel=0.03, abs=2e-5)


def test_linas_plus_local_batches_stay_next_to_the_measured_front():
    s = get_strategy("linas+", seed=0, local_share=1.0)
    s.setup(Problem(SPACE, 2, objective_names=["err", "cost"]))
    cfgs = SPACE.sample(20, 4)
    X = SPACE.encode_many(cfgs)
    F = objectives(X)
    s.tell(cfgs, F, np.zeros((20, 0)))
    front = X[nondominated_ranks(F) == 0]
    out = SPACE.encode_many(s.ask(5))
    assert len(out) == 5
    assert all(((front != x).sum(axis=1) <= 1).any() for x in out)


def test_linas_plus_exploration_picks_prefer_what_the_predictor_knows_least():
    cfgs = SPACE.sample(20, 4)
    X = SPACE.encode_many(cfgs)
    F = objectives(X)
    sd = {}
    for explore_beta in (0.5, 3.0):
        s = get_strategy("linas+", seed=0, local_share=0.0, explore_beta=explore_beta)
        s.setup(Problem(SPACE, 2, objective_names=["err", "cost"]))
        s.tell(cfgs, F, np.zeros((20, 0)))
        picks = s.ask(5)
        sd[explore_beta] = np.mean([s._pred[SPACE.hash(c)][1].sum() for c in picks])
    assert sd[3.0] > 1.2 * sd[0.5]  # a bolder optimistic point goes where the predictor is unsure


def test_linas_plus_neighbours_go_through_the_spaces_canonical_form():
    # op order does not matter: the pool holds one representative per multiset, which can differ
    # from a centre's encoding in two places although one change of the centre reaches it
    sym = SearchSpace([Categorical("op", ["a", "b", "c", "d"], length=3)], name="sym",
                      canonicalize=lambda c: {"op": sorted(c["op"])})
    s = get_strategy("linas+", seed=0)
    s.setup(Problem(sym, 2, objective_names=["err", "cost"]))
    centre = sym.encode({"op": ["b", "b", "a"]})
    X, hashes = s._neighbours(centre[None])
    swaps = [["b", "b", x] for x in "bcd"] + [["a", "b", x] for x in "acd"]  # one element of {a, b, b} replaced
    assert set(hashes) == {sym.hash({"op": ops}) for ops in swaps}
    assert len(X) == len(hashes) == len(set(hashes))
    rep = s._pool_X[s._pool_row[sym.hash({"op": ["a", "b", "c"]})]]
    assert (rep != centre).sum() == 2  # the old Hamming-distance rule missed this neighbour


def test_linas_plus_neighbours_step_ordinal_dimensions_by_one_level():
    s = get_strategy("linas+", seed=0)
    s.setup(Problem(SPACE, 2, objective_names=["err", "cost"]))
    centre = SPACE.encode({"op": ["a", "b", "c", "d"], "w": 2})
    X, hashes = s._neighbours(centre[None])
    changed = X != centre
    assert (changed.sum(axis=1) == 1).all()
    w_moves = X[changed[:, 4], 4]
    assert sorted(w_moves - centre[4]) == [-1, 1]  # w = 1 and 3, never 4
    assert len(X) == 4 * 3 + 2 == len(set(hashes))


def test_linas_plus_rejects_bad_selection_options():
    from hwopt.errors import ConfigError

    with pytest.raises(ConfigError, match="acquisition"):
        get_strategy("linas+", acquisition="greedy")
    with pytest.raises(ConfigError, match="local_share"):
        get_strategy("linas+", local_share=1.5)
    with pytest.raises(ConfigError, match="explore_beta"):
        get_strategy("linas+", explore_beta=-1)
    with pytest.raises(ConfigError, match="warp"):
        get_strategy("linas+", warp="cube")
    with pytest.raises(ConfigError, match="descriptors"):
        get_strategy("linas+", descriptors="no")


def test_power_warp_inverts_and_stays_finite_far_out():
    from hwopt.strategies._linas_plus import _power_warp

    y = -np.random.default_rng(0).beta(5, 1.5, 200) * 80  # skewed, like negated accuracies
    tf, lo, hi = _power_warp(y)
    z = tf.transform(y[:, None])
    np.testing.assert_allclose(tf.inverse_transform(z).ravel(), y, atol=1e-8)
    assert lo < y.min() and hi > y.max()
    s = get_strategy("linas+", seed=0, warp="power")
    s._warps = {0: (tf, lo, hi)}
    far = s._natural(np.array([[-50.0, 0.0], [50.0, 0.0]]), np.zeros((2, 2)), 0.0)[:, 0]
    assert np.all(np.isfinite(far)) and lo <= far.min() and far.max() <= hi


@pytest.mark.filterwarnings("ignore::hwopt.warnings.PredictorWarning")  # a noise-free toy: health may warn
@pytest.mark.parametrize("warp", ["power", "auto"])
def test_linas_plus_warped_targets_search_and_report_their_warp(warp):
    s = get_strategy("linas+", seed=0, warp=warp)
    seen, asked = drive(s, 60)
    assert asked == len(seen) == 60
    health = s.state()["health"]
    assert all(h["warp"] in ("power", "log", "none") for h in health.values())
    if warp == "power":
        assert all(h["warp"] == "power" for h in health.values())
    else:
        assert all("cv_lpd" in h for h in health.values())
