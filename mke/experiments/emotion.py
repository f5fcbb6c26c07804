"""The emotion-recognition experiment (Section 4.2, Table 2, Figure 6) as the chapter calls it.

Modality alpha is the face (frames every 0.5 s, stacked as channels), beta the voice (MFCCs).
The teacher sees faces of D_l; every student trains on D_u, as Algorithm 1. T is dropout of rate
r0 on the fused features and on both hidden layers of the MLP: three dropout layers where the
paper (supplementary 2.1) has one of rate 0.5; the ``book`` profile uses r0 = 0.3, ``paper`` 0.5.
Each seed trains its own teacher and students on one fixed split, so the spread over seeds is the
spread of training, not of the split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mke import seeds
from mke.algorithm import pseudo_label, train_teacher
from mke.cache import cached, fingerprint
from mke.data.ravdess import EMOTIONS, load_features, split_indices
from mke.data.ravdess_standin import StandinConfig, generate
from mke.data.task import Task
from mke.methods import METHODS, Method
from mke.metrics import accuracy, mean_std
from mke.models import MULTIMODAL_SIZES, MultimodalNet
from mke.params import PROFILES, Param, ParameterSpec, boolean, choice, folder, integer, number, optional
from mke.results import paper_tables, result_row
from mke.runner import Job, run_jobs
from mke.runtime import DEVICES
from mke.train import TrainConfig, predict
from mke.transforms import T1, T3, Transform

MODALITIES = ("image", "audio")  # (alpha, beta)
TABLE2_METHODS = ("um_teacher", "um_student", "noisy_student", "mm_student_noreg", "mm_student", "mm_student_sup")
STUDENT_METHODS = TABLE2_METHODS[1:]
FIGURE6_METHODS = ("um_teacher", "noisy_student", "mm_student")
PAPER_DROPOUT = 0.5  # T of the paper's RAVDESS experiment (supplementary 2.1)
NOISY_INPUT = 0.1  # the NOISY student's extra input noise (T1, relative), on top of T
SCORERS = {"val": ("val", accuracy), "test": ("test", accuracy)}

# Beyond Table 2 (the chapter's own rows, not the paper's): what the voice alone knows, and
# MKE plugged into the NOISY student as the paper suggests (Section 4.2).
EXTRA_METHODS = {m.name: m for m in (
    Method("voice_sup", "voice only (sup)", ("beta",), ("D_u",), "true", True),
    Method("mm_noisy_student", "MM NOISY student", ("alpha", "beta"), ("D_l", "D_u"), "true+pseudo", True,
           input_noise=True),
)}
ALL_METHODS = {**METHODS, **EXTRA_METHODS}
SPLIT_SEED = 0


@dataclass(frozen=True)
class Profile:
    n_images: int  # frames per clip, one every 0.5 s
    size: int  # frame side in pixels
    seconds: float  # stand-in clip length
    n_mfcc: int
    n_frames: int  # MFCC frames per clip
    teacher_epochs: int
    student_epochs: int
    n_seeds: int
    dropout: float  # r0 of T (T3); see the chapter for why book uses 0.3
    batch_size: int = 32
    lr: float = 1e-3

    name: str = "book"  # also picks the network sizes (mke.models.MULTIMODAL_SIZES)

    def teacher_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.teacher_epochs, lr=self.lr, optimizer="adam", batch_size=self.batch_size,
                           schedule="cosine")

    def student_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.student_epochs, lr=self.lr, optimizer="adam", batch_size=self.batch_size,
                           schedule="cosine")


PROFILE_SETTINGS = {
    "quick": Profile(n_images=3, size=16, seconds=0.5, n_mfcc=13, n_frames=16, teacher_epochs=6,
                     student_epochs=3, n_seeds=2, dropout=0.3, name="quick"),
    # three dropout layers at 0.5 underfit in 25 epochs on 2 CPU cores; 0.3 trains stably
    "book": Profile(n_images=6, size=32, seconds=1.5, n_mfcc=20, n_frames=48, teacher_epochs=60,
                    student_epochs=25, n_seeds=5, dropout=0.3, name="book"),
    # for a GPU: larger frames, the paper's 40 MFCCs and dropout 0.5, wider nets, longer training
    "paper": Profile(n_images=6, size=64, seconds=3.0, n_mfcc=40, n_frames=96, teacher_epochs=200,
                     student_epochs=100, n_seeds=5, dropout=PAPER_DROPOUT, name="paper"),
}


# how the README's and the intro's headline table name this chapter's tables
TABLE_TITLES = {"table2": "Table 2 (emotion recognition)"}

PARAMETERS = ParameterSpec(
    "emotion",
    Param("profile", "book", choice(*PROFILES), "quick | book | paper"),
    Param("n_seeds", None, optional(integer(2, 50)), "None: the profile's (quick 2, book 5, paper 5)"),
    Param("device", "auto", choice(*DEVICES), "auto | cpu | cuda"),
    Param("data_root", None, optional(folder(must_exist=True)),
          "None: the built-in stand-in; else the RAVDESS folder (Actor_01 ... Actor_24)"),
    Param("split_by_actor", False, boolean(), "True: no actor in two splits (speaker-independent protocol)"),
    Param("voice_informative", True, boolean(), "False: the voice says nothing about the emotion (the control)"),
    Param("dropout", None, optional(number(0.0, 0.95)), "r0 of T; None: the profile's (book 0.3, paper 0.5 as the paper)"),
    Param("results_dir", "results", folder(must_exist=False), "relative to executed/"),
    Param("threads", 2, integer(1, 256), "torch threads (fixed, so that floats repeat)"),
)


def validate_parameters(**values) -> None:
    """Check every papermill parameter before any work; raise naming the offender."""
    PARAMETERS.validate(values)


# --------------------------------------------------------------------------- data

@dataclass
class Corpus:
    """Decoded clips: faces ``[N, frames, H, W]`` in [0, 1], MFCCs ``[N, n_mfcc, n_frames]``."""

    images: torch.Tensor
    mfcc: torch.Tensor
    y: torch.Tensor
    actor: torch.Tensor
    source: str  # "stand-in" or the dataset folder
    skipped: dict = field(default_factory=dict)  # file -> why (real data only)


def standin_config(profile: Profile, voice_informative: bool = True) -> StandinConfig:
    return StandinConfig(n_images=profile.n_images, size=profile.size, seconds=profile.seconds,
                         voice_informative=voice_informative)


def load_standin(profile: Profile, voice_informative: bool = True) -> Corpus:
    """The stand-in corpus (``mke.data.ravdess_standin``), generated once and cached on disk."""
    cfg = standin_config(profile, voice_informative)
    hop = int(np.ceil(cfg.sr * cfg.seconds / profile.n_frames))  # the whole clip in n_frames

    def make():
        images, feats, y, actors, _ = generate(cfg, profile.n_mfcc, profile.n_frames, hop_length=hop)
        return {"images": torch.from_numpy(images), "mfcc": torch.from_numpy(feats),
                "y": torch.from_numpy(y), "actor": torch.from_numpy(actors)}

    d = cached(fingerprint("ravdess_standin", repr(cfg), profile.n_mfcc, profile.n_frames, hop), make, kind="datasets")
    return Corpus(d["images"], d["mfcc"], d["y"], d["actor"], "stand-in")


def load_ravdess(root, profile: Profile, voice_informative: bool = True, seed: int = SPLIT_SEED) -> Corpus:
    """The real RAVDESS under ``root`` (``Actor_01`` ...), decoded once and cached on disk.

    Unreadable or malformed files are skipped and counted in ``Corpus.skipped``. With
    ``voice_informative=False`` every clip gets the MFCCs of a random other clip, which keeps
    real voices but removes what they say about the label.
    """
    root = Path(root)
    listing = sorted((str(p.relative_to(root)), p.stat().st_size, int(p.stat().st_mtime))
                     for p in root.rglob("*") if p.is_file())
    hop = int(np.ceil(16000 * 3.5 / profile.n_frames))  # RAVDESS clips last about 3.5 s

    def make():
        f = load_features(root, n_images=profile.n_images, size=profile.size, n_mfcc=profile.n_mfcc,
                          n_frames=profile.n_frames, hop_length=hop)
        return {"images": torch.from_numpy(f.images), "mfcc": torch.from_numpy(f.mfcc), "y": torch.from_numpy(f.y),
                "actor": torch.from_numpy(f.actor), "skipped": sorted(f.report.skipped.items())}

    key = fingerprint("ravdess", os.path.abspath(root), listing, profile.n_images, profile.size, profile.n_mfcc,
                      profile.n_frames, hop)
    d = cached(key, make, kind="datasets")
    mfcc = d["mfcc"]
    if not voice_informative:
        g = torch.Generator().manual_seed(seed)
        mfcc = mfcc[torch.randperm(len(mfcc), generator=g)]
    return Corpus(d["images"], mfcc, d["y"], d["actor"], str(root), dict(d["skipped"]))


def build_task(corpus: Corpus, split_by_actor: bool = False, seed: int = SPLIT_SEED) -> Task:
    """Split as the paper (D_l : D_u = 2 : 8, D_u -> train : val : test = 8 : 1 : 1).

    MFCCs are standardised per coefficient with statistics of D_l and D_u only (no peeking at
    val or test); frames stay in [0, 1] (the CNNs batch-normalise them).
    """
    idx = split_indices(corpus.y.numpy(), corpus.actor.numpy(), seed=seed, by_actor=split_by_actor)
    fit_rows = torch.from_numpy(np.concatenate([idx["D_l"], idx["D_u"]]))
    m = corpus.mfcc[fit_rows]
    mean, std = m.mean((0, 2), keepdim=True), m.std((0, 2), keepdim=True).clamp_min(1e-6)
    audio = ((corpus.mfcc - mean) / std).unsqueeze(1)  # one-channel "image"
    splits = {}
    for name, rows in idx.items():
        rows = torch.from_numpy(rows)
        splits[name] = {"image": corpus.images[rows].float(), "audio": audio[rows].float(), "y": corpus.y[rows].long()}
    info = {"source": corpus.source, "split_by_actor": split_by_actor,
            "actors": {name: sorted(set(corpus.actor[torch.from_numpy(r)].tolist())) for name, r in idx.items()}}
    return Task("emotion", splits, MODALITIES, num_classes=len(EMOTIONS), info=info, concat=False)


# --------------------------------------------------------------------------- models and methods

def model_factory(task: Task, profile: Profile):
    """(method, seed) -> a seeded :class:`MultimodalNet` over the modalities the method sees."""
    sizes = MULTIMODAL_SIZES[profile.name]

    def make(method: Method, seed: int) -> MultimodalNet:
        channels = {m: task.splits["D_l"][m].shape[1] for m in method.modalities(task)}
        with seeds.init_scope(seed, method.name):  # each role its own initialisation (mke.seeds)
            return MultimodalNet(channels, n_classes=task.num_classes, **sizes)

    return make


def transform_for(method: Method, r0: float) -> Transform | None:
    """T = dropout ``r0`` (T3) for every regularised student; the NOISY student also gets input noise."""
    if not method.regularised:
        return None
    return T3(r0) + T1(NOISY_INPUT) if method.input_noise else T3(r0)


def setting_name(r0: float) -> str:
    return f"T3 r0={r0:g}"


def teacher_of(task: Task, profile: Profile, seed: int, device="cpu"):
    """Eq. (1) on the faces of D_l, checkpointed (a state_dict keyed by data, config and seed)."""
    return train_teacher(task, model_factory(task, profile), profile.teacher_cfg(), seed, device, checkpoint=True)


@dataclass
class SeedRun:
    """One seed of Table 2: every method's val/test accuracy and test predictions."""

    seed: int
    r0: float  # T's dropout rate
    scores: dict[str, dict[str, float]]  # method -> {"val", "test"}
    test_pred: dict[str, torch.Tensor]  # method -> [N_test] predicted class
    teacher_D_u_acc: float
    pseudo_hard: torch.Tensor | None = None  # the teacher's hard labels on D_u (for class_flow)


