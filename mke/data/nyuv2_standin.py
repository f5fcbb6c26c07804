"""A rendered stand-in for NYU Depth V2: indoor rooms ray-cast to RGB, Kinect-like depth and labels.

The real dataset cannot be downloaded here, so the segmentation chapter runs on rooms built and
rendered by this module, with NYU's structure (Silberman et al., ECCV 2012):

* **Rooms** (bedroom, living room, office, kitchen) are boxes with a floor, four walls and a
  ceiling, furnished with axis-aligned boxes of NYU-40 classes (bed, sofa, chair, table, desk,
  cabinet, dresser, night stand, bookshelf, counter, refrigerator, television, lamp, door,
  window, curtain, blinds, picture, whiteboard, mirror, floor mat, pillow, clothes, books, box,
  shelves and unlabeled clutter), each class with its own size and placement priors: a bed's top
  at 0.45-0.6 m, a table's at 0.7-0.78 m, a dresser against a wall, upper kitchen cabinets at
  1.45 m and above, pictures and whiteboards on walls, a door from the floor.
* **Camera**: NYU's colour intrinsics scaled to the frame, at 1.0-1.6 m above the floor and
  pitched between 5 degrees up and 25 down, mostly looking at a piece of furniture.
* **Rendering**: one ray per pixel against the room and every box (the slab test, vectorised),
  giving per-pixel labels, exact depth and the surface normal of each hit.
* **Kinect-like depth** (Khoshelham and Elberink 2012; Nguyen et al. 2012): Gaussian noise with
  sigma = 1.2 mm + 1.9 mm (z - 0.4 m)^2, no reading beyond 6 m, holes along depth edges and on
  glass, mirrors and screens (in clumps). HHA is computed from this depth with the same code as
  for the real data (:mod:`mke.data.hha`), by the chapter.
* **RGB that is ambiguous where real RGB is**: classes come in material groups (paint, wood,
  fabric, dark glass) whose colour palettes overlap: an instance's colour mixes its class's
  base colour with a random colour of its group (``colour_overlap``), with group textures
  (wood grain, fabric noise), Lambertian shading from a ceiling light, and an exposure and white
  balance that change from frame to frame, along a camera walk too (``auto_exposure``: the
  camera re-exposes as it moves; the paper's Figure 8 shows its RGB teacher confused by
  illumination changes that the RGB-D student is robust to). Furniture is patterned (``pattern``):
  patches of each piece take a second colour of its group, so that colour changes within one
  object as on printed fabric or veneer (the paper's supplementary Figure 8: the RGB teacher's
  predictions are "inconsistent and noisy" inside one sofa). So a dresser, a cabinet, a desk
  and a floor of the same wood look alike, and geometry (height above the floor, surface angle,
  depth edges) tells them apart.

What the stand-in builds in **by construction**, and the chapter says so: every class is
determined by geometry and context, while colour only hints at it; so a student that also sees
depth *can* correct a colour-only teacher. Whether Algorithm 1 gets there from pseudo labels
alone is what the chapter measures.

Labeled frames (D_l and test) each come from a room of their own; unlabeled frames (D_u) are
camera walks of ``walk_length`` frames through a room (a small step and turn per frame), as
NYU's raw video. Everything is a pure function of :class:`StandinConfig` (seeded numpy).
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field, fields

import numpy as np

from mke.kinds import IGNORE_INDEX

# NYU's colour camera (the same numbers as mke.data.hha.NYU_INTRINSICS), at 640 x 480
NYU_FX, NYU_FY, NYU_CX, NYU_CY, NYU_W, NYU_H = 518.857901, 519.469611, 325.582449, 253.736166, 640, 480

# NYU-40 class indices (Gupta et al. 2013) of what the stand-in renders
WALL, FLOOR, CABINET, BED, CHAIR, SOFA, TABLE, DOOR, WINDOW, BOOKSHELF, PICTURE, COUNTER, BLINDS, DESK, \
    SHELVES, CURTAIN, DRESSER, PILLOW, MIRROR, FLOOR_MAT, CLOTHES, CEILING, BOOKS, REFRIGERATOR, TELEVISION = range(25)
BOX, WHITEBOARD, NIGHT_STAND, LAMP, OTHERPROP = 28, 29, 31, 34, 39
VOID = IGNORE_INDEX

# material groups: classes of one group share a colour palette (their RGB overlaps)
GROUPS = {
    "paint": [(0.86, 0.84, 0.78), (0.92, 0.92, 0.90), (0.80, 0.82, 0.84), (0.88, 0.80, 0.70), (0.74, 0.78, 0.72)],
    "wood": [(0.55, 0.36, 0.20), (0.68, 0.50, 0.32), (0.42, 0.28, 0.18), (0.78, 0.64, 0.46), (0.35, 0.25, 0.20)],
    "fabric": [(0.70, 0.30, 0.30), (0.30, 0.40, 0.65), (0.75, 0.72, 0.60), (0.35, 0.55, 0.40), (0.55, 0.45, 0.60)],
    "dark": [(0.10, 0.10, 0.12), (0.25, 0.30, 0.38), (0.55, 0.65, 0.75), (0.20, 0.18, 0.16), (0.40, 0.45, 0.50)],
}
# class -> (group, base colour); the base colour is the class's own hint inside its group
MATERIALS = {
    WALL: ("paint", (0.86, 0.83, 0.76)), CEILING: ("paint", (0.93, 0.93, 0.91)),
    WHITEBOARD: ("paint", (0.96, 0.96, 0.97)), REFRIGERATOR: ("paint", (0.90, 0.91, 0.93)),
    BLINDS: ("paint", (0.84, 0.82, 0.74)),
    FLOOR: ("wood", (0.60, 0.45, 0.30)), CABINET: ("wood", (0.50, 0.33, 0.20)), TABLE: ("wood", (0.62, 0.44, 0.28)),
    DESK: ("wood", (0.70, 0.56, 0.40)), DRESSER: ("wood", (0.45, 0.30, 0.20)), NIGHT_STAND: ("wood", (0.56, 0.38, 0.24)),
    BOOKSHELF: ("wood", (0.40, 0.28, 0.18)), COUNTER: ("wood", (0.74, 0.68, 0.60)), DOOR: ("wood", (0.66, 0.50, 0.34)),
    SHELVES: ("wood", (0.58, 0.42, 0.28)), BOX: ("wood", (0.72, 0.58, 0.40)),
    BED: ("fabric", (0.78, 0.74, 0.66)), SOFA: ("fabric", (0.45, 0.42, 0.55)), CHAIR: ("fabric", (0.40, 0.30, 0.28)),
    PILLOW: ("fabric", (0.85, 0.82, 0.74)), CURTAIN: ("fabric", (0.62, 0.48, 0.45)),
    FLOOR_MAT: ("fabric", (0.55, 0.35, 0.32)), CLOTHES: ("fabric", (0.35, 0.40, 0.55)), LAMP: ("fabric", (0.92, 0.88, 0.70)),
    TELEVISION: ("dark", (0.08, 0.08, 0.10)), WINDOW: ("dark", (0.60, 0.70, 0.82)), MIRROR: ("dark", (0.45, 0.50, 0.55)),
    PICTURE: ("dark", (0.35, 0.30, 0.30)), BOOKS: ("fabric", (0.50, 0.30, 0.35)), OTHERPROP: ("fabric", (0.50, 0.50, 0.50)),
}
# Small props the stand-in renders but leaves unlabeled (void), as NYU's annotators left much
# clutter: at the book's frame sizes they cover a few pixels each, and a class that no model can
# resolve would only add a zero to every method's mIoU.
UNLABELED = (SHELVES, MIRROR, FLOOR_MAT, CLOTHES, BOOKS, BOX, LAMP, NIGHT_STAND, WHITEBOARD, BLINDS, OTHERPROP)
GLASS = (WINDOW, MIRROR, TELEVISION)  # the Kinect reads little on glass and screens
TEXTURE = {"paint": 0.02, "wood": 0.10, "fabric": 0.06, "dark": 0.03}  # amplitude of the group's texture
ROOM_KINDS = ("bedroom", "living", "office", "kitchen")


@dataclass(frozen=True)
class StandinConfig:
    """The stand-in's knobs. ``height`` x ``width`` is the rendered frame (NYU's is 480 x 640).

    ``colour_overlap`` in [0, 1] sets how much an instance's colour is its group's rather than its
    class's (0: every class its own colour; 1: colour says only the material group).
    The defaults were calibrated on seeds the book does not report (see the chapter).
    """

    height: int = 48
    width: int = 64
    n_labeled: int = 1449  # NYU's labeled frames (795 train + 654 test by the official split)
    n_unlabeled: int = 1488  # D_u of Table 3
    walk_length: int = 2  # D_u frames per room
    colour_overlap: float = 0.5
    colour_jitter: float = 0.06
    exposure: tuple[float, float] = (0.3, 2.0)  # per-frame gain range (log-uniform)
    white_balance: float = 0.25  # per-channel gain spread
    depth_noise: float = 1.0  # multiplier of the Kinect noise model
    glass_holes: float = 0.7  # fraction of glass/screen pixels without a reading
    edge_holes: float = 0.5  # fraction of depth-edge pixels without a reading
    void_props: float = 1.0  # fraction of small props (UNLABELED) left unlabeled
    auto_exposure: bool = True  # each frame of a walk draws its own exposure and white balance
    pattern: float = 0.6  # how far furniture's patterned patches move to a second colour of its group
    seed: int = 0

    def __post_init__(self):
        for name in ("height", "width"):
            if not 8 <= getattr(self, name) <= 960:
                raise ValueError(f"StandinConfig.{name} must be in [8, 960], got {getattr(self, name)!r}")
        for name in ("n_labeled", "n_unlabeled", "walk_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"StandinConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("colour_overlap", "glass_holes", "edge_holes", "void_props", "pattern"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"StandinConfig.{name} must be in [0, 1], got {getattr(self, name)!r}")
        if self.depth_noise < 0 or self.colour_jitter < 0 or self.white_balance < 0:
            raise ValueError("StandinConfig.depth_noise, colour_jitter and white_balance must be >= 0")
        lo, hi = self.exposure
        if not 0 < lo <= hi:
            raise ValueError(f"StandinConfig.exposure must be (lo, hi) with 0 < lo <= hi, got {self.exposure!r}")


@dataclass
class Frames:
    """Rendered frames: ``rgb`` uint8 ``[N, 3, H, W]``, ``depth`` float32 metres (0 = no reading),
    ``depth_exact`` float32, ``label`` uint8 (255 = unlabeled), ``room`` int (frames of one walk share it)."""

    rgb: np.ndarray
    depth: np.ndarray
    depth_exact: np.ndarray
    label: np.ndarray
    room: np.ndarray
    kind: list = field(default_factory=list)  # room kind per frame


@dataclass
class Box:
    lo: np.ndarray
    hi: np.ndarray
    label: int
    colour: np.ndarray
    group: str
    # patterned upholstery, veneer or paint (``StandinConfig.pattern``): patches of a second
    # colour of the group, a world-space field of wavelength ``pattern_wave`` metres
    pattern_colour: np.ndarray | None = None
    pattern_phase: np.ndarray | None = None
    pattern_wave: float = 1.0


# --------------------------------------------------------------------------- rooms

class _Room:
    """A furnished room: its size and its boxes (world coordinates: x, z on the floor, y up)."""

    def __init__(self, rng: np.random.Generator, cfg: StandinConfig):
        self.rng, self.cfg = rng, cfg
        self.kind = ROOM_KINDS[rng.integers(len(ROOM_KINDS))]
        self.size = np.array([rng.uniform(3.0, 5.5), rng.uniform(2.5, 3.0), rng.uniform(3.0, 5.5)])
        self.boxes: list[Box] = []
        self.floor_rects: list[tuple[float, float, float, float]] = []  # x0, z0, x1, z1 of floor furniture
        self.wall_spans: dict[int, list[tuple[float, float]]] = {w: [] for w in range(4)}
        self.surface_colour = {c: self._colour(c) for c in (WALL, FLOOR, CEILING)}
        getattr(self, f"_furnish_{self.kind}")()

    # ------------------------------------------------------------ colours
    def _colour(self, label: int, rng=None) -> np.ndarray:
        rng = self.rng if rng is None else rng
        group, base = MATERIALS[label]
        palette = GROUPS[group]
        other = np.array(palette[rng.integers(len(palette))])
        o = self.cfg.colour_overlap
        c = (1 - o) * np.array(base) + o * other + rng.normal(0, self.cfg.colour_jitter, 3)
        return np.clip(c, 0.02, 1.0)

    def add(self, lo, hi, label, colour=None):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        label_out = VOID if label in UNLABELED and self.rng.random() < self.cfg.void_props else label
        colour = self._colour(label) if colour is None else colour
        box = Box(lo, hi, label_out, colour, MATERIALS[label][0])
        if self.cfg.pattern > 0:
            # from a generator of the box's own (seed and corners), not the room's: the pattern
            # changes colours only, and every pattern strength renders the same rooms and views
            key = hashlib.sha256(np.concatenate([lo, hi]).tobytes()).digest()
            rng = np.random.default_rng([self.cfg.seed, 3, int.from_bytes(key[:8], "little")])
            box.pattern_colour = self._colour(label, rng)
            box.pattern_phase = rng.uniform(0, 2 * math.pi, 3)
            box.pattern_wave = rng.uniform(0.3, 0.8)
        self.boxes.append(box)

    # ------------------------------------------------------------ placement
    def _wall_frame(self, wall: int, along: float, width: float, depth: float):
        """Floor rectangle (x0, z0, x1, z1) of an object of ``width`` along ``wall`` and ``depth`` out of it."""
        X, _, Z = self.size
        if wall == 0:  # z = 0
            return along, 0.0, along + width, depth
        if wall == 1:  # z = Z
            return along, Z - depth, along + width, Z
        if wall == 2:  # x = 0
            return 0.0, along, depth, along + width
        return X - depth, along, X, along + width  # x = X

    def _wall_length(self, wall: int) -> float:
        return self.size[0] if wall in (0, 1) else self.size[2]

    def _free(self, rect, margin=0.05) -> bool:
        x0, z0, x1, z1 = rect
        return all(x1 + margin <= a0 or a1 + margin <= x0 or z1 + margin <= b0 or b1 + margin <= z0
                   for a0, b0, a1, b1 in self.floor_rects)

    def against_wall(self, width, depth, tries=12, wall=None):
        """A free floor rectangle against a wall, or None."""
        for _ in range(tries):
            w = self.rng.integers(4) if wall is None else wall
            L = self._wall_length(w)
            if width > L - 0.2:
                continue
            rect = self._wall_frame(w, self.rng.uniform(0.1, L - width - 0.1), width, depth)
            if self._free(rect):
                self.floor_rects.append(rect)
                return w, rect
        return None

    def in_middle(self, sx, sz, tries=12):
        X, _, Z = self.size
        if X - sx - 0.6 <= 0.6 or Z - sz - 0.6 <= 0.6:
            return None
        for _ in range(tries):
            x0, z0 = self.rng.uniform(0.6, X - sx - 0.6), self.rng.uniform(0.6, Z - sz - 0.6)
            rect = (x0, z0, x0 + sx, z0 + sz)
            if self._free(rect):
                self.floor_rects.append(rect)
                return rect
        return None

    def on_wall(self, width, bottom, top, protrude, label, tries=12, colour=None):
        """A flat object on a wall (picture, window, door ...), not overlapping others on that wall."""
        for _ in range(tries):
            w = self.rng.integers(4)
            L = self._wall_length(w)
            if width > L - 0.3:
                continue
            a = self.rng.uniform(0.15, L - width - 0.15)
            if any(not (a + width + 0.05 <= s0 or s1 + 0.05 <= a) for s0, s1 in self.wall_spans[w]):
                continue
            if bottom < 1.0 and not self._free(self._wall_frame(w, a, width, 0.3), margin=0.0):
                continue  # furniture stands in front of this part of the wall
            self.wall_spans[w].append((a, a + width))
            x0, z0, x1, z1 = self._wall_frame(w, a, width, protrude)
            self.add((x0, bottom, z0), (x1, top, z1), label, colour)
            return w, a
        return None

    def box_on(self, rect, y0, h, label, colour=None):
        x0, z0, x1, z1 = rect
        self.add((x0, y0, z0), (x1, y0 + h, z1), label, colour)

    @staticmethod
    def shrink(rect, dx, dz=None):
        dz = dx if dz is None else dz
        x0, z0, x1, z1 = rect
        return x0 + dx, z0 + dz, x1 - dx, z1 - dz

    def sub_rect(self, rect, sx, sz):
        """A random ``sx`` x ``sz`` rectangle inside ``rect`` (clipped to it)."""
        x0, z0, x1, z1 = rect
        sx, sz = min(sx, x1 - x0), min(sz, z1 - z0)
        a, b = self.rng.uniform(x0, max(x0, x1 - sx)), self.rng.uniform(z0, max(z0, z1 - sz))
        return a, b, a + sx, b + sz

    # ------------------------------------------------------------ furniture
    def _u(self, lo, hi):
        return self.rng.uniform(lo, hi)

    def table(self, label=TABLE, wall=False):
        top = self._u(0.70, 0.78)
        w, d = (self._u(1.1, 1.6), self._u(0.6, 0.75)) if wall else (self._u(0.8, 1.6), self._u(0.7, 1.0))
        placed = self.against_wall(w, d) if wall else self.in_middle(w, d)
        if placed is None:
            return None
        rect = placed[1] if wall else placed
        colour = self._colour(label)
        self.box_on(rect, top - 0.04, 0.04, label, colour)
        x0, z0, x1, z1 = rect
        leg = 0.05
        for lx, lz in ((x0, z0), (x1 - leg, z0), (x0, z1 - leg), (x1 - leg, z1 - leg)):
            self.add((lx, 0, lz), (lx + leg, top - 0.04, lz + leg), label, colour)
        if label == DESK:  # a drawer block under one end
            dw = min(0.4, (x1 - x0) / 3) if abs(x1 - x0) >= abs(z1 - z0) else (x1 - x0)
            dd = (z1 - z0) if abs(x1 - x0) >= abs(z1 - z0) else min(0.4, (z1 - z0) / 3)
            self.add((x0, 0, z0), (x0 + dw, top - 0.04, z0 + dd), label, colour)
        for _ in range(self.rng.integers(0, 3)):  # clutter on top
            self.box_on(self.sub_rect(rect, self._u(0.1, 0.3), self._u(0.1, 0.3)), top, self._u(0.05, 0.3), OTHERPROP)
        return rect, top

    def chairs_around(self, rect, n):
        x0, z0, x1, z1 = rect
        for _ in range(n):
            side = self.rng.integers(4)
            s = 0.45
            if side == 0:
                cx, cz = self._u(x0, max(x0, x1 - s)), z0 - s - 0.05
            elif side == 1:
                cx, cz = self._u(x0, max(x0, x1 - s)), z1 + 0.05
            elif side == 2:
                cx, cz = x0 - s - 0.05, self._u(z0, max(z0, z1 - s))
            else:
                cx, cz = x1 + 0.05, self._u(z0, max(z0, z1 - s))
            seat = (cx, cz, cx + s, cz + s)
            X, _, Z = self.size
            if cx < 0.05 or cz < 0.05 or cx + s > X - 0.05 or cz + s > Z - 0.05 or not self._free(seat, 0.0):
                continue
            self.floor_rects.append(seat)
            colour = self._colour(CHAIR)
            sh = self._u(0.42, 0.48)
            self.box_on(self.shrink(seat, 0.0), sh - 0.06, 0.06, CHAIR, colour)
            self.box_on(self.shrink(seat, 0.17), 0.0, sh - 0.06, CHAIR, colour)  # a pedestal
            # the back on the side away from the table
            bx0, bz0, bx1, bz1 = seat
            if side == 0:
                back = (bx0, bz0, bx1, bz0 + 0.06)
            elif side == 1:
                back = (bx0, bz1 - 0.06, bx1, bz1)
            elif side == 2:
                back = (bx0, bz0, bx0 + 0.06, bz1)
            else:
                back = (bx1 - 0.06, bz0, bx1, bz1)
            self.box_on(back, sh, self._u(0.35, 0.5), CHAIR, colour)

    def standing(self, label, w, d, h, y0=0.0, wall=True, clutter=True):
        placed = self.against_wall(w, d) if wall else self.in_middle(w, d)
        if placed is None:
            return None
        rect = placed[1] if wall else placed
        self.box_on(rect, y0, h, label)
        if clutter and self.rng.random() < 0.5:
            self.box_on(self.sub_rect(rect, self._u(0.1, 0.3), self._u(0.1, 0.3)), y0 + h, self._u(0.05, 0.3),
                        OTHERPROP)
        return placed, y0 + h

    def bed(self):
        w, d = self._u(1.4, 2.0), self._u(1.9, 2.1)
        placed = self.against_wall(w, d)
        if placed is None:
            return
        wall, rect = placed
        colour = self._colour(BED)
        top = self._u(0.45, 0.6)
        self.box_on(rect, 0, top, BED, colour)
        x0, z0, x1, z1 = rect
        head = {0: (x0, z0, x1, z0 + 0.08), 1: (x0, z1 - 0.08, x1, z1),
                2: (x0, z0, x0 + 0.08, z1), 3: (x1 - 0.08, z0, x1, z1)}[wall]
        self.box_on(head, top, self._u(0.4, 0.7), BED, self._colour(BED))
        hx0, hz0, hx1, hz1 = head
        for k in range(self.rng.integers(1, 3)):  # pillows by the headboard
            if wall in (0, 1):
                a = x0 + 0.1 + k * (x1 - x0) / 2
                pz0 = hz1 if wall == 0 else hz0 - 0.35
                p = (a, pz0, min(a + 0.55, x1 - 0.05), pz0 + 0.35)
            else:
                a = z0 + 0.1 + k * (z1 - z0) / 2
                px0 = hx1 if wall == 2 else hx0 - 0.35
                p = (px0, a, px0 + 0.35, min(a + 0.55, z1 - 0.05))
            self.box_on(p, top, self._u(0.1, 0.16), PILLOW)
        if self.rng.random() < 0.4:
            self.box_on(self.sub_rect(self.shrink(rect, 0.3), 0.5, 0.4), top, 0.06, CLOTHES)
        # night stands beside the head end, with a lamp
        for side in (0, 1):
            if self.rng.random() < 0.7:
                ns = 0.45
                if wall in (0, 1):
                    nx = x0 - ns - 0.05 if side == 0 else x1 + 0.05
                    r = (nx, z0 if wall == 0 else z1 - 0.4, nx + ns, (z0 if wall == 0 else z1 - 0.4) + 0.4)
                else:
                    nz = z0 - ns - 0.05 if side == 0 else z1 + 0.05
                    r = (x0 if wall == 2 else x1 - 0.4, nz, (x0 if wall == 2 else x1 - 0.4) + 0.4, nz + ns)
                X, _, Z = self.size
                if r[0] < 0 or r[1] < 0 or r[2] > X or r[3] > Z or not self._free(r, 0.0):
                    continue
                self.floor_rects.append(r)
                h = self._u(0.5, 0.62)
                self.box_on(r, 0, h, NIGHT_STAND)
                if self.rng.random() < 0.7:
                    self.box_on(self.shrink(r, 0.1), h, self._u(0.3, 0.45), LAMP)

    def sofa(self):
        w, d = self._u(1.6, 2.2), self._u(0.85, 0.95)
        placed = self.against_wall(w, d)
        if placed is None:
            return
        wall, rect = placed
        colour = self._colour(SOFA)
        seat = self._u(0.40, 0.45)
        self.box_on(rect, 0, seat, SOFA, colour)
        x0, z0, x1, z1 = rect
        back = {0: (x0, z0, x1, z0 + 0.2), 1: (x0, z1 - 0.2, x1, z1),
                2: (x0, z0, x0 + 0.2, z1), 3: (x1 - 0.2, z0, x1, z1)}[wall]
        self.box_on(back, seat, self._u(0.35, 0.45), SOFA, colour)
        for _ in range(self.rng.integers(0, 3)):
            self.box_on(self.sub_rect(self.shrink(rect, 0.25), 0.4, 0.4), seat, 0.12, PILLOW)

    def wall_items(self, items):
        for label, n in items:
            for _ in range(n):
                if label == PICTURE:
                    w, h = self._u(0.3, 1.0), self._u(0.3, 0.8)
                    b = self._u(1.1, 1.8 - h / 2)
                    self.on_wall(w, b, b + h, 0.03, PICTURE)
                elif label == WHITEBOARD:
                    w, h = self._u(1.2, 2.0), self._u(0.9, 1.2)
                    self.on_wall(w, 0.9, 0.9 + h, 0.02, WHITEBOARD)
                elif label == MIRROR:
                    w, h = self._u(0.4, 0.7), self._u(0.6, 1.0)
                    b = self._u(0.9, 1.2)
                    self.on_wall(w, b, b + h, 0.02, MIRROR)
                elif label == DOOR:
                    self.on_wall(self._u(0.8, 0.92), 0.0, self._u(2.0, 2.1), 0.03, DOOR)
                elif label == TELEVISION:
                    b = self._u(1.0, 1.4)
                    self.on_wall(self._u(0.8, 1.2), b, b + self._u(0.45, 0.65), 0.06, TELEVISION)
                elif label == SHELVES:
                    placed = self.on_wall(self._u(0.6, 1.0), 0, 0, 0.0, SHELVES)  # reserve a span
                    if placed is not None:
                        self.boxes.pop()
                        wall, a = placed
                        y = self._u(1.2, 1.6)
                        for k in range(self.rng.integers(1, 3)):
                            r = self._wall_frame(wall, a, 0.8, 0.25)
                            self.box_on(r, y + 0.4 * k, 0.03, SHELVES)
                            if self.rng.random() < 0.7:
                                self.box_on(self.sub_rect(self.shrink(r, 0.02), 0.3, 0.2), y + 0.4 * k + 0.03,
                                            self._u(0.1, 0.25), BOOKS if self.rng.random() < 0.5 else BOX)

    def window(self, curtains: bool, blinds: bool):
        w = self._u(0.8, 1.6)
        b, t = self._u(0.8, 1.0), self._u(1.9, 2.2)
        placed = self.on_wall(w, b, t, 0.01, WINDOW)
        if placed is None:
            return
        wall, a = placed
        if curtains:  # drawn open beside the window, gathered in folds that stand out from the wall
            for s in (a - 0.35, a + w + 0.02):
                if 0.05 < s < self._wall_length(wall) - 0.4:
                    x0, z0, x1, z1 = self._wall_frame(wall, s, 0.33, self._u(0.15, 0.25))
                    self.add((x0, 0.05, z0), (x1, t + 0.2, z1), CURTAIN)
        if blinds:
            x0, z0, x1, z1 = self._wall_frame(wall, a, w, 0.03)
            self.add((x0, t - self._u(0.3, 0.8), z0), (x1, t, z1), BLINDS)

    def bookshelf(self):
        placed = self.standing(BOOKSHELF, self._u(0.8, 1.0), 0.32, self._u(1.7, 2.0), clutter=False)
        if placed is None:
            return
        (wall, rect), top = placed
        for k in range(4):  # books standing on its shelves, proud of the front
            y = 0.1 + k * (top - 0.1) / 4
            if self.rng.random() < 0.8:
                front = {0: (rect[0] + 0.05, rect[3], rect[2] - 0.05, rect[3] + 0.03),
                         1: (rect[0] + 0.05, rect[1] - 0.03, rect[2] - 0.05, rect[1]),
                         2: (rect[2], rect[1] + 0.05, rect[2] + 0.03, rect[3] - 0.05),
                         3: (rect[0] - 0.03, rect[1] + 0.05, rect[0], rect[3] - 0.05)}[wall]
                self.box_on(front, y, self._u(0.18, 0.28), BOOKS)

    def scatter(self, label, n, size, height):
        for _ in range(n):
            r = self.in_middle(self._u(*size), self._u(*size))
            if r is not None:
                self.box_on(r, 0, self._u(*height), label)

    def floor_mat(self):
        r = self.in_middle(self._u(1.0, 2.0), self._u(0.8, 1.4))
        if r is not None:
            self.floor_rects.pop()  # furniture may stand on a mat
            self.box_on(r, 0, 0.012, FLOOR_MAT)

    # ------------------------------------------------------------ room kinds
    def _common(self):
        self.wall_items([(DOOR, 1), (PICTURE, self.rng.integers(0, 3))])

    def _furnish_bedroom(self):
        if self.rng.random() < 0.5:
            self.floor_mat()
        self.bed()
        self.standing(DRESSER, self._u(0.9, 1.4), 0.5, self._u(0.8, 1.1))
        if self.rng.random() < 0.6:
            self.standing(CABINET, self._u(0.8, 1.2), 0.6, self._u(1.8, 2.1), clutter=False)  # a wardrobe
        self.window(curtains=True, blinds=False)
        self._common()
        self.wall_items([(MIRROR, int(self.rng.random() < 0.4)), (TELEVISION, int(self.rng.random() < 0.3))])
        self.scatter(BOX, self.rng.integers(0, 2), (0.3, 0.5), (0.25, 0.5))

    def _furnish_living(self):
        if self.rng.random() < 0.7:
            self.floor_mat()
        self.sofa()
        placed = self.table()
        if placed is not None and self.rng.random() < 0.5:
            self.chairs_around(placed[0], self.rng.integers(1, 3))
        cab = self.standing(CABINET, self._u(1.0, 1.6), 0.45, self._u(0.45, 0.6), clutter=False)
        if cab is not None and self.rng.random() < 0.8:  # a TV on the low cabinet
            (wall, rect), top = cab
            inner = self.shrink(rect, 0.2, 0.2) if wall in (2, 3) else self.shrink(rect, 0.2, 0.15)
            tv = {0: (inner[0], rect[1] + 0.1, inner[2], rect[1] + 0.18), 1: (inner[0], rect[3] - 0.18, inner[2], rect[3] - 0.1),
                  2: (rect[0] + 0.1, inner[1], rect[0] + 0.18, inner[3]), 3: (rect[2] - 0.18, inner[1], rect[2] - 0.1, inner[3])}[wall]
            self.box_on(tv, top, self._u(0.45, 0.65), TELEVISION)
        if self.rng.random() < 0.6:
            self.bookshelf()
        self.window(curtains=self.rng.random() < 0.7, blinds=False)
        self._common()
        if self.rng.random() < 0.4:
            self.standing(LAMP, 0.35, 0.35, self._u(1.3, 1.7), clutter=False)  # a floor lamp

    def _furnish_office(self):
        placed = self.table(label=DESK, wall=True)
        if placed is not None:
            self.chairs_around(placed[0], 1)
        if self.rng.random() < 0.5:
            placed = self.table(label=DESK, wall=True)
            if placed is not None:
                self.chairs_around(placed[0], 1)
        self.bookshelf()
        self.standing(CABINET, self._u(0.5, 0.9), 0.6, self._u(0.7, 1.3))  # a filing cabinet
        self.window(curtains=False, blinds=self.rng.random() < 0.7)
        self._common()
        self.wall_items([(WHITEBOARD, int(self.rng.random() < 0.6)), (SHELVES, int(self.rng.random() < 0.5))])
        self.scatter(BOX, self.rng.integers(0, 3), (0.3, 0.5), (0.25, 0.5))

    def _furnish_kitchen(self):
        placed = self.against_wall(self._u(1.6, 2.8), 0.6)
        if placed is not None:
            wall, rect = placed
            top = self._u(0.88, 0.94)
            self.box_on(rect, 0, top - 0.04, CABINET)  # base cabinets under the counter top
            self.box_on(rect, top - 0.04, 0.04, COUNTER)
            for _ in range(self.rng.integers(0, 3)):
                self.box_on(self.sub_rect(rect, self._u(0.1, 0.3), self._u(0.1, 0.3)), top, self._u(0.05, 0.35),
                            OTHERPROP)
            x0, z0, x1, z1 = rect
            upper = {0: (x0, z0, x1, z0 + 0.35), 1: (x0, z1 - 0.35, x1, z1),
                     2: (x0, z0, x0 + 0.35, z1), 3: (x1 - 0.35, z0, x1, z1)}[wall]
            if self.rng.random() < 0.8:
                self.box_on(upper, self._u(1.45, 1.55), self._u(0.6, 0.75), CABINET)
        self.standing(REFRIGERATOR, 0.72, 0.7, self._u(1.7, 1.9), clutter=False)
        placed = self.table()
        if placed is not None:
            self.chairs_around(placed[0], self.rng.integers(1, 4))
        self.window(curtains=False, blinds=self.rng.random() < 0.5)
        self._common()


# --------------------------------------------------------------------------- rendering

def intrinsics(height: int, width: int) -> tuple[float, float, float, float]:
    """NYU's colour intrinsics scaled to a ``height`` x ``width`` frame (pixel centres kept)."""
    sx, sy = width / NYU_W, height / NYU_H
    return NYU_FX * sx, NYU_FY * sy, (NYU_CX + 0.5) * sx - 0.5, (NYU_CY + 0.5) * sy - 0.5


