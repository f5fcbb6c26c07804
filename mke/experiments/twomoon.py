"""The TwoMoon experiment (Section 4.1, Table 1, Figures 3-4) as the chapter calls it.

Everything the chapter shows is computed here, so that the chapter stays prose plus calls.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import torch

from mke.algorithm import PseudoLabels, expand, pseudo_label, train_teacher
from mke.data.twomoon import twomoon_task
from mke.methods import METHODS
from mke.metrics import accuracy
from mke.models import seeded_mlp
from mke.params import PROFILES, Param, ParameterSpec, boolean, choice, folder, integer, number, optional
from mke.results import paper_tables, result_row
from mke.runner import Job, JobResult, run_jobs
from mke.runtime import DEVICES
from mke.train import TrainConfig, predict
from mke.transforms import T1, T2, T3

TEACHER_SEED = 39  # the authors' teacher seed
STUDENT_METHODS = ("um_student", "mm_student", "mm_student_sup")
TABLE1_SETTINGS = {  # Table 1's columns: setting name -> T
    "T1 v0=0": T1(0.0), "T1 v0=1": T1(1.0), "T1 v0=2": T1(2.0),
    "T2 v1=0": T2(0.0), "T2 v1=5": T2(5.0), "T2 v1=10": T2(10.0),
    "T3 r0=0": T3(0.0), "T3 r0=0.4": T3(0.4), "T3 r0=0.8": T3(0.8),
}
# finer grids for the denoising analysis (Table 1's levels are reused, not retrained)
SWEEP_LEVELS = {"T1 v0": (T1, (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0)),
                "T2 v1": (T2, (0.0, 2.5, 5.0, 7.5, 10.0, 15.0)),
                "T3 r0": (T3, (0.0, 0.2, 0.4, 0.6, 0.8))}


@dataclass(frozen=True)
class Profile:
    teacher_epochs: int
    student_epochs: int
    n_seeds: int
    sweep: bool  # run the denoising sweep beyond Table 1's levels


PROFILE_SETTINGS = {
    "quick": Profile(teacher_epochs=1000, student_epochs=300, n_seeds=3, sweep=False),
    "book": Profile(teacher_epochs=1000, student_epochs=2000, n_seeds=10, sweep=True),
    # TwoMoon in the paper is this small: its "paper scale" is the book's, with more seeds
    "paper": Profile(teacher_epochs=1000, student_epochs=2000, n_seeds=20, sweep=True),
}


# how the README's and the intro's headline table name this chapter's tables
TABLE_TITLES = {"table1": "Table 1 (corrected net)", "table1_paper_compat": "Table 1 (paper-compat net)"}

PARAMETERS = ParameterSpec(
    "twomoon",
    Param("profile", "book", choice(*PROFILES), "quick | book | paper"),
    Param("n_seeds", None, optional(integer(2, 100)), "None: the profile's (quick 3, book 10, paper 20)"),
    Param("device", "auto", choice(*DEVICES), "auto | cpu | cuda"),
    Param("paper_compat", False, boolean(), "which network version the figures and the denoising analysis use"),
    Param("moon_noise", 0.1, number(0.0, 1.0), "make_moons noise"),
    Param("n_labeled", 30, integer(2, 299), "|D_l|; D_u gets the rest of the 300 training points"),
    Param("results_dir", "results", folder(must_exist=False), "relative to executed/"),
    Param("threads", 2, integer(1, 256), "torch threads (fixed, so that floats repeat)"),
)


def validate_parameters(**values) -> None:
    """Check every papermill parameter before any work; raise naming the offender."""
    PARAMETERS.validate(values)


def authors_seeds(n: int) -> list[int]:
    """The authors' seed stream, ``random.seed(42); randint(0, 100)``, without its repeats.

    Their 10 seeds are 81, 14, 3, 94, 35, 31, 28, 17, 94, 13: 94 twice. We keep drawing until
    ``n`` distinct seeds, which gives 81, 14, 3, 94, 35, 31, 28, 17, 13, 86 for n = 10.
    """
    if not 1 <= n <= 101:
        raise ValueError(f"n must lie in [1, 101] (randint(0, 100) has 101 values), got {n}")
    rng = random.Random(42)
    seeds: list[int] = []
    while len(seeds) < n:
        s = rng.randint(0, 100)
        if s not in seeds:
            seeds.append(s)
    return seeds


def model_factory(paper_compat: bool):
    """The authors' nets: UM 32 hidden units, MM 16 (Section 4.1), optional softmax head."""

    def make(method, seed):
        return seeded_mlp(seed, len(method.inputs), 16 if method.multimodal else 32, softmax_head=paper_compat,
                          modalities=method.inputs)

    return make


