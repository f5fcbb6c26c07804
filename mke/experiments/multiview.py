"""Knowledge expansion on real multi-view data (UCI handwritten digits, six views), and TwoMoon
over a grid of data settings: the 'Real multi-view data' chapter.

Every ordered pair of views (alpha, beta) is one MKE problem: a teacher sees view alpha of the
few labeled digits in D_l; students see alpha (UM, NOISY) or alpha + beta (MM) of the unlabeled
D_u, with the teacher's pseudo labels. One teacher per seed and view; every student of a seed
learns from that seed's teacher. All models are MLPs trained together as stacked ensembles
(:mod:`mke.runner`). The split is fixed per chapter (``SPLIT_SEED``), so the spread over seeds
is the spread of training; the calibration uses another split and other seeds.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import torch

from mke import seeds as mke_seeds
from mke.algorithm import pseudo_label
from mke.data.multiview import VIEWS, load_views, multiview_split, multiview_task
from mke.data.twomoon import twomoon_task
from mke.methods import METHODS
from mke.metrics import accuracy
from mke.models import MLP
from mke.params import PROFILES, Param, ParameterSpec, choice, folder, integer, number, optional
from mke.results import result_row
from mke.runner import Job, run_jobs
from mke.runtime import DEVICES
from mke.train import TrainConfig
from mke.transforms import T1, T2, T3, Transform

SPLIT_SEED = 0  # the reported split; the calibration split is CALIBRATION_SPLIT_SEED
CALIBRATION_SPLIT_SEED = 1
CALIBRATION_SEEDS = (1000, 1001, 1002)  # never reported
TRANSFORMS = {"T1": T1, "T2": T2, "T3": T3}
# chosen on the calibration split (split seed 1, seeds 1000-1002, the default pair fou -> pix): the
# MM student's mean test accuracy there was 65.2 (T3 0.3), 74.4 (T1 2), 79.3 (T1 4), 80.1 (T1 6),
# 78.6 (T1 8), 52.4 (T2 10); the chapter re-runs this sweep for the reader
DEFAULT_TRANSFORM, DEFAULT_STRENGTH = "T1", 6.0
NOISY_INPUT = 0.1  # the NOISY student's extra input noise (T1, relative), on top of T
PAIR_METHODS = ("mm_student_noreg", "mm_student", "mm_student_sup")  # depend on (alpha, beta)
ALPHA_METHODS = ("um_student", "noisy_student")  # depend on alpha only
METHOD_ORDER = ("um_teacher",) + ALPHA_METHODS + PAIR_METHODS

TABLE_TITLES = {"multiview_pairs": "UCI digits (real data): a pair of views",
                "multiview_default": "UCI digits: the default pair",
                "twomoon_grid": "TwoMoon over data settings"}

PARAMETERS = ParameterSpec(
    "multiview",
    Param("profile", "book", choice(*PROFILES), "quick | book | paper"),
    Param("n_seeds", None, optional(integer(2, 100)), "None: the profile's (quick 2, book 10, paper 20)"),
    Param("device", "auto", choice(*DEVICES), "auto | cpu | cuda"),
    Param("labels_per_class", 10, integer(1, 100), "|D_l| per class (10 classes)"),
    Param("views", None, optional(lambda name, v: _check_views(name, v)),
          "None: all six; else a list of at least two of fou fac kar pix zer mor"),
    Param("transform", DEFAULT_TRANSFORM, choice(*TRANSFORMS), "T of every regularised student: T1 | T2 | T3"),
    Param("strength", DEFAULT_STRENGTH, number(0.0, 20.0), "its level: v0, v1 or r0 (r0 < 1)"),
    Param("results_dir", "results", folder(must_exist=False), "relative to executed/"),
    Param("threads", 2, integer(1, 256), "torch threads (fixed, so that floats repeat)"),
)


def _check_views(name, value):
    if not isinstance(value, (list, tuple)) or len(value) < 2 or len(set(value)) != len(value):
        raise ValueError(f"parameter {name!r} must be a list of at least two distinct views, got {value!r}")
    unknown = [v for v in value if v not in VIEWS]
    if unknown:
        raise ValueError(f"parameter {name!r}: unknown views {unknown}; the views are {list(VIEWS)}")


@dataclass(frozen=True)
class Profile:
    n_seeds: int
    hidden: int
    teacher_epochs: int
    student_epochs: int
    lr: float
    grid_noises: tuple[float, ...]
    grid_labeled: tuple[int, ...]
    grid_student_epochs: int

    def teacher_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.teacher_epochs, lr=self.lr, optimizer="adam")

    def student_cfg(self) -> TrainConfig:
        return TrainConfig(epochs=self.student_epochs, lr=self.lr, optimizer="adam")


PROFILE_SETTINGS = {
    "quick": Profile(2, 16, 60, 40, 0.01, (0.1,), (30,), 200),
    "book": Profile(10, 32, 200, 150, 0.01, (0.05, 0.1, 0.15, 0.2), (10, 30, 60), 2000),
    "paper": Profile(20, 64, 400, 300, 0.01, (0.05, 0.1, 0.15, 0.2), (10, 30, 60), 2000),
}


def model_factory(task, hidden: int):
    """(method, seed) -> an MLP over the method's views, initialised from its own stream (mke.seeds)."""

    def make(method, seed):
        dim = sum(task.splits["D_l"][m].shape[1] for m in method.modalities(task))
        with mke_seeds.init_scope(seed, method.name):
            return MLP(dim, hidden, task.num_classes, modalities=method.modalities(task))

    return make


