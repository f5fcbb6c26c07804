"""The engine's task kinds, seeds, parameter declarations and streaming paths."""
import copy
import math

import numpy as np
import pytest
import torch

from mke import seeds
from mke.algorithm import PseudoLabels, pseudo_label, pseudo_label_split, train_student, train_teacher
from mke.augment import JointFlip
from mke.book import chapters, sync_parameters
from mke.data.task import Task, check_split_sizes
from mke.kinds import DENSE, MULTI_LABEL, SINGLE_LABEL, TaskKind
from mke.methods import METHODS
from mke.metrics import MeanIoU
from mke.models import MLP, DenseNet, MKEModel, MultimodalNet
from mke.params import Param, ParameterSpec, choice, integer
from mke.train import TrainConfig, fit, predict
from mke.transforms import Transform

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ task kinds
def test_dense_loss_skips_ignored_pixels_and_matches_torch():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(2, 5, 4, 6, generator=g)
    y = torch.randint(0, 5, (2, 4, 6), generator=g)
    y[0, :2] = 255
    per = DENSE.loss(p, y)
    assert per.shape == (2, 4, 6) and (per[0, :2] == 0).all()
    expected = torch.nn.functional.cross_entropy(p, y, ignore_index=255)
    assert DENSE.reduce(per, y).item() == pytest.approx(expected.item(), rel=1e-6)


def test_dense_soft_targets_equal_hard_ones_when_one_hot():
    g = torch.Generator().manual_seed(1)
    p = torch.randn(2, 4, 3, 3, generator=g)
    y = torch.randint(0, 4, (2, 3, 3), generator=g)
    y[1, 0, 0] = 255
    soft = DENSE.one_hot(y, 4)
    assert soft.shape == p.shape and soft[1, :, 0, 0].sum() == 0  # ignored pixel: no mass
    assert DENSE.reduce(DENSE.loss(p, soft), soft).item() == pytest.approx(DENSE.reduce(DENSE.loss(p, y), y).item(),
                                                                           rel=1e-5)


def test_multi_label_loss_is_zero_at_equality_and_its_gradient_is_sigmoid_minus_y():
    g = torch.Generator().manual_seed(2)
    p = torch.randn(5, 3, generator=g, requires_grad=True)
    y = torch.rand(5, 3, generator=g)
    MULTI_LABEL.loss(p, y).sum().backward()
    assert torch.allclose(p.grad, torch.sigmoid(p).detach() - y, atol=1e-6)
    logit = torch.logit(y)
    assert MULTI_LABEL.loss(logit, y).abs().max().item() < 1e-5
    assert (MULTI_LABEL.loss(p.detach(), y) >= -1e-6).all()


def test_kinds_make_pseudo_labels_on_their_class_axis():
    proba = torch.softmax(torch.randn(3, 4, 2, 2), 1)
    assert DENSE.hard(proba).shape == (3, 2, 2)
    assert torch.equal(DENSE.hard(proba), proba.argmax(1))
    assert DENSE.confidence(proba).shape == (3, 2, 2)
    ml = torch.tensor([[0.9, 0.2, 0.5]])
    assert torch.equal(MULTI_LABEL.hard(ml), torch.tensor([[1.0, 0.0, 0.0]]))
    assert MULTI_LABEL.confidence(torch.tensor([[0.0, 1.0]])).item() == pytest.approx(1.0)
    assert MULTI_LABEL.confidence(torch.tensor([[0.5, 0.5]])).item() == pytest.approx(0.0)
    with pytest.raises(ValueError, match="task kind must be one of"):
        TaskKind("regression", -1)


def test_dense_soft_pseudo_labels_are_stored_in_float16_and_sized():
    pl = PseudoLabels(DENSE.store(torch.softmax(torch.randn(2, 40, 12, 16), 1)), soft=True, kind=DENSE)
    assert pl.proba.dtype == torch.float16
    assert pl.nbytes == 2 * 40 * 12 * 16 * 2
    assert torch.allclose(pl.proba.float().sum(1), torch.ones(2, 12, 16), atol=2e-2)


