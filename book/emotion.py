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
# # Emotion recognition: a face teacher, a face-and-voice student
#
# The paper's second experiment (Section 4.2, Table 2, Figure 6; supplementary 1.1 and 2.1).
# RAVDESS clips show an actor speaking one of two sentences with one of eight emotions. The
# teacher sees only the **face** ($x^\alpha$: frames every 0.5 s, stacked as channels) of the
# labeled 20 % of the clips, $D_l$; it pseudo-labels the other 80 %, $D_u$, whose **voice**
# ($x^\beta$: MFCCs) the multimodal student also hears. Every student learns from the teacher's
# pseudo labels only (Algorithm 1), except the supervised MM student, an upper bound.
#
# ```{table} The methods of Table 2: what each model sees, what it trains on and with which targets and T
# :name: tab-emotion-methods
#
# | method | sees | trained on | targets | $\mathcal{T}$ |
# |---|---|---|---|---|
# | UM teacher | face | $D_l$ | true labels | none |
# | UM student | face | $D_u$ | pseudo labels | dropout |
# | NOISY student | face | $D_l + D_u$ | true + pseudo | dropout + input noise |
# | MM student (no reg) | face + voice | $D_u$ | pseudo labels | none |
# | MM student (ours) | face + voice | $D_u$ | pseudo labels | dropout |
# | MM student (sup) | face + voice | $D_u$ | true labels | dropout |
# ```
#
# Each branch is a 3-layer CNN (conv-BN-ReLU-pool); the features are concatenated and fed to
# a 3-layer MLP (`mke.models.MultimodalNet`). Unimodal models have the face branch only. The
# NOISY student (Xie et al.) is noised with dropout plus relative Gaussian input noise (T1 with
# $v_0 = 0.1$) in place of its RandAugment, and learns from $D_l$'s true labels as well.
#
# **Data.** With `data_root=None` (the default, and what this page shows) the chapter runs on a
# built-in *stand-in* corpus with RAVDESS's structure, described below; point `data_root` at the
# RAVDESS download (`Actor_01` ... `Actor_24`) to run on the real clips:
# `python -m mke run emotion -p data_root /data/RAVDESS -p profile paper -p device cuda`.

# %% tags=["parameters"]
profile = "book"          # quick | book | paper
n_seeds = None            # None: the profile's (quick 2, book 5, paper 5)
device = "auto"           # auto | cpu | cuda
data_root = None          # None: the built-in stand-in; else the RAVDESS folder (Actor_01 ... Actor_24)
split_by_actor = False    # True: no actor in two splits (speaker-independent protocol)
voice_informative = True  # False: the voice says nothing about the emotion (the control)
dropout = None            # r0 of T; None: the profile's (book 0.3, paper 0.5 as the paper)
results_dir = "results"   # relative to executed/
threads = 2               # torch threads (fixed, so that floats repeat)

# %%
import dataclasses
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

import mke
from mke import plots
from mke.data.ravdess import EMOTIONS
from mke.experiments import emotion as em
from mke.methods import METHODS
from mke.metrics import mean_std
from mke import report
from mke.results import paper_tables, result_row, write_results
from mke.verdicts import claims_frame, paired
from mke.runtime import resolve_device
from myst_nb import glue

em.PARAMETERS.validate(globals())  # every parameter, before any work
started = time.time()
torch.set_num_threads(threads)
setup = em.PROFILE_SETTINGS[profile]
if dropout is not None:
    setup = dataclasses.replace(setup, dropout=float(dropout))
n_seeds = n_seeds or setup.n_seeds
seeds = list(range(n_seeds))
dev = resolve_device(device)
plots.style()
print(f"mke {mke.__version__} | torch {torch.__version__} | device {dev.type} | threads {threads}")
print(f"profile {profile}: {setup.n_images} frames of {setup.size}x{setup.size}, {setup.n_mfcc} MFCCs x "
      f"{setup.n_frames} frames\nteacher {setup.teacher_epochs} epochs, students {setup.student_epochs}; "
      f"T = dropout {setup.dropout:g}; seeds {seeds}")