def transform_for(method, transform: str, strength: float) -> Transform | None:
    if not method.regularised:
        return None
    T = TRANSFORMS[transform](strength)
    if method.input_noise:
        T = T + T1(NOISY_INPUT) if transform != "T1" else T1(strength + NOISY_INPUT)
    return T


@dataclass
class PairResults:
    """Per-seed test accuracies: ``teacher[alpha]``, ``alpha_students[alpha][method]``,
    ``pair[(alpha, beta)][method]``, plus the per-seed teachers' pseudo-label accuracy on D_u."""

    seeds: list[int]
    teacher: dict = field(default_factory=dict)
    alpha_students: dict = field(default_factory=dict)
    pair: dict = field(default_factory=dict)
    pseudo: dict = field(default_factory=dict)  # alpha -> seed -> PseudoLabels
    n_test: int = 0

    def scores(self, alpha: str, beta: str, method: str) -> np.ndarray:
        if method == "um_teacher":
            return np.array(self.teacher[alpha])
        if method in ALPHA_METHODS:
            return np.array(self.alpha_students[alpha][method])
        return np.array(self.pair[(alpha, beta)][method])


def run_pairs(views_data, y, views, seeds, profile: Profile, transform: str, strength: float,
              labels_per_class: int, split_seed: int = SPLIT_SEED, device="cpu", pairs=None,
              vectorised: bool = True) -> PairResults:
    """Teachers per view and seed, then every student of every ordered pair, vectorised
    (``vectorised=False`` trains one model at a time: the same models, for the bench)."""
    split = multiview_split(y, labels_per_class, seed=split_seed)
    pairs = pairs or [(a, b) for a, b in itertools.permutations(views, 2)]
    out = PairResults(list(seeds))
    alphas = sorted({a for a, _ in pairs}, key=list(VIEWS).index)
    for alpha in alphas:
        beta0 = next(b for a, b in pairs if a == alpha)
        task = multiview_task(views_data, y, alpha, beta0, split)
        out.n_test = task.size("test")
        make = model_factory(task, profile.hidden)
        t = run_jobs(task, [Job(METHODS["um_teacher"], None, "teacher")], list(seeds), make, profile.teacher_cfg(),
                     device=device, keep_models=True, vectorised=vectorised)[0]
        out.teacher[alpha] = t.scores["test"]
        out.pseudo[alpha] = {s: pseudo_label(m, task.inputs("D_u", (alpha,)), use_cache=False)
                             for s, m in zip(seeds, t.models)}
        jobs = [Job(METHODS[m], transform_for(METHODS[m], transform, strength), m) for m in ALPHA_METHODS]
        res = run_jobs(task, jobs, list(seeds), make, profile.student_cfg(), out.pseudo[alpha], device=device,
                       vectorised=vectorised)
        out.alpha_students[alpha] = {r.job.method.name: r.scores["test"] for r in res}
    for alpha, beta in pairs:
        task = multiview_task(views_data, y, alpha, beta, split)
        make = model_factory(task, profile.hidden)
        jobs = [Job(METHODS[m], transform_for(METHODS[m], transform, strength), m) for m in PAIR_METHODS]
        res = run_jobs(task, jobs, list(seeds), make, profile.student_cfg(), out.pseudo[alpha], device=device,
                       vectorised=vectorised)
        out.pair[(alpha, beta)] = {r.job.method.name: r.scores["test"] for r in res}
    return out


def teacher_accuracy(views_data, y, views, seeds, profile: Profile, labels_per_class: int,
                     split_seed: int, device="cpu") -> dict[str, list[float]]:
    """Each view's teacher test accuracy per seed (used to rank the views on the calibration split)."""
    split = multiview_split(y, labels_per_class, seed=split_seed)
    out = {}
    for alpha in views:
        task = multiview_task(views_data, y, alpha, next(v for v in views if v != alpha), split)
        out[alpha] = run_jobs(task, [Job(METHODS["um_teacher"], None, "teacher")], list(seeds),
                              model_factory(task, profile.hidden), profile.teacher_cfg(), device=device)[0].scores["test"]
    return out


