"""Segmentation networks of the RGB-D chapter (paper Section 4.3 and supplementary 3.3).

The paper's UM teacher is DeepLab V3+ [11] on a ResNet-101 backbone [15]; its MM student is
the RGB-HHA fusion network of Chen et al. [12] (SA-Gate, ECCV 2020), and its UM student "the
RGB branch of a MM student network". Here:

* :class:`ResNetEncoder`: a ResNet (stem, four stages of basic or bottleneck residual blocks)
  whose last stage(s) trade stride for dilation, so the high-level map is at 1/8 or 1/16 of the
  input (DeepLab's output stride); it returns the stage-1 map (1/4, the decoder's low-level
  skip) and the last stage's map. Module names follow torchvision's ResNet (``conv1``, ``bn1``,
  ``layer1`` ... ``layer4``), so an ImageNet ``state_dict`` saved from torchvision loads with
  :meth:`ResNetEncoder.load_encoder`. **No pretrained weights ship with this library and none
  can be downloaded**: every encoder starts from a random initialisation unless you pass a file
  you have yourself. DeepLab V3+ and SA-Gate start their encoders from ImageNet weights (the
  paper does not say whether its runs did); a network trained from scratch on 795 frames
  should not be expected to reach the paper's mIoU.
* :class:`ASPP` and :class:`Decoder`: DeepLab V3+'s head (atrous spatial pyramid pooling with
  an image-pooling branch; decoder with a 1x1-reduced low-level skip and two 3x3 convs).
* :class:`DeepLabV3Plus`: the UM teacher and UM student (one modality).
* :class:`SAGateFusion` and :class:`SAGateDeepLab`: the MM student, two encoders fused after
  every stage by a (simplified) Separation-and-Aggregation gate, with the same head.

Both models implement :class:`mke.models.MKEModel` for the ``dense`` kind (logits
``[N, K, H, W]`` at the input size, classes on axis 1). With a transformation ``T`` they call
``T.perturb_input`` on every input, ``T.perturb_hidden`` on every stem's output (the first
hidden layer) and ``T.drop`` on the ASPP output (where DeepLab has its dropout before the
classifier). T's geometric part (flip, scale) is applied by the training loop, not here.

Sizes come in profiles (:data:`SEG_PROFILES`, :func:`build`): ``paper`` is the paper's
networks, ``book`` is small enough to train on 2 CPU cores, ``quick`` is for tests. Models are
built inside :func:`mke.seeds.init_scope` by the caller; nothing here seeds.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from mke.augment import bilinear_matrix
from mke.kinds import DENSE
from mke.models import _KindMixin

# ------------------------------------------------------------------ ResNet layouts
# name -> (block type, blocks per stage); the four standard ResNets and tiny ones for CPUs
LAYOUTS: dict[str, tuple[str, tuple[int, int, int, int]]] = {
    "res101": ("bottleneck", (3, 4, 23, 3)),
    "res50": ("bottleneck", (3, 4, 6, 3)),
    "res34": ("basic", (3, 4, 6, 3)),
    "res18": ("basic", (2, 2, 2, 2)),
    "mini": ("basic", (1, 1, 1, 1)),
}
OUTPUT_STRIDES = (8, 16, 32)


def _conv3x3(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False)


def _downsample(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    """The shortcut's 1x1 projection where a block changes width or resolution (else identity)."""
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


class BasicBlock(nn.Module):
    """Two 3x3 convs and a shortcut (ResNet-18/34). ``dilation`` replaces stride in DeepLab."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, first_dilation: int = 1):
        super().__init__()
        self.conv1 = _conv3x3(cin, planes, stride, first_dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, 1, dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, planes, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (carrying the stride, as torchvision's ResNet v1.5), 1x1 expand x4."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1, dilation: int = 1, first_dilation: int = 1):
        super().__init__()
        cout = planes * self.expansion
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride, first_dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


def _resolve_layout(layout) -> tuple[str, tuple[int, ...]]:
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {sorted(LAYOUTS)} or (block, counts), got {layout!r}")
        return LAYOUTS[layout]
    try:
        block, counts = layout
        counts = tuple(int(c) for c in counts)
    except (TypeError, ValueError):
        raise ValueError(f"layout must be a name in {sorted(LAYOUTS)} or (block, [4 counts]), got {layout!r}") from None
    if block not in BLOCKS or len(counts) != 4 or min(counts) < 1:
        raise ValueError(f"layout (block, counts) needs block in {sorted(BLOCKS)} and 4 counts >= 1, "
                         f"got {layout!r}")
    return block, counts


def _init_weights(module: nn.Module) -> None:
    """torchvision's ResNet initialisation: He normal (fan out) convs, BN at identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _short(items: list[str], n: int = 6) -> str:
    return ", ".join(items[:n]) + (f" (+{len(items) - n} more)" if len(items) > n else "")