# %% [markdown]
# ## The stand-in corpus
#
# RAVDESS itself cannot be downloaded here, so the default data is generated, with the real
# corpus's structure: 24 actors (odd ones male), 8 emotions (neutral, calm, happy, sad, angry,
# fearful, disgust, surprised), 2 statements, 2 intensities (neutral has one), 2 repetitions:
# 60 clips per actor, 1440 in all. `mke.data.ravdess_standin` is the generative model:
#
# * **Face.** A grey face drawn per frame. The *actor* fixes its geometry (face size, eye
#   spacing, mouth width, skin tone). The *emotion* fixes a prototype of five expression
#   parameters (mouth curve and opening, eye opening, brow height and slant), scaled by the
#   intensity (normal = 0.6 of strong); each *take* strays from the prototype by Gaussian
#   noise (`expression_noise`), and the expression builds up over the first frames. Per frame:
#   head shift and scale, a lighting gradient, pixel noise and sometimes an occluding patch
#   (`face_noise`). Neutral and calm, and fearful and surprised, have close prototypes, so the
#   face alone confuses them, as people do on real RAVDESS faces.
# * **Voice.** A source-filter synthesis: a glottal pulse train at the actor's F0 with an
#   emotion-dependent level, range and contour, breath noise, spectral tilt and energy, through
#   formant resonators that spell one of the two statements at an emotion-dependent speaking
#   rate. The voice separates the pairs the face confuses (calm is breathier and slower than
#   neutral; fearful is breathier and faster than surprised).
# * **Independence.** Given the emotion, the face's and the voice's per-clip nuisances come from
#   separate random streams; only the actor links them, as in the real corpus.
# * **The control knob.** `voice_informative=False` draws the voice's emotion at random,
#   independently of the label: the voice then carries no information about the class (on real
#   data, each clip gets the MFCCs of a random other clip instead).
#
# The knobs `face_noise` and `expression_noise` aim the face teacher at the paper's regime (its
# Table 2 teacher scores about 80 %). They were first set while this chapter was written, on the
# very data it reports; `bench/calibrate_emotion.py` checks them on data the book does not report
# (stand-in seed 1, split seed 1, training seeds 1000 and 1001), where the teacher lands in the
# same regime, so the knobs stand. The cells below measure where the teacher lands here. What
# the stand-in builds in by construction: a voice that separates the classes the face confuses
# (so a multimodal student *can* denoise), and conditional independence of face and voice given
# the emotion (Assumption 2).

# %%
t0 = time.time()
if data_root is None:
    corpus = em.load_standin(setup, voice_informative=True)
else:
    corpus = em.load_ravdess(data_root, setup, voice_informative=True)
task = em.build_task(corpus, split_by_actor=split_by_actor)
sizes = {s: task.size(s) for s in ("D_l", "D_u", "val", "test")}
print(f"source: {corpus.source}; {len(corpus.y)} clips decoded, {len(corpus.skipped)} skipped "
      f"({time.time() - t0:.1f} s)")
for path, why in list(corpus.skipped.items())[:10]:
    print(f"  skipped {path}: {why}")

# %% tags=["nbval-check-output"]
print(f"splits: {sizes}; split by {'actor' if split_by_actor else 'clip (stratified by emotion)'}")
print("clips per class in D_u:", np.bincount(task.labels('D_u').numpy(), minlength=8).tolist())
print("face tensor", tuple(task.splits['D_l']['image'].shape[1:]), "| voice tensor",
      tuple(task.splits['D_l']['audio'].shape[1:]))

# %% [markdown]
# The split is the paper's: $D_l : D_u = 2 : 8$, then $D_u$ into train, val and test as
# 8 : 1 : 1, stratified by emotion, with a fixed seed. The default splits clips, as the paper
# does, so one actor's clips can sit in $D_l$ and in test; `split_by_actor=True` keeps actors
# apart (a harder, speaker-independent protocol). Below: the last frame of one clip of each
# emotion, and the voice of two of them.

# %% mystnb={"figure": {"caption": "The stand-in's faces: the last frame of one clip of each emotion in D_u.", "name": "fig-emotion-faces"}}
d_u = task.splits["D_u"]
y_u = task.labels("D_u").numpy()
picks = [int(np.flatnonzero(y_u == k)[0]) for k in range(8)]
fig, axes = plt.subplots(2, 4, figsize=(8, 4.6))
plots.plot_faces(axes.ravel(), [d_u["image"][i, -1].numpy() for i in picks], list(EMOTIONS))
plots.show(fig)

