"""Algorithm 1's pieces pinned value by value, on tiny hand-made tasks (issue 10: every test can fail).

* :class:`~mke.algorithm.StudentDataset`: the items ``(x, target, weight)`` of every part of a
  method's training set, the index mapping across parts, the targets (true labels on D_l, the
  teacher's pseudo labels on D_u, true ones on D_u for the supervised bound; hard or soft) and
  omega (Eq. 15) as weight, for single-label, multi-label and dense tasks;
* :func:`~mke.algorithm.evaluate`: exact scores of a model whose outputs are set by hand, through
  a metric object (streamed batches) and through a metric function (one pass);
* :func:`~mke.algorithm.expand`: who labels whom in each generation, which arguments each step
  gets and what comes back (with the three steps replaced by recorders), and one real tiny run;
* :func:`~mke.runner.run_parallel`: results in job order, the worker count, one torch thread per
  worker, errors, and the one-worker path against the threaded one;
* :func:`~mke.algorithm.train_teacher` and :func:`~mke.algorithm.train_student`: what each passes
  on (device, checkpoint key and switch, data, weights, T and its streams, description, kind),
  with ``fit`` and ``checkpoint_or_train`` replaced by recorders; the streams of ``_roles`` and
  when ``_seeded_T`` seeds T;
* :func:`~mke.algorithm.pseudo_label`: softmax-headed teachers, batch sizes, the cache (its key,
  its switch) and the kind; :class:`~mke.algorithm.PseudoLabels` over top-k maps;
  :func:`~mke.algorithm.student_data`'s weights and dtypes for multi-label and dense tasks.
"""
import inspect
import math
import threading
import time

import pytest
import torch

import mke.algorithm as algorithm
from mke import seeds
from mke.algorithm import PseudoLabels, StudentDataset, evaluate, expand, pseudo_label, pseudo_label_split
from mke.cache import code_version, fingerprint
from mke.compact import TopK
from mke.data.task import Task
from mke.experiments.twomoon import model_factory
from mke.kinds import DENSE, MULTI_LABEL, SINGLE_LABEL
from mke.methods import METHODS
from mke.metrics import Accuracy, accuracy
from mke.runner import run_parallel
from mke.train import TrainConfig
from mke.transforms import T1


