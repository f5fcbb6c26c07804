"""Results files: ``executed/results/<chapter>.json`` (docs/design.md, 'Parameters, results, claims'), written atomically.

Every number the book or README shows is a row of such a file, produced by an executed cell.

Results files are strict JSON: no ``NaN`` or ``Infinity``. The writer replaces every non-finite
float with ``null`` and records why under the top-level ``"nulls"`` map (``{"rows[3].ci95[1]":
"NaN"}``); the reader refuses a file that is not strict JSON. The claims a chapter tests
(rows made by :mod:`mke.verdicts`) are stored under ``"claims"``.

``MKE_RESULTS_DIR``: when this environment variable is set (and not empty), results are
written there instead of the chapter's ``results_dir``, and read from there when that folder
holds the chapter, else from ``results_dir``. The test suite sets it (to a temporary folder,
as an absolute path), so that re-executing the notebooks never writes into the repository:
a re-executed chapter reads the fresh results of the chapters re-executed before it, and the
committed ones otherwise.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

import mke
from mke.metrics import summarize
from mke.runtime import environment
from mke.verdicts import STATUSES, VERDICTS

ROW_KEYS = ("table", "setting", "method", "metric", "mean", "std", "n_seeds", "values")
CLAIM_KEYS = ("claim", "verdict")
TEST_CLAIM_KEYS = ("effect", "ci95", "n")
RESERVED_KEYS = ("chapter", "mke_version", "parameters", "environment", "rows", "claims", "nulls")
RESULTS_DIR_ENV = "MKE_RESULTS_DIR"


def resolve_results_dir(results_dir: str | Path) -> Path:
    """Where results are written: ``$MKE_RESULTS_DIR`` when set and not empty, else ``results_dir``."""
    override = os.environ.get(RESULTS_DIR_ENV, "")
    return Path(override) if override else Path(results_dir)


def result_row(table: str, setting: str, method: str, metric: str, values, bounds=None, **extra) -> dict:
    """One row: the statistics of ``values`` (one per seed) plus whatever ``extra`` says.

    ``bounds``, the metric's range (e.g. (0, 100) for an accuracy in %), keeps the row's 95 %
    interval inside it (:func:`mke.metrics.summarize`); the row then records them."""
    with np.errstate(invalid="ignore"):  # NaN/inf values (a recall of an empty class) stay NaN: the writer nulls them
        stats = summarize(values, bounds=bounds)
    row = {"table": table, "setting": setting, "method": method, "metric": metric,
           "mean": round(stats["mean"], 4), "std": round(stats["std"], 4), "n_seeds": stats["n_seeds"],
           "ci95": [round(v, 4) for v in stats["ci95"]], "values": [round(v, 4) for v in stats["values"]]}
    if bounds is not None:
        row["bounds"] = [float(b) for b in bounds]
        row["interval"] = stats["interval"]
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


def _key_path(path: str, key) -> str:
    k = str(key)
    if k.isidentifier():
        return f"{path}.{k}" if path else k
    return f"{path}[{json.dumps(k)}]"


def strict_json_values(obj, nulls: dict[str, str], path: str = ""):
    """A copy of ``obj`` in which every non-finite float is ``None``, recorded in ``nulls`` by path.

    NumPy scalars and arrays become plain numbers and lists, tuples become lists; anything
    else is kept as it is (``json.dumps`` judges it).
    """
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        nulls[path] = "NaN" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
        return None
    if isinstance(obj, dict):
        return {k: strict_json_values(v, nulls, _key_path(path, k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json_values(v, nulls, f"{path}[{i}]") for i, v in enumerate(obj)]
    return obj


def validate_claims(chapter: str, claims) -> None:
    """Each claims row has a claim text (unique in the chapter) and a verdict; a test verdict
    (:data:`mke.verdicts.VERDICTS`) also has its effect, 95 % interval and number of seeds."""
    if not isinstance(claims, (list, tuple)):
        raise ValueError(f"claims of {chapter!r} must be a list of rows from mke.verdicts, got {type(claims).__name__}")
    seen = set()
    for i, row in enumerate(claims):
        if not isinstance(row, dict):
            raise ValueError(f"claims row {i} of {chapter!r} is not a dict: {row!r}")
        name = f"claims row {i} of {chapter!r} ({row.get('claim')!r})"
        missing = [k for k in CLAIM_KEYS if k not in row]
        if missing:
            raise ValueError(f"{name} lacks {missing}: {row}")
        if not isinstance(row["claim"], str) or not row["claim"].strip():
            raise ValueError(f"{name} has no claim text")
        if row["claim"] in seen:
            raise ValueError(f"{name}: the claim text appears twice; claims are matched by their text")
        seen.add(row["claim"])
        verdict = row["verdict"]
        if verdict in VERDICTS:
            missing = [k for k in TEST_CLAIM_KEYS if k not in row]
            if missing:
                raise ValueError(f"{name} has the test verdict {verdict!r} but lacks {missing}: {row}")
            ci = row["ci95"]
            if not (isinstance(ci, (list, tuple)) and len(ci) == 2):
                raise ValueError(f"{name}: ci95 must be [lo, hi], got {ci!r}")
        elif verdict not in STATUSES:
            raise ValueError(f"{name}: verdict must be one of {VERDICTS + STATUSES}, got {verdict!r}")


def write_results(chapter: str, parameters: dict, rows: list[dict], results_dir: str | Path,
                  device: str = "cpu", extra: dict | None = None, claims: list[dict] | None = None) -> Path:
    """Validate ``rows`` and ``claims``; write ``<dir>/<chapter>.json`` atomically, as strict JSON.

    ``<dir>`` is :func:`resolve_results_dir` of ``results_dir`` (``$MKE_RESULTS_DIR`` wins).
    Non-finite floats anywhere become ``null``, listed under ``"nulls"`` with their path and
    what they were (``"NaN"``, ``"inf"``, ``"-inf"``); a row may also carry ``None`` itself,
    with its own ``"null_reason"``. Returns the path written.
    """
    for i, row in enumerate(rows):
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise ValueError(f"results row {i} of {chapter!r} lacks {missing}: {row}")
    claims = [] if claims is None else claims
    validate_claims(chapter, claims)
    clash = sorted(set(extra or {}) & set(RESERVED_KEYS), key=str)
    if clash:
        raise ValueError(f"extra of {chapter!r} may not set {clash}: write_results sets them")
    doc = {"chapter": chapter, "mke_version": mke.__version__, "parameters": parameters,
           "environment": environment(device), "rows": rows, "claims": list(claims)}
    if extra:
        doc.update(extra)
    nulls: dict[str, str] = {}
    doc = strict_json_values(doc, nulls)
    doc["nulls"] = nulls
    text = json.dumps(doc, indent=1, sort_keys=False, default=str, allow_nan=False) + "\n"
    path = resolve_results_dir(results_dir) / f"{chapter}.json"
    atomic_write_text(path, text)
    return path


def _reject_constant(name: str):
    raise ValueError(name)


def load_results_file(path: str | Path) -> dict:
    """Parse one results file strictly: ``NaN``/``Infinity`` and invalid JSON raise ``ValueError``."""
    path = Path(path)
    text = path.read_text()
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}); re-execute the chapter") from e
    except ValueError as e:
        raise ValueError(f"{path} is not strict JSON: it contains {e}; results files hold null "
                         f"for non-finite numbers (see 'nulls'); re-execute the chapter") from e
    if not isinstance(doc, dict) or "rows" not in doc:
        raise ValueError(f"{path} has no 'rows'; it is not a results file")
    return doc


def results_path(chapter: str, results_dir: str | Path) -> Path:
    """The file :func:`read_results` reads: in ``$MKE_RESULTS_DIR`` if it is there, else in ``results_dir``."""
    override = resolve_results_dir(results_dir) / f"{chapter}.json"
    return override if override.exists() else Path(results_dir) / f"{chapter}.json"


def read_results(chapter: str, results_dir: str | Path) -> dict:
    """The results of ``chapter``: from ``$MKE_RESULTS_DIR`` when it holds them, else from ``results_dir``."""
    path = results_path(chapter, results_dir)
    if not path.exists():
        raise FileNotFoundError(f"no results for chapter {chapter!r}: {path} does not exist; "
                                f"execute the chapter first (python -m mke run {chapter})")
    return load_results_file(path)


def read_all_results(results_dir: str | Path) -> dict[str, dict]:
    """Every ``*.json`` results file in ``results_dir`` (and in ``$MKE_RESULTS_DIR``), by chapter name."""
    dirs = {Path(results_dir), resolve_results_dir(results_dir)}
    chapters = sorted({p.stem for d in dirs for p in d.glob("*.json")})
    return {c: read_results(c, results_dir) for c in chapters}


def find_rows(doc: dict, **match) -> list[dict]:
    return [r for r in doc["rows"] if all(r.get(k) == v for k, v in match.items())]


def paper_tables() -> dict:
    """The numbers the paper reports (a copy of its tables shipped with the package)."""
    return json.loads(resources.files("mke").joinpath("paper_tables.json").read_text())
