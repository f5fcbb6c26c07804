"""One training loop for one model or an ensemble of them (Eq. 1, Eq. 3-5, Eq. 17).

:func:`fit` takes a split in memory (tensors, mini-batches cut by index) or a
``torch.utils.data.Dataset`` of ``(x, target, weight)`` items, streamed through a
``DataLoader``; :func:`predict` and :func:`evaluate` run in batches, never a whole split in one
forward pass. Both paths share one step: the geometric part of T (flip, scale, crop; from
:mod:`mke.augment`) is applied jointly to the inputs, the (pseudo-)label maps and the weights,
then the objective of :func:`mke.losses.mke_objective` for the task's kind.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from mke import fused
from mke.kinds import SINGLE_LABEL, TaskKind
from mke.losses import mke_objective
from mke.runtime import autocast

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")
FORMS = ("eq17", "eq3")  # the student objective (mke.losses.mke_objective)


@dataclass(frozen=True)
class TrainConfig:
    """How to fit: the authors' TwoMoon loop is full-batch SGD, lr 0.01, no momentum."""

    epochs: int
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    batch_size: int | None = None  # None: full batch
    schedule: str = "constant"  # "cosine" anneals lr to 0 over the run: the last epoch's model is stabler
    form: str = "eq17"  # student objective: "eq17" or "eq3" (see mke.losses.mke_objective)
    gamma: float = 1.0  # weight of L_reg when form == "eq3"
    amp: bool = True  # bfloat16 autocast on CUDA; ignored on CPU
    check_every: int = 50  # how often (in steps) a non-finite loss is looked for
    workers: int = 0  # DataLoader worker processes for streamed (Dataset) splits
    min_batch: int = 1  # a last mini-batch smaller than this joins the one before (BatchNorm needs 2)
    # torch's fused optimizer step (one kernel over all parameters instead of a loop over them):
    # the same update rule, rounded differently, so off by default where results are already on
    # record; over a CNN's 140 parameter tensors on a CPU, Adam's step takes a fifth of the time
    # (bench/bench_seg_step.py)
    fused_step: bool = False

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs must be a positive int, got {self.epochs!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise ValueError(f"TrainConfig.workers must be an int >= 0, got {self.workers!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be None or >= 1, got {self.batch_size!r}")
        if not isinstance(self.min_batch, int) or self.min_batch < 1:
            raise ValueError(f"TrainConfig.min_batch must be an int >= 1, got {self.min_batch!r}")
        if not isinstance(self.fused_step, bool):
            raise ValueError(f"TrainConfig.fused_step must be True or False, got {self.fused_step!r}")
        if not self.weight_decay >= 0:
            raise ValueError(f"TrainConfig.weight_decay must be >= 0, got {self.weight_decay!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"TrainConfig.momentum must lie in [0, 1), got {self.momentum!r}")
        if self.form not in FORMS:
            raise ValueError(f"TrainConfig.form must be one of {FORMS}, got {self.form!r}")
        if not (self.gamma >= 0 and math.isfinite(self.gamma)):
            raise ValueError(f"TrainConfig.gamma must be a finite number >= 0, got {self.gamma!r}")

    def but(self, **changes) -> "TrainConfig":
        return replace(self, **changes)


def to_device(x, device):
    """Move a tensor or a dict of modality tensors to ``device``."""
    if isinstance(x, dict):
        return {k: v.to(device) for k, v in x.items()}
    return x.to(device)


def take(x, idx, dim: int = 0):
    """Rows ``idx`` along ``dim`` of a tensor or of every tensor in a dict of modalities."""
    if isinstance(x, dict):
        return {k: v.index_select(dim, idx) for k, v in x.items()}
    return x.index_select(dim, idx)


def n_rows(x, dim: int = 0) -> int:
    return next(iter(x.values())).shape[dim] if isinstance(x, dict) else x.shape[dim]


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    fused = {"fused": True} if cfg.fused_step else {}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fused)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)


def _check_finite(value: float, desc: str, epoch: int) -> None:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"{desc}: the training loss became {value} at epoch {epoch + 1}; training stopped. "
            "Lower the learning rate or check the inputs for NaN/inf.")


def _geometric_step(T, xb, yb, wb, kind: TaskKind):
    """Apply T's geometric augmentation jointly to a batch: every modality, the (pseudo-)label
    map and the per-pixel weights get the same flip / scale / crop (Section 4.3)."""
    aug = getattr(T, "geometric", None) if T is not None else None
    if aug is None or getattr(aug, "is_identity", False):
        return xb, yb, wb, None, None
    batch = dict(xb) if isinstance(xb, dict) else {"x": xb}
    kinds = {k: "image" if v.dim() == 4 else "vector" for k, v in batch.items()}
    batch["__y"] = yb
    kinds["__y"] = "soft" if torch.is_floating_point(yb) else "label"
    if wb is not None:
        batch["__w"], kinds["__w"] = wb, "weight"
    out, params = aug(batch, kinds, T.augment_generator)
    # padded pixels get label ignore_index, an all-zero soft distribution and weight 0:
    # kind.valid() and the weights keep them out of the loss
    ya, wa = out.pop("__y"), out.pop("__w", None)
    xa = out if isinstance(xb, dict) else out["x"]
    return xa, ya, wa, xb, (lambda t: aug.apply(params, t, "soft"))


