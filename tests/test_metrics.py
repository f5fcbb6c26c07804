"""The streaming metric objects of mke.metrics against scikit-learn (and a few hand-computed cases)."""
import warnings

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, jaccard_score,
                             recall_score)

from mke.metrics import (Accuracy, AveragePrecision, ConfusionMatrix, MeanIoU, Metric, PerClassRecall,
                         accuracy, summarize)

K = 5


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def classification(n=200, k=K, seed=0, absent=None):
    """Logits ``[n, k]`` and targets ``[n]``; class ``absent`` is never a target (but may be predicted)."""
    g = gen(seed)
    y = torch.randint(0, k, (n,), generator=g)
    if absent is not None:
        y[y == absent] = (absent + 1) % k
    logits = torch.randn(n, k, generator=g)
    logits[torch.arange(n), y] += 1.0  # better than chance, so every cell of the matrix is exercised
    return logits, y


def segmentation(n=3, k=K, h=9, w=11, seed=0, ignore=255, p_ignore=0.2):
    """Logits ``[n, k, h, w]``, targets ``[n, h, w]`` with a fraction of ``ignore`` pixels."""
    g = gen(seed)
    y = torch.randint(0, k, (n, h, w), generator=g)
    logits = torch.randn(n, k, h, w, generator=g)
    logits.scatter_add_(1, y[:, None], torch.full((n, 1, h, w), 1.0))
    y[torch.rand(n, h, w, generator=g) < p_ignore] = ignore
    return logits, y


def kept(logits, y, ignore=255):
    """Flat numpy (truth, prediction) of the non-ignored pixels, for scikit-learn."""
    pred = logits.argmax(1).reshape(-1).numpy()
    truth = y.reshape(-1).numpy()
    keep = truth != ignore
    return truth[keep], pred[keep]


def multilabel(n=120, k=K, seed=0, no_positive=None):
    g = gen(seed)
    t = (torch.rand(n, k, generator=g) < 0.3).to(torch.uint8)
    if no_positive is not None:
        t[:, no_positive] = 0
    s = torch.randn(n, k, generator=g) + 1.5 * t  # informative but imperfect scores
    return s, t


def in_batches(metric, output, target, sizes):
    metric.reset()
    start = 0
    for size in sizes:
        metric.update(output[start:start + size], target[start:start + size])
        start += size
    assert start == len(output)
    return metric.compute()


# ------------------------------------------------------------------ against scikit-learn

def test_accuracy_matches_sklearn_and_the_function():
    logits, y = classification()
    acc = Accuracy()(logits, y)
    assert isinstance(acc, float)
    assert acc == pytest.approx(100 * accuracy_score(y.numpy(), logits.argmax(1).numpy()), abs=1e-12)
    assert acc == pytest.approx(accuracy(logits, y).item(), abs=1e-4)
    assert 30 < acc < 100  # the planted signal is seen, and not everything is right


def test_accuracy_dense_with_ignore_index_matches_sklearn():
    logits, y = segmentation()
    truth, pred = kept(logits, y)
    assert (y == 255).any() and len(truth) < y.numel()
    acc = Accuracy(class_dim=1, ignore_index=255)(logits, y)
    assert acc == pytest.approx(100 * accuracy_score(truth, pred), abs=1e-12)
    # counting the ignored pixels would give another number
    everything = 100 * (logits.argmax(1) == y).float().mean().item()
    assert acc != pytest.approx(everything, abs=1e-3)


def test_confusion_matrix_matches_sklearn():
    logits, y = classification(absent=3)
    cm = ConfusionMatrix(K)(logits, y)
    assert isinstance(cm, np.ndarray) and cm.dtype == np.int64 and cm.shape == (K, K)
    expected = confusion_matrix(y.numpy(), logits.argmax(1).numpy(), labels=range(K))
    np.testing.assert_array_equal(cm, expected)
    assert cm.sum() == len(y)
    assert (cm[3] == 0).all() and cm[:, 3].sum() > 0  # class 3 never true, yet predicted: rows are truth


def test_confusion_matrix_dense_with_ignore_index_matches_sklearn():
    logits, y = segmentation()
    truth, pred = kept(logits, y)
    cm = ConfusionMatrix(K, class_dim=1, ignore_index=255)(logits, y)
    np.testing.assert_array_equal(cm, confusion_matrix(truth, pred, labels=range(K)))
    assert cm.sum() == len(truth)


def test_per_class_recall_matches_sklearn_and_is_nan_without_support():
    logits, y = classification(absent=2)
    rec = PerClassRecall(K)(logits, y)
    assert rec.shape == (K,)
    expected = 100 * recall_score(y.numpy(), logits.argmax(1).numpy(), labels=range(K), average=None,
                                  zero_division=0)
    assert np.isnan(rec[2])  # class 2 has no true sample: nan, not sklearn's zero_division value
    keep = np.arange(K) != 2
    np.testing.assert_allclose(rec[keep], expected[keep], rtol=0, atol=1e-10)
    assert np.all((rec[keep] > 0) & (rec[keep] < 100))


def test_per_class_recall_hand_computed():
    # truth 0,0,1,1,1 ; prediction 0,1,1,1,0 -> recall 1/2 and 2/3; class 2 has no sample
    scores = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 1, 0]), 3).float()
    rec = PerClassRecall(3)(scores, torch.tensor([0, 0, 1, 1, 1]))
    np.testing.assert_allclose(rec[:2], [50.0, 200 / 3], rtol=1e-12)
    assert np.isnan(rec[2])


