"""One training loop for one model or an ensemble of them (Eq. 1, Eq. 3-5, Eq. 17)."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from tqdm import tqdm

from mke import fused
from mke.losses import mke_objective
from mke.runtime import autocast

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("constant", "cosine")


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

    def __post_init__(self):
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"TrainConfig.epochs must be a positive int, got {self.epochs!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"TrainConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"TrainConfig.batch_size must be None or >= 1, got {self.batch_size!r}")

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
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def fit(model: torch.nn.Module, x: torch.Tensor, targets: torch.Tensor, cfg: TrainConfig, *,
        T=None, weight: torch.Tensor | None = None, ensemble: bool = False,
        generator: torch.Generator | None = None, desc: str = "fit", progress: bool = False) -> list[float]:
    """Minimise ``(1/M) sum_i l_cls(y_i, T(f(x_i)))`` (Eq. 1 with T=None, Eq. 17 or Eq. 3 otherwise).

    ``x`` is ``[N, ...]``; ``targets`` ``[N]`` (hard) or ``[N, K]`` (soft), with a leading
    member axis ``[E, ...]`` when ``ensemble``. ``generator`` shuffles mini-batches. Returns the
    loss every ``cfg.check_every`` steps; raises ``FloatingPointError`` on a non-finite loss.
    """
    device = next(model.parameters()).device
    x, targets = to_device(x, device), targets.to(device)
    weight = weight.to(device) if weight is not None else None
    n = targets.shape[1] if ensemble else targets.shape[0]
    # an ensemble shares inputs [N, ...] across members, or takes per-member inputs [E, N, ...]
    x_dim = 1 if (ensemble and not isinstance(x, dict) and x.dim() == 3) else 0
    if n_rows(x, x_dim) != n:
        raise ValueError(f"{desc}: {n} targets for {n_rows(x, x_dim)} inputs")
    opt = make_optimizer(model.parameters(), cfg)
    batch = cfg.batch_size or n
    n_steps = cfg.epochs * math.ceil(n / batch)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
                 if cfg.schedule == "cosine" else None)
    model.train()
    # small ensembles of MLPs: the same gradients, computed without autograd (mke.fused)
    by_hand = fused.HandBackward(model, T) if ensemble and fused.applies(model, T, cfg.form, device) else None
    history: list[float] = []
    step = 0
    for epoch in tqdm(range(cfg.epochs), desc=desc, disable=not progress, leave=False):
        order = torch.randperm(n, generator=generator).to(device) if batch < n else None
        for start in range(0, n, batch):
            if order is None:
                xb, yb, wb = x, targets, weight
            else:
                idx = order[start:start + batch]
                xb = take(x, idx, x_dim)
                yb = take(targets, idx, 1 if ensemble else 0)
                wb = None if weight is None else take(weight, idx, 1 if ensemble else 0)
            step += 1
            want_loss = step % cfg.check_every == 0 or step == n_steps
            if by_hand is not None:
                loss = by_hand(xb, yb, wb, want_loss)
            else:
                opt.zero_grad(set_to_none=True)
                with autocast(device, cfg.amp):
                    loss = mke_objective(model, xb, yb, T, form=cfg.form, gamma=cfg.gamma,
                                         weight=wb, ensemble=ensemble)
                loss.backward()
            opt.step()
            if scheduler is not None:
                scheduler.step()
            if step % cfg.check_every == 0:
                value = loss.item()
                history.append(value / (targets.shape[0] if ensemble else 1))
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"{desc}: the training loss became {value} at epoch {epoch + 1}; "
                        "training stopped. Lower the learning rate or check the inputs for NaN/inf.")
    final = loss.item()
    if not math.isfinite(final):
        raise FloatingPointError(f"{desc}: the training loss became {final} at the last epoch; training stopped.")
    model.eval()
    return history


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits (or probabilities for a softmax-headed model) with no transformation, in eval mode."""
    device = next(model.parameters()).device
    model.eval()
    return model(to_device(x, device)).float()
