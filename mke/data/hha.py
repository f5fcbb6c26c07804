"""HHA: a depth frame encoded as three image-like channels (Gupta et al., ECCV 2014).

Gupta, Girshick, Arbelaez & Malik, "Learning Rich Features from RGB-D Images for Object
Detection and Segmentation" (ECCV 2014), Sec. 4, encode depth as

1. horizontal disparity, ``31000 / Z`` with ``Z`` in centimetres (Z = 1.216 m reads 255);
2. height above the ground, in centimetres, along the estimated gravity direction;
3. angle between the surface normal and gravity, in degrees, written ``angle + 128 - 90``
   as in their code: a floor reads 38, a wall 128, a ceiling 218.

Each channel is saturated to ``[0, 255]`` and stored as ``uint8``; pixels without depth read 0
in every channel (this module's choice; Gupta's code leaves them to its filled-in depth).

Steps, after Gupta's ``processDepthImage`` (rgbdutils, BSD) but vectorised with numpy/scipy:

* :func:`point_cloud`: back-projection with pinhole :class:`Intrinsics`, camera coordinates
  x right, y down, z forward, in metres (the channels convert to centimetres, as Gupta).
* :func:`surface_normals`: a least-squares plane per pixel over a square window of valid
  neighbours, from box-filtered moments (``scipy.ndimage.uniform_filter``), facing the camera.
  By default Gupta's fit in inverse depth, ``1/z = a . (x/z, y/z, 1)``, which is unbiased under
  depth noise (noise lies along the rays); ``method="pca"`` gives the textbook fit, the
  smallest eigenvector (``np.linalg.eigh``) of the neighbours' 3 x 3 covariance, which tilts
  under such noise (see :func:`surface_normals`).
* :func:`estimate_gravity`: Gupta's ``getYDir``: from the camera's up axis, alternately split
  the normals into those nearly parallel to the current up direction (floors, ceilings, table
  tops) and those nearly perpendicular (walls), and take as new up direction the eigenvector of
  the smallest eigenvalue of ``N_perp^T N_perp - N_par^T N_par`` (the direction most aligned
  with the first set and most orthogonal to the second); thresholds 45 then 15 degrees, five
  iterations each, as Gupta.
* :func:`hha_float` / :func:`hha`: the three channels.

Window sizes follow Gupta's radii at 640 x 480 (3 for the normals of the angle channel, a 7 x 7
window; 10 for the smoother normals that estimate gravity, 21 x 21) and scale with the frame's
width: radius ``max(1, floor(r_640 * W / 640 + 0.5))``, window ``2 * radius + 1``
(:func:`window_for_width`). Conventions of gravity here: :func:`estimate_gravity` returns the
unit **up** vector (against gravity) in camera coordinates; with normals facing the camera, a
floor's normal is parallel to it (angle 0, channel 38).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Gupta's constant: disparity channel = DISPARITY_NUMERATOR / Z[cm].
DISPARITY_NUMERATOR = 31000.0
#: Gupta's offset of the angle channel, ``angle + 128 - 90``: floor 38, wall 128, ceiling 218.
ANGLE_OFFSET = 128.0 - 90.0
#: Gupta's window radii at 640 pixels wide: normals for the angle channel, normals for gravity.
NORMAL_RADIUS_640 = 3
GRAVITY_RADIUS_640 = 10
#: the ground is this percentile of the heights along gravity (Gupta takes the minimum; a low
#: percentile instead keeps a few flying pixels below the floor from moving every height).
FLOOR_PERCENTILE = 1.0
#: getYDir's thresholds (degrees) and iterations per threshold.
GRAVITY_THRESHOLDS = (45.0, 15.0)
GRAVITY_ITERATIONS = 5
#: depth above this median (in the input's unit) is taken for millimetres, not metres.
_MAX_PLAUSIBLE_MEDIAN_M = 50.0


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics of a camera for frames of ``width`` x ``height`` pixels.

    Pixel convention: column ``u`` and row ``v`` are 0-based and ``(u, v)`` is the centre of
    that pixel (Bouguet's calibration toolbox, with which NYU was calibrated, and OpenCV); a
    pixel at ``(u, v)`` with depth ``Z`` is the point ``((u - cx) Z / fx, (v - cy) Z / fy, Z)``.
    """
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self):
        for name in ("fx", "fy"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"Intrinsics.{name} must be a positive finite focal length in pixels, got {v!r}")
        for name in ("cx", "cy"):
            v = getattr(self, name)
            if not np.isfinite(v):
                raise ValueError(f"Intrinsics.{name} must be finite, got {v!r}")
        for name in ("width", "height"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Intrinsics.{name} must be a positive integer number of pixels, got {v!r}")

    def scaled(self, width: int, height: int) -> "Intrinsics":
        """The same camera for the frame resized to ``width`` x ``height`` (whole frame, no crop).

        Resizing maps the frame's edges onto each other, so a pixel centre ``u`` (0-based)
        sits at ``u + 0.5`` from the left edge and moves to ``(u + 0.5) * s - 0.5`` with
        ``s = width / self.width``: ``fx' = fx * s``, ``cx' = (cx + 0.5) * s - 0.5`` (and the
        same for y with ``height / self.height``).
        """
        for name, v in (("width", width), ("height", height)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Intrinsics.scaled: {name} must be a positive integer, got {v!r}")
        sx, sy = width / self.width, height / self.height
        return Intrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5,
                          (self.cy + 0.5) * sy - 0.5, int(width), int(height))


#: NYU Depth V2's colour camera (the toolbox's ``camera_params.m``: fx_rgb, fy_rgb, cx_rgb,
#: cy_rgb), to which the labeled set's depth is registered.
NYU_INTRINSICS = Intrinsics(518.857901, 519.469611, 325.582449, 253.736166, 640, 480)


def window_for_width(width: int, radius_640: int = NORMAL_RADIUS_640) -> int:
    """Side of the square normal window for frames ``width`` pixels wide: Gupta's radius at
    640 pixels scaled by ``width / 640``, rounded half up, at least 1; side ``2 r + 1``."""
    if width < 1 or radius_640 < 1:
        raise ValueError(f"window_for_width: width and radius_640 must be >= 1, got {width}, {radius_640}")
    r = max(1, int(math.floor(radius_640 * width / 640 + 0.5)))
    return 2 * r + 1


def _check_depth(depth_m) -> np.ndarray:
    depth = np.asarray(depth_m)
    if depth.ndim != 2:
        raise ValueError(f"depth_m must be a 2-D [H, W] depth map in metres, got shape {depth.shape}")
    if not np.issubdtype(depth.dtype, np.number) or np.iscomplexobj(depth):
        raise ValueError(f"depth_m must hold real numbers (metres), got dtype {depth.dtype}")
    depth = depth.astype(np.float64)
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        raise ValueError(f"depth_m ({depth.shape[0]}x{depth.shape[1]}) has no valid pixel: every value is "
                         f"<= 0 or not finite (depth 0 marks a hole)")
    median = float(np.median(depth[valid]))
    if median > _MAX_PLAUSIBLE_MEDIAN_M:
        # Raw NYU / Kinect depth comes in millimetres; read as metres every channel would be wrong.
        raise ValueError(f"depth_m must be in metres; its median valid depth is {median:g}, which looks like "
                         f"millimetres (divide by 1000)")
    return depth


def _resolve_intrinsics(K: Intrinsics | None, shape: tuple[int, int]) -> Intrinsics:
    h, w = shape
    if K is None:
        return NYU_INTRINSICS.scaled(w, h)
    if not isinstance(K, Intrinsics):
        raise ValueError(f"K must be an Intrinsics, got {type(K).__name__}")
    if (K.width, K.height) != (w, h):
        raise ValueError(f"K is for {K.width}x{K.height} frames but depth_m is {w}x{h} (W x H); "
                         f"pass K.scaled({w}, {h})")
    return K


def point_cloud(depth_m, K: Intrinsics | None = None) -> np.ndarray:
    """``[H, W, 3]`` camera coordinates in metres (x right, y down, z forward) of each pixel,
    NaN where the depth is ``<= 0`` or not finite. ``K=None``: NYU's colour camera scaled to the
    frame; an explicit ``K`` must be for the frame's size."""
    depth = _check_depth(depth_m)
    K = _resolve_intrinsics(K, depth.shape)
    z = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)
    v, u = np.mgrid[0:depth.shape[0], 0:depth.shape[1]].astype(np.float64)
    return np.stack([(u - K.cx) * z / K.fx, (v - K.cy) * z / K.fy, z], axis=-1)


