"""AudioSet -> VGGSound in their published layouts: the event-classification chapter's real data.

Section 4.4 and supplementary 1.3 / 2.3 of the paper: 3,710 AudioSet audio clips are the
labeled unimodal set D_l (modality alpha = audio), 3,748 VGGSound audio-video clips the
unlabeled multimodal set D_u (alpha = audio, beta = video) and 1,937 VGGSound clips the test
set, over 46 event classes common to both. The paper does not publish the 46 classes; ours are
chosen by a stated rule (:func:`derive_event_classes`) and shipped, with AudioSet's and
VGGSound's class lists, in ``events_classes.json``.

Formats read here:

* AudioSet segments (``balanced_train_segments.csv``): three header lines starting with ``#``,
  then ``YTID, start_seconds, end_seconds, "positive_labels"`` with comma+space separators and a
  quoted, comma-separated list of ``/m/...`` ids. Copies without the ``#`` lines, with a plain
  ``YTID,...`` header, or without the spaces are read too. Audio clips lie in one folder, named
  by a pattern (:func:`audio_path`: ``Y{ytid}.wav``, ``{ytid}_{start}.wav``, ...).
* AudioSet classes (``class_labels_indices.csv``): ``index,mid,display_name``, names quoted when
  they contain commas.
* VGGSound (``vggsound.csv``): no header; ``YTID,start_seconds,label,split`` (labels quoted when
  they contain commas, split ``train`` or ``test``); clips ``{YTID}_{start:06d}.mp4``.

Media are decoded with PyAV (audio resampled to 16 kHz mono by FFmpeg's resampler; frames
resized by FFmpeg's scaler). Audio features follow VGGSound's reference code (Chen et al.,
2020, ``test.py``): ``scipy.signal.spectrogram`` with nperseg 512 and noverlap 353 at 16 kHz,
``np.log(spec + 1e-7)``, standardised per clip over the crop; 5 s crops (257 x 500), random
while training and central at test. Each clip's log spectrogram is computed once, whole
(:func:`clip_spectrogram`), and crops are cut from it in the spectrogram domain
(:func:`crop_columns`), which equals cropping the waveform at a multiple of the hop.

Nothing is skipped silently: rows and clips that cannot be used are counted by reason in a
:class:`SkipReport`; rows left out by design (other split, no chapter class) are counted but
not listed.
"""
from __future__ import annotations

import csv
import json
import string
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

# The classes ---------------------------------------------------------------------------------

#: The five classes of the paper's supplementary Table 5 (VGGSound spelling).
PAPER_TABLE5 = ("basketball bounce", "dog growling", "people belly laughing", "sliding door", "lawn mowing")

#: Table 5 classes whose VGGSound label is not an AudioSet display name: mapped by hand to the
#: AudioSet class that names the same sound ("Growling" is also a child of "Roaring cats" in the
#: ontology, so a few AudioSet "Growling" clips may be lions, not dogs).
TABLE5_HAND_MAP = {"dog growling": ("/m/0ghcn6",),           # Growling
                   "people belly laughing": ("/m/07sq110",),  # Belly laugh
                   "lawn mowing": ("/m/01yg9g",)}             # Lawn mower


@lru_cache(maxsize=1)
def metadata() -> dict:
    """The shipped facts and our class choice (``events_classes.json``)."""
    return json.loads(resources.files("mke.data").joinpath("events_classes.json").read_text())


def _name_match(label: str, by_name: dict[str, str]) -> str | None:
    """The mid of the AudioSet class whose display name equals the VGGSound label, ignoring case
    and a leading "playing " ("playing violin, fiddle" -> "Violin, fiddle")."""
    key = label[len("playing "):] if label.startswith("playing ") else label
    return by_name.get(key.lower())


