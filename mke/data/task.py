"""A task bundles the data splits and the number of classes (DESIGN.md, 'the one idea')."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

SPLITS = ("D_l", "D_u", "val", "test")


@dataclass
class Task:
    """Splits ``D_l``, ``D_u`` (and ``val``, ``test``) as dicts of modality tensors plus ``"y"``.

    ``modalities`` names (alpha, beta): the teacher sees alpha, the MM student both.
    """

    name: str
    splits: dict[str, dict[str, torch.Tensor]]
    modalities: tuple[str, str] = ("alpha", "beta")
    num_classes: int = 2
    info: dict = field(default_factory=dict)
    concat: bool = True  # vector modalities concatenate; image/audio ones stay a dict

    def __post_init__(self):
        for split, data in self.splits.items():
            if "y" not in data:
                raise ValueError(f"task {self.name!r}: split {split!r} has no labels 'y'")
            missing = [m for m in self.modalities if m not in data]
            if missing:
                raise ValueError(f"task {self.name!r}: split {split!r} lacks modalities {missing}")

    def inputs(self, split: str, modalities):
        """The named modalities of ``split``: concatenated on the feature axis for vector data
        (``concat=True``, TwoMoon), else a dict of tensors (images, spectrograms)."""
        if split not in self.splits:
            raise KeyError(f"task {self.name!r} has no split {split!r}; it has {sorted(self.splits)}")
        if not self.concat:
            return {m: self.splits[split][m] for m in modalities}
        return torch.cat([self.splits[split][m] for m in modalities], dim=-1)

    def labels(self, split: str) -> torch.Tensor:
        return self.splits[split]["y"]

    def size(self, split: str) -> int:
        return len(self.splits[split]["y"])