# %% mystnb={"figure": {"caption": "The stand-in's voices: standardised MFCCs of a calm and a fearful clip.", "name": "fig-emotion-voices"}}
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, k in zip(axes, (1, 5)):
    plots.plot_mfcc(ax, d_u["audio"][picks[k], 0].numpy(), f"voice of a {EMOTIONS[k]} clip (standardised MFCCs)")
plots.show(fig)

# %% [markdown]
# (table-2)=
# ## Table 2: every method, several seeds
#
# Each seed trains its own teacher on $D_l$ (Adam with a cosine learning-rate schedule,
# checkpointed as a `state_dict`) and its own students on that teacher's hard pseudo labels;
# the split stays fixed. Accuracy is measured at the last epoch, on val and test.
#
# $\mathcal{T}$ is dropout on the fused features and on both hidden layers of the MLP: three
# dropout layers where the paper (supplementary 2.1) has one, at rate 0.3 in the book profile
# where the paper uses 0.5, because with three layers at 0.5 the students underfit within the
# 25 epochs that two CPU cores allow (the `paper` profile trains longer and uses 0.5;
# `-p dropout 0.5` runs the paper's rate here). Two models beyond the paper's table train
# alongside: a **voice-only** network trained on the true labels of $D_u$ (what the second
# modality alone knows), and an **MM NOISY student**, MKE plugged into the NOISY student as the
# paper suggests (faces and voices of $D_l + D_u$, true labels on $D_l$, pseudo labels on $D_u$).

# %%
t0 = time.time()
teachers, runs = [], []
for seed in seeds:
    teacher = em.teacher_of(task, setup, seed, dev)
    teachers.append(teacher)
    runs.append(em.run_seed(task, setup, seed, dev, teacher=teacher,
                            methods=em.STUDENT_METHODS + tuple(em.EXTRA_METHODS)))
    print(f"seed {seed}: teacher labels D_u with {runs[-1].teacher_D_u_acc:.1f} % accuracy; "
          f"MM student test {runs[-1].scores['mm_student']['test']:.1f} ({time.time() - t0:.0f} s so far)")

# %%
table2 = em.table2_frame(runs)
table2.columns = [f"{a} {b}" for a, b in table2.columns]
report.table(table2, f"Table 2: accuracy (%) on val and test, mean ± std over {n_seeds} seeds, beside the paper. "
             f"T is dropout {setup.dropout:g} at three places (the paper: one layer of 0.5)", index=True, precision=2)

# %% [markdown]
# What the paper claims, checked on these runs by the library's one rule (`mke.verdicts`): for
# "A beats B" the per-seed differences A - B give a mean effect and its 95 % interval; the claim
# **holds** when the whole interval lies above 0, **fails** when it lies below, and is
# **inconclusive** otherwise, whatever the sign of the mean. An accuracy on {glue:text}`n_test`
# test clips moves in steps of {glue:text}`test_step` points (one clip); a class's recall in
# steps of 100 / (its clips), {glue:text}`neutral_step` points for neutral's
# {glue:text}`n_neutral_test` test clips.

# %%
claim_rows = em.claims(runs)
y_test = task.labels("test")
glue("n_test", sizes["test"], display=False)
glue("test_step", f"{100 / sizes['test']:.2f}", display=False)
glue("n_neutral_test", int((y_test == 0).sum()), display=False)
glue("neutral_step", f"{100 / max(int((y_test == 0).sum()), 1):.1f}", display=False)
report.table(claims_frame(claim_rows[:6]), "The paper's claims on Table 2, paired by seed (test accuracy, points)")