def derive_event_classes(meta: dict | None = None, n: int = 46) -> dict[str, tuple[str, ...]]:
    """OUR rule for the paper's unpublished 46 classes (VGGSound name -> AudioSet mids).

    1. The five classes of Table 5, mapped by exact name where AudioSet has it, else by
       :data:`TABLE5_HAND_MAP`.
    2. Then, among the other VGGSound classes its authors list as present in AudioSet, those
       whose label is exactly one AudioSet display name (ignoring case and a leading
       "playing "), the largest first (clips in VGGSound), ties broken alphabetically, until
       there are ``n``.

    Returned in alphabetical order: a class's index is its position.
    """
    meta = metadata() if meta is None else meta
    by_name: dict[str, str] = {}
    for _, mid, name in meta["audioset_classes"]:
        if name.lower() in by_name:  # the rule needs a name to pick out exactly one class
            raise ValueError(f"AudioSet display name {name!r} is not unique")
        by_name[name.lower()] = mid
    clips = {label: count for label, count, _ in meta["vggsound_classes"]}
    chosen: dict[str, tuple[str, ...]] = {}
    for label in PAPER_TABLE5:
        mid = _name_match(label, by_name)
        chosen[label] = (mid,) if mid else TABLE5_HAND_MAP[label]
    ranked = sorted((label for label in meta["vggsound_classes_in_audioset"]
                     if label not in chosen and _name_match(label, by_name)), key=lambda l: (-clips[l], l))
    if len(ranked) < n - len(chosen):
        raise ValueError(f"only {len(chosen) + len(ranked)} classes satisfy the rule, n={n} asked")
    for label in ranked[:n - len(chosen)]:
        chosen[label] = (_name_match(label, by_name),)
    return dict(sorted(chosen.items()))


#: The chapter's 46 classes (VGGSound spelling, alphabetical; index = class id). OUR choice.
EVENT_CLASSES: tuple[str, ...] = tuple(c["vggsound"] for c in metadata()["event_classes"])
#: VGGSound class name -> the AudioSet mids that count as that class.
AUDIOSET_MIDS: dict[str, tuple[str, ...]] = {c["vggsound"]: tuple(m["mid"] for m in c["audioset"])
                                             for c in metadata()["event_classes"]}
#: VGGSound's 309 labels.
VGGSOUND_LABELS: frozenset[str] = frozenset(row[0] for row in metadata()["vggsound_classes"])


@dataclass(frozen=True)
class AudioSetClass:
    index: int
    mid: str
    name: str


def audioset_classes() -> list[AudioSetClass]:
    """AudioSet's 527 classes as shipped (a copy of ``class_labels_indices.csv``)."""
    return [AudioSetClass(i, mid, name) for i, mid, name in metadata()["audioset_classes"]]


# Reports ---------------------------------------------------------------------------------------

#: Reasons that leave a row out by design: counted, not listed, not "skipped".
FILTERED = ("no chapter class", "not a chapter class", "other split")
#: Reasons attached to clips that are kept.
NOTES = ("padded", "cut")


@dataclass
class SkipReport:
    """What happened to every row: kept, skipped (why, and which), noted, or filtered by design."""
    source: str = ""
    kept: int = 0
    counts: Counter = field(default_factory=Counter)  # reason -> rows or clips
    items: list[tuple[str, str]] = field(default_factory=list)  # (clip id or row, reason); not for FILTERED

    def skip(self, what: str, reason: str) -> None:
        self.counts[reason] += 1
        self.items.append((what, reason))

    note = skip  # a kept clip with a remark ("padded"): listed the same way

    def filter(self, reason: str, n: int = 1) -> None:
        self.counts[reason] += n

    @property
    def skipped(self) -> int:
        return sum(n for r, n in self.counts.items() if r not in FILTERED and r not in NOTES)

    def summary(self) -> str:
        def part(reasons):
            return ", ".join(f"{r}: {self.counts[r]}" for r in sorted(reasons))
        skips = [r for r in self.counts if r not in FILTERED and r not in NOTES]
        notes = [r for r in self.counts if r in NOTES]
        filt = [r for r in self.counts if r in FILTERED]
        text = f"{self.source + ': ' if self.source else ''}{self.kept} kept, {self.skipped} skipped"
        text += f" ({part(skips)})" if skips else ""
        text += f"; noted: {part(notes)}" if notes else ""
        text += f"; left out by design: {part(filt)}" if filt else ""
        return text


# CSV files -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AudioSetSegment:
    ytid: str
    start: float
    end: float
    labels: tuple[str, ...]  # mids


@dataclass(frozen=True)
class VGGSoundRow:
    ytid: str
    start: int
    label: str
    split: str  # "train" or "test"


