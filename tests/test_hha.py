"""HHA (Gupta et al., ECCV 2014) on ray-cast synthetic rooms whose geometry is known exactly.

The room: a floor (world height 0) and a wall facing the camera, ``wall`` metres ahead
horizontally; the camera stands ``height`` metres above the floor, pitched down by ``pitch``
degrees, with NYU's colour intrinsics scaled to the frame. World axes: X right, Y up, Z
horizontal forward; camera axes: x right, y down, z forward.
"""
import math
import time

import numpy as np
import pytest

from mke.data import hha as H

RNG = np.random.default_rng(0)


def camera_axes(pitch_deg):
    """Columns: the camera's x (right), y (down), z (forward) in world coordinates."""
    p = math.radians(pitch_deg)
    right = np.array([1.0, 0.0, 0.0])
    forward = np.array([0.0, -math.sin(p), math.cos(p)])
    down = np.array([0.0, -math.cos(p), -math.sin(p)])
    return np.stack([right, down, forward], axis=1)


def render_room(w=160, h=120, height=1.2, pitch=10.0, wall=4.0):
    """Exact depth Z (metres, camera z) per pixel, the world point it sees, and which plane."""
    K = H.NYU_INTRINSICS.scaled(w, h)
    R = camera_axes(pitch)
    v, u = np.mgrid[0:h, 0:w].astype(float)
    rays_cam = np.stack([(u - K.cx) / K.fx, (v - K.cy) / K.fy, np.ones_like(u)], axis=-1)  # z = 1
    rays = rays_cam @ R.T  # world directions; the camera-z component of each is 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(rays[..., 1] < 0, -height / rays[..., 1], np.inf)
        t_wall = np.where(rays[..., 2] > 0, wall / rays[..., 2], np.inf)
    t = np.minimum(t_floor, t_wall)
    assert np.isfinite(t).all(), "every pixel must see the floor or the wall"
    world = np.array([0.0, height, 0.0]) + t[..., None] * rays
    return t, world, t_floor <= t_wall, K


def true_up(pitch):
    return camera_axes(pitch).T @ np.array([0.0, 1.0, 0.0])


def true_wall_normal(pitch):
    return camera_axes(pitch).T @ np.array([0.0, 0.0, -1.0])


def interior(mask, r):
    """Pixels whose (2r+1)^2 window lies inside ``mask`` and inside the frame."""
    from scipy.ndimage import binary_erosion
    return binary_erosion(mask, np.ones((2 * r + 1, 2 * r + 1)), border_value=0)