def run_seed(task: Task, profile: Profile, seed: int, device="cpu", methods=STUDENT_METHODS,
             soft: bool = False, teacher=None) -> SeedRun:
    """Algorithm 1 for one seed: the teacher (checkpointed), its pseudo labels, then each student."""
    make = model_factory(task, profile)
    if teacher is None:
        teacher = teacher_of(task, profile, seed, device)
    alpha = METHODS["um_teacher"].modalities(task)
    pseudo = pseudo_label(teacher, task.inputs("D_u", alpha), soft=soft)
    scores, preds = {}, {}
    scores["um_teacher"] = {s: float(accuracy(predict(teacher, task.inputs(s, alpha)), task.labels(s)))
                            for s in ("val", "test")}
    preds["um_teacher"] = predict(teacher, task.inputs("test", alpha)).argmax(-1).cpu()
    jobs = [Job(ALL_METHODS[m], transform_for(ALL_METHODS[m], profile.dropout), setting_name(profile.dropout))
            for m in methods]
    results = run_jobs(task, jobs, [seed], make, profile.student_cfg(), pseudo, vectorised=False,
                       device=device, scorers=SCORERS, keep_models=True)
    for r in results:
        name = r.job.method.name
        scores[name] = {s: r.scores[s][0] for s in SCORERS}
        preds[name] = predict(r.models[0], task.inputs("test", r.job.method.modalities(task))).argmax(-1).cpu()
    d_u_acc = float((pseudo.hard == task.labels("D_u")).float().mean() * 100)
    return SeedRun(seed, profile.dropout, scores, preds, d_u_acc, pseudo.hard.cpu())