def _check_file(path, what: str, expected: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} is not a file (expected {expected})")
    return path


def _csv_rows(path: Path, header_first: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of a CSV, without '#' comment lines, blank lines or a plain header
    whose first field is ``header_first``; separators with or without a following space."""
    lineno = 0

    def lines():
        nonlocal lineno
        with open(path, newline="", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip() and not line.lstrip().startswith("#"):
                    yield line

    for i, row in enumerate(csv.reader(lines(), skipinitialspace=True)):
        row = [f.strip() for f in row]
        if i == 0 and row and row[0].lower() == header_first:
            continue
        yield lineno, row


def _bad_row(path: Path, lineno: int, row: list[str], expected: str, why: str = "") -> ValueError:
    return ValueError(f"{path}, line {lineno}: {row!r} is not {expected}{': ' + why if why else ''}")


def read_class_indices(path) -> list[AudioSetClass]:
    """``class_labels_indices.csv``: ``index,mid,display_name`` (header optional)."""
    path = _check_file(path, "AudioSet class list", "class_labels_indices.csv: index,mid,display_name")
    out = []
    for lineno, row in _csv_rows(path, "index"):
        if len(row) != 3 or not row[0].isdigit() or not row[1].startswith("/"):
            raise _bad_row(path, lineno, row, "index,mid,display_name")
        out.append(AudioSetClass(int(row[0]), row[1], row[2]))
    if not out:
        raise ValueError(f"{path}: no classes (expected rows index,mid,display_name)")
    return out


def read_audioset_segments(path) -> list[AudioSetSegment]:
    """An AudioSet segments CSV: ``YTID, start_seconds, end_seconds, "mid,mid,..."``."""
    rows = 'YTID, start_seconds, end_seconds, "/m/..,/m/.."'
    expected = "an AudioSet segment: " + rows
    path = _check_file(path, "AudioSet segments CSV", "balanced_train_segments.csv style rows " + rows)
    out = []
    for lineno, row in _csv_rows(path, "ytid"):
        if len(row) != 4:
            raise _bad_row(path, lineno, row, expected, f"{len(row)} fields (is the label list quoted?)")
        try:
            start, end = float(row[1]), float(row[2])
        except ValueError:
            raise _bad_row(path, lineno, row, expected, "start or end is not a number") from None
        out.append(AudioSetSegment(row[0], start, end, tuple(m.strip() for m in row[3].split(",") if m.strip())))
    return out


def read_vggsound(path) -> list[VGGSoundRow]:
    """``vggsound.csv``: ``YTID,start_seconds,label,split`` (no header)."""
    expected = "a VGGSound row: YTID,start_seconds,label,split"
    path = _check_file(path, "VGGSound CSV", "vggsound.csv rows YTID,start_seconds,label,split")
    out = []
    for lineno, row in _csv_rows(path, "ytid"):
        if len(row) != 4:
            raise _bad_row(path, lineno, row, expected, f"{len(row)} fields (is a label with a comma unquoted?)")
        if not row[1].isdigit():
            raise _bad_row(path, lineno, row, expected, "start_seconds is not a whole number")
        if row[3] not in ("train", "test"):
            raise _bad_row(path, lineno, row, expected, "split is not train or test")
        out.append(VGGSoundRow(row[0], int(row[1]), row[2], row[3]))
    return out


# Selection -------------------------------------------------------------------------------------

class _Seconds(float):
    """A time that formats as a whole number when it is one: ``{start}`` -> ``30``,
    ``{start:06d}`` -> ``000030``, ``{start:.3f}`` -> ``30.000``."""

    def __format__(self, spec: str) -> str:
        if spec == "" or spec.endswith("d"):
            if self.is_integer():
                return format(int(self), spec)
            if spec == "":
                return repr(float(self))
            raise ValueError(f"start/end {float(self)} is not a whole number of seconds for format {spec!r}")
        return format(float(self), spec)


def clip_id(ytid: str, start: float) -> str:
    """``{YTID}_{start:06d}``, VGGSound's file stem (AudioSet starts are whole seconds too)."""
    return f"{ytid}_{_Seconds(start):06d}" if float(start).is_integer() else f"{ytid}_{start:.3f}"


def check_pattern(pattern: str) -> str:
    """A clip file-name pattern: ``str.format`` fields ``{ytid}`` (required), ``{start}``, ``{end}``."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError as e:
        raise ValueError(f"file-name pattern {pattern!r} is not a str.format pattern: {e}") from None
    unknown = fields - {"ytid", "start", "end"}
    if unknown or "ytid" not in fields:
        raise ValueError(f"file-name pattern {pattern!r} must contain {{ytid}} and may contain only "
                         f"{{ytid}}, {{start}}, {{end}} (e.g. 'Y{{ytid}}.wav', '{{ytid}}_{{start:06d}}.mp4'); "
                         f"found {sorted(fields) or 'no fields'}")
    return pattern


def audio_path(folder, ytid: str, start: float, pattern: str, end: float | None = None) -> Path:
    """The clip file of a row: ``folder / pattern.format(ytid=..., start=..., end=...)``."""
    end = start + 10.0 if end is None else end
    return Path(folder) / check_pattern(pattern).format(ytid=ytid, start=_Seconds(start), end=_Seconds(end))


def _mid_to_class(classes: Sequence[str], mids: dict[str, tuple[str, ...]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, name in enumerate(classes):
        if name not in mids:
            raise ValueError(f"class {name!r} has no AudioSet mids (pass mids=...)")
        for mid in mids[name]:
            if out.setdefault(mid, k) != k:
                raise ValueError(f"AudioSet mid {mid} is mapped to both {classes[out[mid]]!r} and {name!r}")
    return out


def select_audioset(segments: Sequence[AudioSetSegment], class_index: Sequence[AudioSetClass] | None = None,
                    classes: Sequence[str] = EVENT_CLASSES, mids: dict[str, tuple[str, ...]] = AUDIOSET_MIDS
                    ) -> tuple[list[tuple[AudioSetSegment, int]], SkipReport]:
    """Keep the segments with exactly one chapter class among their labels: (segment, class id).

    A segment whose labels name two or more chapter classes is skipped ("several chapter
    classes": the chapter is single-label); one with a mid that ``class_index`` (AudioSet's 527
    classes by default) does not know is skipped ("unknown label"); one with no chapter class is
    left out by design; a repeated (YTID, start) is skipped ("duplicate row").
    """
    known = {c.mid for c in (audioset_classes() if class_index is None else class_index)}
    to_class = _mid_to_class(classes, mids)
    report, kept, seen = SkipReport("AudioSet rows"), [], set()
    for seg in segments:
        what = clip_id(seg.ytid, seg.start)
        if any(m not in known for m in seg.labels):
            report.skip(what, "unknown label")
            continue
        hits = {to_class[m] for m in seg.labels if m in to_class}
        if not hits:
            report.filter("no chapter class")
        elif len(hits) > 1:
            report.skip(what, "several chapter classes")
        elif (seg.ytid, seg.start) in seen:
            report.skip(what, "duplicate row")
        else:
            seen.add((seg.ytid, seg.start))
            kept.append((seg, hits.pop()))
    report.kept = len(kept)
    return kept, report


def select_vggsound(rows: Sequence[VGGSoundRow], split: str, classes: Sequence[str] = EVENT_CLASSES
                    ) -> tuple[list[tuple[VGGSoundRow, int]], SkipReport]:
    """Keep the rows of ``split`` whose label is a chapter class: (row, class id).

    Rows of the other split and of VGGSound's other classes are left out by design; a label
    that is not one of VGGSound's 309 is skipped ("unknown label"); a repeated (YTID, start) is
    skipped ("duplicate row").
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test' (VGGSound's splits), got {split!r}")
    index = {name: k for k, name in enumerate(classes)}
    report, kept, seen = SkipReport(f"VGGSound {split} rows"), [], set()
    for row in rows:
        if row.split != split:
            report.filter("other split")
        elif row.label not in VGGSOUND_LABELS and row.label not in index:
            report.skip(f"{clip_id(row.ytid, row.start)} {row.label!r}", "unknown label")
        elif row.label not in index:
            report.filter("not a chapter class")
        elif (row.ytid, row.start) in seen:
            report.skip(clip_id(row.ytid, row.start), "duplicate row")
        else:
            seen.add((row.ytid, row.start))
            kept.append((row, index[row.label]))
    report.kept = len(kept)
    return kept, report


