"""The theory chapter's parameters (its computations live in the ``theory`` package)."""
from __future__ import annotations

from mke.params import PROFILES, Param, ParameterSpec, choice, folder, integer
from mke.runtime import DEVICES

# how the README's and the intro's headline table name this chapter's tables
TABLE_TITLES = {"eq20": "Eq. 20 Lipschitz constant", "lemma1_exhaustive": "Lemma 1 on all sets (% of instances)",
                "expansion": "expansion c on X (the paper assumes c1 c2)", "theorem1_sweep": "Eq. 13 bound vs error"}

PARAMETERS = ParameterSpec(
    "theory",
    Param("profile", "book", choice(*PROFILES), "quick | book | paper"),
    Param("device", "cpu", choice(*DEVICES), "the checks are small; cpu | auto | cuda"),
    Param("n_samples", 40000, integer(1000, 10_000_000), "draws from the true TwoMoon distribution per estimate"),
    Param("n_repeats", 3, integer(1, 100), "independent samples per estimate (mean ± std over them)"),
    Param("results_dir", "results", folder(must_exist=True), "relative to executed/; reads twomoon.json from here"),
    Param("threads", 2, integer(1, 256), "torch threads"),
)
