"""The teacher checkpoint's key names everything that determines the trained weights.

A key cut down to (seed, architecture) would hand a teacher trained under another config, on
other data or with another head to a later call: these tests train under each change and ask
for different weights, and for the very same call to be loaded (not retrained).
"""
import pytest
import torch

import mke.algorithm as alg
from mke.cache import cache_dir
from mke.data.task import Task
from mke.data.twomoon import twomoon_task
from mke.experiments.twomoon import model_factory
from mke.train import TrainConfig

SEED = 7


class _Items(torch.utils.data.Dataset):
    """An in-memory split served item by item (the streamed path of train_teacher)."""

    def __init__(self, split):
        self.split = split

    def __len__(self):
        return len(self.split["y"])

    def __getitem__(self, i):
        return {k: v[i] for k, v in self.split.items()}


def _streamed(task: Task) -> Task:
    return Task(task.name, {s: _Items(d) for s, d in task.splits.items()}, task.modalities, task.num_classes,
                dict(task.info))


def _same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def trainings(monkeypatch, tmp_path):
    """A fresh cache, and a list that grows by one each time train_teacher really trains."""
    monkeypatch.setenv("MKE_CACHE", str(tmp_path))
    calls = []
    real_fit = alg.fit

    def counting_fit(*args, **kwargs):
        calls.append(kwargs.get("desc"))
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(alg, "fit", counting_fit)
    return calls


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_a_changed_config_or_data_set_trains_a_new_teacher(trainings, streamed):
    wrap = _streamed if streamed else (lambda t: t)
    task, other_data = wrap(twomoon_task()), wrap(twomoon_task(n_labeled=40))
    make = model_factory(False)
    cfg = TrainConfig(epochs=30, batch_size=10) if streamed else TrainConfig(epochs=30)
    longer = cfg.but(epochs=60)

    first = alg.train_teacher(task, make, cfg, SEED, checkpoint=True)
    assert len(trainings) == 1 and len(list((cache_dir() / "checkpoints").glob("*.pt"))) == 1
    again = alg.train_teacher(task, make, cfg, SEED, checkpoint=True)
    assert len(trainings) == 1, "the same call should load its checkpoint, not train again"
    assert _same_weights(first, again)

    for what, (t, c) in {"more epochs": (task, longer), "another D_l": (other_data, cfg)}.items():
        n = len(trainings)
        other = alg.train_teacher(t, make, c, SEED, checkpoint=True)
        assert not _same_weights(first, other), f"{what}: the teacher checkpointed under the first call came back"
        assert len(trainings) == n + 1, f"{what}: no training happened"


def test_the_softmax_head_is_part_of_the_key(trainings, twomoon):
    """The paper-compat net has the corrected net's architecture and initial weights: only its
    softmax head tells their teachers apart."""
    cfg = TrainConfig(epochs=30)
    corrected = alg.train_teacher(twomoon, model_factory(False), cfg, SEED, checkpoint=True)
    compat = alg.train_teacher(twomoon, model_factory(True), cfg, SEED, checkpoint=True)
    assert len(trainings) == 2, "the paper-compat teacher was loaded from the corrected one's checkpoint"
    assert not _same_weights(corrected, compat)