# Decoding --------------------------------------------------------------------------------------

class MediaError(Exception):
    """A clip that cannot be used; ``reason`` is what the loaders count it under."""

    def __init__(self, path, reason: str, detail: str = ""):
        self.path, self.reason, self.detail = Path(path), reason, detail
        super().__init__(f"{path}: {reason}" + (f" ({detail})" if detail else ""))


def _open(path):
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(path, "missing clip")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file")
    try:
        return av.open(str(path))
    except av.FFmpegError as e:
        raise MediaError(path, "undecodable", str(e)) from None


def decode_audio(path, sr: int = 16000) -> np.ndarray:
    """Mono float32 audio at ``sr`` (PyAV; FFmpeg's resampler, channels then averaged).

    The channels are averaged here, not by the resampler, whose stereo -> mono matrix is
    (L + R) / sqrt(2) and can leave [-1, 1]. Raises :class:`MediaError` (missing clip, empty
    file, undecodable, no audio stream, no audio decoded).
    """
    import av

    chunks = []
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(path, "no audio stream")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", rate=sr)  # layout kept: [channels, samples]
        try:
            for frame in container.decode(stream):
                chunks += [f.to_ndarray() for f in resampler.resample(frame)]
            chunks += [f.to_ndarray() for f in resampler.resample(None)]  # flush
        except av.FFmpegError as e:
            raise MediaError(path, "undecodable", str(e)) from None
    if not chunks or sum(c.shape[1] for c in chunks) == 0:
        raise MediaError(path, "no audio decoded")
    return np.concatenate(chunks, axis=1).mean(0).astype(np.float32)


