"""The Claims page's parameters and table: every claims row of every chapter's results file."""
from __future__ import annotations

import pandas as pd

from mke.params import Param, ParameterSpec, folder

PARAMETERS = ParameterSpec(
    "claims",
    Param("results_dir", "results", folder(must_exist=True), "relative to executed/; every chapter's results file"),
)


def claims_table(docs: dict[str, dict], order: list[str]) -> pd.DataFrame:
    """One line per claim, chapters in book order: chapter, claim, effect, 95 % interval, n, verdict."""
    lines = []
    for chapter in sorted(docs, key=lambda c: (order.index(c) if c in order else len(order), c)):
        for c in docs[chapter].get("claims", []):
            ci = c.get("ci95")
            lines.append({"chapter": chapter, "claim": c["claim"],
                          "effect": "" if c.get("effect") is None else f"{c['effect']:+.3g}",
                          "95 % interval": "" if ci is None else f"[{ci[0]:+.3g}, {ci[1]:+.3g}]",
                          "n": "" if c.get("n") is None else int(c["n"]), "verdict": c["verdict"],
                          "note": c.get("note") or ""})
    return pd.DataFrame(lines, columns=["chapter", "claim", "effect", "95 % interval", "n", "verdict", "note"])


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Claims per chapter and verdict."""
    return table.groupby(["chapter", "verdict"]).size().unstack(fill_value=0)