def _check_points(points) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] != 3:
        raise ValueError(f"points must be an [H, W, 3] point cloud (from point_cloud), got shape {points.shape}")
    return points


def _box_means(valid: np.ndarray, window: int, arrays: dict[str, np.ndarray]):
    """Means of each array over the valid pixels of every ``window`` x ``window`` box, and the
    number of valid pixels per box (zero padding outside the frame, so a border box counts only
    its pixels inside the frame)."""
    m = valid.astype(np.float64)
    frac = ndimage.uniform_filter(m, size=window, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 where a box has no valid pixel
        means = {k: ndimage.uniform_filter(np.where(valid, a, 0.0), size=window, mode="constant", cval=0.0) / frac
                 for k, a in arrays.items()}
    return means, frac * window * window


def _default_min_valid(window: int) -> int:
    # A window's corner pixel keeps (r+1)^2 >= window^2 / 4 of its window inside the frame,
    # so this bound drops sparse neighbourhoods but never a frame's complete corners.
    return max(3, math.ceil(window * window / 4))


def _normals_inverse_depth(points: np.ndarray, window: int, min_valid: int) -> np.ndarray:
    """Gupta's fit (``computeNormalsSquareSupport``): the plane ``a . p = 1`` seen along rays
    ``q = p / z`` has ``1 / z = a . q``, a linear regression of inverse depth on the ray's
    ``(q_x, q_y)`` with intercept, solved per window from box-filtered moments (a 2 x 2 system
    after centring). Depth noise lies along the rays, i.e. in the regressand only, so this
    least squares is unbiased where the total least squares of ``"pca"`` is not."""
    valid = np.isfinite(points).all(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = points[..., 2]
        qx, qy, w = points[..., 0] / z, points[..., 1] / z, 1.0 / z
    E, n = _box_means(valid, window, {"x": qx, "y": qy, "w": w, "xx": qx * qx, "xy": qx * qy,
                                      "yy": qy * qy, "xw": qx * w, "yw": qy * w})
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN where a box has no valid pixel
        sxx, syy, sxy = E["xx"] - E["x"] ** 2, E["yy"] - E["y"] ** 2, E["xy"] - E["x"] * E["y"]
        sxw, syw = E["xw"] - E["x"] * E["w"], E["yw"] - E["y"] * E["w"]
        det = sxx * syy - sxy * sxy
        ax = (syy * sxw - sxy * syw) / det
        ay = (sxx * syw - sxy * sxw) / det
        az = E["w"] - ax * E["x"] - ay * E["y"]
        a = np.stack([ax, ay, az], axis=-1)
        normals = -a / np.linalg.norm(a, axis=-1, keepdims=True)  # a . p = 1 > 0: -a faces the camera
    # Collinear rays (a one-pixel line of depth) leave the plane undetermined. The rays of a
    # window form a grid whatever the depth, so det / trace^2 is ~1/4 for a full window and
    # only rounding error (~1e-13) for a line.
    with np.errstate(invalid="ignore"):
        spread = det > 1e-6 * (sxx + syy) ** 2
    ok = valid & (n > min_valid - 0.5) & spread & np.isfinite(normals).all(axis=-1)
    normals[~ok] = np.nan
    return normals


def _normals_pca(points: np.ndarray, window: int, min_valid: int) -> np.ndarray:
    """Total least squares: the eigenvector of the smallest eigenvalue of the window's 3 x 3
    covariance of points (box-filtered moments, ``np.linalg.eigh`` on the stacked matrices)."""
    valid = np.isfinite(points).all(axis=-1)
    # Centring on the frame's mean keeps the moments small, so E[xx] - E[x]E[x] loses fewer digits.
    p = np.where(valid[..., None], points - points[valid].mean(axis=0), 0.0)
    names = {f"{i}": p[..., i] for i in range(3)}
    names.update({f"{i}{j}": p[..., i] * p[..., j] for i in range(3) for j in range(i, 3)})
    E, n = _box_means(valid, window, names)
    cov = np.empty(valid.shape + (3, 3))
    for i in range(3):
        for j in range(i, 3):
            cov[..., i, j] = cov[..., j, i] = E[f"{i}{j}"] - E[f"{i}"] * E[f"{j}"]
    ok = valid & (n > min_valid - 0.5)
    cov[~ok] = np.eye(3)  # placeholders, dropped below; eigh needs finite input
    evals, evecs = np.linalg.eigh(cov)
    normals = evecs[..., :, 0]  # eigenvalues ascending: column 0 is the plane's normal
    ok &= evals[..., 1] > 1e-8 * evals[..., 2]  # collinear neighbours: second eigenvalue ~ rounding
    flip = np.einsum("...i,...i->...", normals, np.nan_to_num(points)) > 0  # face the camera: n . p < 0
    normals = np.where(flip[..., None], -normals, normals)
    normals[~ok] = np.nan
    return normals


_NORMAL_METHODS = {"inverse_depth": _normals_inverse_depth, "pca": _normals_pca}


def surface_normals(points, window: int | None = None, min_valid: int | None = None,
                    method: str = "inverse_depth") -> np.ndarray:
    """``[H, W, 3]`` unit normals of least-squares planes fitted to each pixel's
    ``window`` x ``window`` neighbourhood, facing the camera (``n . p < 0``).

    ``method``: ``"inverse_depth"`` (default; Gupta's fit of ``1/z = a . (x/z, y/z, 1)``) or
    ``"pca"`` (smallest eigenvector of the points' covariance). Both are exact on noise-free
    planes; under depth noise, which lies along the rays, PCA's normals tilt towards the plane
    perpendicular to the ray (on a ray-cast floor and wall with 1 % Gaussian depth noise at
    640 x 480, gravity from PCA normals is 3-5 degrees off, from inverse-depth normals < 0.2).
    ``window``: odd side in pixels; ``None`` scales Gupta's 7 x 7 at 640 wide to the frame
    (:func:`window_for_width`). NaN where the pixel itself has no point, where fewer than
    ``min_valid`` neighbours (default ``max(3, ceil(window^2 / 4))``) are valid, or where they
    are collinear.
    """
    points = _check_points(points)
    if method not in _NORMAL_METHODS:
        raise ValueError(f"method must be one of {sorted(_NORMAL_METHODS)}, got {method!r}")
    if window is None:
        window = window_for_width(points.shape[1])
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 3 or window % 2 == 0:
        raise ValueError(f"window must be an odd integer >= 3 (pixels), got {window!r}")
    if min_valid is None:
        min_valid = _default_min_valid(int(window))
    elif not (isinstance(min_valid, (int, np.integer)) and 3 <= min_valid <= window * window):
        raise ValueError(f"min_valid must be an integer in [3, window^2 = {window * window}], got {min_valid!r}")
    return _NORMAL_METHODS[method](points, int(window), int(min_valid))


def _unit(v, name: str) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) == 0:
        raise ValueError(f"{name} must be a finite, non-zero 3-vector in camera coordinates, got {v!r}")
    return v / np.linalg.norm(v)


CAMERA_UP = (0.0, -1.0, 0.0)  # the camera's up axis (y points down in the image)


def estimate_gravity(normals, thresholds=GRAVITY_THRESHOLDS, iterations: int = GRAVITY_ITERATIONS,
                     init=CAMERA_UP) -> np.ndarray:
    """The unit up vector (against gravity) in camera coordinates, by Gupta's ``getYDir``.

    Start at ``init`` (the camera's up axis, -y). For each threshold ``t`` (degrees) in turn,
    ``iterations`` times: ``N_par`` = normals within ``t`` of +-g, ``N_perp`` = normals within
    ``t`` of perpendicular to g; g = the eigenvector of the smallest eigenvalue of
    ``N_perp^T N_perp - N_par^T N_par``, its sign chosen so that it stays on the side of the
    previous g. ``normals``: ``[..., 3]`` (e.g. ``[H, W, 3]``), NaN rows ignored.
    """
    normals = np.asarray(normals, dtype=np.float64)
    if normals.ndim < 2 or normals.shape[-1] != 3:
        raise ValueError(f"normals must be [..., 3] (e.g. [H, W, 3] from surface_normals), got shape {normals.shape}")
    thresholds = tuple(float(t) for t in np.atleast_1d(thresholds))
    if not thresholds or not all(0 < t < 90 for t in thresholds):
        raise ValueError(f"thresholds must be angles in (0, 90) degrees, got {thresholds}")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ValueError(f"iterations (per threshold) must be a positive integer, got {iterations!r}")
    g = _unit(init, "init")
    n = normals.reshape(-1, 3)
    n = n[np.isfinite(n).all(axis=1)]
    if len(n) == 0:
        raise ValueError("normals has no finite normal: cannot estimate gravity")
    for t in thresholds:
        cos_t, sin_t = math.cos(math.radians(t)), math.sin(math.radians(t))
        for _ in range(iterations):
            sim = np.abs(n @ g)
            par, perp = n[sim > cos_t], n[sim < sin_t]
            if len(par) == 0 and len(perp) == 0:
                break  # nothing to fit: keep the current estimate
            A = perp.T @ perp - par.T @ par
            vals, vecs = np.linalg.eigh(A)
            # Where the smallest eigenvalue is repeated (only walls of one orientation in view:
            # up and sideways fit equally) take, within its eigenspace, the direction nearest
            # the current g instead of whichever vector LAPACK happens to return.
            tied = vecs[:, vals <= vals[0] + 1e-9 * np.abs(vals).max()]
            new = tied @ (tied.T @ g)
            if np.linalg.norm(new) < 1e-12:
                new = vecs[:, 0]
            new = new / np.linalg.norm(new)
            g = new if new @ g >= 0 else -new
    return g


def hha_float(depth_m, K: Intrinsics | None = None, gravity=None, *,
              floor_percentile: float = FLOOR_PERCENTILE) -> np.ndarray:
    """``[3, H, W]`` float64 HHA channels before saturation, NaN where undefined.

    (0) disparity ``31000 / Z[cm]``; (1) height along ``gravity`` above the ground, in cm, the
    ground being the ``floor_percentile``-th percentile of all heights; (2) angle between the
    normal and gravity in degrees, ``+ 38``. ``gravity``: the up vector in camera coordinates,
    or ``None`` to estimate it (:func:`estimate_gravity` on the normals of 21 x 21 windows at
    640 wide, scaled, as Gupta; a frame without a single fitted normal keeps the camera's up
    axis, ``(0, -1, 0)``). ``K=None``: NYU's colour camera scaled to the
    frame. Missing depth is NaN in every channel; a valid pixel whose normal is undefined
    (sparse neighbourhood) is NaN in the angle channel only.
    """
    depth = _check_depth(depth_m)
    K = _resolve_intrinsics(K, depth.shape)
    if not 0 <= floor_percentile <= 100:
        raise ValueError(f"floor_percentile must be in [0, 100], got {floor_percentile!r}")
    points = point_cloud(depth, K) * 100.0  # centimetres, as Gupta
    valid = np.isfinite(points[..., 2])
    width = depth.shape[1]
    if gravity is None:
        coarse = surface_normals(points, window_for_width(width, GRAVITY_RADIUS_640))
        # a frame with no surface to fit (a close-up, a view full of holes) keeps the camera's up axis
        up = estimate_gravity(coarse) if np.isfinite(coarse).all(-1).any() else _unit(CAMERA_UP, "init")
    else:
        up = _unit(gravity, "gravity")
    normals = surface_normals(points, window_for_width(width, NORMAL_RADIUS_640))

    out = np.full((3,) + depth.shape, np.nan)
    out[0][valid] = DISPARITY_NUMERATOR / points[..., 2][valid]
    height = points[valid] @ up
    out[1][valid] = height - np.percentile(height, floor_percentile)
    cos = np.clip(normals @ up, -1.0, 1.0)
    out[2] = np.degrees(np.arccos(cos)) + ANGLE_OFFSET  # NaN normals stay NaN
    return out


def to_uint8(channels: np.ndarray) -> np.ndarray:
    """Round and saturate to ``[0, 255]`` uint8; NaN (undefined) becomes 0."""
    channels = np.asarray(channels, dtype=np.float64)
    return np.clip(np.rint(np.nan_to_num(channels, nan=0.0)), 0, 255).astype(np.uint8)


def hha(depth_m, K: Intrinsics | None = None, gravity=None, *,
        floor_percentile: float = FLOOR_PERCENTILE) -> np.ndarray:
    """``[3, H, W]`` uint8 HHA image of a depth map in metres: :func:`hha_float` saturated to
    ``[0, 255]`` (disparity of anything nearer than 1.216 m reads 255, heights above 2.55 m
    read 255); 0 in every channel where depth is missing, and 0 in the angle channel where the
    normal is undefined."""
    return to_uint8(hha_float(depth_m, K, gravity, floor_percentile=floor_percentile))
