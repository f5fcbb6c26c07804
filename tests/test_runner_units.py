"""run_jobs' options pinned one at a time on tiny runs (issue 10: the survivors of make mutation
in mke.runner): progress bars, confidence weights in the vectorised path, a teacher per seed, and
which thread trains an ensemble. First, with recorders in place of the trainers (no training),
run_jobs' bookkeeping: which members share an ensemble (and so a noise generator), in what order
and with what transform the ensembles train, which jobs share a training, what a result holds."""
import threading
import time

import pytest
import torch

from mke import runner
from mke.algorithm import PseudoLabels, pseudo_label, train_teacher
from mke.experiments.twomoon import model_factory
from mke.metrics import accuracy
from mke.methods import METHODS
from mke.models import MLP, seeded_mlp
from mke.runner import Job, run_jobs
from mke.train import TrainConfig
from mke.transforms import T1, T3, Transform

SEEDS = [5, 6]
CFG = TrainConfig(epochs=30)


@pytest.fixture(scope="module")
def small(twomoon):
    make = model_factory(False)
    teacher = train_teacher(twomoon, make, TrainConfig(epochs=200), 39)
    return make, pseudo_label(teacher, twomoon.inputs("D_u", ("alpha",)), soft=True)


def _jobs():
    return [Job(METHODS["mm_student"], Transform(), "none")]


# Recorders: run_jobs' bookkeeping pinned without training. ``fits`` replaces the ensemble trainer
# in mke.runner (the untrained ensembles are then scored), ``students`` the one-model trainer.

@pytest.fixture(scope="module")
def untrained(twomoon):
    """The twomoon nets and the pseudo labels of an untrained teacher: enough for bookkeeping."""
    make = model_factory(False)
    teacher = make(METHODS["um_teacher"], 0)
    return make, pseudo_label(teacher, twomoon.inputs("D_u", ("alpha",)), use_cache=False)


@pytest.fixture
def fits(monkeypatch):
    calls = []

    def fit(model, x, targets, cfg, **kw):
        calls.append(dict(model=model, targets=targets, **kw))
        return []

    monkeypatch.setattr(runner, "fit", fit)
    return calls


@pytest.fixture
def students(monkeypatch):
    calls = []

    def train_student(task, method, make_model, pseudo, cfg, T, seed, device="cpu", confidence_weighting=False):
        calls.append((method.name, T, seed))
        return make_model(method, seed)

    monkeypatch.setattr(runner, "train_student", train_student)
    return calls


def _sizes(fits):
    return [c["model"].n_members for c in fits]


def test_results_carry_the_seeds_and_models_only_when_asked(twomoon, untrained, fits):
    """Each JobResult lists the seeds; models stay empty by default, also for a job that shares
    another's results, and with keep_models=True a shared job gets its source's models."""
    make, pseudo = untrained
    jobs = [Job(METHODS["mm_student"], T1(0.5), "a"), Job(METHODS["mm_student"], T1(0.5), "b")]
    res = run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo)
    assert [r.seeds for r in res] == [SEEDS, SEEDS] and [r.models for r in res] == [[], []]
    kept = run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, keep_models=True)
    assert len(kept[0].models) == 2 and all(isinstance(m, MLP) for m in kept[0].models)
    assert kept[1].models == kept[0].models and kept[1].models is not kept[0].models


def test_run_draws_nothing_from_the_global_stream_beyond_building_the_models(twomoon, untrained, fits):
    """Without keep_models no member is rebuilt as an MLP (which would draw its init from torch's
    global generator): afterwards the global stream is where the last make_model left it."""
    make, pseudo = untrained
    run_jobs(twomoon, _jobs(), SEEDS, make, CFG, pseudo)
    after_run = torch.get_rng_state()
    make(METHODS["mm_student"], SEEDS[-1])
    assert torch.equal(after_run, torch.get_rng_state())