class _Items(torch.utils.data.Dataset):
    """A streamed split: a list of per-sample dicts."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        if not 0 <= i < len(self.items):  # no negative indexing: a wrong index must fail loudly
            raise LookupError(f"sample {i} of {len(self.items)}")
        return self.items[i]


def _sample(j: int, y):
    return {"a": torch.tensor([float(j), 10.0 + j]), "b": torch.tensor([100.0 + j]), "y": y}


# D_l: samples 0, 1 with labels 0, 1; D_u: samples 2, 3, 4 with true labels 2, 0, 1
D_L_Y = [0, 1]
D_U_Y = [2, 0, 1]
# the teacher's distributions on D_u: arg max 1, 2, 0 (never the true label, never D_l's label
# at the same position, never the arg max a wrong class axis would give)
PROBA = torch.tensor([[0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]])
HARD = [1, 2, 0]


def _omega(p) -> float:
    """1 - H(p) / log K, written out."""
    return 1.0 - (-sum(v * math.log(v) for v in p)) / math.log(len(p))


@pytest.fixture
def streamed():
    splits = {"D_l": _Items([_sample(j, torch.tensor(y)) for j, y in enumerate(D_L_Y)]),
              "D_u": _Items([_sample(2 + j, torch.tensor(y)) for j, y in enumerate(D_U_Y)])}
    return Task("tiny", splits, ("a", "b"), num_classes=3)


# ---------------------------------------------------------------- StudentDataset: parts and index mapping
def test_parts_lengths_and_index_mapping_across_d_l_and_d_u(streamed):
    ds = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA))
    assert ds.parts == [("D_l", 2), ("D_u", 3)] and len(ds) == 5
    assert ds.modalities == ("a",)
    for i in range(5):
        x, y, w = ds[i]
        assert torch.equal(x, torch.tensor([float(i), 10.0 + i])), i  # sample i, alpha only
        assert w is None
    assert [int(ds[i][1]) for i in range(5)] == D_L_Y + HARD  # true on D_l, the teacher's on D_u
    for i in (5, 7):
        with pytest.raises(IndexError, match=rf"^index {i} out of range for 5 items$"):  # the index asked for
            ds[i]
    only_du = StudentDataset(streamed, METHODS["um_student"], PseudoLabels(PROBA))
    assert only_du.parts == [("D_u", 3)] and len(only_du) == 3
    assert torch.equal(only_du[0][0], torch.tensor([2.0, 12.0])) and int(only_du[0][1]) == 1
    with pytest.raises(IndexError, match="^index 3 out of range for 3 items$"):
        only_du[3]
    # train_on overrides the method's parts (the teacher's set on a streamed D_l)
    own = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA), train_on=("D_u", "D_l"))
    assert own.parts == [("D_u", 3), ("D_l", 2)] and len(own) == 5
    assert [int(own[i][1]) for i in range(5)] == HARD + D_L_Y


def test_hard_targets_are_class_indices_and_weights_none_by_default(streamed):
    ds = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA))
    assert ds.confidence_weighting is False
    x, y, w = ds[0]  # D_l: the true label, as stored
    assert torch.equal(y, torch.tensor(0)) and y.dtype == torch.long and w is None
    x, y, w = ds[3]  # D_u row 1: arg max of the teacher's distribution
    assert torch.equal(y, torch.tensor(2)) and y.dtype == torch.long and y.shape == () and w is None


def test_soft_targets_are_one_hot_on_d_l_and_the_distribution_on_d_u(streamed):
    ds = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA, soft=True))
    _, y, w = ds[1]
    assert torch.equal(y, torch.tensor([0.0, 1.0, 0.0])) and w is None  # num_classes=3, label 1
    for j in range(3):
        _, y, w = ds[2 + j]
        assert torch.equal(y, PROBA[j]) and w is None


def test_confidence_weighting_gives_omega_on_d_u_and_one_on_d_l(streamed):
    ds = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA), confidence_weighting=True)
    assert ds.confidence_weighting is True
    for i in range(2):
        _, y, w = ds[i]
        assert torch.equal(w, torch.tensor(1.0)) and w.shape == ()
    for j in range(3):
        _, y, w = ds[2 + j]
        assert int(y) == HARD[j]
        assert w.shape == () and float(w) == pytest.approx(_omega(PROBA[j].tolist()), abs=1e-6)
    # the same omega with soft targets
    soft = StudentDataset(streamed, METHODS["noisy_student"], PseudoLabels(PROBA, soft=True), True)
    _, y, w = soft[4]
    assert torch.equal(y, PROBA[2]) and float(w) == pytest.approx(_omega([0.6, 0.3, 0.1]), abs=1e-6)
    _, y, w = soft[0]
    assert torch.equal(y, torch.tensor([1.0, 0.0, 0.0])) and torch.equal(w, torch.tensor(1.0))


def test_supervised_bound_takes_true_labels_on_d_u(streamed):
    sup = METHODS["mm_student_sup"]
    for pseudo in (None, PseudoLabels(PROBA)):
        ds = StudentDataset(streamed, sup, pseudo, confidence_weighting=True)
        assert ds.parts == [("D_u", 3)]
        for j in range(3):
            x, y, w = ds[j]
            assert torch.equal(x, torch.tensor([2.0 + j, 12.0 + j, 102.0 + j]))  # a and b concatenated
            assert torch.equal(y, torch.tensor(D_U_Y[j]))
            assert torch.equal(w, torch.tensor(1.0))  # true labels: weight 1, not omega
    _, y, w = StudentDataset(streamed, sup, PseudoLabels(PROBA, soft=True))[0]
    assert torch.equal(y, torch.tensor([0.0, 0.0, 1.0])) and w is None  # one-hot of the true label 2


def test_methods_on_pseudo_labels_need_the_teachers(streamed):
    for name in ("um_student", "noisy_student", "mm_student", "mm_student_noreg"):
        with pytest.raises(ValueError, match=rf"^method '{name}' trains on pseudo labels; pass the teacher's$"):
            StudentDataset(streamed, METHODS[name], None)
    assert len(StudentDataset(streamed, METHODS["um_teacher"], None)) == 2
    assert len(StudentDataset(streamed, METHODS["mm_student_sup"], None)) == 3


def test_inputs_are_a_dict_or_concatenated_on_the_feature_axis():
    def item(j, y):
        return {"a": torch.full((1, 2), float(j)), "b": torch.full((1, 3), 10.0 + j), "y": torch.tensor(y)}

    splits = {"D_u": _Items([item(0, 1), item(1, 0)])}
    concat = Task("rows", splits, ("a", "b"), num_classes=2)
    x, _, _ = StudentDataset(concat, METHODS["mm_student_sup"], None)[1]
    assert torch.equal(x, torch.tensor([[1.0, 1.0, 11.0, 11.0, 11.0]]))  # [1, 5]: the last axis
    apart = Task("rows", splits, ("a", "b"), num_classes=2, concat=False)
    x, y, _ = StudentDataset(apart, METHODS["mm_student_sup"], None)[1]
    assert list(x) == ["a", "b"]
    assert torch.equal(x["a"], torch.ones(1, 2)) and torch.equal(x["b"], torch.full((1, 3), 11.0))
    assert int(y) == 0
    x, _, _ = StudentDataset(apart, METHODS["um_student"], PseudoLabels(torch.tensor([[0.3, 0.7], [0.9, 0.1]])))[0]
    assert list(x) == ["a"]


def test_multi_label_items_weigh_per_sample():
    ys = [torch.tensor([1.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 1.0])]
    proba = torch.tensor([[0.9, 0.2, 0.6], [0.4, 0.7, 0.1]])
    splits = {"D_l": _Items([_sample(0, ys[0])]), "D_u": _Items([_sample(1, ys[1]), _sample(2, ys[0])])}
    task = Task("tags", splits, ("a", "b"), num_classes=3, kind=MULTI_LABEL)
    ds = StudentDataset(task, METHODS["noisy_student"], PseudoLabels(proba, kind=MULTI_LABEL), True)
    _, y, w = ds[0]
    assert torch.equal(y, ys[0]) and torch.equal(w, torch.tensor(1.0)) and w.shape == ()  # one weight a sample
    _, y, w = ds[2]
    assert torch.equal(y, torch.tensor([0.0, 1.0, 0.0]))  # every class above 0.5
    h = [-(p * math.log(p) + (1 - p) * math.log(1 - p)) / math.log(2) for p in (0.4, 0.7, 0.1)]
    assert w.shape == () and float(w) == pytest.approx(1.0 - sum(h) / 3, abs=1e-6)


H, W = 2, 3


@pytest.fixture
def dense():
    def frame(j, y):
        return {"a": torch.full((1, H, W), float(j)), "b": torch.full((1, H, W), -float(j)), "y": y}

    y_l = torch.tensor([[0, 1, 2], [255, 1, 0]])  # one unlabeled pixel
    y_u = torch.tensor([[2, 2, 2], [0, 0, 0]])
    splits = {"D_l": _Items([frame(0, y_l)]), "D_u": _Items([frame(1, y_u), frame(2, y_u)])}
    task = Task("frames", splits, ("a", "b"), num_classes=3, concat=False, kind=DENSE)
    g = torch.Generator().manual_seed(0)
    proba = torch.softmax(3 * torch.randn(2, 3, H, W, generator=g), 1)
    return task, y_l, proba


def test_dense_items_weigh_per_pixel(dense):
    task, y_l, proba = dense
    ds = StudentDataset(task, METHODS["noisy_student"], PseudoLabels(proba, kind=DENSE), True)
    assert len(ds) == 3
    x, y, w = ds[0]
    assert list(x) == ["a"] and torch.equal(x["a"], torch.zeros(1, H, W))
    assert torch.equal(y, y_l) and torch.equal(w, torch.ones(H, W))  # true labels, one weight a pixel
    x, y, w = ds[2]
    assert torch.equal(x["a"], torch.full((1, H, W), 2.0))
    assert torch.equal(y, proba[1].argmax(0)) and y.shape == (H, W)
    assert y.unique().numel() > 1  # not the all-zero map a wrong class axis gives
    expected = 1.0 + (proba[1] * proba[1].log()).sum(0) / math.log(3)
    assert w.shape == (H, W) and torch.allclose(w, expected, atol=1e-6)
    assert not torch.allclose(w, torch.ones(H, W))
    soft = StudentDataset(task, METHODS["noisy_student"], PseudoLabels(proba, soft=True, kind=DENSE), True)
    _, y, w = soft[0]
    one_hot = torch.tensor([[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]], [[0, 0, 1], [0, 0, 0]]]).float()
    assert torch.equal(y, one_hot) and torch.equal(w, torch.ones(H, W))  # the 255 pixel: all zero
    _, y, w = soft[1]
    assert torch.equal(y, proba[0]) and w.shape == (H, W)
    _, _, w = StudentDataset(task, METHODS["noisy_student"], PseudoLabels(proba, kind=DENSE))[1]
    assert w is None


def test_dense_streamed_items_equal_the_in_memory_training_set(dense):
    """A streamed item is row i of what student_data builds from the same splits in memory (the
    one-hot D_l map of a soft set was [H, K, W] before: one_hot's class axis 1 is the batch's)."""
    task, _, proba = dense
    mem = Task("frames", {s: {k: torch.stack([task.splits[s][i][k] for i in range(task.size(s))])
                              for k in ("a", "b", "y")} for s in task.splits},
               ("a", "b"), num_classes=3, concat=False, kind=DENSE)
    for soft in (False, True):
        for name in ("noisy_student", "mm_student_sup"):
            pseudo = PseudoLabels(proba, soft=soft, kind=DENSE)
            x, y, w = algorithm.student_data(mem, METHODS[name], pseudo, confidence_weighting=True)
            ds = StudentDataset(task, METHODS[name], pseudo, confidence_weighting=True)
            assert len(ds) == len(y)
            for i in range(len(ds)):
                xi, yi, wi = ds[i]
                assert all(torch.equal(xi[m], x[m][i]) for m in x)
                assert yi.shape == y[i].shape and torch.allclose(yi.float(), y[i].float(), atol=1e-6), (name, soft, i)
                assert torch.allclose(wi, w[i], atol=1e-6)


# ---------------------------------------------------------------- evaluate
class _Scale(torch.nn.Module):
    """Logits = x * w (a parameter, so that predict() finds a device)."""

    def __init__(self, w):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(w))

    def forward(self, x, T=None):
        return x * self.w


def _scored_task():
    def part(a, b, y):
        return {"a": torch.tensor(a).unsqueeze(1), "b": torch.tensor(b).unsqueeze(1), "y": torch.tensor(y)}

    splits = {"val": part([1.0, 0.0], [0.0, 1.0], [1, 1]),
              "test": part([2.0, 0.0, 1.0, 3.0, 0.5], [1.0, 5.0, 4.0, 0.0, 0.25], [0, 1, 0, 0, 0])}
    return Task("scores", splits, ("a", "b"), num_classes=2)


def test_evaluate_with_a_metric_function_scores_the_methods_inputs():
    task, model = _scored_task(), _Scale([1.0, 1.0])
    mm = METHODS["mm_student"]
    # logits [a, b]: predictions 0, 1, 1, 0, 0 against 0, 1, 0, 0, 0
    score = evaluate(model, task, mm, "test", accuracy)
    assert type(score) is float and score == 80.0
    assert evaluate(model, task, mm, "val", accuracy) == 50.0

    def weighted(out, y):  # sees both the outputs and the labels
        return (out * torch.tensor([1.0, 100.0])).sum() + 10000 * y.sum()

    # sum(a) + 100 sum(b) + 10000 sum(y)
    assert evaluate(model, task, mm, "test", weighted) == pytest.approx(6.5 + 1025.0 + 10000.0, abs=1e-3)
    one = _Scale([3.0])
    assert evaluate(one, task, METHODS["um_student"], "val", lambda out, y: out.sum() * 10 + y.sum()) == 32.0


def test_evaluate_with_a_metric_object_streams_the_batches():
    task, model = _scored_task(), _Scale([1.0, 1.0])
    metric = Accuracy()
    metric.update(torch.tensor([[0.0, 1.0]]), torch.tensor([0]))  # stale state is reset first
    score = evaluate(model, task, METHODS["mm_student"], "test", metric)
    assert type(score) is float and score == 80.0

    class Recorder:
        def __init__(self):
            self.batches = []

        def reset(self):
            self.batches = []

        def update(self, out, y):
            self.batches.append((out.clone(), y.clone()))

        def compute(self):
            return len(self.batches) * 1000 + sum(float(o.sum()) for o, _ in self.batches)

    rec = Recorder()
    assert evaluate(_Scale([1.0]), task, METHODS["um_student"], "test", rec) == pytest.approx(1000 + 6.5, abs=1e-6)
    (out, y), = rec.batches
    assert torch.equal(out, torch.tensor([[2.0], [0.0], [1.0], [3.0], [0.5]])) and torch.equal(y, task.labels("test"))
    assert evaluate(model, task, METHODS["mm_student"], "val", rec) == pytest.approx(1000 + 2.0, abs=1e-6)


def test_evaluate_on_a_streamed_split(streamed):
    model = _Scale([1.0, -1.0, 0.5])  # logits [a0, -a1, b/2] on D_u: [2,-12,51], [3,-13,51.5], [4,-14,52]
    mm = METHODS["mm_student"]
    assert evaluate(model, streamed, mm, "D_u", Accuracy()) == pytest.approx(100.0 / 3)  # only label 2 right
    assert evaluate(model, streamed, mm, "D_l", Accuracy()) == 0.0  # [0,-10,50], [1,-11,50.5]: labels 0, 1
    with pytest.raises(TypeError, match="streamed"):
        evaluate(model, streamed, mm, "D_u", accuracy)


# ---------------------------------------------------------------- expand
def _tiny_task():
    g = torch.Generator().manual_seed(1)

    def part(n):
        y = torch.arange(n) % 2
        return {"a": (y.float() + 0.3 * torch.randn(n, generator=g)).unsqueeze(1),
                "b": (y.float() + 0.1 * torch.randn(n, generator=g)).unsqueeze(1), "y": y}

    return Task("tiny", {"D_l": part(6), "D_u": part(8), "test": part(4)}, ("a", "b"), num_classes=2)


class _Recorder:
    """Stands in for one step of Algorithm 1: records its bound arguments, returns a fresh token."""

    def __init__(self, original, name):
        self.signature, self.name, self.calls, self.made = inspect.signature(original), name, [], []

    def __call__(self, *args, **kwargs):
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        self.calls.append(dict(bound.arguments))
        self.made.append(f"{self.name}{len(self.made)}")
        return self.made[-1]


@pytest.fixture
def steps(monkeypatch):
    rec = {name: _Recorder(getattr(algorithm, name), name)
           for name in ("train_teacher", "pseudo_label_split", "train_student")}
    for name, r in rec.items():
        monkeypatch.setattr(algorithm, name, r)
    return rec


def test_expand_chains_generations_each_student_labelling_the_next(steps):
    task, make, T = _tiny_task(), object(), T1(1.0)
    tcfg, scfg = TrainConfig(epochs=3), TrainConfig(epochs=4)
    out = expand(task, make, tcfg, scfg, T, seed=7, generations=3, soft=True, device="dev")
    teacher, = steps["train_teacher"].made
    students, labels = steps["train_student"].made, steps["pseudo_label_split"].made
    assert out == {"teacher": teacher, "students": students, "pseudo_labels": labels}
    assert students == ["train_student0", "train_student1", "train_student2"]
    assert steps["train_teacher"].calls == [{"task": task, "make_model": make, "cfg": tcfg, "seed": 7,
                                             "device": "dev", "method": METHODS["um_teacher"],
                                             "checkpoint": False}]
    labellers = [(c["teacher"], c["task"], c["split"], c["soft"], c["modalities"])
                 for c in steps["pseudo_label_split"].calls]
    assert labellers == [(teacher, task, "D_u", True, ("a",)),  # generation 1: the UM teacher on alpha
                         (students[0], task, "D_u", True, ("a", "b")),  # then the last MM student
                         (students[1], task, "D_u", True, ("a", "b"))]
    for c in steps["pseudo_label_split"].calls:
        assert c["soft"] is True and c["batch_size"] == 16 and c["top_k"] is None
    assert steps["train_student"].calls == [
        {"task": task, "method": METHODS["mm_student"], "make_model": make, "pseudo": p, "cfg": scfg, "T": T,
         "seed": 7, "device": "dev", "confidence_weighting": False} for p in labels]


def test_expand_defaults_and_teacher_seed(steps):
    task = _tiny_task()
    out = expand(task, None, TrainConfig(epochs=1), TrainConfig(epochs=1), None, seed=5, teacher_seed=39)
    assert steps["train_teacher"].calls[0]["seed"] == 39 and steps["train_teacher"].calls[0]["device"] == "cpu"
    assert [c["seed"] for c in steps["train_student"].calls] == [5]  # one generation by default
    assert [c["soft"] for c in steps["pseudo_label_split"].calls] == [False]
    assert steps["pseudo_label_split"].calls[0]["soft"] is False  # hard pseudo labels by default
    assert len(out["students"]) == 1 and len(out["pseudo_labels"]) == 1
    expand(task, None, TrainConfig(epochs=1), TrainConfig(epochs=1), None, seed=0, teacher_seed=None)
    assert steps["train_teacher"].calls[1]["seed"] == 0  # no teacher seed: the students'
    expand(task, None, TrainConfig(epochs=1), TrainConfig(epochs=1), None, seed=4, generations=1)
    assert steps["train_teacher"].calls[2]["seed"] == 4 and len(steps["train_student"].calls) == 3
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"^generations must be >= 1, got {bad}$"):
            expand(task, None, TrainConfig(epochs=1), TrainConfig(epochs=1), None, seed=0, generations=bad)
    assert len(steps["train_teacher"].calls) == 3  # refused before any training


def test_expand_runs_algorithm_1_on_a_tiny_task():
    task = _tiny_task()
    out = expand(task, model_factory(False), TrainConfig(epochs=5), TrainConfig(epochs=3), T1(0.5), seed=3,
                 teacher_seed=39, generations=2, soft=True)
    teacher, students, labels = out["teacher"], out["students"], out["pseudo_labels"]
    assert sorted(out) == ["pseudo_labels", "students", "teacher"]
    assert not teacher.training and teacher.fc1.in_features == 1
    assert len(students) == 2 and all(s.fc1.in_features == 2 for s in students) and students[0] is not students[1]
    assert all(p.soft and p.proba.shape == (8, 2) for p in labels)
    # generation 1 is labelled by the teacher on alpha, generation 2 by the first student on (alpha, beta)
    assert torch.equal(labels[0].proba, pseudo_label_split(teacher, task, "D_u").proba)
    assert torch.equal(labels[1].proba, pseudo_label_split(students[0], task, "D_u", modalities=("a", "b")).proba)
    assert not torch.equal(labels[0].proba, labels[1].proba)


# ---------------------------------------------------------------- run_parallel
def test_run_parallel_returns_results_in_job_order_whatever_order_they_finish():
    done = [threading.Event() for _ in range(3)]
    finished = []

    def job(k):
        def call():  # job 0 waits for job 1, which waits for job 2: they finish 2, 1, 0
            if k < 2 and not done[k + 1].wait(5):
                raise TimeoutError(f"job {k + 1} never finished")
            finished.append(k)
            done[k].set()
            return f"result {k}"
        return call

    assert run_parallel([job(0), job(1), job(2)], workers=3) == ["result 0", "result 1", "result 2"]
    assert finished == [2, 1, 0]


def test_run_parallel_uses_exactly_the_workers_asked_for():
    barrier = threading.Barrier(2, timeout=5)
    lock, active, seen = threading.Lock(), [0, 0], set()

    def job(k):
        def call():
            with lock:
                active[0] += 1
                active[1] = max(active[1], active[0])
                seen.add(threading.get_ident())
            barrier.wait()  # two at a time: a pool of one would never pass it
            time.sleep(0.02)
            with lock:
                active[0] -= 1
            return k
        return call

    assert run_parallel((job(k) for k in range(6)), workers=2) == list(range(6))  # any iterable of calls
    assert len(seen) == 2 and active[1] == 2 and threading.get_ident() not in seen


def test_run_parallel_gives_each_worker_one_torch_thread_and_restores_the_count():
    torch.set_num_threads(2)

    def probe():
        return torch.get_num_threads(), threading.current_thread() is threading.main_thread()

    assert run_parallel([probe, probe], workers=2) == [(1, False), (1, False)]
    assert torch.get_num_threads() == 2
    assert run_parallel([probe, probe, probe], workers=1) == [(2, True)] * 3  # one worker: here, in turn
    assert run_parallel([probe, probe], workers=0) == [(2, True)] * 2
    assert run_parallel([probe], workers=4) == [(2, True)]  # a single call: no pool, no thread change
    assert run_parallel([], workers=2) == []
    assert torch.get_num_threads() == 2


def test_run_parallel_one_worker_runs_in_order_on_the_callers_thread():
    order = []

    def job(k):
        def call():
            order.append((k, threading.current_thread() is threading.main_thread()))
            return k * k
        return call

    assert run_parallel([job(k) for k in range(4)]) == [0, 1, 4, 9]
    assert order == [(0, True), (1, True), (2, True), (3, True)]


def test_run_parallel_errors_propagate_and_threads_are_restored():
    torch.set_num_threads(2)

    def ok():
        return 1

    def broken():
        raise ValueError("job 'b' failed: no data")

    for workers in (1, 2):
        with pytest.raises(ValueError, match=r"^job 'b' failed: no data$"):
            run_parallel([ok, broken, ok], workers)
        assert torch.get_num_threads() == 2


def test_run_parallel_one_worker_equals_two():
    def job(k):
        def call():  # each call draws from its own generator, as mke.seeds gives them
            g = torch.Generator().manual_seed(k)
            return torch.randn(3, 4, generator=g) @ torch.randn(4, 2, generator=g)
        return call

    one = run_parallel([job(k) for k in range(5)], workers=1)
    two = run_parallel([job(k) for k in range(5)], workers=2)
    assert len(one) == len(two) == 5
    assert all(torch.equal(a, b) for a, b in zip(one, two))
    assert not torch.equal(one[0], one[1])


# ---------------------------------------------------------------- train_teacher, train_student: what they pass on
class _Placed(torch.nn.Linear):
    """A model that records where it is sent (``.to``) and stays where it is."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__(n_in, n_out)
        self.sent_to = []

    def to(self, *args, **kwargs):
        self.sent_to.append(args[0] if args else kwargs.get("device"))
        return self


