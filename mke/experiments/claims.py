"""The Claims page's parameters and table: every claims row of every chapter's results file."""
from __future__ import annotations

import pandas as pd

from mke.params import Param, ParameterSpec, folder

PARAMETERS = ParameterSpec(
    "claims",
    Param("results_dir", "results", folder(must_exist=True), "relative to executed/; every chapter's results file"),
)


def section_link(chapter: str, section: str | None) -> str:
    """An HTML link to the section of the chapter page that tests a claim (the page if none)."""
    href = f"{chapter}.html" + (f"#{section}" if section else "")
    return f'<a href="{href}">{chapter}</a>'


def claims_table(docs: dict[str, dict], order: list[str], links: bool = False) -> pd.DataFrame:
    """One line per claim, chapters in book order: chapter, claim, effect, 95 % interval, n, verdict.

    With ``links`` the chapter cell links to the section that tests the claim (for the book)."""
    lines = []
    for chapter in sorted(docs, key=lambda c: (order.index(c) if c in order else len(order), c)):
        for c in docs[chapter].get("claims", []):
            ci = c.get("ci95")
            lines.append({"chapter": section_link(chapter, c.get("section")) if links else chapter,
                          "claim": c["claim"],
                          "effect": "" if c.get("effect") is None else f"{c['effect']:+.3g}",
                          "95 % interval": "" if ci is None else f"[{ci[0]:+.3g}, {ci[1]:+.3g}]",
                          "n": "" if c.get("n") is None else int(c["n"]), "verdict": c["verdict"],
                          "note": c.get("note") or ""})
    return pd.DataFrame(lines, columns=["chapter", "claim", "effect", "95 % interval", "n", "verdict", "note"])


def verdict_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Claims per chapter and verdict."""
    return table.groupby(["chapter", "verdict"]).size().unstack(fill_value=0)