def test_ensembles_group_members_by_shapes_and_kinds_of_noise(twomoon, untrained, fits):
    """One ensemble per (inputs, shapes, which of T1/T2/T3 are on): T1 and T3 cells and the noise-free
    cell of one method train apart, nets of two widths too; levels of one kind share an ensemble."""
    make, pseudo = untrained
    mm = METHODS["mm_student"]
    jobs = [Job(mm, T1(0.5), "T1"), Job(mm, T3(0.2), "T3"), Job(mm, Transform(), "none"), Job(mm, T1(1.0), "T1'")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo)
    assert _sizes(fits) == [4, 2, 2]
    assert fits[0]["T"].input_noise.view(-1).tolist() == [0.5, 0.5, 1.0, 1.0]
    assert fits[1]["T"].dropout.view(-1).tolist() == pytest.approx([0.2, 0.2])
    assert fits[2]["T"] is None  # a noise-free ensemble trains without a transform
    fits.clear()

    def two_widths(method, seed):
        return seeded_mlp(seed, 2, 16 if seed == SEEDS[0] else 8, modalities=method.inputs)

    run_jobs(twomoon, [Job(mm, Transform(), "none")], SEEDS, two_widths, CFG, pseudo)
    assert _sizes(fits) == [1, 1]


def test_ensembles_hold_at_most_64_members_by_default(twomoon, untrained, fits):
    make, pseudo = untrained
    run_jobs(twomoon, [Job(METHODS["um_student"], Transform(), "none")], list(range(65)), make, CFG, pseudo)
    assert _sizes(fits) == [64, 1]


def test_ensembles_train_longest_first_and_are_described_by_size_and_inputs(twomoon, untrained, fits):
    """Chunks are trained longest first (better packing over workers), whatever the job order; fit's
    description (which its error messages start with) names the ensemble's size and inputs."""
    make, pseudo = untrained
    jobs = [Job(METHODS["um_student"], Transform(), "none"), Job(METHODS["mm_student"], Transform(), "none"),
            Job(METHODS["mm_student_noreg"], Transform(), "none")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo)
    assert [c["desc"] for c in fits] == ["ensemble of 4 (alpha+beta)", "ensemble of 2 (alpha)"]
    fits.clear()
    run_jobs(twomoon, jobs[1:] + jobs[:1], SEEDS, make, CFG, pseudo)
    assert [c["desc"] for c in fits] == ["ensemble of 4 (alpha+beta)", "ensemble of 2 (alpha)"]


def test_each_ensemble_draws_its_noise_from_a_generator_seeded_by_its_cells(twomoon, untrained, fits):
    """The noise generator is the ensemble transform's own, seeded from its cells (setting, method,
    seed): the same cells get the same stream in every run, other cells another stream."""
    make, pseudo = untrained
    mm = METHODS["mm_student"]

    def seed_of(jobs, seeds):
        fits.clear()
        run_jobs(twomoon, jobs, seeds, make, CFG, pseudo)
        (call,) = fits
        assert isinstance(call["T"].generator, torch.Generator)
        return call["T"].generator.initial_seed()

    first = seed_of([Job(mm, T1(0.5), "a")], SEEDS)
    assert seed_of([Job(mm, T1(0.5), "a")], SEEDS) == first
    assert seed_of([Job(mm, T1(0.5), "b")], SEEDS) != first
    assert seed_of([Job(mm, T1(0.5), "a")], [7, 8]) != first


def test_the_noise_generator_is_made_on_the_runs_device(twomoon, untrained, fits):
    """Each ensemble's generator is made on the run's device (not the CPU's by default): on "meta",
    which has no generators, torch refuses it (torch 2.13's words) before any ensemble trains. (On
    CUDA the next test checks the same end to end.)"""
    make, pseudo = untrained
    with pytest.raises(RuntimeError, match="^META device type not an accelerator"):
        run_jobs(twomoon, _jobs(), SEEDS, make, CFG, pseudo, device="meta")
    assert fits == []


