import copy
import json
import math
from pathlib import Path

import pytest

from mke.regression import RULE_TEXT, compare, compare_dirs, tolerance
from mke.results import load_results_file, result_row, write_results
from mke.verdicts import VERDICTS, is_test, paired, robust, status_row

COMMITTED = Path(__file__).resolve().parents[1] / "executed" / "results"


@pytest.fixture(autouse=True)
def _no_results_override(monkeypatch):
    monkeypatch.delenv("MKE_RESULTS_DIR", raising=False)


def doc(rows=None, claims=None, parameters=None):
    rows = rows if rows is not None else [
        result_row("table1", "T1 v0=2", "mm_student", "test_acc", [80.0, 82.0, 84.0, 81.0, 83.0]),
        result_row("table1", "teacher", "um_teacher", "test_acc", [68.0]),
        result_row("eq19", "K=2", "sympy", "residual", [0.25]),
    ]
    claims = claims if claims is not None else [
        paired([10.0, 11.0, 10.5, 10.2], [0.0] * 4, "MM beats teacher"),  # robust holds
        paired([80.0, 82.0, 84.0, 86.0], [79.0, 80.0, 80.0, 81.0], "MM beats UM"),  # holds, not robust
        status_row("Lemma 1 applies", "assumptions unmet", note="c1 c2 > 1"),
    ]
    return {"chapter": "ch", "parameters": parameters or {"n_seeds": 5}, "rows": rows, "claims": claims}


def fresh(d):
    return json.loads(json.dumps(d))


def row_of(d, method):
    return next(r for r in d["rows"] if r["method"] == method)


def test_rule_text_is_a_plain_paragraph():
    assert 3 <= RULE_TEXT.count(". ") + 1 <= 4 and "4 standard errors" in RULE_TEXT


def test_tolerance_formula():
    r = row_of(doc(), "mm_student")  # std sqrt(2.5) = 1.5811 (rounded), n = 5
    s = 1.5811
    assert r["std"] == s and tolerance(r) == pytest.approx(4.0 * math.sqrt(2 * s ** 2 / 5))
    r2 = {**r, "std": 3.0}
    assert tolerance(r, r2) == pytest.approx(4.0 * math.sqrt(s ** 2 / 5 + 9.0 / 5))
    assert tolerance(r, z=2.0) == pytest.approx(2.0 * math.sqrt(2 * s ** 2 / 5))
    assert tolerance({**r, "resolution": 5.0}) == 10.0  # never below two resolution steps
    zero = {**r, "std": 0.0}  # all seeds agree: the relative floor
    assert tolerance(zero) == pytest.approx(1e-3 * r["mean"])
    single = row_of(doc(), "um_teacher")
    assert tolerance(single) == pytest.approx(0.068)
    assert tolerance({**single, "resolution": 0.5}) == 1.0
    assert tolerance(row_of(doc(), "sympy")) == 1e-3  # at least 1e-3 for small means


def test_unchanged_copy_passes():
    d = doc()
    assert compare(d, fresh(d)) == []


@pytest.mark.parametrize("method", ["mm_student", "um_teacher", "sympy"])
def test_moves_within_and_beyond_the_tolerance(method):
    d = doc()
    tol = tolerance(row_of(d, method))
    half = fresh(d)
    row_of(half, method)["mean"] += 0.5 * tol
    assert compare(d, half) == []
    twice = fresh(d)
    row_of(twice, method)["mean"] -= 2.0 * tol
    problems = compare(d, twice)
    assert len(problems) == 1
    r = row_of(d, method)
    for part in ("ch", r["table"], r["setting"], method, r["metric"], str(r["mean"]), "tolerance"):
        assert part in problems[0]


def _shift_one_mean(d):
    """Shift the mean of the row with the largest standard error by 10 standard errors."""
    rows = [r for r in d["rows"] if r["n_seeds"] >= 2 and r["std"]]
    r = max(rows, key=lambda r: r["std"] / math.sqrt(r["n_seeds"]))
    r["mean"] = round(r["mean"] + 10 * r["std"] / math.sqrt(r["n_seeds"]), 4)
    return r


