"""Augmentations that know geometry: one random flip, scale or crop per sample, applied to every map.

The paper regularises the RGB-D segmentation student with "random horizontal flip and random
scaling in [0.5, 1.75]" (Section 4.3; supplementary Section 2.2), applied jointly to the RGB
image, its HHA encoding and the (pseudo-)label map. This module does that for a batch held as a
dict of tensors with a leading batch axis ``N``, where each key has a KIND:

* ``"image"``: float ``[N, C, H, W]`` (or ``[N, *, H, W]``, e.g. video frames), bilinear, padded with 0;
* ``"label"``: integer ``[N, H, W]`` class map, nearest neighbour, padded with ``ignore_index`` (255);
* ``"soft"``: float ``[N, K, H, W]`` per-pixel class distributions (soft pseudo labels, logits, maybe
  float16), bilinear in float32 and cast back: a convex combination of distributions stays one.
  Padded pixels are all zeros: a distribution nowhere, so a loss must mask them (see ``"weight"``);
* ``"weight"``: float ``[N, H, W]`` per-pixel loss weight, bilinear, padded with 0 (padding never counts);
* ``"vector"``: anything not spatial, passed through unchanged.

Every geometric augmentation draws one set of parameters per sample and applies it to every key of
that sample. ``aug(batch, kinds, generator)`` returns ``(batch_out, params)``; ``aug.apply(params,
tensor, kind)`` applies the same geometry to another tensor of that batch, e.g. the clean model's
logits, so a consistency term can compare ``f(T(x))`` with ``T(f(x))`` in one frame. Applying
``params`` to a map of ones of kind ``"weight"`` gives 1 on pixels that came from the sample and 0
on padding.

Resampling is exact arithmetic on indices: output pixel ``i`` of a sample scaled from ``H`` to
``h`` rows reads the source coordinate ``(i + 1/2) H / h - 1/2`` (``F.interpolate``'s
``align_corners=False`` convention, bilinear with border clamping, ``"nearest-exact"`` for labels),
computed as integer fractions so that no rounding moves a label. The whole batch is resampled at
once by gathers, on the tensors' device; only the window that survives the crop is computed.
Strength 0 (``p = 0``, ``low = high = 1``, ``brightness = contrast = 0``) returns the very same
tensors and draws nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import torch

from mke.kinds import IGNORE_INDEX

MAP_KINDS = ("image", "label", "soft", "weight", "vector")  # not mke.kinds.KINDS (task kinds)
Kinds = dict[str, str]
Size = tuple[int, int]


# Checking a batch ---------------------------------------------------------------------------

def check_tensor(key: str, x, kind: str) -> tuple[int, Size] | None:
    """``(N, (H, W))`` of a spatial tensor of ``kind``; None for ``"vector"``. ValueError names ``key``."""
    if kind not in MAP_KINDS:
        raise ValueError(f"key {key!r}: unknown kind {kind!r}; expected one of {MAP_KINDS}")
    if kind == "vector":
        return None
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"key {key!r} (kind {kind!r}) must be a tensor, got {type(x).__name__}")
    if kind == "label":
        if x.dim() != 3:
            raise ValueError(f"key {key!r} (kind 'label') must be [N, H, W], got shape {tuple(x.shape)}")
        if x.dtype == torch.bool or x.is_floating_point() or x.is_complex():
            raise ValueError(f"key {key!r} (kind 'label') must hold integers, got {x.dtype}")
    else:
        want = {"image": "[N, C, H, W]", "soft": "[N, K, H, W]", "weight": "[N, H, W]"}[kind]
        ok = x.dim() >= 4 if kind == "image" else x.dim() == (4 if kind == "soft" else 3)
        if not ok:
            raise ValueError(f"key {key!r} (kind {kind!r}) must be {want}, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"key {key!r} (kind {kind!r}) must be floating point, got {x.dtype}")
    return x.shape[0], (x.shape[-2], x.shape[-1])


def check_batch(batch: dict, kinds: Kinds) -> tuple[int, Size]:
    """``(N, (H, W))`` shared by the batch's spatial keys; ValueError naming any key that breaks the rules."""
    unknown = [k for k in batch if k not in kinds]
    if unknown:
        raise ValueError(f"batch keys without a kind: {unknown}; kinds has {sorted(kinds)}")
    shape, first = None, None
    for key, x in batch.items():
        got = check_tensor(key, x, kinds[key])
        if got is None:
            continue
        if shape is None:
            shape, first = got, key
        elif got != shape:
            raise ValueError(f"key {key!r} has batch size and spatial size {got}, "
                             f"but {first!r} has {shape}: the maps of a batch must share them")
    if shape is None:
        raise ValueError(f"batch has no spatial key (kinds: {dict((k, kinds[k]) for k in batch)})")
    return shape


