"""A stand-in for the event-classification chapter (paper Section 4.4): AudioSet -> VGGSound.

The paper's D_l is 3,710 AudioSet clips (audio only, labelled), its D_u 3,748 VGGSound clips
(audio and video, unlabelled) and its test set 1,937 VGGSound clips, over 46 event classes.
This module synthesises clips with that structure, deterministically from ``cfg.seed``
(:func:`generate` is a pure function of its config; the caller caches it, e.g. with
:meth:`StandinEvents.arrays` and :meth:`StandinEvents.from_arrays`).

Generative model. The *world* (each class's sound prototype and picture) is fixed by this
module's tables; the seed draws only the clips. A class belongs to one sound family:

* ``impact``: periodic impacts (bouncing, tapping, clip-clop): an impulse train (rate, timing
  jitter) through a damped resonance mixed with a noise burst (resonance, decay, noisiness);
* ``tone``: harmonic tones (instruments, sirens, buzzing): f0 with a sinusoidal sweep (depth in
  semitones, rate; vibrato when small, a siren's wail when large), harmonic roll-off
  (brightness) and re-attacked notes (note rate);
* ``noise``: band-limited noise (engines, water, wind, doors): centre and bandwidth (octaves),
  amplitude modulation (rate, depth) and a glide of the band over the clip;
* ``formant``: voiced bursts (laughing, growling, barking): a pulse train at f0 plus rough noise
  through two formant resonances, gated into syllables;
* ``chirp``: repeated frequency sweeps (birds, crickets): rate, start frequency, sweep, duration
  and purity.

Each family has five parameters, each mapped from u in [-1, 1] (log or linear). A clip draws
u = prototype + N(0, 0.12^2) per parameter, plus random phases and onsets; a recording is
peak-normalised (0.9 of full scale less 0-10 dB), so nothing clips.
The picture of a class: a textured shape (disc, square, triangle, cross, ring, panel, mouth, bar,
diamond) in a colour, moving in a class-specific way (a bouncing ball, rotating blades, a
sliding panel, an opening mouth, ...) over ``n_frames`` frames, at a random place on a
cluttered background (smooth colour field, distractor blobs in the same palette, occluders and
pixel noise, all scaled by ``video_noise``).

What the stand-in builds in by construction:

* **Confusable groups.** 10 groups of 3-4 classes (38 classes) share a family and a centre in
  parameter space; a class's prototype sits ``(1 - confusion) * 0.8`` from the centre, on the
  vertices of a regular simplex (all classes of a group equally far apart). At ``confusion=1``
  their sounds are identically distributed; at the default 0.8 an audio classifier confuses
  them often. Their pictures differ clearly (shape, motion and colour), so the video can
  correct an audio teacher within a group. Colour is assigned by the position in the group,
  so the picture alone confuses classes of *different* groups that share a shape or motion:
  the modalities are complementary.
* **Unique classes.** 8 classes sit alone in their family's parameter space (easy by audio).
* **Domain gap.** D_l (AudioSet-like): the event lasts a random ``dl_min_duration``-1 of the
  clip, is mixed at ``dl_snr_db`` with background noise of random colour and, in a fraction
  ``dl_interference``, another class's sound; a fraction ``offscreen_rate`` is off-screen:
  ``offscreen_db`` weaker and absent from the frames; exactly ``round(label_noise * n_dl)``
  labels are replaced by another class of the same group (``y_true`` keeps the truth). D_u and
  test (VGGSound-like, drawn alike): the event fills the clip, ``du_snr_db`` (5 dB) above
  background noise of random colour (VGGSound's clips are recorded in the wild), and is
  visible in every frame. The 5 dB was set by the events chapter's calibration (stand-in seed
  1, training seeds 1000-1001, never reported): with the random crop alone as T, an MM
  student gained at most 0.01 mAP over the NOISY student at 20 dB and 0.02-0.05 at 5 dB; with
  the chapter's final T (crop and feature dropout), 0.07-0.08 at 5 dB.
* **Independent nuisances.** Given the class, audio and video are drawn from separate random
  streams. ``video_informative=False`` pairs each D_u / test sound with another clip's frames
  (a random cyclic permutation): audio and labels are unchanged, the frames carry no class.

Measured here with ``du_snr_db=20`` (before the calibration set 5 dB; a sanity check, not a
calibration against the chapter's CNNs, which is the chapter's job): on the book profile, a logistic regression on each clip's per-bin mean and
spread over time of the log spectrogram, trained on D_u with true labels, scores 0.55 on test
over the 46 classes, 0.96 on the group, 0.51 within a confusable group (chance about 0.27) and
0.86 on unique classes, and 0.14 on D_l (the domain gap); trained on D_l's labels it scores
0.44 on test. On colour histograms of the frames it scores 0.99 within a group, 0.29 overall.
The book profile (9,395 clips, 211 MB) generates in about 25 s on one core.

Spectrograms: ``np.log(scipy.signal.spectrogram(x, sr, nperseg, noverlap) + 1e-7)`` of the whole
clip (clipped to [-1, 1]), with the Nyquist bin dropped and groups of adjacent bins averaged in
power when ``n_freq`` is set, as VGGSound's code and ``mke.data.events.log_spectrogram``; not
standardised. The chapter cuts ``crop_cols`` columns (``crop_seconds``) at training time.
"""
from __future__ import annotations

import colorsys
import zlib
from dataclasses import dataclass, fields, replace
from typing import Sequence

import numpy as np

SPLITS = ("D_l", "D_u", "test")
LOG_EPS = 1e-7  # np.log(spec + eps), as VGGSound
WITHIN_CLASS_SD = 0.12  # per-clip spread of a class's sound parameters (u units)
GROUP_SPREAD = 0.8  # distance of a class's prototype from its group centre at confusion=0

