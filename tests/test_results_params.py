import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from mke.experiments import twomoon as tm
from mke.params import check_dir
from mke.results import (find_rows, paper_tables, read_all_results, read_results, resolve_results_dir, result_row,
                         write_results)
from mke.verdicts import paired, status_row


@pytest.fixture(autouse=True)
def _no_results_override(monkeypatch):
    """These tests say where results go; the suite's MKE_RESULTS_DIR (if set) is for the notebooks."""
    monkeypatch.delenv("MKE_RESULTS_DIR", raising=False)


def test_result_row_statistics():
    row = result_row("table1", "T1 v0=2", "mm_student", "test_acc", [80.0, 82.0, 84.0], seeds=[1, 2, 3])
    assert row["mean"] == 82.0 and row["std"] == 2.0 and row["n_seeds"] == 3
    half = 4.303 * 2.0 / 3 ** 0.5  # t(0.975, 2) * s / sqrt(n)
    assert row["ci95"] == pytest.approx([82.0 - half, 82.0 + half], abs=1e-3)
    assert row["seeds"] == [1, 2, 3]


def test_write_and_read_results(tmp_path):
    rows = [result_row("table1", "teacher", "um_teacher", "test_acc", [68.0])]
    path = write_results("twomoon", {"n_seeds": 1}, rows, tmp_path)
    doc = read_results("twomoon", tmp_path)
    assert doc["chapter"] == "twomoon" and doc["rows"] == json.loads(path.read_text())["rows"]
    assert set(doc["environment"]) >= {"python", "torch", "device", "threads"}
    assert find_rows(doc, method="um_teacher")[0]["mean"] == 68.0
    assert list(read_all_results(tmp_path)) == ["twomoon"]
    assert [p.name for p in tmp_path.iterdir()] == ["twomoon.json"]  # no temporary file left