class _Trains(_Recorder):
    """A recorder for ``checkpoint_or_train`` that trains (calls ``train(model)``) as on a cache miss."""

    def __call__(self, *args, **kwargs):
        token = super().__call__(*args, **kwargs)
        self.calls[-1]["train"](self.calls[-1]["model"])
        return token


@pytest.fixture
def fitting(monkeypatch):
    rec = {"fit": _Recorder(algorithm.fit, "fit"),
           "checkpoint_or_train": _Trains(algorithm.checkpoint_or_train, "checkpoint_or_train")}
    for name, r in rec.items():
        monkeypatch.setattr(algorithm, name, r)
    return rec


def _same_stream(g, seed, role, stream) -> bool:
    return torch.equal(g.get_state(), seeds.generator(seed, role, stream).get_state())


def _maker(n_in, n_out, made, **attrs):
    def make(method, seed):
        model = _Placed(n_in, n_out)
        for k, v in attrs.items():
            setattr(model, k, v)
        made.append((method, seed, model))
        return model
    return make


CPU = torch.device("cpu")


def test_train_teacher_in_memory_keys_its_checkpoint_and_fits_on_d_l(fitting):
    task, cfg, made = _tiny_task(), TrainConfig(epochs=2), []
    teacher = algorithm.train_teacher(task, _maker(1, 2, made), cfg, seed=3, device=CPU)
    assert made == [(METHODS["um_teacher"], 3, teacher)] and teacher.sent_to == [CPU] and not teacher.training
    (ck,) = fitting["checkpoint_or_train"].calls
    assert ck["model"] is teacher and ck["enabled"] is False  # no checkpoint unless asked
    x, y = task.inputs("D_l", ("a",)), task.labels("D_l")
    key = ck["key_parts"]
    assert len(key) == 8 and key[0] == "teacher" and torch.equal(key[1], x) and torch.equal(key[2], y)
    assert key[3:7] == (repr(cfg), 3, repr(teacher), None)  # no softmax_head attribute: None
    assert sorted(key[7]) == ["bias", "weight"] and all(torch.equal(v, teacher.state_dict()[k]) for k, v in key[7].items())
    (f,) = fitting["fit"].calls
    assert f["model"] is teacher and torch.equal(f["x"], x) and torch.equal(f["targets"], y) and f["cfg"] is cfg
    assert f["desc"] == "teacher" and f["kind"] is SINGLE_LABEL and f["T"] is None and f["weight"] is None
    assert _same_stream(f["generator"], 3, "um_teacher", "data")
    # asked to checkpoint: the switch is passed on; a softmax head is part of the key
    algorithm.train_teacher(task, _maker(1, 2, made, softmax_head=True), cfg, seed=3, device=CPU, checkpoint=True)
    assert fitting["checkpoint_or_train"].calls[1]["enabled"] is True
    assert fitting["checkpoint_or_train"].calls[1]["key_parts"][6] is True


