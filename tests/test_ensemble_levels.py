"""Each ensemble member trains under its own job's T level, however the runner chunks a group.

Members of one group that hold different levels of T share one ensemble (and with
``max_members`` small, several chunks, some of them mixing levels); every member must end up as
if its job had been run alone. A member's confidence on D_u (mean max-probability) falls
steeply with its T1 level (at 1000 epochs: about 0.93 at v0=0, 0.87 at 0.5, 0.58 at 4), so a
member trained under another member's level shows.
"""
import pytest
import torch

from mke.algorithm import pseudo_label, train_teacher
from mke.experiments.twomoon import model_factory
from mke.methods import METHODS
from mke.metrics import accuracy
from mke.runner import Job, run_jobs
from mke.train import TrainConfig
from mke.transforms import T1, T2, T3, Transform, stack_transforms

SEEDS = [81, 14, 3]
LEVELS = (0.0, 0.5, 4.0)


def confidence(logits, y):
    return logits.softmax(-1).max(-1).values.mean(-1)


SCORERS = {"test": ("test", accuracy), "confidence": ("D_u", confidence)}


def test_stacked_columns_follow_the_members_in_order():
    ts = [Transform(0.1, 1.0, 0.2), Transform(0.2, 0.0, 0.4), T1(0.3) + T3(0.6), T2(4.0)]
    g = torch.Generator()
    T = stack_transforms(ts, generator=g)
    assert T.ensemble and T.generator is g
    for name in ("input_noise", "hidden_noise", "dropout"):
        column = getattr(T, name)
        assert column.shape == (4, 1, 1), name
        assert column.flatten().tolist() == pytest.approx([float(getattr(t, name)) for t in ts]), name
    with pytest.raises(ValueError, match="augmentations"):
        stack_transforms([T1(1.0), Transform(augment=lambda x: x)])


@pytest.fixture(scope="module")
def pseudo(twomoon):
    teacher = train_teacher(twomoon, model_factory(False), TrainConfig(epochs=1000), 39)
    return pseudo_label(teacher, twomoon.inputs("D_u", ("alpha",)))


def test_chunked_group_with_mixed_levels_matches_each_job_run_alone(twomoon, pseudo):
    make, cfg = model_factory(False), TrainConfig(epochs=1000)
    jobs = [Job(METHODS["mm_student"], T1(v), f"T1 v0={v:g}") for v in LEVELS]
    # v0 = 0.5 and 4 share one group of 6 members; max_members=2 cuts it into 3 chunks, the middle
    # one holding (0.5, seed 3) and (4, seed 81); v0 = 0 (noise-free) is its own group, in 2 chunks
    chunked = run_jobs(twomoon, jobs, SEEDS, make, cfg, pseudo, scorers=SCORERS, max_members=2)
    alone = {job.setting: run_jobs(twomoon, [job], SEEDS, make, cfg, pseudo, scorers=SCORERS)[0] for job in jobs}
    for r in chunked:
        ref = alone[r.job.setting]
        if r.job.setting == "T1 v0=0":  # no noise: the same arithmetic, the same numbers
            assert r.scores == ref.scores
            continue
        for seed, got, want in zip(SEEDS, r.scores["confidence"], ref.scores["confidence"]):
            assert got == pytest.approx(want, abs=0.02), f"{r.job.setting}, seed {seed}: trained under another level?"
    conf = {r.job.setting: r.scores["confidence"] for r in chunked}
    assert max(conf["T1 v0=4"]) < 0.7 < 0.8 < min(conf["T1 v0=0.5"]), conf
    acc = {r.job.setting: sum(r.scores["test"]) / len(SEEDS) for r in chunked}
    assert acc["T1 v0=4"] < acc["T1 v0=0"] - 10, acc  # v0=4 drowns the inputs (about 55 % against 72 %)