def test_invalid_rows_and_files_are_reported(tmp_path):
    with pytest.raises(ValueError, match="lacks"):
        write_results("x", {}, [{"table": "t"}], tmp_path)
    assert not (tmp_path / "x.json").exists()
    with pytest.raises(FileNotFoundError, match="no results for chapter 'nope'"):
        read_results("nope", tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_results("bad", tmp_path)


def test_failed_write_leaves_old_file_intact(tmp_path):
    write_results("c", {}, [result_row("t", "s", "m", "acc", [1.0])], tmp_path)
    before = (tmp_path / "c.json").read_text()
    with pytest.raises(TypeError):
        write_results("c", {}, [result_row("t", "s", "m", "acc", [1.0])], tmp_path, extra={1j: "complex keys are not JSON"})
    assert (tmp_path / "c.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_write_goes_through_a_temporary_file_and_os_replace(tmp_path, monkeypatch):
    # kills the mutant that writes the results file directly: the old file must survive a failed rename
    write_results("c", {}, [result_row("t", "s", "m", "acc", [1.0])], tmp_path)
    before = (tmp_path / "c.json").read_text()
    seen = []

    def failing_replace(src, dst):
        seen.append(json.loads(Path(src).read_text())["rows"][0]["mean"])  # the temp file holds the new document
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        write_results("c", {}, [result_row("t", "s", "m", "acc", [2.0])], tmp_path)
    assert seen == [2.0]
    assert (tmp_path / "c.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def _strict(name):
    raise AssertionError(f"{name} in a results file")


def test_non_finite_numbers_become_null_with_their_reason(tmp_path):
    nan, inf = float("nan"), float("inf")
    rows = [result_row("t", "s", "m", "acc", [1.0, 2.0]),
            result_row("fig6", "recall", "um_teacher", "recall_class_3", [nan, 50.0]),  # a class without samples
            result_row("t", "s", "m", "ratio", [np.float32("inf")], bound=-inf),
            {**result_row("t", "s", "m", "given", [1.0]), "mean": None, "null_reason": "undefined for K=2"}]
    assert math.isnan(rows[1]["mean"]) and math.isnan(rows[1]["values"][0])  # result_row keeps NaN
    path = write_results("c", {"grid": [0.5, nan]}, rows, tmp_path, extra={"counterexample": {"c_products": inf}})
    doc = json.loads(path.read_text(), parse_constant=_strict)  # strict JSON
    assert doc["nulls"] == {"parameters.grid[1]": "NaN", "rows[1].mean": "NaN", "rows[1].std": "NaN",
                            "rows[1].ci95[0]": "NaN", "rows[1].ci95[1]": "NaN", "rows[1].values[0]": "NaN",
                            "rows[2].mean": "inf", "rows[2].ci95[0]": "inf", "rows[2].ci95[1]": "inf",
                            "rows[2].values[0]": "inf", "rows[2].bound": "-inf",
                            "counterexample.c_products": "inf"}
    assert doc["rows"][1]["values"] == [None, 50.0] and doc["counterexample"]["c_products"] is None
    assert doc["rows"][3]["mean"] is None and doc["rows"][3]["null_reason"] == "undefined for K=2"
    assert read_results("c", tmp_path) == doc
    assert doc["claims"] == []
    assert rows[1]["values"][0] != rows[1]["values"][0]  # the caller's rows are not changed


def test_reading_is_strict(tmp_path):
    for const in ("NaN", "Infinity", "-Infinity"):
        (tmp_path / "c.json").write_text('{"rows": [{"mean": %s}]}' % const)
        with pytest.raises(ValueError, match=f"c.json is not strict JSON: it contains {const}"):
            read_results("c", tmp_path)
    (tmp_path / "c.json").write_text('[1, 2]')
    with pytest.raises(ValueError, match="not a results file"):
        read_results("c", tmp_path)


def test_claims_are_stored_and_validated(tmp_path):
    rows = [result_row("t", "s", "m", "acc", [1.0, 2.0])]
    claims = [paired([3.0, 4.0, 5.0], [1.0, 1.5, 2.0], "A beats B", chapter="c"),
              status_row("premise", "assumptions unmet", chapter="c", note="why")]
    path = write_results("c", {}, rows, tmp_path, claims=claims)
    assert json.loads(path.read_text())["claims"] == claims
    good = claims[0]
    for bad, match in [
        ({k: v for k, v in good.items() if k != "ci95"}, r"claims row 0 of 'c' \('A beats B'\) has the test verdict 'holds' but lacks \['ci95'\]"),
        ({k: v for k, v in good.items() if k != "verdict"}, r"claims row 0 of 'c' \('A beats B'\) lacks \['verdict'\]"),
        ({**good, "verdict": True}, "verdict must be one of"),
        ({**good, "verdict": "True"}, "verdict must be one of"),
        ({**good, "ci95": None}, "ci95 must be"),
        ({**good, "claim": ""}, "has no claim text"),
        ("holds", "is not a dict"),
    ]:
        with pytest.raises(ValueError, match=match):
            write_results("c", {}, rows, tmp_path, claims=[bad])
    with pytest.raises(ValueError, match="claims row 1 .* appears twice"):
        write_results("c", {}, rows, tmp_path, claims=[good, good])
    with pytest.raises(ValueError, match="may not set"):
        write_results("c", {}, rows, tmp_path, extra={"claims": []})
    assert json.loads(path.read_text())["claims"] == claims  # the failed writes left the file alone


def test_results_dir_override(tmp_path, monkeypatch):
    repo, override = tmp_path / "repo", tmp_path / "override"
    write_results("a", {}, [result_row("t", "s", "m", "acc", [1.0])], repo)
    write_results("b", {}, [result_row("t", "s", "m", "acc", [2.0])], repo)
    assert resolve_results_dir(repo) == repo
    monkeypatch.setenv("MKE_RESULTS_DIR", "")
    assert resolve_results_dir(repo) == repo  # empty: no override
    monkeypatch.setenv("MKE_RESULTS_DIR", str(override))
    assert resolve_results_dir(repo) == override
    path = write_results("a", {}, [result_row("t", "s", "m", "acc", [3.0])], repo)
    assert path == override / "a.json"
    assert read_results("a", repo)["rows"][0]["mean"] == 3.0  # fresh from the override
    assert read_results("b", repo)["rows"][0]["mean"] == 2.0  # committed otherwise
    assert json.loads((repo / "a.json").read_text())["rows"][0]["mean"] == 1.0  # the repository is untouched
    assert {c: d["rows"][0]["mean"] for c, d in read_all_results(repo).items()} == {"a": 3.0, "b": 2.0}


def test_paper_tables_are_packaged():
    t = paper_tables()
    assert t["table1_twomoon_test_acc"]["um_teacher"] == 68.0
    assert tm.paper_value("T1 v0=2", "mm_student") == 83.15
    assert tm.paper_value("T3 r0=0.4", "um_student") == 68.40


GOOD = dict(profile="book", n_seeds=None, device="cpu", paper_compat=False, moon_noise=0.1, n_labeled=30,
            results_dir="results", threads=2)


@pytest.mark.parametrize("name, value, match", [
    ("profile", "fast", "'profile' must be one of"),
    ("n_seeds", 1, "'n_seeds' must lie in"),
    ("n_seeds", 2.5, "'n_seeds' must be an integer"),
    ("device", "tpu", "'device' must be one of"),
    ("paper_compat", "yes", "'paper_compat' must be True or False"),
    ("moon_noise", -0.1, "'moon_noise' must lie in"),
    ("n_labeled", 300, "'n_labeled' must lie in"),
    ("results_dir", "", "'results_dir' must be a folder path"),
    ("threads", 0, "'threads' must lie in"),
])
def test_chapter_parameters_are_validated(name, value, match):
    tm.validate_parameters(**GOOD)
    with pytest.raises(ValueError, match=match):
        tm.validate_parameters(**{**GOOD, name: value})


def test_check_dir(tmp_path):
    assert check_dir("data_root", tmp_path) == tmp_path
    with pytest.raises(ValueError, match="'data_root': folder .* does not exist"):
        check_dir("data_root", tmp_path / "missing")
    (tmp_path / "f").write_text("")
    with pytest.raises(ValueError, match="not a folder"):
        check_dir("data_root", tmp_path / "f", must_exist=False)
