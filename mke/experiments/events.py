"""The event-classification experiment (Section 4.4; supplementary Section 2.3, Tables 4 and 5).

Modality alpha is audio (log spectrograms), beta video (RGB frames). The teacher, a ResNet-18
layout 2D CNN on spectrograms, learns from AudioSet clips (D_l, audio only); it labels
unlabeled VGGSound clips (D_u, audio and video) with soft pseudo labels; the students learn
from those labels only. The test set is VGGSound's test clips of the same classes. Metric:
per-class average precision and its macro mean (mAP) over the classes, top-1 accuracy beside.

The regulariser T is the paper's random crop of ``crop_seconds`` from each clip's
spectrogram (VGGSound's reference code), plus two pieces of ours: dropout on the features
before the linear layer (:func:`transform_for` says why) and, for the MM student's frames, a
random horizontal flip of the whole clip (one draw per clip, every frame). Every network sees the
central crop when not trained through T (:class:`mke.event_models.EventNet` ``crop_cols``):
the teacher (trained without T, as the methods table of :mod:`mke.methods`), the students
without regularisation, and every model at test time.

With no dataset paths the chapter runs on :mod:`mke.data.events_standin` (synthesised sound
events with matching videos, its own 46 classes); with the four paths it runs on AudioSet and
VGGSound (:mod:`mke.data.events`, our 46 common classes).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from mke import seeds
from mke.algorithm import pseudo_label, train_student, train_teacher
from mke.cache import cached, fingerprint
from mke.data.events import PAPER_TABLE5
from mke.data.task import Task
from mke.kinds import SINGLE_LABEL
from mke.methods import METHODS, Method
from mke.metrics import AveragePrecision
from mke.params import PROFILES, Param, ParameterSpec, boolean, choice, folder, integer, optional, path
from mke.results import paper_tables, result_row
from mke.runtime import DEVICES
from mke.train import TrainConfig, predict
from mke.transforms import T1, T3, Transform

MODALITIES = ("audio", "video")  # (alpha, beta)
TABLE4_METHODS = ("um_teacher", "um_student", "noisy_student", "mm_student_noreg", "mm_student", "mm_student_sup")
NOISY_INPUT = 0.1  # the NOISY student's extra input noise (T1, relative), on top of the crop
FEATURE_DROPOUT = 0.5  # T3 on the features before the classifier (calibrated; see transform_for)
STANDIN_SEED = 0  # the synthesised clips of the book; calibration used STANDIN_SEED + 1 (see the chapter)
CONTROL_SEED = 2000  # cycle()'s default seed (the chapter draws the control's per training seed)
SUP_MARGIN = 0.01  # "MM sup >= MM" is judged as non-inferiority: A - B above -0.01 mAP


@dataclass(frozen=True)
class Profile:
    name: str  # also picks the networks (mke.event_models.EVENT_PROFILES) and the stand-in's sizes
    teacher_epochs: int
    student_epochs: int
    n_seeds: int
    batch_size: int = 32
    lr: float = 1e-3

    # min_batch=2: BatchNorm cannot train on a last batch of one clip (3,713 clips in batches of 32)
    def teacher_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.teacher_epochs, lr=self.lr, optimizer="adam", batch_size=self.batch_size,
                           schedule="cosine", weight_decay=1e-4, min_batch=2)

    def student_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.student_epochs, lr=self.lr, optimizer="adam", batch_size=self.batch_size,
                           schedule="cosine", weight_decay=1e-4, min_batch=2)


PROFILE_SETTINGS = {
    "quick": Profile("quick", teacher_epochs=2, student_epochs=1, n_seeds=2),
    # 2 CPU cores: the stand-in's book clips (64 x 79 spectrograms, 4 frames of 32 x 32), width-16
    # backbones (mke.event_models.EVENT_PROFILES["book"]); students 6 epochs (bench/calibrate_events.py
    # compares 12)
    "book": Profile("book", teacher_epochs=16, student_epochs=6, n_seeds=3),
    # for a GPU: VGGSound's 257 x 500 spectrograms, 8 frames of 112 x 112, ResNet-18 / r3d-18
    "paper": Profile("paper", teacher_epochs=30, student_epochs=30, n_seeds=3, batch_size=32, lr=3e-4),
}

REAL_PATHS = ("audioset_csv", "audioset_audio", "vggsound_csv", "vggsound_video")

PARAMETERS = ParameterSpec(
    "events",
    Param("profile", "book", choice(*PROFILES), "quick | book | paper"),
    Param("n_seeds", None, optional(integer(2, 50)), "None: the profile's (quick 2, book 3, paper 3)"),
    Param("device", "auto", choice(*DEVICES), "auto | cpu | cuda"),
    Param("audioset_csv", None, optional(path(must_exist=True)),
          "None: the stand-in; else AudioSet's balanced_train_segments.csv (D_l)"),
    Param("audioset_audio", None, optional(folder(must_exist=True)), "folder of the AudioSet clips"),
    Param("audioset_pattern", "Y{ytid}.wav", lambda name, value: _check_pattern(name, value),
          "file name of an AudioSet clip: {ytid}, {start}, {end} (e.g. {ytid}_{start}.flac)"),
    Param("vggsound_csv", None, optional(path(must_exist=True)), "VGGSound's vggsound.csv (D_u and test)"),
    Param("vggsound_video", None, optional(folder(must_exist=True)), "folder of {YTID}_{start:06d}.mp4 clips"),
    Param("video_informative", True, boolean(), "False: every clip shows another clip's frames (the control)"),
    Param("soft_labels", True, boolean(), "soft pseudo labels (the paper's setting) or hard ones"),
    Param("results_dir", "results", folder(must_exist=False), "relative to executed/"),
    Param("threads", 2, integer(1, 256), "torch threads (fixed, so that floats repeat)"),
)


def _check_pattern(name: str, value) -> None:
    from mke.data.events import check_pattern

    if not isinstance(value, str):
        raise ValueError(f"parameter {name!r} must be a file-name pattern string, got {value!r}")
    try:
        check_pattern(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"parameter {name!r}: {e}") from None


def validate_parameters(**values) -> None:
    """Check every papermill parameter before any work; raise naming the offender."""
    PARAMETERS.validate(values)
    given = [p for p in REAL_PATHS if values.get(p) is not None]
    if given and len(given) != len(REAL_PATHS):
        missing = [p for p in REAL_PATHS if values.get(p) is None]
        raise ValueError(f"the real data needs all of {REAL_PATHS}; got {given} but not {missing} "
                         "(leave all four None for the stand-in)")


# --------------------------------------------------------------------------- data

@dataclass
class Corpus:
    """Clips of the three splits as tensors: ``audio`` float32 ``[N, F, T]`` (standardised per
    clip), ``video`` uint8 ``[N, n_frames, 3, h, w]``, ``y`` int64 (the split's labels: noisy in
    the stand-in's D_l), ``y_true`` (the stand-in's truth; the labels themselves for real data).
    ``group`` names each class's stand-in group (None for real data)."""

    splits: dict
    names: tuple[str, ...]
    crop_cols: int
    source: str
    group_names: tuple[str, ...] | None = None  # per class: its confusable group, or "unique"
    seconds: float = 0.0  # stand-in generation, or decoding
    nbytes: int = 0
    skipped: dict = field(default_factory=dict)  # split -> SkipReport summary