# ------------------------------------------------------------------ models behind one interface
def test_every_model_implements_the_protocol():
    models = [MLP(2, 4), MultimodalNet({"image": 3}, width=4, hidden=8), DenseNet({"rgb": 3}, 5, width=4)]
    for m in models:
        assert isinstance(m, MKEModel), type(m).__name__
    assert models[0].class_dim == -1 and models[2].class_dim == 1
    x = {"rgb": torch.randn(2, 3, 8, 8)}
    proba = models[2].predict_proba(x)
    assert proba.shape == (2, 5, 8, 8) and torch.allclose(proba.sum(1), torch.ones(2, 8, 8), atol=1e-5)


def test_predict_in_batches_equals_one_pass():
    torch.manual_seed(0)
    m = MLP(3, 8)
    x = torch.randn(1000, 3)
    assert torch.allclose(predict(m, x, batch_size=64), predict(m, x, batch_size=None), atol=1e-6)


# ------------------------------------------------------------------ seeds
def test_streams_are_independent_by_role_and_stream_and_repeat():
    a = seeds.generator(0, "um_teacher", "init")
    b = seeds.generator(0, "um_student", "init")
    c = seeds.generator(0, "um_teacher", "data")
    draws = [torch.rand(4, generator=g) for g in (a, b, c)]
    assert not torch.equal(draws[0], draws[1]) and not torch.equal(draws[0], draws[2])
    assert torch.equal(draws[0], torch.rand(4, generator=seeds.generator(0, "um_teacher", "init")))
    with pytest.raises(ValueError, match="stream must be one of"):
        seeds.derive(0, "x", "weights")


def test_teacher_and_student_of_one_seed_do_not_share_initialisation():
    with seeds.init_scope(3, "um_teacher"):
        t = MLP(2, 8)
    with seeds.init_scope(3, "um_student"):
        s = MLP(2, 8)
    with seeds.init_scope(3, "um_teacher"):
        t2 = MLP(2, 8)
    assert not torch.equal(t.fc1.weight, s.fc1.weight)
    assert torch.equal(t.fc1.weight, t2.fc1.weight)
    before = torch.random.get_rng_state()
    with seeds.init_scope(5, "x"):
        MLP(2, 2)
    assert torch.equal(before, torch.random.get_rng_state())  # the global stream is untouched


# ------------------------------------------------------------------ parameters declared once
def test_every_chapter_parameters_cell_is_generated_from_its_declaration():
    for name in chapters(ROOT):
        assert sync_parameters(ROOT / "book" / f"{name}.py"), f"{name}: run python -m mke params --write"


def test_a_parameter_spec_validates_and_records():
    spec = ParameterSpec("c", Param("profile", "book", choice("quick", "book"), "which"),
                         Param("n", 3, integer(1, 5), "how many"))
    assert spec.validate({"profile": "quick", "n": 2, "other": 1}) == {"profile": "quick", "n": 2}
    with pytest.raises(ValueError, match="'n' must lie in"):
        spec.validate({"profile": "book", "n": 9})
    with pytest.raises(ValueError, match="not set"):
        spec.validate({"profile": "book"})
    assert 'profile = "book"' in spec.cell() and spec.cell().startswith('# %% tags=["parameters"]')
    with pytest.raises(ValueError, match="twice"):
        ParameterSpec("c", Param("n", 1, integer(), ""), Param("n", 2, integer(), ""))


# ------------------------------------------------------------------ too little data
def test_too_small_a_corpus_is_named_before_any_work():
    y = np.repeat(np.arange(8), 4)[:30]
    with pytest.raises(ValueError, match=r"needs at least 13 clips per class.*class 7: 2"):
        check_split_sizes("corpus", y, {"D_l": 0.2, "D_u": 0.64, "val": 0.08, "test": 0.08}, unit="clips")
    check_split_sizes("corpus", np.repeat(np.arange(8), 13), {"D_l": 0.2, "val": 0.08})
    with pytest.raises(ValueError, match="empty"):
        check_split_sizes("corpus", [], {"a": 0.5})