# %%
um_t = next(c for c in claim_rows if c["claim"].startswith("UM student beats the UM teacher"))
paper2 = paper_tables()["table2_ravdess_acc"]
glue("um_minus_t", f"{um_t['effect']:+.2f} [{um_t['ci95'][0]:+.2f}, {um_t['ci95'][1]:+.2f}]", display=False)
glue("um_t_verdict", um_t["verdict"], display=False)
glue("paper_um_minus_t", f"{paper2['um_student']['test'] - paper2['um_teacher']['test']:+.2f}", display=False)
glue("pseudo_acc", mean_std([r.teacher_D_u_acc for r in runs]), display=False)
glue("n_dl", sizes["D_l"], display=False)
glue("n_du", sizes["D_u"], display=False)
glue("du_over_dl", f"{sizes['D_u'] / sizes['D_l']:.1f}", display=False)

# %% [markdown]
# The gaps on the stand-in need not match the paper's: they depend on how ambiguous the
# generated faces are and how clearly the generated voices separate the classes, and only the
# teacher's accuracy was aimed at the paper's regime. One difference deserves a word: our UM
# student differs from its teacher by {glue:text}`um_minus_t` points ({glue:text}`um_t_verdict`),
# the paper's from its own by {glue:text}`paper_um_minus_t`. Our teacher sees the
# {glue:text}`n_dl` faces of $D_l$; the UM student sees the {glue:text}`n_du` faces of $D_u$
# under dropout, labelled {glue:text}`pseudo_acc` % right, and on the stand-in much of the face's
# ambiguity is per-take noise (a take straying from its emotion's prototype), which a student
# smoothing over {glue:text}`du_over_dl` times as many faces may average away, while real faces err more systematically (an actor whose calm looks neutral), which a UM
# student can only copy. That is our reading, not a measurement: this chapter does not test it.
#
# ## Figure 6: where the MM student's gains come from
#
# Row-normalised confusion matrices on test, with the predictions of every seed pooled; then
# each class's recall change from the teacher to the MM student, mean and spread over seeds.

# %% mystnb={"figure": {"caption": "The paper's Figure 6 on our runs: row-normalised confusion matrices on test of the UM teacher, the NOISY student and the MM student, predictions of every seed pooled; the title gives each model's mean test accuracy.", "name": "fig-emotion-confusion"}}
short = [e[:4] for e in EMOTIONS]
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
for ax, method in zip(axes, em.FIGURE6_METHODS):
    acc = em.scores(runs, method).mean()
    plots.plot_confusion(ax, em.confusion(runs, method, y_test), short, f"{METHODS[method].label} ({acc:.1f} %)")
plots.show(fig)

# %%
recall = {m: em.per_class_recall(runs, m, y_test) for m in em.FIGURE6_METHODS}
change = recall["mm_student"] - recall["um_teacher"]
counts_test = np.bincount(y_test.numpy(), minlength=len(EMOTIONS))
per_class = pd.DataFrame({"test clips": counts_test, "teacher": recall["um_teacher"].mean(0),
                          "NOISY": recall["noisy_student"].mean(0), "MM student": recall["mm_student"].mean(0),
                          "MM - teacher": change.mean(0), "± (seeds)": change.std(0, ddof=1)},
                         index=list(EMOTIONS))
report.table(per_class, "Recall (%) per class on test, mean over seeds, and the MM student's change from the "
             "teacher", index=True, precision=1)

# %% mystnb={"figure": {"caption": "Recall change per class on test, MM student minus UM teacher: mean and standard deviation over seeds.", "name": "fig-emotion-recall"}}
fig, ax = plt.subplots(figsize=(7, 3.4))
plots.plot_recall_change(ax, list(EMOTIONS), change.mean(0), change.std(0, ddof=1),
                         "recall change, MM student minus UM teacher (test)")
plots.show(fig)

# %% [markdown]
# Denoising needs the pseudo labels to be right more often than wrong among clips that look and
# sound alike: the student then learns the majority, which is the truth. A class the student
# *loses* needs another explanation. For each such class we follow its clips: how many clips of
# $D_u$ are truly of the class and how many the teacher labels as it (its pseudo labels'
# precision and recall), and which labels the teacher and the MM student give its test clips.