def standardise(spec: torch.Tensor, cols: torch.Tensor | None = None) -> torch.Tensor:
    """Per clip, over its real columns, as VGGSound: ``(s - mean) / (std + 1e-9)``; padding -> 0.

    VGGSound standardises each 5 s crop; the chapter standardises each whole clip once (the
    crop is cut afterwards), which differs only by the statistics of the columns cut off."""
    spec = spec.float()
    if cols is None:
        mean = spec.mean((-2, -1), keepdim=True)
        std = spec.std((-2, -1), unbiased=False, keepdim=True)
        return (spec - mean) / (std + 1e-9)
    valid = (torch.arange(spec.shape[-1]) < cols[:, None]).unsqueeze(1).float()  # [N, 1, T]
    n = valid.sum((-2, -1), keepdim=True) * spec.shape[-2]
    mean = (spec * valid).sum((-2, -1), keepdim=True) / n
    std = (((spec - mean) * valid) ** 2).sum((-2, -1), keepdim=True).div(n).sqrt()
    return (spec - mean) / (std + 1e-9) * valid


def standin_config(profile: Profile, seed: int = STANDIN_SEED):
    from mke.data.events_standin import profile as standin_profile

    return standin_profile("quick" if profile.name == "quick" else "book", seed=seed)


def load_standin(profile: Profile, seed: int = STANDIN_SEED) -> Corpus:
    """The synthesised stand-in (:mod:`mke.data.events_standin`), generated once and cached.

    The ``paper`` profile uses the book's clips too (the paper-size stand-in is 7.6 GB)."""
    from mke.data.events_standin import StandinEvents, generate

    cfg = standin_config(profile, seed)

    def make():
        t0 = time.perf_counter()
        arrays = generate(cfg).arrays()
        out = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
        out["seconds"] = torch.tensor(time.perf_counter() - t0)
        return out

    d = cached(fingerprint("events_standin", repr(cfg)), make, kind="datasets")
    data = StandinEvents.from_arrays(cfg, {k: v for k, v in d.items() if k != "seconds"})
    splits = {}
    for name in ("D_l", "D_u", "test"):
        s = data[name]
        splits[name] = {"audio": standardise(torch.from_numpy(s.spec)), "video": torch.from_numpy(s.frames),
                        "y": torch.from_numpy(s.y), "y_true": torch.from_numpy(s.y_true)}
    group_names = tuple(data.groups[g].name for g in data.group_of_class)
    return Corpus(splits, data.names, cfg.crop_cols, "stand-in", group_names, float(d["seconds"]), data.nbytes)