def pair_rows(res: PairResults, headline_pair=None) -> list[dict]:
    """Every method on every pair; the teacher and MM student of ``headline_pair`` are headline rows."""
    rows = []
    resolution = round(100 / res.n_test, 4)
    for (alpha, beta) in res.pair:
        for method in METHOD_ORDER:
            rows.append(result_row("multiview_pairs", f"{alpha}->{beta}", method, "test_acc",
                                   res.scores(alpha, beta, method).tolist(), seeds=res.seeds, resolution=resolution,
                                   alpha=alpha, beta=beta, headline=(alpha, beta) == tuple(headline_pair or ())
                                   and method in ("um_teacher", "mm_student")))
    return rows


def pair_claims(res: PairResults, alpha: str, beta: str, section: str = "the-default-pair") -> list[dict]:
    from mke.verdicts import paired

    kw = dict(chapter="multiview", section=section, bounds=(0.0, 100.0))
    mm = res.scores(alpha, beta, "mm_student")
    return [paired(mm, res.scores(alpha, beta, "um_teacher"),
                   f"knowledge expansion on real data: MM student beats the UM teacher (digits, {alpha} -> {beta})", **kw),
            paired(mm, res.scores(alpha, beta, "um_student"),
                   f"MM student beats the UM student (digits, {alpha} -> {beta})", **kw),
            paired(mm, res.scores(alpha, beta, "noisy_student"),
                   f"MM student beats the NOISY student (digits, {alpha} -> {beta})", **kw)]


def verdict_grid(res: PairResults, views, a_method: str, b_method: str) -> tuple[np.ndarray, np.ndarray, list]:
    """Mean paired difference ``a - b`` and its verdict for every ordered pair (NaN on the diagonal)."""
    from mke.verdicts import paired

    k = len(views)
    eff = np.full((k, k), np.nan)
    verdict = np.full((k, k), "", dtype=object)
    rows = []
    for i, alpha in enumerate(views):
        for j, beta in enumerate(views):
            if alpha == beta:
                continue
            r = paired(res.scores(alpha, beta, a_method), res.scores(alpha, beta, b_method),
                       f"{a_method} - {b_method} ({alpha} -> {beta})", bounds=(0.0, 100.0))
            eff[i, j], verdict[i, j] = r["effect"], r["verdict"]
            rows.append({"alpha": alpha, "beta": beta, **r})
    return eff, verdict, rows


# --------------------------------------------------------------------------- predictors (theory)

