"""NYU Depth V2 (Silberman, Hoiem, Kohli & Fergus, ECCV 2012): the RGB-D segmentation chapter's real data.

Two parts of the data set are read, in the formats in which they are distributed:

* **Labeled frames** (``D_l``, ``val``, ``test``): ``nyu_depth_v2_labeled.mat``, 1,449 frames
  of 480 x 640 with dense labels. It is a MATLAB v7.3 file, i.e. HDF5 (with a 512-byte header),
  read with h5py *lazily*, one frame per item (the file is 2.8 GB). MATLAB stores arrays
  column-major, so h5py sees every axis reversed: MATLAB's ``images(y+1, x+1, c+1, i+1)`` is
  h5py's ``images[i, c, x, y]``. :class:`LabeledNYU` transposes back to row-major ``[C, H, W]``.
* **Unlabeled frames** (``D_u``): the raw Kinect video sequences, as most tools preprocess them
  (one folder per scene holding ``rgb_00000.jpg`` and ``sync_depth_00000.png``, a 16-bit PNG in
  millimetres with 0 where the Kinect had no reading). :func:`scan_scenes` pairs them and
  :func:`load_unlabeled` decodes a seeded random subset; anything unusable is skipped and
  counted in a :class:`SkipReport`, never silently.

Labels: raw label ``r`` (1..894, 0 = unlabeled) becomes a class of the 40-class set of Gupta,
Arbelaez & Malik (CVPR 2013) or of the 13-class set, as a 0-based index; unlabeled pixels become
:data:`IGNORE` (255), which loss and metric skip. The facts (class names, the raw -> 40 and
40 -> 13 maps, the official 795 / 654 split) ship as ``mke/data/nyuv2_meta.json``; in that file
the maps are 1-based as in the original ``.mat`` files and :func:`label_lut` shifts them.
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from mke.kinds import IGNORE_INDEX

IGNORE = IGNORE_INDEX  # void / unlabeled pixels
N_RAW = 894            # raw classes of the labeled set; raw label 0 = unlabeled
N_LABELED = 1449       # frames of nyu_depth_v2_labeled.mat
N_CLASSES = (40, 13)
DATASETS = ("images", "depths", "labels", "rawDepths")  # what LabeledNYU reads from the .mat
LAYOUT = ("as h5py sees nyu_depth_v2_labeled.mat (MATLAB v7.3, column-major): images (N, 3, W, H) uint8, "
          "depths (N, W, H) float metres, labels (N, W, H) integer raw classes, rawDepths (N, W, H) float; "
          "N = 1449, W = 640, H = 480 for the real file")


# Metadata --------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def metadata() -> dict:
    """The shipped facts (``nyuv2_meta.json``): raw names, the 40- and 13-class maps, the split."""
    return json.loads(resources.files("mke.data").joinpath("nyuv2_meta.json").read_text())


CLASSES_40: tuple[str, ...] = tuple(metadata()["names_40"])
CLASSES_13: tuple[str, ...] = tuple(metadata()["names_13"])
RAW_NAMES: tuple[str, ...] = tuple(metadata()["raw_names"])


def _check_n_classes(n_classes: int) -> None:
    if n_classes not in N_CLASSES:
        raise ValueError(f"n_classes must be 40 (Gupta et al. 2013) or 13, got {n_classes!r}")


@lru_cache(maxsize=2)
def _lut(n_classes: int) -> np.ndarray:
    meta = metadata()
    to40 = np.asarray(meta["raw_to_40"], dtype=np.int64)  # 1..40 for raw 1..894
    if n_classes == 13:
        to13 = np.asarray(meta["map_40_to_13"], dtype=np.int64)  # 1..13 for class 1..40
        classes = to13[to40 - 1]
    else:
        classes = to40
    lut = np.full(N_RAW + 1, IGNORE, dtype=np.uint8)  # raw 0 (unlabeled) stays void
    lut[1:] = classes - 1  # 1-based in the .mat files, 0-based here
    return lut


def label_lut(n_classes: int = 40) -> np.ndarray:
    """Look-up table ``uint8 [895]``: raw label (0 = unlabeled, 1..894) -> class ``0..K-1``, 255 = void.

    Every named raw class has a class in both sets (the raw class "unknown" is 40-class
    "otherprop"); only raw 0 is void.
    """
    _check_n_classes(n_classes)
    return _lut(n_classes).copy()


def map_labels(raw, n_classes: int = 40) -> np.ndarray:
    """Map an integer array of raw labels to class indices (``uint8``, void 255) of the same shape."""
    _check_n_classes(n_classes)
    raw = np.asarray(raw)
    if raw.dtype.kind not in "iu":
        raise ValueError(f"raw labels must be integers, got dtype {raw.dtype}")
    if raw.size:
        lo, hi = int(raw.min()), int(raw.max())
        if lo < 0 or hi > N_RAW:
            raise ValueError(f"raw labels must lie in 0..{N_RAW} (0 = unlabeled); found values from {lo} to {hi}")
    return _lut(n_classes)[raw]


def official_split() -> dict[str, np.ndarray]:
    """The official split of Silberman et al. 2012: ``{"train": [795], "test": [654]}``, 0-based frame indices."""
    meta = metadata()
    return {"train": np.asarray(meta["train_indices_1based"], dtype=np.int64) - 1,
            "test": np.asarray(meta["test_indices_1based"], dtype=np.int64) - 1}


# Resizing ----------------------------------------------------------------------------------------

def _check_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        h, w = (int(s) for s in size)
        ok = (h, w) == tuple(size) and h > 0 and w > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"size must be None or (height, width) of positive integers, got {size!r}")
    return h, w


def _nearest_index(in_len: int, out_len: int) -> np.ndarray:
    # Output pixel i reads the source pixel under its centre, floor((i + 1/2) in / out), in
    # integers: F.interpolate's 'nearest-exact' and mke.augment's convention.
    return np.minimum((2 * np.arange(out_len) + 1) * in_len // (2 * out_len), in_len - 1)


def resize_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize the last two axes by nearest neighbour: every output pixel copies one source pixel,
    so a depth map never mixes valid and missing (0) readings and a label map invents no class."""
    rows = _nearest_index(x.shape[-2], size[0])
    cols = _nearest_index(x.shape[-1], size[1])
    return x[..., rows[:, None], cols[None, :]]