def _uniform(shape, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform [0, 1) draws in float64 on the generator's device, returned on the CPU."""
    device = generator.device if generator is not None else "cpu"
    return torch.rand(shape, generator=generator, device=device, dtype=torch.float64).cpu()


# Resampling a window of a rescaled map -------------------------------------------------------

@dataclass(frozen=True)
class _Axis:
    """Where each output pixel of one axis reads, per sample (``[N, out]`` tensors on the CPU)."""

    nearest: torch.Tensor  # source index for nearest-neighbour resampling
    low: torch.Tensor      # the two source indices and the weight of ``high`` for bilinear
    high: torch.Tensor
    frac: torch.Tensor
    valid: torch.Tensor    # False where the output pixel lies outside the rescaled sample: padding
    exact: bool            # every output pixel copies one source pixel (frac == 0): bilinear = gather


def _axis(in_len: int, scaled: torch.Tensor, offset: torch.Tensor, out_len: int) -> _Axis:
    """Output pixel ``i`` of sample ``n`` is pixel ``offset[n] + i`` of the sample rescaled to ``scaled[n]``.

    Its source coordinate ``(p + 1/2) * in / scaled - 1/2`` is the fraction
    ``((2p + 1) in - scaled) / (2 scaled)``, floored and split exactly in integers.
    """
    scaled, offset = scaled.view(-1, 1), offset.view(-1, 1)
    pos = offset + torch.arange(out_len).view(1, -1)
    valid = (pos >= 0) & (pos < scaled)
    pos = torch.minimum(pos.clamp_min(0), scaled - 1)
    den = 2 * scaled
    nearest = ((2 * pos + 1) * in_len).div(den, rounding_mode="floor").clamp_max(in_len - 1)
    num = ((2 * pos + 1) * in_len - scaled).clamp_min(0)  # border clamping, as F.interpolate
    low = num.div(den, rounding_mode="floor")
    rem = num - low * den
    frac = rem.double() / den.double()
    high = (low + 1).clamp_max(in_len - 1)
    return _Axis(nearest, low.clamp_max(in_len - 1), high, frac, valid, bool((rem == 0).all()))


def _gather(x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
    """``x[n, c, index[n, i], :]`` (dim 2) or ``x[n, c, :, index[n, j]]`` (dim 3) for a 4-d ``x``."""
    n, c = x.shape[:2]
    index = index.to(x.device)
    if dim == 2:
        index = index[:, None, :, None].expand(n, c, index.shape[1], x.shape[3])
    else:
        index = index[:, None, None, :].expand(n, c, x.shape[2], index.shape[1])
    return x.gather(dim, index)


def _interpolation_matrix(axis: _Axis, in_len: int, dtype, device) -> torch.Tensor:
    """``[N, out, in]``: row ``i`` of sample ``n`` holds ``1 - frac`` at ``low`` and ``frac`` at ``high``."""
    n, out = axis.low.shape
    frac = axis.frac.to(dtype)
    m = torch.zeros(n, out, in_len, dtype=dtype)
    m.scatter_add_(2, axis.low[:, :, None], (1 - frac)[:, :, None])
    m.scatter_add_(2, axis.high[:, :, None], frac[:, :, None])
    return m.to(device)


def bilinear_matrix(in_len: int, out_len: int, dtype=torch.float32, device="cpu") -> torch.Tensor:
    """``[out_len, in_len]``: bilinear resampling along one axis as ``F.interpolate`` does it
    (``align_corners=False``, border clamped), as a matrix with two weights per row."""
    axis = _axis(in_len, torch.tensor([out_len]), torch.tensor([0]), out_len)
    return _interpolation_matrix(axis, in_len, dtype, device)[0]


def _resample_axis(x: torch.Tensor, dim: int, axis: _Axis, bilinear: bool) -> torch.Tensor:
    if not bilinear:
        return _gather(x, dim, axis.nearest)
    if axis.exact:
        return _gather(x, dim, axis.low)
    # bilinear along one axis is a product with a 2-band matrix per sample, shared by the
    # channels: one batched GEMM instead of two gathers over every channel (a 40-class soft map
    # of the book profile in 0.4-0.6 of the time on a CPU, bench/bench_seg_step.py); the same
    # weights, rounded as a sum of two products
    m = _interpolation_matrix(axis, x.shape[dim], x.dtype, x.device)
    if dim == 2:
        return torch.matmul(m[:, None], x)
    n, c, h, _ = x.shape  # columns: every row of every channel at once, [N, C*H, W] @ [N, W, out]
    return torch.bmm(x.reshape(n, c * h, -1), m.transpose(1, 2)).view(n, c, h, -1)


def _resample(x: torch.Tensor, kind: str, rows: _Axis, cols: _Axis, ignore_index: int, key: str) -> torch.Tensor:
    """Resample a checked spatial tensor of ``kind`` through ``rows`` and ``cols``; pad outside the sample."""
    shape = x.shape
    x4 = x.unsqueeze(1) if kind in ("label", "weight") else x.reshape(shape[0], -1, *shape[-2:])
    if kind == "label":
        info = torch.iinfo(x.dtype)
        if not info.min <= ignore_index <= info.max:
            raise ValueError(f"key {key!r}: ignore_index {ignore_index} does not fit in {x.dtype}")
        fill = ignore_index
    else:
        fill = 0
        if x.dtype in (torch.float16, torch.bfloat16):
            x4 = x4.float()  # interpolate in float32, cast back below
    bilinear = kind != "label"
    out = _resample_axis(_resample_axis(x4, 2, rows, bilinear), 3, cols, bilinear)
    valid = (rows.valid[:, :, None] & cols.valid[:, None, :]).to(x.device)
    if not bool(valid.all()):
        out = torch.where(valid[:, None], out, torch.tensor(fill, dtype=out.dtype, device=out.device))
    return out.to(x.dtype).reshape(*shape[:-2], *out.shape[-2:])


# Parameters ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlipParams:
    """``flip[n]``: whether sample ``n`` is mirrored left-right (bool ``[N]``, CPU)."""

    flip: torch.Tensor

    def __len__(self) -> int:
        return self.flip.shape[0]


@dataclass(frozen=True)
class WindowParams:
    """Sample ``n`` rescaled from ``in_size`` to ``size[n]``, then the ``out_size`` window at ``offset[n]``.

    ``offset`` is the window's top-left corner in the rescaled sample: ``>= 0`` crops; negative pads,
    the rescaled sample then starting at ``-offset`` in the output. ``scale[n]`` is the drawn factor
    (``size`` is ``in_size * scale`` rounded, so the factor actually applied is ``size / in_size``).
    All tensors are int64 / float64 on the CPU.
    """

    scale: torch.Tensor    # [N]
    size: torch.Tensor     # [N, 2] rescaled (h, w)
    offset: torch.Tensor   # [N, 2] (top, left)
    in_size: Size
    out_size: Size

    def __len__(self) -> int:
        return self.scale.shape[0]

    @property
    def is_identity(self) -> bool:
        return (self.in_size == self.out_size and bool((self.offset == 0).all())
                and bool((self.size == torch.tensor(self.in_size)).all()))


ScaleParams = WindowParams
CropParams = WindowParams


@dataclass(frozen=True)
class PhotometricParams:
    """Per-sample brightness factor ``b`` and contrast factor ``c`` (float64 ``[N]``, CPU)."""

    brightness: torch.Tensor
    contrast: torch.Tensor

    def __len__(self) -> int:
        return self.brightness.shape[0]


@dataclass(frozen=True)
class ComposeParams:
    """The parameters of each augmentation of a :class:`Compose`, in order."""

    parts: tuple

    def __len__(self) -> int:
        return len(self.parts[0]) if self.parts else 0


Params = Union[FlipParams, WindowParams, PhotometricParams, ComposeParams]


# Augmentations ------------------------------------------------------------------------------

class Augmentation:
    """A joint augmentation of a batch dict. Subclasses draw parameters and apply them to one tensor.

    ``kinds`` may be given here once or to each call; a call's ``kinds`` wins.
    """

    def __init__(self, kinds: Kinds | None = None):
        self.kinds = kinds

    @property
    def is_identity(self) -> bool:
        raise NotImplementedError

    def _kinds(self, kinds: Kinds | None) -> Kinds:
        kinds = kinds if kinds is not None else self.kinds
        if kinds is None:
            raise ValueError(f"{type(self).__name__}: no kinds given, at construction or to the call")
        return kinds

    def __call__(self, batch: dict, kinds: Kinds | None = None,
                 generator: torch.Generator | None = None) -> tuple[dict, Params]:
        kinds = self._kinds(kinds)
        n, size = check_batch(batch, kinds)
        params = self.identity_params(n, size) if self.is_identity else self.draw(n, size, generator)
        return {k: self._apply(params, x, kinds[k], k) for k, x in batch.items()}, params

    def identity_params(self, n: int, size: Size) -> Params:
        raise NotImplementedError

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> Params:
        raise NotImplementedError

    def apply(self, params: Params, tensor, kind: str):
        """The geometric transform of ``params`` on another tensor of that batch (e.g. logits, as ``"soft"``)."""
        return self._apply(params, tensor, kind, "tensor")

    def _apply(self, params: Params, x, kind: str, key: str):
        raise NotImplementedError

    @staticmethod
    def _check_params(params: Params, x, kind: str, key: str, in_size: Size | None):
        got = check_tensor(key, x, kind)
        if got is None:
            return None
        n, size = got
        if n != len(params):
            raise ValueError(f"key {key!r} has batch size {n}, but the parameters were drawn for {len(params)}")
        if in_size is not None and size != tuple(in_size):
            raise ValueError(f"key {key!r} has spatial size {size}, "
                             f"but the parameters were drawn for {tuple(in_size)}")
        return got

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._describe().items())})"

    def _describe(self) -> dict:
        return {}