def teacher_wrong_mask(task, pseudo: PseudoLabels) -> torch.Tensor:
    """M(theta_t) of Section 3.3: the unlabeled points whose pseudo label is wrong."""
    return pseudo.hard != task.labels("D_u")


def denoising_scorers(task, pseudo: PseudoLabels) -> dict:
    """Test accuracy, and on D_u the share of the teacher's mistakes a student corrects and of
    its right labels a student breaks (both in percent)."""
    wrong = teacher_wrong_mask(task, pseudo)

    def corrected(logits, y):
        right = logits.argmax(-1).cpu() == y
        return right[..., wrong].float().mean(-1) * 100.0

    def broken(logits, y):
        right = logits.argmax(-1).cpu() == y
        return (~right)[..., ~wrong].float().mean(-1) * 100.0

    return {"test": ("test", accuracy), "D_u": ("D_u", accuracy),
            "corrected": ("D_u", corrected), "broken": ("D_u", broken)}


@dataclass
class VersionResult:
    """Everything measured for one version of the network (corrected or paper-compat)."""

    paper_compat: bool
    teacher: torch.nn.Module
    teacher_acc: float
    pseudo: PseudoLabels
    table1: list[JobResult]
    teacher_seeds: JobResult
    sweep: list[JobResult] = field(default_factory=list)
    n_test: int = 200

    @property
    def table(self) -> str:
        return "table1_paper_compat" if self.paper_compat else "table1"

    def cell(self, setting: str, method: str) -> JobResult:
        for r in self.table1:
            if r.job.setting == setting and r.job.method.name == method:
                return r
        raise KeyError((setting, method))


def run_version(task, paper_compat: bool, seeds: list[int], profile: Profile, device="cpu",
                keep_models: bool = False, sweep: bool = False, workers: int = 1) -> VersionResult:
    """Table 1 for one network version: the teacher (seed 39), 9 settings x 3 students x seeds."""
    make = model_factory(paper_compat)
    teacher_cfg, student_cfg = TrainConfig(epochs=profile.teacher_epochs), TrainConfig(epochs=profile.student_epochs)
    teacher = train_teacher(task, make, teacher_cfg, TEACHER_SEED, device)
    teacher_acc = float(accuracy(predict(teacher, task.inputs("test", ("alpha",))), task.labels("test")))
    pseudo = pseudo_label(teacher, task.inputs("D_u", ("alpha",)))
    scorers = denoising_scorers(task, pseudo)
    jobs = [Job(METHODS[m], T, s) for s, T in TABLE1_SETTINGS.items() for m in STUDENT_METHODS]
    if sweep:
        known = {(j.method.name, j.setting) for j in jobs}
        for prefix, (make_T, levels) in SWEEP_LEVELS.items():
            for level in levels:
                setting = f"{prefix}={level:g}"
                for m in ("um_student", "mm_student"):
                    if (m, setting) not in known:
                        jobs.append(Job(METHODS[m], make_T(level), setting))
    results = run_jobs(task, jobs, seeds, make, student_cfg, pseudo, device=device, scorers=scorers,
                       keep_models=keep_models, workers=workers)
    n_table = len(TABLE1_SETTINGS) * len(STUDENT_METHODS)
    teacher_seeds = run_jobs(task, [Job(METHODS["um_teacher"], None, "teacher")], seeds, make, teacher_cfg,
                             device=device, workers=1)[0]
    return VersionResult(paper_compat, teacher, teacher_acc, pseudo, results[:n_table], teacher_seeds,
                         results[n_table:], task.size("test"))