# family -> its five parameters: (name, low, high, log scale)
FAMILIES = {
    "impact": (("rate", 1.0, 14.0, True), ("resonance", 120.0, 3000.0, True), ("decay", 0.004, 0.12, True),
               ("noisiness", 0.0, 1.0, False), ("jitter", 0.0, 0.4, False)),
    "tone": (("f0", 100.0, 1600.0, True), ("depth", 0.01, 12.0, True), ("rate", 0.25, 8.0, True),
             ("brightness", 0.15, 0.9, False), ("note_rate", 0.2, 4.0, True)),
    "noise": (("centre", 80.0, 3000.0, True), ("bandwidth", 0.3, 4.0, True), ("am_rate", 0.3, 60.0, True),
              ("am_depth", 0.0, 1.0, False), ("glide", -1.5, 1.5, False)),
    "formant": (("f0", 60.0, 600.0, True), ("syllable_rate", 0.8, 8.0, True), ("f1", 250.0, 1000.0, True),
                ("f2", 700.0, 3000.0, True), ("roughness", 0.0, 1.0, False)),
    "chirp": (("rate", 1.5, 16.0, True), ("start", 400.0, 3400.0, True), ("sweep", -1.5, 1.5, False),
              ("duration", 0.015, 0.2, True), ("purity", 0.0, 1.0, False)),
}
# group -> (family, centre in u). Centres of one family are >= 1.2 apart (10 within-class SDs).
GROUPS = {
    "impacts": ("impact", (0.0, 0.0, -0.2, 0.0, 0.0)),
    "sirens": ("tone", (0.2, 0.8, -0.6, 0.0, -0.9)),
    "instruments": ("tone", (0.0, -0.3, 0.3, 0.0, 0.2)),
    "buzzing": ("tone", (-0.2, -0.7, 0.6, 0.85, -0.6)),
    "motors": ("noise", (-0.1, -0.2, 0.55, 0.5, 0.0)),
    "water": ("noise", (0.3, 0.5, -0.5, -0.2, 0.0)),
    "doors": ("noise", (0.1, -0.3, -0.6, 0.9, 0.6)),
    "laughter": ("formant", (0.2, 0.4, 0.3, 0.0, -0.3)),
    "animals": ("formant", (-0.6, -0.3, -0.2, -0.4, 0.5)),
    "birds": ("chirp", (0.0, 0.2, 0.0, -0.2, 0.0)),
}
# unique classes: (family, prototype in u), far from every group centre of their family
UNIQUE = {
    "playing snare drum": ("impact", (0.3, 0.8, -0.6, 0.9, -0.9)),
    "fireworks banging": ("impact", (-0.9, -0.6, 0.8, 0.7, 0.9)),
    "church bell ringing": ("tone", (-0.4, -0.9, -0.9, 0.5, -0.2)),
    "people whistling": ("tone", (0.8, -0.2, 0.1, -0.9, 0.5)),
    "train horning": ("tone", (-0.7, -0.95, -0.5, 0.6, -0.95)),
    "thunder": ("noise", (-0.9, 0.3, -0.9, 0.6, -0.6)),
    "cat meowing": ("formant", (0.6, -0.9, 0.1, 0.8, -0.8)),
    "cattle mooing": ("formant", (-0.9, -0.95, -0.7, -0.8, -0.6)),
}
# the 46 classes (VGGSound's spelling; all in its list of classes common with AudioSet):
# (name, group or "unique", shape, motion). Table 5 of the paper's supplementary: basketball
# bounce, dog growling, people belly laughing, sliding door, lawn mowing.
CLASS_TABLE = (
    ("basketball bounce", "impacts", "disc", "bounce"),
    ("horse clip-clop", "impacts", "bar", "slide"),
    ("people clapping", "impacts", "diamond", "pulse"),
    ("typing on computer keyboard", "impacts", "square", "shake"),
    ("police car (siren)", "sirens", "square", "slide"),
    ("ambulance siren", "sirens", "cross", "rotate"),
    ("fire truck siren", "sirens", "bar", "zigzag"),
    ("playing violin, fiddle", "instruments", "triangle", "rotate"),
    ("playing cello", "instruments", "panel", "shake"),
    ("playing flute", "instruments", "bar", "slide"),
    ("playing clarinet", "instruments", "ring", "pulse"),
    ("mosquito buzzing", "buzzing", "disc", "shake"),
    ("bee, wasp, etc. buzzing", "buzzing", "diamond", "orbit"),
    ("playing bagpipes", "buzzing", "panel", "pulse"),
    ("lawn mowing", "motors", "cross", "rotate"),
    ("chainsawing trees", "motors", "bar", "shake"),
    ("motorboat, speedboat acceleration", "motors", "triangle", "slide"),
    ("vacuum cleaner cleaning floors", "motors", "square", "zigzag"),
    ("raining", "water", "ring", "still"),
    ("waterfall burbling", "water", "panel", "bounce"),
    ("wind noise", "water", "triangle", "orbit"),
    ("ocean burbling", "water", "disc", "pulse"),
    ("sliding door", "doors", "panel", "slide"),
    ("opening or closing drawers", "doors", "square", "open"),
    ("skateboarding", "doors", "bar", "zigzag"),
    ("car passing by", "doors", "diamond", "orbit"),
    ("people belly laughing", "laughter", "mouth", "open"),
    ("baby laughter", "laughter", "disc", "orbit"),
    ("people sniggering", "laughter", "triangle", "shake"),
    ("people sobbing", "laughter", "diamond", "bounce"),
    ("dog growling", "animals", "mouth", "shake"),
    ("dog barking", "animals", "square", "bounce"),
    ("lions roaring", "animals", "ring", "open"),
    ("pig oinking", "animals", "diamond", "slide"),
    ("bird chirping, tweeting", "birds", "triangle", "zigzag"),
    ("cricket chirping", "birds", "bar", "still"),
    ("mouse squeaking", "birds", "disc", "slide"),
    ("bird squawking", "birds", "cross", "bounce"),
    ("playing snare drum", "unique", "disc", "pulse"),
    ("fireworks banging", "unique", "cross", "pulse"),
    ("church bell ringing", "unique", "triangle", "rotate"),
    ("people whistling", "unique", "mouth", "pulse"),
    ("train horning", "unique", "panel", "slide"),
    ("thunder", "unique", "bar", "still"),
    ("cat meowing", "unique", "mouth", "open"),
    ("cattle mooing", "unique", "square", "still"),
)
#: The default class names: 46 VGGSound classes common with AudioSet, Table 5's five included.
EVENT_NAMES: tuple[str, ...] = tuple(row[0] for row in CLASS_TABLE)
SHAPES = ("disc", "square", "triangle", "cross", "ring", "panel", "mouth", "bar", "diamond")
MOTIONS = ("bounce", "rotate", "slide", "open", "orbit", "pulse", "zigzag", "still", "shake")
HUES = (0.0, 0.33, 0.62, 0.14, 0.8, 0.5)  # by position in the group: red, green, blue, yellow, ...