def fit(model: torch.nn.Module, x, targets: torch.Tensor | None, cfg: TrainConfig, *,
        T=None, weight: torch.Tensor | None = None, ensemble: bool = False,
        generator: torch.Generator | None = None, desc: str = "fit", progress: bool = False,
        kind: TaskKind = SINGLE_LABEL) -> list[float]:
    """Minimise ``(1/M) sum_i l_cls(y_i, T(f(x_i)))`` (Eq. 1 with T=None, Eq. 17 or Eq. 3 otherwise).

    In memory: ``x`` is ``[N, ...]`` (or a dict of modalities); ``targets`` ``[N]`` (hard) or
    ``[N, K]`` (soft), with a leading member axis ``[E, ...]`` when ``ensemble``. Streamed: ``x``
    is a ``Dataset`` of ``(x, target, weight)`` items and ``targets`` is None. ``generator``
    orders the mini-batches; T's own generator drives its noise and augmentations. Returns the
    loss every ``cfg.check_every`` steps; raises ``FloatingPointError`` on a non-finite loss.
    """
    if isinstance(x, torch.utils.data.Dataset):
        if targets is not None:
            raise ValueError(f"{desc}: a Dataset carries its own targets; pass targets=None")
        return _fit_stream(model, x, cfg, T=T, generator=generator, desc=desc, progress=progress, kind=kind)
    device = next(model.parameters()).device
    x, targets = to_device(x, device), targets.to(device)
    weight = weight.to(device) if weight is not None else None
    n = targets.shape[1] if ensemble else targets.shape[0]
    # an ensemble shares inputs [N, ...] across members, or takes per-member inputs [E, N, ...]
    x_dim = 1 if (ensemble and not isinstance(x, dict) and x.dim() == 3) else 0
    if n_rows(x, x_dim) != n:
        raise ValueError(f"{desc}: {n} targets for {n_rows(x, x_dim)} inputs")
    batch = cfg.batch_size or n
    spans = batch_spans(n, batch, cfg.min_batch)
    n_steps = cfg.epochs * len(spans)
    opt, scheduler = _optimizer(model, cfg, n_steps)
    model.train()
    # small ensembles of MLPs: the same gradients, computed without autograd (mke.fused)
    by_hand = (fused.HandBackward(model, T) if ensemble and kind is SINGLE_LABEL
               and fused.applies(model, T, cfg.form, device) else None)
    history: list[float] = []
    step = 0
    for epoch in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
        order = torch.randperm(n, generator=generator).to(device) if batch < n else None
        for start, stop in spans:
            if order is None:
                xb, yb, wb = x, targets, weight
            else:
                idx = order[start:stop]
                xb = take(x, idx, x_dim)
                yb = take(targets, idx, 1 if ensemble else 0)
                wb = None if weight is None else take(weight, idx, 1 if ensemble else 0)
            step += 1
            want_loss = step % cfg.check_every == 0 or step == n_steps
            if by_hand is not None:
                loss = by_hand(xb, yb, wb, want_loss)
            else:
                loss = _autograd_step(model, opt, xb, yb, wb, T, cfg, kind, ensemble, device)
            opt.step()
            if scheduler is not None:
                scheduler.step()
            if step % cfg.check_every == 0:
                value = loss.item()
                history.append(value / (targets.shape[0] if ensemble else 1))
                _check_finite(value, desc, epoch)
    _check_finite(loss.item(), desc, cfg.epochs - 1)
    model.eval()
    return history


