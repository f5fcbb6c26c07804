"""The streaming metric objects of mke.metrics against scikit-learn (and a few hand-computed cases)."""
import numpy as np
import pytest
import torch
from sklearn.metrics import (accuracy_score, average_precision_score, confusion_matrix, jaccard_score,
                             recall_score)

from mke.metrics import (Accuracy, AveragePrecision, ConfusionMatrix, MeanIoU, Metric, PerClassRecall,
                         accuracy)

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