def feature_config(profile: Profile):
    """The real data's features by profile: VGGSound's for ``paper``; small ones on a CPU."""
    from mke.data.events import CPU_FEATURES, PAPER_FEATURES, EventFeatureConfig

    if profile.name == "paper":
        return PAPER_FEATURES
    if profile.name == "book":
        return CPU_FEATURES
    return EventFeatureConfig(sr=8000, crop_seconds=0.8, nperseg=256, noverlap=56, n_freq=32, max_seconds=2.0,
                              n_frames=2, frame_size=(16, 16))


def _listing(folder) -> list[tuple[str, int, int]]:
    """(name, size, mtime) of every file in ``folder``: a cache key that notices added, removed
    or re-downloaded clips."""
    import os

    with os.scandir(folder) as it:
        return sorted((e.name, e.stat().st_size, int(e.stat().st_mtime)) for e in it if e.is_file())


def centre_columns(spec: torch.Tensor, cols: torch.Tensor, width: int) -> torch.Tensor:
    """Each clip's ``cols[i]`` real columns (left-aligned in ``spec``) moved to the middle of a
    ``width``-column row of zeros (a standardised spectrogram's silence-free mean), so that the
    test-time centre crop is the centre of the clip itself. Real clips are at most
    ``max_seconds`` long, so no column is lost."""
    out = torch.zeros(spec.shape[0], spec.shape[1], width, dtype=spec.dtype)
    for i, c in enumerate(cols.tolist()):
        left = (width - c) // 2
        out[i, :, left:left + c] = spec[i, :, :c]
    return out


