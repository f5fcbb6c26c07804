"""Metrics and the statistics of a metric over seeds."""
from __future__ import annotations

import inspect
import math

import numpy as np
import torch
from scipy import stats


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy in percent; ``logits`` ``[N, K]`` -> scalar, ``[E, N, K]`` -> ``[E]``."""
    pred = logits.argmax(-1).cpu()
    return (pred == y.cpu()).float().mean(-1) * 100.0


# scipy renamed bootstrap's random_state to rng (1.15)
_BOOTSTRAP_SEED_ARG = "rng" if "rng" in inspect.signature(stats.bootstrap).parameters else "random_state"


def bootstrap_mean_interval(v, n_boot: int = 10000, seed: int = 0) -> tuple[float, float]:
    """A seeded percentile-bootstrap 95 % interval of ``mean(v)``: it stays within the values'
    range, so within any range the values respect (used by :func:`summarize` and the verdicts)."""
    res = stats.bootstrap((np.asarray(v, dtype=float),), np.mean, n_resamples=int(n_boot), method="percentile",
                          confidence_level=0.95, **{_BOOTSTRAP_SEED_ARG: np.random.default_rng(seed)})
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarize(values, bounds=None, n_boot: int = 10000, seed: int = 0) -> dict:
    """Mean, sample standard deviation and a 95 % confidence interval of the mean.

    The interval is Student's t; when ``bounds`` (the metric's range, e.g. (0, 100) for an
    accuracy) is given and the t-interval would leave it, it is a seeded percentile bootstrap of
    the mean instead, which stays within the values' range (as :mod:`mke.verdicts` does for
    differences). ``"interval"`` says which.
    """
    v = np.asarray(list(values), dtype=float)
    n = len(v)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = float(v.mean())
    std = float(v.std(ddof=1)) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)) if n > 1 else 0.0
    lo, hi, kind = mean - half, mean + half, "t"
    if bounds is not None and n > 1 and std > 0 and np.isfinite(v).all() and (lo < bounds[0] or hi > bounds[1]):
        (lo, hi), kind = bootstrap_mean_interval(v, n_boot, seed), "bootstrap"
    return {"mean": mean, "std": std, "n_seeds": n, "ci95": [lo, hi], "interval": kind,
            "values": [float(x) for x in v]}


def mean_std(values, signed: bool = False, digits: int = 2) -> str:
    """``"mean ± std"`` over seeds (sample std), ``digits`` decimals; ``signed`` prints the mean's sign."""
    st = summarize(values)
    return f"{st['mean']:{'+' if signed else ''}.{digits}f} ± {st['std']:.{digits}f}"


# --------------------------------------------------------------------------------------------
# Streaming metric objects: ``reset()``, ``update(output, target)`` per batch, ``compute()``.
# --------------------------------------------------------------------------------------------

