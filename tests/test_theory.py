"""Every symbolic identity is checked, and shown to reject a wrong claim; estimators are tested
on distributions whose expansion is known in closed form."""
import math

import numpy as np
import pytest
import sympy as sp

from theory import lemma1, symbolic
from theory.estimators import bound_status, expansion_ratio, hsic, interval_expansion, theorem1_bound


@pytest.mark.parametrize("K", [2, 3, 4, 5, 6])
def test_eq19_gradient_is_z_minus_y(K):
    r = symbolic.check_eq19(K)
    assert r["holds"] and r["needs_sum_y_equal_1"]


@pytest.mark.parametrize("wrong", [lambda z, y, j: z[j] - 2 * y[j], lambda z, y, j: y[j] - z[j],
                                   lambda z, y, j: z[j]])
def test_eq19_rejects_a_wrong_gradient(wrong):
    assert not symbolic.check_eq19(3, wrong)["holds"]


@pytest.mark.parametrize("K", [2, 3, 5])
def test_eq20_tight_constant_is_sqrt2(K):
    r = symbolic.check_eq20(K)
    assert r["holds"] and r["tight_constant"] == pytest.approx(math.sqrt(2))
    assert r["paper_constant_valid"] and r["numeric_max"] <= math.sqrt(2) + 1e-9


def test_eq20_rejects_a_wrong_constant():
    assert not symbolic.check_eq20(3, claimed_tight=sp.Integer(1))["holds"]
    assert not symbolic.check_eq20(4, claimed_tight=sp.sqrt(4))["holds"]


def test_lemma1_algebra():
    r = symbolic.check_lemma1_algebra()
    assert r["step21_cap_from_max_c_le_1_over_a"] and r["step23_product_of_inequalities"]
    assert r["step24_on_product_sets"] and r["min_needed_without_cap"]
    assert r["c1c2_P_of_general_V_can_reach"] == "1/a" and r["general_V_covered"] is False


def test_expansion_coefficient_closed_form():
    """Uniform on a path of 3 nodes, a = 1/3: an end node's neighbourhood has 2 nodes (ratio 2),
    the middle one's is everything (saturated, ignored): c = 2."""
    assert lemma1.expansion_coefficient(np.ones(3) / 3, lemma1.graph_neighbourhoods(3, "path"), 1 / 3) == pytest.approx(2)
    # on a cycle every single node sees all 3: nothing constrains c
    assert lemma1.expansion_coefficient(np.ones(3) / 3, lemma1.graph_neighbourhoods(3, "cycle"), 1 / 3) == math.inf


def test_enumeration_counts_every_subset():
    P, PN = lemma1.all_sets(np.array([0.5, 0.25, 0.25]), lemma1.graph_neighbourhoods(3, "path"))
    assert len(P) == 8 and P[0b101] == pytest.approx(0.75) and PN[0b001] == pytest.approx(0.75)


def test_lemma1_holds_on_products_under_assumption2_and_not_beyond():
    res = lemma1.search(60, seed=3, sizes=((2, 3), (3, 3)))
    assert all(x["c_products"] >= x["c1"] * x["c2"] - 1e-9 for x in res)
    assert any(x["violations"] > 0 for x in res)  # general sets: counterexamples exist


def test_lemma1_product_case_breaks_without_assumption2():
    res = lemma1.search(100, seed=3, sizes=((3, 3),), dependence=0.7)
    assert any(x["c_products"] < x["c1"] * x["c2"] - 1e-9 for x in res)


def test_sample_expansion_matches_uniform_closed_form():
    """Uniform on [0, 1], V = [0, a], N_r(V) = [0, a + r]: ratio (a + r) / a."""
    x = np.random.default_rng(0).uniform(0, 1, 200_000)[:, None]
    assert expansion_ratio(x, x[:, 0] < 0.1, 0.05) == pytest.approx(1.5, rel=0.01)
    # 2-D uniform on the unit square, V = [0, a] x [0, 1]: a ball of radius r grows it to [0, a + r] x [0, 1]
    xy = np.random.default_rng(1).uniform(0, 1, (200_000, 2))
    assert expansion_ratio(xy, xy[:, 0] < 0.2, 0.1) == pytest.approx(1.5, rel=0.01)


