"""The regression rule: does a freshly re-executed results file agree with the committed one?

The two files come from independent runs, often on different hardware (another CPU, another
BLAS, a GPU), so their numbers differ by floating-point noise that training amplifies into
seed-to-seed noise. The rule tolerates that noise and nothing more (see :data:`RULE_TEXT`):

* a row (matched by table, setting, method, metric) with ``n_seeds >= 2`` may move its mean by
  ``z`` standard errors of the difference of two independent means,
  ``z * sqrt(s_old^2 / n_old + s_new^2 / n_new)``;
* a single-value row (``n_seeds == 1``, a deterministic computation) by a relative ``1e-3``;
* never less than twice the row's ``resolution`` (the metric's smallest step, e.g.
  ``100 / n_test`` for an accuracy in percent) when the row gives one, nor less than the
  relative ``1e-3`` floor (so rows whose seeds all agree still admit rounding noise);
* a claim (matched by its text) may change its verdict only when the committed verdict was not
  :func:`mke.verdicts.robust`; statuses that are not tests must not change.
"""
from __future__ import annotations

import math
from pathlib import Path

from mke.results import load_results_file
from mke.verdicts import is_test, robust

KEY = ("table", "setting", "method", "metric")
REL_FLOOR = 1e-3

RULE_TEXT = (
    "A re-executed chapter passes the regression check when every row of its committed results "
    "file is still there and its mean moved by at most z = 4 standard errors of the difference "
    "of two independent means, sqrt(s_old^2/n + s_new^2/n) over the n seeds, since the re-run "
    "is a replication on other hardware. The tolerance is never below twice the metric's "
    "resolution (its smallest step, such as one test sample) nor below 0.1 % of the mean (at "
    "least 0.001), which is also the whole tolerance of single-value, deterministic rows. "
    "A claim's verdict may change only when the committed interval was close to the margin "
    "(|effect - margin| below twice the interval's half-width); every other verdict, every "
    "status that is not a test, and the chapter's parameters must be the same.")


def _num(x) -> float:
    return 0.0 if x is None else float(x)


def tolerance(row_old: dict, row_new: dict | None = None, z: float = 4.0) -> float:
    """How far the mean of a row may move between two runs (see :data:`RULE_TEXT`).

    ``n_seeds >= 2``: ``max(z * sqrt(s_old^2/n_old + s_new^2/n_new), 2 * resolution, floor)``;
    ``n_seeds == 1``: ``max(2 * resolution, floor)``; ``floor = 1e-3 * max(1, |mean|)``.
    Without ``row_new`` the old row's spread stands for both runs.
    """
    row_new = row_old if row_new is None else row_new
    resolution = max(_num(row_old.get("resolution")), _num(row_new.get("resolution")))
    mean = _num(row_old.get("mean"))
    floor = REL_FLOOR * max(1.0, abs(mean))
    tol = max(2.0 * resolution, floor)
    n_old, n_new = int(row_old.get("n_seeds") or 1), int(row_new.get("n_seeds") or 1)
    if n_old >= 2 and n_new >= 2:
        s_old, s_new = _num(row_old.get("std")), _num(row_new.get("std"))
        tol = max(z * math.sqrt(s_old ** 2 / n_old + s_new ** 2 / n_new), tol)
    return tol


def _label(chapter, key) -> str:
    return f"{chapter}: " + " / ".join(str(k) for k in key)


def _index(items, key, what, chapter, side, problems) -> dict:
    out = {}
    for item in items:
        k = key(item)
        if k in out:
            problems.append(f"{chapter}: {what} {k!r} appears twice in the {side} file; it cannot be matched")
        out[k] = item
    return out


def _compare_rows(chapter, old_rows, new_rows, z, problems) -> None:
    key = lambda r: tuple(r.get(k) for k in KEY)  # noqa: E731
    old = _index(old_rows, key, "row", chapter, "committed", problems)
    new = _index(new_rows, key, "row", chapter, "fresh", problems)
    for k, ro in old.items():
        if k not in new:
            problems.append(f"{_label(chapter, k)}: the committed row (mean {ro.get('mean')}) is missing "
                            f"from the fresh results")
            continue
        rn = new[k]
        mo, mn = ro.get("mean"), rn.get("mean")
        if mo is None or mn is None:
            if mo is not mn:
                problems.append(f"{_label(chapter, k)}: mean was {mo}, is now {mn} (null equals only null)")
        else:
            tol = tolerance(ro, rn, z)
            if abs(mn - mo) > tol:
                problems.append(f"{_label(chapter, k)}: mean moved from {mo} to {mn} "
                                f"(by {mn - mo:+.4g}, more than the tolerance {tol:.4g})")
        if ro.get("n_seeds") != rn.get("n_seeds"):
            problems.append(f"{_label(chapter, k)}: n_seeds was {ro.get('n_seeds')}, is now {rn.get('n_seeds')}")
        if "status" in ro and ro.get("status") != rn.get("status"):
            problems.append(f"{_label(chapter, k)}: status was {ro.get('status')!r}, is now {rn.get('status')!r}")
    for k, rn in new.items():
        if k not in old:
            problems.append(f"{_label(chapter, k)}: the fresh row (mean {rn.get('mean')}) is not in the "
                            f"committed results")


