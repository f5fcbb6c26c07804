"""The rendered NYU stand-in: determinism, geometry the renderer promises, Kinect-like holes, errors."""
import dataclasses
import math

import numpy as np
import pytest

from mke.data import nyuv2_standin as ns

SMALL = ns.StandinConfig(height=24, width=32, n_labeled=12, n_unlabeled=10, walk_length=4)


@pytest.fixture(scope="module")
def frames():
    return ns.generate_labeled(SMALL), ns.generate_unlabeled(SMALL)


def test_shapes_and_dtypes(frames):
    lab, unl = frames
    assert lab.rgb.shape == (12, 3, 24, 32) and lab.rgb.dtype == np.uint8
    assert lab.depth.shape == lab.depth_exact.shape == lab.label.shape == (12, 24, 32)
    assert unl.rgb.shape == (10, 3, 24, 32)
    assert lab.depth.dtype == np.float32 and lab.label.dtype == np.uint8
    # labels are NYU-40 indices or void
    values = set(np.unique(np.concatenate([lab.label.ravel(), unl.label.ravel()])).tolist())
    assert values <= set(range(40)) | {255}
    assert {ns.WALL, ns.FLOOR} <= values


def test_same_config_same_frames_other_seed_other_frames(frames):
    lab, unl = frames
    again = ns.generate_labeled(SMALL)
    assert np.array_equal(again.rgb, lab.rgb) and np.array_equal(again.depth, lab.depth)
    other = ns.generate_labeled(dataclasses.replace(SMALL, seed=1))
    assert not np.array_equal(other.rgb, lab.rgb)


def test_walks_share_a_room_and_move(frames):
    _, unl = frames
    assert unl.room.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    # consecutive frames of a walk differ (the camera moves) but see the same room
    assert not np.array_equal(unl.depth_exact[0], unl.depth_exact[1])
    assert unl.kind[0] == unl.kind[3]


@pytest.mark.parametrize("auto", [False, True])
def test_auto_exposure_re_exposes_each_frame_of_a_walk_but_keeps_its_daylight(monkeypatch, auto):
    seen = []
    render = ns.render

    def recording(room, position, yaw, pitch, light, rng, cfg):
        seen.append((id(room), light))
        return render(room, position, yaw, pitch, light, rng, cfg)

    monkeypatch.setattr(ns, "render", recording)
    cfg = dataclasses.replace(SMALL, n_unlabeled=8, auto_exposure=auto)
    unl = ns.generate_unlabeled(cfg)
    walk = [light for room, light in seen if room == seen[-1][0]][-4:]  # the last walk's 4 frames
    gains = {light[0] for light in walk}
    assert len(gains) == (4 if auto else 1)
    assert len({tuple(light[1]) for light in walk}) == (4 if auto else 1)  # white balance
    assert len({light[2] for light in walk}) == 1  # the daylight outside stays
    assert all(cfg.exposure[0] <= g <= cfg.exposure[1] for g in gains)
    assert unl.room.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_kinect_depth_is_exact_depth_plus_small_noise_with_holes(frames):
    lab, _ = frames
    valid = lab.depth > 0
    assert 0.6 <= valid.mean() < 1.0  # views are not blocked, and some pixels have no reading
    err = np.abs(lab.depth[valid] - lab.depth_exact[valid])
    # sigma = 1.2 mm + 1.9 mm (z - 0.4)^2 <= 7 cm at 6 m; rounding to mm adds 0.5 mm
    z = lab.depth_exact[valid]
    assert (err <= 6 * (0.0012 + 0.0019 * (z - 0.4) ** 2) + 0.0006).all()
    assert (lab.depth[valid] <= 6.0).all()


def test_glass_loses_readings_far_more_often_than_walls():
    cfg = dataclasses.replace(SMALL, n_labeled=60, height=36, width=48)
    lab = ns.generate_labeled(cfg)
    glass = np.isin(lab.label, ns.GLASS)
    wall = lab.label == ns.WALL
    assert glass.sum() > 50
    assert (lab.depth[glass] == 0).mean() > 0.4 > 5 * (lab.depth[wall] == 0).mean()


def test_no_holes_without_noise_sources():
    cfg = dataclasses.replace(SMALL, glass_holes=0.0, edge_holes=0.0, depth_noise=0.0)
    lab = ns.generate_labeled(cfg)
    near_far = (lab.depth_exact < 0.45) | (lab.depth_exact > 6.0)
    assert np.array_equal(lab.depth == 0, near_far)
    ok = ~near_far
    assert np.abs(lab.depth[ok] - lab.depth_exact[ok]).max() <= 0.0005 + 1e-6  # millimetre rounding only