def _rays(height, width, yaw, pitch):
    """World directions of every pixel's ray, scaled so that the camera-frame depth is ``t``."""
    fx, fy, cx, cy = intrinsics(height, width)
    v, u = np.mgrid[0:height, 0:width].astype(np.float64)
    d = np.stack([(u - cx) / fx, -(v - cy) / fy, np.ones_like(u)], -1).reshape(-1, 3)  # x right, y up, z forward
    cp, sp = math.cos(pitch), math.sin(pitch)
    pitch_m = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])  # pitch < 0 looks down
    cyw, syw = math.cos(yaw), math.sin(yaw)
    yaw_m = np.array([[cyw, 0, syw], [0, 1, 0], [-syw, 0, cyw]])
    return d @ (yaw_m @ pitch_m).T


def _cast(origin, dirs, room: _Room):
    """Nearest hit per ray: depth t, label, colour, normal, group texture amplitude and the hit point."""
    P = len(dirs)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / dirs
        # the room: where each ray leaves the box [0, size]
        far = np.where(dirs > 0, (room.size - origin) * inv, -origin * inv)
        far = np.where(np.isfinite(far), far, np.inf)
        axis = far.argmin(1)
        t = far[np.arange(P), axis]
        sign = np.sign(dirs[np.arange(P), axis])
        label = np.where(axis == 1, np.where(sign > 0, CEILING, FLOOR), WALL).astype(np.int64)
        normal = np.zeros((P, 3))
        normal[np.arange(P), axis] = -sign
        colour = np.stack([room.surface_colour[WALL]] * P)
        colour[label == FLOOR] = room.surface_colour[FLOOR]
        colour[label == CEILING] = room.surface_colour[CEILING]
        tex = np.full(P, TEXTURE["paint"])
        tex[label == FLOOR] = TEXTURE["wood"]
        if room.boxes:
            lo = np.stack([b.lo for b in room.boxes])
            hi = np.stack([b.hi for b in room.boxes])
            t1 = (lo[None] - origin) * inv[:, None]
            t2 = (hi[None] - origin) * inv[:, None]
            tmin3 = np.minimum(t1, t2)
            tmin3 = np.where(np.isnan(tmin3), -np.inf, tmin3)
            tmax3 = np.where(np.isnan(np.maximum(t1, t2)), np.inf, np.maximum(t1, t2))
            tnear, tfar = tmin3.max(2), tmax3.min(2)
            hit = (tnear <= tfar) & (tnear > 1e-6)
            tnear = np.where(hit, tnear, np.inf)
            best = tnear.argmin(1)
            tb = tnear[np.arange(P), best]
            closer = tb < t
            idx = np.nonzero(closer)[0]
            if len(idx):
                bi = best[idx]
                t[idx] = tb[idx]
                ax = tmin3[idx, bi].argmax(1)
                normal[idx] = 0
                normal[idx, ax] = -np.sign(dirs[idx, ax])
                labels = np.array([b.label for b in room.boxes])
                colours = np.stack([b.colour for b in room.boxes])
                texs = np.array([TEXTURE[b.group] for b in room.boxes])
                label[idx] = labels[bi]
                colour[idx] = colours[bi]
                tex[idx] = texs[bi]
    point = origin + t[:, None] * dirs
    if room.cfg.pattern > 0 and room.boxes and len(idx):
        colour[idx] = _patterned(room, colour[idx], bi, point[idx])
    return t, label, colour, normal, tex, point