@dataclass(frozen=True)
class StandinEventsConfig:
    """What :func:`generate` makes. Defaults: the book profile (8 kHz, 2 s clips, 64 x 79
    spectrograms, 4 RGB frames of 32 x 32, the paper's split sizes)."""
    seed: int = 0
    n_dl: int = 3710
    n_du: int = 3748
    n_test: int = 1937
    names: tuple[str, ...] = EVENT_NAMES  # any subset/order of known names; unknown names take unused slots
    sr: int = 8000
    seconds: float = 2.0
    nperseg: int = 256
    noverlap: int = 56  # hop 200
    n_freq: int | None = 64  # None: all nperseg // 2 + 1 bins; else drop Nyquist and pool to n_freq
    crop_seconds: float = 1.6  # what the chapter crops at training time (80 % of the clip; paper 5 of 10 s)
    n_frames: int = 4
    frame_size: tuple[int, int] = (32, 32)  # (h, w)
    channels: int = 3  # 3: RGB, 1: grey (luminance)
    video_informative: bool = True
    confusion: float = 0.8  # 0: a group's sounds well apart .. 1: identical in distribution
    dl_snr_db: float = 0.0  # event to background in D_l
    dl_interference: float = 0.5  # fraction of D_l backgrounds holding another class's sound
    dl_min_duration: float = 0.5  # a D_l event lasts a random fraction in [this, 1] of the clip
    offscreen_rate: float = 0.3  # fraction of D_l events off-screen: weaker and not in the frames
    offscreen_db: float = 12.0  # how much weaker
    label_noise: float = 0.1  # fraction of D_l labels replaced by another class of the same group
    du_snr_db: float = 5.0  # event to background noise in D_u and test (calibrated: see the events chapter)
    video_noise: float = 0.3  # clutter, occluders, pixel noise, jitter of colour and size

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "frame_size", tuple(int(s) for s in self.frame_size))

        def bad(field, value, expected):
            raise ValueError(f"StandinEventsConfig.{field} must be {expected}, got {value!r}")

        names = self.names
        if len(names) < 2 or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            bad("names", names, "at least 2 distinct non-empty strings")
        if len(names) > len(CLASS_TABLE):
            bad("names", f"{len(names)} names", f"at most {len(CLASS_TABLE)} classes (the stand-in's table)")
        for f in ("n_dl", "n_du", "n_test"):
            if not isinstance(getattr(self, f), (int, np.integer)) or getattr(self, f) < len(names):
                bad(f, getattr(self, f), f"an integer >= the number of classes ({len(names)}), so every class "
                    "is present")
        if self.sr < 1000:
            bad("sr", self.sr, "at least 1000 Hz")
        if not 0 <= self.noverlap < self.nperseg:
            bad("noverlap", self.noverlap, f"in [0, nperseg={self.nperseg})")
        if self.n_freq is not None and (self.n_freq < 1 or (self.nperseg // 2) % self.n_freq):
            bad("n_freq", self.n_freq, f"None or a divisor of {self.nperseg // 2} (nperseg // 2 + 1 bins less Nyquist)")
        if not self.nperseg <= self.crop_samples <= self.n_samples:
            bad("crop_seconds", self.crop_seconds, f"between nperseg / sr and seconds={self.seconds}")
        if self.n_frames < 1:
            bad("n_frames", self.n_frames, ">= 1")
        if len(self.frame_size) != 2 or min(self.frame_size) < 8:
            bad("frame_size", self.frame_size, "(h, w) with both >= 8")
        if self.channels not in (1, 3):
            bad("channels", self.channels, "1 (grey) or 3 (RGB)")
        for f in ("confusion", "dl_interference", "offscreen_rate", "video_noise"):
            if not 0 <= getattr(self, f) <= 1:
                bad(f, getattr(self, f), "in [0, 1]")
        if not 0 < self.dl_min_duration <= 1:
            bad("dl_min_duration", self.dl_min_duration, "in (0, 1]")
        if not 0 <= self.label_noise <= 0.5:
            bad("label_noise", self.label_noise, "in [0, 0.5]")
        if self.label_noise > 0 and not any(g.confusable for g in class_groups(names)):
            bad("label_noise", self.label_noise, "0 when no two classes share a group (noise stays within a group)")
        if self.offscreen_db < 0:
            bad("offscreen_db", self.offscreen_db, ">= 0 dB")
        for f in ("dl_snr_db", "du_snr_db"):
            if not -40 <= getattr(self, f) <= 60:
                bad(f, getattr(self, f), "in [-40, 60] dB")

    @property
    def n_classes(self) -> int:
        return len(self.names)

    @property
    def hop(self) -> int:
        return self.nperseg - self.noverlap

    @property
    def n_samples(self) -> int:
        return int(round(self.seconds * self.sr))

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_seconds * self.sr))

    @property
    def n_cols(self) -> int:
        """Columns of a whole clip's spectrogram (scipy: no padding at the ends)."""
        from mke.data.events import n_columns

        return n_columns(self.n_samples, self.nperseg, self.noverlap)

    @property
    def crop_cols(self) -> int:
        """Columns of a ``crop_seconds`` crop (book 63 of 79; paper 500 of 1004)."""
        return 1 + (self.crop_samples - self.nperseg) // self.hop

    @property
    def freq_bins(self) -> int:
        return self.n_freq or self.nperseg // 2 + 1

    def sizes(self) -> dict[str, int]:
        return {"D_l": self.n_dl, "D_u": self.n_du, "test": self.n_test}

    def nbytes(self) -> int:
        """Bytes of the arrays :func:`generate` returns (spectrograms, frames, labels)."""
        n = self.n_dl + self.n_du + self.n_test
        h, w = self.frame_size
        return n * (2 * self.freq_bins * self.n_cols + self.n_frames * self.channels * h * w + 3 * 8 + 1)