def resize_rgb(rgb: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a ``uint8 [3, H, W]`` image bilinearly with antialiasing (an area-like filter when
    shrinking, so 480 x 640 -> 240 x 320 does not alias), rounded back to ``uint8``."""
    if tuple(rgb.shape[-2:]) == tuple(size):
        return rgb
    out = F.interpolate(rgb[None].float(), size=size, mode="bilinear", align_corners=False, antialias=True)[0]
    return out.round_().clamp_(0, 255).to(torch.uint8)


# Labeled frames ----------------------------------------------------------------------------------

def _h5py():
    try:
        import h5py
    except ImportError as e:  # pragma: no cover - h5py is in the [media] extra
        raise ImportError("reading nyu_depth_v2_labeled.mat (MATLAB v7.3 = HDF5) needs h5py: "
                          "pip install -e .[media]") from e
    return h5py


def check_labeled_file(path: str | Path) -> int:
    """Check ``nyu_depth_v2_labeled.mat`` without reading any frame; return its number of frames.

    Raises FileNotFoundError (no file), ValueError (not HDF5, a dataset missing, or shapes or
    dtypes that do not fit :data:`LAYOUT`), each naming the file and the offending dataset.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"NYU Depth V2 labeled file {str(path)!r} not found "
                                f"(expected nyu_depth_v2_labeled.mat, 2.8 GB)")
    h5py = _h5py()
    if not h5py.is_hdf5(path):
        raise ValueError(f"{str(path)!r} is not an HDF5 file: nyu_depth_v2_labeled.mat is a MATLAB v7.3 file, "
                         f"which is HDF5; an older .mat version cannot be read lazily")
    with h5py.File(path, "r") as f:
        missing = [d for d in DATASETS if not isinstance(f.get(d), h5py.Dataset)]
        if missing:
            raise ValueError(f"{str(path)!r} lacks dataset(s) {missing} (has {sorted(f.keys())}); expected {LAYOUT}")
        images = f["images"]
        if images.ndim != 4 or images.shape[1] != 3 or 0 in images.shape:
            raise ValueError(f"{str(path)!r}: dataset 'images' has shape {images.shape}; expected {LAYOUT}")
        if images.dtype != np.uint8:
            raise ValueError(f"{str(path)!r}: dataset 'images' has dtype {images.dtype}; expected uint8 ({LAYOUT})")
        n, _, w, h = images.shape
        for name in DATASETS[1:]:
            d = f[name]
            if d.shape != (n, w, h):
                raise ValueError(f"{str(path)!r}: dataset {name!r} has shape {d.shape}, but 'images' is "
                                 f"{images.shape}, so {(n, w, h)} was expected; expected {LAYOUT}")
            kinds = "iu" if name == "labels" else "fiu"
            if d.dtype.kind not in kinds:
                raise ValueError(f"{str(path)!r}: dataset {name!r} has dtype {d.dtype}; expected {LAYOUT}")
    return n


