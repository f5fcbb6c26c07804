"""NYU Depth V2 loaders on tiny files in the real formats: a MATLAB v7.3 (HDF5) labeled file
written with h5py in MATLAB's column-major layout, and raw-sequence scene folders of JPEGs and
16-bit PNGs written with Pillow."""
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

h5py = pytest.importorskip("h5py", reason="h5py is not installed (pip install -e .[media])")

from mke.data import nyuv2 as nyu  # noqa: E402

META = nyu.metadata()
N, ROWS, COLS = 3, 6, 8
# MATLAB (row 2, col 5) of frame 2, 1-based: 0-based frame 1, row 1, col 4. h5py reverses the
# axes of a column-major array, so MATLAB's images(y+1, x+1, c+1, i+1) is h5py's [i, c, x, y].
MARK_FRAME, MARK_ROW, MARK_COL = 1, 1, 4
CABINET, WALL = 3, 21  # raw labels (1-based into raw_names)


def write_mat(path, skip=(), shapes=None, n=N, dtypes=None):
    """A tiny nyu_depth_v2_labeled.mat: a 512-byte MATLAB header (userblock), then datasets stored
    as h5py sees the real file: images (n, 3, W, H) uint8, depths / rawDepths (n, W, H) float32,
    labels (n, W, H) uint16. ``skip`` may also name "scenes"; ``dtypes`` overrides a dtype."""
    images = np.full((n, 3, COLS, ROWS), 7, np.uint8)
    depths = np.full((n, COLS, ROWS), 1.0, np.float32)
    raw = depths.copy()
    labels = np.zeros((n, COLS, ROWS), np.uint16)  # 0 = unlabeled everywhere ...
    labels[:, :, 3:] = WALL                        # ... but the lower half (rows 3..5) is wall
    x, y = MARK_COL, MARK_ROW
    images[MARK_FRAME, :, x, y] = (10, 200, 30)
    depths[MARK_FRAME, x, y] = 2.5
    raw[MARK_FRAME, x, y] = 2.5
    labels[MARK_FRAME, x, y] = CABINET
    raw[:, :, 0] = 0.0  # row 0: no Kinect reading
    data = {"images": images, "depths": depths, "labels": labels, "rawDepths": raw}
    for name, shape in (shapes or {}).items():
        data[name] = np.zeros(shape, data[name].dtype)
    for name, dtype in (dtypes or {}).items():
        data[name] = data[name].astype(dtype)
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, a in data.items():
            if name not in skip:
                f.create_dataset(name, data=a, chunks=(1,) + a.shape[1:] if len(a) else None)
                f[name].attrs["MATLAB_class"] = np.bytes_("uint8" if a.dtype == np.uint8 else "single")
        if "scenes" not in skip:  # the scenes cell array: references to uint16 character arrays stored (len, 1)
            refs = []
            for i in range(n):
                name = f"kitchen_{i:04d}"
                d = f.create_dataset(f"#refs#/s{i}", data=np.array([[ord(c)] for c in name], np.uint16))
                refs.append(d.ref)
            f.create_dataset("scenes", data=np.array([refs], dtype=h5py.ref_dtype))
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2012 HDF5 schema 1.00 .")
    return path


@pytest.fixture
def mat(tmp_path):
    return write_mat(tmp_path / "nyu_depth_v2_labeled.mat")


# ---------------------------------------------------------------- metadata, labels, split

def test_lut_40_and_void():
    lut = nyu.label_lut(40)
    assert lut.dtype == np.uint8 and lut.shape == (895,)
    assert lut[0] == nyu.IGNORE == 255
    assert nyu.CLASSES_40[lut[CABINET]] == "cabinet" and lut[CABINET] == 2
    assert nyu.CLASSES_40[lut[WALL]] == "wall" and lut[WALL] == 0
    assert nyu.RAW_NAMES[CABINET - 1] == "cabinet" and nyu.RAW_NAMES[WALL - 1] == "wall"
    assert lut[1:].max() == 39 and (lut[1:] != 255).all()
    assert np.array_equal(lut[1:], np.asarray(META["raw_to_40"]) - 1)


def test_lut_13_consistent_with_map_40_to_13():
    lut40, lut13 = nyu.label_lut(40), nyu.label_lut(13)
    to13 = np.asarray(META["map_40_to_13"])
    assert lut13[0] == 255
    assert np.array_equal(lut13[1:], to13[lut40[1:]] - 1)
    assert nyu.CLASSES_13[lut13[CABINET]] == "furniture" and nyu.CLASSES_13[lut13[WALL]] == "wall"
    assert set(lut13[1:].tolist()) == set(range(13))


def test_map_labels_range_errors():
    assert nyu.map_labels(np.array([[0, 21], [894, 3]], np.uint16)).tolist() == [[255, 0], [
        META["raw_to_40"][893] - 1, 2]]
    with pytest.raises(ValueError, match="900"):
        nyu.map_labels(np.array([0, 5, 900]))
    with pytest.raises(ValueError, match="n_classes"):
        nyu.label_lut(20)


def test_official_split_covers_every_frame_once():
    split = nyu.official_split()
    assert len(split["train"]) == 795 and len(split["test"]) == 654
    both = np.concatenate([split["train"], split["test"]])
    assert np.array_equal(np.sort(both), np.arange(1449))
    assert split["test"][:3].tolist() == [0, 1, 8]  # testNdxs starts 1, 2, 9 (1-based)
    assert "Gupta" in META["_about"] and "Silberman" in META["_about"]


# ---------------------------------------------------------------- labeled frames