def test_mean_iou_matches_sklearn_jaccard_after_removing_ignored_pixels():
    logits, y = segmentation()
    truth, pred = kept(logits, y)
    metric = MeanIoU(K)
    miou = metric(logits, y)
    expected = 100 * jaccard_score(truth, pred, labels=range(K), average=None, zero_division=0)
    np.testing.assert_allclose(metric.per_class(), expected, rtol=0, atol=1e-10)
    assert isinstance(miou, float)
    assert miou == pytest.approx(expected.mean(), abs=1e-10)  # every class has a positive union here
    assert miou == pytest.approx(100 * jaccard_score(truth, pred, labels=range(K), average="macro"), abs=1e-10)


def test_average_precision_matches_sklearn_per_column():
    s, t = multilabel(no_positive=4)
    metric = AveragePrecision(K)
    mean_ap = metric(s, t)
    ap = metric.per_class()
    assert ap.shape == (K,) and np.isnan(ap[4])
    for c in range(4):
        assert ap[c] == pytest.approx(average_precision_score(t[:, c].numpy(), s[:, c].numpy()), abs=1e-12)
    assert isinstance(mean_ap, float) and 0 < mean_ap < 1  # a fraction, not percent
    assert mean_ap == pytest.approx(np.mean(ap[:4]), abs=1e-12)  # the class with no positive is left out


def test_average_precision_accepts_single_label_targets():
    logits, y = classification(absent=1)
    metric = AveragePrecision(K)
    single = metric(logits, y)
    per_class = metric.per_class()
    one_hot = AveragePrecision(K)(logits, torch.nn.functional.one_hot(y, K))
    assert single == pytest.approx(one_hot, abs=1e-12)
    assert np.isnan(per_class[1])
    for c in (0, 2, 3, 4):
        assert per_class[c] == pytest.approx(average_precision_score((y == c).numpy(), logits[:, c].numpy()))


def test_average_precision_hand_computed():
    # ranking by score: pos, neg, pos -> precision at the positives 1 and 2/3 -> AP = (1 + 2/3) / 2
    s = torch.tensor([[0.9], [0.5], [0.1]])
    t = torch.tensor([[1], [0], [1]])
    assert AveragePrecision(1)(s, t) == pytest.approx(5 / 6, abs=1e-12)


# ------------------------------------------------------------------ batching and absent classes

def _cases():
    logits, y = classification(n=150, absent=None, seed=3)
    seg_logits, seg_y = segmentation(n=6, seed=3)
    s, t = multilabel(n=150, seed=3)
    return {
        "accuracy": (lambda: Accuracy(), logits, y),
        "accuracy_dense": (lambda: Accuracy(class_dim=1, ignore_index=255), seg_logits, seg_y),
        "confusion": (lambda: ConfusionMatrix(K), logits, y),
        "recall": (lambda: PerClassRecall(K), logits, y),
        "miou": (lambda: MeanIoU(K), seg_logits, seg_y),
        "ap_multilabel": (lambda: AveragePrecision(K), s, t),
        "ap_single_label": (lambda: AveragePrecision(K), logits, y),
    }


def _same(a, b):
    if isinstance(a, np.ndarray):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, equal_nan=True)
    else:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("name", list(_cases()))