def test_interval_expansion_closed_form():
    """Uniform on [0, 1]: the worst interval of mass a is at an edge, growing by r on one side."""
    x = np.random.default_rng(2).uniform(0, 1, 50_000)
    assert interval_expansion(x, 0.1, 0.05) == pytest.approx(1.5, rel=0.03)


def test_hsic_detects_dependence_and_not_independence():
    rng = np.random.default_rng(0)
    t = rng.uniform(0, math.pi, 200)
    assert hsic(np.cos(t), np.sin(t) + 0.05 * rng.normal(size=200), 100)["p_value"] < 0.05  # a half circle
    assert hsic(rng.normal(size=200), rng.normal(size=200), 100)["p_value"] > 0.05


def test_theorem1_bound_and_status():
    assert theorem1_bound(0.3, 7.0) == pytest.approx(0.2)
    assert theorem1_bound(0.3, 1.0) == math.inf
    assert bound_status(0.2, 0.1) == "holds" and bound_status(0.2, 0.3) == "fails"
    assert bound_status(1.5, 0.1) == "vacuous"


def test_bound_status_needs_assumption1_and_mu_only_loosens_the_bound():
    from theory.estimators import bound_status, theorem1_bound

    assert bound_status(0.2, 0.1, constant=6.0) == "holds"
    assert bound_status(0.2, 0.1, constant=4.0) == "assumptions unmet"
    assert bound_status(1.2, 0.1, constant=4.0) == "vacuous"
    assert bound_status(0.2, 0.3, constant=6.0) == "fails"
    b0, b1 = theorem1_bound(0.3, 6.0, 0.0), theorem1_bound(0.3, 6.0, 0.05)
    assert b1 == pytest.approx(b0 + 0.2) and b0 == pytest.approx(4 * 0.3 / 5)


def test_boundary_distance_and_mu_on_a_known_boundary():
    from theory.estimators import boundary_distance, separation_mu

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(2000, 2))
    d = boundary_distance(lambda P: (P[:, 0] > 0.25).astype(int), X, max_radius=0.5, step=0.01)
    assert np.allclose(d, np.abs(X[:, 0] - 0.25), atol=0.01)  # exact to within the grid step
    # mu(r): the share of points within r of the boundary x = 0.25
    assert separation_mu(d, 0.1) == pytest.approx(np.mean(np.abs(X[:, 0] - 0.25) <= 0.1), abs=0.01)
    assert separation_mu(d, 0.0) == 0.0
    d1 = boundary_distance(lambda P: (P[:, 0] > 0.25).astype(int), X[:, :1], max_radius=0.5, step=0.01)
    assert np.allclose(d1, d, atol=0.011)  # the 1-D case is the same line


def test_bayes_classifier_of_twomoon():
    from mke.data.twomoon import twomoon_sampler
    from theory.twomoon import bayes_classifier, estimate_mu

    sample = twomoon_sampler(0.1)
    X, y = sample(4000, 7)
    G = bayes_classifier(sample)
    assert np.mean(G(X) != y) < 0.01  # moons with noise 0.1 barely overlap in 2-D
    G_alpha = bayes_classifier(sample, dims=(0,))
    err_alpha = np.mean(G_alpha(X[:, :1]) != y)
    assert 0.1 < err_alpha < 0.35  # x^alpha alone cannot separate them: the teacher's floor
    mu = estimate_mu(sample, X, y, [0.05, 0.5, 3.0], step=0.02)
    assert mu["mu_mm"][0] < mu["mu_mm"][1] <= mu["mu_mm"][2] == 1.0  # grows with the radius
    assert mu["bayes_error_mm"] == pytest.approx(np.mean(G(X) != y))
    assert mu["bayes_error_um"] == pytest.approx(err_alpha)
    # the interval along X around a point crosses G*(x^alpha)'s boundary more often than a tiny ball does
    assert mu["mu_um"][0] > mu["mu_mm"][0] and mu["mu_um"][0] < 1