class LabeledNYU(torch.utils.data.Dataset):
    """The labeled frames of ``nyu_depth_v2_labeled.mat``, read one at a time.

    Item ``k`` is frame ``indices[k]`` (0-based into the file; default: all frames; or ``"train"``
    / ``"test"`` for :func:`official_split`), a dict of

    * ``rgb``: ``uint8 [3, H, W]``;
    * ``depth``: ``float32 [H, W]`` metres, the toolbox's filled (inpainted) depth;
    * ``raw_depth``: ``float32 [H, W]`` metres, 0 where the Kinect had no reading;
    * ``label``: ``uint8 [H, W]`` class ``0..n_classes-1``, :data:`IGNORE` (255) for unlabeled;
    * ``index``: the frame's index in the file.

    ``H, W`` = 480, 640, or ``size`` = (h, w): RGB is resized bilinearly with antialiasing,
    depth, raw depth and labels by nearest neighbour. The file is checked when the dataset is
    built (:func:`check_labeled_file`) but opened for reading only on first access in each
    process, and the handle is never pickled, so DataLoader workers each open their own.
    """

    def __init__(self, path: str | Path, indices=None, n_classes: int = 40, size=None):
        _check_n_classes(n_classes)
        self.size = _check_size(size)
        self.path = Path(path)
        self.n_frames = check_labeled_file(self.path)
        self.n_classes = n_classes
        if isinstance(indices, str):
            split = official_split()
            if indices not in split:
                raise ValueError(f"indices must be None, 'train', 'test' or integer frame indices, got {indices!r}")
            indices = split[indices]
        if indices is None:
            indices = np.arange(self.n_frames)
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"indices must be a 1-d sequence of integer frame indices, got shape {idx.shape} "
                             f"dtype {idx.dtype}")
        idx = idx.astype(np.int64)
        bad = idx[(idx < 0) | (idx >= self.n_frames)]
        if bad.size:
            raise ValueError(f"indices must lie in 0..{self.n_frames - 1} (0-based frames of {str(self.path)!r}); "
                             f"got {bad[:5].tolist()}{' ...' if bad.size > 5 else ''}")
        self.indices = idx
        self._file = None
        self._pid = None

    def __len__(self) -> int:
        return len(self.indices)

    def _h5(self):
        # Open lazily, and again in a forked child: an HDF5 handle must not cross processes.
        if self._file is None or self._pid != os.getpid():
            self._file = _h5py().File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        return state

    def close(self) -> None:
        """Close this process's handle (reopened on the next access)."""
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None
        self._pid = None

    def __getitem__(self, k: int) -> dict:
        i = int(self.indices[k])
        f = self._h5()
        # h5py's [i, c, x, y] is MATLAB's (y, x, c, i): swap the last two axes to get rows first.
        rgb = np.ascontiguousarray(f["images"][i].transpose(0, 2, 1))
        depth = np.ascontiguousarray(f["depths"][i].T, dtype=np.float32)
        raw_depth = np.ascontiguousarray(f["rawDepths"][i].T, dtype=np.float32)
        label = map_labels(f["labels"][i].T, self.n_classes)
        if self.size is not None:
            depth, raw_depth, label = (resize_nearest(a, self.size) for a in (depth, raw_depth, label))
        rgb = torch.from_numpy(rgb)
        if self.size is not None:
            rgb = resize_rgb(rgb, self.size)
        return {"rgb": rgb, "depth": torch.from_numpy(np.ascontiguousarray(depth)),
                "raw_depth": torch.from_numpy(np.ascontiguousarray(raw_depth)),
                "label": torch.from_numpy(np.ascontiguousarray(label)), "index": i}


