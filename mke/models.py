"""Models. Every model implements :class:`MKEModel`: ``forward(x, T=None)`` applies the
transformation T where the paper says, ``predict_proba`` turns outputs into probabilities for
the task's kind, ``class_dim`` names the class axis and ``modalities`` the inputs it consumes.

:class:`MLP` is the authors' TwoMoon network (``TwoLayerNN``: three linear layers, ReLU, dropout
after each hidden layer, T2 noise after the first). :class:`EnsembleMLP` holds ``E`` such
networks as stacked parameters and trains them at once with batched matmuls: member ``e`` is
initialised exactly as ``MLP`` would be under ``torch.manual_seed(seeds[e])``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from mke.kinds import DENSE, SINGLE_LABEL, TaskKind
from mke.runtime import seed_everything


@runtime_checkable
class MKEModel(Protocol):
    """What the engine needs of a model (teacher or student, any task kind).

    * ``forward(x, T=None)``: outputs with classes on ``class_dim``; with a transformation
      ``T`` (:class:`mke.transforms.Transform`) the model calls T's hooks where the paper puts
      them: ``T.perturb_input`` on each input, ``T.perturb_hidden`` on its first hidden layer,
      ``T.drop`` after hidden layers (T's geometric part is applied by the training loop);
    * ``predict_proba(x)``: class probabilities (softmax, or sigmoids for multi-label);
    * ``class_dim``: -1 for ``[N, K]`` outputs, 1 for dense ``[N, K, H, W]``;
    * ``modalities``: the names of the inputs it consumes (a dict's keys, or the modalities
      concatenated into one vector).
    """

    modalities: tuple[str, ...]

    @property
    def class_dim(self) -> int: ...

    def forward(self, x, T=None) -> torch.Tensor: ...

    def predict_proba(self, x) -> torch.Tensor: ...


class _KindMixin:
    """``class_dim`` and ``predict_proba`` from the model's task kind (one rule for all models)."""

    kind: TaskKind = SINGLE_LABEL
    softmax_head: bool = False

    @property
    def class_dim(self) -> int:
        return self.kind.class_dim

    def predict_proba(self, x) -> torch.Tensor:
        return self.kind.proba(self(x), already_proba=self.softmax_head)


class MLP(_KindMixin, nn.Module):
    """f(x) = fc3(T3(relu(fc2(T2(T3(relu(fc1(T1(x)))))))))

    ``softmax_head=True`` ends the network in a softmax, as the early version of the authors'
    code that produced the paper's Table 1 did; that output then goes into a cross entropy
    which applies a second softmax (see the TwoMoon chapter).
    """

    def __init__(self, in_dim: int, hidden: int, n_classes: int = 2, softmax_head: bool = False,
                 modalities: tuple[str, ...] = ("x",), kind: TaskKind = SINGLE_LABEL):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, n_classes)
        self.softmax_head = softmax_head
        self.modalities = tuple(modalities)
        self.kind = kind

    def forward(self, x: torch.Tensor, T=None) -> torch.Tensor:
        if T is not None:
            x = T.perturb_input(x)
        return self.layers(x, T)

    def layers(self, x: torch.Tensor, T=None) -> torch.Tensor:
        """The three layers, with T2 and T3 where the paper puts them (T1 is the caller's)."""
        h = torch.relu(self.fc1(x))
        if T is not None:
            h = T.perturb_hidden(T.drop(h), nonnegative=True)
        h = torch.relu(self.fc2(h))
        if T is not None:
            h = T.drop(h)
        out = self.fc3(h)
        return out.softmax(-1) if self.softmax_head else out


def seeded_mlp(seed: int, in_dim: int, hidden: int, n_classes: int = 2, softmax_head: bool = False,
               modalities: tuple[str, ...] = ("x",)) -> MLP:
    """Seed everything with ``seed`` (as the authors' ``torch.manual_seed(seed)``), then build the
    MLP: the authors' initialisation for that seed (the TwoMoon protocol; see mke.seeds)."""
    seed_everything(seed)
    return MLP(in_dim, hidden, n_classes, softmax_head, modalities)