# Classes and groups ------------------------------------------------------------------------------

@dataclass(frozen=True)
class EventGroup:
    """Classes whose sounds share a family and a centre (``confusable``), or the classes that
    are alone in their family's parameter space (``name == "unique"``, not confusable)."""
    name: str
    family: str  # "mixed" for the unique classes
    classes: tuple[int, ...]  # class indices (positions in ``names``)
    confusable: bool


def _slots(names: Sequence[str]) -> list[int]:
    """Row of CLASS_TABLE behind each name: by name when known, else the unused rows in order."""
    index = {row[0]: i for i, row in enumerate(CLASS_TABLE)}
    taken = {index[n] for n in names if n in index}
    free = iter(i for i in range(len(CLASS_TABLE)) if i not in taken)
    return [index[n] if n in index else next(free) for n in names]


def class_groups(names: Sequence[str] = EVENT_NAMES) -> tuple[EventGroup, ...]:
    """The confusable groups among ``names`` (those with at least two of its classes), then one
    group "unique" holding every other class (empty classes are left out)."""
    slots = _slots(names)
    members: dict[str, list[int]] = {}
    for k, s in enumerate(slots):
        members.setdefault(CLASS_TABLE[s][1], []).append(k)
    out, unique = [], list(members.pop("unique", []))
    for g in GROUPS:
        ks = members.get(g, [])
        if len(ks) > 1:
            out.append(EventGroup(g, GROUPS[g][0], tuple(ks), True))
        else:
            unique += ks
    if unique:
        out.append(EventGroup("unique", "mixed", tuple(sorted(unique)), False))
    return tuple(out)


def _orthonormal(dim: int, k: int, key: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(key.encode()))  # fixed: the world does not depend on the seed
    q, _ = np.linalg.qr(rng.normal(size=(dim, k)))
    return q


def prototypes(cfg: StandinEventsConfig) -> list[tuple[str, np.ndarray]]:
    """(family, prototype u) per class: unique classes at their fixed point; a group's classes
    on a regular simplex ``(1 - confusion) * GROUP_SPREAD`` from the group centre."""
    out = []
    for s in _slots(cfg.names):
        name, group = CLASS_TABLE[s][:2]
        if group == "unique":
            family, u = UNIQUE[name]
            out.append((family, np.array(u)))
            continue
        family, centre = GROUPS[group]
        rows = [i for i, row in enumerate(CLASS_TABLE) if row[1] == group]  # the table's whole group
        k = len(rows)
        simplex = np.eye(k) - 1.0 / k
        simplex /= np.linalg.norm(simplex, axis=1, keepdims=True)
        d = _orthonormal(len(centre), k, group) @ simplex[rows.index(s)]
        out.append((family, np.array(centre) + (1 - cfg.confusion) * GROUP_SPREAD * d))
    return out


def _physical(family: str, u: np.ndarray) -> dict[str, np.ndarray]:
    s = (np.clip(u, -1, 1) + 1) / 2
    return {name: lo * (hi / lo) ** s[:, i] if log else lo + (hi - lo) * s[:, i]
            for i, (name, lo, hi, log) in enumerate(FAMILIES[family])}


PROFILES = {
    # tiny counts for tests: every class present, 1 s clips, 16 x 16 frames
    "quick": StandinEventsConfig(n_dl=460, n_du=460, n_test=460, seconds=1.0, crop_seconds=0.8,
                                 n_frames=2, frame_size=(16, 16)),
    "book": StandinEventsConfig(),
    # the paper's features (VGGSound's 257-bin spectrograms, 5 s crops of 10 s at 16 kHz, 257 x 500)
    # and 8 frames of 112 x 112: constructible, but about 7.6 GB, so not generated in tests
    "paper": StandinEventsConfig(sr=16000, seconds=10.0, nperseg=512, noverlap=353, n_freq=None, crop_seconds=5.0,
                                 n_frames=8, frame_size=(112, 112)),
}


# Sounds --------------------------------------------------------------------------------------------

def _unit_rms(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt((x ** 2).mean(-1, keepdims=True)) + 1e-12)