def _patterned(room: _Room, colour, box, point):
    """Colours of box hits with ``room.cfg.pattern`` of the way to each box's second colour on
    its patches: where a sum of world-space sines (the box's wavelength and phases) is positive,
    with a soft edge. Fixed to the surface, as a print on fabric or veneer, so that the patches
    move with the camera along a walk."""
    wave = np.array([b.pattern_wave for b in room.boxes])[box]
    phase = np.stack([b.pattern_phase for b in room.boxes])[box]
    second = np.stack([b.pattern_colour for b in room.boxes])[box]
    field_ = np.sin(2 * math.pi * point / wave[:, None] + phase).mean(1)
    w = room.cfg.pattern * np.clip(0.5 + 3 * field_, 0, 1)
    return colour + w[:, None] * (second - colour)


def _shade(room: _Room, colour, normal, tex, point, label, rng, cfg: StandinConfig, light):
    """Lambertian shading from a ceiling light, a group texture, then exposure and white balance."""
    gain, balance, daylight = light
    to_light = room.size * np.array([0.5, 0.97, 0.5]) - point
    dist = np.linalg.norm(to_light, axis=1, keepdims=True)
    lambert = np.clip((normal * to_light / dist).sum(1), 0, 1)
    shade = 0.45 + 0.55 * lambert / (1 + 0.08 * dist[:, 0] ** 2)
    # texture in world coordinates (it moves with the surface): grain along x and z, plus fine noise
    grain = np.sin(point[:, 0] * 23.0 + 3 * np.sin(point[:, 1] * 7.0)) * np.sin(point[:, 2] * 19.0 + point[:, 1] * 5)
    noise = rng.normal(0, 1, len(point))
    rgb = colour * (1 + tex[:, None] * (grain[:, None] + 0.5 * noise[:, None]))
    rgb = rgb * shade[:, None]
    window = label == WINDOW  # windows show the outside: bright by day, dark at night
    rgb[window] = np.clip(colour[window] * (0.6 + 1.2 * daylight), 0, 1.2)
    rgb = rgb * gain * balance
    return np.clip(rgb, 0, 1)