def test_labeled_layout_marker_and_labels(mat):
    ds = nyu.LabeledNYU(mat)
    assert len(ds) == N and ds._file is None  # checked, but not held open
    item = ds[MARK_FRAME]
    assert item["index"] == MARK_FRAME
    assert item["rgb"].dtype == torch.uint8 and item["rgb"].shape == (3, ROWS, COLS)
    assert item["rgb"][:, MARK_ROW, MARK_COL].tolist() == [10, 200, 30]
    assert int((item["rgb"] != 7).sum()) == 3  # only the marker pixel differs
    assert item["depth"].dtype == torch.float32 and item["depth"].shape == (ROWS, COLS)
    assert item["depth"][MARK_ROW, MARK_COL] == 2.5 and int((item["depth"] != 1.0).sum()) == 1
    raw = item["raw_depth"]
    assert raw.dtype == torch.float32 and (raw[0] == 0).all() and (raw[1:] > 0).all()
    label = item["label"]
    assert label.dtype == torch.uint8 and label.shape == (ROWS, COLS)
    assert label[MARK_ROW, MARK_COL] == 2  # raw 3 'cabinet' -> 40-class 3 -> index 2
    expected = torch.full((ROWS, COLS), 255, dtype=torch.uint8)
    expected[3:] = 0  # wall
    expected[MARK_ROW, MARK_COL] = 2
    assert torch.equal(label, expected)
    assert nyu.LabeledNYU(mat, n_classes=13)[MARK_FRAME]["label"][MARK_ROW, MARK_COL] == \
        nyu.CLASSES_13.index("furniture")
    assert nyu.read_scenes(mat) == ["kitchen_0000", "kitchen_0001", "kitchen_0002"]


def test_labeled_indices_and_resize(mat):
    full = nyu.LabeledNYU(mat)[MARK_FRAME]
    ds = nyu.LabeledNYU(mat, indices=[MARK_FRAME, 0], size=(3, 4))
    assert len(ds) == 2 and ds[1]["index"] == 0
    item = ds[0]
    assert item["index"] == MARK_FRAME
    assert item["rgb"].shape == (3, 3, 4) and item["rgb"].dtype == torch.uint8
    assert (ds[1]["rgb"] == 7).all()  # antialiased resize of a flat image stays flat
    for key in ("depth", "raw_depth", "label"):
        assert item[key].shape == (3, 4)
        # nearest: output (i, j) copies source (2i + 1, 2j + 1), the pixel under its centre
        assert torch.equal(item[key], full[key][1::2, 1::2]), key
    assert set(item["label"].unique().tolist()) <= {0, 2, 255}
    assert (item["raw_depth"] == 0).sum() == 0 and set(item["depth"].unique().tolist()) == {1.0}
    up = nyu.LabeledNYU(mat, size=(12, 16))[MARK_FRAME]
    assert up["label"][2:4, 8:10].eq(2).all() and int(up["label"].eq(2).sum()) == 4
    assert (up["raw_depth"][:2] == 0).all() and (up["raw_depth"][2:] > 0).all()


def test_labeled_pickles_without_handle_and_workers(mat):
    ds = nyu.LabeledNYU(mat, indices=[0, 1, 2])
    first = ds[1]
    assert ds._file is not None
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._file is None and torch.equal(clone[1]["rgb"], first["rgb"])
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=2)
    got = [b["rgb"][0] for b in loader]
    assert torch.equal(got[1], first["rgb"]) and len(got) == 3
    ds.close()


def test_labeled_errors_name_the_offender(tmp_path, mat):
    missing = tmp_path / "nope.mat"
    with pytest.raises(FileNotFoundError, match="nope.mat"):
        nyu.LabeledNYU(missing)
    bad = write_mat(tmp_path / "no_raw.mat", skip=("rawDepths",))
    with pytest.raises(ValueError, match="rawDepths"):
        nyu.LabeledNYU(bad)
    wrong = write_mat(tmp_path / "wrong.mat", shapes={"labels": (N, COLS, 5)})
    with pytest.raises(ValueError, match=r"'labels' has shape \(3, 8, 5\).*\(3, 8, 6\)"):
        nyu.LabeledNYU(wrong)
    wrong = write_mat(tmp_path / "wrong_img.mat", shapes={"images": (N, COLS, ROWS)})
    with pytest.raises(ValueError, match=r"'images' has shape \(3, 8, 6\)"):
        nyu.LabeledNYU(wrong)
    v5 = tmp_path / "v5.mat"
    v5.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(ValueError, match="not an HDF5"):
        nyu.LabeledNYU(v5)
    with pytest.raises(ValueError, match=r"0\.\.2.*\[3\]"):
        nyu.LabeledNYU(mat, indices=[0, 3])
    with pytest.raises(ValueError, match="indices"):
        nyu.LabeledNYU(mat, indices=[-1])
    with pytest.raises(ValueError, match=r"0\.\.2"):
        nyu.LabeledNYU(mat, indices="train")  # the official split needs the real 1449 frames
    with pytest.raises(ValueError, match="size"):
        nyu.LabeledNYU(mat, size=(0, 4))


# ---------------------------------------------------------------- unlabeled frames

def _png16(path, a):
    Image.fromarray(np.asarray(a, np.uint16)).save(path)


def _jpg(path, color, shape=(ROWS, COLS)):
    Image.fromarray(np.full(shape + (3,), color, np.uint8)).save(path, quality=95)


def depth_mm(k):
    """A distinct depth map per good frame, with values above 255 (mm) and one missing pixel."""
    d = np.full((ROWS, COLS), 1000 + 250 * k, np.uint16)
    d[0, 0] = 0
    d[1, :] = 4000
    d[2, 3] = 65535
    return d