def load_real(profile: Profile, audioset_csv, audioset_audio, vggsound_csv, vggsound_video,
              audioset_pattern: str = "Y{ytid}.wav") -> Corpus:
    """AudioSet (D_l) and VGGSound (D_u: its train split; test: its test split) decoded once
    with PyAV at the profile's features and cached (keyed by the CSVs and every file in the two
    media folders). Undecodable clips are skipped and counted by reason.

    Every split shares one width, the columns of ``max_seconds`` (10 s in the paper's
    features). A clip shorter than that is centred in it with zeros either side (after
    standardisation, so the zeros are the clip's mean level): the centre crop is the clip's own
    centre, and a random crop of a short clip may take in some padding. A clip shorter than
    the crop itself is zero-padded in the waveform first (counted as "padded")."""
    import os

    from mke.data.events import EVENT_CLASSES, load_audioset, load_vggsound, n_columns

    cfg = feature_config(profile)
    stat = [(os.path.abspath(p), os.stat(p).st_size, int(os.stat(p).st_mtime)) for p in (audioset_csv, vggsound_csv)]
    key = fingerprint("events_real", stat, os.path.abspath(audioset_audio), _listing(audioset_audio),
                      os.path.abspath(vggsound_video), _listing(vggsound_video), audioset_pattern, repr(cfg))
    width = n_columns(cfg.max_samples, cfg.nperseg, cfg.noverlap)

    def make():
        t0 = time.perf_counter()
        parts = {"D_l": load_audioset(audioset_csv, audioset_audio, audioset_pattern, cfg=cfg),
                 "D_u": load_vggsound(vggsound_csv, vggsound_video, "train", cfg),
                 "test": load_vggsound(vggsound_csv, vggsound_video, "test", cfg)}
        out = {"seconds": torch.tensor(time.perf_counter() - t0)}
        for name, clips in parts.items():
            n = len(clips)
            frames = (torch.from_numpy(clips.frames) if clips.frames is not None
                      else torch.zeros((1, cfg.n_frames, 3, *cfg.frame_size), dtype=torch.uint8).expand(n, -1, -1, -1, -1))
            cols = torch.from_numpy(clips.cols)
            audio = centre_columns(standardise(torch.from_numpy(clips.spec), cols), cols, width)
            out[name] = {"audio": audio,
                         "video": frames,  # from_numpy is contiguous; the placeholder stays a view
                         "y": torch.from_numpy(clips.y), "y_true": torch.from_numpy(clips.y)}
            out[f"{name}_skipped"] = clips.report.summary()
        return out

    d = cached(key, make, kind="datasets")
    splits = {name: d[name] for name in ("D_l", "D_u", "test")}
    skipped = {name: d[f"{name}_skipped"] for name in ("D_l", "D_u", "test")}
    return Corpus(splits, tuple(EVENT_CLASSES), cfg.crop_cols, "AudioSet -> VGGSound", None, float(d["seconds"]),
                  sum(v.untyped_storage().nbytes() for s in splits.values() for v in s.values()), skipped)


def cycle(n: int, seed: int = CONTROL_SEED) -> torch.Tensor:
    """A random permutation with no fixed point (one n-cycle): clip i shows clip cycle[i]'s frames."""
    if n < 2:
        raise ValueError(f"a permutation without fixed points needs at least 2 clips, got {n}")
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    perm = torch.empty(n, dtype=torch.long)
    perm[order] = order.roll(1)
    return perm


def build_task(corpus: Corpus, video_informative: bool = True, seed: int = 0) -> Task:
    """The chapter's task; ``video_informative=False`` gives each D_u and test clip the frames of
    another clip of the same split (:func:`cycle`, drawn from ``seed``: the chapter draws one
    pairing per training seed, so the pairing's luck is part of the control's interval): audio
    and labels unchanged, the frames say nothing about the clip. D_l's frames are never used
    (the teacher and the NOISY student hear audio only)."""
    sizes = {name: len(s["y"]) for name, s in corpus.splits.items()}
    small = {name: n for name, n in sizes.items() if n < (1 if name == "test" else 2)}
    if small:
        raise ValueError(f"{corpus.source}: too few clips to train and test ({small}); D_l and D_u need at least 2 "
                         "clips each (BatchNorm trains on batches of 2 or more) and test at least 1")
    splits = {}
    for name, s in corpus.splits.items():
        split = {"audio": s["audio"], "video": s["video"], "y": s["y"]}
        if not video_informative and name != "D_l":
            split["video"] = s["video"][cycle(len(s["y"]), seeds.derive(seed, f"control/{name}", "data"))]
        splits[name] = split
    info = {"source": corpus.source, "video_informative": video_informative, "crop_cols": corpus.crop_cols}
    return Task("events" + ("" if video_informative else "_control"), splits, MODALITIES,
                num_classes=len(corpus.names), info=info, concat=False, kind=SINGLE_LABEL)