def test_train_teacher_streamed_keys_its_checkpoint_by_task_and_fits_a_dataset(fitting, streamed):
    streamed.info = {"source": "tiny items"}
    cfg, made = TrainConfig(epochs=1), []
    teacher = algorithm.train_teacher(streamed, _maker(2, 3, made), cfg, seed=5, device=CPU)
    assert teacher.sent_to == [CPU] and not teacher.training
    (ck,) = fitting["checkpoint_or_train"].calls
    assert ck["model"] is teacher and ck["enabled"] is False
    key = ck["key_parts"]
    assert len(key) == 8
    assert key[:7] == ("teacher", "tiny", repr({"source": "tiny items"}), 2, repr(cfg), 5, repr(teacher))
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in key[7].items())
    (f,) = fitting["fit"].calls
    data = f["x"]
    assert isinstance(data, StudentDataset) and data.parts == [("D_l", 2)] and data.pseudo is None
    assert f["targets"] is None and f["cfg"] is cfg and f["desc"] == "teacher" and f["kind"] is SINGLE_LABEL
    assert _same_stream(f["generator"], 5, "um_teacher", "data")
    algorithm.train_teacher(streamed, _maker(2, 3, made), cfg, seed=5, device=CPU, checkpoint=True)
    assert fitting["checkpoint_or_train"].calls[1]["enabled"] is True