HEADLINE_SETTINGS = ("teacher", "T1 v0=2", "T2 v1=10", "T3 r0=0.8")


def paper_value(setting: str, method: str) -> float:
    """The paper's Table 1 number for a cell (from the packaged copy of its tables)."""
    paper = paper_tables()["table1_twomoon_test_acc"]
    if setting == "teacher":
        return paper["um_teacher"]
    family = {"T1": "T1_input_noise_v0", "T2": "T2_hidden_noise_v1", "T3": "T3_dropout_r0"}[setting[:2]]
    level = float(setting.split("=")[1])
    return paper[family][method][paper[family]["levels"].index(level)]


def table1_rows(v: VersionResult) -> list[dict]:
    """Results rows for Table 1 of one version; headline cells are flagged for the intro's summary."""
    res = 100 / v.n_test  # one test point
    rows = [result_row(v.table, "teacher", "um_teacher", "test_acc", [v.teacher_acc], seeds=[TEACHER_SEED],
                       resolution=res,
                       paper=paper_value("teacher", "um_teacher"), headline=True,
                       note="the paper's protocol: one teacher (seed 39) labels D_u for every student")]
    for r in v.table1:
        rows.append(result_row(v.table, r.job.setting, r.job.method.name, "test_acc", r.scores["test"],
                               seeds=r.seeds, paper=paper_value(r.job.setting, r.job.method.name), resolution=res,
                               headline=r.job.setting in HEADLINE_SETTINGS and r.job.method.name != "mm_student_sup"))
    suffix = "_paper_compat" if v.paper_compat else ""
    rows.append(result_row(f"teacher_seeds{suffix}", "teacher", "um_teacher", "test_acc",
                           v.teacher_seeds.scores["test"], seeds=v.teacher_seeds.seeds, resolution=res))
    return rows


CLAIM_SETTINGS = ("T1 v0=2", "T2 v1=10", "T3 r0=0.8")  # the strongest level of each T in Table 1


def claims(versions: dict) -> list[dict]:
    """The paper's TwoMoon claims, each judged by the paired rule (mke.verdicts), per network version.

    Students of one seed are paired across methods and settings (same initialisation seed, same
    teacher). "Beats the teacher" is tested two ways: against the paper's single teacher (seed
    39: d = student - that one accuracy) and against a teacher trained with the student's own
    seed (paired), so that one lucky or unlucky teacher draw does not make the effect.
    """
    from mke.verdicts import one_sample, paired

    rows = []
    for compat, v in versions.items():
        net = "paper-compat net" if compat else "corrected net"
        t_seed = np.array(v.teacher_seeds.scores["test"])
        for setting in CLAIM_SETTINGS:
            mm = np.array(v.cell(setting, "mm_student").scores["test"])
            um = np.array(v.cell(setting, "um_student").scores["test"])
            kw = dict(chapter="twomoon", section="table-1", bounds=(0.0, 100.0))
            rows += [
                one_sample(mm - v.teacher_acc, f"knowledge expansion: MM student beats the seed-39 teacher "
                           f"(TwoMoon, {setting}, {net})", **kw),
                paired(mm, t_seed, f"knowledge expansion: MM student beats a teacher of its own seed "
                       f"(TwoMoon, {setting}, {net})", **kw),
                paired(mm, um, f"MM student beats the UM student (TwoMoon, {setting}, {net})", **kw),
            ]
        family_off = {"T1": "T1 v0=0", "T2": "T2 v1=0", "T3": "T3 r0=0"}
        for setting in CLAIM_SETTINGS:
            rows.append(paired(v.cell(setting, "mm_student").scores["test"],
                               v.cell(family_off[setting[:2]], "mm_student").scores["test"],
                               f"regularisation helps the MM student (TwoMoon, {setting} vs none, {net})",
                               chapter="twomoon", section="table-1", bounds=(0.0, 100.0)))
    return rows