# --------------------------------------------------------------------------- T: the random crop

@dataclass
class CropParams:
    start: torch.Tensor  # [N] first column of each clip's crop
    flip: torch.Tensor  # [N] bool: frames mirrored left-right

    def __len__(self) -> int:
        return len(self.start)


class ClipCrop:
    """T's geometric part for clips: a random ``crop_cols``-column crop of each spectrogram
    (VGGSound's random 5 s crop) and, with ``flip_video``, a random horizontal flip of each
    clip's frames. One draw per clip; labels are per clip, so :meth:`apply` leaves a clean
    prediction unchanged (Eq. 3's ``T(f(x))`` of a class distribution is itself).

    Plugs into :class:`mke.transforms.Transform` ``geometric``: the training loop calls it on
    every batch with the role's augmentation generator (:mod:`mke.seeds`)."""

    is_identity = False

    def __init__(self, crop_cols: int, flip_video: bool = True, audio: str = "audio", video: str = "video"):
        if isinstance(crop_cols, bool) or not isinstance(crop_cols, int) or crop_cols < 1:
            raise ValueError(f"ClipCrop: crop_cols must be a positive int, got {crop_cols!r}")
        self.crop_cols, self.flip_video, self.audio, self.video = crop_cols, flip_video, audio, video

    def __repr__(self) -> str:
        return f"ClipCrop(crop_cols={self.crop_cols}, flip_video={self.flip_video})"

    def __call__(self, batch: dict, kinds=None, generator: torch.Generator | None = None):
        out = dict(batch)
        spec = batch.get(self.audio)
        n = len(next(iter(batch.values())))
        u = torch.rand(n, generator=generator)
        flip = torch.rand(n, generator=generator) < 0.5
        start = torch.zeros(n, dtype=torch.long)
        if spec is not None:
            width = spec.shape[-1]
            if width < self.crop_cols:
                raise ValueError(f"ClipCrop: spectrograms of {width} columns are narrower than the crop "
                                 f"({self.crop_cols})")
            start = (u * (width - self.crop_cols + 1)).long().clamp_max(width - self.crop_cols)
            idx = (start[:, None] + torch.arange(self.crop_cols)).to(spec.device)  # [N, c]
            idx = idx.view(n, *([1] * (spec.dim() - 2)), self.crop_cols).expand(*spec.shape[:-1], self.crop_cols)
            out[self.audio] = spec.gather(-1, idx)
        frames = batch.get(self.video)
        if self.flip_video and frames is not None:
            f = flip.to(frames.device).view(n, *([1] * (frames.dim() - 1)))
            out[self.video] = torch.where(f, frames.flip(-1), frames)
        return out, CropParams(start, flip)

    def apply(self, params: CropParams, tensor, kind: str = "soft"):
        return tensor


# --------------------------------------------------------------------------- models and methods

def model_factory(profile: Profile, n_classes: int, crop_cols: int):
    """(method, seed) -> a seeded :class:`mke.event_models.EventNet`: audio only for the teacher,
    UM and NOISY students, audio and video for the MM students."""
    from mke.event_models import build

    def make(method: Method, seed: int):
        with seeds.init_scope(seed, method.name):
            mods = MODALITIES if method.multimodal else MODALITIES[:1]
            return build(profile.name, mods, n_classes, crop_cols=crop_cols)

    return make


def transform_for(method: Method, crop_cols: int) -> Transform | None:
    """T = the random crop (and, for the MM students' frames, a random flip) plus dropout
    (T3, rate :data:`FEATURE_DROPOUT`) on the features before the linear layer, the same for
    every regularised student; NOISY adds input noise.

    The dropout is ours: the paper names only the crop. The calibration (stand-in seed 1,
    training seeds 1000-1001; ``bench/calibrate_events.py``) found that with the crop alone an
    MM student leans on the audio branch, which reproduces its teacher's confusions, and gains
    little from the frames; with dropout on the concatenated features each branch must predict
    on its own part of the time."""
    if not method.regularised:
        return None
    T = Transform(geometric=ClipCrop(crop_cols, flip_video=method.multimodal)) + T3(FEATURE_DROPOUT)
    return T + T1(NOISY_INPUT) if method.input_noise else T