def _compare_claims(chapter, old_claims, new_claims, problems) -> None:
    key = lambda c: c.get("claim")  # noqa: E731
    old = _index(old_claims, key, "claim", chapter, "committed", problems)
    new = _index(new_claims, key, "claim", chapter, "fresh", problems)
    for text, co in old.items():
        if text not in new:
            problems.append(f"{chapter}: claim {text!r} ({co.get('verdict')}) is missing from the fresh results")
            continue
        cn = new[text]
        vo, vn = co.get("verdict"), cn.get("verdict")
        if vo == vn:
            continue
        if is_test(co) and is_test(cn):
            if robust(co):
                problems.append(f"{chapter}: claim {text!r} was {vo} (effect {co.get('effect')}, 95 % interval "
                                f"{co.get('ci95')}, margin {co.get('margin')}), far from its margin, and is now "
                                f"{vn} (effect {cn.get('effect')}, 95 % interval {cn.get('ci95')})")
        else:
            problems.append(f"{chapter}: claim {text!r} was {vo!r}, is now {vn!r} (statuses that are not "
                            f"tests must not change)")
    for text, cn in new.items():
        if text not in old:
            problems.append(f"{chapter}: claim {text!r} ({cn.get('verdict')}) is new: it is not in the "
                            f"committed results")


def compare(old_doc: dict, new_doc: dict, z: float = 4.0) -> list[str]:
    """The problems of a fresh results document against the committed one; ``[]`` when it passes.

    Each problem is a sentence naming the chapter and the row or claim. Differing parameters
    make the comparison meaningless: that is reported as the only problem.
    """
    chapter = old_doc.get("chapter") or new_doc.get("chapter") or "?"
    if new_doc.get("chapter", chapter) != chapter:
        return [f"{chapter}: the fresh file is of chapter {new_doc.get('chapter')!r}, not {chapter!r}"]
    po, pn = old_doc.get("parameters"), new_doc.get("parameters")
    if po != pn:
        po, pn = po or {}, pn or {}
        absent = "<absent>"
        diff = [f"{k}: {po.get(k, absent)!r} -> {pn.get(k, absent)!r}"
                for k in sorted(set(po) | set(pn), key=str) if po.get(k, absent) != pn.get(k, absent)]
        return [f"{chapter}: the parameters differ ({'; '.join(diff)}); the results cannot be compared: "
                f"re-execute with the committed parameters"]
    problems: list[str] = []
    _compare_rows(chapter, old_doc.get("rows", []), new_doc.get("rows", []), z, problems)
    _compare_claims(chapter, old_doc.get("claims", []), new_doc.get("claims", []), problems)
    return problems


def compare_dirs(committed_dir: str | Path, fresh_dir: str | Path, chapters=None, z: float = 4.0) -> dict[str, list[str]]:
    """:func:`compare` for every results file in ``fresh_dir`` (or only ``chapters``), by chapter.

    Reads the two folders as given (``$MKE_RESULTS_DIR`` plays no part). A file that is
    missing or not strict JSON is reported as that chapter's problem.
    """
    committed_dir, fresh_dir = Path(committed_dir), Path(fresh_dir)
    names = sorted(p.stem for p in fresh_dir.glob("*.json")) if chapters is None else list(chapters)
    out: dict[str, list[str]] = {}
    for name in names:
        docs = []
        for side, folder in (("committed", committed_dir), ("fresh", fresh_dir)):
            path = folder / f"{name}.json"
            if not path.exists():
                docs.append(f"{name}: no {side} results file {path}")
                continue
            try:
                docs.append(load_results_file(path))
            except ValueError as e:
                docs.append(f"{name}: the {side} file cannot be read: {e}")
        errors = [d for d in docs if isinstance(d, str)]
        out[name] = errors if errors else compare(docs[0], docs[1], z)
    return out