def test_one_batch_equals_several_batches(name):
    make, output, target = _cases()[name]
    whole = make()(output, target)
    n = len(output)
    sizes = [1, n // 3, 0, n - 1 - n // 3]  # uneven, with an empty batch
    _same(in_batches(make(), output, target, sizes), whole)
    per_sample = in_batches(make(), output, target, [1] * n)
    _same(per_sample, whole)
    if hasattr(make(), "per_class"):
        m = make()
        in_batches(m, output, target, sizes)
        ref = make()
        ref(output, target)
        _same(m.per_class(), ref.per_class())


def test_class_absent_from_one_batch_only():
    logits, y = classification(n=120, seed=5)
    first = y != 0  # the first batch holds no sample of class 0, the second holds all of them
    order = torch.cat([torch.nonzero(first).flatten(), torch.nonzero(~first).flatten()])
    logits, y = logits[order], y[order]
    n_first = int(first.sum())
    pred = logits.argmax(1).numpy()
    for make, expected in [
        (lambda: ConfusionMatrix(K), confusion_matrix(y.numpy(), pred, labels=range(K))),
        (lambda: PerClassRecall(K), 100 * recall_score(y.numpy(), pred, labels=range(K), average=None)),
        (lambda: Accuracy(), 100 * accuracy_score(y.numpy(), pred)),
    ]:
        m = make()
        m.update(logits[:n_first], y[:n_first])
        m.update(logits[n_first:], y[n_first:])
        _same(np.asarray(m.compute(), dtype=float), np.asarray(expected, dtype=float))
    m = PerClassRecall(K)
    m.update(logits[:n_first], y[:n_first])
    assert np.isnan(m.compute()[0])  # after the first batch only, class 0 has no support ...
    m.update(logits[n_first:], y[n_first:])
    assert not np.isnan(m.compute()).any()  # ... and the second batch fills it in


def test_class_absent_from_all_data():
    logits, y = segmentation(k=4, seed=7)
    logits = torch.cat([logits, torch.full_like(logits[:, :1], -1e9)], 1)  # class 4: never true nor predicted
    truth, pred = kept(logits, y)
    miou = MeanIoU(5)
    value = miou(logits, y)
    iou = miou.per_class()
    assert np.isnan(iou[4]) and not np.isnan(iou[:4]).any()
    assert value == pytest.approx(np.mean(iou[:4]), abs=1e-10)
    assert value == pytest.approx(100 * jaccard_score(truth, pred, labels=range(4), average="macro"), abs=1e-10)
    cm = ConfusionMatrix(5, class_dim=1, ignore_index=255)(logits, y)
    assert (cm[4] == 0).all() and (cm[:, 4] == 0).all()
    assert np.isnan(PerClassRecall(5, class_dim=1, ignore_index=255)(logits, y)[4])
    ap = AveragePrecision(5)
    ap(logits.movedim(1, -1)[y != 255], y[y != 255])
    assert np.isnan(ap.per_class()[4]) and not np.isnan(ap.per_class()[:4]).any()


def test_mean_iou_excludes_classes_with_zero_union():
    # K = 4; truth 0,0,1,1 ; prediction 0,1,1,1 ; classes 2 and 3 appear nowhere.
    # IoU_0 = 1 / (1 + 0 + 1) = 1/2, IoU_1 = 2 / (2 + 1 + 0) = 2/3 -> mIoU = 7/12 (not 7/24 over all four)
    scores = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 1]), 4).float()
    miou = MeanIoU(4, class_dim=-1, ignore_index=None)
    value = miou(scores, torch.tensor([0, 0, 1, 1]))
    assert value == pytest.approx(100 * 7 / 12, abs=1e-10)
    iou = miou.per_class()
    np.testing.assert_allclose(iou[:2], [50.0, 200 / 3], rtol=1e-12)
    assert np.isnan(iou[2:]).all()
    # a class that is only predicted has a positive union: it counts, with IoU 0
    scores = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 3]), 4).float()
    value = miou(scores, torch.tensor([0, 0, 1, 1]))
    assert miou.per_class()[3] == 0.0
    assert value == pytest.approx(100 * (1 / 2 + 1 / 3 + 0) / 3, abs=1e-10)


def test_mean_iou_of_nothing_is_nan():
    miou = MeanIoU(3)
    assert np.isnan(miou.compute())
    assert np.isnan(miou(torch.zeros(1, 3, 2, 2), torch.full((1, 2, 2), 255)))


# ------------------------------------------------------------------ ignore_index

@pytest.mark.parametrize("make", [
    lambda: Accuracy(class_dim=1, ignore_index=255),
    lambda: ConfusionMatrix(K, class_dim=1, ignore_index=255),
    lambda: PerClassRecall(K, class_dim=1, ignore_index=255),
    lambda: MeanIoU(K),
], ids=["accuracy", "confusion", "recall", "miou"])
def test_predictions_at_ignored_pixels_change_nothing(make):
    logits, y = segmentation(seed=11, p_ignore=0.4)
    ignored = (y == 255)[:, None].expand_as(logits)
    other = logits.clone()
    other[ignored] = torch.randn(int(ignored.sum()), generator=gen(12)) * 100
    assert (other.argmax(1) != logits.argmax(1))[y == 255].any()  # the ignored predictions did change
    _same(np.asarray(make()(other, y), dtype=float), np.asarray(make()(logits, y), dtype=float))
    # while changing the predictions at kept pixels does change the result
    changed = logits.clone()
    changed[~ignored] = torch.randn(int((~ignored).sum()), generator=gen(13)) * 100
    with pytest.raises(AssertionError):
        _same(np.asarray(make()(changed, y), dtype=float), np.asarray(make()(logits, y), dtype=float))


def test_negative_ignore_index():
    logits, y = classification(seed=2)
    y2 = y.clone()
    y2[::4] = -100
    acc = Accuracy(ignore_index=-100)(logits, y2)
    keep = (y2 != -100).numpy()
    assert acc == pytest.approx(100 * accuracy_score(y.numpy()[keep], logits.argmax(1).numpy()[keep]))


# ------------------------------------------------------------------ inputs: dtypes, layouts, errors

@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_any_float_dtype(dtype):
    logits, y = classification(seed=4)
    logits = logits.argsort(1).argsort(1).double()  # distinct small integers per row: exact in every dtype
    assert Accuracy()(logits.to(dtype), y) == Accuracy()(logits, y)
    np.testing.assert_array_equal(ConfusionMatrix(K)(logits.to(dtype), y), ConfusionMatrix(K)(logits, y))
    s, t = multilabel(seed=4)
    s = s.round()
    assert AveragePrecision(K)(s.to(dtype), t) == pytest.approx(AveragePrecision(K)(s, t), abs=1e-12)


def test_class_dim_and_layout():
    logits, y = segmentation(seed=6)
    channels_last = logits.permute(0, 2, 3, 1)  # non-contiguous, classes last
    assert MeanIoU(K, class_dim=-1)(channels_last, y) == pytest.approx(MeanIoU(K)(logits, y), abs=1e-12)
    assert MeanIoU(K, class_dim=3)(channels_last, y) == pytest.approx(MeanIoU(K)(logits, y), abs=1e-12)