@dataclass
class Cell:
    """One trained model on test: mAP, per-class AP, top-1 accuracy (percent), seconds to train."""

    map: float
    per_class: np.ndarray
    top1: float
    seconds: float = 0.0


def score(model, task: Task, method: Method, split: str = "test", labels: torch.Tensor | None = None) -> Cell:
    """Per-class AP and mAP (``mke.metrics.AveragePrecision``, macro over classes present) and
    top-1 accuracy of ``model`` on ``split`` (against ``labels`` when given)."""
    x = task.inputs(split, method.modalities(task))
    y = task.labels(split) if labels is None else labels
    return score_proba(torch.softmax(predict(model, x), -1), y, task.num_classes)


def score_proba(proba: torch.Tensor, y: torch.Tensor, n_classes: int) -> Cell:
    """:func:`score` of ready class probabilities ``[N, K]`` (e.g. the teacher's pseudo labels)."""
    metric = AveragePrecision(n_classes)
    metric.reset()
    metric.update(proba, y)
    return Cell(float(metric.compute()), metric.per_class(), float((proba.argmax(1) == y).float().mean() * 100))


@dataclass
class SeedRun:
    seed: int
    cells: dict = field(default_factory=dict)  # (setting, method) -> Cell; settings "main", "control"
    pseudo: dict = field(default_factory=dict)  # the teacher on D_u: {"map", "top1"} against the truth


def run_seed(task: Task, profile: Profile, seed: int, soft: bool = True, device="cpu",
             control: Task | None = None, du_truth: torch.Tensor | None = None, progress=None) -> SeedRun:
    """Every training of one seed: the teacher, its pseudo labels, Table 4's five students and
    (with ``control``) the MM student with uninformative frames."""
    run = SeedRun(seed)
    crop = task.info["crop_cols"]
    make = model_factory(profile, task.num_classes, crop)

    def log(msg):
        if progress is not None:
            progress(msg)

    t0 = time.perf_counter()
    teacher = train_teacher(task, make, profile.teacher_cfg(), seed, device, checkpoint=True)
    cell = score(teacher, task, METHODS["um_teacher"])
    cell.seconds = time.perf_counter() - t0
    run.cells[("main", "um_teacher")] = cell
    log(f"seed {seed} teacher: mAP {cell.map:.3f} ({cell.seconds:.0f} s)")
    pseudo = pseudo_label(teacher, task.inputs("D_u", ("audio",)), soft=soft, kind=SINGLE_LABEL)
    if du_truth is not None:
        c = score_proba(pseudo.proba.float(), du_truth, task.num_classes)  # the pseudo labels, not a second pass
        run.pseudo = {"map": c.map, "top1": c.top1}
    del teacher

    def student(t: Task, name: str, setting: str):
        method = METHODS[name]
        t1 = time.perf_counter()
        s = train_student(t, method, make, pseudo, profile.student_cfg(), transform_for(method, crop), seed, device)
        c = score(s, t, method)
        c.seconds = time.perf_counter() - t1
        run.cells[(setting, name)] = c
        log(f"seed {seed} {setting} {name}: mAP {c.map:.3f} ({c.seconds:.0f} s)")

    for name in TABLE4_METHODS[1:]:
        student(task, name, "main")
    if control is not None:
        student(control, "mm_student", "control")
    return run


# --------------------------------------------------------------------------- tables and claims

def values(runs: list[SeedRun], method: str, setting: str = "main", metric: str = "map") -> np.ndarray:
    return np.array([getattr(r.cells[(setting, method)], metric) for r in runs])


def table4_rows(runs: list[SeedRun]) -> list[dict]:
    """Table 4: test mAP (and top-1 accuracy) of the six methods, the paper's mAP beside."""
    paper = paper_tables()["table4_events_map"]
    rows = []
    for m in TABLE4_METHODS:
        rows.append(result_row("table4", "test", m, "test_map", values(runs, m), paper=paper.get(m),
                               headline=m in ("um_teacher", "mm_student"), digits=3))
    for m in TABLE4_METHODS:
        rows.append(result_row("table4_top1", "test", m, "test_top1", values(runs, m, metric="top1")))
    return rows