def _tags_task():
    """In memory, multi-label: D_l two samples, D_u three."""
    def part(a, y):
        a = torch.tensor(a).unsqueeze(1)
        return {"a": a, "b": -a, "y": torch.tensor(y)}

    return Task("tags", {"D_l": part([0.0, 1.0], [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]),
                         "D_u": part([2.0, 3.0, 4.0], [[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]])},
                ("a", "b"), num_classes=3, kind=MULTI_LABEL)


TAGS_PROBA = torch.tensor([[0.9, 0.2, 0.6], [0.4, 0.7, 0.1], [0.3, 0.55, 0.8]])


def test_train_student_in_memory_passes_data_weights_T_streams_and_description(fitting):
    task, cfg, made, mm = _tags_task(), TrainConfig(epochs=1), [], METHODS["mm_student"]
    pseudo = PseudoLabels(TAGS_PROBA, kind=MULTI_LABEL)
    student = algorithm.train_student(task, mm, _maker(2, 3, made), pseudo, cfg, T1(0.5), seed=2, device=CPU)
    assert made == [(mm, 2, student)] and student.sent_to == [CPU]
    (f,) = fitting["fit"].calls
    x, y, _ = algorithm.student_data(task, mm, pseudo)
    assert f["model"] is student and torch.equal(f["x"], x) and torch.equal(f["targets"], y) and f["cfg"] is cfg
    assert f["weight"] is None  # no confidence weighting by default
    assert f["desc"] == "mm_student seed 2" and f["kind"] is MULTI_LABEL
    assert _same_stream(f["generator"], 2, "mm_student", "data")
    assert f["T"].input_noise == 0.5 and _same_stream(f["T"].generator, 2, "mm_student", "noise")
    assert _same_stream(f["T"].augment_generator, 2, "mm_student", "augment")
    algorithm.train_student(task, mm, _maker(2, 3, made), pseudo, cfg, T1(0.5), seed=2, confidence_weighting=True)
    w = fitting["fit"].calls[1]["weight"]
    assert torch.equal(w, MULTI_LABEL.confidence(TAGS_PROBA)) and not torch.equal(w, torch.ones(3))
    # a method without T trains without it, whatever T is given
    algorithm.train_student(task, METHODS["mm_student_noreg"], _maker(2, 3, made), pseudo, cfg, T1(0.5), seed=4)
    f = fitting["fit"].calls[2]
    assert f["T"] is None and f["desc"] == "mm_student_noreg seed 4"