# ------------------------------------------------------------------ a dense task, streamed, end to end
class _Frames(torch.utils.data.Dataset):
    """Synthetic RGB-D-like frames: 4 classes = colour band (left/right) x near/far. RGB sees the
    band and a noisy copy of depth; the depth channel is exact (the teacher is right more often
    than wrong on near/far, and the student can denoise its labels with depth)."""

    def __init__(self, n, seed, size=(12, 16)):
        g = torch.Generator().manual_seed(seed)
        self.items = []
        h, w = size
        for _ in range(n):
            depth = torch.rand(1, 1, h // 4, w // 4, generator=g)  # surfaces: 4x4 blocks
            depth = torch.nn.functional.interpolate(depth, size=(h, w), mode="nearest")[0]
            y = (depth[0] > 0.5).long() + 2 * (torch.arange(w) >= w // 2).long()  # 4 classes
            rgb = torch.rand(3, h, w, generator=g) * 0.3 + (torch.arange(w) >= w // 2).float()
            rgb[1] = depth[0] + 0.35 * torch.randn(h, w, generator=g)
            y[0, 0] = 255  # an unlabeled pixel
            self.items.append({"rgb": rgb, "depth": depth, "y": y})

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


@pytest.fixture(scope="module")
def dense_task():
    splits = {"D_l": _Frames(24, 0), "D_u": _Frames(32, 1), "test": _Frames(16, 2)}
    return Task("frames", splits, ("rgb", "depth"), num_classes=4, concat=False, kind=DENSE)


def _dense_factory(task):
    def make(method, seed):
        with seeds.init_scope(seed, method.name):
            return DenseNet({m: (3 if m == "rgb" else 1) for m in method.modalities(task)}, task.num_classes, width=8)
    return make


def test_a_dense_streamed_task_runs_algorithm_1(dense_task):
    task, make = dense_task, _dense_factory(dense_task)
    cfg = TrainConfig(epochs=12, lr=0.01, optimizer="adam", batch_size=8)
    teacher = train_teacher(task, make, cfg, seed=0)
    pseudo = pseudo_label_split(teacher, task, "D_u", soft=True, batch_size=8)
    assert pseudo.proba.shape == (32, 4, 12, 16) and pseudo.proba.dtype == torch.float16
    T = Transform(dropout=0.1, geometric=JointFlip(0.5))
    student = train_student(task, METHODS["mm_student"], make, pseudo, cfg, T, seed=0)
    miou = {}
    for name, model, method in (("teacher", teacher, METHODS["um_teacher"]), ("mm", student, METHODS["mm_student"])):
        metric = MeanIoU(4)
        for xb, yb in task.batches("test", method.modalities(task), 8):
            metric.update(predict(model, xb), yb)
        miou[name] = metric.compute()
    # both learn the task well above chance (4 classes: an uninformed guess scores about 14 %
    # mIoU); the student from pseudo labels only. (Whether it beats its teacher is a chapter's
    # claim, measured over seeds, not a unit test's.)
    assert miou["teacher"] > 50 and miou["mm"] > 50, miou
    again = train_student(task, METHODS["mm_student"], make, pseudo, cfg, T, seed=0)
    x = next(iter(task.batches("test", METHODS["mm_student"].modalities(task), 4)))[0]
    assert torch.equal(predict(student, x), predict(again, x))  # same seed, same numbers


def test_streamed_and_in_memory_splits_train_the_same_model(dense_task):
    task = dense_task
    mem = Task("frames", {s: {k: torch.stack([task.splits[s][i][k] for i in range(task.size(s))])
                              for k in ("rgb", "depth", "y")} for s in task.splits},
               ("rgb", "depth"), num_classes=4, concat=False, kind=DENSE)
    make = _dense_factory(task)
    cfg = TrainConfig(epochs=2, lr=0.01, optimizer="adam", batch_size=8)
    a = train_teacher(task, make, cfg, seed=1)
    b = train_teacher(mem, make, cfg, seed=1)
    x = {"rgb": mem.splits["test"]["rgb"][:4]}
    assert torch.allclose(predict(a, x), predict(b, x), atol=1e-5)


def test_batch_spans_merge_a_last_batch_too_small_for_batchnorm():
    from mke.train import batch_spans

    assert batch_spans(17, 8) == [(0, 8), (8, 16), (16, 17)]  # min_batch=1: range(0, n, batch)
    assert batch_spans(17, 8, 2) == [(0, 8), (8, 17)]
    assert batch_spans(18, 8, 2) == [(0, 8), (8, 16), (16, 18)]
    assert batch_spans(1, 8, 2) == [(0, 1)]  # nothing to merge with
    with pytest.raises(ValueError, match="min_batch"):
        TrainConfig(epochs=1, min_batch=0)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_fused_step_is_the_same_update_rule_and_is_used(optimizer):
    """``fused_step`` asks torch for its fused optimizer step: the optimizer is built with
    ``fused=True`` and moves the weights as the looped step does (to rounding)."""
    from mke.train import make_optimizer

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))

        def forward(self, x, T=None):
            return self.net(x)

    torch.manual_seed(0)
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    torch.manual_seed(1)
    start = MLP()
    models = []
    for fused in (False, True):
        model = copy.deepcopy(start)
        cfg = TrainConfig(epochs=3, lr=0.01, optimizer=optimizer, momentum=0.5 if optimizer == "sgd" else 0.0,
                          weight_decay=1e-3, batch_size=16, fused_step=fused)
        assert make_optimizer(model.parameters(), cfg).defaults["fused"] is (True if fused else None)
        fit(model, x, y, cfg, generator=torch.Generator().manual_seed(0))
        models.append(model)
    for a, b, s in zip(models[0].parameters(), models[1].parameters(), start.parameters()):
        assert not torch.allclose(a, s, atol=1e-3)  # it trained
        assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="fused_step"):
        TrainConfig(epochs=1, fused_step=1)


