"""The introduction's parameters: it only reads the other chapters' results files."""
from __future__ import annotations

from mke.params import Param, ParameterSpec, folder

PARAMETERS = ParameterSpec(
    "intro",
    Param("results_dir", "results", folder(must_exist=True), "relative to executed/"),
)


# the paper's experiments and the chapter that reproduces each (chapter name, the paper's parts)
COVERAGE = (
    ("twomoon", "Section 3.2, 4.1: Table 1, Figures 3-4", "TwoMoon (synthetic by the paper's own recipe)"),
    ("emotion", "Section 4.2, supp. 1.1, 2.1: Table 2, Figure 6", "RAVDESS"),
    ("segmentation", "Section 4.3, supp. 1.2, 2.2, 3: Tables 3, 6, 7, 8, Figures 5, 7, 8", "NYU Depth V2"),
    ("events", "Section 4.4, supp. 1.3, 2.3: Tables 4, 5", "AudioSet -> VGGSound"),
    ("theory", "Section 3.3, supp. 4: Eq. 13-24, Lemma 1, Theorem 1", "TwoMoon samples, small discrete spaces"),
    ("multiview", "beyond the paper: MKE on real multi-view data", "UCI Multiple Features"),
)


def coverage_frame(docs: dict[str, dict]):
    """Paper part -> chapter -> the data its committed run used (``source`` in its parameters:
    ``stand-in`` or the real data set)."""
    import pandas as pd

    lines = []
    for chapter, part, data in COVERAGE:
        doc = docs.get(chapter)
        source = "not run" if doc is None else doc["parameters"].get("source", data)
        ran = "stand-in with the real data's structure" if source == "stand-in" else source
        lines.append({"paper": part, "chapter": chapter, "the paper's data": data, "committed run": ran,
                      "profile": "" if doc is None else doc["parameters"].get("profile", "")})
    return pd.DataFrame(lines)
