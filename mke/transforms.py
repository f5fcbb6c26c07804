"""The transformation T of Eq. (5) and Eq. (17): perturbations of a student's input or hidden state.

The paper's TwoMoon experiment uses three (Section 4.1):

* T1, Gaussian noise on the input with level ``v0``;
* T2, Gaussian noise on the output of the first hidden layer with level ``v1``;
* T3, dropout with rate ``r0`` after every hidden layer.

The paper calls ``v0``/``v1`` "variance", but the authors' code scales the noise to the data:
``x + v0 * mean(|x|) * randn`` (the mean runs over the whole tensor, and for T2 over the
hidden activations, not detached). We follow the code, since the published numbers come from it.

A :class:`Transform` is composable (``T1(2.0) + T3(0.4)``) and the model decides where each
piece applies: it calls :meth:`Transform.perturb_input` on its input, :meth:`Transform.perturb_hidden`
on its first hidden layer and :meth:`Transform.drop` after each hidden layer. Levels may be
floats (one model) or tensors of shape ``[E, 1, 1]`` (an ensemble of ``E`` models trained at
once, each with its own level); the mean of ``|x|`` is then taken per member.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Callable, Union

import torch
import torch.nn.functional as F

Level = Union[float, torch.Tensor]


def _is_zero(level: Level) -> bool:
    if isinstance(level, torch.Tensor):
        return bool((level == 0).all())
    return level == 0


def _mean_abs(x: torch.Tensor, ensemble: bool, nonnegative: bool = False) -> torch.Tensor:
    """mean(|x|) over the whole tensor, or per ensemble member (dim 0) when ``ensemble``.

    ``nonnegative`` (x known to be >= 0, e.g. after a ReLU) skips the ``abs``: same value,
    and its backward pass (a ``sgn`` over the whole tensor) is the costliest op of T2.
    """
    a = x if nonnegative else x.abs()
    if ensemble:
        return a.flatten(1).mean(1).view(-1, *([1] * (x.dim() - 1)))
    return a.mean()


def relative_noise(x: torch.Tensor, level: Level, generator: torch.Generator | None = None,
                   ensemble: bool = False, nonnegative: bool = False) -> torch.Tensor:
    """``x + level * mean(|x|) * eps`` with ``eps ~ N(0, I)``: the authors' relative Gaussian noise.

    As in the authors' code the scale ``mean(|x|)`` is not detached: gradients flow through it.
    """
    if _is_zero(level):
        return x
    eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return torch.addcmul(x, level * _mean_abs(x, ensemble, nonnegative), eps)  # x + scale * eps, one pass


LANE_BITS = 16  # a dropout draw is a 16-bit lane: four per 64-bit word of the generator


def keep_threshold(rate: Level, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """The keep probability ``1 - rate`` as a threshold on signed 16-bit lanes, and its 1/keep.

    A lane ``u`` (uniform on ``[-2^15, 2^15)``) keeps its unit when ``u < threshold``, so a unit
    is kept with probability ``q = round((1 - rate) * 2^16) / 2^16``, within 2^-17 of ``1 - rate``;
    the scale is ``1 / q``, which keeps the layer's expected output exact (inverted dropout).
    """
    rate = rate if isinstance(rate, torch.Tensor) else torch.tensor(float(rate), device=device)
    kept = torch.round((1.0 - rate.float()) * 2.0 ** LANE_BITS).clamp_min(1.0)
    return kept - 2.0 ** (LANE_BITS - 1), 2.0 ** LANE_BITS / kept


def random_lanes(shape, generator: torch.Generator | None, device=None,
                 words: torch.Tensor | None = None) -> torch.Tensor:
    """``prod(shape)`` independent uniform signed 16-bit integers, four from each 64-bit draw.

    CPU torch draws floats from a Mersenne twister one 32-bit word per value; cutting 64-bit words
    into four lanes takes half as many words and skips the float conversion: 3x faster per mask.
    ``words`` is an optional int64 buffer of at least ``ceil(n / 4)`` elements to draw into.
    """
    n = math.prod(shape)
    if words is None:
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=device)
    words = words[:(n + 3) // 4]
    words.random_(-2 ** 63, None, generator=generator)  # the full int64 range: every bit uniform
    return words.view(torch.int16)[:n].view(shape)


def dropout(h: torch.Tensor, rate: Level, generator: torch.Generator | None = None) -> torch.Tensor:
    """Inverted dropout with a float rate or a per-member rate tensor ``[E, 1, 1]``.

    Without a generator and with a float rate this is ``F.dropout`` on torch's global stream, as in
    the authors' loop. With a generator the masks come from :func:`random_lanes`, the same draws
    that :mod:`mke.fused` makes, so the two training paths see identical masks.
    """
    if _is_zero(rate):
        return h
    if not isinstance(rate, torch.Tensor) and generator is None:
        return F.dropout(h, rate, training=True)
    threshold, scale = keep_threshold(rate, h.device)
    lanes = random_lanes(h.shape, generator, h.device)
    return h * ((lanes < threshold) * scale).to(h.dtype)  # the mask times 1/q carries no gradient


@dataclass(frozen=True)
class Transform:
    """T = T1 (input noise ``v0``) + T2 (first-hidden-layer noise ``v1``) + T3 (dropout ``r0``).

    ``augment`` is an optional per-tensor input augmentation applied before T1 (one modality,
    no geometry). ``geometric`` is a joint augmentation from :mod:`mke.augment` (flip, scale,
    crop) that the training loop applies to every modality of a batch *and* to its label maps,
    pseudo-label maps and weights, with ``augment_generator``. ``generator`` makes the noise
    reproducible; ``None`` uses torch's global generator (as the authors' loop does).
    """

    input_noise: Level = 0.0
    hidden_noise: Level = 0.0
    dropout: Level = 0.0
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    generator: torch.Generator | None = None
    ensemble: bool = False
    geometric: object | None = None
    augment_generator: torch.Generator | None = None

    def __post_init__(self):
        for name in ("input_noise", "hidden_noise", "dropout"):
            value = getattr(self, name)
            low = value.min().item() if isinstance(value, torch.Tensor) else value
            high = value.max().item() if isinstance(value, torch.Tensor) else value
            if low < 0:
                raise ValueError(f"Transform.{name} must be >= 0, got {value}")
            if name == "dropout" and high >= 1:
                raise ValueError(f"Transform.dropout must lie in [0, 1), got {value}")

    @property
    def is_identity(self) -> bool:
        """True when T changes nothing (the 'no reg' setting, v0 = v1 = r0 = 0)."""
        return (self.augment is None and (self.geometric is None or getattr(self.geometric, "is_identity", False))
                and _is_zero(self.input_noise)
                and _is_zero(self.hidden_noise) and _is_zero(self.dropout))

    def __add__(self, other: "Transform") -> "Transform":
        """Compose two transformations; each component may be set by one side only."""
        merged = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name in ("generator", "ensemble", "augment_generator"):
                merged[f.name] = a if a not in (None, False) else b
                continue
            a_set = a is not None and not (isinstance(a, (int, float)) and a == 0)
            b_set = b is not None and not (isinstance(b, (int, float)) and b == 0)
            if a_set and b_set:
                raise ValueError(f"both transformations set {f.name}; compose disjoint pieces")
            merged[f.name] = a if a_set else b
        return Transform(**merged)

    def with_generator(self, generator: torch.Generator | None,
                       augment_generator: torch.Generator | None = None) -> "Transform":
        """The same T drawing its noise from ``generator`` (and its augmentations from
        ``augment_generator``; see :mod:`mke.seeds` for the streams)."""
        return replace(self, generator=generator, augment_generator=augment_generator)

    # The three hooks a model calls -------------------------------------------------------
    def perturb_input(self, x: torch.Tensor) -> torch.Tensor:
        if self.augment is not None:
            x = self.augment(x)
        return relative_noise(x, self.input_noise, self.generator, self.ensemble)

    def perturb_hidden(self, h: torch.Tensor, nonnegative: bool = False) -> torch.Tensor:
        """T2 on a hidden layer's output; ``nonnegative`` when it follows a ReLU (saves an abs)."""
        return relative_noise(h, self.hidden_noise, self.generator, self.ensemble, nonnegative)

    def drop(self, h: torch.Tensor) -> torch.Tensor:
        return dropout(h, self.dropout, self.generator)

    def describe(self) -> str:
        parts = []
        for name, sym in (("input_noise", "T1 v0"), ("hidden_noise", "T2 v1"), ("dropout", "T3 r0")):
            value = getattr(self, name)
            if not _is_zero(value):
                parts.append(f"{sym}={value:g}" if not isinstance(value, torch.Tensor) else f"{sym}=[...]")
        if self.augment is not None:
            parts.append(f"augment={getattr(self.augment, '__name__', 'custom')}")
        if self.geometric is not None:
            parts.append(f"geometric={self.geometric!r}")
        return " + ".join(parts) or "identity"


def T1(v0: float) -> Transform:
    """Input Gaussian noise, ``x + v0 * mean|x| * eps``."""
    return Transform(input_noise=v0)


def T2(v1: float) -> Transform:
    """Gaussian noise on the first hidden layer's output, ``h + v1 * mean|h| * eps``."""
    return Transform(hidden_noise=v1)


def T3(r0: float) -> Transform:
    """Dropout with rate ``r0`` after each hidden layer."""
    return Transform(dropout=r0)


def stack_transforms(transforms: list[Transform], device: torch.device | str = "cpu",
                     generator: torch.Generator | None = None) -> Transform:
    """One ensemble transform whose levels are ``[E, 1, 1]`` tensors, member ``e`` from ``transforms[e]``."""
    if any(t.augment is not None or t.geometric is not None for t in transforms):
        raise ValueError("input augmentations cannot be stacked into an ensemble transform")

    def column(name):
        return torch.tensor([float(getattr(t, name)) for t in transforms], device=device).view(-1, 1, 1)

    return Transform(column("input_noise"), column("hidden_noise"), column("dropout"),
                     None, generator, ensemble=True)
