"""The introduction's parameters: it only reads the other chapters' results files."""
from __future__ import annotations

from mke.params import Param, ParameterSpec, folder

PARAMETERS = ParameterSpec(
    "intro",
    Param("results_dir", "results", folder(must_exist=True), "relative to executed/"),
)