def _coloured_noise(rng, m: int, n: int, slope) -> np.ndarray:
    """Noise whose power falls as f^-slope (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.normal(size=(m, n)), axis=-1)
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    return _unit_rms(np.fft.irfft(spec * f ** (-np.asarray(slope, float).reshape(-1, 1) / 2), n, axis=-1))


def _impact(p, m, n, sr, rng):
    rate, res, decay = p["rate"], np.minimum(p["resonance"], 0.45 * sr), p["decay"]
    period = 1.0 / rate
    k_max = int(np.ceil(n / sr * rate.max())) + 2
    times = (rng.uniform(0, 1, (m, 1)) + np.arange(k_max)) * period[:, None]
    times += rng.normal(0, 0.5, (m, k_max)) * (p["jitter"] * period)[:, None]
    idx = np.round(times * sr).astype(int)
    ok = (idx >= 0) & (idx < n)
    pulses = np.zeros((m, n))
    rows = np.broadcast_to(np.arange(m)[:, None], idx.shape)
    np.add.at(pulses, (rows[ok], idx[ok]), rng.uniform(0.6, 1.0, idx.shape)[ok])
    nk = min(n, int(5 * decay.max() * sr) + 1)
    t = np.arange(nk) / sr
    ring = np.sin(2 * np.pi * res[:, None] * t + rng.uniform(0, 2 * np.pi, (m, 1)))
    burst = rng.normal(size=(m, nk))
    kernel = np.exp(-t / decay[:, None]) * ((1 - p["noisiness"])[:, None] * ring + p["noisiness"][:, None] * burst)
    size = n + nk
    x = np.fft.irfft(np.fft.rfft(pulses, size) * np.fft.rfft(kernel, size), size)[:, :n]
    return _unit_rms(x)


def _tone(p, m, n, sr, rng):
    t = np.arange(n) / sr
    sweep = np.sin(2 * np.pi * p["rate"][:, None] * t + rng.uniform(0, 2 * np.pi, (m, 1)))
    f = p["f0"][:, None] * 2.0 ** (p["depth"][:, None] / 12 * sweep)
    phase = 2 * np.pi * np.cumsum(f, axis=-1) / sr
    x = np.zeros((m, n))
    for h in range(1, 9):  # harmonics under 0.45 sr only: no aliasing
        partial = np.sin(h * phase + rng.uniform(0, 2 * np.pi, (m, 1)))
        x += (p["brightness"][:, None] ** (h - 1)) * partial * (h * f < 0.45 * sr)
    note = (t * p["note_rate"][:, None] + rng.uniform(0, 1, (m, 1))) % 1.0
    envelope = 0.35 + 0.65 * np.exp(-4 * note) * np.minimum(1, note / 0.02)  # re-attacked notes
    return _unit_rms(x * envelope)


def _noise(p, m, n, sr, rng):
    t = np.arange(n) / sr
    spec = np.fft.rfft(rng.normal(size=(m, n)), axis=-1)
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / sr), 1.0)
    anchors = np.linspace(0, 1, 5)  # the band glides: crossfade noise filtered at 5 centres
    x = np.zeros((m, n))
    for a in anchors:
        centre = np.minimum(p["centre"] * 2.0 ** (p["glide"] * (a - 0.5)), 0.4 * sr)
        gain = np.exp(-0.5 * (np.log2(freqs / centre[:, None]) / (p["bandwidth"][:, None] / 2)) ** 2)
        weight = np.maximum(0, 1 - np.abs(t / t[-1] - a) * (len(anchors) - 1))
        x += weight * np.fft.irfft(spec * gain, n, axis=-1)
    am = 1 - p["am_depth"][:, None] * (0.5 + 0.5 * np.sin(2 * np.pi * p["am_rate"][:, None] * t
                                                           + rng.uniform(0, 2 * np.pi, (m, 1))))
    return _unit_rms(x * am)


def _formant(p, m, n, sr, rng):
    t = np.arange(n) / sr
    f0 = p["f0"][:, None] * (1 + 0.05 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 2 * np.pi, (m, 1))))
    cycles = np.cumsum(f0, axis=-1) / sr + rng.uniform(0, 1, (m, 1))
    pulses = _unit_rms(np.diff(np.floor(cycles), axis=-1, prepend=0.0))
    source = pulses + 2 * p["roughness"][:, None] * rng.normal(size=(m, n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    response = 0.05
    formants = ((p["f1"], 90.0, 1.0), (np.minimum(p["f2"], 0.42 * sr), 130.0, 0.7), (np.full(m, 0.3 * sr), 250.0, 0.3))
    for f, bw, w in formants:
        response = response + w / (1 + ((freqs - f[:, None]) / bw) ** 2)
    x = np.fft.irfft(np.fft.rfft(source, axis=-1) * response, n, axis=-1)
    syllable = (t * p["syllable_rate"][:, None] + rng.uniform(0, 1, (m, 1))) % 1.0
    gate = np.where(syllable < 0.6, np.sin(np.pi * np.minimum(syllable / 0.6, 1)), 0.0)
    return _unit_rms(x * gate)


def _chirp(p, m, n, sr, rng):
    t = np.arange(n) / sr
    period = 1.0 / p["rate"]
    duration = np.minimum(p["duration"], 0.8 * period)
    local = ((t + rng.uniform(0, 1, (m, 1)) * period[:, None]) % period[:, None]) / duration[:, None]
    inside = local < 1
    f = np.minimum(p["start"][:, None] * 2.0 ** (p["sweep"][:, None] * np.minimum(local, 1)), 0.45 * sr)
    phase = 2 * np.pi * np.cumsum(f, axis=-1) / sr
    window = np.where(inside, np.sin(np.pi * np.minimum(local, 1)) ** 2, 0.0)
    impurity = (1 - p["purity"])[:, None]
    x = (np.sin(phase) + impurity * 0.6 * np.sin(2 * phase) * (2 * f < 0.45 * sr)
         + impurity * 0.3 * rng.normal(size=(m, n)))
    return _unit_rms(x * window + 1e-4 * rng.normal(size=(m, n)))


SYNTHS = {"impact": _impact, "tone": _tone, "noise": _noise, "formant": _formant, "chirp": _chirp}


def _peak_level(x: np.ndarray, rng) -> np.ndarray:
    """A recording's level: peaks at 0.9 of full scale less 0-10 dB (uploads are peak-limited,
    not loudness-matched, so impacts end up quieter in RMS than tones; nothing clips)."""
    return x * (0.9 * 10 ** (-rng.uniform(0, 10, (len(x), 1)) / 20) / (np.abs(x).max(-1, keepdims=True) + 1e-12))


def _events(family: str, proto: np.ndarray, m: int, cfg: StandinEventsConfig, rng) -> np.ndarray:
    """``m`` clean events of one class, [m, n_samples] at unit RMS."""
    u = proto + rng.normal(0, WITHIN_CLASS_SD, (m, len(proto)))
    return SYNTHS[family](_physical(family, u), m, cfg.n_samples, cfg.sr, rng)


def log_spectrograms(x: np.ndarray, cfg: StandinEventsConfig) -> np.ndarray:
    """Log spectrograms [m, freq_bins, n_cols] float32 of waveforms [m, n_samples] (see the module
    docstring; the same numbers as ``mke.data.events.log_spectrogram`` per clip)."""
    from scipy.signal import spectrogram

    _, _, spec = spectrogram(np.clip(np.asarray(x, np.float64), -1, 1), cfg.sr, nperseg=cfg.nperseg,
                             noverlap=cfg.noverlap, axis=-1)
    if cfg.n_freq is not None:
        g = (spec.shape[1] - 1) // cfg.n_freq
        spec = spec[:, :cfg.n_freq * g].reshape(len(spec), cfg.n_freq, g, -1).mean(2)
    return np.log(spec + LOG_EPS).astype(np.float32)


# Pictures ------------------------------------------------------------------------------------------

def _colour(s: int) -> np.ndarray:
    """A class's colour: by its position in its group (unique classes: by their own position)."""
    group = CLASS_TABLE[s][1]
    j = [i for i, row in enumerate(CLASS_TABLE) if row[1] == group].index(s)
    hue = HUES[j % len(HUES)] if group != "unique" else (0.07 + 0.13 * j) % 1
    return np.array(colorsys.hsv_to_rgb(hue, 0.8, 0.9))