def test_train_student_streamed_passes_its_dataset_T_streams_and_description(fitting, streamed):
    cfg, made, mm = TrainConfig(epochs=1), [], METHODS["mm_student"]
    pseudo = PseudoLabels(PROBA)
    student = algorithm.train_student(streamed, mm, _maker(3, 3, made), pseudo, cfg, T1(0.25), seed=6, device=CPU)
    assert student.sent_to == [CPU]
    (f,) = fitting["fit"].calls
    data = f["x"]
    assert isinstance(data, StudentDataset) and data.method is mm and data.pseudo is pseudo
    assert data.confidence_weighting is False and f["targets"] is None and f["cfg"] is cfg
    assert f["desc"] == "mm_student seed 6" and f["kind"] is SINGLE_LABEL
    assert _same_stream(f["generator"], 6, "mm_student", "data")
    assert f["T"].input_noise == 0.25 and _same_stream(f["T"].generator, 6, "mm_student", "noise")
    algorithm.train_student(streamed, mm, _maker(3, 3, made), pseudo, cfg, T1(0.25), seed=6, confidence_weighting=True)
    assert fitting["fit"].calls[1]["x"].confidence_weighting is True


def test_roles_are_the_data_noise_and_augment_streams_of_the_method_and_seed(monkeypatch):
    asked, real = [], seeds.generator

    def generator(seed, role, stream, device="cpu"):
        asked.append((seed, role, stream, device))
        return real(seed, role, stream)

    monkeypatch.setattr(seeds, "generator", generator)
    data, noise, augment = algorithm._roles(METHODS["um_student"], 8, "gpu")
    # only T's noise is drawn on the training device; data order and augmentations on the CPU
    assert asked == [(8, "um_student", "data", "cpu"), (8, "um_student", "noise", "gpu"),
                     (8, "um_student", "augment", "cpu")]
    assert _same_stream(data, 8, "um_student", "data") and _same_stream(noise, 8, "um_student", "noise")
    assert _same_stream(augment, 8, "um_student", "augment")