@pytest.fixture
def scenes(tmp_path):
    root = tmp_path / "raw"
    a, b, c = (root / s for s in ("scene_a", "scene_b", "scene_c"))
    for s in (a, b, c):
        s.mkdir(parents=True)
    rng = np.random.default_rng(0)
    # scene_a: 0 good, 1 corrupt depth PNG, 2 rgb without depth, 3 good
    _jpg(a / "rgb_00000.jpg", 40); _png16(a / "sync_depth_00000.png", depth_mm(0))
    _jpg(a / "rgb_00001.jpg", 50); (a / "sync_depth_00001.png").write_bytes(rng.bytes(300))
    _jpg(a / "rgb_00002.jpg", 60)
    _jpg(a / "rgb_00003.jpg", 70); _png16(a / "sync_depth_00003.png", depth_mm(1))
    # scene_b: 0 good, 1 all-zero depth, 2 size mismatch, 3 8-bit depth, 4 empty jpg, 5 depth without rgb
    _jpg(b / "rgb_00000.jpg", 80); _png16(b / "sync_depth_00000.png", depth_mm(2))
    _jpg(b / "rgb_00001.jpg", 90); _png16(b / "sync_depth_00001.png", np.zeros((ROWS, COLS)))
    _jpg(b / "rgb_00002.jpg", 100); _png16(b / "sync_depth_00002.png", np.ones((4, 4)))
    _jpg(b / "rgb_00003.jpg", 110); Image.fromarray(np.ones((ROWS, COLS), np.uint8)).save(b / "sync_depth_00003.png")
    (b / "rgb_00004.jpg").write_bytes(b""); _png16(b / "sync_depth_00004.png", depth_mm(3))
    _png16(b / "sync_depth_00005.png", depth_mm(4))
    (b / "notes.txt").write_text("not a frame")
    # scene_c: one good frame (a "test scene")
    _jpg(c / "rgb_00000.jpg", 120); _png16(c / "sync_depth_00000.png", depth_mm(5))
    return root


GOOD = {("scene_a", 40): depth_mm(0), ("scene_a", 70): depth_mm(1), ("scene_b", 80): depth_mm(2),
        ("scene_c", 120): depth_mm(5)}


def test_png16_round_trip(tmp_path):
    d = depth_mm(0)
    _png16(tmp_path / "d.png", d)
    back = nyu.read_depth_png(tmp_path / "d.png")
    assert back.dtype == np.uint16 and np.array_equal(back, d) and back.max() == 65535


def test_scan_pairs_and_skips(scenes):
    pairs, report = nyu.scan_scenes(scenes)
    got = [(p.scene, p.rgb_path.name, p.depth_path.name) for p in pairs]
    assert got == [("scene_a", f"rgb_0000{i}.jpg", f"sync_depth_0000{i}.png") for i in (0, 1, 3)] + \
        [("scene_b", f"rgb_0000{i}.jpg", f"sync_depth_0000{i}.png") for i in (0, 1, 2, 3, 4)] + \
        [("scene_c", "rgb_00000.jpg", "sync_depth_00000.png")]
    assert report.counts == {nyu.RGB_WITHOUT_DEPTH: 1, nyu.DEPTH_WITHOUT_RGB: 1}
    assert {(s.path.split("/")[-1], s.reason) for s in report.skipped} == {
        ("rgb_00002.jpg", nyu.RGB_WITHOUT_DEPTH), ("sync_depth_00005.png", nyu.DEPTH_WITHOUT_RGB)}
    assert "2 files skipped" in str(report)
    pairs, report = nyu.scan_scenes(scenes, exclude_scenes=["scene_c", "scene_z"])
    assert len(pairs) == 8 and {p.scene for p in pairs} == {"scene_a", "scene_b"}
    assert report.excluded == {"scene_c": 1} and report.excluded_not_found == ["scene_z"]


def test_load_unlabeled_all_good_frames(scenes):
    out = nyu.load_unlabeled(scenes, n=4, seed=0)
    assert out.rgb.shape == (4, 3, ROWS, COLS) and out.rgb.dtype == torch.uint8
    assert out.depth.shape == (4, ROWS, COLS) and out.depth.dtype == torch.float32
    seen = set()
    for k in range(4):
        color = int(out.rgb[k].float().mean().round())
        key = (out.scenes[k], color)
        assert key in GOOD, key
        seen.add(key)
        assert (out.rgb[k].int() - color).abs().max() <= 2  # JPEG of a flat colour
        mm = GOOD[key]
        assert torch.allclose(out.depth[k], torch.from_numpy(mm.astype(np.float64) / 1000).float())
        assert out.depth[k][1, 0] == pytest.approx(4.0) and out.depth[k][2, 3] == pytest.approx(65.535)
        assert out.depth[k][0, 0] == 0
    assert seen == set(GOOD)
    # pairs are decoded in the seeded order until 4 are good: the bad ones before the last good
    # one are counted with their reason, those after it are never opened
    pairs, _ = nyu.scan_scenes(scenes)
    bad = {("scene_a", 1): nyu.UNREADABLE_DEPTH, ("scene_b", 1): nyu.EMPTY_DEPTH, ("scene_b", 2): nyu.SIZE_MISMATCH,
           ("scene_b", 3): nyu.DEPTH_NOT_16BIT, ("scene_b", 4): nyu.UNREADABLE_RGB}
    order = [(pairs[j].scene, int(pairs[j].rgb_path.stem[-1])) for j in np.random.default_rng(0).permutation(9)]
    last_good = max(i for i, key in enumerate(order) if key not in bad)
    expected = {nyu.RGB_WITHOUT_DEPTH: 1, nyu.DEPTH_WITHOUT_RGB: 1}
    expected.update({bad[key]: 1 for key in order[:last_good] if key in bad})
    assert out.report.counts == expected
    # asking for one more good frame than scenes a and b hold decodes every pair of them
    with pytest.raises(nyu.NotEnoughFrames) as err:
        nyu.load_unlabeled(scenes, n=4, seed=0, exclude_scenes=["scene_c"])
    assert (err.value.found, err.value.asked) == (3, 4)
    assert err.value.report.counts == {nyu.RGB_WITHOUT_DEPTH: 1, nyu.DEPTH_WITHOUT_RGB: 1,
                                       **{r: 1 for r in bad.values()}}
    reasons = sorted(("/".join(s.path.split("/")[-2:]), s.reason) for s in err.value.report.skipped)
    assert reasons == sorted([("scene_a/rgb_00002.jpg", nyu.RGB_WITHOUT_DEPTH),
                              ("scene_b/sync_depth_00005.png", nyu.DEPTH_WITHOUT_RGB),
                              ("scene_a/sync_depth_00001.png", nyu.UNREADABLE_DEPTH),
                              ("scene_b/sync_depth_00001.png", nyu.EMPTY_DEPTH),
                              ("scene_b/rgb_00002.jpg", nyu.SIZE_MISMATCH),
                              ("scene_b/sync_depth_00003.png", nyu.DEPTH_NOT_16BIT),
                              ("scene_b/rgb_00004.jpg", nyu.UNREADABLE_RGB)])


