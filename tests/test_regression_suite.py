"""The notebook regression check: fresh results against the committed ``executed/results``.

``pytest --nbval`` re-executes every notebook of ``executed/`` (root ``conftest.py``); each writes
its results file into ``$MKE_RESULTS_DIR``, a temporary folder. This test runs last and compares
them with the committed files by :func:`mke.regression.compare`: a number must stay within what
seed noise and rounding explain (the rule is :data:`mke.regression.RULE_TEXT`), robust claim
verdicts must repeat. It passes on a CPU whose floating point differs from the machine that made
``executed/`` and fails when a result truly moves.
"""
from pathlib import Path

import pytest

from mke.regression import compare_dirs

ROOT = Path(__file__).resolve().parents[1]


def test_fresh_results_match_the_committed_ones(request):
    fresh = getattr(request.config, "_mke_fresh_results", None)
    if fresh is None:
        pytest.skip("runs with `pytest --nbval` (make test), after the notebooks are re-executed")
    committed = ROOT / "executed" / "results"
    expected = sorted(p.stem for p in committed.glob("*.json"))
    produced = sorted(p.stem for p in Path(fresh).glob("*.json"))
    assert produced == expected, (f"re-executing executed/ produced results for {produced}, "
                                  f"the repository holds {expected}: did a notebook fail?")
    problems = compare_dirs(committed, fresh)
    report = [f"{chapter}: {p}" for chapter, ps in problems.items() for p in ps]
    assert not report, "results moved beyond seed noise and rounding:\n" + "\n".join(report)