# %%
worse = [k for k in range(len(EMOTIONS)) if change[:, k].mean() < 0]
flow_rows = []
for k in sorted(set(worse) | {0}):  # every class the student loses, and neutral (the paper's case)
    f = em.class_flow(runs, task.labels("D_u"), y_test, k)
    flow_rows.append({"class": EMOTIONS[k], "clips in D_u": f["n_true_D_u"],
                      "D_u clips labelled it (mean)": f"{f['pseudo_labelled_k']:.0f}",
                      "pseudo-label precision (%)": f"{f['pseudo_precision']:.1f}",
                      "pseudo-label recall (%)": f"{f['pseudo_recall']:.1f}",
                      "teacher on its test clips": ", ".join(f"{n} {v:.0f} %" for n, v in f["um_teacher_labels"].items()),
                      "MM student on its test clips": ", ".join(f"{n} {v:.0f} %" for n, v in f["mm_student_labels"].items())})
display(report.table(pd.DataFrame(flow_rows), "Where the clips of neutral and of every class the MM student loses go "
                     "(means over seeds; test labels pooled over seeds, three most common)"))
glue("lost_classes", ", ".join(EMOTIONS[k] for k in worse) if worse else "none", display=False)

# the neutral story, computed: what the teacher gives neutral clips, how many pseudo labels the
# class gets, and whether the student's loss is beyond seed noise
nf = em.class_flow(runs, task.labels("D_u"), y_test, 0)
t_top = max(nf["um_teacher_labels"], key=nf["um_teacher_labels"].get)
s_top = max(nf["mm_student_labels"], key=nf["mm_student_labels"].get)
neutral_claim = paired(recall["mm_student"][:, 0], recall["um_teacher"][:, 0],
                       "the MM student recalls neutral better than the teacher (RAVDESS)", chapter="emotion",
                       section="figure-6-where-the-mm-student-s-gains-come-from", bounds=(0.0, 100.0))
story = [f"the teacher's most common label on neutral test clips is {t_top} ({nf['um_teacher_labels'][t_top]:.0f} %)"
         + (", its plurality: on those clips it is right more often than it gives any single wrong label"
            if t_top == "neutral" else ", so the student may inherit the teacher's mistake"),
         f"D_u holds {nf['n_true_D_u']} neutral clips against {int(np.bincount(task.labels('D_u').numpy()).max())} "
         f"for the largest class (RAVDESS has no strong-intensity neutral take), and the teacher labels "
         f"{nf['pseudo_labelled_k']:.0f} clips of D_u neutral, finding {nf['pseudo_recall']:.0f} % of the true ones "
         f"at {nf['pseudo_precision']:.0f} % precision",
         f"the MM student labels neutral test clips most often {s_top} ({nf['mm_student_labels'][s_top]:.0f} %)",
         f"its recall change over the teacher is {neutral_claim['effect']:+.1f} points "
         f"[{neutral_claim['ci95'][0]:+.1f}, {neutral_claim['ci95'][1]:+.1f}] over {n_seeds} seeds on "
         f"{nf['n_true_test']} test clips ({100 / max(nf['n_true_test'], 1):.1f} points a clip): {neutral_claim['verdict']}"]
if t_top == "neutral" and s_top != "neutral":
    if nf["pseudo_labelled_k"] > nf["n_true_D_u"] and nf["pseudo_precision"] < 50:
        story.append("so the teacher gives the label to more clips than hold it, most of them wrongly: what the "
                     "student learns as neutral is mostly other emotions, and hearing the voice it settles true "
                     f"neutral clips towards {s_top}, rather than copying a mistake the teacher makes on them")
    else:
        story.append(f"these numbers point to a rare class whose clips the student settles towards {s_top}, rather "
                     "than to a teacher wrong on most of the class")
elif neutral_claim["verdict"] == "inconclusive":
    story.append("the change is within seed noise, and these numbers do not explain it further")
glue("neutral_story", "; ".join(story), display=False)

# %% [markdown]
# Classes whose mean recall falls: {glue:text}`lost_classes`. Neutral, followed through the
# pipeline: {glue:text}`neutral_story`. The paper reports a slight gain for neutral.
#
# ## Beyond Table 2: the voice alone, and MKE inside NOISY student
#
# How much does the second modality know on its own? And does MKE help when "plugged into"
# the NOISY student (Section 4.2 suggests it can), i.e. a multimodal student on $D_l + D_u$?