def _kinect(z, label, rng, cfg: StandinConfig, height, width):
    """Kinect-like depth from exact depth ``z``: noise growing with distance, holes (0) where it fails."""
    sigma = (0.0012 + 0.0019 * (z - 0.4) ** 2) * cfg.depth_noise
    d = z + rng.normal(0, 1, z.shape) * sigma
    d = np.round(d, 3)  # millimetres, as the 16-bit PNGs
    img = d.reshape(height, width)
    holes = np.zeros_like(img, dtype=bool)
    holes |= (img > 6.0) | (img < 0.45)
    # depth edges: the IR projector's shadow and mixed pixels
    gy, gx = np.gradient(z.reshape(height, width))
    edge = np.hypot(gx, gy) > 0.15 * z.reshape(height, width) * (64 / width)
    holes |= edge & (rng.random(img.shape) < cfg.edge_holes)
    # glass and screens, in clumps (a smoothed random field)
    glass = np.isin(label.reshape(height, width), GLASS)
    if glass.any():
        field_ = rng.normal(0, 1, (height // 4 + 2, width // 4 + 2))
        field_ = np.kron(field_, np.ones((4, 4)))[:height, :width]
        from scipy.stats import norm
        holes |= glass & (field_ < norm.ppf(cfg.glass_holes))
    img = np.where(holes, 0.0, img)
    return img.astype(np.float32)


def _camera(room: _Room, rng):
    """A camera position inside the room, clear of furniture, looking into the room."""
    X, _, Z = room.size
    for _ in range(50):
        x, z = rng.uniform(0.4, X - 0.4), rng.uniform(0.4, Z - 0.4)
        if room._free((x - 0.15, z - 0.15, x + 0.15, z + 0.15), 0.0):
            break
    target = np.array([rng.uniform(0.3, X - 0.3), rng.uniform(0.3, Z - 0.3)])
    if room.floor_rects and rng.random() < 0.7:  # mostly at a piece of furniture, as people film rooms
        x0, z0, x1, z1 = room.floor_rects[rng.integers(len(room.floor_rects))]
        target = np.array([(x0 + x1) / 2, (z0 + z1) / 2])
    if np.hypot(target[0] - x, target[1] - z) < 1.0:  # look across the room, not at a nearby point
        target = np.array([X - x, Z - z])
    yaw = math.atan2(target[0] - x, target[1] - z)
    return np.array([x, rng.uniform(1.0, 1.6), z]), yaw, -math.radians(rng.uniform(-5, 25))


def _light(rng, cfg: StandinConfig):
    lo, hi = cfg.exposure
    gain = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    balance = 1 + rng.uniform(-cfg.white_balance, cfg.white_balance, 3)
    return gain, balance, rng.random()


def render(room: _Room, position, yaw, pitch, light, rng, cfg: StandinConfig):
    """One frame: (rgb uint8 [3, H, W], Kinect depth [H, W], exact depth [H, W], label uint8 [H, W])."""
    H, W = cfg.height, cfg.width
    dirs = _rays(H, W, yaw, pitch)
    t, label, colour, normal, tex, point = _cast(position, dirs, room)
    rgb = _shade(room, colour, normal, tex, point, label, rng, cfg, light)
    depth = _kinect(t, label, rng, cfg, H, W)
    rgb8 = (rgb.reshape(H, W, 3).transpose(2, 0, 1) * 255 + 0.5).astype(np.uint8)
    return rgb8, depth, t.reshape(H, W).astype(np.float32), label.reshape(H, W).astype(np.uint8)


def _view(room: _Room, rng, cfg: StandinConfig, min_valid: float = 0.6, tries: int = 20):
    """A frame of ``room`` from a camera whose view is not blocked (>= ``min_valid`` of the pixels
    with a depth reading: a camera against a wall or a wardrobe is drawn again)."""
    for _ in range(tries):
        pose = (*_camera(room, rng), _light(rng, cfg))
        frame = render(room, *pose, rng, cfg)
        if (frame[1] > 0).mean() >= min_valid:
            break
    return frame, pose


def _alloc(n, cfg):
    H, W = cfg.height, cfg.width
    return Frames(np.zeros((n, 3, H, W), np.uint8), np.zeros((n, H, W), np.float32), np.zeros((n, H, W), np.float32),
                  np.zeros((n, H, W), np.uint8), np.zeros(n, np.int64), [])


def _put(frames: Frames, i, room_id, kind, frame):
    frames.rgb[i], frames.depth[i], frames.depth_exact[i], frames.label[i] = frame
    frames.room[i] = room_id
    frames.kind.append(kind)


def generate_labeled(cfg: StandinConfig) -> Frames:
    """``cfg.n_labeled`` single frames, each from a room of its own (NYU's labeled set)."""
    rng = np.random.default_rng([cfg.seed, 1])
    out = _alloc(cfg.n_labeled, cfg)
    for i in range(cfg.n_labeled):
        room = _Room(rng, cfg)
        _put(out, i, i, room.kind, _view(room, rng, cfg)[0])
    return out


def generate_unlabeled(cfg: StandinConfig) -> Frames:
    """``cfg.n_unlabeled`` frames as camera walks of ``walk_length`` frames through rooms (NYU's raw video)."""
    rng = np.random.default_rng([cfg.seed, 2])
    out = _alloc(cfg.n_unlabeled, cfg)
    i, room_id = 0, 0
    while i < cfg.n_unlabeled:
        room = _Room(rng, cfg)
        _, (pos, yaw, pitch, light) = _view(room, rng, cfg)
        X, _, Z = room.size
        step = rng.normal(0, 1, 2)
        step = 0.15 * step / np.linalg.norm(step)
        turn = math.radians(rng.uniform(-8, 8))
        for k in range(min(cfg.walk_length, cfg.n_unlabeled - i)):
            if cfg.auto_exposure and k:  # the camera re-exposes as it moves; the daylight stays
                gain, balance, _ = _light(rng, cfg)
                light = (gain, balance, light[2])
            _put(out, i, room_id, room.kind, render(room, pos, yaw, pitch, light, rng, cfg))
            i += 1
            pos = pos + np.array([step[0], 0, step[1]])
            pos[0], pos[2] = np.clip(pos[0], 0.3, X - 0.3), np.clip(pos[2], 0.3, Z - 0.3)
            yaw += turn + rng.normal(0, 0.03)
            pitch = float(np.clip(pitch + rng.normal(0, 0.02), math.radians(-30), math.radians(-3)))
        room_id += 1
    return out


def generate(cfg: StandinConfig) -> tuple[Frames, Frames, float]:
    """(labeled frames, unlabeled frames, seconds taken)."""
    t0 = time.perf_counter()
    labeled, unlabeled = generate_labeled(cfg), generate_unlabeled(cfg)
    return labeled, unlabeled, time.perf_counter() - t0


# The NYU-40 palette as ScanNet's tools draw it (util.create_color_palette), index = class; void black
NYU40_COLOURS = np.array([
    (174, 199, 232), (152, 223, 138), (31, 119, 180), (255, 187, 120), (188, 189, 34), (140, 86, 75),
    (255, 152, 150), (214, 39, 40), (197, 176, 213), (148, 103, 189), (196, 156, 148), (23, 190, 207),
    (178, 76, 76), (247, 182, 210), (66, 188, 102), (219, 219, 141), (140, 57, 197), (202, 185, 52),
    (51, 176, 203), (200, 54, 131), (92, 193, 61), (78, 71, 183), (172, 114, 82), (255, 127, 14),
    (91, 163, 138), (153, 98, 156), (140, 153, 101), (158, 218, 229), (100, 125, 154), (178, 127, 135),
    (120, 185, 128), (146, 111, 194), (44, 160, 44), (112, 128, 144), (96, 207, 209), (227, 119, 194),
    (213, 92, 176), (94, 106, 211), (82, 84, 163), (100, 85, 144)], np.uint8)


def colourise(label: np.ndarray) -> np.ndarray:
    """An ``[H, W]`` label map as ``[H, W, 3]`` uint8 in the NYU-40 palette (void black)."""
    out = np.zeros((*label.shape, 3), np.uint8)
    valid = label != VOID
    out[valid] = NYU40_COLOURS[label[valid].astype(np.int64)]
    return out