def angle_deg(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    return np.degrees(np.arccos(np.clip((a * b).sum(-1), -1, 1)))


def noisy(depth, rel=0.01, holes=0.05, seed=1):
    rng = np.random.default_rng(seed)
    out = depth * (1 + rel * rng.standard_normal(depth.shape))
    out[rng.random(depth.shape) < holes] = 0.0
    return out


# ---------------------------------------------------------------- intrinsics, point cloud

def test_scaled_intrinsics_pixel_centres():
    K = H.NYU_INTRINSICS.scaled(160, 120)
    assert (K.width, K.height) == (160, 120)
    assert K.fx == pytest.approx(518.857901 / 4) and K.fy == pytest.approx(519.469611 / 4)
    # centre of pixel u sits u + 0.5 from the edge, and that distance scales by 1/4
    assert K.cx == pytest.approx((325.582449 + 0.5) / 4 - 0.5)
    assert K.cy == pytest.approx((253.736166 + 0.5) / 4 - 0.5)
    back = K.scaled(640, 480)
    assert back.cx == pytest.approx(H.NYU_INTRINSICS.cx) and back.fy == pytest.approx(H.NYU_INTRINSICS.fy)
    with pytest.raises(ValueError, match="width"):
        H.NYU_INTRINSICS.scaled(0, 120)
    with pytest.raises(ValueError, match="fx"):
        H.Intrinsics(-1.0, 1.0, 0.0, 0.0, 4, 4)


def test_point_cloud_reproduces_the_rendered_points():
    depth, world, _, K = render_room()
    pts = H.point_cloud(depth, K)
    assert pts.shape == (120, 160, 3) and pts.dtype == np.float64
    cam = (world - np.array([0.0, 1.2, 0.0])) @ camera_axes(10.0)  # world -> camera coordinates
    np.testing.assert_allclose(pts, cam, atol=1e-9)
    # one pixel by hand: u=100, v=90 -> ((u - cx) Z / fx, (v - cy) Z / fy, Z)
    z = depth[90, 100]
    np.testing.assert_allclose(pts[90, 100], [(100 - K.cx) * z / K.fx, (90 - K.cy) * z / K.fy, z])


def test_point_cloud_nan_at_holes_and_default_intrinsics():
    depth = np.full((48, 64), 2.0)
    depth[3, 4], depth[5, 6], depth[7, 8] = 0.0, -1.0, np.nan
    pts = H.point_cloud(depth)  # K=None: NYU scaled to 64 x 48
    assert np.isnan(pts[[3, 5, 7], [4, 6, 8]]).all()
    assert np.isfinite(pts).all(axis=-1).sum() == 48 * 64 - 3
    K = H.NYU_INTRINSICS.scaled(64, 48)
    assert pts[0, 0, 0] == pytest.approx(-K.cx * 2.0 / K.fx)


# ---------------------------------------------------------------- normals, gravity

@pytest.mark.parametrize("method", ["inverse_depth", "pca"])
@pytest.mark.parametrize("pitch", [10.0, 25.0])
def test_normals_of_floor_and_wall(pitch, method):
    depth, _, floor, K = render_room(pitch=pitch)
    window = H.window_for_width(160)
    assert window == 3  # Gupta's radius 3 at 640 wide, scaled by 1/4 and rounded half up: 1
    n = H.surface_normals(H.point_cloud(depth, K), method=method)
    assert n.shape == (120, 160, 3)
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-9)
    r = window // 2
    f, w = interior(floor, r), interior(~floor, r)
    assert f.sum() > 500 and w.sum() > 500
    assert angle_deg(n[f], true_up(pitch)).max() < 3.0
    assert angle_deg(n[w], true_wall_normal(pitch)).max() < 3.0


def test_window_rule():
    assert [H.window_for_width(w) for w in (640, 320, 160, 64)] == [7, 5, 3, 3]
    assert [H.window_for_width(w, H.GRAVITY_RADIUS_640) for w in (640, 320, 160, 64)] == [21, 11, 7, 3]


def test_noisy_normals_are_unbiased():
    """With 1 % depth noise the mean floor and wall normals stay on the truth (inverse depth)."""
    depth, _, floor, K = render_room()
    n = H.surface_normals(H.point_cloud(noisy(depth, holes=0.0), K), window=7)
    f, w = interior(floor, 3), interior(~floor, 3)
    assert angle_deg(np.nanmean(n[f], axis=0), true_up(10.0)) < 2.0
    assert angle_deg(np.nanmean(n[w], axis=0), true_wall_normal(10.0)) < 2.0


def test_normals_nan_where_neighbours_are_missing():
    depth, _, _, K = render_room()
    depth[40:80, 40:80] = 0.0
    depth[10, 10] = 0.0
    n = H.surface_normals(H.point_cloud(depth, K), window=5)
    assert np.isnan(n[40:80, 40:80]).all()  # no point of its own
    assert np.isnan(n[10, 10]).all()
    assert np.isfinite(n[11, 11]).all()  # one missing neighbour is not too few
    # an isolated pixel: 1 valid neighbour of 25 (< ceil(25/4) = 7)
    lone = np.zeros((30, 40))
    lone[15, 20] = 2.0
    lone[15, 21] = 2.0
    assert np.isnan(H.surface_normals(H.point_cloud(lone), window=5)).all()
    # a full row of depth: enough pixels but collinear, so no plane
    line = np.zeros((30, 40))
    line[15] = 2.0
    for method in ("inverse_depth", "pca"):
        assert np.isnan(H.surface_normals(H.point_cloud(line), window=3, min_valid=3, method=method)).all()
    with pytest.raises(ValueError, match="window"):
        H.surface_normals(H.point_cloud(depth, K), window=4)
    with pytest.raises(ValueError, match="points"):
        H.surface_normals(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="method"):
        H.surface_normals(H.point_cloud(depth, K), method="svd")