def test_identical_noisy_cells_train_once_augmented_cells_always_apart(twomoon, untrained, students):
    """Jobs with the same method and noise levels share one training; jobs with an input augmentation
    or a geometric one are never merged (the augmentation is a function: no equality to go by)."""
    make, pseudo = untrained
    mm = METHODS["mm_student"]
    jobs = [Job(mm, T1(0.5), "a"), Job(mm, T1(0.5), "b"),
            Job(mm, Transform(augment=torch.neg), "aug1"), Job(mm, Transform(augment=torch.neg), "aug2"),
            Job(mm, Transform(geometric=object()), "geo1"), Job(mm, Transform(geometric=object()), "geo2")]
    res = run_jobs(twomoon, jobs, SEEDS[:1], make, CFG, pseudo, vectorised=False)
    assert [id(T) for _, T, _ in students] == [id(jobs[j].T) for j in (0, 2, 3, 4, 5)]
    assert res[1].scores == res[0].scores


def test_augmented_cells_fall_back_to_one_model_each_in_a_vectorised_run(twomoon, untrained, fits, students):
    """An input augmentation cannot be stacked into an ensemble transform, so with vectorised=True
    such a cell trains one model per seed (the one-model path) while its noise-only neighbour
    still trains as an ensemble."""
    make, pseudo = untrained
    mm = METHODS["mm_student"]
    aug = Transform(augment=torch.neg)
    jobs = [Job(mm, T1(0.5), "noise"), Job(mm, aug, "aug")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, vectorised=True)
    assert _sizes(fits) == [len(SEEDS)]
    assert [(name, T is aug, seed) for name, T, seed in students] == [("mm_student", True, s) for s in SEEDS]


def test_workers_bound_the_ensembles_trained_at_once(twomoon, untrained, fits):
    """workers=2 trains at most two ensembles at a time (each scorer waits up to 0.1 s for a third)."""
    make, pseudo = untrained
    lock, active, peak = threading.Lock(), [0], [0]

    def scorer(logits, y):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        deadline = time.monotonic() + 0.1
        while peak[0] <= 2 and time.monotonic() < deadline:
            time.sleep(0.002)
        with lock:
            active[0] -= 1
        return accuracy(logits, y)

    run_jobs(twomoon, _jobs(), [1, 2, 3], make, CFG, pseudo, scorers={"test": ("test", scorer)}, workers=2,
             max_members=1)
    assert 1 <= peak[0] <= 2


@pytest.mark.parametrize("workers", [1, 2])
def test_ensembles_progress_bar_counts_to_its_total_and_is_cleared(twomoon, untrained, fits, capfd, workers):
    """The "ensembles" bar knows how many there are ("0/2" when it opens, also over the pool's results)
    and leaves no line behind: nothing of the run's progress output ends in a new line."""
    make, pseudo = untrained
    jobs = [Job(METHODS["mm_student"], Transform(), "none"), Job(METHODS["um_student"], Transform(), "none")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, workers=workers, progress=True)
    _, err = capfd.readouterr()
    assert "ensembles: " in err and " 0/2 [" in err and "\n" not in err


# Tiny trainings


def test_no_progress_bar_unless_asked(twomoon, small, capfd):
    """progress=False writes nothing, on the vectorised and the one-model paths alike."""
    make, pseudo = small
    for vectorised in (True, False):
        run_jobs(twomoon, _jobs(), SEEDS, make, CFG, pseudo, vectorised=vectorised)
        run_jobs(twomoon, _jobs() * 2, SEEDS, make, CFG, pseudo, vectorised=vectorised, workers=2)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("vectorised, workers, desc", [(True, 1, "ensembles"), (True, 2, "ensembles"),
                                                       (False, 1, "models")])
