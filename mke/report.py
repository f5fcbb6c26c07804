"""How a chapter shows its results to a reader: tables as captioned HTML, notebooks ready for the book.

Every chapter renders a table through :func:`table` (pandas Styler: HTML with a caption, the
index hidden unless it carries meaning) and glues the numbers its prose states with myst-nb's
``glue``; :func:`present` tags a chapter's code cells so that Jupyter Book shows them collapsed.
"""
from __future__ import annotations

import hashlib

import pandas as pd

# cells whose input a reader should see: the parameters (what to change to re-run a chapter)
VISIBLE_TAGS = ("parameters", "injected-parameters")
HIDE = "hide-input"


def table(df: pd.DataFrame, caption: str, index: bool = False, precision: int | None = None):
    """``df`` as an HTML table with ``caption`` (a Styler: rendered as HTML by Jupyter and the book)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"table() takes a pandas DataFrame, got {type(df).__name__}")
    if not caption or not str(caption).strip():
        raise ValueError("every table needs a caption")
    # a fixed uuid (from the caption), so that the HTML repeats exactly (nbval can check it)
    styled = df.style.set_caption(caption).set_uuid(hashlib.sha1(str(caption).encode()).hexdigest()[:10])
    if precision is not None:
        styled = styled.format(precision=precision)
    return styled if index else styled.hide(axis="index")


def present(nb) -> bool:
    """Tag every code cell but the parameters ``hide-input`` (collapsed in the book, one click to
    open). Works on an ``nbformat`` notebook in place; returns whether anything changed."""
    changed = False
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tags = list(cell.get("metadata", {}).get("tags", []))
        if any(t in tags for t in VISIBLE_TAGS) or HIDE in tags:
            continue
        cell.setdefault("metadata", {})["tags"] = tags + [HIDE]
        changed = True
    return changed


def present_file(path) -> bool:
    """:func:`present` on a notebook file, rewritten only when a tag was added."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    if not present(nb):
        return False
    nbformat.write(nb, str(path))
    return True