def decode_frames(path, n_frames: int, size: tuple[int, int], start: float | None = None,
                  end: float | None = None) -> np.ndarray:
    """``n_frames`` RGB frames evenly spaced over the clip (or [start, end) seconds), uint8
    ``[T, 3, h, w]`` resized to ``size = (h, w)`` (the aspect ratio is not kept).

    Frame i shows the picture on screen at the centre of the i-th of n equal parts of the
    window (the last frame at or before that time). Raises :class:`MediaError`.
    """
    import av

    h, w = size
    times, images = [], []
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(path, "no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate) if stream.average_rate else None
        try:
            for k, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else (k / rate if rate else float(k))
                if start is not None and t < start - 1e-6:
                    continue
                if end is not None and t >= end - 1e-6:
                    break
                times.append(t)
                images.append(frame.reformat(width=w, height=h, format="rgb24").to_ndarray())
        except av.FFmpegError as e:
            raise MediaError(path, "undecodable", str(e)) from None
    if not images:
        raise MediaError(path, "no video frames decoded")
    times = np.asarray(times)
    t0 = times[0] if start is None else start
    step = 1.0 / rate if rate else (np.median(np.diff(times)) if len(times) > 1 else 1.0)
    t1 = times[-1] + step if end is None else end
    targets = t0 + (np.arange(n_frames) + 0.5) * (t1 - t0) / n_frames
    pick = np.clip(np.searchsorted(times, targets + 1e-6, side="right") - 1, 0, len(images) - 1)
    return np.stack([images[i] for i in pick]).transpose(0, 3, 1, 2).copy()


# Audio features --------------------------------------------------------------------------------

def n_columns(n_samples: int, nperseg: int, noverlap: int) -> int:
    """Spectrogram columns of ``n_samples`` (scipy's segments: no padding at the ends)."""
    return 1 + (n_samples - nperseg) // (nperseg - noverlap)


def _pool_groups(n_bins: int, n_freq: int | None) -> int:
    """Bins averaged per output bin; n_freq must divide n_bins - 1 (the Nyquist bin is dropped)."""
    if n_freq is None or n_freq == n_bins:
        return 1
    if n_freq < 1 or (n_bins - 1) % n_freq:
        raise ValueError(f"n_freq={n_freq} must be None, {n_bins} (no pooling) or a divisor of {n_bins - 1} "
                         f"(the {n_bins} bins less the Nyquist bin, averaged in groups of adjacent bins)")
    return (n_bins - 1) // n_freq


@dataclass(frozen=True)
class EventFeatureConfig:
    """How clips become features. Defaults: the paper / VGGSound (16 kHz, 5 s, 257 x 500)."""
    sr: int = 16000
    crop_seconds: float = 5.0       # training crops (random) and the test crop (central)
    nperseg: int = 512
    noverlap: int = 353             # hop 159 samples
    n_freq: int | None = None       # None: all nperseg // 2 + 1 bins; else pool to n_freq
    max_seconds: float = 10.0       # longer clips are cut (centred) to this: bounds memory
    n_frames: int = 8               # video frames per clip
    frame_size: tuple[int, int] = (112, 112)  # (h, w)
    eps: float = 1e-7               # np.log(spec + eps), as VGGSound

    def __post_init__(self):
        if self.sr <= 0:
            raise ValueError(f"sr must be positive, got {self.sr}")
        if not 0 <= self.noverlap < self.nperseg:
            raise ValueError(f"noverlap must be in [0, nperseg={self.nperseg}), got {self.noverlap}")
        if self.crop_samples < self.nperseg:
            raise ValueError(f"crop_seconds={self.crop_seconds} gives {self.crop_samples} samples at "
                             f"sr={self.sr}, fewer than nperseg={self.nperseg}")
        if self.max_seconds < self.crop_seconds:
            raise ValueError(f"max_seconds={self.max_seconds} must be at least crop_seconds={self.crop_seconds}")
        _pool_groups(self.nperseg // 2 + 1, self.n_freq)
        if self.n_frames < 0 or len(self.frame_size) != 2 or min(self.frame_size) < 1:
            raise ValueError(f"n_frames must be >= 0 and frame_size (h, w) positive, got "
                             f"{self.n_frames}, {self.frame_size}")

    @property
    def hop(self) -> int:
        return self.nperseg - self.noverlap

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_seconds * self.sr))

    @property
    def max_samples(self) -> int:
        return int(round(self.max_seconds * self.sr))

    @property
    def crop_cols(self) -> int:
        return n_columns(self.crop_samples, self.nperseg, self.noverlap)

    @property
    def freq_bins(self) -> int:
        return self.n_freq or self.nperseg // 2 + 1

    def spectrogram(self, y: np.ndarray) -> np.ndarray:
        return log_spectrogram(y, self.sr, self.nperseg, self.noverlap, self.n_freq, self.eps)