def test_load_unlabeled_seed_order_and_exclusion(scenes, tmp_path):
    listing = tmp_path / "test_scenes.txt"
    listing.write_text("# test split scenes\nscene_c\n")
    pairs, _ = nyu.scan_scenes(scenes, exclude_scenes=listing)
    good_paths = {(s, c) for (s, c) in GOOD if s != "scene_c"}
    orders = set()
    for seed in range(6):
        out = nyu.load_unlabeled(scenes, n=2, seed=seed, exclude_scenes=listing)
        again = nyu.load_unlabeled(scenes, n=2, seed=seed, exclude_scenes=listing)
        assert torch.equal(out.rgb, again.rgb) and torch.equal(out.depth, again.depth) and out.scenes == again.scenes
        assert "scene_c" not in out.scenes and out.report.excluded == {"scene_c": 1}
        # the first two good pairs in np.random.default_rng(seed)'s permutation of the sorted pairs
        perm = np.random.default_rng(seed).permutation(len(pairs))
        good = [pairs[j] for j in perm if (pairs[j].scene, int(pairs[j].rgb_path.stem[-1])) in
                {("scene_a", 0), ("scene_a", 3), ("scene_b", 0)}]
        assert out.pairs == good[:2]
        assert {(s, int(out.rgb[k].float().mean().round())) for k, s in enumerate(out.scenes)} <= good_paths
        orders.add(tuple(p.rgb_path for p in out.pairs))
    assert len(orders) > 1


def test_load_unlabeled_too_few_and_resize(scenes):
    with pytest.raises(ValueError, match=r"asked for 4 .* found only 3 good frames .*1 depth all zero"):
        nyu.load_unlabeled(scenes, n=4, seed=0, exclude_scenes=["scene_c"])
    with pytest.raises(ValueError, match=r"asked for 50 .* found only 9 rgb/depth pairs .*1 rgb without depth"):
        nyu.load_unlabeled(scenes, n=50, seed=0)
    with pytest.raises(FileNotFoundError, match="missing_root"):
        nyu.load_unlabeled(scenes / "missing_root", n=1, seed=0)
    out = nyu.load_unlabeled(scenes, n=4, seed=1, size=(3, 4))
    assert out.rgb.shape == (4, 3, 3, 4) and out.depth.shape == (4, 3, 4)
    for k in range(4):
        mm = GOOD[(out.scenes[k], int(out.rgb[k].float().mean().round()))]
        assert torch.allclose(out.depth[k], torch.from_numpy(mm[1::2, 1::2] / 1000).float())


# ---------------------------------------------------------------- exact contracts: labels, split, sizes

def test_label_lut_default_is_40_and_map_labels_rejects_floats():
    """``label_lut()`` means the 40-class set; non-integer raw labels are refused by name and dtype
    (a float label map would index the table with truncated values)."""
    assert np.array_equal(nyu.label_lut(), nyu.label_lut(40))
    assert np.array_equal(nyu.map_labels(np.array([3])), [2])  # map_labels' default is 40 classes too
    with pytest.raises(ValueError, match=r"^raw labels must be integers, got dtype float64$"):
        nyu.map_labels(np.array([1.0, 3.0]))


def test_official_split_dtype_and_ends():
    """The split is int64 and 0-based at both ends of both lists (the json holds 1-based indices)."""
    split = nyu.official_split()
    for key in ("train", "test"):
        assert split[key].dtype == np.int64
        assert split[key].tolist() == [i - 1 for i in META[f"{key}_indices_1based"]]
    assert split["train"].min() >= 0 and split["test"].max() <= 1448


def test_official_split_is_int64_whatever_the_json_holds(monkeypatch):
    """The split is converted to int64 explicitly, not left to numpy's default: indices written as
    doubles (as MATLAB exports them) still give integer frame indices, and numpy's platform default
    int (int32 on Windows with numpy 1.x) is not used."""
    monkeypatch.setattr(nyu, "metadata", lambda: {"train_indices_1based": [1.0, 3.0], "test_indices_1based": [2.0]})
    split = nyu.official_split()
    assert split["train"].dtype == np.int64 and split["test"].dtype == np.int64
    assert split["train"].tolist() == [0, 2] and split["test"].tolist() == [1]


def test_check_size_bounds_and_message():
    """``size`` accepts 1 pixel (the smallest positive size) in either axis and rejects 0 in either
    axis; anything that is not two integers is a ValueError that names it (not a TypeError or an
    unbound name from the failed unpacking)."""
    assert nyu._check_size(None) is None
    assert nyu._check_size((1, 1)) == (1, 1) and nyu._check_size((1, 7)) == (1, 7)
    assert nyu._check_size([5, 1]) == (5, 1) and nyu._check_size((np.int64(2), 3)) == (2, 3)
    for bad, shown in [((0, 4), r"\(0, 4\)"), ((4, 0), r"\(4, 0\)"), ((-1, 4), r"\(-1, 4\)"), (5, "5"),
                       (("a", 2), r"\('a', 2\)"), ((1, 2, 3), r"\(1, 2, 3\)"), ((2.5, 3), r"\(2\.5, 3\)")]:
        with pytest.raises(ValueError, match=r"^size must be None or \(height, width\) of positive integers, "
                                             rf"got {shown}$"):
            nyu._check_size(bad)


