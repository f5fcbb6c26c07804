"""RAVDESS (Livingstone & Russo, 2018) in its published layout: the emotion chapter's real data.

Layout: ``Actor_01`` ... ``Actor_24`` folders of files named by seven two-digit codes,
``MM-VV-EE-II-SS-RR-AA.ext``: modality (01 audio-video, 02 video-only, 03 audio-only), vocal
channel (01 speech, 02 song), emotion (01 neutral ... 08 surprised), intensity (01 normal,
02 strong; neutral has no strong), statement (01 "Kids are talking by the door", 02 "Dogs are
sitting by the door"), repetition (01, 02) and actor (01-24).

A clip's image modality is one grey frame every 0.5 s (decoded with PyAV); its audio is
decoded with PyAV, resampled with a Kaiser-windowed sinc ('kaiser_best', the paper's choice)
and turned into MFCCs with librosa. A clip comes from an audio-video ``.mp4`` (modality 01), or
from a video-only ``.mp4`` (02) paired with an audio-only ``.wav`` (03) of the same codes.
Malformed names and unreadable files are skipped and counted in a :class:`ScanReport`, never
silently. Splits follow the paper (D_l : D_u = 2 : 8, D_u into train : val : test = 8 : 1 : 1,
stratified by emotion and seeded), or go by actor so that no actor is in two splits.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EMOTIONS = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
STATEMENTS = ("Kids are talking by the door", "Dogs are sitting by the door")
_FIELDS = ("modality", "vocal_channel", "emotion", "intensity", "statement", "repetition", "actor")
_RANGES = {"modality": (1, 3), "vocal_channel": (1, 2), "emotion": (1, 8), "intensity": (1, 2),
           "statement": (1, 2), "repetition": (1, 2), "actor": (1, 24)}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")


class RavdessNameError(ValueError):
    """A file name that is not a RAVDESS code."""


@dataclass(frozen=True)
class ClipCode:
    modality: int
    vocal_channel: int
    emotion: int  # 1..8 as in the file name
    intensity: int
    statement: int
    repetition: int
    actor: int

    @property
    def label(self) -> int:
        """The class index 0..7."""
        return self.emotion - 1

    @property
    def emotion_name(self) -> str:
        return EMOTIONS[self.label]

    @property
    def clip_key(self) -> tuple:
        """What identifies a recording across its modality files."""
        return (self.vocal_channel, self.emotion, self.intensity, self.statement, self.repetition, self.actor)

    def name(self) -> str:
        return "-".join(f"{getattr(self, f):02d}" for f in _FIELDS)


def parse_name(name: str) -> ClipCode:
    """Parse a RAVDESS file name (with or without folder and extension) into its codes."""
    stem = Path(name).stem
    m = _NAME.match(stem)
    if not m:
        raise RavdessNameError(f"{name!r}: expected seven two-digit codes MM-VV-EE-II-SS-RR-AA "
                               f"(modality-vocal channel-emotion-intensity-statement-repetition-actor)")
    values = dict(zip(_FIELDS, (int(g) for g in m.groups())))
    for f, (lo, hi) in _RANGES.items():
        if not lo <= values[f] <= hi:
            raise RavdessNameError(f"{name!r}: {f} code {values[f]:02d} is outside {lo:02d}-{hi:02d}")
    if values["emotion"] == 1 and values["intensity"] == 2:
        raise RavdessNameError(f"{name!r}: neutral (emotion 01) has no strong intensity (02)")
    return ClipCode(**values)


@dataclass
class Clip:
    code: ClipCode
    video: Path  # an audio-video or video-only .mp4
    audio: Path  # the same .mp4 (modality 01) or the paired .wav (modality 03)


@dataclass
class ScanReport:
    clips: list[Clip] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # path -> why

    def summary(self) -> str:
        return f"{len(self.clips)} clips, {len(self.skipped)} files skipped"


def scan(root: str | Path, vocal_channel: int = 1) -> ScanReport:
    """Find the clips under ``root`` (``Actor_XX`` folders); speech only by default, as the paper."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"RAVDESS root {str(root)!r} is not a folder (expected Actor_01 ... Actor_24 inside)")
    actors = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"Actor_\d{2}", p.name))
    if not actors:
        raise FileNotFoundError(f"no Actor_XX folders under {str(root)!r}: is this the unpacked RAVDESS?")
    report = ScanReport()
    by_key: dict[tuple, dict[int, Path]] = {}
    for folder in actors:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in (".mp4", ".wav"):
                continue
            try:
                code = parse_name(path.name)
            except RavdessNameError as e:
                report.skipped[str(path)] = str(e)
                continue
            if code.actor != int(folder.name[-2:]):
                report.skipped[str(path)] = f"actor code {code.actor:02d} in folder {folder.name}"
                continue
            expected = ".wav" if code.modality == 3 else ".mp4"
            if path.suffix.lower() != expected:
                report.skipped[str(path)] = f"modality {code.modality:02d} should be a {expected} file"
                continue
            if code.vocal_channel == vocal_channel:
                by_key.setdefault(code.clip_key, {})[code.modality] = path
    for key, files in sorted(by_key.items()):
        code = parse_name(next(iter(files.values())).name)
        if 1 in files:
            report.clips.append(Clip(code, files[1], files[1]))
        elif 2 in files and 3 in files:
            report.clips.append(Clip(code, files[2], files[3]))
        else:
            for path in files.values():
                report.skipped[str(path)] = "no matching audio (03) for this video-only file" if 2 in files \
                    else "no matching video (01 or 02) for this audio-only file"
    return report