#: The paper's features (VGGSound's: 257 x 500 for 5 s at 16 kHz).
PAPER_FEATURES = EventFeatureConfig()
#: A small CPU profile: 8 kHz, 1.6 s crops, nperseg 256, noverlap 56 -> 129 x 63, pooled to 64 x 63.
CPU_FEATURES = EventFeatureConfig(sr=8000, crop_seconds=1.6, nperseg=256, noverlap=56, n_freq=64,
                                  n_frames=4, frame_size=(32, 32))


def log_spectrogram(y: np.ndarray, sr: int = 16000, nperseg: int = 512, noverlap: int = 353,
                    n_freq: int | None = None, eps: float = 1e-7) -> np.ndarray:
    """``np.log(scipy.signal.spectrogram(y, sr, nperseg=..., noverlap=...) + eps)``, float32 [F, T].

    scipy's defaults as in VGGSound's code (Tukey window 0.25, constant detrend per segment, PSD
    density). With ``n_freq``, the Nyquist bin is dropped and groups of adjacent bins are
    averaged in power, before the log (129 -> 64: pairs).
    """
    from scipy.signal import spectrogram

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1 or len(y) < nperseg:
        raise ValueError(f"log_spectrogram needs a 1-D signal of at least nperseg={nperseg} samples, "
                         f"got shape {y.shape}")
    _, _, spec = spectrogram(y, sr, nperseg=nperseg, noverlap=noverlap)
    g = _pool_groups(spec.shape[0], n_freq)
    if g > 1:
        spec = spec[:n_freq * g].reshape(n_freq, g, -1).mean(1)
    return np.log(spec + eps).astype(np.float32)


def standardise(spec: np.ndarray) -> np.ndarray:
    """Per clip (the last two axes): ``(s - mean) / (std + 1e-9)``, as VGGSound; float32."""
    spec = np.asarray(spec, dtype=np.float32)
    mean = spec.mean(axis=(-2, -1), keepdims=True)
    std = spec.std(axis=(-2, -1), keepdims=True)
    return (spec - mean) / (std + 1e-9)