def test_resize_nearest_identity_upsampling_and_leading_axes():
    """Nearest resizing reads the source pixel under each output centre: at the same size it is
    the identity (the last row and column are kept, not clamped away), upsampling 3 -> 7 repeats
    0 0 1 1 1 2 2 (as F.interpolate's 'nearest-exact'), and leading axes are carried along; the
    column count is the last axis, not axis 1."""
    assert nyu._nearest_index(3, 7).tolist() == [0, 0, 1, 1, 1, 2, 2]
    assert nyu._nearest_index(7, 3).tolist() == [1, 3, 5]
    assert nyu._nearest_index(4, 4).tolist() == [0, 1, 2, 3]
    x = np.arange(2 * 3 * 5).reshape(2, 3, 5)
    assert np.array_equal(nyu.resize_nearest(x, (3, 5)), x)
    out = nyu.resize_nearest(x, (2, 2))  # rows (2i + 1) 3 // 4 = 0, 2; cols (2j + 1) 5 // 4 = 1, 3
    assert out.shape == (2, 2, 2) and np.array_equal(out, x[:, [0, 2]][:, :, [1, 3]])


def test_resize_rgb_identity_antialias_and_saturation():
    """Same size returns the very tensor; shrinking is bilinear with antialiasing and
    align_corners=False, pinned by exact values: 8 -> 4 columns is a triangle filter of radius 2
    source pixels centred between source pairs, so output 2 (centre 5.0) weighs source pixels
    4..7 by 1/8, 3/8, 3/8, 1/8 -> 0 + 0 + 24 + 15 = 39, and output 3 (centre 7.0) weighs 5..7 by
    1/7, 3/7, 3/7 -> 163 (no antialias gives 32 and 180; align_corners=True 91 and 206). Values
    outside 0..255 saturate instead of wrapping around in the uint8 cast."""
    rgb = torch.arange(3 * 2 * 5, dtype=torch.uint8).reshape(3, 2, 5)
    assert nyu.resize_rgb(rgb, (2, 5)) is rgb
    row = torch.tensor([0, 0, 0, 0, 0, 64, 120, 240], dtype=torch.uint8)
    out = nyu.resize_rgb(row.expand(3, 1, 8).clone(), (1, 4))
    assert out.dtype == torch.uint8 and out.tolist() == [[[0, 0, 39, 163]]] * 3
    flat = torch.empty(3, 4, 4)
    flat[0], flat[1], flat[2] = -20.0, 300.0, 128.0
    assert nyu.resize_rgb(flat, (2, 2)).tolist() == [[[0, 0], [0, 0]], [[255, 255], [255, 255]],
                                                     [[128, 128], [128, 128]]]


# ---------------------------------------------------------------- exact contracts: the labeled file

