"""NYU Depth V2 loaders on tiny files in the real formats: a MATLAB v7.3 (HDF5) labeled file
written with h5py in MATLAB's column-major layout, and raw-sequence scene folders of JPEGs and
16-bit PNGs written with Pillow."""
import pickle

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


def write_mat(path, skip=(), shapes=None, n=N):
    """A tiny nyu_depth_v2_labeled.mat: a 512-byte MATLAB header (userblock), then datasets stored
    as h5py sees the real file: images (n, 3, W, H) uint8, depths / rawDepths (n, W, H) float32,
    labels (n, W, H) uint16."""
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
    with h5py.File(path, "w", userblock_size=512) as f:
        for name, a in data.items():
            if name not in skip:
                f.create_dataset(name, data=a, chunks=(1,) + a.shape[1:])
                f[name].attrs["MATLAB_class"] = np.bytes_("uint8" if a.dtype == np.uint8 else "single")
        # the scenes cell array: references to uint16 character arrays stored (len, 1)
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