class JointFlip(Augmentation):
    """Random horizontal flip with probability ``p``, one coin per sample, shared by all its maps.

    Half of the paper's segmentation regulariser (Section 4.3; supplementary 2.2: "random horizontal
    flip and random scaling in [0.5, 1.75]"). Flipping twice with the same parameters is the identity.
    """

    def __init__(self, p: float = 0.5, *, kinds: Kinds | None = None):
        super().__init__(kinds)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"JointFlip.p must lie in [0, 1], got {p}")
        self.p = p

    @property
    def is_identity(self) -> bool:
        return self.p == 0

    def identity_params(self, n: int, size: Size) -> FlipParams:
        return FlipParams(torch.zeros(n, dtype=torch.bool))

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> FlipParams:
        return FlipParams(_uniform(n, generator) < self.p)

    def _apply(self, params: FlipParams, x, kind: str, key: str):
        if self._check_params(params, x, kind, key, None) is None or not bool(params.flip.any()):
            return x
        flip = params.flip.to(x.device).view(-1, *([1] * (x.dim() - 1)))
        return torch.where(flip, x.flip(-1), x)

    def _describe(self) -> dict:
        return {"p": self.p}


class _Window(Augmentation):
    """Rescale-then-window augmentations (:class:`JointScale`, :class:`JointCrop`)."""

    ignore_index: int = IGNORE_INDEX

    def identity_params(self, n: int, size: Size) -> WindowParams:
        return WindowParams(torch.ones(n, dtype=torch.float64), torch.tensor(size).repeat(n, 1),
                            torch.zeros(n, 2, dtype=torch.int64), tuple(size), tuple(size))

    def _apply(self, params: WindowParams, x, kind: str, key: str):
        if self._check_params(params, x, kind, key, params.in_size) is None or params.is_identity:
            return x
        (h, w), (oh, ow) = params.in_size, params.out_size
        rows = _axis(h, params.size[:, 0], params.offset[:, 0], oh)
        cols = _axis(w, params.size[:, 1], params.offset[:, 1], ow)
        return _resample(x, kind, rows, cols, self.ignore_index, key)