# %%
beyond = pd.DataFrame([{"model": em.ALL_METHODS[m].label, "sees": "+".join(em.ALL_METHODS[m].inputs).replace(
    "alpha", "face").replace("beta", "voice"), "targets": em.ALL_METHODS[m].targets,
    "test (%)": mean_std(em.scores(runs, m))} for m in ("um_teacher", "noisy_student", "mm_student", "mm_noisy_student",
                                                         "voice_sup", "mm_student_sup")])
display(report.table(beyond, f"Beyond Table 2: the voice-only network and the MM NOISY student beside the paper's "
                     f"methods (test accuracy, mean ± std over {n_seeds} seeds)"))
extra_claims = [c for c in claim_rows if "MM NOISY" in c["claim"]]
glue("voice_only", mean_std(em.scores(runs, "voice_sup")), display=False)
glue("face_teacher", mean_std(em.scores(runs, "um_teacher")), display=False)
glue("both_sup", mean_std(em.scores(runs, "mm_student_sup")), display=False)
glue("mm_noisy", mean_std(em.scores(runs, "mm_noisy_student")), display=False)
glue("mm_noisy_vs_noisy", f"{extra_claims[0]['effect']:+.2f} [{extra_claims[0]['ci95'][0]:+.2f}, "
     f"{extra_claims[0]['ci95'][1]:+.2f}], {extra_claims[0]['verdict']}", display=False)
glue("mm_noisy_vs_mm", f"{extra_claims[1]['effect']:+.2f} [{extra_claims[1]['ci95'][0]:+.2f}, "
     f"{extra_claims[1]['ci95'][1]:+.2f}], {extra_claims[1]['verdict']}", display=False)
report.table(claims_frame(extra_claims), "MKE inside NOISY student, paired by seed")

# %% [markdown]
# The voice alone, trained on the true labels of $D_u$, reaches {glue:text}`voice_only` %,
# against {glue:text}`face_teacher` % for the face teacher and {glue:text}`both_sup` % for both
# modalities together (MM sup): on the stand-in neither modality is a perfect witness on its
# own; they are complementary by construction (the voice separates the pairs the face
# confuses), which is the premise MKE needs. The MM NOISY student scores {glue:text}`mm_noisy` %:
# against the NOISY student {glue:text}`mm_noisy_vs_noisy`; against the MM student
# {glue:text}`mm_noisy_vs_mm`.
#
# ## Speaker-independent split
#
# The paper's protocol splits clips, so most test clips have a sibling take (same actor,
# emotion, intensity and statement) in training. With `split_by_actor=True` no actor is in two
# splits. To stay within the chapter's time budget this runs the teacher and the MM student on
# the first {glue:text}`n_actor_seeds` seeds.

# %%
if not split_by_actor:
    task_actor = em.build_task(corpus, split_by_actor=True)
    actor_seeds = seeds[:3]
    glue("n_actor_seeds", len(actor_seeds), display=False)
    actor_runs = [em.run_seed(task_actor, setup, seed, dev, methods=("mm_student",)) for seed in actor_seeds]
    same_seeds = runs[:len(actor_seeds)]
    by_actor = pd.DataFrame([{"method": METHODS[m].label,
                              f"by clip (the paper's), seeds {actor_seeds}": mean_std(em.scores(same_seeds, m)),
                              "by actor": mean_std(em.scores(actor_runs, m))}
                             for m in ("um_teacher", "mm_student")])
    display(report.table(by_actor, f"Table 2 by clip and by actor (test accuracy, mean ± std over seeds "
                         f"{actor_seeds}; test sizes {sizes['test']} and {task_actor.size('test')} clips)"))
    actor_claim = paired(em.scores(actor_runs, "mm_student"), em.scores(actor_runs, "um_teacher"),
                         "knowledge expansion: MM student beats the UM teacher (RAVDESS, split by actor)",
                         chapter="emotion", section="speaker-independent-split", bounds=(0.0, 100.0))
    glue("actor_gain", f"{actor_claim['effect']:+.2f} [{actor_claim['ci95'][0]:+.2f}, {actor_claim['ci95'][1]:+.2f}], "
         f"{actor_claim['verdict']}", display=False)
    glue("actor_teacher", mean_std(em.scores(actor_runs, "um_teacher")), display=False)
    report.table(claims_frame([actor_claim]), "Knowledge expansion with the speaker-independent split, paired by seed")
