"""The vectorised runner against the one-model-at-a-time path.

* noise-free cells: identical initialisation and arithmetic, so the same accuracies (we allow
  float differences of 1e-4 in the logits, which at these margins change no prediction);
* noisy cells: different noise draws, so we compare mean accuracy over seeds within 3 points.
"""
import pytest
import torch

from mke.algorithm import pseudo_label, train_teacher
from mke.experiments.twomoon import model_factory
from mke.methods import METHODS
from mke.runner import Job, run_jobs
from mke.train import TrainConfig
from mke.transforms import T1, T2, T3, Transform

SEEDS = [81, 14, 3, 94, 35]


@pytest.fixture(scope="module")
def setup(twomoon):
    make = model_factory(False)
    teacher = train_teacher(twomoon, make, TrainConfig(epochs=1000), 39)
    return make, pseudo_label(teacher, twomoon.inputs("D_u", ("alpha",)))


def test_noise_free_cells_match_exactly(twomoon, setup):
    make, pseudo = setup
    jobs = [Job(METHODS[m], Transform(), "none") for m in ("um_student", "mm_student", "mm_student_sup")]
    cfg = TrainConfig(epochs=300)
    vec = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=True, keep_models=True)
    seq = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=False, keep_models=True)
    x = {m: twomoon.inputs("test", METHODS[m].modalities(twomoon)) for m in METHODS}
    for a, b in zip(vec, seq):
        assert a.scores["test"] == b.scores["test"]
        for ma, mb in zip(a.models, b.models):
            assert torch.allclose(ma(x[a.job.method.name]), mb(x[a.job.method.name]), atol=1e-4)


def test_noisy_cells_agree_in_distribution(twomoon, setup):
    make, pseudo = setup
    jobs = [Job(METHODS["mm_student"], T, name) for name, T in (("T1", T1(2.0)), ("T2", T2(10.0)), ("T3", T3(0.8)))]
    cfg = TrainConfig(epochs=600)
    vec = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=True)
    seq = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=False)
    for a, b in zip(vec, seq):
        assert a.summary()["mean"] == pytest.approx(b.summary()["mean"], abs=3.0), a.job.setting


def test_identical_cells_train_once_and_share_results(twomoon, setup):
    make, pseudo = setup
    jobs = [Job(METHODS["mm_student"], T1(0.0), "T1 v0=0"), Job(METHODS["mm_student"], T3(0.0), "T3 r0=0"),
            Job(METHODS["mm_student_noreg"], T1(1.0), "noreg")]  # no reg: T does not apply
    calls = []

    def counting(method, seed):
        calls.append((method.name, seed))
        return make(method, seed)

    res = run_jobs(twomoon, jobs, SEEDS[:2], counting, TrainConfig(epochs=20), pseudo)
    assert len(calls) == 4  # mm_student once per seed, mm_student_noreg once per seed
    # the shared results are the ones "T3 r0=0" gets when trained on its own (one model at a time)
    alone = run_jobs(twomoon, jobs[1:2], SEEDS[:2], make, TrainConfig(epochs=20), pseudo, vectorised=False)[0]
    assert res[1].scores == alone.scores


def test_runs_repeat_exactly(twomoon, setup):
    make, pseudo = setup
    jobs = [Job(METHODS["mm_student"], T1(1.0) + T3(0.4), "mix")]
    a = run_jobs(twomoon, jobs, SEEDS[:3], make, TrainConfig(epochs=50), pseudo)
    b = run_jobs(twomoon, jobs, SEEDS[:3], make, TrainConfig(epochs=50), pseudo, workers=2)
    assert a[0].scores == b[0].scores


def test_summary_and_seed_validation(twomoon, setup):
    make, pseudo = setup
    r = run_jobs(twomoon, [Job(METHODS["um_student"], T1(1.0), "x")], SEEDS[:3], make, TrainConfig(epochs=10),
                 pseudo)[0]
    s = r.summary()
    v = r.scores["test"]
    mean, std = sum(v) / 3, (sum((x - sum(v) / 3) ** 2 for x in v) / 2) ** 0.5  # sample std over seeds
    half = 4.302652729749462 * std / 3 ** 0.5  # Student t, 97.5 % quantile at 2 degrees of freedom
    assert s["n_seeds"] == 3 and s["values"] == v and std > 0
    assert s["mean"] == pytest.approx(mean) and s["std"] == pytest.approx(std)
    assert s["ci95"] == pytest.approx([mean - half, mean + half])
    with pytest.raises(ValueError, match="distinct"):
        run_jobs(twomoon, [], [1, 1], make, TrainConfig(epochs=1), pseudo)