def _affine(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x @ W + b per member. The bias goes onto bmm's fresh output in place: ``baddbmm`` would
    first copy the broadcast bias into the output, an extra pass over the largest tensors."""
    return torch.bmm(x, W).add_(b)


class EnsembleMLP(_KindMixin, nn.Module):
    """E independent MLPs with parameters stacked on a leading axis.

    ``forward`` takes ``x`` of shape ``[N, d]`` (shared by all members) or ``[E, N, d]`` and
    returns ``[E, N, K]``. The loss is summed over members, so each member's gradient, and so
    its SGD trajectory, is the one it would have alone.
    """

    def __init__(self, members: list[MLP]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.softmax_head = members[0].softmax_head
        self.modalities = members[0].modalities
        self.kind = members[0].kind
        for i, name in enumerate(("fc1", "fc2", "fc3")):
            W = torch.stack([getattr(m, name).weight.detach().t() for m in members])  # [E, in, out]
            b = torch.stack([getattr(m, name).bias.detach() for m in members]).unsqueeze(1)  # [E, 1, out]
            self.register_parameter(f"W{i + 1}", nn.Parameter(W.clone()))
            self.register_parameter(f"b{i + 1}", nn.Parameter(b.clone()))

    @classmethod
    def from_seeds(cls, seeds, in_dim: int, hidden: int, n_classes: int = 2,
                   softmax_head: bool = False) -> "EnsembleMLP":
        return cls([seeded_mlp(s, in_dim, hidden, n_classes, softmax_head) for s in seeds])

    @property
    def n_members(self) -> int:
        return self.W1.shape[0]

    def forward(self, x: torch.Tensor, T=None) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.n_members, -1, -1)
        if T is not None:
            x = T.perturb_input(x)
        h = torch.relu(_affine(x, self.W1, self.b1))
        if T is not None:
            h = T.perturb_hidden(T.drop(h), nonnegative=True)
        h = torch.relu(_affine(h, self.W2, self.b2))
        if T is not None:
            h = T.drop(h)
        out = _affine(h, self.W3, self.b3)
        return out.softmax(-1) if self.softmax_head else out

    def member(self, e: int) -> MLP:
        """Member ``e`` as a plain :class:`MLP` (for checkpoints and plots)."""
        in_dim, hidden = self.W1.shape[1], self.W1.shape[2]
        m = MLP(in_dim, hidden, self.W3.shape[2], self.softmax_head, self.modalities, self.kind)
        with torch.no_grad():
            for i, name in enumerate(("fc1", "fc2", "fc3")):
                getattr(m, name).weight.copy_(getattr(self, f"W{i + 1}")[e].t())
                getattr(m, name).bias.copy_(getattr(self, f"b{i + 1}")[e, 0])
        return m.to(self.W1.device)


class ConvBranch(nn.Module):
    """A 3-layer CNN feature extractor (conv-BN-ReLU-pool x 3), pooled to a 4 x 4 map and flattened.

    The emotion chapter's image branch (grey frames stacked as channels) and audio branch
    (MFCCs as a one-channel image), Section 4.2 of the paper. The features keep *where* a
    pattern is (mouth or brows; which MFCC band): with global average pooling instead, the
    image branch could not even fit 288 stand-in faces (46 % training accuracy, against 100 %
    with the 4 x 4 map).
    """

    def __init__(self, in_channels: int, width: int = 16):
        super().__init__()
        layers, c = [], in_channels
        for k in range(3):
            layers += [nn.Conv2d(c, width * 2 ** k, 3, padding=1), nn.BatchNorm2d(width * 2 ** k), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c = width * 2 ** k
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.out_dim = c * 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class MultimodalNet(_KindMixin, nn.Module):
    """One 3-layer CNN per modality, features concatenated, then a 3-layer MLP (Section 4.2).

    ``inputs`` maps each modality to its number of input channels, e.g. ``{"image": 6}`` for a
    UM teacher/student or ``{"image": 6, "audio": 1}`` for the MM student. The forward pass takes
    a dict of modality tensors ``[N, C, H, W]`` (a 3-D ``[N, H, W]`` tensor gets one channel) and
    applies T like :class:`MLP`, whose layers it reuses as its head: T1 on every input, T3 on the
    fused features and after each hidden layer of the MLP, T2 on its first hidden layer.
    """

    def __init__(self, inputs: dict[str, int], n_classes: int = 8, width: int = 16, hidden: int = 64,
                 kind: TaskKind = SINGLE_LABEL):
        super().__init__()
        self.modalities = tuple(inputs)
        self.branches = nn.ModuleDict({m: ConvBranch(c, width) for m, c in inputs.items()})
        self.head = MLP(sum(b.out_dim for b in self.branches.values()), hidden, n_classes)
        self.softmax_head = False
        self.kind = kind

    def forward(self, x: dict, T=None) -> torch.Tensor:
        missing = [m for m in self.modalities if m not in x]
        if missing:
            raise KeyError(f"MultimodalNet needs modalities {self.modalities}; missing {missing}")
        feats = []
        for m in self.modalities:
            xm = x[m] if x[m].dim() == 4 else x[m].unsqueeze(1)
            if T is not None:
                xm = T.perturb_input(xm)
            feats.append(self.branches[m](xm))
        z = torch.cat(feats, -1)
        if T is not None:  # T3 also drops fused features, so no modality's branch is relied on alone
            z = T.drop(z)
        return self.head.layers(z, T)


class DenseNet(_KindMixin, nn.Module):
    """A small fully convolutional encoder-decoder per modality, for dense tasks (``[N, K, H, W]``).

    Each modality's encoder (two stride-2 conv-BN-ReLU stages) maps ``[N, C, H, W]`` to a
    quarter-resolution feature map; the maps are summed (late fusion), dropped out by T3, and
    a 1x1 classifier's logits are upsampled bilinearly to the input size. It is the engine's
    reference dense model (tests, memory benchmark); the segmentation chapter's encoder-decoders
    implement the same interface.
    """

    def __init__(self, inputs: dict[str, int], n_classes: int, width: int = 16):
        super().__init__()
        self.modalities = tuple(inputs)
        self.kind = DENSE

        def encoder(c):
            return nn.Sequential(nn.Conv2d(c, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU(),
                                 nn.Conv2d(width, width, 3, 2, 1), nn.BatchNorm2d(width), nn.ReLU())

        self.encoders = nn.ModuleDict({m: encoder(c) for m, c in inputs.items()})
        self.classifier = nn.Conv2d(width, n_classes, 1)

    def forward(self, x: dict, T=None) -> torch.Tensor:
        missing = [m for m in self.modalities if m not in x]
        if missing:
            raise KeyError(f"DenseNet needs modalities {self.modalities}; missing {missing}")
        size = x[self.modalities[0]].shape[-2:]
        z = 0
        for m in self.modalities:
            xm = x[m] if T is None else T.perturb_input(x[m])
            z = z + self.encoders[m](xm)
        if T is not None:
            z = T.drop(z)
        return F.interpolate(self.classifier(z), size=size, mode="bilinear", align_corners=False)


# sizes by profile: `book` trains on 2 CPU cores in minutes, `paper` is meant for a GPU
# (book: width 8 trained a face teacher 2.2x faster than 16 on 2 cores, within 2 points of its accuracy)
MULTIMODAL_SIZES = {"quick": {"width": 4, "hidden": 16}, "book": {"width": 8, "hidden": 64},
                    "paper": {"width": 64, "hidden": 256}}
