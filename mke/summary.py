"""The intro's summary: every chapter's headline rows, read from ``executed/results/*.json``."""
from __future__ import annotations

import pandas as pd

from mke.results import read_all_results

def _book_order(results_dir) -> list[str]:
    """Chapter names in the order of ``_toc.yml`` (found above ``results_dir``), else alphabetical."""
    from pathlib import Path

    from mke.book import chapters, project_root

    try:
        return chapters(project_root(Path(results_dir).resolve()))
    except FileNotFoundError:
        return []


def headline_frame(results_dir) -> pd.DataFrame:
    """One line per headline row (``"headline": true``) of every results file, in book order.

    A results file names its tables for display in ``"table_titles"`` (written by its chapter),
    so a new chapter needs no change here.
    """
    lines = []
    docs = read_all_results(results_dir)
    book = _book_order(results_dir)
    order = sorted(docs, key=lambda c: (book.index(c) if c in book else len(book), c))
    for chapter in order:
        doc = docs[chapter]
        titles = doc.get("table_titles", {})
        # a run on generated data says so wherever its numbers stand beside the paper's
        label = chapter + (" (stand-in)" if doc.get("parameters", {}).get("source") == "stand-in" else "")
        for row in doc["rows"]:
            if not row.get("headline"):
                continue
            d = int(row.get("digits", 2))  # a chapter whose metric lives in [0, 1] (mAP) asks for 3
            ours = f"{row['mean']:.{d}f}" + (f" ± {row['std']:.{d}f}" if row["n_seeds"] > 1 else "")
            if "measured_error" in row:
                ours = f"bound {row['mean']:.3f}, measured error {row['measured_error']:.3f}: {row.get('status', '')}"
            lines.append({"chapter": label, "table": titles.get(row["table"], row["table"]),
                          "setting": row["setting"], "method": row["method"], "metric": row["metric"],
                          "ours": ours, "seeds": row["n_seeds"],
                          "paper": "" if row.get("paper") is None else f"{row['paper']:.{d}f}"})
    return pd.DataFrame(lines)


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def headline_markdown(results_dir) -> str:
    """The headline rows as a Markdown table (README's results section is exactly this)."""
    df = headline_frame(results_dir)
    cols = ["chapter", "table", "setting", "method", "ours", "paper"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    # a cell's own "|" (as in |D_u|) would end the cell: escape it, as Markdown tables require
    lines += ["| " + " | ".join(str(r[c]).replace("|", "\\|") for c in cols) + " |" for _, r in df.iterrows()]
    return "\n".join(lines)


RULE_START, RULE_END = "<!-- rule:start -->", "<!-- rule:end -->"


def _replace_between(text: str, start: str, end: str, body: str, where) -> str:
    if start not in text or end not in text:
        raise ValueError(f"{where} has no '{start}' ... '{end}' section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def readme_rule() -> str:
    """The regression rule as README states it: mke.regression.RULE_TEXT, indented as a list item."""
    import textwrap

    from mke.regression import RULE_TEXT

    return textwrap.fill(RULE_TEXT, width=94, initial_indent="  ", subsequent_indent="  ")


def update_readme(readme_path, results_dir) -> bool:
    """Rewrite README's results section from the results files, and its statement of the
    regression rule from :data:`mke.regression.RULE_TEXT`; True if it changed."""
    from pathlib import Path

    from mke.results import atomic_write_text

    path = Path(readme_path)
    text = path.read_text()
    new = _replace_between(text, README_START, README_END, headline_markdown(results_dir), path)
    new = _replace_between(new, RULE_START, RULE_END, readme_rule() + "\n  ", path)
    if new != text:
        atomic_write_text(path, new)
    return new != text
