"""Lemma 1 checked exhaustively on small discrete spaces.

X^alpha and X^beta are finite sets with neighbourhoods from graphs (N(S) = S and its graph
neighbours); on X = X^alpha x X^beta a point's neighbourhood is the product of its coordinates'
neighbourhoods. A distribution P_i on X factorises (Assumption 2) or not. We enumerate *every*
subset V of X (up to 16 points: 65,536 sets, as bitmasks), compute the expansion coefficient

    c(P, a) = min { P(N(V)) / P(V) : 0 < P(V) <= a, P(N(V)) < 1 }

(the largest c with P(N(V)) >= min{c P(V), 1} for all V with P(V) <= a, the definition of
(a, c)-expansion), and test Lemma 1's claim P(N(V)) >= min{c1 c2 P(V), 1} on all of them.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


def graph_neighbourhoods(n: int, kind: str = "path") -> np.ndarray:
    """Bitmask of N({u}) for each node u of a path or a cycle on n nodes."""
    if kind not in ("path", "cycle", "complete"):
        raise ValueError(f"kind must be 'path', 'cycle' or 'complete', got {kind!r}")
    nb = np.zeros(n, dtype=np.int64)
    for u in range(n):
        nb[u] |= 1 << u
        for v in range(n):
            adjacent = (abs(u - v) == 1 or (kind == "cycle" and abs(u - v) == n - 1) or kind == "complete")
            if adjacent:
                nb[u] |= 1 << v
    return nb


def product_neighbourhoods(nb_a: np.ndarray, nb_b: np.ndarray) -> np.ndarray:
    """N((u, v)) = N(u) x N(v) on X = X^alpha x X^beta, point (u, v) at index u * n_b + v."""
    n_a, n_b = len(nb_a), len(nb_b)
    nb = np.zeros(n_a * n_b, dtype=np.int64)
    for u, v in itertools.product(range(n_a), range(n_b)):
        for u2, v2 in itertools.product(range(n_a), range(n_b)):
            if (nb_a[u] >> u2) & 1 and (nb_b[v] >> v2) & 1:
                nb[u * n_b + v] |= 1 << (u2 * n_b + v2)
    return nb


def all_sets(p: np.ndarray, nb: np.ndarray):
    """P(V) and P(N(V)) for every subset V (index = bitmask), built by doubling."""
    n = len(p)
    if n > 20:
        raise ValueError(f"exhaustive enumeration needs at most 20 points, got {n}")
    P = np.zeros(1 << n)
    N = np.zeros(1 << n, dtype=np.int64)
    for k in range(n):
        lo, hi = 1 << k, 1 << (k + 1)
        P[lo:hi] = P[:lo] + p[k]
        N[lo:hi] = N[:lo] | nb[k]
    return P, P[N]


def _coefficient(P: np.ndarray, PN: np.ndarray, a: float) -> float:
    """min P(N(V)) / P(V) over sets with 0 < P(V) <= a whose neighbourhood is not everything."""
    small = (P > 0) & (P <= a + 1e-12) & (PN < 1 - 1e-12)
    return float((PN[small] / P[small]).min()) if small.any() else float("inf")


def expansion_coefficient(p: np.ndarray, nb: np.ndarray, a: float) -> float:
    """The largest c for which p satisfies (a, c)-expansion (inf if no set constrains it)."""
    return _coefficient(*all_sets(p, nb), a)


@dataclass
class LemmaCheck:
    c1: float
    c2: float
    c_true: float  # the expansion coefficient of the joint, over all sets
    c_products: float  # ... over product sets V^a x V^b with both marginals <= a (the proof's case)
    violations: int  # sets V with P(V) <= a and P(N(V)) < min{c1 c2 P(V), 1}
    n_sets: int
    worst: dict | None  # the smallest violating set

    @property
    def holds(self) -> bool:
        return self.violations == 0


def _points(mask: int, n_b: int) -> list[tuple[int, int]]:
    return [(i // n_b, i % n_b) for i in range(mask.bit_length()) if (mask >> i) & 1]


def check_lemma1(p_a: np.ndarray, p_b: np.ndarray, nb_a: np.ndarray, nb_b: np.ndarray, a: float,
                 joint: np.ndarray | None = None) -> LemmaCheck:
    """Lemma 1 for one class: c1, c2 from the marginals, the truth on X from the joint.

    ``joint`` (shape ``[n_a, n_b]``) defaults to the product ``p_a p_b^T`` (Assumption 2).
    """
    n_a, n_b = len(p_a), len(p_b)
    joint = np.outer(p_a, p_b) if joint is None else np.asarray(joint, dtype=float)
    m_a, m_b = joint.sum(1), joint.sum(0)  # marginals (equal to p_a, p_b under Assumption 2)
    # (a, c)-expansion implies (a, c')-expansion for every c' < c, so Assumption 1's cap
    # max(c1, c2) <= 1/a can always be met by taking c = min(c*, 1/a)
    c1 = min(expansion_coefficient(m_a, nb_a, a), 1 / a)
    c2 = min(expansion_coefficient(m_b, nb_b, a), 1 / a)
    nb = product_neighbourhoods(nb_a, nb_b)
    P, PN = all_sets(joint.ravel(), nb)
    masks = np.arange(len(P))
    small = (P > 0) & (P <= a + 1e-12)
    c_true = _coefficient(P, PN, a)
    # product sets whose marginals both have mass <= a
    Pa, PNa = all_sets(m_a, nb_a)
    Pb, PNb = all_sets(m_b, nb_b)
    prod_ratios = []
    for A in range(1, 1 << n_a):
        if Pa[A] > a + 1e-12:
            continue
        for B in range(1, 1 << n_b):
            if Pb[B] > a + 1e-12:
                continue
            mask = sum(1 << (u * n_b + v) for u in range(n_a) if (A >> u) & 1 for v in range(n_b) if (B >> v) & 1)
            if P[mask] > 0 and PN[mask] < 1 - 1e-12:
                prod_ratios.append(PN[mask] / P[mask])
    c_products = float(min(prod_ratios)) if prod_ratios else float("inf")
    need = np.minimum(c1 * c2 * P, 1.0) if np.isfinite(c1 * c2) else np.ones_like(P)
    bad = small & (PN < need - 1e-12)
    worst = None
    if bad.any():
        sizes = np.array([bin(int(m)).count("1") for m in masks[bad]])
        m = int(masks[bad][np.argmin(sizes)])
        worst = {"V": _points(m, n_b), "P(V)": float(P[m]), "P(N(V))": float(PN[m]),
                 "min(c1*c2*P(V), 1)": float(min(c1 * c2 * P[m], 1.0))}
    return LemmaCheck(c1, c2, c_true, c_products, int(bad.sum()), int(small.sum()), worst)


def search(n_trials: int = 300, seed: int = 0, sizes=((3, 3), (3, 4), (4, 4)), kinds=("path", "cycle"),
           a_values=(0.1, 0.2, 0.3, 0.4), dependence: float = 0.0) -> list[dict]:
    """Random small instances; ``dependence`` in [0, 1] mixes the product with a coupled joint
    (mass moved to the 'diagonal'), breaking Assumption 2 when > 0."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(n_trials):
        n_a, n_b = sizes[t % len(sizes)]
        kind_a, kind_b = kinds[rng.integers(len(kinds))], kinds[rng.integers(len(kinds))]
        a = float(a_values[rng.integers(len(a_values))])
        p_a, p_b = rng.dirichlet(np.ones(n_a)), rng.dirichlet(np.ones(n_b))
        joint = np.outer(p_a, p_b)
        if dependence > 0:
            coupled = np.zeros((n_a, n_b))
            for u in range(n_a):
                coupled[u, int(round(u * (n_b - 1) / max(n_a - 1, 1)))] = p_a[u]
            joint = (1 - dependence) * joint + dependence * coupled
        res = check_lemma1(p_a, p_b, graph_neighbourhoods(n_a, kind_a), graph_neighbourhoods(n_b, kind_b), a, joint)
        assumption1 = 1 < min(res.c1, res.c2)  # the cap c <= 1/a holds by construction
        out.append({"n_a": n_a, "n_b": n_b, "graphs": (kind_a, kind_b), "a": a, "c1": res.c1, "c2": res.c2,
                    "c_true": res.c_true, "c_products": res.c_products, "violations": res.violations,
                    "n_sets": res.n_sets, "worst": res.worst, "assumption1_bounds": assumption1,
                    "c1c2_gt_5": res.c1 * res.c2 > 5})
    return out
