"""Results files: ``executed/results/<chapter>.json`` (DESIGN.md, 'Results files'), written atomically.

Every number the book or README shows is a row of such a file, produced by an executed cell.
"""
from __future__ import annotations

import json
import os
import tempfile
from importlib import resources
from pathlib import Path

import mke
from mke.metrics import summarize
from mke.runtime import environment

ROW_KEYS = ("table", "setting", "method", "metric", "mean", "std", "n_seeds", "values")


def result_row(table: str, setting: str, method: str, metric: str, values, **extra) -> dict:
    """One row: the statistics of ``values`` (one per seed) plus whatever ``extra`` says."""
    stats = summarize(values)
    row = {"table": table, "setting": setting, "method": method, "metric": metric,
           "mean": round(stats["mean"], 4), "std": round(stats["std"], 4), "n_seeds": stats["n_seeds"],
           "ci95": [round(v, 4) for v in stats["ci95"]], "values": [round(v, 4) for v in stats["values"]]}
    row.update(extra)
    return row


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_results(chapter: str, parameters: dict, rows: list[dict], results_dir: str | Path,
                  device: str = "cpu", extra: dict | None = None) -> Path:
    """Validate ``rows`` and write ``<results_dir>/<chapter>.json`` atomically; return its path."""
    for i, row in enumerate(rows):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"results row {i} of {chapter!r} lacks {missing}: {row}")
    doc = {"chapter": chapter, "mke_version": mke.__version__, "parameters": parameters,
           "environment": environment(device), "rows": rows}
    if extra:
        doc.update(extra)
    path = Path(results_dir) / f"{chapter}.json"
    atomic_write_text(path, json.dumps(doc, indent=1, sort_keys=False, default=str) + "\n")
    return path


def read_results(chapter: str, results_dir: str | Path) -> dict:
    path = Path(results_dir) / f"{chapter}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results for chapter {chapter!r}: {path} does not exist; "
                                f"execute the chapter first (python -m mke run {chapter})")
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); re-execute the chapter") from e
    if "rows" not in doc:
        raise ValueError(f"{path} has no 'rows'; it is not a results file")
    return doc


def read_all_results(results_dir: str | Path) -> dict[str, dict]:
    """Every ``*.json`` results file in ``results_dir``, by chapter name."""
    return {p.stem: read_results(p.stem, results_dir) for p in sorted(Path(results_dir).glob("*.json"))}


def find_rows(doc: dict, **match) -> list[dict]:
    return [r for r in doc["rows"] if all(r.get(k) == v for k, v in match.items())]


def paper_tables() -> dict:
    """The numbers the paper reports (a copy of its tables shipped with the package)."""
    return json.loads(resources.files("mke").joinpath("paper_tables.json").read_text())
