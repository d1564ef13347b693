"""Hypervolume improvement of many candidate points over a front, vectorised.

Two objectives: exact, from the front's staircase. More: Monte Carlo over the box below the
reference point (candidates dominated by the front are exactly 0 either way).
"""

from __future__ import annotations

import numpy as np


def nondominated(P: np.ndarray) -> np.ndarray:
    """The non-dominated rows of a minimisation matrix (duplicates kept once)."""
    if len(P) == 0:
        return P
    P = np.unique(P, axis=0)
    le = (P[:, None, :] <= P[None, :, :]).all(axis=2)
    lt = (P[:, None, :] < P[None, :, :]).any(axis=2)
    dominated = (le & lt).any(axis=0)
    return P[~dominated]


def dominated_by(C: np.ndarray, P: np.ndarray) -> np.ndarray:
    """For each candidate row, whether some front point weakly dominates it."""
    if len(P) == 0:
        return np.zeros(len(C), dtype=bool)
    out = np.zeros(len(C), dtype=bool)
    for p in P:  # front is small; candidates many
        out |= (C >= p).all(axis=1)
    return out


def hv_improvement(C: np.ndarray, P: np.ndarray, ref: np.ndarray, rng: np.random.Generator | None = None,
                   samples: int = 4096) -> np.ndarray:
    """HV(P ∪ {c}) − HV(P) for every candidate row ``c`` (minimisation, reference ``ref``)."""
    C = np.asarray(C, float)
    ref = np.broadcast_to(np.asarray(ref, float), (C.shape[1],))
    P = np.asarray(P, float).reshape(-1, C.shape[1])
    P = nondominated(P[(P < ref).all(axis=1)])
    out = np.zeros(len(C))
    live = (C < ref).all(axis=1) & ~dominated_by(C, P)
    if not live.any():
        return out
    if C.shape[1] == 2:
        out[live] = _hvi_2d(C[live], P, ref)
    elif C.shape[1] == 1:
        best = P[:, 0].min() if len(P) else ref[0]
        out[live] = np.clip(best - C[live, 0], 0, None)
    else:
        out[live] = _hvi_mc(C[live], P, ref, rng or np.random.default_rng(0), samples)
    return out


def _stripes(P: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2-D front's non-dominated region as vertical stripes: x-start, x-end, height."""
    order = np.argsort(P[:, 0])
    a, b = P[order, 0], P[order, 1]
    return (np.concatenate([[-np.inf], a]), np.concatenate([a, [ref[0]]]), np.concatenate([[ref[1]], b]))


def _hvi_2d(C: np.ndarray, P: np.ndarray, ref: np.ndarray) -> np.ndarray:
    r1, r2 = ref
    starts, ends, heights = _stripes(P, ref)
    x, y = C[:, :1], C[:, 1:2]
    length = np.clip(np.minimum(ends, r1)[None, :] - np.maximum(starts[None, :], x), 0, None)
    return (length * np.clip(np.minimum(heights, r2)[None, :] - y, 0, None)).sum(axis=1)


def _hvi_mc(C: np.ndarray, P: np.ndarray, ref: np.ndarray, rng: np.random.Generator, samples: int) -> np.ndarray:
    lo = C.min(axis=0)
    if len(P):
        lo = np.minimum(lo, P.min(axis=0))
    U = lo + rng.random((samples, C.shape[1])) * (ref - lo)
    U = U[~dominated_by(U, P)]
    vol = float(np.prod(ref - lo)) / samples
    out = np.empty(len(C))
    for k in range(0, len(C), 256):
        out[k:k + 256] = (C[k:k + 256, None, :] <= U[None, :, :]).all(axis=2).sum(axis=1) * vol
    return out


def expected_hvi_2d(M: np.ndarray, S: np.ndarray, log_cols: set[int], lo: np.ndarray, scale: np.ndarray,
                    P: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exact expected hypervolume improvement of two independent predictive marginals.

    Column ``j`` of a candidate is ``N(M[:, j], S[:, j])`` in measured units, or log-normal
    (``exp`` of that normal) when ``j`` is in ``log_cols``; the front ``P`` and ``ref`` live in
    the scaled space ``(value − lo) / scale``. The improvement region splits into vertical
    stripes of the front's staircase; in each, the improvement is a product of one term per
    objective, so by independence its expectation is a product of two closed-form
    "put" expectations E[(t − X)⁺] (normal or log-normal). Vectorised over candidates × stripes.
    """
    from scipy.special import ndtr

    P = np.asarray(P, float).reshape(-1, 2)
    starts, ends, heights = _stripes(nondominated(P[(P < ref).all(axis=1)]), ref)

    def put(j: int, t: np.ndarray) -> np.ndarray:
        """E[(t − scaled X_j)⁺] for every candidate (rows) and threshold t (columns)."""
        K = lo[j] + np.asarray(t, float)[None, :] * scale[j]
        m, s = M[:, j:j + 1], np.maximum(S[:, j:j + 1], 1e-12)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if j in log_cols:
                lk = np.log(np.where(K > 0, K, 1.0))
                d2 = (lk - m) / s
                val = K * ndtr(d2) - np.exp(m + 0.5 * s * s) * ndtr(d2 - s)
                val = np.where(K > 0, val, 0.0)
            else:
                z = (K - m) / s
                val = (K - m) * ndtr(z) + s * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
        val = np.where(np.isneginf(K), 0.0, val)
        return np.maximum(val, 0.0) / scale[j]

    width = put(0, ends) - put(0, starts)
    return (np.maximum(width, 0.0) * put(1, heights)).sum(axis=1)