def test_min_batch_trains_batchnorm_on_n_equal_one_mod_batch(dense_task):
    """24 + 1 frames in batches of 8 leave a last batch of one: BatchNorm refuses it unless
    min_batch=2 merges it, streamed and in memory alike."""
    class BN(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.bn = torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm1d(4)

        def forward(self, x, T=None):  # BatchNorm on pooled features, as before a classifier
            return self.bn(self.conv(x["rgb"] if isinstance(x, dict) else x).mean((-2, -1)))

    frames = [dense_task.splits["D_l"][i] for i in range(24)] + [dense_task.splits["D_u"][0]]
    x = {"rgb": torch.stack([f["rgb"] for f in frames])}
    y = torch.arange(25) % 4
    strict = TrainConfig(epochs=1, lr=0.01, optimizer="adam", batch_size=8)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        fit(BN(), x, y, strict, generator=torch.Generator().manual_seed(0))
    merged = strict.but(min_batch=2)
    torch.manual_seed(0)
    a = BN()
    b = copy.deepcopy(a)
    fit(a, x, y, merged, generator=torch.Generator().manual_seed(0))

    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return 25

        def __getitem__(self, i):
            return {"rgb": x["rgb"][i]}, y[i], None

    fit(b, Items(), None, merged, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(predict(a, x), predict(b, x))


def test_a_nan_loss_stops_a_streamed_fit(dense_task):
    class Broken(DenseNet):
        def forward(self, x, T=None):
            return super().forward(x, T) * float("nan")

    model = Broken({"rgb": 3}, 4, width=4)
    items = [({"rgb": dense_task.splits["D_l"][i]["rgb"]}, dense_task.splits["D_l"][i]["y"], None) for i in range(8)]

    class Items(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return items[i]

    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(model, Items(), None, TrainConfig(epochs=2, batch_size=4, check_every=1), kind=DENSE)


def test_top_k_pseudo_labels_keep_the_arg_max_and_renormalise(dense_task, tmp_path):
    from mke.compact import TopK

    make = _dense_factory(dense_task)
    teacher = train_teacher(dense_task, make, TrainConfig(epochs=1, batch_size=8), seed=0)
    full = pseudo_label_split(teacher, dense_task, "D_u", soft=True, batch_size=8)
    top = pseudo_label_split(teacher, dense_task, "D_u", soft=True, batch_size=8, top_k=2, folder=tmp_path)
    assert isinstance(top.proba, TopK) and (tmp_path / "values.npy").exists()
    f16 = full.proba.float()
    two = f16.topk(2, dim=1).values
    unique = two[:, 0] > two[:, 1]  # float16 rounding can tie classes the float32 top-k tells apart
    assert unique.float().mean() > 0.5
    assert torch.equal(top.hard[unique], f16.argmax(1)[unique])
    assert top.nbytes == 32 * 2 * 12 * 16 * 3  # float16 value + uint8 id, per kept class and pixel
    item = top.proba[3]
    assert item.shape == (4, 12, 16) and torch.allclose(item.sum(0), torch.ones(12, 16), atol=1e-3)
    assert ((item > 0).sum(0) <= 2).all()
    assert 0 <= top.proba.dropped_mass() < 0.75
    student = train_student(dense_task, METHODS["mm_student"], make, top, TrainConfig(epochs=1, batch_size=8),
                            Transform(), seed=0)
    assert isinstance(student, DenseNet)


def test_eq3_consistency_compares_predictions_in_the_same_frame():
    """Eq. 5 with a geometric T: f(T(x)) is compared with T(f(x)). A per-pixel (1x1 conv) model
    commutes with a flip, so its consistency term is 0 exactly when the frames are matched."""
    from mke.losses import mke_objective
    from mke.train import _geometric_step

    class PerPixel(DenseNet):
        def __init__(self):
            super().__init__({"rgb": 3}, 4)
            self.head = torch.nn.Conv2d(3, 4, 1)

        def forward(self, x, T=None):
            return self.head(x["rgb"])

    torch.manual_seed(0)
    model = PerPixel()
    x = {"rgb": torch.randn(4, 3, 6, 8)}
    y = torch.randint(0, 4, (4, 6, 8))
    T = Transform(geometric=JointFlip(1.0), augment_generator=torch.Generator().manual_seed(0))
    xa, ya, wa, x_clean, to_frame = _geometric_step(T, x, y, None, DENSE)
    assert torch.equal(xa["rgb"], x["rgb"].flip(-1)) and torch.equal(ya, y.flip(-1))
    matched = mke_objective(model, xa, ya, T, form="eq3", gamma=1.0, kind=DENSE, x_clean=x_clean, to_frame=to_frame)
    pl_only = DENSE.reduce(DENSE.loss(model(xa), ya), ya)
    assert matched.item() == pytest.approx(pl_only.item(), abs=1e-5)  # L_reg = 0
    unmatched = mke_objective(model, xa, ya, T, form="eq3", gamma=1.0, kind=DENSE, x_clean=x_clean,
                              to_frame=lambda t: t)  # comparing across frames
    assert unmatched.item() > matched.item() + 0.01


def test_cache_entries_are_keyed_by_the_code_that_made_them(monkeypatch):
    """After a change to the library's source, a stale entry is not reused (issue 10)."""
    from mke import cache

    calls = []

    def compute():
        calls.append(1)
        return torch.tensor([len(calls)])

    assert cache.cached("code-key-test", compute).item() == 1
    assert cache.cached("code-key-test", compute).item() == 1 and len(calls) == 1  # reused
    monkeypatch.setattr(cache, "code_version", lambda: "another version of the code")
    assert cache.cached("code-key-test", compute).item() == 2 and len(calls) == 2  # recomputed
    model = MLP(2, 4)
    trained = []
    cache.checkpoint_or_train(model, ("k",), lambda m: trained.append(1))
    monkeypatch.setattr(cache, "code_version", lambda: "yet another")
    assert cache.checkpoint_or_train(model, ("k",), lambda m: trained.append(1)) is False and len(trained) == 2
    assert len(cache.code_version()) > 0