def decode_frames(path: str | Path, every: float = 0.5, size: int = 48, max_frames: int | None = None) -> np.ndarray:
    """Grey frames (``[T, size, size]``, float32 in [0, 1]) at t = 0, every, 2*every, ... with PyAV."""
    import av

    frames, next_t = [], 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate) if stream.average_rate else None
        for k, frame in enumerate(container.decode(stream)):
            if frame.pts is not None:
                t = float(frame.pts * stream.time_base)
            elif rate:  # a stream without timestamps (raw h264): frame k at k / rate, as mke.data.events
                t = k / rate
            else:
                raise ValueError(f"{path}: video frame {k} has no timestamp and the stream no frame rate")
            if t + 1e-6 < next_t:
                continue
            img = frame.reformat(width=size, height=size, format="gray").to_ndarray()
            frames.append(img.astype(np.float32) / 255.0)
            next_t += every
            if max_frames and len(frames) >= max_frames:
                break
    if not frames:
        raise ValueError(f"{path}: no video frames decoded")
    return np.stack(frames)


def decode_audio(path: str | Path, sr: int = 16000) -> np.ndarray:
    """Mono float32 audio at ``sr``: PyAV decodes, a Kaiser-windowed sinc ('kaiser_best') resamples."""
    import av
    import librosa

    chunks, native = [], None
    with av.open(str(path)) as container:
        if not container.streams.audio:
            raise ValueError(f"{path}: no audio stream")
        stream = container.streams.audio[0]
        for frame in container.decode(stream):
            native = frame.sample_rate
            raw = frame.to_ndarray()
            a = raw.astype(np.float32)
            if np.issubdtype(raw.dtype, np.integer):
                a /= float(np.iinfo(raw.dtype).max)
            if frame.format.is_planar:
                a = a.mean(0)  # [channels, samples] -> mono
            else:
                a = a.reshape(-1, len(frame.layout.channels)).mean(1)  # interleaved
            chunks.append(a)
    if not chunks:
        raise ValueError(f"{path}: no audio samples decoded")
    y = np.concatenate(chunks)
    if native != sr:
        y = librosa.resample(y, orig_sr=native, target_sr=sr, res_type="kaiser_best")
    return y.astype(np.float32)


