"""The intro's summary: every chapter's headline rows, read from ``executed/results/*.json``."""
from __future__ import annotations

import pandas as pd

from mke.results import read_all_results

TABLE_NAMES = {"table1": "Table 1 (corrected net)", "table1_paper_compat": "Table 1 (paper-compat net)",
               "table2": "Table 2 (emotion recognition)",
               "eq20": "Eq. 20 Lipschitz constant", "lemma1_exhaustive": "Lemma 1 on all sets (% of instances)",
               "expansion": "expansion c on X (paper: c1 c2)", "theorem1_sweep": "Eq. 13 bound vs error"}


CHAPTER_ORDER = ("twomoon", "emotion", "segmentation", "events", "theory")


def headline_frame(results_dir) -> pd.DataFrame:
    """One line per headline row (``"headline": true``) of every results file, in book order."""
    lines = []
    docs = read_all_results(results_dir)
    order = sorted(docs, key=lambda c: (CHAPTER_ORDER.index(c) if c in CHAPTER_ORDER else len(CHAPTER_ORDER), c))
    for chapter in order:
        doc = docs[chapter]
        for row in doc["rows"]:
            if not row.get("headline"):
                continue
            ours = f"{row['mean']:.2f}" + (f" ± {row['std']:.2f}" if row["n_seeds"] > 1 else "")
            if "measured_error" in row:
                ours = f"bound {row['mean']:.3f}, measured error {row['measured_error']:.3f}: {row.get('status', '')}"
            lines.append({"chapter": chapter, "table": TABLE_NAMES.get(row["table"], row["table"]),
                          "setting": row["setting"], "method": row["method"], "metric": row["metric"],
                          "ours": ours, "seeds": row["n_seeds"],
                          "paper": "" if row.get("paper") is None else f"{row['paper']:.2f}"})
    return pd.DataFrame(lines)


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def headline_markdown(results_dir) -> str:
    """The headline rows as a Markdown table (README's results section is exactly this)."""
    df = headline_frame(results_dir)
    cols = ["chapter", "table", "setting", "method", "ours", "paper"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for _, r in df.iterrows()]
    return "\n".join(lines)


def update_readme(readme_path, results_dir) -> bool:
    """Rewrite README's results section from the results files; True if it changed."""
    from pathlib import Path

    from mke.results import atomic_write_text

    path = Path(readme_path)
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no '{README_START}' ... '{README_END}' section")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{headline_markdown(results_dir)}\n{README_END}{tail}"
    if new != text:
        atomic_write_text(path, new)
    return new != text
