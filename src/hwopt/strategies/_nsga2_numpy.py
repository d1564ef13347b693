"""A vectorised NSGA-II on integer vectors that follows pymoo 0.6's NSGA2 step by step.

Used as the inner loop of ``linas``: DyNAS-T runs pymoo's NSGA-II for 400 generations every
round, and pymoo's per-generation bookkeeping (about 27 ms for a population of 50) made that
inner loop most of LINAS's own overhead. The steps are pymoo's: binary tournaments on random
permutations (domination, then crowding distance, then a coin), SBX (per-variable probability
0.5, children exchanged with probability 0.5, continuous, then rounded), polynomial mutation
applied to a whole individual with probability ``mutation_prob`` (per variable 1/n_var),
duplicates eliminated against the population and within the offspring (mating repeated until
enough), and rank-and-crowding survival with random tie-breaks.
"""

from __future__ import annotations

from typing import Callable

import numpy as np


def nondominated_ranks(F: np.ndarray) -> np.ndarray:
    """Front index (0 = non-dominated) of each row of a minimisation matrix."""
    n = len(F)
    le = (F[:, None, :] <= F[None, :, :]).all(axis=2)
    lt = (F[:, None, :] < F[None, :, :]).any(axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    count = dom.sum(axis=0)
    rank = np.full(n, -1)
    front = np.flatnonzero(count == 0)
    r = 0
    while len(front):
        rank[front] = r
        count = count - dom[front].sum(axis=0)
        count[rank >= 0] = -1
        front = np.flatnonzero(count == 0)
        r += 1
    return rank


def crowding_distance(F: np.ndarray) -> np.ndarray:
    n, m = F.shape
    if n <= 2:
        return np.full(n, np.inf)
    cd = np.zeros(n)
    span = F.max(axis=0) - F.min(axis=0)
    span[span == 0] = np.inf
    for j in range(m):
        order = np.argsort(F[:, j], kind="stable")
        f = F[order, j]
        d = np.empty(n)
        d[0] = d[-1] = np.inf
        d[1:-1] = (f[2:] - f[:-2]) / span[j]
        cd[order] += d
    return cd


def _survive(F: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rank = nondominated_ranks(F)
    cd = np.zeros(len(F))
    keep: list[int] = []
    for r in range(rank.max() + 1):
        front = np.flatnonzero(rank == r)
        cd[front] = crowding_distance(F[front])
        if len(keep) + len(front) <= n:
            keep.extend(front)
        else:
            need = n - len(keep)
            noise = rng.random(len(front))
            order = np.lexsort((noise, -cd[front]))
            keep.extend(front[order[:need]])
            break
    keep = np.asarray(keep)
    return keep, rank[keep], cd[keep]


def _unique_new(X: np.ndarray, existing: np.ndarray) -> np.ndarray:
    """Indices of rows of X not in ``existing`` and not repeated within X (first kept)."""
    X = np.ascontiguousarray(X, dtype=np.int64)
    E = np.ascontiguousarray(existing, dtype=np.int64).reshape(-1, X.shape[1])
    view = np.dtype((np.void, X.shape[1] * 8))
    keys = X.view(view).ravel()
    _, first = np.unique(keys, return_index=True)
    first = np.sort(first)
    if len(E):
        first = first[~np.isin(keys[first], E.view(view).ravel())]
    return first


def _sbx(P1, P2, xl, xu, eta, prob, rng):
    n, d = P1.shape
    c1, c2 = P1.astype(float).copy(), P2.astype(float).copy()
    do = (rng.random((n, 1)) < prob) & (rng.random((n, d)) < 0.5) & (np.abs(P1 - P2) > 1e-14)
    y1, y2 = np.minimum(P1, P2).astype(float), np.maximum(P1, P2).astype(float)
    delta = np.where(y2 - y1 > 0, y2 - y1, 1.0)
    rand = rng.random((n, d))

    def child(beta_side, sign):
        beta = 1.0 + 2.0 * beta_side / delta
        alpha = 2.0 - np.power(beta, -(eta + 1.0))
        mask = rand <= 1.0 / alpha
        betaq = np.where(mask, np.power(rand * alpha, 1.0 / (eta + 1.0)),
                         np.power(1.0 / np.maximum(2.0 - rand * alpha, 1e-300), 1.0 / (eta + 1.0)))
        return 0.5 * ((y1 + y2) + sign * betaq * delta)

    k1 = child(y1 - xl, -1.0)
    k2 = child(xu - y2, 1.0)
    swap = rng.random((n, d)) < 0.5
    a, b = np.where(swap, k2, k1), np.where(swap, k1, k2)
    c1 = np.where(do, a, c1)
    c2 = np.where(do, b, c2)
    return np.clip(c1, xl, xu), np.clip(c2, xl, xu)


def _pm(X, xl, xu, eta, prob, rng):
    n, d = X.shape
    X = X.astype(float).copy()
    hit = (rng.random((n, 1)) < prob) & (rng.random((n, d)) < min(0.5, 1.0 / d)) & (xu > xl)
    span = np.where(xu > xl, xu - xl, 1.0)
    d1, d2 = (X - xl) / span, (xu - X) / span
    r = rng.random((n, d))
    mpow = 1.0 / (eta + 1.0)
    xy = np.where(r <= 0.5, 1.0 - d1, 1.0 - d2)
    val = np.where(r <= 0.5, 2.0 * r + (1.0 - 2.0 * r) * xy ** (eta + 1.0),
                   2.0 * (1.0 - r) + 2.0 * (r - 0.5) * xy ** (eta + 1.0))
    dq = np.where(r <= 0.5, val ** mpow - 1.0, 1.0 - val ** mpow)
    return np.where(hit, np.clip(X + dq * span, xl, xu), X)


def nsga2(evaluate: Callable[[np.ndarray], np.ndarray], xl: np.ndarray, xu: np.ndarray, pop_size: int,
          n_gen: int, rng: np.random.Generator, crossover_prob: float = 0.9, crossover_eta: float = 15.0,
          mutation_prob: float = 0.02, mutation_eta: float = 20.0, initial: np.ndarray | None = None) -> np.ndarray:
    """The final population (integer levels) after ``n_gen`` generations on ``evaluate``."""
    xl, xu = np.asarray(xl, float), np.asarray(xu, float)
    if initial is None:
        X = rng.integers(xl.astype(int), xu.astype(int) + 1, size=(pop_size, len(xl)))
    else:
        X = np.asarray(initial, dtype=np.int64)
    X = X[_unique_new(X, np.zeros((0, X.shape[1])))]
    F = evaluate(X)
    keep, rank, cd = _survive(F, pop_size, rng)
    X, F = X[keep], F[keep]
    for _ in range(n_gen - 1):
        off = np.zeros((0, X.shape[1]), dtype=np.int64)
        # pymoo repeats mating (up to 100 times) until enough offspring are new; attempts are
        # independent draws given the population, so drawing ``batch`` attempts' worth at once
        # and keeping the first new ones in order is the same distribution, with fewer calls
        batch = 1
        for _attempt in range(100):
            n_mat = int(np.ceil((pop_size - len(off)) / 2)) * batch
            batch = min(batch * 4, 16)
            perms = np.concatenate([rng.permutation(len(X)) for _ in range(int(np.ceil(4 * n_mat / len(X))) + 1)])
            T = perms[: 4 * n_mat].reshape(-1, 2)
            a, b = T[:, 0], T[:, 1]
            a_dom = (F[a] <= F[b]).all(1) & (F[a] < F[b]).any(1)
            b_dom = (F[b] <= F[a]).all(1) & (F[b] < F[a]).any(1)
            coin = rng.random(len(a)) < 0.5
            by_cd = np.where(cd[a] > cd[b], a, np.where(cd[b] > cd[a], b, np.where(coin, a, b)))
            win = np.where(a_dom, a, np.where(b_dom, b, by_cd)).reshape(-1, 2)
            c1, c2 = _sbx(X[win[:, 0]], X[win[:, 1]], xl, xu, crossover_eta, crossover_prob, rng)
            C = _pm(np.vstack([c1, c2]), xl, xu, mutation_eta, mutation_prob, rng)
            C = np.rint(C).astype(np.int64)
            C = C[_unique_new(C, np.vstack([X, off]))]
            off = np.vstack([off, C])[:pop_size]
            if len(off) >= pop_size:
                break
        if len(off) == 0:
            break
        Fo = evaluate(off)
        Xm, Fm = np.vstack([X, off]), np.vstack([F, Fo])
        keep, rank, cd = _survive(Fm, pop_size, rng)
        X, F = Xm[keep], Fm[keep]
    return X