def crop_columns(spec: np.ndarray, n_cols: int, start: int) -> np.ndarray:
    """Columns ``start .. start + n_cols`` of a spectrogram [..., F, T]: the same as the
    spectrogram of the waveform crop starting at sample ``start * hop`` (columns are computed
    from their own segments alone)."""
    if not 0 <= start <= spec.shape[-1] - n_cols:
        raise ValueError(f"crop of {n_cols} columns at {start} does not fit {spec.shape[-1]} columns")
    return spec[..., start:start + n_cols]


def centre_start(n_valid: int, n_cols: int) -> int:
    """The test crop's start: centred (the extra column, if any, after it)."""
    return max(n_valid - n_cols, 0) // 2


def random_start(n_valid: int, n_cols: int, rng: np.random.Generator) -> int:
    """A training crop's start, uniform over the clip's real columns."""
    return int(rng.integers(0, max(n_valid - n_cols, 0) + 1))


def fit_length(y: np.ndarray, n_min: int, n_max: int) -> tuple[np.ndarray, str | None]:
    """Zero-pad a shorter signal to ``n_min`` samples, centred (the extra zero at the end), or
    cut a longer one to ``n_max``, centred. Returns the signal and "padded", "cut" or None."""
    if len(y) < n_min:
        left = (n_min - len(y)) // 2
        return np.pad(y, (left, n_min - len(y) - left)), "padded"
    if len(y) > n_max:
        left = (len(y) - n_max) // 2
        return y[left:left + n_max], "cut"
    return y, None


def clip_spectrogram(y: np.ndarray, cfg: EventFeatureConfig = PAPER_FEATURES) -> tuple[np.ndarray, str | None]:
    """A whole clip's log spectrogram [F, T] (computed once; crops are cut from it), after
    clipping to [-1, 1] (as VGGSound) and :func:`fit_length` to [crop, max_seconds]."""
    y, note = fit_length(np.clip(y, -1.0, 1.0), cfg.crop_samples, cfg.max_samples)
    return cfg.spectrogram(y), note


def audio_features(y: np.ndarray, cfg: EventFeatureConfig = PAPER_FEATURES,
                   rng: np.random.Generator | None = None) -> np.ndarray:
    """VGGSound's pipeline in the waveform domain: a crop of ``crop_seconds`` (random with
    ``rng``, else central; centred zero-padding when shorter), log spectrogram, standardised.
    [F, crop_cols] float32 (257 x 500 for the paper's 5 s at 16 kHz)."""
    y, _ = fit_length(np.clip(np.asarray(y, np.float64), -1.0, 1.0), cfg.crop_samples, len(y))
    n = cfg.crop_samples
    start = (len(y) - n) // 2 if rng is None else int(rng.integers(0, len(y) - n + 1))
    return standardise(cfg.spectrogram(y[start:start + n]))


# Loading ---------------------------------------------------------------------------------------

