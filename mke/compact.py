"""Compact soft pseudo labels for dense tasks: the k most probable classes per pixel.

A dense teacher's soft labels are ``[N, K, H, W]``: for NYU Depth V2 (K = 40) at 480 x 640 that
is 24.6 MB a frame in float16, 36.9 GB for the 1,500 frames of D_u. :class:`TopK` keeps, per
pixel, the ``k`` largest probabilities (float16) and their class ids (uint8): ``3 k`` bytes a
pixel, 5.5 GB for the same split at k = 4, written batch by batch into memory-mapped files so
that pseudo-labelling never holds more than one batch. Reading an item rebuilds a ``[K, H, W]``
distribution over the kept classes, renormalised (the dropped mass is at most ``(K - k) / K``
of a pixel's and, for a trained teacher, typically below a percent; :meth:`TopK.dropped_mass`
measures it).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


class TopK:
    """``values`` ``[N, k, H, W]`` (float16) and ``indices`` (uint8) of the top-k classes per pixel."""

    def __init__(self, values, indices, num_classes: int):
        if values.shape != indices.shape:
            raise ValueError(f"TopK: values {tuple(values.shape)} and indices {tuple(indices.shape)} differ in shape")
        if num_classes > 256:
            raise ValueError(f"TopK stores class ids as uint8: at most 256 classes, got {num_classes}")
        self.values, self.indices, self.num_classes = values, indices, num_classes

    @staticmethod
    def select(proba: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The top-k (values float16, indices uint8) of ``proba`` ``[n, K, H, W]`` on its class axis."""
        values, indices = proba.float().topk(k, dim=1)
        return values.to(torch.float16), indices.to(torch.uint8)

    @classmethod
    def from_proba(cls, proba: torch.Tensor, k: int) -> "TopK":
        values, indices = cls.select(proba, k)
        return cls(values.numpy(), indices.numpy(), proba.shape[1])

    def __len__(self) -> int:
        return len(self.values)

    @property
    def k(self) -> int:
        return self.values.shape[1]

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.indices.nbytes)

    def dense(self, idx=slice(None)) -> torch.Tensor:
        """Items ``idx`` as ``[n, K, H, W]`` float32 distributions over the kept classes."""
        v = torch.from_numpy(np.asarray(self.values[idx], dtype=np.float32))
        i = torch.from_numpy(np.asarray(self.indices[idx], dtype=np.int64))
        if v.dim() == 3:
            v, i = v.unsqueeze(0), i.unsqueeze(0)
        out = torch.zeros(v.shape[0], self.num_classes, *v.shape[2:])
        out.scatter_(1, i, v)
        return out / out.sum(1, keepdim=True).clamp_min(1e-12)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.dense(slice(i, i + 1))[0]

    def hard(self) -> torch.Tensor:
        """The arg max per pixel (the first of the top-k), ``[N, H, W]``."""
        return torch.from_numpy(np.asarray(self.indices[:, 0], dtype=np.int64))

    def dropped_mass(self) -> float:
        """The mean probability mass per pixel that the top-k leave out (before renormalising)."""
        total, n = 0.0, 0
        for start in range(0, len(self), 64):
            v = np.asarray(self.values[start:start + 64], dtype=np.float32).sum(1)
            total += float((1 - v).sum())
            n += v.size
        return total / max(n, 1)


class TopKWriter:
    """Write a :class:`TopK` batch by batch, into ``.npy`` files under ``folder`` (or into RAM).

    On disk each batch is appended with an ordinary file write (it goes to the page cache, not
    into this process's memory); :meth:`finish` maps the files read-only.
    """

    def __init__(self, n: int, k: int, num_classes: int, size: tuple[int, int], folder: str | Path | None = None):
        shape = (n, k, *size)
        self.k, self.num_classes, self.n, self.pos, self.shape = k, num_classes, n, 0, shape
        self.folder = None if folder is None else Path(folder)
        if self.folder is None:
            self.values, self.indices = np.empty(shape, np.float16), np.empty(shape, np.uint8)
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self.files = {}
        for name, dtype in (("values", np.float16), ("indices", np.uint8)):
            np.lib.format.open_memmap(self.folder / f"{name}.npy", "w+", dtype, shape).flush()  # header + size
            f = open(self.folder / f"{name}.npy", "r+b")
            f.seek(0, 2)
            f.seek(f.tell() - int(np.prod(shape)) * np.dtype(dtype).itemsize)  # the first data byte
            self.files[name] = f

    def add(self, proba: torch.Tensor) -> None:
        values, indices = TopK.select(proba, self.k)
        end = self.pos + len(values)
        if end > self.n:
            raise ValueError(f"TopKWriter: {end} items written into a store of {self.n}")
        if self.folder is None:
            self.values[self.pos:end] = values.numpy()
            self.indices[self.pos:end] = indices.numpy()
        else:
            self.files["values"].write(values.numpy().tobytes())
            self.files["indices"].write(indices.numpy().tobytes())
        self.pos = end

    def finish(self) -> TopK:
        if self.pos != self.n:
            raise ValueError(f"TopKWriter: {self.pos} of {self.n} items written")
        if self.folder is None:
            return TopK(self.values, self.indices, self.num_classes)
        for f in self.files.values():
            f.close()
        return TopK(np.load(self.folder / "values.npy", mmap_mode="r"),
                    np.load(self.folder / "indices.npy", mmap_mode="r"), self.num_classes)