# --------------------------------------------------------------------------- tables and rows

def scores(runs: list[SeedRun], method: str, split: str = "test") -> np.ndarray:
    """One accuracy per seed."""
    return np.array([r.scores[method][split] for r in runs])


def paper_value(method: str, split: str) -> float | None:
    return paper_tables()["table2_ravdess_acc"].get(method, {}).get(split)


def table2_rows(runs: list[SeedRun], sizes: dict[str, int], headline=("um_teacher", "mm_student")) -> list[dict]:
    """Table 2's rows; ``sizes`` (clips per split) gives each accuracy's resolution, 100 / n."""
    rows = []
    for method in TABLE2_METHODS:
        for split in ("val", "test"):
            rows.append(result_row("table2", setting_name(runs[0].r0), method, f"{split}_acc", scores(runs, method, split),
                                   bounds=(0.0, 100.0),
                                   paper=paper_value(method, split), resolution=round(100 / sizes[split], 4),
                                   headline=split == "test" and method in headline))
    return rows


def table2_frame(runs: list[SeedRun]):
    """Table 2 as a DataFrame: mean ± std over seeds beside the paper's numbers."""
    import pandas as pd

    lines = []
    for row in table2_rows(runs, {"val": 1, "test": 1}):
        split = row["metric"].removesuffix("_acc")
        lines.append({"method": METHODS[row["method"]].label, "split": split,
                      "ours": mean_std(row["values"]), "paper": row["paper"]})
    df = pd.DataFrame(lines)
    return df.pivot(index="method", columns="split", values=["ours", "paper"]).reindex(
        [METHODS[m].label for m in TABLE2_METHODS])