def read_scenes(path: str | Path) -> list[str]:
    """The scene name of every labeled frame (the ``scenes`` cell array, e.g. ``'kitchen_0004'``),
    in file order: the names of the test split's scenes are what ``exclude_scenes`` needs."""
    path = Path(path)
    check_labeled_file(path)
    h5py = _h5py()
    with h5py.File(path, "r") as f:
        refs = f.get("scenes")
        if not isinstance(refs, h5py.Dataset) or refs.dtype != h5py.ref_dtype:
            raise ValueError(f"{str(path)!r} has no 'scenes' cell array of references (a MATLAB cell of strings)")
        # MATLAB strings are uint16 character codes, stored as (len, 1) in column-major order
        return ["".join(map(chr, np.asarray(f[r]).ravel())) for r in np.asarray(refs).ravel()]


# Unlabeled frames --------------------------------------------------------------------------------

RGB_WITHOUT_DEPTH = "rgb without depth"
DEPTH_WITHOUT_RGB = "depth without rgb"
UNREADABLE_RGB = "unreadable rgb"
UNREADABLE_DEPTH = "unreadable depth"
DEPTH_NOT_16BIT = "depth not a 16-bit grey PNG"
EMPTY_DEPTH = "depth all zero"
SIZE_MISMATCH = "rgb and depth sizes differ"
SIZE_DIFFERS = "frame size differs from the first frame's"

_RGB = re.compile(r"^rgb_(\d+)\.jpg$", re.IGNORECASE)
_DEPTH = re.compile(r"^sync_depth_(\d+)\.png$", re.IGNORECASE)


class FramePair(NamedTuple):
    scene: str
    rgb_path: Path
    depth_path: Path


class Skip(NamedTuple):
    path: str
    reason: str      # one of the reason constants of this module: what counts are keyed by
    detail: str = ""  # e.g. the decoder's message or the two sizes


@dataclass
class SkipReport:
    """What was left out and why: ``counts`` by reason, and every skipped file with its reason."""

    skipped: list[Skip] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)       # excluded scene -> its frame pairs
    excluded_not_found: list[str] = field(default_factory=list)  # excluded names with no folder

    def add(self, path, reason: str, detail: str = "") -> None:
        self.skipped.append(Skip(str(path), reason, detail))

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{len(self.skipped)} files skipped" + (": " + ", ".join(f"{n} {r}" for r, n in sorted(counts.items()))
                                                          if counts else "")]
        if self.excluded:
            parts.append(f"{len(self.excluded)} scenes excluded ({sum(self.excluded.values())} frame pairs)")
        if self.excluded_not_found:
            parts.append(f"excluded scenes not found under the root: {self.excluded_not_found}")
        return "; ".join(parts)

    def __str__(self) -> str:
        lines = [self.summary()]
        lines += [f"  {s.reason}: {s.path}" + (f" ({s.detail})" if s.detail else "") for s in self.skipped[:20]]
        if len(self.skipped) > 20:
            lines.append(f"  ... and {len(self.skipped) - 20} more")
        return "\n".join(lines)


