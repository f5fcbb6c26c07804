"""The losses of Algorithm 1 and of the supplementary material.

All functions take logits ``p`` with classes on ``class_dim`` (``-1`` for ``[N, K]`` or
``[E, N, K]``; ``1`` for dense ``[N, K, H, W]``) and return *per-sample* values, so that the
caller chooses the reduction; :func:`reduce_mean` averages over samples and sums over
ensemble members (which keeps each member's gradient its own).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def l_cls(p: torch.Tensor, y: torch.Tensor, class_dim: int = -1) -> torch.Tensor:
    """Classification loss of Eq. (18), per sample.

    * hard ``y`` (integer class indices, the shape of ``p`` without ``class_dim``): cross entropy
      ``-log softmax(p)_y``;
    * soft ``y`` (a distribution, the shape of ``p``): KL divergence
      ``sum_k y_k log y_k - sum_k y_k log softmax(p)_k``.

    Its gradient in ``p`` is ``softmax(p) - y`` (Eq. 19), for both forms.
    """
    hard = not torch.is_floating_point(y)
    if not hard and y.shape != p.shape:
        raise ValueError(f"soft targets must have the logits' shape {tuple(p.shape)}, got {tuple(y.shape)}")
    p = p.float()
    if class_dim in (-1, p.dim() - 1) and p.shape[-1] <= 16 and p.numel() // p.shape[-1] >= 2048:
        # A softmax over a short last axis runs row by row; over a leading axis it vectorises
        # across samples (3x faster for K=2 on CPU with thousands of rows, as in an ensemble;
        # for a single small model the extra copy costs more than it saves). Same values.
        p, class_dim = p.movedim(-1, 0).contiguous(), 0
        if not hard:
            y = y.movedim(-1, 0)
    log_z = F.log_softmax(p, dim=class_dim)
    if hard:
        return -log_z.gather(class_dim, y.long().unsqueeze(class_dim)).squeeze(class_dim)
    y = y.float()
    return (torch.xlogy(y, y) - y * log_z).sum(class_dim)


def binary_cross_entropy(p: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Multi-label ``l_cls``: per sample, summed over classes, the binary KL divergence between
    the targets ``y`` (0/1 or probabilities, ``[..., K]``) and ``sigmoid(p)``.

    It is the binary cross entropy minus the targets' own entropy, so it is 0 exactly when
    ``sigmoid(p) == y`` and its gradient in ``p`` is ``sigmoid(p) - y``, the analogue of Eq. (19).
    """
    if y.shape != p.shape:
        raise ValueError(f"multi-label targets must have the logits' shape {tuple(p.shape)}, got {tuple(y.shape)}")
    p, y = p.float(), y.float()
    bce = F.binary_cross_entropy_with_logits(p, y, reduction="none")
    entropy = -(torch.xlogy(y, y) + torch.xlogy(1 - y, 1 - y))
    return (bce - entropy).sum(-1)


def confidence_weight(y_soft: torch.Tensor, class_dim: int = -1) -> torch.Tensor:
    """omega(x) = 1 - H(y_tilde) / log K, Eq. (15) of the supplementary material.

    The paper prints ``1 - sum y log y / log K``, which exceeds 1 since ``sum y log y <= 0``;
    the intended weight (1 for a one-hot label, 0 for a uniform one) has the entropy
    ``H = -sum y log y``, which is what we compute.
    """
    K = y_soft.shape[class_dim]
    entropy = -torch.xlogy(y_soft, y_soft).sum(class_dim)
    return 1.0 - entropy / math.log(K)


def consistency_loss(f_clean: torch.Tensor, f_perturbed: torch.Tensor, class_dim: int = -1,
                     squared: bool = False) -> torch.Tensor:
    """l_reg of Eq. (5): the L2 distance between ``f_s(x)`` and ``T(f_s(x))``, per sample."""
    diff = (f_clean.float() - f_perturbed.float()).pow(2).sum(class_dim)
    return diff if squared else diff.clamp_min(1e-12).sqrt()


def reduce_mean(per_sample: torch.Tensor, weight: torch.Tensor | None = None,
                ensemble: bool = False) -> torch.Tensor:
    """(1/M) sum_i omega_i * loss_i (Eq. 4 / Eq. 16); summed over members for an ensemble."""
    if weight is not None:
        per_sample = per_sample * weight
    if ensemble:
        return per_sample.flatten(1).mean(1).sum()
    return per_sample.mean()


def mke_objective(model, x: torch.Tensor, y_tilde: torch.Tensor, T, *, form: str = "eq17",
                  gamma: float = 1.0, weight: torch.Tensor | None = None, class_dim: int = -1,
                  ensemble: bool = False, kind=None, x_clean=None, to_frame=None) -> torch.Tensor:
    """The student objective of Algorithm 1, step (3).

    * ``form="eq17"``: ``(1/M) sum_i l_cls(y_tilde_i, T(f_s(x_i)))``, the form the paper trains
      with (Eq. 17; the supplementary argues it equals Eq. 3 for some ``|gamma| <= sqrt(K)``);
    * ``form="eq3"``: ``L_pl + gamma * L_reg`` with ``L_pl`` on the clean output (Eq. 4, or
      Eq. 16 with ``weight``) and ``L_reg`` the L2 distance between clean and transformed
      outputs (Eq. 5, averaged rather than summed so that ``gamma`` does not scale with M).

    ``T=None`` or an identity ``T`` gives plain pseudo-label training (Eq. 6 / Eq. 8).

    ``kind`` (a :class:`mke.kinds.TaskKind`) says where the class axis is and which loss applies
    (default: single-label on ``class_dim``). A geometric part of T (flip, scale) has already
    been applied jointly to ``x`` and ``y_tilde`` by the caller; for Eq. 3 it passes the
    un-augmented batch as ``x_clean`` and ``to_frame``, which maps the clean output into the
    augmented frame, so that the consistency term compares predictions pixel for pixel.
    """
    if form not in ("eq17", "eq3"):
        raise ValueError(f"form must be 'eq17' or 'eq3', got {form!r}")
    if kind is None:
        from mke.kinds import TaskKind

        kind = TaskKind("single_label", class_dim)
    if form == "eq17" or T is None or T.is_identity:
        p = model(x, T)
        return kind.reduce(kind.loss(p, y_tilde), y_tilde, weight, ensemble)
    if x_clean is not None:
        p_clean = to_frame(model(x_clean, None))
    else:
        p_clean = model(x, None)
    p_perturbed = model(x, T)
    L_pl = kind.reduce(kind.loss(p_clean, y_tilde), y_tilde, weight, ensemble)
    L_reg = kind.reduce(kind.consistency(p_clean, p_perturbed), y_tilde, None, ensemble)
    return L_pl + gamma * L_reg