def test_h5py_missing_says_how_to_install(monkeypatch):
    """Without h5py the error says what needs it and the exact install command."""
    import sys
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` raise ImportError
    with pytest.raises(ImportError, match="^" + re.escape("reading nyu_depth_v2_labeled.mat (MATLAB v7.3 = HDF5) "
                                                          "needs h5py: pip install -e .[media]") + "$"):
        nyu._h5py()


def _quoted(path):
    return re.escape(repr(str(path)))


def test_check_labeled_file_names_file_and_dataset(tmp_path):
    """Every layout error names the file and the offending dataset with its shape or dtype: a
    4-channel or 0-frame 'images', float images, a 'depths' of the wrong shape (the first dataset
    after 'images' is checked too), float labels (labels must be integers even though depths may
    be float), and complex raw depths. One frame is a valid file."""
    one = {"images": (1, 3, COLS, ROWS), **{k: (1, COLS, ROWS) for k in ("depths", "labels", "rawDepths")}}
    assert nyu.check_labeled_file(write_mat(tmp_path / "one.mat", shapes=one)) == 1
    v5 = tmp_path / "v5.mat"
    v5.write_bytes(b"MATLAB 5.0 MAT-file" + bytes(200))
    with pytest.raises(ValueError, match=f"^{_quoted(v5)} is not an HDF5 file: "):
        nyu.check_labeled_file(v5)
    p = write_mat(tmp_path / "no_depths.mat", skip=("depths",))
    with pytest.raises(ValueError, match=f"^{_quoted(p)} lacks dataset\\(s\\) \\['depths'\\] "
                                         r"\(has \['#refs#', 'images', 'labels', 'rawDepths', 'scenes'\]\); "
                                         r"expected as h5py"):
        nyu.check_labeled_file(p)
    cases = [("rgba", {"shapes": {"images": (N, 4, COLS, ROWS)}}, r"'images' has shape \(3, 4, 8, 6\); expected as"),
             ("empty", {"shapes": {"images": (0, 3, COLS, ROWS)}}, r"'images' has shape \(0, 3, 8, 6\); expected as"),
             ("fimg", {"dtypes": {"images": np.float32}}, r"'images' has dtype float32; expected uint8 \(as h5py"),
             ("dshape", {"shapes": {"depths": (N, COLS, 5)}},
              r"'depths' has shape \(3, 8, 5\), but 'images' is \(3, 3, 8, 6\), "
              r"so \(3, 8, 6\) was expected; expected as"),
             ("flab", {"dtypes": {"labels": np.float32}}, r"'labels' has dtype float32; expected as h5py"),
             ("craw", {"dtypes": {"rawDepths": np.complex64}}, r"'rawDepths' has dtype complex64; expected as h5py")]
    for name, kwargs, message in cases:
        p = write_mat(tmp_path / f"{name}.mat", **kwargs)
        with pytest.raises(ValueError, match=f"^{_quoted(p)}: dataset {message}"):
            nyu.check_labeled_file(p)
    # float64 / integer depths are accepted ("fiu"), integer labels too
    p = write_mat(tmp_path / "ok.mat", dtypes={"depths": np.float64, "rawDepths": np.uint16, "labels": np.int32})
    assert nyu.check_labeled_file(p) == N


def test_labeled_index_errors_exact(tmp_path, mat):
    """Index errors say what was given: an unknown split name, a 2-d or float index array (with
    its shape and dtype), and out-of-range frames listed up to five, with ' ...' only when more
    than five are out of range; the file is named."""
    with pytest.raises(ValueError, match=r"^indices must be None, 'train', 'test' or integer frame indices, "
                                         r"got 'val'$"):
        nyu.LabeledNYU(mat, indices="val")
    with pytest.raises(ValueError, match=r"^indices must be a 1-d sequence of integer frame indices, "
                                         r"got shape \(1, 2\) dtype int64$"):
        nyu.LabeledNYU(mat, indices=[[0, 1]])
    with pytest.raises(ValueError, match=r"^indices must be a 1-d sequence of integer frame indices, "
                                         r"got shape \(1,\) dtype float64$"):
        nyu.LabeledNYU(mat, indices=[0.5])
    assert len(nyu.LabeledNYU(mat, indices=[])) == 0  # empty (float64 from []) is allowed
    head = rf"^indices must lie in 0\.\.2 \(0-based frames of {_quoted(mat)}\); got "
    with pytest.raises(ValueError, match=head + r"\[3, 4, 5, 6, 7\] \.\.\.$"):
        nyu.LabeledNYU(mat, indices=[0, 3, 4, 5, 6, 7, 8])
    with pytest.raises(ValueError, match=head + r"\[3, 4, 5, 6, 7\]$"):
        nyu.LabeledNYU(mat, indices=[3, 4, 5, 6, 7, 1])
    with pytest.raises(ValueError, match=head + r"\[-1\]$"):
        nyu.LabeledNYU(mat, indices=[-1])


def test_labeled_float_depths_come_out_float32(tmp_path):
    """Depth and raw depth are float32 whatever the file stores (float64 here), with values kept."""
    p = write_mat(tmp_path / "f64.mat", dtypes={"depths": np.float64, "rawDepths": np.float64})
    item = nyu.LabeledNYU(p)[MARK_FRAME]
    assert item["depth"].dtype == torch.float32 and item["raw_depth"].dtype == torch.float32
    assert item["depth"][MARK_ROW, MARK_COL] == 2.5 and item["raw_depth"][MARK_ROW, MARK_COL] == 2.5
    assert (item["raw_depth"][0] == 0).all() and item["raw_depth"][1, 0] == 1.0


def test_labeled_handle_reused_reopened_after_fork_and_closed(mat):
    """One handle per process: a new dataset holds none (``_file`` and ``_pid`` None); the first
    access opens the file read-only and later accesses reuse it; a handle recorded under another
    pid (inherited through fork) is replaced, not used, and close() leaves such a foreign handle
    open but closes this process's own one; after close() nothing is held."""
    import os
    ds = nyu.LabeledNYU(mat)
    assert ds._file is None and ds._pid is None
    first = ds._h5()
    assert ds._pid == os.getpid() and first.mode == "r" and ds._h5() is first
    ds[0]
    assert ds._file is first
    ds._pid = -1  # as if opened in a parent process before a fork
    second = ds._h5()
    assert second is not first and ds._pid == os.getpid() and bool(first)
    ds._file, ds._pid = first, -1
    ds.close()  # a foreign handle is dropped, not closed
    assert bool(first) and ds._file is None and ds._pid is None
    first.close()
    ds._file, ds._pid = second, os.getpid()
    ds.close()  # this process's own handle is closed
    assert not bool(second) and ds._file is None and ds._pid is None
    ds.close()  # closing twice is harmless
    assert ds[1]["index"] == 1 and ds._file is not None
    ds.close()


def test_labeled_pickle_drops_handle_and_pid(mat):
    """A pickled dataset carries neither the handle nor the pid it was opened under, and no
    other attribute is added or lost."""
    import os
    ds = nyu.LabeledNYU(mat)
    ds[0]
    assert ds._pid == os.getpid()
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._file is None and clone._pid is None
    assert set(vars(clone)) == set(vars(ds))
    ds.close()


def test_read_scenes_without_cell_array(tmp_path):
    """A labeled file without a 'scenes' cell array of references (missing, or plain numbers) is a
    ValueError naming the file."""
    missing = write_mat(tmp_path / "noscenes.mat", skip=("scenes",))
    numbers = write_mat(tmp_path / "numscenes.mat", skip=("scenes",))
    with h5py.File(numbers, "a") as f:
        f.create_dataset("scenes", data=np.zeros((1, N), np.uint16))
    for p in (missing, numbers):
        with pytest.raises(ValueError, match=f"^{_quoted(p)} has no 'scenes' cell array of references "
                                             r"\(a MATLAB cell of strings\)$"):
            nyu.read_scenes(p)


# ---------------------------------------------------------------- exact contracts: skip report

def test_skip_report_add_summary_and_str():
    """The report's text is exact: details default to none (no parentheses), counts are sorted
    by reason and joined with ', ', parts with '; ', and at most 20 files are listed, then
    '... and K more' (none at exactly 20)."""
    report = nyu.SkipReport()
    assert report.summary() == "0 files skipped" and str(report) == "0 files skipped"
    report.add(Path("a/x.png"), "b reason")
    report.add("a/y.jpg", "a reason", "why")
    report.add("a/z.jpg", "b reason")
    assert report.skipped == [nyu.Skip("a/x.png", "b reason", ""), nyu.Skip("a/y.jpg", "a reason", "why"),
                              nyu.Skip("a/z.jpg", "b reason", "")]
    assert report.summary() == "3 files skipped: 1 a reason, 2 b reason"
    assert str(report) == ("3 files skipped: 1 a reason, 2 b reason\n  b reason: a/x.png\n"
                           "  a reason: a/y.jpg (why)\n  b reason: a/z.jpg")
    report.excluded = {"s1": 4, "s2": 1}
    report.excluded_not_found = ["zz"]
    assert report.summary() == ("3 files skipped: 1 a reason, 2 b reason; 2 scenes excluded (5 frame pairs); "
                                "excluded scenes not found under the root: ['zz']")
    many = nyu.SkipReport()
    for i in range(20):
        many.add(f"f{i}", "r")
    lines = str(many).split("\n")
    assert len(lines) == 21 and lines[0] == "20 files skipped: 20 r" and lines[-1] == "  r: f19"
    many.add("f20", "r")
    lines = str(many).split("\n")
    assert len(lines) == 22 and lines[-2] == "  r: f19" and lines[-1] == "  ... and 1 more"
    many.add("f21", "r")
    assert str(many).split("\n")[-1] == "  ... and 2 more"


# ---------------------------------------------------------------- exact contracts: scanning and decoding

def test_scene_list_file_and_errors(scenes, tmp_path):
    """A scene-list file drops blank lines, '#' comments and surrounding spaces; a missing list
    file is named; excluding the first scene still scans the ones after it; an empty root is named."""
    listing = tmp_path / "scenes.txt"
    listing.write_text("# test scenes\n\n  scene_a  \n   \n#scene_b\n")
    assert nyu._scene_list(listing) == {"scene_a"} and nyu._scene_list(str(listing)) == {"scene_a"}
    assert nyu._scene_list(["x", Path("y")]) == {"x", "y"}
    pairs, report = nyu.scan_scenes(scenes, exclude_scenes=listing)
    assert report.excluded == {"scene_a": 3} and report.excluded_not_found == []
    assert [(p.scene, p.rgb_path.name) for p in pairs] == [("scene_b", f"rgb_0000{i}.jpg") for i in range(5)] + \
        [("scene_c", "rgb_00000.jpg")]
    missing = tmp_path / "nope.txt"
    with pytest.raises(FileNotFoundError, match=f"^exclude_scenes: {_quoted(missing)} is not a file "):
        nyu.scan_scenes(scenes, exclude_scenes=missing)
    empty = tmp_path / "empty_root"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=f"^no scene folders under {_quoted(empty)} "):
        nyu.scan_scenes(empty)


def _tiff32(path, a):
    Image.fromarray(np.asarray(a, np.int32)).save(path)  # Pillow opens it in mode 'I' (32-bit signed)


def test_read_rgb_and_depth_small_grey_and_32bit(tmp_path):
    """One-pixel images are valid; a grey JPEG comes back as 3 channels; a 32-bit 'I' depth image
    (older Pillow's mode for 16-bit PNGs) is accepted when its values fit 0..65535 inclusive and
    refused with the offending range otherwise; an 8-bit depth PNG is refused naming its mode."""
    _jpg(tmp_path / "one.jpg", 90, shape=(1, 1))
    assert nyu.read_rgb(tmp_path / "one.jpg").shape == (1, 1, 3)
    Image.fromarray(np.full((2, 3), 100, np.uint8)).save(tmp_path / "grey.jpg", quality=95)
    grey = nyu.read_rgb(tmp_path / "grey.jpg")
    assert grey.shape == (2, 3, 3) and grey.dtype == np.uint8 and (grey == 100).all()
    _png16(tmp_path / "one.png", [[1234]])
    assert nyu.read_depth_png(tmp_path / "one.png").tolist() == [[1234]]
    _tiff32(tmp_path / "ok.tif", [[0, 65535], [7, 1]])
    ok = nyu.read_depth_png(tmp_path / "ok.tif")
    assert ok.dtype == np.uint16 and ok.tolist() == [[0, 65535], [7, 1]]
    for name, a, shown in [("big", [[5, 65536]], "5..65536"), ("neg", [[-1, 5]], "-1..5")]:
        _tiff32(tmp_path / f"{name}.tif", a)
        with pytest.raises(nyu.NotDepth16, match=rf"^values {shown} do not fit 16 bits$"):
            nyu.read_depth_png(tmp_path / f"{name}.tif")
    Image.fromarray(np.ones((2, 2), np.uint8)).save(tmp_path / "d8.png")
    with pytest.raises(nyu.NotDepth16, match=r"^mode 'L', expected a 16-bit grey PNG \('I;16'\)$"):
        nyu.read_depth_png(tmp_path / "d8.png")


@pytest.mark.parametrize("wh", [(0, 5), (5, 0)])
def test_read_refuses_an_empty_decoded_image(tmp_path, monkeypatch, wh):
    """A decoder that yields a zero-width or zero-height image is refused ("empty image") for RGB
    and depth alike. Pillow itself refuses such files at open, so the decoder is stubbed."""
    def fake_open(path):
        return Image.new("I;16" if str(path).endswith(".png") else "RGB", wh)
    monkeypatch.setattr(nyu.Image, "open", fake_open)
    for read, name in ((nyu.read_rgb, "x.jpg"), (nyu.read_depth_png, "x.png")):
        with pytest.raises(ValueError, match="^empty image$"):
            read(tmp_path / name)


def test_decode_records_reason_and_detail(tmp_path):
    """Each failed decode is recorded once with its reason and a detail that says what went wrong:
    the decoder's exception type and message, the wrong depth mode, or the two sizes."""
    def pair(name, rgb_shape=(ROWS, COLS), depth=None, rgb_bytes=None, depth_bytes=None):
        rgb_path, depth_path = tmp_path / f"rgb_{name}.jpg", tmp_path / f"sync_depth_{name}.png"
        if rgb_bytes is None:
            _jpg(rgb_path, 60, shape=rgb_shape)
        else:
            rgb_path.write_bytes(rgb_bytes)
        if depth_bytes is not None:
            depth_path.write_bytes(depth_bytes)
        elif depth.dtype == np.uint16:
            _png16(depth_path, depth)
        else:
            Image.fromarray(depth).save(depth_path)  # 8-bit grey: mode 'L'
        return nyu.FramePair("s", rgb_path, depth_path)

    cases = [(pair("1", depth=depth_mm(0), rgb_bytes=b""), "rgb_path", nyu.UNREADABLE_RGB),
             (pair("2", depth=np.ones((ROWS, COLS), np.uint8)), "depth_path", nyu.DEPTH_NOT_16BIT),
             (pair("3", depth_bytes=b"not a png at all"), "depth_path", nyu.UNREADABLE_DEPTH),
             (pair("4", depth=np.ones((4, 4), np.uint16)), "rgb_path", nyu.SIZE_MISMATCH),
             (pair("5", depth=np.zeros((ROWS, COLS), np.uint16)), "depth_path", nyu.EMPTY_DEPTH)]
    for p, which, reason in cases:
        report = nyu.SkipReport()
        assert nyu._decode(p, report) is None
        assert [(s.path, s.reason) for s in report.skipped] == [(str(getattr(p, which)), reason)]
        detail = report.skipped[0].detail
        if reason in (nyu.UNREADABLE_RGB, nyu.UNREADABLE_DEPTH):
            assert detail.startswith("UnidentifiedImageError: cannot identify image file"), detail
        elif reason == nyu.DEPTH_NOT_16BIT:
            assert detail == "mode 'L', expected a 16-bit grey PNG ('I;16')"
        elif reason == nyu.SIZE_MISMATCH:
            assert detail == f"rgb (6, 8), depth (4, 4) in {p.depth_path}"
        else:
            assert detail == ""
    report = nyu.SkipReport()
    rgb, depth = nyu._decode(pair("6", depth=depth_mm(1)), report)
    assert rgb.shape == (ROWS, COLS, 3) and np.array_equal(depth, depth_mm(1)) and report.skipped == []


# ---------------------------------------------------------------- exact contracts: load_unlabeled

def test_load_unlabeled_argument_errors(scenes):
    """``n`` must be a positive int (not 0, not a bool, not a float) and ``seed`` an int (not a bool
    or a float); each error shows the value given. The root is named when too few pairs exist."""
    for n in (0, -1, True, 2.0, "2"):
        with pytest.raises(ValueError, match=rf"^n must be a positive integer, got {re.escape(repr(n))}$"):
            nyu.load_unlabeled(scenes, n=n, seed=0)
    for seed in (True, 1.5, "0"):
        with pytest.raises(ValueError, match=rf"^seed must be an integer, got {re.escape(repr(seed))}$"):
            nyu.load_unlabeled(scenes, n=1, seed=seed)
    assert nyu.load_unlabeled(scenes, n=np.int64(1), seed=np.int32(0)).rgb.shape == (1, 3, ROWS, COLS)
    with pytest.raises(nyu.NotEnoughFrames, match=rf"^asked for 10 unlabeled frames under {_quoted(scenes)} "
                                                  r"but found only 9 rgb/depth pairs \(9 rgb/depth pairs\); "
                                                  r"2 files skipped: 1 depth without rgb, 1 rgb without depth$"):
        nyu.load_unlabeled(scenes, n=10, seed=0)


def _good_scene(root, shapes):
    scene = root / "s"
    scene.mkdir(parents=True)
    for k, shape in enumerate(shapes):
        _jpg(scene / f"rgb_{k:05d}.jpg", 50 + 40 * k, shape=shape)
        d = np.full(shape, 1000 + 250 * k, np.uint16)
        d[0, 0] = 1
        _png16(scene / f"sync_depth_{k:05d}.png", d)
    return root


def test_load_unlabeled_exactly_n_pairs_and_exact_metres(tmp_path):
    """Asking for exactly as many frames as there are pairs succeeds; depth is millimetres / 1000
    in float32, exactly, even when torch's default dtype is float64."""
    root = _good_scene(tmp_path / "raw", [(ROWS, COLS), (ROWS, COLS)])
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        out = nyu.load_unlabeled(root, n=2, seed=0)
    finally:
        torch.set_default_dtype(before)
    assert out.depth.dtype == torch.float32 and out.rgb.dtype == torch.uint8
    assert sorted(p.rgb_path.name for p in out.pairs) == ["rgb_00000.jpg", "rgb_00001.jpg"]
    for k, p in enumerate(out.pairs):
        mm = nyu.read_depth_png(p.depth_path)
        assert torch.equal(out.depth[k], torch.from_numpy(mm.astype(np.float32) / np.float32(1000)))
    assert out.report.skipped == [] and out.report.summary() == "0 files skipped"


def test_load_unlabeled_skips_a_frame_of_another_size_and_goes_on(tmp_path):
    """Without ``size``, a frame whose size differs from the first good frame's is skipped with
    reason SIZE_DIFFERS, its rgb path and both sizes, and decoding goes on to the next pair."""
    root = _good_scene(tmp_path / "raw", [(ROWS, COLS), (4, 4), (ROWS, COLS)])
    seed = next(s for s in range(100) if np.random.default_rng(s).permutation(3)[1] == 1)  # small one second
    out = nyu.load_unlabeled(root, n=2, seed=seed)
    assert out.rgb.shape == (2, 3, ROWS, COLS)
    assert sorted(p.rgb_path.name for p in out.pairs) == ["rgb_00000.jpg", "rgb_00002.jpg"]
    assert out.report.skipped == [nyu.Skip(str(root / "s" / "rgb_00001.jpg"), nyu.SIZE_DIFFERS, "(4, 4) vs (6, 8)")]
    assert out.report.counts == {nyu.SIZE_DIFFERS: 1}


def test_nearest_index_is_clamped_to_the_last_source_index():
    """The clamp is ``in_len - 1`` (the last source pixel), never past it: with an empty source the
    index is -1 everywhere, so resizing an empty axis to a non-empty one is an IndexError (no pixel
    to copy), and an empty output stays empty."""
    assert nyu._nearest_index(0, 3).tolist() == [-1, -1, -1]
    assert nyu._nearest_index(1, 4).tolist() == [0, 0, 0, 0]
    with pytest.raises(IndexError):
        nyu.resize_nearest(np.zeros((0, 4)), (2, 2))
    assert nyu.resize_nearest(np.zeros((0, 4)), (0, 2)).shape == (0, 2)