def test_seeded_T_seeds_only_a_T_without_its_own_generator():
    m = METHODS["mm_student"]
    assert algorithm._seeded_T(None, m, 1, "cpu") is None
    own = T1(0.5).with_generator(torch.Generator().manual_seed(9))
    assert algorithm._seeded_T(own, m, 1, "cpu") is own  # T's own generator wins
    seeded = algorithm._seeded_T(T1(0.5), m, 1, "cpu")
    assert seeded.input_noise == 0.5 and _same_stream(seeded.generator, 1, "mm_student", "noise")
    assert _same_stream(seeded.augment_generator, 1, "mm_student", "augment")


# ---------------------------------------------------------------- pseudo_label
class _Batches(_Scale):
    """Logits (or probabilities) x * w; records the size of every batch it is given."""

    def __init__(self, w):
        super().__init__(w)
        self.seen = []

    def forward(self, x, T=None):
        self.seen.append(x.shape[0])
        return super().forward(x, T)


ROWS = torch.tensor([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])  # distributions, so also a softmax head's outputs


def test_pseudo_label_takes_a_softmax_heads_outputs_as_probabilities():
    head = _Batches([1.0, 1.0])
    head.softmax_head = True
    assert torch.equal(pseudo_label(head, ROWS, use_cache=False).proba, ROWS)
    plain = _Batches([1.0, 1.0])  # no softmax_head attribute: logits
    assert torch.allclose(pseudo_label(plain, ROWS, use_cache=False).proba, ROWS.softmax(-1), atol=1e-7)
    assert not torch.allclose(ROWS.softmax(-1), ROWS, atol=1e-2)
    off = _Batches([1.0, 1.0])
    off.softmax_head = False
    assert torch.allclose(pseudo_label(off, ROWS, use_cache=False).proba, ROWS.softmax(-1), atol=1e-7)
    # the streamed path reads the same attribute
    assert torch.equal(algorithm._proba(head, ROWS, SINGLE_LABEL), ROWS)
    assert torch.allclose(algorithm._proba(plain, ROWS, SINGLE_LABEL), ROWS.softmax(-1), atol=1e-7)