def test_integer_target_dtypes():
    logits, y = segmentation(seed=8)
    ref = MeanIoU(K)(logits, y)
    assert MeanIoU(K)(logits, y.to(torch.uint8)) == pytest.approx(ref, abs=1e-12)  # 255 fits in uint8
    assert MeanIoU(K)(logits, y.to(torch.int32)) == pytest.approx(ref, abs=1e-12)


def test_call_resets_the_state():
    a_logits, a_y = classification(seed=9)
    b_logits, b_y = classification(seed=10)
    m = ConfusionMatrix(K)
    m.update(a_logits, a_y)
    np.testing.assert_array_equal(m(b_logits, b_y), ConfusionMatrix(K)(b_logits, b_y))
    m.reset()
    assert m.compute().sum() == 0
    assert np.isnan(Accuracy().compute())
    assert np.isnan(AveragePrecision(K).per_class()).all() and np.isnan(AveragePrecision(K).compute())


def test_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        Metric()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_inputs_are_moved_to_cpu():
    logits, y = segmentation(seed=14)
    m = MeanIoU(K)
    value = m(logits.cuda().half(), y.cuda())
    assert m.matrix.device.type == "cpu"
    assert value == pytest.approx(MeanIoU(K)(logits.half(), y), abs=1e-12)


def _idx(*shape):
    return torch.zeros(*shape, dtype=torch.long)


@pytest.mark.parametrize("make, output, target, message", [
    (lambda: Accuracy(), torch.zeros(4, 3), _idx(5), r"expected target of shape \(4,\)"),
    (lambda: Accuracy(class_dim=1), torch.zeros(2, 3, 4, 4), _idx(2, 4, 5),
     r"expected target of shape \(2, 4, 4\).*got \(2, 4, 5\)"),
    (lambda: ConfusionMatrix(3), torch.zeros(4, 5), _idx(4), r"expected output with 3 classes"),
    (lambda: PerClassRecall(3), torch.zeros(4, 3), _idx(4, 1), r"expected target of shape"),
    (lambda: MeanIoU(3), torch.zeros(2, 3, 4, 4), _idx(2, 3, 4, 4), r"expected target of shape"),
    (lambda: MeanIoU(3), torch.zeros(2, 4, 4, 3), _idx(2, 4, 4), r"expected output with 3 classes"),
    (lambda: Accuracy(class_dim=2), torch.zeros(4, 3), _idx(4), r"class_dim=2 is out of range"),
    (lambda: AveragePrecision(3), torch.zeros(4, 2), torch.zeros(4, 2),
     r"expected scores of shape \(N, 3\), got \(4, 2\)"),
    (lambda: AveragePrecision(3), torch.zeros(4, 3), torch.zeros(4, 2),
     r"expected multi-label target of shape \(4, 3\)"),
    (lambda: AveragePrecision(3), torch.zeros(4, 3), _idx(5), r"expected single-label target"),
])
def test_shape_mismatch_raises(make, output, target, message):
    with pytest.raises(ValueError, match=message):
        make().update(output, target)


@pytest.mark.parametrize("make, output, target, message", [
    (lambda: Accuracy(), torch.zeros(2, 3), torch.tensor([0, 3]), r"target values in \[0, 3\)"),
    (lambda: ConfusionMatrix(3), torch.zeros(2, 3), torch.tensor([-1, 0]), r"target values in \[0, 3\)"),
    (lambda: MeanIoU(3), torch.zeros(1, 3, 1, 2), torch.tensor([[[0, 7]]]), r"or equal ignore_index=255"),
    (lambda: ConfusionMatrix(3), torch.zeros(2, 3), torch.tensor([0.0, 1.0]), r"integer class indices"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), torch.tensor([[0, 2, 1], [0, 0, 1]]), r"values in \{0, 1\}"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), torch.tensor([0, 3]), r"class indices in \[0, 3\)"),
])
def test_invalid_targets_raise(make, output, target, message):
    with pytest.raises(ValueError, match=message):
        make().update(output, target)


def test_invalid_num_classes_raises():
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="num_classes"):
            ConfusionMatrix(bad)


# ------------------------------------------------------------------ killed mutants (make mutation)
def test_summarize_small_samples_and_its_bootstrap():
    import inspect as _inspect

    from scipy import stats as _stats

    from mke.metrics import mean_std, summarize

    one = summarize([5.0])
    assert (one["std"], one["ci95"], one["n_seeds"], one["interval"]) == (0.0, [5.0, 5.0], 1, "t")
    two = summarize([1.0, 3.0])  # n = 2 has an interval: t(0.975, 1) * sqrt(2) / sqrt(2)
    assert two["ci95"] == pytest.approx([2.0 - 12.7062047, 2.0 + 12.7062047])
    with pytest.raises(ValueError, match=r"summarize\(\) needs at least one value"):
        summarize([])
    v = [99.9, 100.0, 100.0, 99.95]  # a tiny spread next to the range's edge still leaves it under t
    b = summarize(v, bounds=(0, 100))
    arg = "rng" if "rng" in _inspect.signature(_stats.bootstrap).parameters else "random_state"
    ref = _stats.bootstrap((np.array(v),), np.mean, n_resamples=10000, method="percentile", confidence_level=0.95,
                           **{arg: np.random.default_rng(0)}).confidence_interval
    assert b["interval"] == "bootstrap" and b["ci95"] == pytest.approx([ref.low, ref.high])
    assert mean_std([1.0, 2.0, 3.0]) == "2.00 ± 1.00"
    assert mean_std([1.0, 2.0, 3.0], signed=True, digits=1) == "+2.0 ± 1.0"
    assert mean_std([-0.5, -1.5], signed=True, digits=3) == "-1.000 ± 0.707"