def comparison_rows(table: str, setting_of: dict[str, list[SeedRun]], methods, sizes: dict[str, int],
                    metric_splits=("test",)) -> list[dict]:
    """Rows for a side table: ``setting_of`` maps a setting name to its runs."""
    rows = []
    for setting, runs in setting_of.items():
        for method in methods:
            for split in metric_splits:
                rows.append(result_row(table, setting, method, f"{split}_acc", scores(runs, method, split),
                                       bounds=(0.0, 100.0), resolution=round(100 / sizes[split], 4)))
    return rows


def claims(runs: list[SeedRun], soft_runs: list[SeedRun] | None = None,
           control_runs: list[SeedRun] | None = None) -> list[dict]:
    """The paper's claims on this chapter's runs, each judged by the paired rule (mke.verdicts).

    Every comparison pairs the two methods' test accuracies seed by seed (one teacher per seed;
    the students of a seed learn from that seed's teacher). Accuracies live in [0, 100].
    """
    from mke.verdicts import paired

    def test(a_runs, a, b_runs, b, claim, section, margin=0.0):
        return paired(scores(a_runs, a), scores(b_runs, b), claim, chapter="emotion", section=section,
                      margin=margin, bounds=(0.0, 100.0))

    rows = [
        test(runs, "mm_student", runs, "um_teacher", "knowledge expansion: MM student beats the UM teacher (RAVDESS)",
             "table-2"),
        test(runs, "mm_student", runs, "noisy_student", "MM student beats the NOISY student (RAVDESS)", "table-2"),
        test(runs, "mm_student", runs, "um_student", "MM student beats the UM student (RAVDESS)", "table-2"),
        test(runs, "um_student", runs, "um_teacher", "UM student beats the UM teacher (RAVDESS)", "table-2"),
        test(runs, "mm_student", runs, "mm_student_noreg", "regularisation helps the MM student (RAVDESS)", "table-2"),
        test(runs, "mm_student_sup", runs, "mm_student", "MM student (sup) beats MM student (RAVDESS)", "table-2"),
    ]
    if soft_runs is not None:
        rows.append(test(soft_runs, "mm_student", runs, "mm_student",
                         "soft pseudo labels beat hard ones for the MM student (RAVDESS)", "hard-or-soft-pseudo-labels"))
    if "mm_noisy_student" in runs[0].scores:
        rows.append(test(runs, "mm_noisy_student", runs, "noisy_student",
                         "MKE plugged into NOISY: the MM NOISY student beats the NOISY student (RAVDESS)",
                         "beyond-table-2-the-voice-alone-and-mke-inside-noisy-student"))
        rows.append(test(runs, "mm_noisy_student", runs, "mm_student",
                         "the MM NOISY student beats the MM student (RAVDESS)",
                         "beyond-table-2-the-voice-alone-and-mke-inside-noisy-student"))
    if control_runs is not None:
        rows.append(test(control_runs, "mm_student", control_runs, "um_student",
                         "with an uninformative voice the MM student still beats the UM student (RAVDESS control)",
                         "control-a-voice-that-says-nothing"))
    return rows