class ResNetEncoder(nn.Module):
    """A ResNet encoder for DeepLab V3+: ``forward(x)`` returns ``(low, high)``.

    * stem: a ``stem_kernel`` x ``stem_kernel`` conv of stride 2 (``width`` channels), BN,
      ReLU, then a 3x3 max pool of stride 2 (``stem_pool=False`` drops the pool and gives
      stage 1 a stride of 2 instead: the stage-1 map stays at 1/4 either way);
    * four stages of ``layout``'s residual blocks with ``width * (1, 2, 4, 8)`` planes
      (x4 channels out for bottlenecks: 256, 512, 1024, 2048 at width 64, as ResNet-50/101);
    * ``output_stride`` 16: stage 4 dilates by 2 instead of striding; 8: stage 3 by 2 and
      stage 4 by 4 (DeepLab V3+); 32: a plain ResNet. The first block of a dilated stage keeps
      the previous dilation, as torchvision's ``replace_stride_with_dilation``.

    ``low`` is stage 1's output (``low_channels`` at 1/4 of the input), ``high`` stage 4's
    (``out_channels`` at 1/``output_stride``); odd sizes round up at every stride.
    ``layout`` is a name of :data:`LAYOUTS` or ``(block, counts)``, e.g. ``("basic", (1, 2, 1, 1))``.

    No pretrained weights exist offline; :meth:`load_encoder` loads a ``state_dict`` you have
    (torchvision's ImageNet ResNet-50/101 fit the ``res50``/``res101`` layouts at width 64, with
    ``in_channels=3``, ``stem_kernel=7``, ``stem_pool=True``).
    """

    def __init__(self, in_channels: int = 3, layout="res101", width: int = 64, output_stride: int = 16,
                 stem_kernel: int = 7, stem_pool: bool = True):
        super().__init__()
        if in_channels < 1:
            raise ValueError(f"in_channels must be >= 1, got {in_channels}")
        if width < 1:
            raise ValueError(f"width must be >= 1, got {width}")
        if output_stride not in OUTPUT_STRIDES:
            raise ValueError(f"output_stride must be one of {OUTPUT_STRIDES}, got {output_stride!r}")
        if stem_kernel < 1 or stem_kernel % 2 == 0:
            raise ValueError(f"stem_kernel must be an odd size >= 1, got {stem_kernel}")
        block_name, counts = _resolve_layout(layout)
        block = BLOCKS[block_name]
        self.layout = layout if isinstance(layout, str) else (block_name, counts)
        self.in_channels, self.width, self.output_stride = in_channels, width, output_stride

        self.conv1 = nn.Conv2d(in_channels, width, stem_kernel, 2, stem_kernel // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1) if stem_pool else nn.Identity()

        # stride of stage 1 (2 without the pool), then 2, 2, 2 made dilations past output_stride
        strides = [1 if stem_pool else 2, 2, 2, 2]
        dilate = {8: (False, False, True, True), 16: (False, False, False, True),
                  32: (False, False, False, False)}[output_stride]
        cin, dilation, channels = width, 1, []
        for i, (n, stride, dil) in enumerate(zip(counts, strides, dilate)):
            previous = dilation
            if dil:
                dilation, stride = dilation * stride, 1
            planes = width * 2 ** i
            blocks = [block(cin, planes, stride, dilation, previous)]
            cin = planes * block.expansion
            blocks += [block(cin, planes, 1, dilation, dilation) for _ in range(n - 1)]
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            channels.append(cin)
        self.channels = tuple(channels)  # per stage
        self.low_channels, self.out_channels = channels[0], channels[-1]
        _init_weights(self)

    @property
    def stages(self) -> tuple[nn.Sequential, ...]:
        return (self.layer1, self.layer2, self.layer3, self.layer4)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """conv-BN-ReLU (-max pool): the first hidden layer, at 1/4 (1/2 without the pool)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = self.layer1(self.stem(x))
        return low, self.layer4(self.layer3(self.layer2(low)))

    def load_encoder(self, path) -> None:
        """Load encoder weights from a ``torch.save``-d ``state_dict`` at ``path``.

        Accepts a plain ``state_dict`` or a dict holding one under ``"state_dict"``; an ImageNet
        classifier's ``fc.*`` keys are dropped. Everything is checked before anything is loaded:
        a missing file, a file that is not a dict of tensors, missing or unexpected keys and
        shape mismatches raise an error naming the path and the offending keys.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"encoder weights {path}: no such file")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # pickle errors, zip errors, unsafe objects refused by weights_only
            raise ValueError(f"encoder weights {path}: not a torch state_dict file ({e})") from e
        if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
            state = state["state_dict"]
        if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"encoder weights {path}: expected a dict of tensors (a state_dict), "
                             f"got {type(state).__name__}")
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        own = self.state_dict()
        # checkpoints saved before torch 0.4.1 (torchvision's ImageNet ResNets) have no BN counters
        missing = sorted(k for k in own.keys() - state.keys() if not k.endswith("num_batches_tracked"))
        unexpected = sorted(state.keys() - own.keys())
        mismatched = sorted(f"{k} (file {tuple(state[k].shape)}, encoder {tuple(own[k].shape)})"
                            for k in own.keys() & state.keys() if state[k].shape != own[k].shape)
        if missing or unexpected or mismatched:
            problems = [f"{name}: {_short(keys)}" for name, keys in
                        (("missing keys", missing), ("unexpected keys", unexpected),
                         ("shape mismatches", mismatched)) if keys]
            raise ValueError(f"encoder weights {path} do not fit this encoder (layout {self.layout!r}, "
                             f"width {self.width}, in_channels {self.in_channels}): " + "; ".join(problems))
        for k in own.keys() - state.keys():
            state[k] = own[k]  # the BN counters left out above
        self.load_state_dict(state)