def own_teacher_runs(task, paper_compat: bool, seeds: list[int], profile: Profile, setting: str = "T1 v0=2",
                     device="cpu") -> dict:
    """Algorithm 1 end to end per seed: a teacher of seed s labels D_u for an MM student of seed s.

    The paper's protocol shares one teacher (seed 39) among all students, so one teacher draw
    enters every student's gain; here each seed draws its own. Returns per-seed test accuracies
    (%) of the teachers and the MM students, in ``seeds`` order.
    """
    make = model_factory(paper_compat)
    teacher_cfg, student_cfg = TrainConfig(epochs=profile.teacher_epochs), TrainConfig(epochs=profile.student_epochs)
    out = {"setting": setting, "seeds": list(seeds), "teacher": [], "mm_student": []}
    for seed in seeds:
        run = expand(task, make, teacher_cfg, student_cfg, TABLE1_SETTINGS[setting], seed, device=device)
        out["teacher"].append(float(accuracy(predict(run["teacher"], task.inputs("test", ("alpha",))),
                                             task.labels("test"))))
        out["mm_student"].append(float(accuracy(predict(run["students"][0], task.inputs("test", task.modalities)),
                                                task.labels("test"))))
    return out


CLOSE_TO_SUP = 2.0  # points: our reading of "comes close to MM (sup)", a non-inferiority margin


def extra_claims(v: VersionResult, own: dict | None = None) -> list[dict]:
    """Claims the paper implies beyond Table 1's comparisons, for the featured version ``v``:

    * the MM student under the strongest T1 of Table 1 comes within :data:`CLOSE_TO_SUP` points
      of the MM student trained on true labels (non-inferiority, paired by seed);
    * the MM student improves with each step up T1's sweep (paired, consecutive levels);
    * with ``own`` (:func:`own_teacher_runs`), knowledge expansion when every seed has its own
      teacher.
    """
    from mke.verdicts import paired

    net = "paper-compat net" if v.paper_compat else "corrected net"
    kw = dict(chapter="twomoon", bounds=(0.0, 100.0))
    rows = [paired(v.cell("T1 v0=2", "mm_student").scores["test"], v.cell("T1 v0=2", "mm_student_sup").scores["test"],
                   f"the MM student comes within {CLOSE_TO_SUP:g} points of MM (sup) (TwoMoon, T1 v0=2, {net})",
                   margin=-CLOSE_TO_SUP, section="do-the-paper-s-claims-hold", **kw)]
    sweep = sweep_results(v)
    levels = sorted(lv for (f, m, lv) in sweep if f == "T1 v0" and m == "mm_student")
    for lo, hi in zip(levels, levels[1:]):
        rows.append(paired(sweep[("T1 v0", "mm_student", hi)].scores["test"],
                           sweep[("T1 v0", "mm_student", lo)].scores["test"],
                           f"the MM student improves with stronger T: T1 v0={hi:g} beats v0={lo:g} (TwoMoon, {net})",
                           section="beyond-the-paper-what-the-students-correct-and-what-they-break", **kw))
    if own is not None:
        rows.append(paired(own["mm_student"], own["teacher"],
                           f"knowledge expansion with a teacher per seed: each MM student beats the teacher that "
                           f"labelled its D_u (TwoMoon, {own['setting']}, {net})",
                           section="how-much-does-the-teacher-itself-vary", **kw))
    return rows


def sweep_results(v: VersionResult) -> dict[tuple[str, str, float], JobResult]:
    """(family, method, level) -> result, from Table 1 and the extra sweep levels."""
    out = {}
    for r in v.table1 + v.sweep:
        family, level = r.job.setting.split("=")
        if r.job.method.name in ("um_student", "mm_student"):
            out[(family, r.job.method.name, float(level))] = r
    return out