def per_class(runs: list[SeedRun], method: str, setting: str = "main") -> np.ndarray:
    """Per-class AP ``[seeds, K]``."""
    return np.stack([r.cells[(setting, method)].per_class for r in runs])


def table5_rows(runs: list[SeedRun], names, k: int = 5) -> tuple[list[dict], list[str]]:
    """Table 5: the ``k`` classes whose AP the MM student improves most over the teacher (mean
    over seeds), with the teacher's, NOISY student's and MM student's AP; and the same for the
    paper's five classes (where they are among ``names``). Returns rows and the chosen classes."""
    t, n, s = (per_class(runs, m) for m in ("um_teacher", "noisy_student", "mm_student"))
    gain = np.nanmean(s - t, 0)
    order = [int(i) for i in np.argsort(-np.nan_to_num(gain, nan=-np.inf))[:k]]
    paper = paper_tables()["table5_events_top5_classes_map"]
    rows = []
    for table, classes in (("table5", order), ("table5_paper_classes", [names.index(c) for c in PAPER_TABLE5
                                                                        if c in names])):
        for i in classes:
            for m, v in (("um_teacher", t), ("noisy_student", n), ("mm_student", s)):
                rows.append(result_row(table, names[i], m, "test_ap", v[:, i],
                                       paper=paper.get(names[i], {}).get(m)))
    return rows, [names[i] for i in order]


def per_class_rows(runs: list[SeedRun], names, group_names=None) -> list[dict]:
    """AP change from the teacher to the MM student per class, one value per seed."""
    t, s = per_class(runs, "um_teacher"), per_class(runs, "mm_student")
    rows = []
    for i, name in enumerate(names):
        extra = {"group": group_names[i]} if group_names is not None else {}
        rows.append(result_row("per_class_ap", name, "mm_student - um_teacher", "test_ap_change",
                               (s[:, i] - t[:, i]).tolist(), teacher=round(float(np.nanmean(t[:, i])), 4),
                               student=round(float(np.nanmean(s[:, i])), 4), **extra))
    return rows


def control_rows(runs: list[SeedRun]) -> list[dict]:
    return [result_row("control", "uninformative video", "mm_student", "test_map", values(runs, "mm_student", "control")),
            result_row("control", "uninformative video", "um_student", "test_map", values(runs, "um_student"))]


def claims(runs: list[SeedRun], control: bool = True) -> list[dict]:
    """The paper's claims on this chapter's runs, each judged by the paired rule (mke.verdicts)."""
    from mke.verdicts import paired

    def test(a, b, claim, section, margin=0.0):
        return paired(values(runs, *a), values(runs, *b), claim, chapter="events", section=section, margin=margin,
                      bounds=(0.0, 1.0))

    rows = [
        test(("mm_student",), ("um_teacher",), "knowledge expansion: MM student beats the UM teacher (events, mAP)",
             "table-4"),
        test(("mm_student",), ("noisy_student",), "MM student beats the NOISY student (events, mAP)", "table-4"),
        test(("um_student",), ("um_teacher",), "UM student beats the UM teacher (events, mAP)", "table-4"),
        test(("mm_student",), ("um_student",),
             "MM student beats the UM student: video helps a student of the same pseudo labels (events)", "table-4"),
        test(("mm_student",), ("mm_student_noreg",),
             "regularisation (crop, feature dropout, frame flip) helps the MM student (events)", "table-4"),
        test(("mm_student_sup",), ("mm_student",),
             f"MM student (sup) is at least as good as the MM student, within {SUP_MARGIN} mAP (events)", "table-4",
             margin=-SUP_MARGIN),
    ]
    if control:
        rows.append(test(("mm_student", "control"), ("um_student",),
                         "with uninformative video the MM student still beats the UM student (control)",
                         "control-video-that-says-nothing"))
    return rows