else:  # the main table is already speaker-independent
    actor_runs, actor_claim = runs, None
    glue("n_actor_seeds", len(runs), display=False)
    glue("actor_gain", "the main table above", display=False)
    glue("actor_teacher", mean_std(em.scores(runs, "um_teacher")), display=False)

# %% [markdown]
# Without sibling takes the face teacher scores {glue:text}`actor_teacher` %, and the MM
# student's gain over it is {glue:text}`actor_gain`.
#
# ## Hard or soft pseudo labels
#
# Eq. (2) leaves open whether $\tilde y$ is the teacher's arg max (hard, what Table 2 uses) or
# its class probabilities (soft, trained with the KL divergence). The same teachers, the same
# seeds, soft labels for the MM student:

# %%
soft_runs = [em.run_seed(task, setup, seed, dev, methods=("mm_student",), soft=True, teacher=t)
             for seed, t in zip(seeds, teachers)]

# %%
hs = []
for method in ("mm_student",):
    for name, rr in (("hard", runs), ("soft", soft_runs)):
        hs.append({"method": METHODS[method].label, "pseudo labels": name, "test": mean_std(em.scores(rr, method))})
display(report.table(pd.DataFrame(hs).pivot(index="method", columns="pseudo labels", values="test"),
                     f"Hard against soft pseudo labels (test accuracy, %, mean ± std over {n_seeds} seeds)", index=True))
soft_claim = next(c for c in em.claims(runs, soft_runs) if c["claim"].startswith("soft pseudo labels"))
t8 = paper_tables()["table8_nyu_hard_vs_soft_miou"]
glue("soft_effect", f"{soft_claim['effect']:+.2f} [{soft_claim['ci95'][0]:+.2f}, {soft_claim['ci95'][1]:+.2f}] "
     f"points, {soft_claim['verdict']}", display=False)
glue("paper_t8", f"MM student {t8['mm_student']['hard']:.2f} mIoU with hard labels, {t8['mm_student']['soft']:.2f} "
     f"with soft", display=False)
report.table(claims_frame([soft_claim]), "Soft against hard pseudo labels for the MM student, paired by seed")

# %% [markdown]
# Soft minus hard for the MM student: {glue:text}`soft_effect`. The paper compares the two only
# on NYU Depth V2 (its Table 8: {glue:text}`paper_t8`), where soft labels are slightly better.
#
# ## Control: a voice that says nothing
#
# MKE's gain should come from what the second modality knows about the class, not from extra
# parameters or inputs. Here the voice's emotion is drawn at random (on real data: each clip
# gets another clip's voice). The faces are bit-identical, so the teachers, their pseudo
# labels and the UM students are those of Table 2; only the MM student is retrained.

# %%
if voice_informative:
    if data_root is None:
        corpus_off = em.load_standin(setup, voice_informative=False)
    else:
        corpus_off = em.load_ravdess(data_root, setup, voice_informative=False)
    task_off = em.build_task(corpus_off, split_by_actor=split_by_actor)
    assert all(torch.equal(task_off.splits[s]["image"], task.splits[s]["image"]) for s in task.splits)
    control_runs = [em.run_seed(task_off, setup, seed, dev, methods=("mm_student",), teacher=t)
                    for seed, t in zip(seeds, teachers)]
    for r, main in zip(control_runs, runs):  # same faces, same teacher: reuse the UM student
        r.scores["um_student"] = main.scores["um_student"]
else:  # the main table already ran without an informative voice
    control_runs = runs

# %%
ctrl = []
for name, rr in (("informative voice", runs), ("uninformative voice", control_runs)):
    um, mm = em.scores(rr, "um_student"), em.scores(rr, "mm_student")
    ctrl.append({"voice": name, "UM student": mean_std(um), "MM student": mean_std(mm),
                 "MM - UM": mean_std(mm - um, signed=True)})