def test_floor_is_below_the_camera_and_ceiling_above():
    """Rays hitting the floor go down: with the camera 1.0-1.6 m up and pitched 5-25 degrees down,
    floor pixels lie in the lower part of the image and ceiling pixels in the upper part."""
    lab = ns.generate_labeled(dataclasses.replace(SMALL, n_labeled=30))
    rows = np.arange(lab.label.shape[1])[None, :, None]
    floor_rows = np.broadcast_to(rows, lab.label.shape)[lab.label == ns.FLOOR]
    ceiling_rows = np.broadcast_to(rows, lab.label.shape)[lab.label == ns.CEILING]
    assert floor_rows.mean() > lab.label.shape[1] * 0.6
    if len(ceiling_rows):
        assert ceiling_rows.mean() < lab.label.shape[1] * 0.4


def test_intrinsics_scale_with_the_frame():
    fx, fy, cx, cy = ns.intrinsics(480, 640)
    assert (fx, fy) == (ns.NYU_FX, ns.NYU_FY)
    assert math.isclose(cx, ns.NYU_CX) and math.isclose(cy, ns.NYU_CY)
    fx2, _, cx2, _ = ns.intrinsics(240, 320)
    assert math.isclose(fx2, ns.NYU_FX / 2) and math.isclose(cx2, (ns.NYU_CX + 0.5) / 2 - 0.5)


def test_colour_overlap_controls_how_much_colour_says_the_class():
    """With overlap 0 each class keeps its own colour; with 1 a class's instances take any colour
    of their material group, so the mean colours of two wood classes come closer."""
    def class_spread(overlap):
        lab = ns.generate_labeled(dataclasses.replace(SMALL, n_labeled=40, colour_overlap=overlap, exposure=(1.0, 1.0),
                                                      white_balance=0.0))
        means = {}
        for k in (ns.CABINET, ns.TABLE, ns.DRESSER, ns.DESK, ns.DOOR):
            m = lab.label == k
            if m.sum() > 20:
                means[k] = lab.rgb.transpose(0, 2, 3, 1)[m].astype(float).std(0).mean()
        return np.mean(list(means.values()))

    assert class_spread(1.0) > class_spread(0.0)


def test_pattern_recolours_patches_of_furniture_and_nothing_else():
    """``pattern`` moves patches of each piece of furniture towards a second colour of its group:
    the same rooms and views (labels and depth are unchanged), walls, floor and ceiling are
    untouched, and furniture shows more colours within one frame's class region."""
    cfg = dataclasses.replace(SMALL, n_labeled=30, pattern=0.0)
    plain, patterned = ns.generate_labeled(cfg), ns.generate_labeled(dataclasses.replace(cfg, pattern=0.8))
    assert np.array_equal(plain.label, patterned.label) and np.array_equal(plain.depth, patterned.depth)
    changed = (plain.rgb != patterned.rgb).any(1)
    room = np.isin(plain.label, (ns.WALL, ns.FLOOR, ns.CEILING))
    assert not changed[room].any() and changed[~room].mean() > 0.2

    def spread(frames):  # colour spread inside each (frame, furniture class) region
        out = []
        for i in range(len(frames.label)):
            for k in np.unique(frames.label[i]):
                m = frames.label[i] == k
                if k not in (ns.WALL, ns.FLOOR, ns.CEILING, ns.VOID) and m.sum() >= 30:
                    out.append(frames.rgb[i].transpose(1, 2, 0)[m].astype(float).std(0).mean())
        return np.mean(out)

    assert spread(patterned) > 1.1 * spread(plain)
    assert np.array_equal(ns.generate_labeled(dataclasses.replace(cfg, pattern=0.8)).rgb, patterned.rgb)


def test_colourise_uses_the_nyu_palette_and_black_void():
    lab = np.array([[0, 1], [255, 39]], np.uint8)
    img = ns.colourise(lab)
    assert img.shape == (2, 2, 3)
    assert img[0, 0].tolist() == [174, 199, 232] and img[1, 0].tolist() == [0, 0, 0]
    assert len(ns.NYU40_COLOURS) == 40


@pytest.mark.parametrize("field,value", [("height", 4), ("n_unlabeled", 0), ("colour_overlap", 1.5),
                                         ("glass_holes", -0.1), ("depth_noise", -1.0), ("exposure", (0.0, 1.0)),
                                         ("pattern", 1.2)])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        dataclasses.replace(SMALL, **{field: value})