def test_pseudo_label_forward_passes_batch_size_rows_at_a_time():
    model = _Batches([1.0, -1.0])
    x = torch.arange(600.0).reshape(300, 2) / 300
    out = pseudo_label(model, x, use_cache=False)
    assert model.seen == [256, 44]  # 256 by default
    assert torch.allclose(out.proba, (x * torch.tensor([1.0, -1.0])).softmax(-1), atol=1e-7)
    model.seen.clear()
    pseudo_label(model, x[:10], use_cache=False, batch_size=4)
    assert model.seen == [4, 4, 2]


def test_pseudo_labels_are_cached_under_the_teacher_inputs_head_and_kind(tmp_path, monkeypatch):
    monkeypatch.setenv("MKE_CACHE", str(tmp_path))
    model = _Batches([1.0, 2.0])
    first = pseudo_label(model, ROWS, soft=True)
    assert first.soft is True and first.kind is SINGLE_LABEL
    key = fingerprint(model.state_dict(), ROWS, False, "single_label")  # a teacher without softmax_head: False
    assert sorted(tmp_path.rglob("*.pt")) == [tmp_path / "pseudo_labels" / f"{fingerprint(key, code_version())}.pt"]
    expected = (ROWS * torch.tensor([1.0, 2.0])).softmax(-1)
    assert torch.allclose(first.proba, expected, atol=1e-7)
    model.seen.clear()
    assert torch.equal(pseudo_label(model, ROWS).proba, first.proba) and model.seen == []  # served from the cache
    # other inputs, the same teacher: their own labels
    other = ROWS.flip(0)
    assert torch.allclose(pseudo_label(model, other).proba, (other * torch.tensor([1.0, 2.0])).softmax(-1), atol=1e-7)
    # the same weights and inputs as multi-label: sigmoids, and the kind comes back
    tags = pseudo_label(model, ROWS, kind=MULTI_LABEL)
    assert tags.kind is MULTI_LABEL and torch.allclose(tags.proba, (ROWS * torch.tensor([1.0, 2.0])).sigmoid())
    # the same weights and inputs with a softmax head: the outputs as they are
    model.softmax_head = True
    assert torch.equal(pseudo_label(model, ROWS).proba, ROWS * torch.tensor([1.0, 2.0]))
    key = fingerprint(model.state_dict(), ROWS, True, "single_label")
    assert (tmp_path / "pseudo_labels" / f"{fingerprint(key, code_version())}.pt").exists()
    assert len(list(tmp_path.rglob("*.pt"))) == 4


def test_pseudo_label_without_cache_computes_afresh_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MKE_CACHE", str(tmp_path))
    model = _Batches([1.0, 2.0])
    pseudo_label(model, ROWS, use_cache=False)
    assert list(tmp_path.rglob("*.pt")) == []
    cached_ = pseudo_label(model, ROWS)
    model.forward = lambda x, T=None: x * 3.0  # the same state_dict, other outputs: only a fresh pass sees them
    fresh = pseudo_label(model, ROWS, use_cache=False)
    assert torch.allclose(fresh.proba, (3 * ROWS).softmax(-1)) and not torch.allclose(fresh.proba, cached_.proba)
    assert len(list(tmp_path.rglob("*.pt"))) == 1


# ---------------------------------------------------------------- PseudoLabels over top-k, student_data
def test_top_k_pseudo_labels_give_dense_soft_targets_and_weights(dense):
    _, _, proba = dense
    top = TopK.from_proba(proba, 2)
    pl = PseudoLabels(top, soft=True, kind=DENSE)
    targets = pl.targets
    assert isinstance(targets, torch.Tensor) and targets.shape == (2, 3, H, W)
    assert torch.equal(targets, top.dense())
    assert torch.equal(pl.weight(), DENSE.confidence(top.dense())) and pl.weight().shape == (2, H, W)


def test_student_data_weighs_multi_label_items_one_weight_a_sample():
    task, noisy = _tags_task(), METHODS["noisy_student"]
    pseudo = PseudoLabels(TAGS_PROBA, kind=MULTI_LABEL)
    x, y, w = algorithm.student_data(task, noisy, pseudo, confidence_weighting=True)
    assert torch.equal(x, torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]]))
    assert torch.equal(y, torch.cat([task.labels("D_l"), (TAGS_PROBA > 0.5).float()]))
    assert w.shape == (5,) and torch.equal(w, torch.cat([torch.ones(2), MULTI_LABEL.confidence(TAGS_PROBA)]))
    assert algorithm.student_data(task, noisy, pseudo)[2] is None


def test_student_data_soft_dense_targets_are_float32_from_float16_labels(dense):
    task, _, proba = dense
    mem = Task("frames", {s: {k: torch.stack([task.splits[s][i][k] for i in range(task.size(s))])
                              for k in ("a", "b", "y")} for s in task.splits},
               ("a", "b"), num_classes=3, concat=False, kind=DENSE)
    stored = DENSE.store(proba)
    assert stored.dtype == torch.float16
    _, y, _ = algorithm.student_data(mem, METHODS["mm_student"], PseudoLabels(stored, soft=True, kind=DENSE))
    assert y.dtype == torch.float32 and torch.equal(y, stored.float())