def _motion(motion: str, m: int, n_frames: int, rng):
    """Centre (cx, cy), angle and scales (sx, sy) of the object per clip and frame, [m, F] each."""
    phase = (rng.uniform(0, 2 * np.pi, (m, 1))
             + 2 * np.pi * rng.uniform(0.8, 1.2, (m, 1)) * np.arange(n_frames) / n_frames)
    cx = np.broadcast_to(rng.uniform(-0.3, 0.3, (m, 1)), phase.shape).copy()
    cy = np.broadcast_to(rng.uniform(-0.3, 0.3, (m, 1)), phase.shape).copy()
    angle = np.broadcast_to(rng.uniform(-0.2, 0.2, (m, 1)), phase.shape).copy()
    sx = np.ones_like(phase)
    sy = np.ones_like(phase)
    if motion == "bounce":
        cy = cy + 0.35 - 0.7 * np.abs(np.sin(phase / 2))
    elif motion == "rotate":
        angle = angle + phase
    elif motion == "slide":
        cx = ((phase / (2 * np.pi)) % 1.0) * 1.2 - 0.6
    elif motion == "open":
        sy = 0.3 + 0.7 * np.abs(np.sin(phase / 2))
    elif motion == "orbit":
        cx, cy = cx + 0.3 * np.cos(phase), cy + 0.3 * np.sin(phase)
    elif motion == "pulse":
        sx = sy = 0.65 + 0.35 * np.sin(phase)
    elif motion == "zigzag":
        tri = 2 * np.abs((phase / np.pi) % 2 - 1) - 1
        cx, cy = cx + 0.3 * tri, cy + 0.25 * np.sign(np.sin(2 * phase))
    elif motion == "shake":
        cx = cx + rng.normal(0, 0.1, phase.shape)
        angle = angle + rng.normal(0, 0.3, phase.shape)
    return cx, cy, angle, sx, sy