def test_per_class_recall_of_absent_and_single_sample_classes():
    m = PerClassRecall(3)
    m.update(torch.tensor([[9.0, 0.0, 0.0], [0.0, 9.0, 0.0], [9.0, 0.0, 0.0]]), torch.tensor([0, 1, 1]))
    rec = m.compute()
    assert rec[0] == 100.0 and rec[1] == 50.0 and np.isnan(rec[2])  # class 2 has no true sample: nan, not 0
    m1 = PerClassRecall(2)
    m1.update(torch.tensor([[0.0, 9.0]]), torch.tensor([1]))  # one sample of class 1, right
    assert m1.compute()[1] == 100.0 and np.isnan(m1.compute()[0])


@pytest.mark.parametrize("make, output, target, exc, message", [
    (lambda: Accuracy(), object(), torch.tensor([0]), TypeError, r"^Accuracy: output must be a tensor, got object$"),
    (lambda: Accuracy(), torch.zeros(1, 2), object(), TypeError, r"^Accuracy: target must be a tensor, got object$"),
    (lambda: Accuracy(), torch.tensor(1.0), torch.tensor(0), ValueError,
     r"^Accuracy: expected output with a class dimension, got a 0-d tensor$"),
    (lambda: Accuracy(), torch.zeros(2, 0), torch.tensor([0, 0]), ValueError,
     r"^Accuracy: expected at least one class on class_dim=-1, got output of shape \(2, 0\)$"),
    (lambda: Accuracy(), torch.zeros(2, 3), torch.tensor([0.0, 1.0]), ValueError,
     r"^Accuracy: target must hold integer class indices, got dtype torch.float32$"),
    (lambda: Accuracy(), torch.zeros(2, 3), torch.tensor([0, 1, 2]), ValueError,
     r"^Accuracy: expected target of shape \(2,\) for output of shape \(2, 3\) with class_dim=-1, got \(3,\)$"),
    (lambda: AveragePrecision(3), object(), torch.tensor([0]), TypeError,
     r"^AveragePrecision: output must be a tensor, got object$"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), object(), TypeError,
     r"^AveragePrecision: target must be a tensor, got object$"),
    (lambda: AveragePrecision(3), torch.zeros(2, 4), torch.tensor([0, 1]), ValueError,
     r"^AveragePrecision: expected scores of shape \(N, 3\), got \(2, 4\)$"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), torch.tensor([0.0, 1.0]), ValueError,
     r"^AveragePrecision: target must hold integer class indices, got dtype torch.float32$"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), torch.zeros(2, 3, 1, dtype=torch.long), ValueError,
     r"^AveragePrecision: expected target of shape \(2,\) or \(2, 3\), got \(2, 3, 1\)$"),
    (lambda: AveragePrecision(3), torch.zeros(2, 3), torch.tensor([0, 1, 2]), ValueError,
     r"^AveragePrecision: expected single-label target of shape \(2,\) or multi-label target of shape \(2, 3\), "
     r"got \(3,\)$"),
])
def test_metric_errors_name_the_metric_and_the_argument(make, output, target, exc, message):
    with pytest.raises(exc, match=message):
        make().update(output, target)


def test_average_precision_names_itself_for_a_bad_class_count_and_stores_uint8_targets():
    with pytest.raises(ValueError, match=r"^AveragePrecision: num_classes must be a positive integer, got 0$"):
        AveragePrecision(0)
    ap = AveragePrecision(2)
    assert np.isnan(ap.compute())  # nothing seen: nan, not 0
    ap.update(torch.tensor([[0.9, 0.1], [0.2, 0.8]]), torch.tensor([0, 1]))
    assert ap._targets[0].dtype == torch.uint8 and ap.compute() == 1.0


# ------------------------------------------------------------------ summarize and its bootstrap, pinned
# (make mutation's survivors in mke.metrics, issue 10: every default, bound test and message exactly)

def _percentile_bootstrap(v, n_boot=10000, seed=0):
    """The 95 % percentile bootstrap of the mean written out with numpy alone: ``n_boot`` resamples of
    ``len(v)`` indices from ``default_rng(seed)``, the 2.5 % and 97.5 % linear quantiles of their means."""
    v = np.asarray(v, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(v), (n_boot, len(v)))
    alpha = (1 - 0.95) / 2
    return [float(q) for q in np.quantile(v[idx].mean(-1), [alpha, 1 - alpha])]


# 18 values just under 100 and two far below: mean 99.30, t-interval up to 100.29 (> 100); the bootstrap
# means are (almost) all distinct, so the endpoints move with the seed and with the number of resamples
NEAR_100 = 100 - np.concatenate([np.sqrt(np.arange(1, 19)) / 100, [5.3, 8.1]])


def _t_interval(v):
    v = np.asarray(v, dtype=np.float64)
    n = len(v)
    mean, std = v.mean(), v.std(ddof=1)
    half = scipy_stats.t.ppf(0.975, df=n - 1) * std / np.sqrt(n)
    return [mean - half, mean + half]


