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
# # Claims: every tested claim and its verdict
#
# Every chapter stores the claims it tests in the `claims` table of its results file
# (`executed/results/<chapter>.json`). This page gathers them, so a chapter added later adds
# its rows by itself. A claim "A beats B" is judged on paired seeds by the library's one rule
# (`mke.verdicts`): the mean difference and its 95 % interval; **holds** when the interval lies
# above the claim's margin (0 unless the claim names one), **fails** when it lies below,
# **inconclusive** otherwise. Rows that are not statistical tests carry a status instead:
# **exact: holds / fails** (a symbolic identity or an exhaustive search, no sampling noise),
# **assumptions unmet** (the claim's premise does not hold, so it was not tested), **not
# tested** (the note says why) and **estimate** (a number without an interval).

# %% tags=["parameters"]
results_dir = "results"  # relative to executed/; every chapter's results file

# %%
import pandas as pd

from mke import report
from mke.book import chapters, project_root
from mke.experiments import claims as cl
from mke.results import read_all_results

cl.PARAMETERS.validate(globals())
docs = read_all_results(results_dir)
table = cl.claims_table(docs, chapters(project_root()))
report.table(cl.verdict_counts(table), f"The {len(table)} claims of {table['chapter'].nunique()} chapters, counted "
             "by verdict.", index=True)

# %%
def colour(v):
    return {"holds": "color: #1a7f37", "fails": "color: #cf222e", "exact: holds": "color: #1a7f37",
            "exact: fails": "color: #cf222e"}.get(v, "color: #6e7781")


(report.table(cl.claims_table(docs, chapters(project_root()), links=True),
              "Every claim, its effect (A - B, in the claim's unit: accuracy points, mIoU points, error or a rank "
              "correlation), the 95 % interval, the number of paired seeds (or pairs) and the verdict; the chapter "
              "links to the section that tests it.")
 .map(colour, subset=["verdict"])
 .set_table_styles([{"selector": "td", "props": "font-size: 0.85em; vertical-align: top;"}]))

# %% [markdown]
# The counts and the rows above are read from the chapters' results files as
# they are committed; re-executing a chapter updates its rows here.