def test_progress_bars_name_what_they_count_and_leave_no_line(twomoon, small, capfd, vectorised, workers, desc):
    """progress=True shows a bar named "ensembles" or "models" that is cleared when done (leave=False:
    the output ends in a carriage return, not a new line)."""
    make, pseudo = small
    jobs = [Job(METHODS["mm_student"], Transform(), "none"), Job(METHODS["um_student"], Transform(), "none")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, vectorised=vectorised, workers=workers, progress=True)
    _, err = capfd.readouterr()
    assert f"{desc}: " in err and f"{desc.upper()}: " not in err and "XX" not in err
    assert not err.endswith("\n") and err.rstrip(" ").endswith("\r")


def test_confidence_weights_reach_the_vectorised_ensembles(twomoon, small):
    """confidence_weighting=True trains the ensemble with omega (Eq. 15-16): the same accuracies as
    the one-model path with omega, and not those of the unweighted run."""
    make, pseudo = small
    jobs = [Job(METHODS["mm_student"], Transform(), "none")]
    cfg = TrainConfig(epochs=150)
    vec = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=True, confidence_weighting=True)[0]
    seq = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=False, confidence_weighting=True)[0]
    plain = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, vectorised=True)[0]
    assert vec.scores == seq.scores
    assert vec.scores != plain.scores


def test_a_teacher_per_seed_labels_only_its_own_seeds_students(twomoon, small):
    """With ``pseudo`` a dict seed -> labels, seed s's student learns from pseudo[s]: each cell equals
    a run of that seed alone with its own labels, in both paths."""
    make, pseudo = small
    flipped = PseudoLabels(pseudo.proba.flip(-1), pseudo.soft, pseudo.kind)  # another teacher's labels
    per_seed = {SEEDS[0]: pseudo, SEEDS[1]: flipped}
    for vectorised in (True, False):
        both = run_jobs(twomoon, _jobs(), SEEDS, make, CFG, per_seed, vectorised=vectorised)[0]
        first = run_jobs(twomoon, _jobs(), SEEDS[:1], make, CFG, pseudo, vectorised=vectorised)[0]
        second = run_jobs(twomoon, _jobs(), SEEDS[1:], make, CFG, flipped, vectorised=vectorised)[0]
        assert both.scores["test"] == first.scores["test"] + second.scores["test"]


def test_per_seed_labels_must_cover_every_seed(twomoon, small):
    make, pseudo = small
    with pytest.raises(ValueError, match=r"^pseudo labels are given per seed, but not for seeds \[6\]$"):
        run_jobs(twomoon, _jobs(), SEEDS, make, CFG, {5: pseudo, 7: pseudo})


@pytest.mark.parametrize("workers, in_main", [(None, True), (1, True), (2, False)])
def test_ensembles_train_in_worker_threads_only_with_several_workers(twomoon, untrained, fits, workers, in_main):
    """By default and with workers=1 every ensemble trains on the calling thread; workers=2 in a pool."""
    make, pseudo = untrained
    kwargs = {} if workers is None else {"workers": workers}
    seen = []

    def scorer(logits, y):
        seen.append(threading.current_thread() is threading.main_thread())
        return accuracy(logits, y)

    jobs = [Job(METHODS["mm_student"], Transform(), "none"), Job(METHODS["um_student"], Transform(), "none")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, scorers={"test": ("test", scorer)}, **kwargs)
    assert len(seen) == 2 and set(seen) == {in_main}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_vectorised_noisy_cells_train_on_the_requested_device(twomoon, untrained):
    """device="cuda": the ensemble, its per-member noise levels and its noise generator all live on the
    GPU (any of them left on the CPU stops the first noisy step), and kept models come from there."""
    make, pseudo = untrained
    res = run_jobs(twomoon, [Job(METHODS["mm_student"], T1(0.5), "T1")], SEEDS, make, TrainConfig(epochs=2),
                   pseudo, device="cuda", keep_models=True)[0]
    assert len(res.models) == 2 and all(next(m.parameters()).device.type == "cuda" for m in res.models)
    assert all(0 <= v <= 100 for v in res.scores["test"])