@pytest.mark.parametrize("chapter", ["twomoon", "emotion"])
def test_committed_files_pass_unchanged_and_fail_perturbed(chapter):
    committed = load_results_file(COMMITTED / f"{chapter}.json")
    assert compare(committed, fresh(committed)) == []
    moved = fresh(committed)
    r = _shift_one_mean(moved)
    problems = compare(committed, moved)
    assert len(problems) == 1 and r["method"] in problems[0] and r["setting"] in problems[0]
    robust_claims = [c for c in committed.get("claims", []) if is_test(c) and robust(c)]
    if robust_claims:
        flipped = fresh(committed)
        c = next(c for c in flipped["claims"] if c["claim"] == robust_claims[0]["claim"])
        c["verdict"] = next(v for v in VERDICTS if v != c["verdict"])
        assert len(compare(committed, flipped)) == 1


def test_missing_and_new_rows_fail():
    d = doc()
    missing = fresh(d)
    del missing["rows"][0]
    problems = compare(d, missing)
    assert len(problems) == 1 and "missing" in problems[0] and "mm_student" in problems[0]
    extra = fresh(d)
    extra["rows"].append(result_row("table9", "x", "y", "z", [1.0]))
    problems = compare(d, extra)
    assert len(problems) == 1 and "not in the committed" in problems[0] and "table9" in problems[0]


def test_null_means_equal_only_null():
    d = doc()
    d["rows"][2]["mean"] = None
    assert compare(d, fresh(d)) == []
    new = fresh(d)
    new["rows"][2]["mean"] = 0.25
    assert "null equals only null" in compare(d, new)[0]
    assert len(compare(new, d)) == 1


def test_verdict_flips():
    d = doc()
    nonrobust = fresh(d)
    nonrobust["claims"][1]["verdict"] = "inconclusive"
    assert not robust(d["claims"][1]) and compare(d, nonrobust) == []
    robust_flip = fresh(d)
    robust_flip["claims"][0]["verdict"] = "inconclusive"
    problems = compare(d, robust_flip)
    assert robust(d["claims"][0]) and len(problems) == 1 and "MM beats teacher" in problems[0]
    status = fresh(d)
    status["claims"][2]["verdict"] = "not tested"
    assert len(compare(d, status)) == 1
    to_test = fresh(d)
    to_test["claims"][1] = {**to_test["claims"][1], "verdict": "not tested"}
    assert "must not change" in compare(d, to_test)[0]


def test_missing_and_new_claims_fail():
    d = doc()
    missing = fresh(d)
    del missing["claims"][1]
    problems = compare(d, missing)
    assert len(problems) == 1 and "'MM beats UM'" in problems[0] and "missing" in problems[0]
    new = fresh(d)
    new["claims"].append(status_row("another", "estimate", effect=1.0))
    assert len(compare(d, new)) == 1


def test_differing_parameters_fail_alone():
    d = doc()
    other = fresh(d)
    other["parameters"]["n_seeds"] = 3
    other["rows"] = []
    problems = compare(d, other)
    assert len(problems) == 1 and "parameters differ" in problems[0] and "n_seeds: 5 -> 3" in problems[0]


def test_compare_dirs(tmp_path):
    committed, new = tmp_path / "committed", tmp_path / "fresh"
    d = doc()
    for folder in (committed, new):
        write_results("ch", d["parameters"], d["rows"], folder, claims=d["claims"])
    assert compare_dirs(committed, new) == {"ch": []}
    moved = copy.deepcopy(d)
    moved["rows"][0]["mean"] += 10.0
    write_results("ch", moved["parameters"], moved["rows"], new, claims=moved["claims"])
    assert len(compare_dirs(committed, new)["ch"]) == 1
    write_results("only_fresh", {}, d["rows"], new)
    (committed / "bad.json").write_text('{"rows": [], "x": NaN}')
    (new / "bad.json").write_text('{"rows": []}')
    out = compare_dirs(committed, new)
    assert set(out) == {"ch", "only_fresh", "bad"}
    assert "no committed results file" in out["only_fresh"][0]
    assert "not strict JSON" in out["bad"][0]
    assert compare_dirs(committed, new, chapters=["nope"]) == {
        "nope": [f"nope: no committed results file {committed / 'nope.json'}",
                 f"nope: no fresh results file {new / 'nope.json'}"]}