def _as_cpu(x, name: str, who: str) -> torch.Tensor:
    """``x`` as a detached CPU tensor (numpy arrays and nested lists are accepted too)."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{who}: {name} must be a tensor, got {type(x).__name__}") from err
    return x.detach().cpu()


def _check_num_classes(num_classes, who: str) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{who}: num_classes must be a positive integer, got {num_classes!r}")
    return int(num_classes)


def _check_integer_target(target: torch.Tensor, who: str) -> None:
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise ValueError(f"{who}: target must hold integer class indices, got dtype {target.dtype}")


def _truth_and_prediction(output, target, class_dim: int, num_classes: int | None, ignore_index: int | None,
                          who: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat int64 ``(truth, prediction)`` on CPU, positions whose target is ``ignore_index`` removed.

    ``output`` holds class scores on ``class_dim``; ``target`` has ``output``'s shape without that dim.
    """
    output = _as_cpu(output, "output", who)
    target = _as_cpu(target, "target", who)
    if output.ndim == 0:
        raise ValueError(f"{who}: expected output with a class dimension, got a 0-d tensor")
    if not -output.ndim <= class_dim < output.ndim:
        raise ValueError(f"{who}: class_dim={class_dim} is out of range for output of shape {tuple(output.shape)}")
    dim = class_dim % output.ndim
    k = output.shape[dim]
    if num_classes is not None and k != num_classes:
        raise ValueError(f"{who}: expected output with {num_classes} classes on class_dim={class_dim}, "
                         f"got shape {tuple(output.shape)} ({k} classes)")
    if k == 0:
        raise ValueError(f"{who}: expected at least one class on class_dim={class_dim}, "
                         f"got output of shape {tuple(output.shape)}")
    expected = tuple(output.shape[:dim] + output.shape[dim + 1:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{who}: expected target of shape {expected} for output of shape {tuple(output.shape)} "
                         f"with class_dim={class_dim}, got {tuple(target.shape)}")
    _check_integer_target(target, who)
    truth = target.reshape(-1).long()
    pred = output.argmax(dim).reshape(-1)
    if ignore_index is not None:
        keep = truth != ignore_index
        truth, pred = truth[keep], pred[keep]
    if truth.numel():
        lo, hi = int(truth.min()), int(truth.max())
        if lo < 0 or hi >= k:
            also = f" or equal ignore_index={ignore_index}" if ignore_index is not None else ""
            raise ValueError(f"{who}: expected target values in [0, {k}){also}, got values in [{lo}, {hi}]")
    return truth, pred


class Metric:
    """A metric accumulated over batches: ``reset()``, then ``update(output, target)`` per batch, then
    ``compute()``; ``metric(output, target)`` does all three on one batch (and discards earlier state).

    ``output`` holds class scores -- logits, probabilities or anything monotone in them -- with the
    classes on ``class_dim``; ``target`` holds integer class indices (shape of ``output`` without
    ``class_dim``) unless a subclass says otherwise. Tensors of any float dtype on any device are
    accepted; they are detached and moved to the CPU, where the state is kept. Shapes are checked and
    a mismatch raises ``ValueError`` naming the expected and the actual shape. A class missing from a
    batch (or from all data) is no error.
    """

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Forget everything accumulated so far."""
        raise NotImplementedError

    def update(self, output, target) -> None:
        """Add one batch."""
        raise NotImplementedError

    def compute(self):
        """The metric over all batches since the last ``reset()``."""
        raise NotImplementedError

    def __call__(self, output, target):
        self.reset()
        self.update(output, target)
        return self.compute()


class Accuracy(Metric):
    """Top-1 accuracy in percent (a float): argmax of ``output`` over ``class_dim`` against ``target``.

    ``[N, K]`` with target ``[N]`` (``class_dim=-1``) or dense ``[N, K, H, W]`` with target
    ``[N, H, W]`` (``class_dim=1``). Positions whose target equals ``ignore_index`` are left out.
    ``compute()`` is nan when nothing has been counted. Ties in the scores go to the lowest class index.
    """

    def __init__(self, class_dim: int = -1, ignore_index: int | None = None):
        self.class_dim = class_dim
        self.ignore_index = ignore_index
        super().__init__()

    def reset(self) -> None:
        self.correct = 0
        self.total = 0

    def update(self, output, target) -> None:
        truth, pred = _truth_and_prediction(output, target, self.class_dim, None, self.ignore_index, "Accuracy")
        self.correct += int((truth == pred).sum())
        self.total += truth.numel()

    def compute(self) -> float:
        return 100.0 * self.correct / self.total if self.total else float("nan")


class _ConfusionBased(Metric):
    """Accumulates ``self.matrix``, an int64 ``[K, K]`` tensor: rows truth, columns prediction."""

    def __init__(self, num_classes: int, class_dim: int = -1, ignore_index: int | None = None):
        self.num_classes = _check_num_classes(num_classes, type(self).__name__)
        self.class_dim = class_dim
        self.ignore_index = ignore_index
        super().__init__()

    def reset(self) -> None:
        self.matrix = torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)

    def update(self, output, target) -> None:
        k = self.num_classes
        truth, pred = _truth_and_prediction(output, target, self.class_dim, k, self.ignore_index,
                                            type(self).__name__)
        self.matrix += torch.bincount(truth * k + pred, minlength=k * k).reshape(k, k)


class ConfusionMatrix(_ConfusionBased):
    """Counts ``[K, K]`` (int64 numpy array): rows are the true class, columns the predicted class, as
    ``sklearn.metrics.confusion_matrix(y, pred, labels=range(K))``. Positions whose target equals
    ``ignore_index`` are not counted."""

    def compute(self) -> np.ndarray:
        return self.matrix.numpy().copy()


class PerClassRecall(_ConfusionBased):
    """Recall of each class in percent, a numpy ``[K]`` array: correct predictions of class ``k`` over the
    samples whose true class is ``k``. A class with no true sample gets nan (not 0, which would read as
    "always missed"); turn nan into null when writing JSON."""

    def compute(self) -> np.ndarray:
        m = self.matrix.numpy().astype(np.float64)
        support = m.sum(1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(support > 0, 100.0 * np.diag(m) / support, np.nan)


class MeanIoU(_ConfusionBased):
    """Mean intersection over union in percent (a float), for dense prediction (default ``class_dim=1``,
    output ``[N, K, H, W]``, target ``[N, H, W]``, ``ignore_index=255``).

    IoU of class ``k`` = TP / (TP + FP + FN) from the accumulated confusion matrix. Pixels whose target is
    ``ignore_index`` are excluded from both the truth and the prediction counts. The mean is taken over the
    classes whose union TP + FP + FN is positive: a class absent from both the truth and the prediction
    does not count (the usual convention, e.g. mmsegmentation's nanmean), while a class that is only
    predicted, or only true, counts with IoU 0. ``compute()`` is nan when no class has a positive union.
    """

    def __init__(self, num_classes: int, class_dim: int = 1, ignore_index: int | None = 255):
        super().__init__(num_classes, class_dim, ignore_index)

    def per_class(self) -> np.ndarray:
        """IoU of each class in percent, numpy ``[K]``; nan where the union is 0."""
        m = self.matrix.numpy().astype(np.float64)
        tp = np.diag(m)
        union = m.sum(0) + m.sum(1) - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(union > 0, 100.0 * tp / union, np.nan)

    def compute(self) -> float:
        iou = self.per_class()
        return float(np.nanmean(iou)) if not np.isnan(iou).all() else float("nan")


class AveragePrecision(Metric):
    """Average precision (area under the precision-recall curve, sklearn's step-wise definition).

    ``update(output, target)``: ``output`` holds scores ``[N, K]`` (any monotone score per class);
    ``target`` is either multi-label ``[N, K]`` with values in {0, 1} or single-label integer class
    indices ``[N]`` (one-hot encoded). Rows are stored on the CPU (scores as float32, targets as uint8),
    so scores that differ only beyond float32 precision tie.

    ``per_class()``: numpy ``[K]``, ``sklearn.metrics.average_precision_score`` on each column; nan for a
    class with no positive. ``compute()``: macro mAP over the classes with at least one positive, a float in
    [0, 1] (not percent); nan when no class has a positive.
    """

    def __init__(self, num_classes: int):
        self.num_classes = _check_num_classes(num_classes, "AveragePrecision")
        super().__init__()

    def reset(self) -> None:
        self._scores: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []

    def update(self, output, target) -> None:
        who, k = "AveragePrecision", self.num_classes
        scores = _as_cpu(output, "output", who)
        target = _as_cpu(target, "target", who)
        if scores.ndim != 2 or scores.shape[1] != k:
            raise ValueError(f"{who}: expected scores of shape (N, {k}), got {tuple(scores.shape)}")
        if scores.dtype.is_complex:
            raise ValueError(f"{who}: expected real scores, got dtype {scores.dtype}")
        n = scores.shape[0]
        if target.ndim == 1:
            if target.shape[0] != n:
                raise ValueError(f"{who}: expected single-label target of shape ({n},) or multi-label target of "
                                 f"shape ({n}, {k}), got {tuple(target.shape)}")
            _check_integer_target(target, who)
            target = target.long()
            if n and (int(target.min()) < 0 or int(target.max()) >= k):
                raise ValueError(f"{who}: expected class indices in [0, {k}), "
                                 f"got values in [{int(target.min())}, {int(target.max())}]")
            target = torch.nn.functional.one_hot(target, k)
        elif target.ndim == 2:
            if tuple(target.shape) != (n, k):
                raise ValueError(f"{who}: expected multi-label target of shape ({n}, {k}), got {tuple(target.shape)}")
            if target.dtype.is_complex or not ((target == 0) | (target == 1)).all():
                raise ValueError(f"{who}: expected multi-label target values in {{0, 1}}")
        else:
            raise ValueError(f"{who}: expected target of shape ({n},) or ({n}, {k}), got {tuple(target.shape)}")
        self._scores.append(scores.to(torch.float32))
        self._targets.append(target.to(torch.uint8))

    def per_class(self) -> np.ndarray:
        """AP of each class, numpy ``[K]`` in [0, 1]; nan for a class with no positive."""
        from sklearn.metrics import average_precision_score

        ap = np.full(self.num_classes, np.nan)
        if not self._scores:
            return ap
        scores = torch.cat(self._scores).numpy()
        target = torch.cat(self._targets).numpy()
        for c in np.flatnonzero(target.any(0)):
            ap[c] = average_precision_score(target[:, c], scores[:, c])
        return ap

    def compute(self) -> float:
        ap = self.per_class()
        return float(np.nanmean(ap)) if not np.isnan(ap).all() else float("nan")