def test_bootstrap_mean_interval_is_the_seeded_percentile_bootstrap():
    from mke.metrics import bootstrap_mean_interval

    ref = _percentile_bootstrap(NEAR_100)
    got = bootstrap_mean_interval(NEAR_100)  # defaults: n_boot=10000, seed=0
    assert isinstance(got, tuple) and all(type(x) is float for x in got)
    assert list(got) == pytest.approx(ref, rel=1e-13, abs=0)
    assert list(bootstrap_mean_interval(list(NEAR_100), 10000, 0)) == pytest.approx(ref, rel=1e-13, abs=0)
    # another seed or another number of resamples gives other endpoints (the defaults are pinned above)
    for n_boot, seed in [(10000, 1), (10001, 0), (9999, 0), (2000, 0)]:
        other = _percentile_bootstrap(NEAR_100, n_boot, seed)
        assert abs(other[0] - ref[0]) > 1e-7 or abs(other[1] - ref[1]) > 1e-7
        assert list(bootstrap_mean_interval(NEAR_100, n_boot, seed)) == pytest.approx(other, rel=1e-13, abs=0)
        assert list(bootstrap_mean_interval(NEAR_100, n_boot=n_boot, seed=seed)) == pytest.approx(other, rel=1e-13,
                                                                                                   abs=0)
    # a 95 % interval, not scipy's 0.95 by accident of another level: 90 % would be narrower
    lo, hi = got
    assert lo < np.quantile(NEAR_100[np.random.default_rng(0).integers(0, 20, (10000, 20))].mean(-1), 0.05)
    assert min(NEAR_100) <= lo < hi <= max(NEAR_100)


def test_bootstrap_mean_interval_computes_in_float64():
    from mke.metrics import bootstrap_mean_interval

    v32 = NEAR_100.astype(np.float32)  # e.g. accuracies taken from float32 tensors
    ref = _percentile_bootstrap(v32.astype(np.float64))
    assert list(bootstrap_mean_interval(v32)) == pytest.approx(ref, rel=1e-13, abs=0)
    # integers and numeric strings are converted to float too
    assert bootstrap_mean_interval([1, 2, 4, 7, 11]) == bootstrap_mean_interval([1.0, 2.0, 4.0, 7.0, 11.0])
    assert bootstrap_mean_interval(["1", "2", "4"]) == bootstrap_mean_interval([1.0, 2.0, 4.0])


def test_summarize_returns_exactly_this_dict():
    v = [71.3, 70.9, 72.15, 71.8, 70.35]
    lo, hi = _t_interval(v)
    got = summarize(v)
    assert list(got) == ["mean", "std", "n_seeds", "ci95", "interval", "values"]
    assert got == {"mean": pytest.approx(71.3, abs=1e-12), "std": pytest.approx(np.std(v, ddof=1), rel=1e-14),
                   "n_seeds": 5, "ci95": [pytest.approx(lo, rel=1e-14), pytest.approx(hi, rel=1e-14)],
                   "interval": "t", "values": v}
    assert all(type(x) is float for x in (got["mean"], got["std"], *got["ci95"], *got["values"]))
    # any iterable of numbers: a generator, integers (stored as floats), numeric strings
    assert summarize(x for x in v) == got
    ints = summarize([1, 2, 3, 6])
    assert ints["mean"] == 3.0 and ints["values"] == [1.0, 2.0, 3.0, 6.0]
    assert all(type(x) is float for x in ints["values"])
    assert summarize(["1", "2", "3", "6"]) == ints


def test_summarize_computes_in_float64():
    v32 = np.array([71.3, 70.9, 72.15, 71.8, 70.35], dtype=np.float32)  # float32 sums would round
    v64 = v32.astype(np.float64)
    assert summarize(v32) == summarize(v64)
    assert summarize(v32)["mean"] == float(v64.mean()) != float(v32.mean())
    assert summarize(v32)["std"] == float(v64.std(ddof=1))


def test_summarize_of_one_and_two_values():
    one = summarize([5.0], bounds=(0, 1))  # a single value: no spread, no interval, never a bootstrap
    assert one == {"mean": 5.0, "std": 0.0, "n_seeds": 1, "ci95": [5.0, 5.0], "interval": "t", "values": [5.0]}
    two = summarize([0.5, 99.5], bounds=(0, 100))  # n = 2: the t-interval leaves [0, 100] -> bootstrap
    assert two["interval"] == "bootstrap"
    assert two["ci95"] == pytest.approx(_percentile_bootstrap([0.5, 99.5]), rel=1e-13, abs=0)
    assert summarize([0.5, 99.5])["ci95"] == pytest.approx(_t_interval([0.5, 99.5]), rel=1e-14)


@pytest.mark.parametrize("values", [[], (), iter([])])
def test_summarize_of_nothing_raises(values):
    with pytest.raises(ValueError, match=r"^summarize\(\) needs at least one value$"):
        summarize(values)


