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
# # MKE Book
#
# An executable companion to *Multimodal Knowledge Expansion* (Xue, Ren, Gao and Zhao, ICCV 2021),
# and the `mke` library it runs on.
#
# **The idea.** A *unimodal teacher*, trained on labeled data of one modality $\alpha$,
# pseudo-labels *unlabeled multimodal* data $(x^\alpha, x^\beta)$. A *multimodal student*
# trained only on those pseudo labels, with consistency regularisation, ends up *better* than
# its teacher: the second modality lets it see which pseudo labels cannot be right
# (Algorithm 1):
#
# $$\theta_t^* = \arg\min_{\theta_t} \frac{1}{N}\sum_{i=1}^N l_{cls}\big(y_i, f_t(x_i^\alpha;\theta_t)\big), \qquad
#   \tilde y_i = f_t(x_i^\alpha;\theta_t^*),$$
#
# $$\theta_s^* = \arg\min_{\theta_s} \frac{1}{M}\sum_{i=1}^M l_{cls}\big(\tilde y_i,
#   \mathcal{T}(f_s(x_i^\alpha, x_i^\beta;\theta_s))\big).$$
#
# %% mystnb={"figure": {"caption": "MKE as Algorithm 1 runs it (the paper's Figure 2): (1) a unimodal teacher learns from labeled data of modality alpha; (2) it labels the unlabeled multimodal data from alpha alone; (3) a multimodal student learns from those pseudo labels under a transformation T, seeing the second modality beta that the teacher never saw.", "name": "fig-intro-mke"}}
import matplotlib.pyplot as plt

from mke import plots

plots.style()
fig, ax = plt.subplots(figsize=(9, 3.6))
plots.plot_mke_diagram(ax)
plots.show(fig)

# %% [markdown]
# **The chapters.** *TwoMoon* reproduces Table 1 and Figures 3-4 in both versions of the
# authors' network and measures what students correct and break. *Emotion recognition*
# reproduces Table 2 and Figure 6 (a face teacher, a face-and-voice student) on a stand-in
# corpus with RAVDESS's structure, or, given its path, on RAVDESS itself (not run here), with hard and soft pseudo labels and a
# control whose voice carries no information. *RGB-D segmentation* reproduces Tables 3, 6, 7
# and 8 (an RGB teacher, an RGB-and-depth student) on rendered indoor rooms with NYU Depth
# V2's structure, or, given its path, on NYU itself (not run here). *Event classification*
# reproduces Tables 4 and 5 (an audio teacher, an audio-and-video student, scored by mAP) on
# synthesised sound events with matching videos, or, given the paths, on AudioSet and VGGSound
# (not run here), with a control whose frames belong to other clips. *Real multi-view data* runs MKE on real
# handwritten digits (six views, every ordered pair), asks whether the theory predicts which
# second view helps, and runs TwoMoon over a grid of data settings. *Theory* checks Eq. 18-20 with
# SymPy, Lemma 1 exhaustively on small spaces, Assumptions 1-2 on TwoMoon samples, and Theorem
# 1's bounds against the measured errors.
#
# **How to read it.** Each chapter reproduces one experiment of the paper with the code that
# made every number, shows the paper's numbers beside ours, and says where a claim does not
# hold. Every number comes from an executed cell and is saved in `executed/results/<chapter>.json`.
#
# **How to re-run it.** `python -m mke run` executes every chapter with papermill and builds
# this book; `python -m mke run twomoon -p n_seeds 20 -p device cuda` re-runs one chapter
# with your parameters (`profile` = `quick`, `book` or `paper`; each chapter lists its own
# parameters at its top). **How to test it.** `make test` runs the unit tests and re-executes
# these notebooks, comparing their structure with nbval and their numbers with the committed
# results files by a rule that tolerates another CPU's rounding but not a real change.
# **How to extend it.** The design page (last in the book) describes the library's layers and
# the files a new chapter touches.

# %% tags=["parameters"]
results_dir = "results"  # relative to executed/

# %% [markdown]
# ## Headline results
#
# Read from the chapters' results files (mean ± standard deviation over seeds; TwoMoon's
# teacher is the paper's single teacher, the other chapters train one teacher per seed):

# %%
import pandas as pd

import mke
from mke import report
from mke.experiments.intro import coverage_frame
from mke.results import read_all_results
from mke.summary import headline_frame

headline = headline_frame(results_dir)
report.table(headline.drop(columns=["metric", "seeds"]), f"Headline results of every chapter (mke {mke.__version__}): "
             "ours as mean ± std over seeds, the paper's number where the paper printed one")

# %% [markdown]
# ## What is in the book, and on which data
#
# Every experiment of the paper has a chapter. Where the paper's data cannot be downloaded here,
# a chapter runs on a stand-in generated with the real data's structure, and accepts the real
# data's path as a parameter; the table says which data each chapter's committed run used, so
# the runs on the real datasets are what the book does not yet contain.

# %%
report.table(coverage_frame(read_all_results(results_dir)), "The paper's experiments, the chapter that reproduces "
             "each, and the data of the committed run")