display(report.table(pd.DataFrame(ctrl), f"The control: test accuracy (%), mean ± std over {n_seeds} seeds"))
control_claim = next(c for c in em.claims(runs, None, control_runs) if "uninformative voice" in c["claim"])
glue("control_effect", f"{control_claim['effect']:+.2f} [{control_claim['ci95'][0]:+.2f}, "
     f"{control_claim['ci95'][1]:+.2f}], {control_claim['verdict']}", display=False)
report.table(claims_frame([control_claim]), "The control's MM - UM, paired by seed")

# %% [markdown]
# With a voice that says nothing, the MM student's difference from the UM student is
# {glue:text}`control_effect`: the gain of Table 2 needs a voice that knows the emotion.
#
# ## Results file
#
# Every number above is saved in `executed/results/emotion.json`: rows `table2` (val_acc and
# test_acc of the six methods), `beyond_table2`, `by_actor`, `hard_vs_soft`,
# `control_voice_uninformative`, `figure6_recall` and `pseudo_labels`.

# %%
setting = em.setting_name(setup.dropout)
rows = em.table2_rows(runs, sizes)
rows += em.comparison_rows("beyond_table2", {setting: runs}, tuple(em.EXTRA_METHODS), sizes, ("val", "test"))
if actor_claim is not None:
    rows += em.comparison_rows("by_actor", {"split by actor": actor_runs}, ("um_teacher", "mm_student"),
                               {s: task_actor.size(s) for s in ("val", "test")}, ("val", "test"))
rows += em.comparison_rows("hard_vs_soft", {"hard": runs, "soft": soft_runs}, ("mm_student",), sizes,
                           ("val", "test"))
rows += em.comparison_rows("control_voice_uninformative", {"voice uninformative": control_runs},
                           ("um_student", "mm_student"), sizes, ("val", "test"))
rows += em.figure6_rows(runs, y_test)
rows += [result_row("pseudo_labels", setting, "um_teacher", "D_u_acc", [r.teacher_D_u_acc for r in runs],
                    bounds=(0.0, 100.0))]
parameters = em.PARAMETERS.record(globals(), n_seeds=n_seeds, dropout=setup.dropout, seeds=seeds,
                                  teacher_epochs=setup.teacher_epochs, student_epochs=setup.student_epochs,
                                  source=corpus.source, skipped=len(corpus.skipped))
all_claims = (em.claims(runs, soft_runs, control_runs) + [neutral_claim]
              + ([actor_claim] if actor_claim is not None else []))
path = write_results("emotion", parameters, rows, results_dir, dev.type, claims=all_claims,
                     extra={"table_titles": em.TABLE_TITLES})
print(f"wrote {len(rows)} rows to {path}")

# %% [markdown]
# ## Summary

# %%
t, mm, noisy, sup = (em.scores(runs, m).mean() for m in ("um_teacher", "mm_student", "noisy_student", "mm_student_sup"))
kx = claim_rows[0]
glue("sum_source", corpus.source, display=False)
glue("sum_teacher", f"{t:.2f}", display=False)
glue("sum_mm", f"{mm:.2f}", display=False)
glue("sum_kx", f"{kx['effect']:+.2f} [{kx['ci95'][0]:+.2f}, {kx['ci95'][1]:+.2f}], {kx['verdict']}", display=False)
glue("sum_noisy", f"{noisy:.2f}", display=False)
glue("sum_sup", f"{sup:.2f}", display=False)
glue("sum_verdicts", "; ".join(f"{c['claim'].split(' (RAVDESS')[0]}: {c['verdict']}" for c in claim_rows[1:6]),
     display=False)
print(f"chapter run time: {time.time() - started:.0f} s")

# %% [markdown]
# On {glue:text}`sum_source` data the face teacher scores {glue:text}`sum_teacher` % on test and
# the MM student, trained only on its pseudo labels, {glue:text}`sum_mm` % (paired gain
# {glue:text}`sum_kx`), against {glue:text}`sum_noisy` % for the NOISY student and
# {glue:text}`sum_sup` % for the supervised MM student. The other claims of Table 2:
# {glue:text}`sum_verdicts`. The control shows the gain needs a voice that knows the emotion;
# the speaker-independent split, how much of it survives without sibling takes.