def test_summarize_bootstraps_exactly_when_the_t_interval_leaves_the_bounds():
    t_lo, t_hi = _t_interval(NEAR_100)
    assert t_hi > 100 > NEAR_100.max() and t_lo > 0
    plain = summarize(NEAR_100)
    assert plain["interval"] == "t" and plain["ci95"] == pytest.approx([t_lo, t_hi], rel=1e-14)
    b = summarize(NEAR_100, bounds=(0, 100))  # defaults n_boot=10000, seed=0
    ref = _percentile_bootstrap(NEAR_100)
    assert b["interval"] == "bootstrap" and b["ci95"] == pytest.approx(ref, rel=1e-13, abs=0)
    assert {k: b[k] for k in ("mean", "std", "n_seeds", "values")} == {k: plain[k] for k in
                                                                       ("mean", "std", "n_seeds", "values")}
    assert summarize(NEAR_100, (0, 100), 10000, 0) == b
    # seed and n_boot reach the bootstrap
    for kwargs, (n_boot, seed) in [({"seed": 1}, (10000, 1)), ({"n_boot": 10001}, (10001, 0)),
                                   ({"n_boot": 3000, "seed": 7}, (3000, 7))]:
        other = summarize(NEAR_100, bounds=(0, 100), **kwargs)["ci95"]
        assert other == pytest.approx(_percentile_bootstrap(NEAR_100, n_boot, seed), rel=1e-13, abs=0)
        assert other != pytest.approx(ref, rel=1e-9, abs=0)
    # leaving at the lower end only (mirror image) also bootstraps
    low = summarize(100 - NEAR_100, bounds=(0, 100))
    assert low["interval"] == "bootstrap"
    assert low["ci95"] == pytest.approx(_percentile_bootstrap(100 - NEAR_100), rel=1e-11, abs=0)


def test_summarize_keeps_t_when_the_interval_stays_within_or_touches_the_bounds():
    t_lo, t_hi = summarize(NEAR_100)["ci95"]
    # touching a bound is not leaving it: the comparisons are strict
    for bounds in [(t_lo, t_hi), (t_lo, np.inf), (-np.inf, t_hi), (0, 101), (-1e9, 1e9)]:
        got = summarize(NEAR_100, bounds=bounds)
        assert got["interval"] == "t" and got["ci95"] == [t_lo, t_hi], bounds
    inside = summarize([40.0, 50.0, 65.0], bounds=(0, 100))
    assert inside["interval"] == "t" and inside["ci95"] == pytest.approx(_t_interval([40.0, 50.0, 65.0]), rel=1e-14)
    # just past either end: bootstrap
    assert summarize(NEAR_100, bounds=(np.nextafter(t_lo, np.inf), np.inf))["interval"] == "bootstrap"
    assert summarize(NEAR_100, bounds=(-np.inf, np.nextafter(t_hi, -np.inf)))["interval"] == "bootstrap"


def test_summarize_without_spread_or_with_non_finite_values_keeps_t():
    # all equal, even outside the bounds: the t-interval is the point itself (no bootstrap of a constant)
    const = summarize([150.0, 150.0, 150.0], bounds=(0, 100))
    assert const == {"mean": 150.0, "std": 0.0, "n_seeds": 3, "ci95": [150.0, 150.0], "interval": "t",
                     "values": [150.0, 150.0, 150.0]}
    with np.errstate(invalid="ignore"):  # the std of [.., inf] is nan (inf - inf)
        with_inf = summarize([99.0, 100.0, np.inf], bounds=(0, 100))
    assert with_inf["interval"] == "t" and with_inf["mean"] == np.inf
    with_nan = summarize([99.0, 100.0, np.nan], bounds=(0, 100))
    assert with_nan["interval"] == "t" and np.isnan(with_nan["mean"])


# ------------------------------------------------------------------ metric objects, pinned