def normalised_hsic(x: np.ndarray, z: np.ndarray) -> float:
    """HSIC(x, z) / sqrt(HSIC(x, x) HSIC(z, z)) with Gaussian kernels (median bandwidth): 0 for
    independent views, 1 for views that are functions of each other (Gretton et al., 2005)."""
    def centred_gram(v):
        d2 = ((v[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        med = np.median(d2[d2 > 0]) if (d2 > 0).any() else 1.0
        K = np.exp(-d2 / med)
        return K - K.mean(0) - K.mean(1)[:, None] + K.mean()

    Kx, Kz = centred_gram(x), centred_gram(z)
    return float((Kx * Kz).sum() / np.sqrt((Kx * Kx).sum() * (Kz * Kz).sum()))


def conditional_dependence(task, alpha: str, beta: str) -> float:
    """How far Assumption 2 (x^alpha independent of x^beta given y) is from holding on D_u: the
    class-averaged normalised HSIC between the two views, with the true labels."""
    xa, xb = task.splits["D_u"][alpha].numpy(), task.splits["D_u"][beta].numpy()
    y = task.splits["D_u"]["y"].numpy()
    return float(np.mean([normalised_hsic(xa[y == c], xb[y == c]) for c in np.unique(y)]))


def denoising_proxy(task, pseudo, k: int = 10) -> float:
    """An expansion proxy (Section 3.3's argument): the share of the teacher's mistakes on D_u that
    a majority vote of the pseudo labels among a point's k nearest neighbours in the joint
    (alpha, beta) space corrects, minus the share of its right labels that the vote breaks."""
    from sklearn.neighbors import NearestNeighbors

    X = task.inputs("D_u", task.modalities).numpy()
    y = task.labels("D_u").numpy()
    yt = pseudo.hard.numpy()
    idx = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X, return_distance=False)[:, 1:]
    vote = np.array([np.bincount(yt[i], minlength=task.num_classes).argmax() for i in idx])
    wrong = yt != y
    corrected = float((vote[wrong] == y[wrong]).mean()) if wrong.any() else 0.0
    broken = float((vote[~wrong] != y[~wrong]).mean()) if (~wrong).any() else 0.0
    return corrected - broken


def spearman_with_interval(x, y, n_boot: int = 2000, seed: int = 0) -> tuple[float, tuple[float, float]]:
    """Spearman's rank correlation and a percentile bootstrap 95 % interval over the pairs."""
    from scipy.stats import spearmanr

    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), (float("nan"), float("nan"))  # undefined: fewer than 3 points or no spread
    rho = float(spearmanr(x, y).statistic)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            boots.append(spearmanr(x[i], y[i]).statistic)
    if len(boots) < 10:
        return rho, (float("nan"), float("nan"))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return rho, (float(lo), float(hi))


# --------------------------------------------------------------------------- TwoMoon over data settings

GRID_SETTINGS = {"T1 v0=2": T1(2.0), "T2 v1=10": T2(10.0), "T3 r0=0.8": T3(0.8)}  # Table 1's strongest


@dataclass
class GridCell:
    moon_noise: float
    n_labeled: int
    teacher: list[float]
    students: dict  # (setting, method) -> per-seed accuracies
    majority: list[float] = field(default_factory=list)  # per seed: the larger class's share of D_u's pseudo labels (%)


def run_twomoon_grid(profile: Profile, seeds, device="cpu") -> list[GridCell]:
    """Table 1's strongest level of each T over moon noise x |D_l|, a teacher per seed, vectorised.

    Nets and optimiser as the paper's TwoMoon (UM 32 hidden units, MM 16; full-batch SGD, lr 0.01;
    teacher 1000 epochs, students ``grid_student_epochs``); initialisations from mke.seeds.
    """
    cells = []
    for noise in profile.grid_noises:
        for n_l in profile.grid_labeled:
            task = twomoon_task(moon_noise=noise, n_labeled=n_l)

            def make(method, seed, task=task):
                with mke_seeds.init_scope(seed, method.name):
                    return MLP(len(method.inputs), 16 if method.multimodal else 32, 2, modalities=method.inputs)

            t = run_jobs(task, [Job(METHODS["um_teacher"], None, "teacher")], list(seeds), make,
                         TrainConfig(epochs=1000), device=device, keep_models=True)[0]
            pseudo = {s: pseudo_label(m, task.inputs("D_u", ("alpha",)), use_cache=False)
                      for s, m in zip(seeds, t.models)}
            jobs = [Job(METHODS[m], T, s) for s, T in GRID_SETTINGS.items() for m in ("um_student", "mm_student")]
            res = run_jobs(task, jobs, list(seeds), make, TrainConfig(epochs=profile.grid_student_epochs), pseudo,
                           device=device)
            majority = [float(max(p.hard.float().mean(), 1 - p.hard.float().mean()) * 100) for p in pseudo.values()]
            cells.append(GridCell(noise, n_l, t.scores["test"],
                                  {(r.job.setting, r.job.method.name): r.scores["test"] for r in res}, majority))
    return cells


def grid_rows(cells: list[GridCell], seeds) -> list[dict]:
    rows = []
    for c in cells:
        setting = f"noise={c.moon_noise:g} labeled={c.n_labeled}"
        rows.append(result_row("twomoon_grid", setting, "um_teacher", "test_acc", c.teacher, seeds=list(seeds),
                               resolution=0.5))
        rows.append(result_row("twomoon_grid", setting, "um_teacher", "pseudo_label_majority_pct", c.majority,
                               seeds=list(seeds)))
        for (s, m), v in c.students.items():
            rows.append(result_row("twomoon_grid", f"{setting} {s}", m, "test_acc", v, seeds=list(seeds),
                                   resolution=0.5))
    return rows


def grid_verdicts(cells: list[GridCell], setting: str, against: str) -> tuple[np.ndarray, np.ndarray, list]:
    """MM - ``against`` ('um_teacher' or 'um_student') per data setting: effect, verdict, claims."""
    from mke.verdicts import paired

    noises = sorted({c.moon_noise for c in cells})
    labeled = sorted({c.n_labeled for c in cells})
    eff = np.full((len(noises), len(labeled)), np.nan)
    verdict = np.full(eff.shape, "", dtype=object)
    claims = []
    for c in cells:
        mm = c.students[(setting, "mm_student")]
        other = c.teacher if against == "um_teacher" else c.students[(setting, "um_student")]
        name = "the teacher" if against == "um_teacher" else "the UM student"
        r = paired(mm, other, f"MM student beats {name} (TwoMoon, noise {c.moon_noise:g}, |D_l| = {c.n_labeled}, "
                              f"{setting})", chapter="multiview", section="twomoon-beyond-one-data-setting",
                   bounds=(0.0, 100.0))
        i, j = noises.index(c.moon_noise), labeled.index(c.n_labeled)
        eff[i, j], verdict[i, j] = r["effect"], r["verdict"]
        claims.append(r)
    return eff, verdict, claims
