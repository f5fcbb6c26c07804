"""The event-classification chapter's networks (paper Section 4.4; supplementary Sections 1.3, 2.3).

The paper: "For the UM teacher, we take ResNet-18 as the backbone and a linear layer as
classification layer. For the MM student, the audio backbone is identical to that of the UM
teacher, and the video backbone is a ResNet-18 with 3D convolution layers. Features from the
audio and video backbone are concatenated together before feeding into one classification
layer." Audio is a 257 x 500 log spectrogram (5 s clips, as VGGSound's reference model [9]).

* :class:`AudioResNet`: a ResNet on log spectrograms ``[N, 1, F, T]`` (torchvision's
  ``resnet18`` with a one-channel stem, as VGGSound's reference model): 7x7 stride-2 conv,
  3x3 stride-2 max pool, four stages of basic blocks, global average pool.
* :class:`VideoResNet3D`: the r3d-18 layout (Tran et al. 2018; torchvision's ``r3d_18``) on
  frames ``[N, T, 3, H, W]``: a (3, 7, 7) stem with temporal stride 1, 3x3x3 basic blocks whose
  stages 2-4 halve time and space, global average pool.
* :class:`EventNet`: the :class:`mke.models.MKEModel` of every method of Table 4: audio only
  (UM teacher, UM student, NOISY student) or audio + video (MM students), features
  concatenated, one linear layer.

No torchvision here (it does not import in this environment): the layouts are written out;
:data:`LAYOUTS` names the blocks per stage. With ``layout="res18"``, ``width=64`` the backbones
have exactly torchvision's parameter counts (a test checks them). Build models inside
:func:`mke.seeds.init_scope`; nothing here seeds.

:data:`EVENT_PROFILES` says what ``quick`` (tests), ``book`` (2 CPU cores) and ``paper`` (a GPU)
shrink; see :class:`EventProfile`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from mke.kinds import MULTI_LABEL, SINGLE_LABEL, TaskKind
from mke.models import _KindMixin

# basic blocks per stage; stage i has width * 2**i channels, stages 2-4 start with stride 2
LAYOUTS = {"res18": (2, 2, 2, 2), "res10": (1, 1, 1, 1)}
MODALITIES = ("audio", "video")

# torchvision's r3d_18 normalisation (Kinetics-400 RGB statistics of frames scaled to [0, 1])
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def _check_layout(layout: str, width: int, in_channels: int, who: str) -> tuple[int, ...]:
    if layout not in LAYOUTS:
        raise ValueError(f"{who}: layout must be one of {tuple(LAYOUTS)}, got {layout!r}")
    for name, value in (("width", width), ("in_channels", in_channels)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{who}: {name} must be a positive int, got {value!r}")
    return LAYOUTS[layout]


class _BasicBlock(nn.Module):
    """relu(x' + bn(conv(relu(bn(conv(x)))))) with 3x3 (or 3x3x3) convs; x' is x, or a strided
    1x1 conv + BN when the block changes width or resolution (torchvision's BasicBlock)."""

    def __init__(self, conv, norm, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = conv(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = norm(c_out)
        self.conv2 = conv(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = norm(c_out)
        self.shortcut = (nn.Sequential(conv(c_in, c_out, 1, stride, bias=False), norm(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


def _stages(conv, norm, blocks: tuple[int, ...], width: int) -> nn.Sequential:
    layers, c = [], width
    for i, n in enumerate(blocks):
        for j in range(n):
            layers.append(_BasicBlock(conv, norm, c, width * 2 ** i, 2 if i > 0 and j == 0 else 1))
            c = width * 2 ** i
    return nn.Sequential(*layers)


def _init_weights(module: nn.Module) -> None:
    """torchvision's ResNet initialisation: He normal (fan out) for convs, BN at (1, 0); the
    linear layer keeps torch's default. Draws from torch's global generator (the caller's
    :func:`mke.seeds.init_scope`)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class AudioResNet(nn.Module):
    """A 2D ResNet on log spectrograms ``[N, C, F, T]`` (or ``[N, F, T]``: one channel added),
    to a feature vector ``[N, out_dim]``, ``out_dim = 8 * width``.

    Stem: 7x7 conv stride 2, BN, ReLU, 3x3 max pool stride 2 (a quarter of the resolution each
    way before the first stage); then :data:`LAYOUTS` ``[layout]`` basic blocks per stage, widths
    ``width * (1, 2, 4, 8)``; global average pool, so any spectrogram size works. No input
    normalisation: VGGSound standardises each log spectrogram in its data pipeline, and so does
    the data layer here.
    """

    def __init__(self, in_channels: int = 1, layout: str = "res18", width: int = 64):
        super().__init__()
        blocks = _check_layout(layout, width, in_channels, "AudioResNet")
        self.in_channels, self.layout, self.width = in_channels, layout, width
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.stages = _stages(nn.Conv2d, nn.BatchNorm2d, blocks, width)
        self.out_dim = 8 * width
        _init_weights(self)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Check a spectrogram batch; ``[N, F, T]`` gets its channel axis."""
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"modality 'audio' must be a float tensor of log spectrograms, got "
                             f"{getattr(x, 'dtype', type(x).__name__)}")
        if x.dim() == 3 and self.in_channels == 1:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"modality 'audio' must be [N, {self.in_channels}, F, T]"
                             f"{' or [N, F, T]' if self.in_channels == 1 else ''}, got shape {tuple(x.shape)}")
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone on a prepared batch ``[N, C, F, T]``: ``[N, out_dim]``."""
        return self.stages(self.stem(x)).mean((-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.prepare(x))


class VideoResNet3D(nn.Module):
    """A 3D ResNet (r3d-18 layout) on frames ``[N, T, C, H, W]``, to ``[N, out_dim]``, ``out_dim = 8 * width``.

    Frames are uint8 (0-255) or float already in [0, 1] (not checked: that would cost a device
    sync a batch). :meth:`prepare` divides uint8 by 255, moves channels first
    (``[N, C, T, H, W]``) and normalises each channel, ``(x - mean_c) / std_c``, with torchvision's
    ``r3d_18`` statistics (:data:`KINETICS_MEAN`, :data:`KINETICS_STD`) for RGB; other channel
    counts need ``mean`` and ``std``. The statistics are non-persistent buffers: they follow
    ``.to(device)`` but are constants, not part of the state dict.

    Stem: (3, 7, 7) conv, stride (1, 2, 2), BN, ReLU (time kept at full rate, as r3d-18);
    ``stem_pool=True`` adds a (1, 3, 3) max pool of stride (1, 2, 2), a cheaper net for small
    CPU profiles (r3d-18 has none). Stages: 3x3x3 basic blocks; stages 2-4 halve T, H and W.
    """

    def __init__(self, in_channels: int = 3, layout: str = "res18", width: int = 64, stem_pool: bool = False,
                 mean: tuple[float, ...] | None = None, std: tuple[float, ...] | None = None):
        super().__init__()
        blocks = _check_layout(layout, width, in_channels, "VideoResNet3D")
        if (mean is None or std is None) and in_channels != 3:
            raise ValueError(f"VideoResNet3D: in_channels={in_channels} needs its own mean and std "
                             f"(the defaults are RGB statistics)")
        mean = KINETICS_MEAN if mean is None else tuple(mean)
        std = KINETICS_STD if std is None else tuple(std)
        if len(mean) != in_channels or len(std) != in_channels or min(std) <= 0:
            raise ValueError(f"VideoResNet3D: mean and std need {in_channels} values (std > 0), got {mean}, {std}")
        self.in_channels, self.layout, self.width, self.stem_pool = in_channels, layout, width, stem_pool
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1, 1), persistent=False)
        stem = [nn.Conv3d(in_channels, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), nn.BatchNorm3d(width),
                nn.ReLU()]
        if stem_pool:
            stem.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
        self.stem = nn.Sequential(*stem)
        self.stages = _stages(nn.Conv3d, nn.BatchNorm3d, blocks, width)
        self.out_dim = 8 * width
        _init_weights(self)

    def prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """``[N, T, C, H, W]`` uint8 or float frames -> normalised float ``[N, C, T, H, W]``."""
        if not isinstance(frames, torch.Tensor):
            raise ValueError(f"modality 'video' must be a tensor [N, T, {self.in_channels}, H, W], "
                             f"got {type(frames).__name__}")
        if frames.dim() != 5 or frames.shape[2] != self.in_channels:
            raise ValueError(f"modality 'video' must be frames [N, T, {self.in_channels}, H, W], "
                             f"got shape {tuple(frames.shape)}")
        if frames.dtype == torch.uint8:
            x = frames.to(self.mean.dtype) / 255
        elif frames.is_floating_point():
            x = frames
        else:
            raise ValueError(f"modality 'video' must be uint8 (0-255) or float in [0, 1], got {frames.dtype}")
        # contiguous: the transposed layout would otherwise follow into the elementwise ops' output
        return ((x.transpose(1, 2) - self.mean) / self.std).contiguous()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone on a prepared batch ``[N, C, T, H, W]``: ``[N, out_dim]``."""
        return self.stages(self.stem(x)).mean((-3, -2, -1))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.features(self.prepare(frames))


@dataclass(frozen=True)
class EventProfile:
    """Backbone sizes of one profile, and the input sizes they are meant for.

    ``audio`` and ``video`` are the keyword arguments of :class:`AudioResNet` and
    :class:`VideoResNet3D`; ``spectrogram`` is ``(F, T)`` bins and ``frames`` is ``(T, H, W)``,
    what the data layer should produce (the networks themselves take any size, by global pooling).
    """

    audio: dict = field(default_factory=dict)
    video: dict = field(default_factory=dict)
    spectrogram: tuple[int, int] = (257, 500)
    frames: tuple[int, int, int] = (8, 112, 112)
    note: str = ""


EVENT_PROFILES = {
    # the paper: ResNet-18 on 257 x 500 spectrograms, r3d-18 on 8 frames of 112 x 112 (a GPU)
    "paper": EventProfile({"layout": "res18", "width": 64}, {"layout": "res18", "width": 64},
                          (257, 500), (8, 112, 112), "the paper's backbones: ResNet-18 and r3d-18, width 64"),
    # 2 CPU cores: a quarter of the width, 64 x 64 spectrograms, 4 frames of 32 x 32; the audio
    # backbone keeps the ResNet-18 layout (the teacher's, shared by every method), the video one
    # has one block a stage and a stem max pool. fp32, batch 32, forward + backward + SGD step
    # (bench numbers in tests/test_event_models.py): audio ~1,300 clips/s on 1 thread, ~1,700 on
    # 2; audio + video ~700 and ~900 (the brief's targets were ~1,360 and ~900). One block a
    # stage for audio too ran 1,950 / 2,550 clips/s; r3d's stem without the pool, 420 / 615.
    "book": EventProfile({"layout": "res18", "width": 16}, {"layout": "res10", "width": 16, "stem_pool": True},
                         (64, 64), (4, 32, 32),
                         "width 16; audio ResNet-18 layout; video one block a stage + stem max pool; small inputs"),
    # tests: one block a stage, width 4, tiny inputs
    "quick": EventProfile({"layout": "res10", "width": 4}, {"layout": "res10", "width": 4, "stem_pool": True},
                          (32, 32), (2, 16, 16), "tests: width 4, one block a stage, tiny inputs"),
}


class EventNet(_KindMixin, nn.Module):
    """Audio (and video) backbones, features concatenated, one linear layer (Section 4.4).

    ``modalities=("audio",)`` is the UM teacher, UM student and NOISY student;
    ``("audio", "video")`` the MM students (features concatenated in that order). ``forward``
    takes a dict ``{"audio": [N, 1, F, T] (or [N, F, T]), "video": [N, T, 3, H, W]}`` (extra keys
    ignored) and returns logits ``[N, n_classes]``. With a transformation T: ``T.perturb_input``
    on each (prepared, i.e. normalised float) input, ``T.drop`` on the concatenated features
    before the linear layer. There is no hidden layer after the backbones, so no
    ``T.perturb_hidden`` (the chapter's T is input noise and dropout).

    ``crop_cols``: audio wider than this is cut to its central ``crop_cols`` columns before the
    backbone (VGGSound's test-time crop); the training-time random crop is the chapter's T.

    ``kind`` is :data:`mke.kinds.SINGLE_LABEL` (the chapter scores per-class AP and mAP from the
    softmax) or :data:`mke.kinds.MULTI_LABEL` (AudioSet is multi-label in general).
    """

    def __init__(self, modalities: tuple[str, ...] = ("audio",), n_classes: int = 46, profile: str = "book",
                 kind: TaskKind = SINGLE_LABEL, crop_cols: int | None = None):
        super().__init__()
        if crop_cols is not None and (isinstance(crop_cols, bool) or not isinstance(crop_cols, int) or crop_cols < 1):
            raise ValueError(f"EventNet: crop_cols must be None or a positive int, got {crop_cols!r}")
        if profile not in EVENT_PROFILES:
            raise ValueError(f"EventNet: profile must be one of {tuple(EVENT_PROFILES)}, got {profile!r}")
        modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        if not modalities or len(set(modalities)) != len(modalities) or not set(modalities) <= set(MODALITIES):
            raise ValueError(f"EventNet: modalities must be distinct names from {MODALITIES}, e.g. ('audio',) "
                             f"or ('audio', 'video'); got {modalities!r}")
        if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
            raise ValueError(f"EventNet: n_classes must be a positive int, got {n_classes!r}")
        if kind not in (SINGLE_LABEL, MULTI_LABEL):
            raise ValueError(f"EventNet: kind must be SINGLE_LABEL or MULTI_LABEL (outputs [N, K]), got {kind!r}")
        spec = EVENT_PROFILES[profile]
        self.profile, self.modalities, self.n_classes, self.kind = profile, modalities, n_classes, kind
        self.crop_cols = crop_cols
        self.softmax_head = False
        make = {"audio": lambda: AudioResNet(**spec.audio), "video": lambda: VideoResNet3D(**spec.video)}
        self.backbones = nn.ModuleDict({m: make[m]() for m in modalities})
        self.out_dim = sum(b.out_dim for b in self.backbones.values())
        self.classifier = nn.Linear(self.out_dim, n_classes)

    def centre_crop(self, spec: torch.Tensor) -> torch.Tensor:
        """The test-time crop: the central ``crop_cols`` columns of a wider spectrogram (VGGSound
        tests on the centre crop; a training crop drawn by T already has this width, and passes)."""
        if self.crop_cols is None or spec.shape[-1] <= self.crop_cols:
            return spec
        start = (spec.shape[-1] - self.crop_cols) // 2
        return spec[..., start:start + self.crop_cols]

    def forward(self, x: Mapping, T=None) -> torch.Tensor:
        if not isinstance(x, Mapping):
            raise TypeError(f"EventNet takes a dict of modalities {self.modalities}, got {type(x).__name__}")
        missing = [m for m in self.modalities if m not in x]
        if missing:
            raise KeyError(f"EventNet needs modalities {self.modalities}; missing {missing}")
        feats = []
        for m in self.modalities:
            backbone = self.backbones[m]
            xm = backbone.prepare(self.centre_crop(x[m]) if m == "audio" else x[m])
            if T is not None:
                xm = T.perturb_input(xm)
            feats.append(backbone.features(xm))
        z = torch.cat(feats, -1) if len(feats) > 1 else feats[0]
        if T is not None:  # T3 on the fused features: the student may not lean on one branch alone
            z = T.drop(z)
        return self.classifier(z)


def build(profile: str, modalities: tuple[str, ...], n_classes: int, kind: TaskKind = SINGLE_LABEL,
          crop_cols: int | None = None) -> EventNet:
    """The chapter's model factory: ``EventNet(modalities, n_classes, profile, kind, crop_cols)``.

    Call it inside ``mke.seeds.init_scope(seed, role)`` so the initialisation is the role's."""
    return EventNet(modalities, n_classes, profile, kind, crop_cols)