def _scene_list(exclude_scenes) -> set[str]:
    """Scene names given as an iterable of names, or as the path of a text file, one per line."""
    if isinstance(exclude_scenes, (str, Path)):
        path = Path(exclude_scenes)
        if not path.is_file():
            raise FileNotFoundError(f"exclude_scenes: {str(path)!r} is not a file (a string or Path is read as a "
                                    f"text file of scene names, one per line; pass a list for names)")
        lines = path.read_text().splitlines()
        return {s.strip() for s in lines if s.strip() and not s.strip().startswith("#")}
    return {str(s) for s in exclude_scenes}


def scan_scenes(root: str | Path, exclude_scenes=()) -> tuple[list[FramePair], SkipReport]:
    """Pair ``rgb_N.jpg`` with ``sync_depth_N.png`` by frame number in every scene folder of ``root``.

    Unpaired files are skipped and counted (:data:`RGB_WITHOUT_DEPTH`, :data:`DEPTH_WITHOUT_RGB`);
    other files are not frames and are ignored. Scenes named in ``exclude_scenes`` (names, or a
    text file of names) are left out, e.g. the scenes of the labeled test split. Pairs are sorted
    by scene and frame, so the result does not depend on the file system's order.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"NYU Depth V2 raw root {str(root)!r} is not a folder "
                                f"(expected <scene>/rgb_00000.jpg + <scene>/sync_depth_00000.png inside)")
    exclude = _scene_list(exclude_scenes)
    scenes = sorted(p for p in root.iterdir() if p.is_dir())
    if not scenes:
        raise FileNotFoundError(f"no scene folders under {str(root)!r} "
                                f"(expected <scene>/rgb_00000.jpg + <scene>/sync_depth_00000.png)")
    report = SkipReport(excluded_not_found=sorted(exclude - {p.name for p in scenes}))
    pairs: list[FramePair] = []
    for folder in scenes:
        rgbs, depths = {}, {}
        for p in folder.iterdir():
            for pattern, found in ((_RGB, rgbs), (_DEPTH, depths)):
                m = pattern.match(p.name)
                if m and p.is_file():
                    found[int(m.group(1))] = p
        if folder.name in exclude:
            report.excluded[folder.name] = len(rgbs.keys() & depths.keys())
            continue
        for frame in sorted(rgbs.keys() | depths.keys()):
            if frame not in depths:
                report.add(rgbs[frame], RGB_WITHOUT_DEPTH)
            elif frame not in rgbs:
                report.add(depths[frame], DEPTH_WITHOUT_RGB)
            else:
                pairs.append(FramePair(folder.name, rgbs[frame], depths[frame]))
    return pairs, report


def read_rgb(path: str | Path) -> np.ndarray:
    """A JPEG (or any Pillow image) as ``uint8 [H, W, 3]``; raises whatever Pillow raises if unreadable."""
    with Image.open(path) as im:
        im.load()  # decode now: a truncated or corrupt file fails here, not later
        if im.width == 0 or im.height == 0:
            raise ValueError("empty image")
        return np.asarray(im.convert("RGB"))


class NotDepth16(ValueError):
    """A readable image that is not a 16-bit grey depth map."""


def read_depth_png(path: str | Path) -> np.ndarray:
    """A 16-bit grey PNG as ``uint16 [H, W]`` (the values as stored: millimetres for NYU); raises
    :class:`NotDepth16` for another kind of image."""
    with Image.open(path) as im:
        im.load()
        if im.width == 0 or im.height == 0:
            raise ValueError("empty image")
        # Pillow opens 16-bit grey PNGs as 'I;16' (or 'I', 32-bit, in older versions)
        if not (im.mode.startswith("I;16") or im.mode == "I"):
            raise NotDepth16(f"mode {im.mode!r}, expected a 16-bit grey PNG ('I;16')")
        a = np.asarray(im)
    if a.dtype.kind == "i" and (a.min() < 0 or a.max() > 65535):
        raise NotDepth16(f"values {a.min()}..{a.max()} do not fit 16 bits")
    return a.astype(np.uint16)


class NotEnoughFrames(ValueError):
    """Fewer good frames than asked for; ``found``, ``asked`` and the :class:`SkipReport` say why."""

    def __init__(self, message: str, found: int, asked: int, report: SkipReport):
        super().__init__(message)
        self.found, self.asked, self.report = found, asked, report


@dataclass
class UnlabeledFrames:
    """``n`` decoded frames: ``rgb`` ``uint8 [n, 3, h, w]``, ``depth`` ``float32 [n, h, w]`` metres
    (0 = missing), the scene of each, the pairs they came from, and what was skipped."""

    rgb: torch.Tensor
    depth: torch.Tensor
    scenes: list[str]
    report: SkipReport
    pairs: list[FramePair] = field(default_factory=list)


def _decode(pair: FramePair, report: SkipReport):
    try:
        rgb = read_rgb(pair.rgb_path)
    except Exception as e:  # any decoder failure (PIL raises OSError, SyntaxError, ValueError, ...)
        report.add(pair.rgb_path, UNREADABLE_RGB, f"{type(e).__name__}: {e}")
        return None
    try:
        depth = read_depth_png(pair.depth_path)
    except NotDepth16 as e:
        report.add(pair.depth_path, DEPTH_NOT_16BIT, str(e))
        return None
    except Exception as e:
        report.add(pair.depth_path, UNREADABLE_DEPTH, f"{type(e).__name__}: {e}")
        return None
    if rgb.shape[:2] != depth.shape:
        report.add(pair.rgb_path, SIZE_MISMATCH, f"rgb {rgb.shape[:2]}, depth {depth.shape} in {pair.depth_path}")
        return None
    if not depth.any():
        report.add(pair.depth_path, EMPTY_DEPTH)
        return None
    return rgb, depth


def load_unlabeled(root: str | Path, n: int, seed: int, size=None, exclude_scenes=()) -> UnlabeledFrames:
    """Decode ``n`` good frames of the raw sequences under ``root``, chosen at random with ``seed``.

    Pairs (:func:`scan_scenes`) are shuffled with ``np.random.default_rng(seed)`` and decoded in
    that order until ``n`` are good; a corrupt or empty image, a depth PNG that is not 16-bit,
    an all-zero depth map or RGB and depth of different sizes is skipped and counted. Depth is
    millimetres / 1000 = metres. With ``size`` = (h, w), RGB is resized bilinearly with
    antialiasing and depth by nearest neighbour; without it every frame must have the first
    good frame's size (others are skipped). Raises :class:`NotEnoughFrames` (a ValueError) if
    fewer than ``n`` good frames exist.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    size = _check_size(size)
    pairs, report = scan_scenes(root, exclude_scenes)

    def too_few(found: int, what: str):
        return NotEnoughFrames(f"asked for {n} unlabeled frames under {str(root)!r} but found only {found} {what} "
                               f"({len(pairs)} rgb/depth pairs); {report.summary()}", found, n, report)

    if len(pairs) < n:  # before decoding anything
        raise too_few(len(pairs), "rgb/depth pairs")
    order = np.random.default_rng(seed).permutation(len(pairs))
    rgb_out = depth_out = None
    used: list[FramePair] = []
    for j in order:
        if len(used) == n:
            break
        pair = pairs[j]
        frame = _decode(pair, report)
        if frame is None:
            continue
        rgb, depth_mm = frame
        if rgb_out is None:
            h, w = size or depth_mm.shape
            rgb_out = torch.empty((n, 3, h, w), dtype=torch.uint8)  # allocated once: no stack copy
            depth_out = torch.empty((n, h, w), dtype=torch.float32)
        elif size is None and depth_mm.shape != tuple(depth_out.shape[1:]):
            report.add(pair.rgb_path, SIZE_DIFFERS, f"{depth_mm.shape} vs {tuple(depth_out.shape[1:])}")
            continue
        rgb_t = torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1)))
        if size is not None:
            rgb_t = resize_rgb(rgb_t, size)
            depth_mm = resize_nearest(depth_mm, size)
        k = len(used)
        rgb_out[k] = rgb_t
        depth_out[k] = torch.from_numpy(depth_mm.astype(np.float32) / 1000.0)
        used.append(pair)
    if len(used) < n:
        raise too_few(len(used), "good frames")
    return UnlabeledFrames(rgb_out, depth_out, [p.scene for p in used], report, used)
