"""Estimators on data: expansion coefficients (Assumption 1), conditional dependence (Assumption 2),
the separation mu of the ground-truth classifier, the Theorem 1 bounds (Eq. 13, 14) and the gamma
of the Eq. 17 = Eq. 3 argument.

Neighbourhoods are the ones the transformation T induces: T1 moves a point by Gaussian noise
of scale ``v0 * mean|x|``, so we take N_r(V) = {x : ||x - x'|| <= r for some x' in V} with that
``r``; in X^alpha alone the distance is along the X coordinate.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def neighbourhood_mass(points: np.ndarray, in_V: np.ndarray, radius: float) -> tuple[float, float]:
    """P(V) and P(N_r(V)) under the empirical distribution of ``points`` ([n, d])."""
    points = np.asarray(points, dtype=float).reshape(len(points), -1)
    in_V = np.asarray(in_V, dtype=bool)
    if not in_V.any():
        return 0.0, 0.0
    if radius <= 0:
        return float(in_V.mean()), float(in_V.mean())
    dist, _ = cKDTree(points[in_V]).query(points, k=1, distance_upper_bound=radius * (1 + 1e-12))
    return float(in_V.mean()), float(np.isfinite(dist).mean())


def expansion_ratio(points: np.ndarray, in_V: np.ndarray, radius: float) -> float:
    """P(N_r(V)) / P(V): how much the set V grows under the neighbourhood (inf if V is empty)."""
    pv, pn = neighbourhood_mass(points, in_V, radius)
    return pn / pv if pv > 0 else float("inf")


def interval_expansion(x: np.ndarray, a: float, radius: float, n_grid: int = 200) -> float:
    """The worst expansion over intervals V = [s, t] of mass <= a on a line, from a sample.

    A 1-D stand-in for Assumption 1's 'for all V with P(V) <= a' (intervals are the sets that
    grow least under a ball neighbourhood when the density is unimodal on them); sets whose
    neighbourhood already holds all the mass are skipped, as in the definition.
    """
    xs = np.sort(np.asarray(x, dtype=float).ravel())
    n = len(xs)
    F = lambda v: np.searchsorted(xs, v, side="right") / n  # noqa: E731
    F_left = lambda v: np.searchsorted(xs, v, side="left") / n  # noqa: E731
    qs = np.quantile(xs, np.linspace(0, 1, n_grid))
    best = np.inf
    for i, s in enumerate(qs):
        for t in qs[i:]:
            pv = F(t) - F_left(s)
            if pv <= 0:
                continue
            if pv > a:
                break
            pn = F(t + radius) - F_left(s - radius)
            if pn < 1 - 1e-12:
                best = min(best, pn / pv)
    return float(best)


def hsic(x: np.ndarray, y: np.ndarray, n_permutations: int = 200, seed: int = 0) -> dict:
    """The Hilbert-Schmidt independence criterion with Gaussian kernels (median bandwidth) and a
    permutation test: a p-value for 'x and y are independent' (Gretton et al., 2008)."""
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    n = len(x)

    def gram(z):
        d2 = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
        med = np.median(d2[d2 > 0]) if (d2 > 0).any() else 1.0
        return np.exp(-d2 / med)

    H = np.eye(n) - 1.0 / n
    Kc = H @ gram(x) @ H
    L = gram(y)
    stat = float((Kc * L).sum() / n ** 2)
    rng = np.random.default_rng(seed)
    null = np.empty(n_permutations)
    for k in range(n_permutations):
        p = rng.permutation(n)
        null[k] = (Kc * L[np.ix_(p, p)]).sum() / n ** 2
    p_value = float((1 + (null >= stat).sum()) / (1 + n_permutations))
    return {"hsic": stat, "p_value": p_value, "n": n}


def theorem1_bound(teacher_error: float, c: float, mu: float = 0.0) -> float:
    """Eq. (13)/(14): 4 Err(f_t) / (c - 1) + 4 mu; infinite when c <= 1 (no expansion).

    The right side grows with mu, so mu = 0 gives the *tightest* bound: a bound that holds at
    mu = 0 holds for every mu >= 0, while a failure at mu = 0 says nothing; evaluate it with
    the mu of the ground-truth classifier (:func:`separation_mu`)."""
    if not c > 1:
        return float("inf")
    return 4.0 * teacher_error / (c - 1.0) + 4.0 * mu


def bound_status(bound: float, measured_error: float, constant: float | None = None,
                 threshold: float = 5.0) -> str:
    """'vacuous' when the bound is >= 1 (says nothing about a 0-1 error); 'assumptions unmet' when
    the expansion ``constant`` it was evaluated with is <= ``threshold`` (Assumption 1 asks
    c1 c2 > 5; we hold every bound's constant to it); else 'fails' when the measured error
    exceeds the bound and 'holds' when it does not."""
    if bound >= 1:
        return "vacuous"
    if constant is not None and constant <= threshold:
        return "assumptions unmet"
    return "fails" if measured_error > bound else "holds"


def boundary_distance(classify, X: np.ndarray, max_radius: float, step: float = 0.01) -> np.ndarray:
    """The distance from each point of ``X`` ([n, d], d = 1 or 2) to the decision boundary of ``classify``.

    ``classify`` maps points [m, d] to labels. It is evaluated on a grid of spacing ``step`` over
    the points' bounding box widened by ``max_radius``; the boundary is the set of midpoints
    between neighbouring grid nodes of different labels, so a distance is exact to within
    ``step`` (and any boundary point closer than ``max_radius`` to a point lies in the box).
    Points with no boundary in the box get ``inf``.
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    d = X.shape[1]
    axes = [np.arange(X[:, k].min() - max_radius - step, X[:, k].max() + max_radius + 2 * step, step)
            for k in range(d)]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), -1)
    labels = np.asarray(classify(mesh.reshape(-1, d))).reshape(mesh.shape[:-1])
    mids = []
    for k in range(d):
        a = [slice(None)] * d
        b = [slice(None)] * d
        a[k], b[k] = slice(None, -1), slice(1, None)
        change = labels[tuple(a)] != labels[tuple(b)]
        mids.append(((mesh[tuple(a)] + mesh[tuple(b)]) / 2)[change])
    mids = np.concatenate(mids)
    if not len(mids):
        return np.full(len(X), np.inf)
    return cKDTree(mids).query(X, k=1)[0]


def separation_mu(distance: np.ndarray, radius: float) -> float:
    """mu of Assumption 3.3 in Wei et al. (2021): P_x[exists x' in B_r(x) with G*(x') != G*(x)],
    the probability that the ground-truth classifier G* changes inside a point's neighbourhood,
    i.e. the share of points within ``radius`` of G*'s boundary (``distance`` from
    :func:`boundary_distance`). Eq. (13)-(14) add 4 mu to the bound."""
    return float(np.mean(np.asarray(distance) <= radius))