def _shape_mask(shape: str, u: np.ndarray, v: np.ndarray):
    """Inside-the-shape mask, and the dark inside of a mouth (else None)."""
    au, av = np.abs(u), np.abs(v)
    if shape == "disc":
        return u ** 2 + v ** 2 <= 1, None
    if shape == "square":
        return np.maximum(au, av) <= 0.8, None
    if shape == "triangle":
        return (v <= 0.8) & (au <= (v + 0.9) * 0.55), None
    if shape == "cross":
        return ((au <= 0.25) | (av <= 0.25)) & (np.maximum(au, av) <= 1), None
    if shape == "ring":
        r2 = u ** 2 + v ** 2
        return (r2 <= 1) & (r2 >= 0.3), None
    if shape == "panel":
        return (au <= 0.45) & (av <= 1), None
    if shape == "mouth":
        return u ** 2 + (v / 0.7) ** 2 <= 1, (u / 0.75) ** 2 + (v / 0.4) ** 2 <= 1
    if shape == "bar":
        return (au <= 1) & (av <= 0.3), None
    if shape == "diamond":
        return au + av <= 1, None
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def _frames(s: int, visible: np.ndarray, cfg: StandinEventsConfig, rng) -> np.ndarray:
    """Frames [m, n_frames, channels, h, w] uint8 of one class's clips (object absent where
    ``visible`` is False: an off-screen event)."""
    m, F = len(visible), cfg.n_frames
    h, w = cfg.frame_size
    noise = cfg.video_noise
    y = ((np.arange(h) + 0.5) / h * 2 - 1)[:, None]
    x = ((np.arange(w) + 0.5) / w * 2 - 1)[None, :]
    # background: a smooth colour field, the same in every frame of a clip (a still camera)
    bg = np.full((m, 3, h, w), 0.45)
    for _ in range(3):
        kx, ky = rng.uniform(-3, 3, (2, m, 3, 1, 1))
        amplitude = rng.uniform(0, 0.1 + 0.1 * noise, (m, 3, 1, 1))
        bg += amplitude * np.cos(kx * x + ky * y + rng.uniform(0, 2 * np.pi, (m, 3, 1, 1)))
    # clutter: distractor blobs in the palette's colours (so colour alone is ambiguous)
    palette = np.array([colorsys.hsv_to_rgb(hue, 0.8, 0.9) for hue in HUES] + [(0.5, 0.5, 0.5)])
    for _ in range(int(round(1 + 4 * noise))):
        cx, cy = rng.uniform(-1, 1, (2, m, 1, 1))
        r = rng.uniform(0.08, 0.25, (m, 1, 1))
        blob = ((x - cx) ** 2 + (y - cy) ** 2 <= r ** 2) if rng.random() < 0.5 else (
            (np.abs(x - cx) <= r) & (np.abs(y - cy) <= r))
        bg = np.where(blob[:, None], palette[rng.integers(len(palette), size=m)][:, :, None, None], bg)
    img = np.repeat(bg[:, None], F, axis=1)  # [m, F, 3, h, w]
    # the object
    _, _, shape, motion = CLASS_TABLE[s]
    cx, cy, angle, sx, sy = (a[:, :, None, None] for a in _motion(motion, m, F, rng))
    size = 0.42 * np.exp(rng.normal(0, 0.1 * (1 + noise), (m, 1, 1, 1)))
    dx, dy = x - cx, y - cy
    u = (np.cos(angle) * dx + np.sin(angle) * dy) / (size * sx)
    v = (-np.sin(angle) * dx + np.cos(angle) * dy) / (size * sy)
    inside, dark = _shape_mask(shape, u, v)
    inside &= visible[:, None, None, None]
    stripe_angle = (s * 0.7) % np.pi
    stripes = np.sin((2 + s % 3) * np.pi * (u * np.cos(stripe_angle) + v * np.sin(stripe_angle))) > 0
    colour = _colour(s)[None, :] + rng.normal(0, 0.04 * (1 + noise), (m, 3))
    obj = colour[:, None, :, None, None] * (0.7 + 0.3 * stripes[:, :, None])
    if dark is not None:
        obj = np.where(dark[:, :, None], 0.08, obj)
    img = np.where(inside[:, :, None], obj, img)
    # occluders (a hand, a passer-by) and sensor noise
    occluded = rng.random((m, F, 1, 1)) < 0.25 * noise
    ox, oy = rng.uniform(-1, 1, (2, m, F, 1, 1))
    ow, oh = rng.uniform(0.15, 0.4, (2, m, F, 1, 1))
    box = occluded & (np.abs(x - ox) <= ow) & (np.abs(y - oy) <= oh)
    img = np.where(box[:, :, None], rng.uniform(0.2, 0.7, (m, F, 1, 1, 1)), img)
    img = img + rng.normal(0, 0.03 + 0.12 * noise, img.shape)
    if cfg.channels == 1:
        img = np.tensordot(img, np.array([0.299, 0.587, 0.114]), axes=([2], [0]))[:, :, None]
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


# Splits --------------------------------------------------------------------------------------------

@dataclass
class EventSplit:
    """One split. ``y`` is the label the split gives (noisy in D_l); ``y_true`` the class whose
    sound and picture the clip holds; ``group`` the group id (index into ``StandinEvents.groups``)
    of ``y`` (label noise stays within a group, so also of ``y_true``)."""
    spec: np.ndarray  # float16 [N, F, T] log spectrogram of the whole clip
    frames: np.ndarray  # uint8 [N, n_frames, C, h, w]
    y: np.ndarray  # int64 [N]
    y_true: np.ndarray  # int64 [N]
    group: np.ndarray  # int64 [N]
    offscreen: np.ndarray  # bool [N]: the event is weaker and absent from the frames (D_l only)

    def __len__(self) -> int:
        return len(self.y)


ARRAYS = ("spec", "frames", "y", "y_true", "group", "offscreen")


@dataclass
class StandinEvents:
    cfg: StandinEventsConfig
    names: tuple[str, ...]
    groups: tuple[EventGroup, ...]
    group_of_class: np.ndarray  # int64 [K]
    splits: dict[str, EventSplit]

    def __getitem__(self, split: str) -> EventSplit:
        if split not in self.splits:
            raise KeyError(f"no split {split!r}; expected one of {SPLITS}")
        return self.splits[split]

    @property
    def nbytes(self) -> int:
        return sum(getattr(s, a).nbytes for s in self.splits.values() for a in ARRAYS)

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat ``{"D_l/spec": ..., ...}``: plain arrays to cache (``torch.load(weights_only=True)``
        accepts them once made tensors)."""
        return {f"{name}/{a}": getattr(split, a) for name, split in self.splits.items() for a in ARRAYS}

    @classmethod
    def from_arrays(cls, cfg: StandinEventsConfig, arrays) -> StandinEvents:
        """Rebuild from :meth:`arrays` (numpy arrays or CPU tensors)."""
        splits = {name: EventSplit(**{a: np.asarray(arrays[f"{name}/{a}"]) for a in ARRAYS}) for name in SPLITS}
        groups = class_groups(cfg.names)
        return cls(cfg, cfg.names, groups, _group_of_class(groups, cfg.n_classes), splits)


def _group_of_class(groups, n_classes: int) -> np.ndarray:
    out = np.empty(n_classes, np.int64)
    for g, group in enumerate(groups):
        out[list(group.classes)] = g
    return out


def _cycle(rng, n: int) -> np.ndarray:
    """A random permutation with no fixed point (one n-cycle): every clip gets another's frames."""
    order = rng.permutation(n)
    perm = np.empty(n, np.int64)
    perm[order] = np.roll(order, 1)
    return perm


