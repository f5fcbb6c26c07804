"""SymPy checks of the supplementary material's algebra: Eq. (18)-(20) and Lemma 1's steps (21)-(24).

Each check returns a small dict (what was checked, the value, whether it holds) so that the
theory chapter can print it and write it to ``theory.json``; each takes the claimed expression
as an argument, so the tests can show that a wrong claim is rejected.
"""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp


def _softmax_symbols(K: int):
    p = sp.symbols(f"p1:{K + 1}", real=True)
    y = sp.symbols(f"y1:{K + 1}", positive=True)
    denom = sum(sp.exp(pk) for pk in p)
    z = [sp.exp(pk) / denom for pk in p]
    return p, y, z


def l_cls_expr(K: int):
    """Eq. (18): l_cls(y, p) = -sum_k y_k log softmax(p)_k + sum_k y_k log y_k."""
    p, y, z = _softmax_symbols(K)
    return p, y, z, -sum(yk * sp.log(zk) for yk, zk in zip(y, z)) + sum(yk * sp.log(yk) for yk in y)


def check_eq19(K: int, claimed=None) -> dict:
    """d l_cls / d p_j against the claimed gradient (default: Eq. (19)'s z_j - y_j), for every j.

    The derivative is ``z_j * sum_k y_k - y_j``: it equals z_j - y_j only because y sums to 1,
    which we substitute (y_K = 1 - y_1 - ... - y_{K-1}); without that constraint it does not.
    """
    p, y, z, loss = l_cls_expr(K)
    claimed = claimed or (lambda z, y, j: z[j] - y[j])
    on_simplex = {y[-1]: 1 - sum(y[:-1])}
    ok = True
    for j in range(K):
        derivative = sp.diff(loss, p[j])
        difference = sp.simplify((derivative - claimed(z, y, j)).subs(on_simplex))
        ok = ok and difference == 0
    unconstrained = sp.simplify(sp.diff(loss, p[0]) - (z[0] - y[0]))
    return {"K": K, "holds": bool(ok), "needs_sum_y_equal_1": unconstrained != 0}


def max_grad_norm_vertices(K: int) -> sp.Expr:
    """max ||z - y|| over z, y in the simplex: ||.||^2 is convex, so the maximum sits on a pair of
    vertices; over vertex pairs it is sqrt(2) (two distinct one-hot vectors)."""
    eye = sp.eye(K)
    best = sp.Integer(0)
    for i, j in itertools.product(range(K), repeat=2):
        best = sp.Max(best, sp.sqrt(sum((eye[i, k] - eye[j, k]) ** 2 for k in range(K))))
    return sp.nsimplify(best)


def check_eq20(K: int, claimed_tight=sp.sqrt(2), n_random: int = 20000, seed: int = 0) -> dict:
    """The Lipschitz constant of l_cls in p: the paper's sqrt(K) against the tight sup ||z - y||.

    Symbolically, ||z - y||^2 <= sum z_k^2 + sum y_k^2 <= 2 on the simplex, with equality at
    distinct vertices, so the tight constant is sqrt(2) for every K >= 2. Numerically we sample
    softmax outputs and labels and confirm no pair exceeds it and the supremum is approached.
    """
    tight = max_grad_norm_vertices(K)
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=8.0, size=(n_random, K))
    z = np.exp(logits - logits.max(1, keepdims=True))
    z /= z.sum(1, keepdims=True)
    y = rng.dirichlet(np.full(K, 0.2), size=n_random)
    norms = np.linalg.norm(z - y, axis=1)
    return {"K": K, "paper_constant": float(sp.sqrt(K)), "tight_constant": float(tight),
            "numeric_max": float(norms.max()), "holds": bool(sp.simplify(tight - claimed_tight) == 0
                                                             and norms.max() <= float(tight) + 1e-9),
            "paper_constant_valid": bool(sp.sqrt(K) >= tight)}


def check_lemma1_algebra() -> dict:
    """Lemma 1, steps (21)-(24), as SymPy can state them.

    * (21) from (10): if P(V^a) <= a and c1 <= 1/a then c1 P(V^a) <= 1, so min{c1 P, 1} = c1 P.
    * (23): multiplying (21) and (22) (both sides non-negative).
    * (24): with Assumption 2 and V = V^a x V^b, P(V) = P(V^a) P(V^b) and, for product
      neighbourhoods, P(N(V)) = P(N(V^a)) P(N(V^b)): so (24) holds for *product* sets whose
      *both* marginals have mass <= a. The lemma states it for every V with P(V) <= a, which
      the algebra does not reach (see the exhaustive check), and drops the min{., 1}: for a
      non-product V with P(V) <= a, c1 c2 P(V) can reach c1 c2 a > 1.
    """
    a, Pa, Pb, c1, c2 = sp.symbols("a P_alpha P_beta c_1 c_2", positive=True)
    # (21): c1 * Pa <= 1 when Pa <= a and c1 <= 1/a: the worst case is Pa = a, c1 = 1/a
    step21 = sp.simplify((c1 * Pa).subs({c1: 1 / a, Pa: a})) == 1
    # the min matters without the cap: c1 = 2/a (> 1/a) and Pa = a give 2, above 1
    min_needed = sp.simplify((c1 * Pa).subs({c1: 2 / a, Pa: a})) > 1
    # (23): write (21), (22) as N_a = c1 Pa + s, N_b = c2 Pb + t with slacks s, t >= 0; the
    # product's excess over c1 c2 Pa Pb expands into terms that are all non-negative
    s, t = sp.symbols("s t", nonnegative=True)
    excess = sp.expand((c1 * Pa + s) * (c2 * Pb + t) - c1 * c2 * Pa * Pb)
    step23 = bool(excess.is_nonnegative)
    # (24) on products: with P(V) = Pa Pb <= a^2 and c1 c2 <= 1/a^2 the right side stays <= 1
    step24_products = sp.simplify((c1 * c2 * Pa * Pb).subs({c1: 1 / a, c2: 1 / a, Pa: a, Pb: a})) == 1
    # ... but a general V only has P(V) <= a: c1 c2 P(V) can be c1 c2 a = 1/a > 1 (impossible as a mass)
    general_bound = sp.simplify((c1 * c2 * a).subs({c1: 1 / a, c2: 1 / a}))
    # covered only if that reach stays a valid mass (<= 1) for every a in (0, 1); try a = 1/2
    general_covered = bool(general_bound.subs(a, sp.Rational(1, 2)) <= 1)
    return {"step21_cap_from_max_c_le_1_over_a": bool(step21), "min_needed_without_cap": bool(min_needed),
            "step23_product_of_inequalities": bool(step23), "step24_on_product_sets": bool(step24_products),
            "c1c2_P_of_general_V_can_reach": str(general_bound),
            "general_V_covered": general_covered}
