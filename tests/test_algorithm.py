"""Algorithm 1: teacher, pseudo labels (cached by teacher), students, iteration."""
import pytest
import torch

from mke.algorithm import PseudoLabels, expand, pseudo_label, student_data, train_teacher
from mke.cache import cache_dir
from mke.experiments.twomoon import model_factory
from mke.methods import METHODS
from mke.train import TrainConfig, fit


def test_teacher_reproduces_paper_and_corrected_accuracy(twomoon):
    """The paper's 68.00 % (softmax applied twice) and the corrected code's 69.50 %."""
    from mke.metrics import accuracy
    from mke.train import predict

    for compat, expected in ((True, 68.0), (False, 69.5)):
        t = train_teacher(twomoon, model_factory(compat), TrainConfig(epochs=1000), 39)
        acc = accuracy(predict(t, twomoon.inputs("test", ("alpha",))), twomoon.labels("test")).item()
        assert acc == pytest.approx(expected, abs=1e-6)


def test_pseudo_labels_hard_soft_and_cache(twomoon):
    teacher = train_teacher(twomoon, model_factory(False), TrainConfig(epochs=50), 39)
    x = twomoon.inputs("D_u", ("alpha",))
    hard = pseudo_label(teacher, x)
    soft = pseudo_label(teacher, x, soft=True)
    assert hard.targets.dtype == torch.long and hard.targets.shape == (270,)
    assert soft.targets.shape == (270, 2) and torch.allclose(soft.targets.sum(-1), torch.ones(270))
    assert torch.equal(soft.hard, hard.targets)
    n_files = len(list((cache_dir() / "pseudo_labels").glob("*.pt")))
    again = pseudo_label(teacher, x)  # same teacher: served from the cache, no new file
    assert torch.equal(again.proba, hard.proba)
    assert len(list((cache_dir() / "pseudo_labels").glob("*.pt"))) == n_files
    other = train_teacher(twomoon, model_factory(False), TrainConfig(epochs=60), 39)
    pseudo_label(other, x)  # another teacher: another cache entry
    assert len(list((cache_dir() / "pseudo_labels").glob("*.pt"))) == n_files + 1


def test_corrupt_cache_entry_is_recomputed(twomoon):
    teacher = train_teacher(twomoon, model_factory(False), TrainConfig(epochs=20), 5)
    x = twomoon.inputs("D_u", ("alpha",))
    first = pseudo_label(teacher, x)
    for f in (cache_dir() / "pseudo_labels").glob("*.pt"):
        f.write_bytes(b"not a tensor")
    assert torch.equal(pseudo_label(teacher, x).proba, first.proba)


def test_student_data_per_method(twomoon):
    pseudo = PseudoLabels(torch.softmax(torch.randn(270, 2), -1))
    x, y, w = student_data(twomoon, METHODS["mm_student"], pseudo)
    assert x.shape == (270, 2) and torch.equal(y, pseudo.hard) and w is None
    x, y, _ = student_data(twomoon, METHODS["mm_student_sup"], pseudo)
    assert torch.equal(y, twomoon.labels("D_u"))
    x, y, w = student_data(twomoon, METHODS["noisy_student"], pseudo, confidence_weighting=True)
    assert x.shape == (300, 1)
    assert torch.equal(y[:30], twomoon.labels("D_l")) and torch.equal(y[30:], pseudo.hard)
    assert torch.equal(w[:30], torch.ones(30)) and torch.allclose(w[30:], pseudo.weight())
    soft = PseudoLabels(pseudo.proba, soft=True)
    _, y, _ = student_data(twomoon, METHODS["noisy_student"], soft)
    assert y.shape == (300, 2) and torch.equal(y[:30].argmax(-1), twomoon.labels("D_l"))
    with pytest.raises(ValueError, match="pseudo labels"):
        student_data(twomoon, METHODS["mm_student"], None)