def _offsets(span: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """An integer uniform on ``0..span`` from a uniform ``u`` in [0, 1), elementwise."""
    return torch.minimum((u * (span + 1).double()).floor().long(), span)


class JointScale(_Window):
    """Rescale each sample by ``s ~ U(low, high)``, then crop (s > 1) or pad (s < 1) back to ``H x W``.

    The paper's "random scaling in [0.5, 1.75]" (Section 4.3; supplementary 2.2), shared by RGB, HHA
    and the (pseudo-)labels. The window sits at a uniform random offset along each axis, so shapes are
    kept and batches stay stackable. Padding: images and soft maps 0, labels ``ignore_index``, weights 0.
    """

    def __init__(self, low: float = 0.5, high: float = 1.75, *, ignore_index: int = IGNORE_INDEX,
                 kinds: Kinds | None = None):
        super().__init__(kinds)
        if not 0 < low <= high:
            raise ValueError(f"JointScale needs 0 < low <= high, got low={low}, high={high}")
        self.low, self.high, self.ignore_index = low, high, ignore_index

    @property
    def is_identity(self) -> bool:
        return self.low == self.high == 1

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> WindowParams:
        scale = self.low + (self.high - self.low) * _uniform(n, generator)
        in_size = torch.tensor(size)
        scaled = torch.round(scale[:, None] * in_size).long().clamp_min(1)
        span = (scaled - in_size).abs()
        k = _offsets(span, _uniform((n, 2), generator))
        offset = torch.where(scaled >= in_size, k, -k)
        return WindowParams(scale, scaled, offset, tuple(size), tuple(size))

    def _describe(self) -> dict:
        return {"low": self.low, "high": self.high}


class JointCrop(_Window):
    """A random ``size = (h, w)`` crop per sample, e.g. to train at a smaller size than stored."""

    def __init__(self, size: int | Size, *, kinds: Kinds | None = None):
        super().__init__(kinds)
        size = (size, size) if isinstance(size, int) else tuple(size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"JointCrop.size must be one or two positive ints, got {size}")
        self.size = size

    @property
    def is_identity(self) -> bool:
        return False  # it changes the shape unless the batch already has ``size``

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> WindowParams:
        if self.size[0] > size[0] or self.size[1] > size[1]:
            raise ValueError(f"JointCrop: crop {self.size} larger than the batch's maps {tuple(size)}")
        span = torch.tensor(size) - torch.tensor(self.size)
        offset = _offsets(span.expand(n, 2), _uniform((n, 2), generator))
        return WindowParams(torch.ones(n, dtype=torch.float64), torch.tensor(size).repeat(n, 1),
                            offset, tuple(size), self.size)

    def _describe(self) -> dict:
        return {"size": self.size}


class Photometric(Augmentation):
    """Random brightness and contrast on one ``"image"`` key (one modality), per sample; geometry untouched.

    ``x -> b x``, then ``x -> m + c (x - m)`` with ``m`` the sample's mean, ``b ~ U(1 - brightness,
    1 + brightness)`` and ``c ~ U(1 - contrast, 1 + contrast)``; no clipping (inputs may be normalised).
    Put it before a :class:`JointScale` in a :class:`Compose`, or contrast moves the zero padding.
    :meth:`apply` is geometric and so returns its tensor unchanged; :meth:`adjust` is the photometric map.
    """

    def __init__(self, modality: str, brightness: float = 0.0, contrast: float = 0.0, *,
                 kinds: Kinds | None = None):
        super().__init__(kinds)
        for name, value in (("brightness", brightness), ("contrast", contrast)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Photometric.{name} must lie in [0, 1], got {value}")
        self.modality, self.brightness, self.contrast = modality, brightness, contrast

    @property
    def is_identity(self) -> bool:
        return self.brightness == 0 and self.contrast == 0

    def __call__(self, batch: dict, kinds: Kinds | None = None,
                 generator: torch.Generator | None = None) -> tuple[dict, PhotometricParams]:
        kinds = self._kinds(kinds)
        n, size = check_batch(batch, kinds)
        if kinds.get(self.modality) != "image" or self.modality not in batch:
            raise ValueError(f"Photometric: key {self.modality!r} is not an 'image' key of the batch")
        params = self.identity_params(n, size) if self.is_identity else self.draw(n, size, generator)
        out = dict(batch)
        out[self.modality] = self.adjust(params, batch[self.modality])
        return out, params

    def identity_params(self, n: int, size: Size) -> PhotometricParams:
        return PhotometricParams(torch.ones(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64))

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> PhotometricParams:
        u = 2 * _uniform((n, 2), generator) - 1
        return PhotometricParams(1 + self.brightness * u[:, 0], 1 + self.contrast * u[:, 1])

    def adjust(self, params: PhotometricParams, image: torch.Tensor) -> torch.Tensor:
        """The brightness and contrast of ``params`` on an ``"image"`` tensor."""
        self._check_params(params, image, "image", self.modality, None)
        if self.is_identity:
            return image
        x = image.float() if image.dtype in (torch.float16, torch.bfloat16) else image
        view = (-1, *([1] * (x.dim() - 1)))
        if self.brightness != 0:
            x = x * params.brightness.to(device=x.device, dtype=x.dtype).view(view)
        if self.contrast != 0:
            mean = x.mean(dim=tuple(range(1, x.dim())), keepdim=True)
            x = torch.lerp(mean, x, params.contrast.to(device=x.device, dtype=x.dtype).view(view))
        return x.to(image.dtype)

    def _apply(self, params: PhotometricParams, x, kind: str, key: str):
        self._check_params(params, x, kind, key, None)
        return x

    def _describe(self) -> dict:
        return {"modality": self.modality, "brightness": self.brightness, "contrast": self.contrast}


class ModalityDrop(Photometric):
    """Blank one modality's image (set it to 0, the mean of a standardised input) for a random share
    ``p`` of the samples, one coin per sample (ModDrop, Neverova et al. 2016); geometry untouched.

    A multimodal student under it must sometimes predict from its other modalities alone.
    """

    def __init__(self, modality: str, p: float = 0.0, *, kinds: Kinds | None = None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"ModalityDrop.p must lie in [0, 1), got {p}")
        super().__init__(modality, kinds=kinds)
        self.p = p
        self.brightness = p  # adjust() multiplies by the per-sample 0/1 draw when brightness != 0

    @property
    def is_identity(self) -> bool:
        return self.p == 0

    def draw(self, n: int, size: Size, generator: torch.Generator | None) -> PhotometricParams:
        keep = (_uniform(n, generator) >= self.p).to(torch.float64)
        return PhotometricParams(keep, torch.ones(n, dtype=torch.float64))

    def _describe(self) -> dict:
        return {"modality": self.modality, "p": self.p}


class Compose(Augmentation):
    """Augmentations in sequence, e.g. ``Compose(JointFlip(), JointScale(0.5, 1.75))`` (the paper's)."""

    def __init__(self, *augs: Augmentation, kinds: Kinds | None = None):
        super().__init__(kinds)
        for a in augs:
            if not isinstance(a, Augmentation):
                raise ValueError(f"Compose takes augmentations, got {type(a).__name__}")
        self.augs = augs

    @property
    def is_identity(self) -> bool:
        return all(a.is_identity for a in self.augs)

    def __call__(self, batch: dict, kinds: Kinds | None = None,
                 generator: torch.Generator | None = None) -> tuple[dict, ComposeParams]:
        kinds = self._kinds(kinds)
        check_batch(batch, kinds)
        parts = []
        for a in self.augs:
            batch, p = a(batch, kinds, generator)
            parts.append(p)
        return batch, ComposeParams(tuple(parts))

    def apply(self, params: ComposeParams, tensor, kind: str):
        if len(params.parts) != len(self.augs):
            raise ValueError(f"Compose of {len(self.augs)} augmentations given {len(params.parts)} parameter sets")
        for a, p in zip(self.augs, params.parts):
            tensor = a.apply(p, tensor, kind)
        return tensor

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.augs))})"


def paper_segmentation_augment(kinds: Kinds | None = None, low: float = 0.5, high: float = 1.75) -> Compose:
    """The paper's segmentation regulariser: random horizontal flip, then random scaling in [0.5, 1.75]
    (``low``, ``high``: another range, e.g. for frames far smaller than NYU's)."""
    return Compose(JointFlip(0.5), JointScale(low, high), kinds=kinds)