def test_metrics_accept_lists_and_numpy_arrays():
    scores = [[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]
    y = [1, 0, 1, 2]  # predictions 1, 0, 2, 0: two right
    assert Accuracy()(scores, y) == 50.0
    assert Accuracy()(np.array(scores), np.array(y)) == 50.0
    np.testing.assert_array_equal(ConfusionMatrix(3)(scores, y), [[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    assert AveragePrecision(3)(np.array(scores), y) == pytest.approx(
        np.mean([average_precision_score(np.array(y) == c, np.array(scores)[:, c]) for c in range(3)]), abs=1e-12)


def test_class_dim_may_be_any_valid_negative_axis():
    # class_dim=-2 on a [K, N] output: the classes on the first axis (the lowest valid negative index)
    scores = torch.tensor([[0.1, 0.8, 0.2, 0.6], [0.9, 0.1, 0.3, 0.3], [0.0, 0.1, 0.5, 0.1]])
    y = torch.tensor([1, 0, 1, 2])
    assert Accuracy(class_dim=-2)(scores, y) == 50.0
    assert Accuracy(class_dim=0)(scores, y) == 50.0
    np.testing.assert_array_equal(ConfusionMatrix(3, class_dim=-2)(scores, y), [[1, 0, 0], [0, 1, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match=r"^Accuracy: class_dim=-3 is out of range for output of shape \(3, 4\)$"):
        Accuracy(class_dim=-3)(scores, y)
    with pytest.raises(ValueError, match=r"^Accuracy: class_dim=2 is out of range for output of shape \(3, 4\)$"):
        Accuracy(class_dim=2)(scores, y)


@pytest.mark.parametrize("dtype", [torch.bool, torch.float32, torch.float64, torch.complex64])
def test_non_integer_targets_raise(dtype):
    target = torch.tensor([0, 1]).to(dtype)
    with pytest.raises(ValueError, match=rf"^Accuracy: target must hold integer class indices, got dtype {dtype}$"):
        Accuracy()(torch.zeros(2, 3), target)
    with pytest.raises(ValueError,
                       match=rf"^PerClassRecall: target must hold integer class indices, got dtype {dtype}$"):
        PerClassRecall(3)(torch.zeros(2, 3), target)
    with pytest.raises(ValueError,
                       match=rf"^AveragePrecision: target must hold integer class indices, got dtype {dtype}$"):
        AveragePrecision(3)(torch.zeros(2, 3), target)


def test_out_of_range_target_messages_mention_ignore_index_only_when_set():
    with pytest.raises(ValueError, match=r"^Accuracy: expected target values in \[0, 3\), got values in \[0, 3\]$"):
        Accuracy()(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"^ConfusionMatrix: expected target values in \[0, 3\), "
                                         r"got values in \[-1, 2\]$"):
        ConfusionMatrix(3)(torch.zeros(3, 3), torch.tensor([-1, 0, 2]))
    with pytest.raises(ValueError, match=r"^MeanIoU: expected target values in \[0, 3\) or equal ignore_index=255, "
                                         r"got values in \[0, 7\]$"):
        MeanIoU(3)(torch.zeros(1, 3, 1, 3), torch.tensor([[[0, 7, 255]]]))
    with pytest.raises(ValueError, match=r"^Accuracy: expected target values in \[0, 3\) or equal "
                                         r"ignore_index=-100, got values in \[-1, 0\]$"):
        Accuracy(ignore_index=-100)(torch.zeros(3, 3), torch.tensor([-1, 0, -100]))


@pytest.mark.parametrize("cls", [ConfusionMatrix, PerClassRecall, MeanIoU])
def test_confusion_based_metrics_name_themselves(cls):
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"^{name}: num_classes must be a positive integer, got 0$"):
        cls(0)
    with pytest.raises(ValueError, match=rf"^{name}: num_classes must be a positive integer, got 2.0$"):
        cls(2.0)
    m = cls(3, class_dim=-1, ignore_index=None)
    with pytest.raises(ValueError, match=rf"^{name}: expected output with 3 classes on class_dim=-1, "
                                         rf"got shape \(2, 4\) \(4 classes\)$"):
        m.update(torch.zeros(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=rf"^{name}: expected target of shape \(2,\) for output of shape \(2, 3\) "
                                         rf"with class_dim=-1, got \(1,\)$"):
        m.update(torch.zeros(2, 3), torch.tensor([0]))
    with pytest.raises(ValueError, match=rf"^{name}: expected target values in \[0, 3\), got values in \[0, 5\]$"):
        m.update(torch.zeros(2, 3), torch.tensor([0, 5]))
    with pytest.raises(ValueError, match=rf"^{name}: target must hold integer class indices, got dtype torch.bool$"):
        m.update(torch.zeros(2, 3), torch.tensor([True, False]))
    assert m.matrix.sum() == 0  # nothing was counted by the rejected batches


def test_average_precision_rejects_complex_scores():
    with pytest.raises(ValueError, match=r"^AveragePrecision: expected real scores, got dtype torch.complex64$"):
        AveragePrecision(2)(torch.zeros(2, 2, dtype=torch.complex64), torch.tensor([0, 1]))


def test_empty_and_absent_classes_raise_no_floating_point_warning():
    # nan for an absent class or an empty metric is by design: no RuntimeWarning, no FloatingPointError
    scores = torch.nn.functional.one_hot(torch.tensor([0, 1, 1]), 3).float()  # class 2: no truth, no prediction
    y = torch.tensor([0, 0, 1])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        rec = PerClassRecall(3)(scores, y)
        miou = MeanIoU(3, class_dim=-1, ignore_index=None)
        value = miou(scores, y)
        iou = miou.per_class()
        nothing = [MeanIoU(3).compute(), AveragePrecision(3).compute(), Accuracy().compute(),
                   MeanIoU(3)(torch.zeros(1, 3, 1, 2), torch.full((1, 1, 2), 255))]
        ap = AveragePrecision(3)
        only_negatives = ap(torch.rand(4, 3, generator=gen(0)), torch.zeros(4, 3, dtype=torch.long))
        ap_per_class = ap.per_class()
        empty_recall = PerClassRecall(2).compute()
    np.testing.assert_array_equal(rec, [50.0, 100.0, np.nan])
    np.testing.assert_allclose(iou, [50.0, 50.0, np.nan], rtol=1e-15)
    assert value == 50.0
    assert all(isinstance(x, float) and np.isnan(x) for x in nothing)
    assert isinstance(only_negatives, float) and np.isnan(only_negatives) and np.isnan(ap_per_class).all()
    assert np.isnan(empty_recall).all() and empty_recall.dtype == np.float64


def test_per_class_values_are_float64_percent():
    scores = torch.nn.functional.one_hot(torch.tensor([0, 1, 1, 2, 2, 2, 0]), 3).float()
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    rec = PerClassRecall(3)(scores, y)
    assert rec.dtype == np.float64
    np.testing.assert_array_equal(rec, [50.0, 50.0, 200 / 3])  # 100 * 1/2, 1/2, 2/3, in float64
    miou = MeanIoU(3, class_dim=-1, ignore_index=None)
    value = miou(scores, y)
    iou = miou.per_class()
    assert iou.dtype == np.float64
    # IoU: class 0 1/(2+2-1), class 1 1/(2+2-1), class 2 2/(3+3-2)
    np.testing.assert_array_equal(iou, [100 / 3, 100 / 3, 50.0])
    assert value == pytest.approx((100 / 3 + 100 / 3 + 50) / 3, rel=1e-15)