def confusion(runs: list[SeedRun], method: str, y_test: torch.Tensor) -> np.ndarray:
    """Row-normalised confusion matrix of ``method`` on test, predictions pooled over seeds."""
    from sklearn.metrics import confusion_matrix

    y = np.concatenate([y_test.numpy()] * len(runs))
    p = np.concatenate([r.test_pred[method].numpy() for r in runs])
    return confusion_matrix(y, p, labels=range(len(EMOTIONS)), normalize="true")


def per_class_recall(runs: list[SeedRun], method: str, y_test: torch.Tensor) -> np.ndarray:
    """``[n_seeds, K]`` recall of each class on test, one row per seed (in percent)."""
    from sklearn.metrics import recall_score

    return np.array([recall_score(y_test.numpy(), r.test_pred[method].numpy(), labels=range(len(EMOTIONS)),
                                  average=None, zero_division=0) * 100 for r in runs])


def class_flow(runs: list[SeedRun], y_u: torch.Tensor, y_test: torch.Tensor, k: int) -> dict:
    """Where class ``k``'s clips go: on D_u, the share of its clips the teacher labels k and the
    number of clips labelled k (true ones and others); on test, the most common label the teacher
    and the MM student give its clips. Means over seeds; explains a class the student loses."""
    out = {"n_true_D_u": int((y_u == k).sum()), "n_true_test": int((y_test == k).sum())}
    pseudo = [r.pseudo_hard for r in runs]
    labelled_k = [float((p == k).sum()) for p in pseudo]
    right = [float(((p == k) & (y_u == k)).sum()) for p in pseudo]
    out["pseudo_labelled_k"] = float(np.mean(labelled_k))
    out["pseudo_precision"] = float(np.mean([r / max(n, 1) * 100 for r, n in zip(right, labelled_k)]))
    out["pseudo_recall"] = float(np.mean([r / max(out["n_true_D_u"], 1) * 100 for r in right]))
    for method in [m for m in ("um_teacher", "mm_student") if m in runs[0].test_pred]:
        pooled = np.concatenate([r.test_pred[method][y_test == k].numpy() for r in runs])
        counts = np.bincount(pooled, minlength=len(EMOTIONS)) / max(len(pooled), 1) * 100
        out[f"{method}_labels"] = {EMOTIONS[j]: float(counts[j]) for j in np.argsort(-counts)[:3]}
    return out


def figure6_rows(runs: list[SeedRun], y_test: torch.Tensor) -> list[dict]:
    rows = []
    counts = np.bincount(y_test.numpy(), minlength=len(EMOTIONS))
    for method in FIGURE6_METHODS:
        rec = per_class_recall(runs, method, y_test)
        for k, name in enumerate(EMOTIONS):
            rows.append(result_row("figure6_recall", name, method, "test_recall", rec[:, k].tolist(),
                                   bounds=(0.0, 100.0), resolution=round(100 / max(int(counts[k]), 1), 4),
                                   n_clips=int(counts[k])))
    return rows
