"""The intro's summary: every chapter's headline rows, read from ``executed/results/*.json``."""
from __future__ import annotations

import pandas as pd

from mke.results import read_all_results

TABLE_NAMES = {"table1": "Table 1 (corrected net)", "table1_paper_compat": "Table 1 (paper-compat net)"}


def headline_frame(results_dir) -> pd.DataFrame:
    """One line per headline row (``"headline": true``) of every results file."""
    lines = []
    for chapter, doc in read_all_results(results_dir).items():
        for row in doc["rows"]:
            if not row.get("headline"):
                continue
            ours = f"{row['mean']:.2f}" + (f" ± {row['std']:.2f}" if row["n_seeds"] > 1 else "")
            lines.append({"chapter": chapter, "table": TABLE_NAMES.get(row["table"], row["table"]),
                          "setting": row["setting"], "method": row["method"], "metric": row["metric"],
                          "ours": ours, "seeds": row["n_seeds"],
                          "paper": "" if row.get("paper") is None else f"{row['paper']:.2f}"})
    return pd.DataFrame(lines)
