import pytest
import torch

from mke.data.twomoon import twomoon_arrays, twomoon_task
from mke.experiments import twomoon as tm


def test_split_sizes_as_the_authors():
    X_l, y_l, X_u, y_u, X_t, y_t = twomoon_arrays()
    assert (len(X_l), len(X_u), len(X_t)) == (30, 270, 200)
    assert abs(X_l.mean()) < 1 and set(y_l) == {0, 1}


def test_task_modalities_are_the_coordinates(twomoon):
    x = twomoon.inputs("D_u", ("alpha", "beta"))
    assert torch.equal(x[:, :1], twomoon.splits["D_u"]["alpha"])
    assert torch.equal(x[:, 1:], twomoon.splits["D_u"]["beta"])
    with pytest.raises(KeyError, match="no split 'val'"):
        twomoon.inputs("val", ("alpha",))


def test_n_labeled_and_noise_parameters():
    t = twomoon_task(moon_noise=0.2, n_labeled=60)
    assert (t.size("D_l"), t.size("D_u"), t.size("test")) == (60, 240, 200)
    with pytest.raises(ValueError, match="n_labeled"):
        twomoon_arrays(n_labeled=1)


def test_authors_seeds_without_repeats():
    assert tm.authors_seeds(10) == [81, 14, 3, 94, 35, 31, 28, 17, 13, 86]
    assert len(set(tm.authors_seeds(100))) == 100
    with pytest.raises(ValueError):
        tm.authors_seeds(102)


def test_quick_profile_end_to_end(twomoon):
    """The whole chapter pipeline at the quick profile: both versions, rows for every cell."""
    setup = tm.PROFILE_SETTINGS["quick"]
    seeds = tm.authors_seeds(setup.n_seeds)
    v = tm.run_version(twomoon, True, seeds, setup, keep_models=True)
    assert v.teacher_acc == pytest.approx(68.0)
    rows = tm.table1_rows(v)
    cells = {(r["setting"], r["method"]) for r in rows if r["table"] == "table1_paper_compat"}
    assert len(cells) == 1 + 27
    assert all(r["n_seeds"] == 3 for r in rows if r["setting"] != "teacher")
    assert v.cell("T1 v0=2", "mm_student").models[0] is not None
    a, b, c = tm.pick_abc(twomoon, v.pseudo, tm.relative_radius(twomoon, 1.0, twomoon.modalities))
    y, yt = twomoon.labels("D_u"), v.pseudo.hard
    assert (y[a], yt[a], y[b], yt[b], y[c], yt[c]) == (0, 0, 0, 1, 1, 1)
    assert tm.denoising_rows(v)


def test_extra_claims_and_a_teacher_per_seed(twomoon):
    """The claims the paper implies (close to MM sup, monotone in T) and Algorithm 1 end to end per
    seed, whose teachers are the per-seed teachers of run_version (same seeds, same streams)."""
    setup = tm.PROFILE_SETTINGS["quick"]
    seeds = tm.authors_seeds(setup.n_seeds)
    v = tm.run_version(twomoon, False, seeds, setup, sweep=True)
    own = tm.own_teacher_runs(twomoon, False, seeds[:2], setup, "T1 v0=2")
    assert own["seeds"] == seeds[:2] and len(own["mm_student"]) == 2
    assert own["teacher"] == v.teacher_seeds.scores["test"][:2]
    rows = tm.extra_claims(v, own)
    close, *steps, per_seed = rows
    assert close["margin"] == -tm.CLOSE_TO_SUP and "within 2 points" in close["claim"]
    mm, sup = (v.cell("T1 v0=2", m).scores["test"] for m in ("mm_student", "mm_student_sup"))
    assert close["effect"] == pytest.approx(sum(a - b for a, b in zip(mm, sup)) / len(mm), abs=1e-3)  # MM - sup
    sweep = tm.sweep_results(v)
    levels = sorted(lv for (f, m, lv) in sweep if f == "T1 v0" and m == "mm_student")
    assert len(steps) == len(levels) - 1 and all("improves with stronger T" in c["claim"] for c in steps)
    for (lo, hi), c in zip(zip(levels, levels[1:]), steps):  # each step is the stronger level minus the weaker
        a, b = sweep[("T1 v0", "mm_student", hi)].scores["test"], sweep[("T1 v0", "mm_student", lo)].scores["test"]
        assert f"v0={hi:g} beats v0={lo:g}" in c["claim"]
        assert c["effect"] == pytest.approx(sum(x - y for x, y in zip(a, b)) / len(a), abs=1e-3)
    assert per_seed["effect"] == pytest.approx(
        sum(a - b for a, b in zip(own["mm_student"], own["teacher"])) / 2, abs=1e-3)
