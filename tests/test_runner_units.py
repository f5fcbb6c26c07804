"""run_jobs' options pinned one at a time on tiny runs (issue 10: the survivors of make mutation
in mke.runner): progress bars, confidence weights in the vectorised path, a teacher per seed, and
which thread trains an ensemble."""
import threading

import pytest
import torch

from mke.algorithm import PseudoLabels, pseudo_label, train_teacher
from mke.experiments.twomoon import model_factory
from mke.metrics import accuracy
from mke.methods import METHODS
from mke.runner import Job, run_jobs
from mke.train import TrainConfig
from mke.transforms import Transform

SEEDS = [5, 6]
CFG = TrainConfig(epochs=30)


@pytest.fixture(scope="module")
def small(twomoon):
    make = model_factory(False)
    teacher = train_teacher(twomoon, make, TrainConfig(epochs=200), 39)
    return make, pseudo_label(teacher, twomoon.inputs("D_u", ("alpha",)), soft=True)


def _jobs():
    return [Job(METHODS["mm_student"], Transform(), "none")]


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


@pytest.mark.parametrize("workers, in_main", [(1, True), (2, False)])
def test_ensembles_train_in_worker_threads_only_with_several_workers(twomoon, small, workers, in_main):
    """workers=1 trains every ensemble on the calling thread; workers=2 in a pool of threads."""
    make, pseudo = small
    seen = []

    def scorer(logits, y):
        seen.append(threading.current_thread() is threading.main_thread())
        return accuracy(logits, y)

    jobs = [Job(METHODS["mm_student"], Transform(), "none"), Job(METHODS["um_student"], Transform(), "none")]
    run_jobs(twomoon, jobs, SEEDS, make, CFG, pseudo, scorers={"test": ("test", scorer)}, workers=workers)
    assert len(seen) == 2 and set(seen) == {in_main}