def test_expand_iterates_generations(twomoon):
    from mke.transforms import T1

    out = expand(twomoon, model_factory(False), TrainConfig(epochs=100), TrainConfig(epochs=50), T1(1.0),
                 seed=3, teacher_seed=39, generations=2)
    assert len(out["students"]) == 2 and len(out["pseudo_labels"]) == 2
    # generation 2 is labelled by the generation-1 MM student, not by the teacher
    assert not torch.equal(out["pseudo_labels"][0].proba, out["pseudo_labels"][1].proba)
    with pytest.raises(ValueError, match="generations"):
        expand(twomoon, model_factory(False), TrainConfig(epochs=1), TrainConfig(epochs=1), T1(1.0), 0,
               generations=0)


def test_nan_loss_stops_training_with_a_clear_message():
    model = torch.nn.Linear(2, 2)
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    x[0, 0] = float("nan")

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x, T=None):
            return self.inner(x)

    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(Wrapped(), x, y, TrainConfig(epochs=100, check_every=10), desc="nan test")


def test_train_config_validation():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(epochs=1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(epochs=1, lr=0)
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(epochs=1, schedule="step")


def test_cosine_schedule_anneals_to_zero():
    """With ``schedule='cosine'`` the last step's learning rate is ~0: the final model is not
    the product of one last large step (what made the emotion chapter's students unstable)."""
    from mke.models import seeded_mlp

    m = seeded_mlp(0, 2, 8)
    x, y = torch.randn(40, 2), torch.randint(0, 2, (40,))
    seen = []
    original = torch.optim.Adam.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *a, **k)

    torch.optim.Adam.step = spy
    try:
        fit(m, x, y, TrainConfig(epochs=5, lr=0.1, optimizer="adam", batch_size=10, schedule="cosine"))
    finally:
        torch.optim.Adam.step = original
    assert len(seen) == 20 and seen[0] == pytest.approx(0.1) and seen[-1] < 0.1 * 0.01
    assert all(a >= b for a, b in zip(seen, seen[1:]))


def test_fingerprint_covers_batchnorm_buffers_and_dict_inputs():
    """Conv teachers have 0-d buffers (BatchNorm's step count) and dict inputs: both hash."""
    from mke.cache import fingerprint
    from mke.models import MultimodalNet

    net = MultimodalNet({"image": 2}, width=2, hidden=4)
    x = {"image": torch.zeros(3, 2, 8, 8)}
    key = fingerprint(net.state_dict(), x)
    net.branches["image"].net[1].num_batches_tracked += 1
    assert fingerprint(net.state_dict(), x) != key
    assert fingerprint(net.state_dict(), {"image": torch.ones(3, 2, 8, 8)}) != fingerprint(net.state_dict(), x)


def test_minibatches_and_adam_train(twomoon):
    """The mini-batch path (for the larger chapters) learns TwoMoon's labeled alpha set."""
    from mke.metrics import accuracy
    from mke.models import seeded_mlp

    m = seeded_mlp(0, 2, 16)
    x, y = twomoon.inputs("D_u", twomoon.modalities), twomoon.labels("D_u")
    fit(m, x, y, TrainConfig(epochs=60, lr=0.01, optimizer="adam", batch_size=32),
        generator=torch.Generator().manual_seed(0))
    assert accuracy(m(x), y).item() > 85


def test_teacher_checkpoint_is_a_state_dict_reused(twomoon):
    from mke.metrics import accuracy
    from mke.train import predict

    make = model_factory(False)
    cfg = TrainConfig(epochs=200)
    first = train_teacher(twomoon, make, cfg, 11, checkpoint=True)
    files = list((cache_dir() / "checkpoints").glob("*.pt"))
    assert files and isinstance(torch.load(files[0], weights_only=True), dict)
    calls = []
    import mke.algorithm as alg

    original = alg.fit
    alg.fit = lambda *a, **k: calls.append(1)
    try:
        again = train_teacher(twomoon, make, cfg, 11, checkpoint=True)  # loaded, not trained
    finally:
        alg.fit = original
    assert not calls
    x = twomoon.inputs("test", ("alpha",))
    assert torch.equal(predict(first, x), predict(again, x))
    assert accuracy(predict(again, x), twomoon.labels("test")).item() > 60