def _split(cfg: StandinEventsConfig, index: int, n: int, protos, group_of_class, groups) -> EventSplit:
    K = cfg.n_classes
    dl = SPLITS[index] == "D_l"
    scene = np.random.default_rng([cfg.seed, index, 1000])
    counts = np.full(K, n // K)
    counts[scene.choice(K, n % K, replace=False)] += 1
    y_true = np.repeat(np.arange(K), counts)[scene.permutation(n)]
    offscreen = (scene.random(n) < cfg.offscreen_rate) if dl else np.zeros(n, bool)
    slots = _slots(cfg.names)
    spec = np.empty((n, cfg.freq_bins, cfg.n_cols), np.float16)
    frames = np.empty((n, cfg.n_frames, cfg.channels, *cfg.frame_size), np.uint8)
    clean = np.empty((n, cfg.n_samples), np.float16) if dl else None  # half: 118 MB at book size
    for k in range(K):
        rows = np.flatnonzero(y_true == k)
        audio_rng = np.random.default_rng([cfg.seed, index, k, 0])  # separate streams: nuisances
        video_rng = np.random.default_rng([cfg.seed, index, k, 1])  # independent given the class
        events = _events(*protos[k], len(rows), cfg, audio_rng)
        if dl:
            clean[rows] = events
        else:
            floor = _coloured_noise(audio_rng, len(rows), cfg.n_samples, audio_rng.uniform(0, 2, len(rows)))
            x = events + 10 ** (-cfg.du_snr_db / 20) * floor
            spec[rows] = log_spectrograms(_peak_level(x, audio_rng), cfg)
        frames[rows] = _frames(slots[k], ~offscreen[rows], cfg, video_rng)
    y = y_true.copy()
    if dl:
        _mix_dl(cfg, index, clean, y_true, offscreen, scene, spec)
        eligible = np.flatnonzero(np.array([groups[g].confusable for g in group_of_class])[y_true])
        n_flip = int(round(cfg.label_noise * n))
        if n_flip > len(eligible):
            raise ValueError(f"StandinEventsConfig.label_noise={cfg.label_noise} asks for {n_flip} noisy labels but "
                             f"only {len(eligible)} D_l clips belong to a confusable group")
        for i in scene.choice(eligible, n_flip, replace=False):
            others = [c for c in groups[group_of_class[y_true[i]]].classes if c != y_true[i]]
            y[i] = others[scene.integers(len(others))]
    elif not cfg.video_informative:
        frames = frames[_cycle(np.random.default_rng([cfg.seed, index, 2000]), n)]
    return EventSplit(spec, frames, y.astype(np.int64), y_true.astype(np.int64),
                      group_of_class[y].astype(np.int64), offscreen)


def _mix_dl(cfg, index, clean, y_true, offscreen, scene, spec, chunk: int = 256) -> None:
    """AudioSet-like D_l: a shorter event, weaker when off-screen, over coloured noise and, in a
    fraction ``dl_interference``, another class's sound; spectrograms written into ``spec``."""
    n, L = clean.shape
    partner = scene.integers(0, n, n)
    for _ in range(100):  # redraw partners of the same class (a few, a few times)
        same = np.flatnonzero(y_true[partner] == y_true)
        if not len(same):
            break
        partner[same] = scene.integers(0, n, len(same))
    interfere = scene.random(n) < cfg.dl_interference
    duration = scene.uniform(cfg.dl_min_duration, 1, n)
    start = scene.uniform(0, 1, n) * (1 - duration)
    gain = 10 ** ((cfg.dl_snr_db - cfg.offscreen_db * offscreen) / 20)
    t = np.arange(L) / L
    for lo in range(0, n, chunk):
        sl = slice(lo, min(n, lo + chunk))
        m = sl.stop - lo
        rng = np.random.default_rng([cfg.seed, index, 1001, lo])
        fade = 0.03
        gate = np.clip(np.minimum(t - start[sl, None], start[sl, None] + duration[sl, None] - t) / fade + 0.5, 0, 1)
        background = _coloured_noise(rng, m, L, rng.uniform(0, 2, m))
        background = background + interfere[sl, None] * rng.uniform(0.5, 1.5, (m, 1)) * clean[partner[sl]]
        x = gain[sl, None] * clean[sl] * gate + _unit_rms(background)  # the event at dl_snr_db while it lasts
        spec[sl] = log_spectrograms(_peak_level(x, rng), cfg)


def generate(cfg: StandinEventsConfig = PROFILES["book"]) -> StandinEvents:
    """The three splits D_l, D_u, test: a pure function of ``cfg``."""
    groups = class_groups(cfg.names)
    group_of_class = _group_of_class(groups, cfg.n_classes)
    protos = prototypes(cfg)
    splits = {name: _split(cfg, i, cfg.sizes()[name], protos, group_of_class, groups) for i, name in enumerate(SPLITS)}
    return StandinEvents(cfg, cfg.names, groups, group_of_class, splits)


def profile(name: str, **overrides) -> StandinEventsConfig:
    """A profile of :data:`PROFILES` with some fields changed (``profile("quick", seed=3)``)."""
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}")
    unknown = set(overrides) - {f.name for f in fields(StandinEventsConfig)}
    if unknown:
        raise ValueError(f"unknown StandinEventsConfig fields {sorted(unknown)}")
    return replace(PROFILES[name], **overrides)
