"""A task bundles the data splits, the number of classes and the kind of output.

Every method of the paper's tables (:mod:`mke.methods`) is trained and scored on a task through
this interface, whatever the data: small splits held in memory as tensors (TwoMoon, the emotion
stand-in) or large ones streamed from a ``torch.utils.data.Dataset`` (RGB-D frames).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from mke.kinds import SINGLE_LABEL, TaskKind

SPLITS = ("D_l", "D_u", "val", "test")


@dataclass
class Task:
    """Splits ``D_l``, ``D_u`` (and ``val``, ``test``), each either a dict of modality tensors
    plus labels ``"y"`` (in memory) or a ``Dataset`` whose items are such dicts for one sample.

    ``modalities`` names (alpha, beta): the teacher sees alpha, the MM student both. ``kind``
    (:mod:`mke.kinds`) says what the outputs are: single-label, multi-label or dense.
    """

    name: str
    splits: dict[str, dict[str, torch.Tensor] | torch.utils.data.Dataset]
    modalities: tuple[str, str] = ("alpha", "beta")
    num_classes: int = 2
    info: dict = field(default_factory=dict)
    concat: bool = True  # vector modalities concatenate; image/audio ones stay a dict
    kind: TaskKind = SINGLE_LABEL

    def __post_init__(self):
        for split, data in self.splits.items():
            if self.streamed(split):
                continue
            if "y" not in data:
                raise ValueError(f"task {self.name!r}: split {split!r} has no labels 'y'")
            missing = [m for m in self.modalities if m not in data]
            if missing:
                raise ValueError(f"task {self.name!r}: split {split!r} lacks modalities {missing}")
            sizes = {k: len(v) for k, v in data.items()}
            if len(set(sizes.values())) > 1:
                raise ValueError(f"task {self.name!r}: split {split!r} has tensors of different lengths {sizes}")

    def _split(self, split: str):
        if split not in self.splits:
            raise KeyError(f"task {self.name!r} has no split {split!r}; it has {sorted(self.splits)}")
        return self.splits[split]

    def streamed(self, split: str) -> bool:
        """True when ``split`` is a Dataset read item by item, not tensors in memory."""
        return isinstance(self._split(split), torch.utils.data.Dataset)

    def inputs(self, split: str, modalities):
        """The named modalities of an in-memory ``split``: concatenated on the feature axis for
        vector data (``concat=True``, TwoMoon), else a dict of tensors (images, spectrograms)."""
        data = self._split(split)
        if self.streamed(split):
            raise TypeError(f"task {self.name!r}: split {split!r} is streamed from a Dataset; "
                            "use task.batches(...) instead of task.inputs(...)")
        if not self.concat:
            return {m: data[m] for m in modalities}
        return torch.cat([data[m] for m in modalities], dim=-1)

    def labels(self, split: str) -> torch.Tensor:
        data = self._split(split)
        if self.streamed(split):
            return torch.stack([data[i]["y"] for i in range(len(data))])
        return data["y"]

    def size(self, split: str) -> int:
        data = self._split(split)
        return len(data) if self.streamed(split) else len(data["y"])

    def batches(self, split: str, modalities, batch_size: int = 64, workers: int = 0):
        """``(x, y)`` batches of ``split`` in order (for prediction, pseudo labels, evaluation):
        never a whole split through one forward pass."""
        data = self._split(split)
        if not self.streamed(split):
            n = self.size(split)
            x = self.inputs(split, modalities)
            for start in range(0, n, batch_size):
                idx = slice(start, start + batch_size)
                yield ({k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]), data["y"][idx]
            return
        view = _ModalityView(data, tuple(modalities), self.concat)
        dl = torch.utils.data.DataLoader(view, batch_size=batch_size, shuffle=False, num_workers=workers)
        yield from dl


class _ModalityView(torch.utils.data.Dataset):
    """A Dataset split seen through the modalities a method uses: items ``(x, y)``."""

    def __init__(self, data, modalities: tuple[str, ...], concat: bool):
        self.data, self.modalities, self.concat = data, modalities, concat

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        item = self.data[i]
        if self.concat:
            return torch.cat([item[m] for m in self.modalities], dim=-1), item["y"]
        return {m: item[m] for m in self.modalities}, item["y"]


def check_split_sizes(name: str, y, needs: dict[str, float], min_per_class: int = 1, unit: str = "samples") -> None:
    """Stop before any work when a corpus is too small for its stratified split.

    ``y`` holds one class label per sample (one value for all when the split is not stratified);
    ``needs`` maps each split to its share of the corpus (chained shares multiplied out, e.g.
    ``{"D_l": 0.2, "D_u": 0.64, "val": 0.08, "test": 0.08}``). A stratified split needs every
    class in every split at least ``min_per_class`` times, so each class needs
    ``ceil(min_per_class / share)`` samples for the smallest share. The error names the corpus,
    the classes short of samples, how many each has and how many the split needs.
    """
    import math

    import numpy as np

    y = np.asarray(y)
    if y.size == 0:
        raise ValueError(f"{name}: the corpus is empty (no usable {unit} were found)")
    smallest_split, share = min(needs.items(), key=lambda kv: kv[1])
    need = math.ceil(min_per_class / share - 1e-9)
    classes, counts = np.unique(y, return_counts=True)
    short = {int(c): int(n) for c, n in zip(classes, counts) if n < need}
    if not short:
        return
    plan = ", ".join(f"{k} {v:.0%}" for k, v in needs.items())
    if len(classes) == 1:
        found = f"found {len(y)}"
    else:
        found = (f"{len(short)} of {len(classes)} classes have fewer: "
                 + ", ".join(f"class {c}: {n}" for c, n in sorted(short.items()))
                 + f" ({len(y)} {unit} in all)")
    per = " per class" if len(classes) > 1 else ""
    raise ValueError(f"{name}: too little data for the split ({plan}): the smallest split, {smallest_split!r}, "
                     f"needs at least {need} {unit}{per} to hold {min_per_class} of each; {found}.")
