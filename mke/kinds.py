"""Task kinds: what a task's outputs are, and so where its class axis is and how it is scored.

Three kinds carry every chapter of the book:

=============  ===============  ===========  =============================  ==========================
kind           output           class axis   loss ``l_cls`` (Eq. 18)        hard pseudo label (Eq. 2)
=============  ===============  ===========  =============================  ==========================
single_label   ``[N, K]``       -1           cross entropy / KL (softmax)   arg max over classes
multi_label    ``[N, K]``       -1           binary cross entropy (sigmoid) ``p_k > 0.5`` per class
dense          ``[N, K, H, W]`` 1            cross entropy / KL per pixel,  arg max per pixel
                                             ``ignore_index`` pixels skipped
=============  ===============  ===========  =============================  ==========================

A kind turns a model's output into probabilities, computes the per-item loss (an item is a
sample, or a pixel for a dense task), reduces it (Eq. 4 / Eq. 16), makes hard or soft pseudo
labels and their confidence weight omega (Eq. 15), and says how compactly soft pseudo labels are
stored. Everything else in the engine is written once against this interface.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mke import losses

KINDS = ("single_label", "multi_label", "dense")
IGNORE_INDEX = 255  # unlabeled pixels (NYU Depth V2's void), ignored by loss and metric


@dataclass(frozen=True)
class TaskKind:
    """The outputs of a task: ``name`` in :data:`KINDS`, its class axis and ignore label."""

    name: str
    class_dim: int
    ignore_index: int | None = None
    storage_dtype: torch.dtype = torch.float32  # how soft pseudo labels are kept

    def __post_init__(self):
        if self.name not in KINDS:
            raise ValueError(f"task kind must be one of {KINDS}, got {self.name!r}")

    @property
    def multi_label(self) -> bool:
        return self.name == "multi_label"

    # ---------------------------------------------------------------- outputs
    def proba(self, out: torch.Tensor, already_proba: bool = False) -> torch.Tensor:
        """Class probabilities: softmax over the class axis, or independent sigmoids (multi-label)."""
        if already_proba:
            return out
        return out.sigmoid() if self.multi_label else out.float().softmax(self.class_dim)

    # ---------------------------------------------------------------- losses
    def loss(self, out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-item ``l_cls`` (Eq. 18): per sample ``[..., N]``, or per pixel ``[N, H, W]``.

        Hard targets are class indices (single-label, dense; ``ignore_index`` pixels give 0) or
        a 0/1 matrix (multi-label); soft targets are distributions on the class axis (dense
        soft targets may be float16: they are computed with in float32).
        """
        if self.multi_label:
            return losses.binary_cross_entropy(out, targets)
        if self.ignore_index is not None and not torch.is_floating_point(targets):
            valid = targets != self.ignore_index
            per = losses.l_cls(out, torch.where(valid, targets, torch.zeros_like(targets)), self.class_dim)
            return per * valid
        return losses.l_cls(out, targets, self.class_dim)

    def valid(self, targets: torch.Tensor) -> torch.Tensor | None:
        """Items that count (pixels whose hard label is not ``ignore_index``); None: all of them."""
        if self.ignore_index is None:
            return None
        if torch.is_floating_point(targets):  # soft maps: an all-zero distribution marks a padded pixel
            return targets.float().sum(self.class_dim) > 0
        return targets != self.ignore_index

    def reduce(self, per_item: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None = None,
               ensemble: bool = False) -> torch.Tensor:
        """(1/M) sum_i omega_i l_i (Eq. 4 / Eq. 16) over the items that count."""
        valid = self.valid(targets)
        if valid is None:
            return losses.reduce_mean(per_item, weight, ensemble)
        w = valid.float() if weight is None else weight * valid
        return (per_item * w).sum() / valid.sum().clamp_min(1)

    def consistency(self, f_clean: torch.Tensor, f_perturbed: torch.Tensor) -> torch.Tensor:
        """l_reg of Eq. (5) on the class axis, per item."""
        return losses.consistency_loss(f_clean, f_perturbed, self.class_dim)

    # ---------------------------------------------------------------- pseudo labels
    def hard(self, proba: torch.Tensor) -> torch.Tensor:
        """Eq. (2) made hard: arg max over classes; for multi-label, every class above 0.5."""
        if self.multi_label:
            return (proba.float() > 0.5).float()
        return proba.argmax(self.class_dim)

    def one_hot(self, y: torch.Tensor, num_classes: int) -> torch.Tensor:
        """True labels in the soft targets' layout (unchanged loss; ignored pixels all zero)."""
        if self.multi_label or torch.is_floating_point(y):
            return y.float()
        if self.ignore_index is not None:
            valid = y != self.ignore_index
            oh = F.one_hot(torch.where(valid, y, torch.zeros_like(y)).long(), num_classes).float()
            oh = oh * valid.unsqueeze(-1)
        else:
            oh = F.one_hot(y.long(), num_classes).float()
        return oh.movedim(-1, self.class_dim) if self.class_dim != -1 else oh

    def confidence(self, proba: torch.Tensor) -> torch.Tensor:
        """omega(x) of Eq. (15): ``1 - H(y_tilde) / log K`` per sample (or pixel); for multi-label
        the mean over classes of ``1 - H_b(p_k) / log 2`` (1 for certain labels, 0 for p = 0.5)."""
        p = proba.float()
        if self.multi_label:
            h = -(torch.xlogy(p, p) + torch.xlogy(1 - p, 1 - p))
            return 1.0 - h.mean(self.class_dim) / math.log(2)
        return losses.confidence_weight(p, self.class_dim)

    def store(self, proba: torch.Tensor) -> torch.Tensor:
        """Soft pseudo labels as kept in memory and on disk (float16 for dense maps)."""
        return proba.to(self.storage_dtype)


SINGLE_LABEL = TaskKind("single_label", class_dim=-1)
MULTI_LABEL = TaskKind("multi_label", class_dim=-1)
# a dense task's soft labels are [N, K, H, W]: float16 halves them (40 classes at 480x640 are
# 49 MB a frame in float32, 24.6 MB in float16), with a rounding error below 5e-4 of a probability
DENSE = TaskKind("dense", class_dim=1, ignore_index=IGNORE_INDEX, storage_dtype=torch.float16)