@dataclass
class EventClips:
    """Decoded clips of one split.

    ``spec``: log spectrograms (not standardised) [N, F, T_full], float16; clip i's real columns
    are ``spec[i, :, :cols[i]]`` and the rest (clips shorter than the longest) is filled with
    ``log(eps)``, the value of silence. ``frames``: [N, n_frames, 3, h, w] uint8 or None.
    """
    spec: np.ndarray
    cols: np.ndarray  # [N] int64
    y: np.ndarray  # [N] int64, index into classes
    ids: list[str]  # {YTID}_{start:06d}
    report: SkipReport
    cfg: EventFeatureConfig
    frames: np.ndarray | None = None
    classes: tuple[str, ...] = EVENT_CLASSES

    def __len__(self) -> int:
        return len(self.y)

    def audio(self, i: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """Clip i's standardised crop [F, crop_cols] float32: random with ``rng``, else central."""
        n, valid = self.cfg.crop_cols, int(self.cols[i])
        start = centre_start(valid, n) if rng is None else random_start(valid, n, rng)
        return standardise(crop_columns(self.spec[i], n, start))


def _check_folder(folder, what: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{what} {str(folder)!r} is not a folder")
    return folder


def _decode_all(jobs, cfg: EventFeatureConfig, report: SkipReport, with_frames: bool, source: str) -> EventClips:
    """Decode (id, path, class) jobs; a clip that fails is skipped and counted by its reason."""
    specs, cols, ys, ids, frames = [], [], [], [], []
    for what, path, y in jobs:
        try:
            audio = decode_audio(path, cfg.sr)
            video = decode_frames(path, cfg.n_frames, cfg.frame_size) if with_frames else None
        except MediaError as e:
            report.skip(what, e.reason)
            continue
        spec, note = clip_spectrogram(audio, cfg)
        if note:
            report.note(what, note)
        specs.append(spec)
        cols.append(spec.shape[1])
        ys.append(y)
        ids.append(what)
        frames.append(video)
    report.kept = len(ys)
    if not ys:
        raise ValueError(f"no {source} clip could be loaded ({report.summary()})")
    full = np.full((len(specs), cfg.freq_bins, max(cols)), np.log(cfg.eps), dtype=np.float16)
    for i, s in enumerate(specs):
        full[i, :, :s.shape[1]] = s
    return EventClips(full, np.asarray(cols, np.int64), np.asarray(ys, np.int64), ids, report, cfg,
                      np.stack(frames) if with_frames else None)


def load_audioset(segments_csv, audio_folder, pattern: str = "Y{ytid}.wav", class_csv=None,
                  cfg: EventFeatureConfig = PAPER_FEATURES) -> EventClips:
    """D_l: the AudioSet clips with exactly one chapter class, as log spectrograms (audio only).

    ``pattern`` names a clip file in ``audio_folder`` (:func:`audio_path`; any format FFmpeg
    reads: wav, flac, m4a, ...). ``class_csv`` (``class_labels_indices.csv``) defaults to the
    shipped copy; every chapter mid must be in it.
    """
    check_pattern(pattern)
    folder = _check_folder(audio_folder, "AudioSet audio folder")
    _check_file(segments_csv, "AudioSet segments CSV", "balanced_train_segments.csv style rows")
    if not isinstance(cfg, EventFeatureConfig):
        raise TypeError(f"cfg must be an EventFeatureConfig, got {type(cfg).__name__}")
    known = audioset_classes() if class_csv is None else read_class_indices(class_csv)
    missing = sorted({m for ms in AUDIOSET_MIDS.values() for m in ms} - {c.mid for c in known})
    if missing:
        raise ValueError(f"class list {str(class_csv)!r} lacks the chapter's AudioSet mids {missing}")
    kept, report = select_audioset(read_audioset_segments(segments_csv), known)
    report.source = f"AudioSet {Path(segments_csv).name}"
    jobs = [(clip_id(s.ytid, s.start), audio_path(folder, s.ytid, s.start, pattern, s.end), y) for s, y in kept]
    return _decode_all(jobs, cfg, report, with_frames=False, source="AudioSet")


def load_vggsound(csv_path, video_folder, split: str, cfg: EventFeatureConfig = PAPER_FEATURES,
                  pattern: str = "{ytid}_{start:06d}.mp4", with_frames: bool = True) -> EventClips:
    """D_u (``split='train'``) or the test set: VGGSound clips of the chapter's classes, as log
    spectrograms and (``with_frames``) ``cfg.n_frames`` frames evenly spaced over each clip."""
    check_pattern(pattern)
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test' (VGGSound's splits), got {split!r}")
    folder = _check_folder(video_folder, "VGGSound video folder")
    _check_file(csv_path, "VGGSound CSV", "vggsound.csv rows YTID,start_seconds,label,split")
    if not isinstance(cfg, EventFeatureConfig):
        raise TypeError(f"cfg must be an EventFeatureConfig, got {type(cfg).__name__}")
    if with_frames and cfg.n_frames < 1:
        raise ValueError("with_frames needs cfg.n_frames >= 1")
    kept, report = select_vggsound(read_vggsound(csv_path), split)
    report.source = f"VGGSound {Path(csv_path).name} ({split})"
    jobs = [(clip_id(r.ytid, r.start), audio_path(folder, r.ytid, r.start, pattern), y) for r, y in kept]
    return _decode_all(jobs, cfg, report, with_frames=with_frames, source=f"VGGSound {split}")
