"""``linas+``: predictor-in-the-loop search that knows how wrong its predictors are.

What it keeps from LINAS: fit predictors on every measurement so far, search the predicted
objective space, measure the most promising configs. What it changes, and why:

* **Uncertainty-aware batch selection.** Each objective gets a Gaussian process (or, with
  ``predictor="auto"``, whichever of GP and ridge has the better leave-one-out Kendall tau);
  candidates are ranked by the hypervolume improvement of their *optimistic* point
  (mean − ``beta`` · std), and a batch is built greedily with the *kriging believer*: each
  chosen candidate enters the front at its predicted mean, so the next pick goes elsewhere on
  the front (diversity) instead of next to the last one.
* **Local search around the measured front.** ``local_share`` of each batch (80% by
  default) comes from candidates within ``local_radius`` changed dimensions of a measured
  non-dominated config (changes made to its encoding, then canonicalised, so a neighbour whose
  stored representative looks different, e.g. an isomorphic graph, still counts), as long as
  any of them promises an improvement. Real fronts are made of
  clusters of near-identical configs whose measurements differ by noise, which no predictor can
  rank; their neighbours are where the last percent of hypervolume is (docs/predictors.md has
  the measurements behind this default). ``acquisition="ehvi"`` swaps the optimistic point for
  the exact 2-D expected hypervolume improvement.
* **Exploration picks.** The rest of each batch is ranked over the whole space at a bolder
  optimistic point (mean − ``explore_beta`` · std). Measurements gathered next to the front
  teach the predictor little about distant regions: in runs that stalled, it rated the most
  accurate cells as average (41–46 % against a measured 61 %, std ≈ 10), so at ``beta`` they
  never promised an improvement and the search stayed on a local front. Where a cost model
  predicts the latency well, the accurate candidates no longer gain from optimism about their
  latency, and only this bolder share keeps the search for the most accurate ones going. (With
  ``acquisition="ehvi"`` every pick uses the expected improvement instead.)
* **No re-evaluation.** Known and already-proposed configs (by canonical hash) are never
  proposed; a small initial random design (``initial``) replaces LINAS's 50.
* **Exact descriptors as features** (``descriptors``): cheap, exactly computable counts of each
  config that the problem offers (``Problem.features``, e.g. log FLOPs and kernel count of the
  model's operator graph) join the encoding as predictor features. Latency follows them far
  more closely than it follows a one-hot encoding, and accuracy in part.
* **A cost model under the latency** (``cost_model``): when the problem offers per-operator-class
  cost counts (``Problem.cost_counts``: FLOPs, bytes, kernels per op class of each config's
  graph) for some objectives (``Problem.cost_columns``: measured latencies), each of those also
  gets a GP whose prior mean is the additive cost model fitted on them (``cost-gp``; in log
  space when the objective is modelled there), chosen like any other predictor by leave-one-out
  Kendall tau. The cost model extrapolates over the whole space from a few
  measurements; the GP corrects it where measurements disagree.
* **Exact columns are computed.** Objectives in ``problem.exact_columns`` (MACs, params,
  cost-model estimates) come from ``problem.exact`` with zero uncertainty.
* **Inner search.** Spaces with at most ``enumerate_limit`` encodings are scored exhaustively
  (any such space, not a benchmark special case); bigger ones (OFA has ~10^19) run the pymoo
  algorithm ``algorithm`` on the optimistic predictions and select from everything it visited.
* **Health.** Before each refit, the previous round's predictions of the configs just measured
  are compared with the measurements (tau, RMSE, share inside the 80% interval), alongside
  leave-one-out CV figures; ``state()`` returns them, and a PredictorWarning is raised when
  measurements fall outside the stated interval more often than chance allows.
* **Target warping** (``warp``): ``"log"`` models wide-range positive objectives (latency) in
  log space; ``"power"`` standardises every predicted objective and applies scikit-learn's
  Yeo-Johnson transform, so a skewed objective (accuracy with a long tail of poor configs)
  looks Gaussian to the GP and its top end is resolved; ``"auto"`` picks per objective and
  round whichever has the higher leave-one-out log predictive density of the *measured* values
  (Jacobian included, so the two spaces compare).
* **Warm start** from any history (``warm_start``) simply seeds the training data.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from hwopt.errors import ConfigError
from hwopt.predictors import PREDICTORS, SpaceFeatures, coverage, cross_validate, kendall_tau, rmse, undercovered
from hwopt.space import Config
from hwopt.strategies._base import Problem, Strategy
from hwopt.strategies._hvi import expected_hvi_2d, hv_improvement, nondominated
from hwopt.strategies._random import sample_unseen
from hwopt.warnings import PredictorWarning

_Z80 = 1.2815515655446004
#: hold-out predictions needed before their errors rescale a predictor's std (and before the health
#: warning judges the stated intervals)
RECALIBRATION_MIN = 10
#: predictors that read cost counts next to the encoding: offered by ``cost_model``, not selectable
_COST_PREDICTORS = ("additive-cost", "cost-gp")


class LinasPlusStrategy(Strategy):
    """GP-guided, uncertainty-aware, never-repeating successor of LINAS (hwopt's default)."""

    name = "linas+"

    def __init__(self, *, seed: int | None = None, initial: int = 10, batch: int = 10, batch_growth: float = 0.05,
                 predictor: str = "auto", beta: float = 0.5, enumerate_limit: int = 100_000,
                 algorithm: str = "nsga2", inner_population: int = 100, inner_generations: int = 30,
                 hyper_refit_growth: float = 1.25, log_targets: bool = True, acquisition: str = "optimistic",
                 local_share: float = 0.8, local_radius: int = 1, warp: str = "log",
                 explore_beta: float = 3.0, descriptors: bool = True, cost_model: bool = True):
        super().__init__(seed=seed)
        if initial < 2 or batch < 1:
            raise ConfigError(f"linas+ needs initial >= 2 and batch >= 1, got initial={initial}, batch={batch}")
        fixed = [n for n in PREDICTORS.names() if n not in _COST_PREDICTORS]
        if predictor != "auto" and predictor not in fixed:
            raise ConfigError(f"linas+ predictor must be auto or one of {', '.join(fixed)}, got {predictor!r} "
                              f"(the cost-model predictors need cost counts and come with predictor=auto)")
        if algorithm not in ("nsga2", "age", "unsga3"):
            raise ConfigError(f"linas+ inner algorithm must be one of nsga2, age, unsga3; got {algorithm!r}")
        self.initial, self.batch, self.batch_growth = initial, batch, batch_growth
        self.predictor, self.beta, self.enumerate_limit = predictor, beta, enumerate_limit
        self.algorithm, self.inner_population, self.inner_generations = algorithm, inner_population, inner_generations
        if acquisition not in ("ehvi", "optimistic"):
            raise ConfigError(f"linas+ acquisition must be 'ehvi' or 'optimistic', got {acquisition!r}")
        self.hyper_refit_growth, self.log_targets, self.acquisition = hyper_refit_growth, log_targets, acquisition
        if not 0.0 <= local_share <= 1.0 or local_radius < 1:
            raise ConfigError(f"linas+ needs 0 <= local_share <= 1 and local_radius >= 1; "
                              f"got local_share={local_share}, local_radius={local_radius}")
        self.local_share, self.local_radius = local_share, local_radius
        if explore_beta < 0:
            raise ConfigError(f"linas+ needs explore_beta >= 0, got {explore_beta}")
        self.explore_beta = explore_beta
        if not isinstance(descriptors, bool):
            raise ConfigError(f"linas+ descriptors must be true or false, got {descriptors!r}")
        self.descriptors = descriptors
        if not isinstance(cost_model, bool):
            raise ConfigError(f"linas+ cost_model must be true or false, got {cost_model!r}")
        self.cost_model = cost_model
        if warp not in ("log", "power", "auto"):
            raise ConfigError(f"linas+ warp must be 'log', 'power' or 'auto', got {warp!r}")
        if warp != "log" and acquisition == "ehvi":
            raise ConfigError("linas+ acquisition='ehvi' needs warp='log' "
                              "(its closed form knows normal and log-normal marginals only)")
        self.warp = warp

    # ------------------------------------------------------------------ set-up
    def setup(self, problem: Problem) -> None:
        super().setup(problem)
        sp = problem.space
        self._features = SpaceFeatures(sp, extra=problem.features if self.descriptors else None)
        self._costs = problem.cost_counts if self.cost_model and problem.cost_columns else None
        self._cost_cols = {int(c) for c in problem.cost_columns} if self._costs else set()
        self._n_costs = self._costs(np.zeros((1, sp.n_var), dtype=np.int64)).shape[1] if self._costs else 0
        self._X: list[np.ndarray] = []
        self._F: list[np.ndarray] = []
        self._G: list[np.ndarray] = []
        self._known: set[str] = set()
        self._proposed: set[str] = set()
        self._pred: dict[str, tuple[np.ndarray, ...]] = {}  # config hash -> mean, stated std, raw std, recalibrated
        #: per objective: (measured, predicted mean, stated std, raw std, recalibration active) per hold-out
        self._health: dict[int, list[tuple[float, float, float, float, float]]] = {}
        self._warned: set[int] = set()
        self._theta: dict[int, tuple[float, ...]] = {}
        self._theta_n: dict[int, int] = {}
        self._round = 0
        self._cal: dict[int, float] = {}
        self._last: dict[str, Any] = {}
        self._exact_cols = tuple(int(c) for c in problem.exact_columns) if problem.exact else ()
        self._pred_cols = [j for j in range(problem.n_obj) if j not in self._exact_cols]
        self._pool_X: np.ndarray | None = None
        self._warps: dict[int, tuple[Any, float, float]] = {}  # objective -> (transformer, lowest, highest)
        if sp.size() <= self.enumerate_limit:
            grids = np.indices(tuple(int(u) + 1 for u in sp.xu)).reshape(sp.n_var, -1).T.astype(np.int64)
            if sp.is_conditional:
                _, keep = np.unique(sp.canonical_matrix(grids), axis=0, return_index=True)
                grids = grids[np.sort(keep)]
            hashes = np.asarray([sp.hash(sp.decode(x)) for x in grids])
            if sp.canonicalize is not None:  # a custom hook (e.g. isomorphic graphs): one per hash
                _, keep = np.unique(hashes, return_index=True)
                grids, hashes = grids[np.sort(keep)], hashes[np.sort(keep)]
            self._pool_row = {h: i for i, h in enumerate(hashes)}
            self._pool_X = grids
            self._pool_Z = self._featurize(grids)
            self._pool_E = problem.exact(grids) if self._exact_cols else None
            self._pool_free = np.ones(len(grids), dtype=bool)

    @property
    def batch_size(self) -> int:
        return max(self.batch, int(self.batch_growth * len(self._X)))

    # ------------------------------------------------------------------ ask / tell
    def ask(self, n: int) -> list[Config]:
        if self._ok_rows().sum() < self.initial:
            return self._random(max(n, 0))
        self._round += 1
        return self._select(n)

    def tell(self, configs: Sequence[Config], F: np.ndarray, G: np.ndarray) -> None:
        F = np.asarray(F, dtype=float).reshape(len(configs), -1)
        G = np.asarray(G, dtype=float).reshape(len(configs), -1)
        for cfg, f, g in zip(configs, F, G):
            h = self.space.hash(cfg)
            if h in self._known:
                continue
            self._known.add(h)
            self._X.append(self.space.encode(cfg))
            self._F.append(f)
            self._G.append(g)
            pred = self._pred.pop(h, None)
            if pred is not None and not np.isnan(f).any():
                mu, sd, raw, recalibrated = pred
                for k, j in enumerate(self._pred_cols):
                    y = self._transform(j, f[j])
                    self._health.setdefault(j, []).append((y, mu[k], sd[k], raw[k], float(recalibrated[k])))
        self._check_health()

    # ------------------------------------------------------------------ pieces
    def _ok_rows(self) -> np.ndarray:
        if not self._F:
            return np.zeros(0, dtype=bool)
        return ~np.isnan(np.asarray(self._F)).any(axis=1)

    def _random(self, n: int) -> list[Config]:
        return sample_unseen(self.space, self.rng, n, self._proposed, self._known)

    def _transform(self, j: int, y):
        if j in self._warps:
            z = self._warps[j][0].transform(np.reshape(np.asarray(y, dtype=float), (-1, 1))).ravel()
            return z if np.ndim(y) else float(z[0])
        return np.log(y) if j in self._log_cols else y

    @property
    def _log_cols(self) -> set[int]:
        return getattr(self, "_log_cols_", set())

    def _fit(self) -> tuple[list[Any], list[Any]]:
        """One predictor per predicted objective (and constraint) on every measurement so far."""
        X = np.asarray(self._X)
        F = np.asarray(self._F)
        ok = ~np.isnan(F).any(axis=1)
        Zall = self._featurize(X[ok])
        Z = Zall[:, :Zall.shape[1] - self._n_costs]
        self._log_cols_ = {j for j in self._pred_cols
                           if self.log_targets and (F[ok, j] > 0).all()
                           and (j in self._cost_cols or F[ok, j].max() > 5 * F[ok, j].min())}
        self._warps = {}
        models, health = [], {}
        for j in self._pred_cols:
            options = [] if self.warp == "power" else [None]
            if self.warp in ("power", "auto"):
                options.append(_power_warp(F[ok, j]))
            best = None
            for w in options:
                y = self._transform(j, F[ok, j]) if w is None else w[0].transform(F[ok, j:j + 1]).ravel()
                model, info = self._fit_one(j, Zall, y, warped=w is not None)
                if len(options) > 1:
                    info["cv_lpd"] = _loo_log_density(model, y, self._log_jacobian(j, F[ok, j], w))
                if best is None or info.get("cv_lpd", 0.0) > best[1].get("cv_lpd", 0.0):
                    best = (model, info, w)
            model, info, w = best
            if w is not None:
                self._warps[j] = w
            models.append(model)
            health[self._obj_name(j)] = info
        G = np.asarray(self._G).reshape(len(X), -1)[ok]
        gmodels = []
        for c in range(G.shape[1]):
            g = np.where(np.isfinite(G[:, c]), G[:, c], np.nanmax(np.where(np.isfinite(G[:, c]), G[:, c], 0)) + 1)
            gmodels.append(_Columns(PREDICTORS.create("gp").fit(Z, g), slice(0, Z.shape[1])))
        self._last["health"] = health
        return models, gmodels

    def _log_jacobian(self, j: int, y: np.ndarray, w) -> np.ndarray:
        """log |d transformed / d measured| per row, so densities of different warps compare."""
        if w is None:
            return -np.log(y) if j in self._log_cols else np.zeros(len(y))
        h = 1e-4 * (float(np.std(y)) or 1.0)
        d = (w[0].transform((y + h)[:, None]) - w[0].transform((y - h)[:, None])).ravel() / (2 * h)
        return np.log(np.maximum(np.abs(d), 1e-300))

    def _fit_one(self, j: int, Zall: np.ndarray, y: np.ndarray, warped: bool = False):
        """The best predictor of objective ``j`` by leave-one-out Kendall tau. ``Zall`` holds the
        encoding features, then the problem's cost counts (if any): an unwarped objective those
        counts describe (a latency) also gets a GP whose mean is the additive cost model on them."""
        names = ["gp", "ridge"] if self.predictor == "auto" else [self.predictor]
        if self.predictor == "auto" and not warped and j in self._cost_cols:
            names.append("cost-gp")
        nz = Zall.shape[1] - self._n_costs
        best = None
        for name in names:
            params: dict[str, Any] = ({"n_counts": self._n_costs, "log_target": j in self._log_cols}
                                      if name == "cost-gp" else {})
            key = (j, warped, name)
            if name in ("gp", "cost-gp") and key in self._theta and len(y) < self.hyper_refit_growth * self._theta_n[key]:
                params["theta"] = self._theta[key]
            cols = slice(None) if name == "cost-gp" else slice(0, nz)
            model = PREDICTORS.create(name, **params).fit(Zall[:, cols], y)
            if name in ("gp", "cost-gp") and "theta" not in params:
                self._theta[key], self._theta_n[key] = model.theta_, len(y)
            if hasattr(model, "loo_predictions"):
                mu, sd = model.loo_predictions()
                info = {"predictor": name, "cv_tau": kendall_tau(y, mu), "cv_rmse": rmse(y, mu),
                        "cv_coverage80": coverage(y, mu, sd)}
            else:
                s = cross_validate(model, Zall[:, cols], y, seed=0)
                info = {"predictor": name, "cv_tau": s.tau, "cv_rmse": s.rmse, "cv_coverage80": s.coverage80}
            model = _Columns(model, cols)
            if best is None or (info["cv_tau"], -info["cv_rmse"]) > (best[1]["cv_tau"], -best[1]["cv_rmse"]):
                best = (model, info)
        info = dict(best[1])
        info["warp"] = "power" if warped else ("log" if j in self._log_cols else "none")
        info["std_scale"] = self._recalibration(j)
        hist = self._health.get(j, [])
        if len(hist) >= 2:
            a = np.asarray(hist[-100:])
            info.update(holdout_n=len(a), holdout_tau=kendall_tau(a[:, 0], a[:, 1]),
                        holdout_rmse=rmse(a[:, 0], a[:, 1]), holdout_coverage80=coverage(a[:, 0], a[:, 1], a[:, 2]))
        return best[0], info

    def _featurize(self, X: np.ndarray) -> np.ndarray:
        """Predictor features of encoded configs, with the problem's cost counts (if any) appended."""
        Z = self._features.transform(X)
        return np.hstack([Z, self._costs(X)]) if self._costs is not None else Z

    def _obj_name(self, j: int) -> str:
        names = list(self.problem.objective_names)
        return names[j] if j < len(names) else f"f{j}"

    def _candidates(self, models) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(pool indices, None) for an enumerated space, else (None, encoded GA archive)."""
        if self._pool_X is not None:
            return np.flatnonzero(self._pool_free), None
        return None, self._inner_search(models)

    def _score(self, Z: np.ndarray, E: np.ndarray | None, models, gmodels):
        m = self.problem.n_obj
        M = np.zeros((len(Z), m))
        S = np.zeros((len(Z), m))
        for k, (j, model) in enumerate(zip(self._pred_cols, models)):
            M[:, j], S[:, j] = model.predict_dist(Z)
            self._cal[j] = self._recalibration(j)
            S[:, j] *= self._cal[j]
        if self._exact_cols:
            for k, j in enumerate(self._exact_cols):
                M[:, j] = E[:, k]
        feas = np.ones(len(Z), dtype=bool)
        for g in gmodels:
            mu, sd = g.predict_dist(Z)
            feas &= mu - self.beta * sd <= 0
        return M, S, feas

    def _recalibration(self, j: int) -> float:
        """Widen objective ``j``'s std when recent hold-out errors were larger than stated.

        The configs a search picks are the ones its predictors are most optimistic about, so
        their errors run larger than cross-validation suggests (the winner's curse); scaling
        the std until 80% of the last 50 hold-out errors fit the 80% interval keeps both the
        optimism and the stated uncertainty honest. Never narrows it.
        """
        hist = self._health.get(j, [])[-50:]
        if len(hist) < RECALIBRATION_MIN:
            return 1.0
        a = np.asarray(hist)
        z = np.abs(a[:, 0] - a[:, 1]) / np.maximum(a[:, 3], 1e-12)  # against the model's own std
        return max(1.0, float(np.quantile(z, 0.8)) / _Z80)

    def _natural(self, M: np.ndarray, S: np.ndarray, shift: float) -> np.ndarray:
        """Objective values at ``mean + shift·std`` per column, back in measured units."""
        V = M + shift * S
        for j in self._log_cols - set(self._warps):
            V[:, j] = np.exp(V[:, j])
        for j, w in self._warps.items():
            V[:, j] = _unwarp(w, V[:, j])
        return V

    def _neighbours(self, centres: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Configs reachable from a centre by changing at most ``local_radius`` dimensions.

        A change is any other level of an unordered dimension, or the next level up or down of
        an ordinal one (so a wide integer range does not flood the neighbourhood).
        Returns their encodings and canonical hashes, row by row (centres excluded). Neighbours are made by
        mutating the encoding and then canonicalised, so for a space whose ``canonicalize`` hook
        merges equivalent configs (isomorphic graphs) a neighbour is found even when its stored
        representative differs from the centre in more dimensions; inactive dimensions of
        conditional spaces give no new config.
        """
        sp = self.space
        seen = {sp.hash(sp.decode(x)) for x in centres}
        found: list[np.ndarray] = []
        hashes: list[str] = []
        frontier = [np.asarray(x, dtype=np.int64) for x in centres]
        for _ in range(self.local_radius):
            step = []
            for x in frontier:
                for d in range(sp.n_var):
                    values = ((x[d] - 1, x[d] + 1) if sp.ordinal[d]
                              else range(int(sp.xl[d]), int(sp.xu[d]) + 1))
                    for v in values:
                        if v == x[d] or not sp.xl[d] <= v <= sp.xu[d]:
                            continue
                        y = x.copy()
                        y[d] = v
                        cfg = sp.decode(y)
                        if not sp.is_feasible(cfg):
                            continue
                        h = sp.hash(cfg)
                        if h not in seen:
                            seen.add(h)
                            hashes.append(h)
                            step.append(y)
            found.extend(step)
            frontier = step
        return np.asarray(found, dtype=np.int64).reshape(-1, sp.n_var), hashes

    def _inner_search(self, models) -> np.ndarray:
        from pymoo.core.problem import Problem as PymooProblem
        from pymoo.optimize import minimize

        from hwopt.strategies._operators import MixedCrossover, MixedMutation
        from hwopt.strategies._pymoo import AGEMOEAStrategy, NSGA2Strategy, UNSGA3Strategy

        sp = self.space
        archive: list[np.ndarray] = []
        outer = self

        class Predicted(PymooProblem):
            def _evaluate(self, x, out, *args, **kwargs):
                X = np.clip(np.rint(x), sp.xl, sp.xu).astype(np.int64)
                archive.append(X)
                Z = outer._featurize(X)
                E = outer.problem.exact(X) if outer._exact_cols else None
                M, S, _ = outer._score(Z, E, models, [])
                out["F"] = outer._natural(M, S, -outer.beta)

        problem = Predicted(n_var=sp.n_var, n_obj=self.problem.n_obj, xl=sp.xl.astype(float),
                            xu=sp.xu.astype(float), vtype=int)
        X = np.asarray(self._X)
        F = np.asarray(self._F)
        ok = ~np.isnan(F).any(axis=1)
        front = X[ok][_front_index(F[ok])][: self.inner_population // 2]
        rand = self.rng.integers(sp.xl, sp.xu + 1, size=(self.inner_population - len(front), sp.n_var))
        init = np.vstack([front, rand]) if len(front) else rand
        cls = {"nsga2": NSGA2Strategy, "age": AGEMOEAStrategy, "unsga3": UNSGA3Strategy}[self.algorithm]
        holder = cls(seed=int(self.rng.integers(2 ** 31)), population=self.inner_population)
        holder.problem = self.problem
        algo = holder._algorithm(sampling=init, crossover=MixedCrossover(sp.ordinal), mutation=MixedMutation(sp.ordinal),
                                 eliminate_duplicates=True)
        minimize(problem, algo, ("n_gen", self.inner_generations), seed=holder.seed, verbose=False)
        allX = np.unique(np.vstack(archive), axis=0)
        if sp.is_conditional:
            _, keep = np.unique(sp.canonical_matrix(allX), axis=0, return_index=True)
            allX = allX[keep]
        return allX

    def _select(self, n: int) -> list[Config]:
        sp = self.space
        models, gmodels = self._fit()
        F = np.asarray(self._F)
        G = np.asarray(self._G).reshape(len(F), -1)
        good = ~np.isnan(F).any(axis=1) & (np.nan_to_num(G, nan=np.inf) <= 0).all(axis=1)
        rows = good if good.any() else ~np.isnan(F).any(axis=1)
        Y = F[rows]
        centres = np.asarray(self._X)[rows][_front_index(Y)] if self.local_share > 0 else np.zeros((0, sp.n_var))
        NX, nhash = self._neighbours(centres)
        idx, Xc = self._candidates(models)
        if idx is not None:
            Xc, Zc = self._pool_X[idx], self._pool_Z[idx]
            Ec = self._pool_E[idx] if self._pool_E is not None else None
            near = np.isin(idx, [self._pool_row[h] for h in nhash if h in self._pool_row])
        else:
            Xc, near = _with_neighbours(sp, Xc, NX, nhash)
            Zc = self._featurize(Xc)
            Ec = self.problem.exact(Xc) if self._exact_cols else None
        M, S, feas = self._score(Zc, Ec, models, gmodels)
        opt = self._natural(M, S, -self.beta)
        mean = self._natural(M, S, 0.0)
        lo, hi = Y.min(axis=0), Y.max(axis=0)
        scale = np.where(hi > lo, hi - lo, 1.0)
        On, Mn = (opt - lo) / scale, (mean - lo) / scale
        Oe = (self._natural(M, S, -self.explore_beta) - lo) / scale
        front = list(nondominated((Y - lo) / scale))
        ref = np.full(F.shape[1], 1.1)
        alive = np.ones(len(Xc), dtype=bool)
        chosen: list[Config] = []
        hvi_first = None
        use_ehvi = self.acquisition == "ehvi" and F.shape[1] == 2
        n_local = int(round(self.local_share * n))
        cal = np.array([self._cal.get(j, 1.0) for j in self._pred_cols])  # the same for every pick
        recalibrated = np.array([len(self._health.get(j, [])) >= RECALIBRATION_MIN for j in self._pred_cols])
        while len(chosen) < n and alive.any():
            if use_ehvi:
                hvi = expected_hvi_2d(M[alive], S[alive], self._log_cols, lo, scale, np.asarray(front), ref)
            else:
                O = On if len(chosen) < n_local else Oe
                hvi = hv_improvement(O[alive], np.asarray(front), ref, self.rng)
            hvi[~feas[alive]] *= 1e-6
            cand = np.flatnonzero(alive)
            if len(chosen) < n_local and (near & alive).any():
                hvi = np.where(near[alive], hvi, -1.0)
            if hvi.max() > 0:
                i = cand[int(np.argmax(hvi))]
            else:  # nothing promises improvement: closest to the front (smallest domination margin)
                P = np.asarray(front)
                margin = np.max(np.min(On[cand][:, None, :] - P[None, :, :], axis=2), axis=1)
                i = cand[int(np.argmin(margin))]
            if hvi_first is None:
                hvi_first = float(hvi.max())
            alive[i] = False
            cfg = sp.decode(Xc[i])
            h = sp.hash(cfg)
            if self._pool_X is not None:
                self._pool_free[idx[i]] = False
            if h in self._known or h in self._proposed or not sp.is_feasible(cfg):
                continue
            self._proposed.add(h)
            chosen.append(cfg)
            self._pred[h] = (M[i, self._pred_cols], S[i, self._pred_cols], S[i, self._pred_cols] / cal, recalibrated)
            front = list(nondominated(np.vstack([np.asarray(front).reshape(-1, len(ref)), Mn[i:i + 1]])))
        self._last.update(round=self._round, n_train=int(good.sum()), candidates=int(len(Xc)),
                          inner="enumerate" if self._pool_X is not None else self.algorithm,
                          best_optimistic_hvi=hvi_first)
        return chosen

    def _check_health(self) -> None:
        """Warn (once per objective) when too few measurements fall inside the stated 80% interval,
        judged on the predictions whose std the hold-out recalibration could already widen: before
        it has ``RECALIBRATION_MIN`` hold-outs the stated std is the raw model's, whose understatement
        it exists to correct (the report's health plot shows every round)."""
        for j, hist in self._health.items():
            recent = [e for e in hist if e[4]][-50:]
            if j in self._warned or len(recent) < 20:
                continue
            a = np.asarray(recent)
            inside = int(np.sum(np.abs(a[:, 0] - a[:, 1]) <= _Z80 * a[:, 2]))
            if undercovered(inside, len(a)):
                self._warned.add(j)
                warnings.warn(
                    f"predictor for {self._obj_name(j)!r}: only {inside} of the last {len(a)} measurements fell "
                    f"inside its 80% interval; its uncertainty is understated and the search may be misled",
                    PredictorWarning, stacklevel=3)

    def state(self) -> dict[str, Any]:
        out = {"round": self._round, "n_told": len(self._X), "reproposed": 0}
        out.update(self._last)
        return _jsonable(out)


class _Columns:
    """A fitted predictor that reads its own columns of the strategy's full feature matrix."""

    def __init__(self, model, cols: slice):
        self.model, self.cols = model, cols

    def predict_dist(self, Z: np.ndarray):
        return self.model.predict_dist(Z[:, self.cols])

    def __getattr__(self, name: str):
        return getattr(self.__dict__["model"], name)


def _unwarp(w, z: np.ndarray) -> np.ndarray:
    """Measured units of warped values ``z``; past the inverse's domain, the nearer bound."""
    tf, lo, hi = w
    with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN where the inverse is undefined: handled below
        v = tf.inverse_transform(np.reshape(z, (-1, 1))).ravel()
    return np.clip(np.where(np.isnan(v), np.where(z > 0, hi, lo), v), lo, hi)


def _loo_log_density(model, y: np.ndarray, log_jac: np.ndarray) -> float:
    """Mean leave-one-out log predictive density of the measured values (Gaussian in the model's space)."""
    if not hasattr(model, "loo_predictions"):
        return -np.inf
    mu, sd = model.loo_predictions()
    sd = np.maximum(sd, 1e-12)
    return float(np.mean(-0.5 * ((y - mu) / sd) ** 2 - np.log(sd) + log_jac))


def _power_warp(y: np.ndarray):
    """Standardise, then Yeo-Johnson (scikit-learn): makes a skewed objective look Gaussian to the GP.

    Returns (transformer, lowest, highest) natural value an inverse may return: one observed
    range beyond the data, so an optimistic prediction far out stays finite.
    """
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PowerTransformer, StandardScaler

    y = np.asarray(y, dtype=float).reshape(-1, 1)
    span = float(np.ptp(y)) or 1.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        tf = make_pipeline(StandardScaler(), PowerTransformer(method="yeo-johnson")).fit(y)
    return tf, float(y.min()) - span, float(y.max()) + span


def _with_neighbours(sp, Xc: np.ndarray, NX: np.ndarray, nhash: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Inner-search candidates plus the front's neighbours (``NX``, hashes ``nhash``), one row per
    canonical config, and which rows are neighbours."""
    near_set = set(nhash)
    rows: dict[str, np.ndarray] = {}
    for x in Xc:
        rows.setdefault(sp.hash(sp.decode(x)), x)
    for h, x in zip(nhash, NX):
        rows.setdefault(h, x)
    X = np.asarray(list(rows.values()), dtype=np.int64).reshape(-1, sp.n_var)
    return X, np.asarray([h in near_set for h in rows], dtype=bool)


def _front_index(F: np.ndarray) -> np.ndarray:
    from hwopt.strategies._nsga2_numpy import nondominated_ranks

    return np.flatnonzero(nondominated_ranks(F) == 0)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