@pytest.mark.parametrize("pitch", [10.0, 25.0])
@pytest.mark.parametrize("noise", [False, True])
def test_gravity_recovers_the_pitch(pitch, noise):
    depth, _, _, K = render_room(pitch=pitch)
    if noise:  # Kinect-like: 1 % of depth, Gaussian, and 5 % holes
        depth = noisy(depth)
    n = H.surface_normals(H.point_cloud(depth, K), window=H.window_for_width(160, H.GRAVITY_RADIUS_640))
    up = H.estimate_gravity(n)
    assert np.linalg.norm(up) == pytest.approx(1.0)
    assert angle_deg(up, true_up(pitch)) < 2.0
    # the pitch itself: angle between the camera's forward axis and the horizontal plane
    assert math.degrees(math.asin(-up[2])) == pytest.approx(pitch, abs=2.0)


def test_gravity_plain_cases_and_errors():
    # floor-only normals tilted 20 degrees from the camera's up axis: found exactly
    g = np.array([0.0, -math.cos(math.radians(20)), -math.sin(math.radians(20))])
    normals = np.tile(g, (50, 1))
    np.testing.assert_allclose(H.estimate_gravity(normals), g, atol=1e-12)
    # sign follows init
    np.testing.assert_allclose(H.estimate_gravity(normals, init=(0, 1, 0)), -g, atol=1e-12)
    # only a fronto-parallel wall: up and sideways fit equally; the estimate keeps init
    wall = np.tile([0.0, 0.0, -1.0], (50, 1))
    np.testing.assert_allclose(H.estimate_gravity(wall), [0.0, -1.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="no finite normal"):
        H.estimate_gravity(np.full((4, 4, 3), np.nan))
    with pytest.raises(ValueError, match="thresholds"):
        H.estimate_gravity(normals, thresholds=(95,))
    with pytest.raises(ValueError, match="init"):
        H.estimate_gravity(normals, init=(0, 0, 0))


# ---------------------------------------------------------------- the three channels

def test_channels_on_the_room():
    depth, world, floor, K = render_room()
    out = H.hha_float(depth, K)
    img = H.hha(depth, K)
    assert out.shape == (3, 120, 160) and out.dtype == np.float64
    assert img.shape == (3, 120, 160) and img.dtype == np.uint8
    # disparity: 31000 / Z[cm] exactly
    np.testing.assert_allclose(out[0], 31000.0 / (depth * 100.0), rtol=1e-12)
    np.testing.assert_array_equal(img[0], np.clip(np.rint(31000.0 / (depth * 100.0)), 0, 255).astype(np.uint8))
    # height: floor ~0, the wall at world height Y reads 100 Y
    f, w = interior(floor, 1), interior(~floor, 1)
    assert np.abs(out[1][floor]).max() < 3.0
    np.testing.assert_allclose(out[1][~floor], 100.0 * world[..., 1][~floor], atol=3.0)
    row = np.argmin(np.abs(world[:, 80, 1] - 1.0) + 1e3 * floor[:, 80])  # a wall pixel 1 m up
    assert abs(world[row, 80, 1] - 1.0) < 0.02
    assert out[1][row, 80] == pytest.approx(100.0 * world[row, 80, 1], abs=3.0)
    # angle: floor 38, wall 128 (Gupta's angle + 128 - 90)
    np.testing.assert_allclose(out[2][f], 38.0, atol=3.0)
    np.testing.assert_allclose(out[2][w], 128.0, atol=3.0)
    assert np.abs(img[2][f].astype(int) - 38).max() <= 3 and np.abs(img[2][w].astype(int) - 128).max() <= 3


def test_given_gravity_is_used():
    depth, _, floor, K = render_room()
    out = H.hha_float(depth, K, gravity=2.0 * true_up(10.0))  # any length: normalised
    np.testing.assert_allclose(out[1][floor], 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="gravity"):
        H.hha(depth, K, gravity=(0, 0, 0))


def test_ground_is_a_low_percentile_of_heights():
    """Flying pixels below the floor (0.5 % of the frame) do not lift the floor off 0 cm."""
    depth, _, floor, K = render_room()
    up = true_up(10.0)
    rng = np.random.default_rng(3)
    fly = np.zeros_like(floor)
    fly.flat[rng.choice(np.flatnonzero(floor), size=int(0.005 * floor.size), replace=False)] = True
    depth = np.where(fly, depth * 1.3, depth)  # further along a floor ray = below the floor
    out = H.hha_float(depth, K, gravity=up)
    heights = 100.0 * H.point_cloud(depth, K) @ up
    np.testing.assert_allclose(out[1], heights - np.percentile(heights, H.FLOOR_PERCENTILE), atol=1e-9)
    assert np.abs(out[1][floor & ~fly]).max() < 1e-6  # 1st percentile: the floor itself
    assert (out[1][fly] < -10).all()
    lowest = H.hha_float(depth, K, gravity=up, floor_percentile=0.0)  # Gupta's minimum
    assert np.median(lowest[1][floor & ~fly]) > 10


def test_channels_with_kinect_noise():
    depth, world, floor, K = render_room()
    out = H.hha_float(noisy(depth), K)
    holes = ~np.isfinite(out[0])
    f, w = interior(floor, 1) & ~holes, interior(~floor, 1) & ~holes
    # Per pixel, 3 x 3 normals of 1 %-noisy depth scatter by ~10 degrees; the angle is a
    # magnitude, so the channel's median on the floor sits above 38, far from the wall's 128.
    assert 38.0 <= np.nanmedian(out[2][f]) < 55.0
    assert np.nanmedian(out[2][w]) == pytest.approx(128.0, abs=3.0)
    wall = ~floor & ~holes
    assert np.median(np.abs(out[1][wall] - 100.0 * world[..., 1][wall])) < 3.0
    assert np.median(np.abs(out[1][floor & ~holes])) < 3.0


def test_near_pixels_saturate_and_holes_are_zero():
    depth = np.full((48, 64), 0.8)  # a fronto-parallel wall 0.8 m away: 31000 / 80 = 387.5
    depth[10:14, 20:30] = 0.0
    out = H.hha_float(depth)
    img = H.hha(depth)
    assert out[0][0, 0] == pytest.approx(387.5)
    valid = depth > 0
    assert (img[0][valid] == 255).all()
    assert (img[:, 10:14, 20:30] == 0).all()
    assert np.isnan(out[:, 10:14, 20:30]).all()


def test_small_frame_48x64():
    depth, _, floor, K = render_room(w=64, h=48)
    img = H.hha(depth)  # K=None: NYU scaled to the frame, the same as K
    np.testing.assert_array_equal(img, H.hha(depth, K))
    assert img.shape == (3, 48, 64)
    f = interior(floor, 1)
    assert f.sum() > 50
    assert np.abs(img[2][f].astype(int) - 38).max() <= 3


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="2-D"):
        H.hha(np.ones((1, 48, 64)))
    with pytest.raises(ValueError, match="no valid pixel"):
        H.hha(-np.ones((48, 64)))
    with pytest.raises(ValueError, match="no valid pixel"):
        H.point_cloud(np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="millimetres"):
        H.hha(np.full((48, 64), 2500.0))
    with pytest.raises(ValueError, match=r"K.scaled\(64, 48\)"):
        H.hha(np.ones((48, 64)), H.NYU_INTRINSICS)
    with pytest.raises(ValueError, match="floor_percentile"):
        H.hha(np.ones((48, 64)), floor_percentile=120)


def test_full_frame_runtime():
    depth, _, floor, K = render_room(w=640, h=480)
    depth = noisy(depth, rel=0.005, holes=0.02)
    t0 = time.perf_counter()
    img = H.hha(depth, K)
    seconds = time.perf_counter() - t0
    print(f"\nHHA of one 480x640 frame: {seconds:.2f} s")
    assert img.shape == (3, 480, 640)
    assert seconds < 10.0


def test_frame_without_any_normal_keeps_camera_up():
    """A frame where no plane can be fitted (isolated readings) still encodes: gravity falls back to the camera's up."""
    depth = np.zeros((48, 64))
    depth[::7, ::9] = 2.0  # isolated pixels: no window has enough neighbours
    out = H.hha(depth)
    assert out.shape == (3, 48, 64)
    assert (out[0][depth > 0] == 155).all()  # 31000 / 200 cm
    assert (out[:, depth == 0] == 0).all()