# ------------------------------------------------------------------ DeepLab V3+ head
def _conv_bn_relu(cin: int, cout: int, k: int = 1, dilation: int = 1) -> nn.Sequential:
    pad = dilation * (k // 2)
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling (DeepLab V3): a 1x1 branch, one 3x3 branch per dilation
    ``rate``, and an image-pooling branch (global average, 1x1 conv, broadcast back), all
    concatenated and projected to ``out_ch`` by a 1x1 conv-BN-ReLU.

    The image-pooling branch has a bias and no BatchNorm: its map is 1x1, so in training its
    BN would normalise over the batch alone and fail outright at batch size 1.
    """

    def __init__(self, in_ch: int, out_ch: int, rates=(6, 12, 18)):
        super().__init__()
        rates = tuple(int(r) for r in rates)
        if any(r < 1 for r in rates):
            raise ValueError(f"ASPP rates must be dilations >= 1, got {rates}")
        self.rates = rates
        self.branches = nn.ModuleList([_conv_bn_relu(in_ch, out_ch, 1)] +
                                      [_conv_bn_relu(in_ch, out_ch, 3, r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(in_ch, out_ch, 1), nn.ReLU(inplace=True))
        self.project = _conv_bn_relu(out_ch * (len(rates) + 2), out_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [b(x) for b in self.branches]
        outs.append(self.pool(x).expand(-1, -1, *x.shape[-2:]))
        return self.project(torch.cat(outs, 1))


GEMM_UPSAMPLE_MAX = 32  # maps up to this many rows and columns are upsampled by GEMM (upsample)


@lru_cache(maxsize=64)
def _upsample_matrices(h: int, w: int, size: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """(A_h, A_w^T) in float32, built in float64 (exact weights, rows summing to 1)."""
    a_h = bilinear_matrix(h, size[0], torch.float64).float()
    return a_h, bilinear_matrix(w, size[1], torch.float64).float().T.contiguous()


def upsample(x: torch.Tensor, size) -> torch.Tensor:
    """``F.interpolate(x, size, mode="bilinear", align_corners=False)``, for ``[N, C, h, w]``.

    A small float32 map on a CPU (the book profile's logits: 6 x 8 to 24 x 32, 40 channels) is
    upsampled as ``A_h @ x @ A_w^T`` with the interpolation matrices (cached per size): the same
    weights, and its backward is two GEMMs instead of ``upsample_bilinear2d_backward``'s scatter
    (forward + backward in about a third of the time, ``bench/bench_seg_step.py``). Anything
    else goes to ``F.interpolate``: a large map (the paper profile's), whose work there does
    not grow with the input, a GPU's tensors and low-precision ones (autocast), where the
    GEMMs were not measured and would round the weights.
    """
    h, w = x.shape[-2:]
    size = (int(size[0]), int(size[1]))
    if (max(h, w) > GEMM_UPSAMPLE_MAX or (h, w) == size or x.device.type != "cpu"
            or x.dtype != torch.float32):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    a_h, a_wt = _upsample_matrices(h, w, size)
    return torch.matmul(torch.matmul(a_h, x), a_wt)


class Decoder(nn.Module):
    """DeepLab V3+'s decoder: the ASPP output upsampled (bilinear) to the low-level map's size
    (x4 from output stride 16), concatenated with the low-level map reduced by a 1x1 conv to
    ``low_ch`` channels, two 3x3 conv-BN-ReLU of ``ch`` channels, a 1x1 classifier, and the
    logits upsampled to ``size`` (the input's)."""

    def __init__(self, low_in: int, aspp_ch: int, n_classes: int, low_ch: int = 48, ch: int = 256):
        super().__init__()
        self.reduce = _conv_bn_relu(low_in, low_ch, 1)
        self.fuse = nn.Sequential(_conv_bn_relu(aspp_ch + low_ch, ch, 3), _conv_bn_relu(ch, ch, 3))
        self.classifier = nn.Conv2d(ch, n_classes, 1)

    def forward(self, z: torch.Tensor, low: torch.Tensor, size) -> torch.Tensor:
        z = F.interpolate(z, size=low.shape[-2:], mode="bilinear", align_corners=False)
        out = self.classifier(self.fuse(torch.cat([z, self.reduce(low)], 1)))
        return upsample(out, size)


def _check_input(model: str, modalities: tuple[str, ...], channels: tuple[int, ...], x) -> None:
    if not isinstance(x, Mapping):
        raise TypeError(f"{model} takes a dict of modalities {modalities}, got {type(x).__name__}")
    missing = [m for m in modalities if m not in x]
    if missing:
        raise KeyError(f"{model} needs modalities {modalities}; missing {missing}")
    for m, c in zip(modalities, channels):
        if x[m].dim() != 4 or x[m].shape[1] != c:
            raise ValueError(f"{model}: input {m!r} must be [N, {c}, H, W], got {tuple(x[m].shape)}")


class _SegModel(_KindMixin, nn.Module):
    """What both segmentation models share: the dense kind, the head, the T hooks."""

    kind = DENSE
    softmax_head = False

    def _head(self, high_channels: int, low_channels: int, n_classes: int, aspp_rates, aspp_channels: int,
              low_ch: int, decoder_channels: int) -> None:
        if n_classes < 2:
            raise ValueError(f"n_classes must be >= 2, got {n_classes}")
        self.n_classes = n_classes
        self.aspp = ASPP(high_channels, aspp_channels, aspp_rates)
        self.decoder = Decoder(low_channels, aspp_channels, n_classes, low_ch, decoder_channels)
        _init_weights(self.aspp)
        _init_weights(self.decoder)

    def _decode(self, high: torch.Tensor, low: torch.Tensor, size, T) -> torch.Tensor:
        z = self.aspp(high)
        if T is not None:
            z = T.drop(z)  # where DeepLab V3+ has its dropout (T3)
        return self.decoder(z, low, size)


class DeepLabV3Plus(_SegModel):
    """DeepLab V3+ on a ResNet encoder, one modality: the UM teacher and the UM student.

    ``forward(x, T=None)`` takes ``x[modality]`` ``[N, in_channels, H, W]`` (float) and returns
    logits ``[N, n_classes, H, W]`` at the input size. The UM student is this network with the
    MM student's layout and width: "the RGB branch of a MM student network" (Section 4.3).
    """

    def __init__(self, modality: str = "rgb", in_channels: int = 3, n_classes: int = 40, layout="res101",
                 width: int = 64, output_stride: int = 16, aspp_rates=(6, 12, 18), aspp_channels: int = 256,
                 low_channels: int = 48, decoder_channels: int = 256, stem_kernel: int = 7,
                 stem_pool: bool = True):
        super().__init__()
        if not isinstance(modality, str):
            raise ValueError(f"DeepLabV3Plus takes one modality name, got {modality!r}")
        self.modalities = (modality,)
        self.in_channels = (in_channels,)
        self.encoder = ResNetEncoder(in_channels, layout, width, output_stride, stem_kernel, stem_pool)
        self._head(self.encoder.out_channels, self.encoder.low_channels, n_classes, aspp_rates,
                   aspp_channels, low_channels, decoder_channels)

    def forward(self, x: dict, T=None) -> torch.Tensor:
        _check_input("DeepLabV3Plus", self.modalities, self.in_channels, x)
        xm = x[self.modalities[0]]
        size = xm.shape[-2:]
        if T is not None:
            xm = T.perturb_input(xm)
        h = self.encoder.stem(xm)
        if T is not None:
            h = T.perturb_hidden(h, nonnegative=True)
        low = self.encoder.layer1(h)
        high = self.encoder.layer4(self.encoder.layer3(self.encoder.layer2(low)))
        return self._decode(high, low, size, T)

    def load_encoder(self, path) -> None:
        """Load the encoder's weights from a ``state_dict`` file (:meth:`ResNetEncoder.load_encoder`)."""
        self.encoder.load_encoder(path)


# ------------------------------------------------------------------ SA-Gate fusion (MM student)
class SAGateFusion(nn.Module):
    """Separation-and-Aggregation gate (Chen et al., ECCV 2020), simplified.

    For stage maps ``a`` and ``b`` ``[N, C, H, W]`` of the two modalities:

    1. *separation* (feature recalibration): ``s = GAP([a, b])`` (``2C``); per stream an MLP
       ``2C -> C // reduction -> C`` and a sigmoid give channel weights, and each stream takes
       the other's recalibrated features as a cross-modal residual:
       ``a' = a + sigmoid(mlp_a(s)) * b``, ``b' = b + sigmoid(mlp_b(s)) * a``;
    2. *aggregation*: a 1x1 conv on ``[a', b']`` gives two maps, softmax across the two gives
       per-pixel weights ``g_a + g_b = 1``, and ``fused = g_a * a' + g_b * b'``.

    ``forward`` returns ``(a', b', fused)``: ``a'`` and ``b'`` continue down their own
    encoders, ``fused`` feeds the decoder. Simplified against the original, which merges the
    un-recalibrated maps and sends ``relu((x + fused) / 2)`` down each stream.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"SAGateFusion needs channels >= 1 and reduction >= 1, got {channels}, {reduction}")
        hidden = max(channels // reduction, 4)

        def mlp():
            return nn.Sequential(nn.Linear(2 * channels, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, channels), nn.Sigmoid())

        self.channel_a, self.channel_b = mlp(), mlp()
        self.gate = nn.Conv2d(2 * channels, 2, 1)

    def recalibrate(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each stream plus the other one weighted per channel from both (the separation part)."""
        s = torch.cat([a, b], 1).mean((2, 3))
        wa = self.channel_a(s)[:, :, None, None]
        wb = self.channel_b(s)[:, :, None, None]
        return a + wa * b, b + wb * a

    def weights(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """The per-pixel gates ``[N, 2, H, W]`` of recalibrated maps; they sum to 1 over axis 1."""
        return self.gate(torch.cat([a, b], 1)).softmax(1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        a, b = self.recalibrate(a, b)
        g = self.weights(a, b)
        return a, b, g[:, :1] * a + g[:, 1:] * b


class SAGateDeepLab(_SegModel):
    """The MM student: one :class:`ResNetEncoder` per modality, an :class:`SAGateFusion` after
    every stage, DeepLab V3+'s ASPP and decoder on the fused maps (stage 1's as the low-level
    skip, stage 4's into ASPP): the fusion network of [12] that Section 4.3 uses with RGB and
    HHA. ``forward(x, T=None)`` takes ``x[m]`` ``[N, C_m, H, W]`` for both modalities.

    It fuses exactly two modalities; the UM student is :class:`DeepLabV3Plus` (its RGB branch).
    """

    def __init__(self, modalities=("rgb", "hha"), in_channels=(3, 3), n_classes: int = 40, layout="res101",
                 width: int = 64, output_stride: int = 16, aspp_rates=(6, 12, 18), aspp_channels: int = 256,
                 low_channels: int = 48, decoder_channels: int = 256, stem_kernel: int = 7,
                 stem_pool: bool = True, reduction: int = 16):
        super().__init__()
        modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
        if len(modalities) != 2 or len(set(modalities)) != 2:
            raise ValueError(f"SAGateDeepLab fuses two distinct modalities, got {modalities}; "
                             "for one modality (the UM student) use DeepLabV3Plus")
        if isinstance(in_channels, Mapping):
            in_channels = tuple(in_channels[m] for m in modalities)
        in_channels = (in_channels,) * 2 if isinstance(in_channels, int) else tuple(in_channels)
        if len(in_channels) != 2:
            raise ValueError(f"in_channels needs one count per modality {modalities}, got {in_channels}")
        self.modalities, self.in_channels = modalities, in_channels
        self.encoders = nn.ModuleDict({m: ResNetEncoder(c, layout, width, output_stride, stem_kernel, stem_pool)
                                       for m, c in zip(modalities, in_channels)})
        channels = self.encoders[modalities[0]].channels
        self.gates = nn.ModuleList([SAGateFusion(c, reduction) for c in channels])
        self._head(channels[-1], channels[0], n_classes, aspp_rates, aspp_channels, low_channels,
                   decoder_channels)

    def forward(self, x: dict, T=None) -> torch.Tensor:
        _check_input("SAGateDeepLab", self.modalities, self.in_channels, x)
        ma, mb = self.modalities
        a, b = x[ma], x[mb]
        if a.shape[-2:] != b.shape[-2:] or a.shape[0] != b.shape[0]:
            raise ValueError(f"SAGateDeepLab: {ma!r} {tuple(a.shape)} and {mb!r} {tuple(b.shape)} "
                             "must share batch size and H x W")
        size = a.shape[-2:]
        ea, eb = self.encoders[ma], self.encoders[mb]
        if T is not None:
            a, b = T.perturb_input(a), T.perturb_input(b)
        a, b = ea.stem(a), eb.stem(b)
        if T is not None:
            a, b = T.perturb_hidden(a, nonnegative=True), T.perturb_hidden(b, nonnegative=True)
        low = None
        for stage_a, stage_b, gate in zip(ea.stages, eb.stages, self.gates):
            a, b, fused = gate(stage_a(a), stage_b(b))
            low = fused if low is None else low
        return self._decode(fused, low, size, T)

    def load_encoder(self, path, modality: str | None = None) -> None:
        """Load encoder weights from a ``state_dict`` file into ``modality``'s encoder, or into
        both (``None``: SA-Gate starts both streams from the same ImageNet weights)."""
        if modality is not None and modality not in self.encoders:
            raise ValueError(f"modality must be one of {self.modalities} or None, got {modality!r}")
        for m in (self.modalities if modality is None else (modality,)):
            self.encoders[m].load_encoder(path)


# ------------------------------------------------------------------ profiles
SEG_PROFILES: dict[str, dict] = {
    # The paper's networks (Section 4.3): ResNet-101 (the DeepLab V3+ teacher, SA-Gate student)
    # or ResNet-50 (Table 7's second depth) at standard widths, output stride 16 with ASPP
    # rates 6/12/18 (DeepLab V3+'s training setting; stride 8 with rates 12/24/36 is finer and
    # about 3-4x the encoder cost). Meant for a GPU at 480 x 640.
    "paper": {"archs": {"res50": "res50", "res101": "res101"}, "width": 64, "output_stride": 16,
              "aspp_rates": (6, 12, 18), "aspp_channels": 256, "low_channels": 48,
              "decoder_channels": 256, "stem_kernel": 7, "stem_pool": True},
    # 2 CPU cores at 48 x 64: basic blocks at width 16 (16-128 channels instead of 256-2048),
    # one block per stage ("res50") or two ("res101": the ResNet-18 layout) standing in for the
    # two depths of Table 7; a 3x3 stem; output stride 8 (a 6 x 8 map at 48 x 64) with ASPP
    # rates scaled to that map (1/2/3 instead of 6/12/18 on a 30 x 40 map); a 64-channel head
    # (256 in the paper; still above the 40 classes) with a 16-channel low-level skip (48).
    # Measured (fp32, batch 16, SGD step, 2 threads on a shared 2-core machine, "res101"):
    # about 370-470 frames/s for one branch and 250-300 for two; "res50" about 10 % faster.
    "book": {"archs": {"res50": "mini", "res101": "res18"}, "width": 16, "output_stride": 8,
             "aspp_rates": (1, 2, 3), "aspp_channels": 64, "low_channels": 16,
             "decoder_channels": 64, "stem_kernel": 3, "stem_pool": True},
    # tests: the book's layouts and strides at width 4 (4-32 channels), an 8-channel head
    "quick": {"archs": {"res50": "mini", "res101": "res18"}, "width": 4, "output_stride": 8,
              "aspp_rates": (1, 2), "aspp_channels": 8, "low_channels": 4,
              "decoder_channels": 8, "stem_kernel": 3, "stem_pool": True},
}
ARCHS = ("res50", "res101")
# the chapter's names for Table 7's two depths: the deeper (ResNet-101) and the shallower (-50)
ARCH_ALIASES = {"deep": "res101", "shallow": "res50"}
# input channels of the chapter's modalities: RGB, HHA (depth as horizontal disparity, height,
# angle), raw depth
MODALITY_CHANNELS = {"rgb": 3, "hha": 3, "depth": 1}


def build(profile: str, arch: str, modalities, n_classes: int = 40,
          in_channels: Mapping[str, int] | None = None) -> DeepLabV3Plus | SAGateDeepLab:
    """The chapter's network for ``modalities``: one modality gives :class:`DeepLabV3Plus`
    (UM teacher, UM student), two give :class:`SAGateDeepLab` (MM student), sized by
    ``SEG_PROFILES[profile]`` with ``arch`` ``"res101"`` or ``"res50"`` (each profile maps them
    to its own layouts; ``"deep"`` and ``"shallow"`` name them too). ``in_channels`` maps
    modality to channels, defaulting to :data:`MODALITY_CHANNELS`. Build it inside
    :func:`mke.seeds.init_scope`."""
    if profile not in SEG_PROFILES:
        raise ValueError(f"profile must be one of {tuple(SEG_PROFILES)}, got {profile!r}")
    spec = dict(SEG_PROFILES[profile])
    archs = spec.pop("archs")
    arch = ARCH_ALIASES.get(arch, arch)
    if arch not in archs:
        raise ValueError(f"arch must be one of {tuple(archs) + tuple(ARCH_ALIASES)}, got {arch!r}")
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    channels = {**MODALITY_CHANNELS, **(in_channels or {})}
    unknown = [m for m in modalities if m not in channels]
    if unknown:
        raise ValueError(f"in_channels must give the channels of modalities {unknown} "
                         f"(known by default: {sorted(MODALITY_CHANNELS)})")
    if len(modalities) == 1:
        return DeepLabV3Plus(modalities[0], channels[modalities[0]], n_classes, archs[arch], **spec)
    if len(modalities) == 2:
        return SAGateDeepLab(modalities, tuple(channels[m] for m in modalities), n_classes, archs[arch], **spec)
    raise ValueError(f"modalities must be one or two names, got {modalities}")