def batch_spans(n: int, batch: int, min_batch: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of each mini-batch of an epoch over ``n`` samples: ``batch`` at a time,
    a last one smaller than ``min_batch`` merged into the one before (with ``min_batch=1``
    exactly ``range(0, n, batch)``)."""
    spans = [(start, min(start + batch, n)) for start in range(0, n, batch)]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < min_batch:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1])
    return spans


def _optimizer(model, cfg: TrainConfig, n_steps: int):
    opt = make_optimizer(model.parameters(), cfg)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
                 if cfg.schedule == "cosine" else None)
    return opt, scheduler


def _autograd_step(model, opt, xb, yb, wb, T, cfg: TrainConfig, kind: TaskKind, ensemble: bool, device):
    xb, yb, wb, x_clean, to_frame = _geometric_step(T, xb, yb, wb, kind)
    opt.zero_grad(set_to_none=True)
    with autocast(device, cfg.amp):
        loss = mke_objective(model, xb, yb, T, form=cfg.form, gamma=cfg.gamma, weight=wb, ensemble=ensemble,
                             kind=kind, x_clean=x_clean, to_frame=to_frame)
    loss.backward()
    return loss


def _collate(items):
    """``(x, target, weight)`` items -> a batch; ``x`` a tensor or a dict of modality tensors."""
    xs, ys, ws = zip(*items)
    x = ({k: torch.stack([xi[k] for xi in xs]) for k in xs[0]} if isinstance(xs[0], dict) else torch.stack(xs))
    w = None if ws[0] is None else torch.stack(ws)
    return x, torch.stack(ys), w


def loader(dataset, batch_size: int, order=None, workers: int = 0, min_batch: int = 1) -> torch.utils.data.DataLoader:
    """A DataLoader over ``(x, target, weight)`` items in the given ``order`` (workers where they
    pay: decoding media). The order is drawn by the caller from its data stream (mke.seeds), so
    a streamed split is visited exactly as the same split in memory would be; the loader's own
    worker seed comes from a fixed generator, never from torch's global stream. A last batch
    smaller than ``min_batch`` joins the one before (:func:`batch_spans`), as in memory."""
    if min_batch > 1:
        order = list(range(len(dataset))) if order is None else list(order)
        batches = [order[a:b] for a, b in batch_spans(len(order), batch_size, min_batch)]
        return torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=workers, collate_fn=_collate,
                                           generator=torch.Generator().manual_seed(0))
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=order, num_workers=workers,
                                       collate_fn=_collate, generator=torch.Generator().manual_seed(0))


def _fit_stream(model, dataset, cfg: TrainConfig, *, T, generator, desc, progress, kind: TaskKind) -> list[float]:
    """:func:`fit` over a Dataset: the same step, batches in the same order as in memory."""
    device = next(model.parameters()).device
    n = len(dataset)
    if n == 0:
        raise ValueError(f"{desc}: the training set is empty")
    batch = cfg.batch_size or n
    spans = batch_spans(n, batch, cfg.min_batch)
    opt, scheduler = _optimizer(model, cfg, cfg.epochs * len(spans))
    model.train()
    history: list[float] = []
    step = 0
    for epoch in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
        order = torch.randperm(n, generator=generator).tolist() if batch < n else list(range(n))
        for xb, yb, wb in loader(dataset, batch, order, cfg.workers, cfg.min_batch):
            xb, yb = to_device(xb, device), yb.to(device)
            wb = None if wb is None else wb.to(device)
            loss = _autograd_step(model, opt, xb, yb, wb, T, cfg, kind, False, device)
            opt.step()
            if scheduler is not None:
                scheduler.step()
            step += 1
            if step % cfg.check_every == 0:
                history.append(loss.item())
                _check_finite(history[-1], desc, epoch)
    _check_finite(loss.item(), desc, cfg.epochs - 1)
    model.eval()
    return history


PREDICT_BATCH = 256  # samples per forward pass in predict(): bounded memory for any split size


@torch.no_grad()
def predict(model: torch.nn.Module, x, batch_size: int | None = PREDICT_BATCH) -> torch.Tensor:
    """Outputs with no transformation, in eval mode, ``batch_size`` samples at a time (on CPU).

    Logits, or probabilities for a softmax-headed model. ``x`` is a tensor or a dict of
    modality tensors ``[N, ...]``; an ensemble's output ``[E, N, ...]`` is joined on its sample axis.
    """
    device = next(model.parameters()).device
    model.eval()
    ensemble = hasattr(model, "n_members")
    x_dim = 1 if ensemble and not isinstance(x, dict) and x.dim() == 3 else 0  # per-member inputs
    n = n_rows(x, x_dim)
    step = n if batch_size is None else batch_size
    outs = []
    for start in range(0, n, step):
        idx = torch.arange(start, min(start + step, n))
        xb = take(x, idx, x_dim)
        outs.append(model(to_device(xb, device)).float().cpu())
    if not outs:
        raise ValueError("predict() got an empty split")
    return torch.cat(outs, dim=1 if ensemble else 0)


def predict_batches(model: torch.nn.Module, batches):
    """Yield ``(output, target)`` for each ``(x, target, ...)`` batch of a loader (eval mode, on CPU)."""
    device = next(model.parameters()).device
    model.eval()
    for batch in batches:
        xb, yb = batch[0], batch[1]
        with torch.no_grad():  # inside the loop: a generator's decorator would not cover the yields
            out = model(to_device(xb, device)).float().cpu()
        yield out, yb


def evaluate(model: torch.nn.Module, batches, metric):
    """Stream a loader's batches through ``model`` into a metric object (``mke.metrics``)."""
    metric.reset()
    for out, y in predict_batches(model, batches):
        metric.update(out, y)
    return metric.compute()