def mfcc(y: np.ndarray, sr: int = 16000, n_mfcc: int = 40, n_frames: int = 128, hop_length: int = 256) -> np.ndarray:
    """MFCCs ``[n_mfcc, n_frames]`` (librosa), cropped or zero-padded to a fixed length."""
    import librosa

    m = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, hop_length=hop_length).astype(np.float32)
    if m.shape[1] >= n_frames:
        return m[:, :n_frames]
    return np.pad(m, ((0, 0), (0, n_frames - m.shape[1])))


@dataclass
class RavdessFeatures:
    images: np.ndarray  # [N, T, H, W]
    mfcc: np.ndarray  # [N, n_mfcc, n_frames]
    y: np.ndarray  # [N] class 0..7
    actor: np.ndarray  # [N]
    codes: list[ClipCode]
    report: ScanReport


def load_features(root: str | Path, n_images: int = 6, every: float = 0.5, size: int = 48, sr: int = 16000,
                  n_mfcc: int = 40, n_frames: int = 128, hop_length: int = 256) -> RavdessFeatures:
    """Decode every clip under ``root``; a clip that fails to decode is skipped and counted."""
    report = scan(root)
    images, feats, ys, actors, codes = [], [], [], [], []
    for clip in report.clips:
        try:
            frames = decode_frames(clip.video, every, size, max_frames=n_images)
            audio = decode_audio(clip.audio, sr)
        except Exception as e:  # av.error.* for corrupt media, ValueError for empty streams
            report.skipped[str(clip.video)] = f"unreadable: {type(e).__name__}: {e}"
            continue
        if len(frames) < n_images:  # short clip: repeat its last frame
            frames = np.concatenate([frames, np.repeat(frames[-1:], n_images - len(frames), 0)])
        images.append(frames)
        feats.append(mfcc(audio, sr, n_mfcc, n_frames, hop_length))
        ys.append(clip.code.label)
        actors.append(clip.code.actor)
        codes.append(clip.code)
    if not images:
        raise ValueError(f"no clip under {str(root)!r} could be decoded ({report.summary()})")
    return RavdessFeatures(np.stack(images), np.stack(feats), np.array(ys), np.array(actors), codes, report)


def split_indices(y: np.ndarray, actor: np.ndarray, seed: int = 0, by_actor: bool = False) -> dict[str, np.ndarray]:
    """D_l : D_u = 2 : 8, then D_u -> train : val : test = 8 : 1 : 1 (Section 4.2).

    Stratified by emotion and seeded; ``by_actor`` assigns whole actors to splits instead (no
    actor in two splits: a harder, speaker-independent protocol).
    """
    from sklearn.model_selection import GroupShuffleSplit, train_test_split

    from mke.data.task import check_split_sizes

    shares = {"D_l": 0.2, "D_u": 0.8 * 0.8, "val": 0.8 * 0.2 * 0.5, "test": 0.8 * 0.2 * 0.5}
    if by_actor:  # whole actors go to splits: each split needs at least one actor
        check_split_sizes("RAVDESS split by actor", np.zeros(len(set(actor.tolist()))), shares, unit="actors")
    # stratified by emotion: each class needs a member in every split (and sklearn needs 2)
    check_split_sizes("RAVDESS split" + (" by actor" if by_actor else " by clip"), y, shares, unit="clips")
    idx = np.arange(len(y))
    if not by_actor:
        l_idx, u_idx = train_test_split(idx, train_size=0.2, stratify=y, random_state=seed)
        tr, rest = train_test_split(u_idx, train_size=0.8, stratify=y[u_idx], random_state=seed)
        va, te = train_test_split(rest, train_size=0.5, stratify=y[rest], random_state=seed)
    else:
        def group_split(ix, frac):
            a, b = next(GroupShuffleSplit(1, train_size=frac, random_state=seed).split(ix, groups=actor[ix]))
            return ix[a], ix[b]

        l_idx, u_idx = group_split(idx, 0.2)
        tr, rest = group_split(u_idx, 0.8)
        va, te = group_split(rest, 0.5)
    return {"D_l": np.sort(l_idx), "D_u": np.sort(tr), "val": np.sort(va), "test": np.sort(te)}