def denoising_rows(v: VersionResult) -> list[dict]:
    rows = []
    table = "denoising_paper_compat" if v.paper_compat else "denoising"
    for (family, method, level), r in sorted(sweep_results(v).items()):
        for metric in ("corrected", "broken", "test"):
            rows.append(result_row(table, f"{family}={level:g}", method,
                                   {"corrected": "corrected_pct", "broken": "broken_pct", "test": "test_acc"}[metric],
                                   r.scores[metric], seeds=r.seeds))
    return rows


def pre_head_logits(model, x) -> torch.Tensor:
    """The last layer's pre-activations z, also for a softmax-headed (paper-compat) network."""
    head = model.softmax_head
    model.softmax_head = False
    try:
        return predict(model, x).cpu()
    finally:
        model.softmax_head = head


def pick_abc(task, pseudo: PseudoLabels, radius: float):
    """Points A, B, C of Figure 4, from D_u, by the paper's definitions.

    A: pseudo label = truth = red (class 0); B: pseudo label blue, truth red; C: both blue.
    We want B inside A's 2-D neighbourhood (distance < radius) while C is inside A's 1-D one
    (|x_C - x_A| < radius) but outside the 2-D one: the configuration Figure 4 draws. Among
    all such triples we take the one with B nearest to half the radius from A (visibly apart,
    well inside), and C nearest to A along X.
    """
    X = task.inputs("D_u", task.modalities).numpy()
    y, yt = task.labels("D_u").numpy(), pseudo.hard.numpy()
    A_idx, B_idx, C_idx = (np.where((y == 0) & (yt == 0))[0], np.where((y == 0) & (yt == 1))[0],
                           np.where((y == 1) & (yt == 1))[0])
    best = None
    for a in A_idx:
        d_b = np.linalg.norm(X[B_idx] - X[a], axis=1)
        near_b = B_idx[(d_b < 0.8 * radius) & (d_b > 0.2 * radius)]
        if not len(near_b):
            continue
        d_c2 = np.linalg.norm(X[C_idx] - X[a], axis=1)
        d_c1 = np.abs(X[C_idx, 0] - X[a, 0])
        cands = C_idx[(d_c1 < radius) & (d_c2 > radius)]
        if not len(cands):
            continue
        gap = np.abs(np.linalg.norm(X[near_b] - X[a], axis=1) - 0.5 * radius)
        b = near_b[np.argmin(gap)]
        c = cands[np.argmin(np.abs(X[cands, 0] - X[a, 0]))]
        score = gap.min() + abs(X[c, 0] - X[a, 0])
        if best is None or score < best[0]:
            best = (score, int(a), int(b), int(c))
    if best is None:
        raise RuntimeError("no A, B, C configuration found at this radius; try a larger v0")
    return best[1:]


def neighbourhood_shares(task, pseudo: PseudoLabels, a: int, radius: float) -> dict:
    """What each student's transformation space around A contains, in D_u: the share of points
    whose truth is red (A's class) among those in the 1-D band and in the 2-D disc."""
    X = task.inputs("D_u", task.modalities).numpy()
    y = task.labels("D_u").numpy()
    in_1d = np.abs(X[:, 0] - X[a, 0]) < radius
    in_2d = np.linalg.norm(X - X[a], axis=1) < radius
    return {"n_1d": int(in_1d.sum()), "red_share_1d": float((y[in_1d] == 0).mean() * 100),
            "n_2d": int(in_2d.sum()), "red_share_2d": float((y[in_2d] == 0).mean() * 100)}


def relative_radius(task, v0: float, modalities) -> float:
    """The T1 noise scale v0 * mean|x| on D_u's inputs (the authors' relative scaling)."""
    return float(v0 * task.inputs("D_u", modalities).abs().mean())


__all__ = ["own_teacher_runs", "extra_claims", "CLOSE_TO_SUP",
           "authors_seeds", "model_factory", "run_version", "table1_rows", "denoising_rows", "pick_abc",
           "neighbourhood_shares", "relative_radius", "pre_head_logits", "validate_parameters", "PROFILE_SETTINGS",
           "TABLE1_SETTINGS", "STUDENT_METHODS", "TEACHER_SEED", "twomoon_task"]
