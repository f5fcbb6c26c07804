"""The multi-view chapter's experiment module: pairs, verdict grids, predictors, the TwoMoon grid."""
import numpy as np
import pytest

from mke.data.multiview import load_views, multiview_split, multiview_task
from mke.experiments import multiview as mv


@pytest.fixture(scope="module")
def data():
    return load_views()


@pytest.fixture(scope="module")
def small(data):
    views_data, y = data
    return mv.run_pairs(views_data, y, ["fou", "pix"], [0, 1], mv.PROFILE_SETTINGS["quick"], "T3", 0.3, 10)


def test_pairs_train_every_method_per_seed(small):
    assert set(small.pair) == {("fou", "pix"), ("pix", "fou")}
    for m in mv.METHOD_ORDER:
        s = small.scores("fou", "pix", m)
        assert s.shape == (2,) and np.all((s >= 0) & (s <= 100))
    # a teacher per seed: different seeds label D_u differently
    p = small.pseudo["fou"]
    assert not np.array_equal(p[0].hard.numpy(), p[1].hard.numpy())
    # the supervised MM student (true labels, both views) is well above chance on digits
    assert small.scores("fou", "pix", "mm_student_sup").mean() > 50


def test_run_pairs_is_deterministic(data, small):
    views_data, y = data
    again = mv.run_pairs(views_data, y, ["fou", "pix"], [0, 1], mv.PROFILE_SETTINGS["quick"], "T3", 0.3, 10)
    for m in mv.METHOD_ORDER:
        assert np.array_equal(again.scores("fou", "pix", m), small.scores("fou", "pix", m))


def test_verdict_grid_and_claims(small):
    eff, verdict, rows = mv.verdict_grid(small, ["fou", "pix"], "mm_student", "um_teacher")
    assert np.isnan(eff[0, 0]) and np.isnan(eff[1, 1])
    expected = (small.scores("fou", "pix", "mm_student") - small.scores("fou", "pix", "um_teacher")).mean()
    assert eff[0, 1] == pytest.approx(expected, abs=1e-3)
    assert verdict[0, 1] in ("holds", "fails", "inconclusive") and len(rows) == 2
    claims = mv.pair_claims(small, "fou", "pix")
    assert [c["n"] for c in claims] == [2, 2, 2]


def test_noisy_student_gets_extra_input_noise_on_top_of_T():
    from mke.methods import METHODS

    T = mv.transform_for(METHODS["noisy_student"], "T3", 0.3)
    assert T.dropout == 0.3 and T.input_noise == mv.NOISY_INPUT
    assert mv.transform_for(METHODS["noisy_student"], "T1", 1.0).input_noise == pytest.approx(1.0 + mv.NOISY_INPUT)
    assert mv.transform_for(METHODS["mm_student_noreg"], "T3", 0.3) is None


def test_predictors_behave_on_known_cases(data):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3))
    assert mv.normalised_hsic(x, x) == pytest.approx(1.0, abs=1e-6)
    assert mv.normalised_hsic(x, rng.normal(size=(150, 3))) < 0.1
    rho, (lo, hi) = mv.spearman_with_interval(np.arange(20.0), np.arange(20.0) ** 3)
    assert rho == pytest.approx(1.0) and lo <= 1.0 <= hi + 1e-9
    assert np.isnan(mv.spearman_with_interval([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])[0])
    views_data, y = data
    split = multiview_split(y, 10, seed=0)
    task = multiview_task(views_data, y, "fou", "pix", split)
    assert 0 <= mv.conditional_dependence(task, "fou", "pix") <= 1


def test_parameters_are_validated():
    good = mv.PARAMETERS.defaults()
    mv.PARAMETERS.validate(good)
    for name, value, match in (("views", ["fou"], "at least two"), ("views", ["fou", "xyz"], "unknown views"),
                               ("transform", "T4", "must be one of"), ("labels_per_class", 0, "must lie in")):
        with pytest.raises(ValueError, match=match):
            mv.PARAMETERS.validate({**good, name: value})


def test_twomoon_grid_cells_and_verdicts():
    profile = mv.Profile(2, 16, 10, 10, 0.01, (0.1,), (30, 60), 100)
    cells = mv.run_twomoon_grid(profile, [0, 1])
    assert [(c.moon_noise, c.n_labeled) for c in cells] == [(0.1, 30), (0.1, 60)]
    eff, verdict, claims = mv.grid_verdicts(cells, "T1 v0=2", "um_teacher")
    assert eff.shape == (1, 2) and len(claims) == 2
    mm = np.array(cells[1].students[("T1 v0=2", "mm_student")])
    assert eff[0, 1] == pytest.approx((mm - np.array(cells[1].teacher)).mean(), abs=1e-3)
