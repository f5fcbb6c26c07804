"""mke.results pinned detail by detail: rounding and bounds of result rows, the exact text of a results
file, its temporary file, strict-JSON conversion of NumPy values and odd keys, and the error messages
(issue 10: the mutants that survived tests/test_results_params.py)."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import mke
from mke.results import (atomic_write_text, load_results_file, read_results, result_row, strict_json_values,
                         write_results)


@pytest.fixture(autouse=True)
def _no_results_override(monkeypatch):
    """These tests say where results go; the suite's MKE_RESULTS_DIR (if set) is for the notebooks."""
    monkeypatch.delenv("MKE_RESULTS_DIR", raising=False)


def _row(mean=1.0):
    return result_row("t", "s", "m", "acc", [mean])


# --- result_row ---------------------------------------------------------------------------------

def test_result_row_rounds_every_statistic_to_4_decimals():
    """mean, std, ci95 and values each keep 4 decimals (5 would print other numbers in the book)."""
    row = result_row("t", "s", "m", "acc", [1.234567, 2.345678, 3.456789])
    assert row == {"table": "t", "setting": "s", "method": "m", "metric": "acc", "mean": 2.3457, "std": 1.1111,
                   "n_seeds": 3, "ci95": [-0.4145, 5.1058], "values": [1.2346, 2.3457, 3.4568]}


def test_result_row_with_bounds_records_them_and_the_interval_kind():
    """bounds go to summarize (an interval leaving [0, 100] becomes the bootstrap one, inside it) and the row
    records them as floats, with the interval's kind; without bounds neither key is there."""
    row = result_row("t", "s", "m", "acc", [99.0, 100.0, 100.0], bounds=(0, 100))
    assert row == {"table": "t", "setting": "s", "method": "m", "metric": "acc", "mean": 99.6667, "std": 0.5774,
                   "n_seeds": 3, "ci95": [99.0, 100.0], "values": [99.0, 100.0, 100.0],
                   "bounds": [0.0, 100.0], "interval": "bootstrap"}
    assert all(type(b) is float for b in row["bounds"])
    inside = result_row("t", "s", "m", "acc", [50.0, 60.0, 70.0], bounds=[0, 100], seeds=[1, 2, 3])
    assert (inside["bounds"], inside["interval"], inside["ci95"], inside["seeds"]) == ([0.0, 100.0], "t",
                                                                                       [35.1586, 84.8414], [1, 2, 3])
    assert "bounds" not in _row() and "interval" not in _row()
    assert result_row("t", "s", "m", "acc", [99.0, 100.0, 100.0])["ci95"] == [98.2324, 101.1009]  # no bounds: t


def test_result_row_silences_invalid_float_operations():
    """An infinite value makes std NaN through inf - inf; result_row keeps that NaN quietly (the writer nulls
    it), whatever the caller's NumPy error state: it sets invalid='ignore' itself."""
    with np.errstate(invalid="raise"):
        row = result_row("t", "s", "m", "ratio", [float("inf"), 1.0])
    assert row["mean"] == float("inf") and row["values"] == [float("inf"), 1.0] and row["n_seeds"] == 2
    assert np.isnan(row["std"]) and np.isnan(row["ci95"]).all()


# --- atomic_write_text --------------------------------------------------------------------------

def test_atomic_write_creates_missing_parent_folders(tmp_path):
    """The results folder and its parents are made as needed (a fresh MKE_RESULTS_DIR may not exist yet)."""
    path = tmp_path / "a" / "b" / "c.json"
    atomic_write_text(path, "{}\n")
    assert path.read_text() == "{}\n"
    assert write_results("c", {}, [_row()], tmp_path / "x" / "y") == tmp_path / "x" / "y" / "c.json"
    assert [p.name for p in (tmp_path / "a" / "b").iterdir()] == ["c.json"]


def test_atomic_write_temporary_is_a_hidden_tmp_file_beside_the_target(tmp_path, monkeypatch):
    """The temporary is '.<name>.<random>.tmp' in the target's folder: same file system, so os.replace is an
    atomic rename; hidden and not '*.json', so read_all_results never takes a half-written one for a chapter."""
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src), Path(dst), Path(src).read_text()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    atomic_write_text(tmp_path / "c.json", "new\n")
    [(src, dst, text)] = seen
    assert (src.parent, dst, text) == (tmp_path, tmp_path / "c.json", "new\n")
    assert src.name.startswith(".c.json.") and src.name.endswith(".tmp") and len(src.name) > len(".c.json..tmp")
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


# --- strict_json_values and key paths -----------------------------------------------------------

def test_numpy_values_become_plain_numbers_and_lists():
    """Arrays become (nested) lists and NumPy scalars plain Python numbers, non-finite entries nulled by path."""
    nulls = {}
    out = strict_json_values({"grid": np.array([[0.5, np.inf], [-np.inf, np.nan]]), "lr": np.float32(0.25),
                              "k": np.int64(3), "flag": np.bool_(True), "x": np.float64(np.nan)}, nulls)
    assert out == {"grid": [[0.5, None], [None, None]], "lr": 0.25, "k": 3, "flag": True, "x": None}
    assert (type(out["lr"]), type(out["k"]), type(out["flag"])) == (float, int, bool)
    assert nulls == {"grid[0][1]": "inf", "grid[1][0]": "-inf", "grid[1][1]": "NaN", "x": "NaN"}


def test_keys_that_are_not_identifiers_are_quoted_in_null_paths():
    """A key like 'T1 v0=2' (or 3) is written ["T1 v0=2"] in the path, JSON-quoted, at the top and below."""
    nulls = {}
    strict_json_values({"a b": float("nan"), 3: {"T1 v0=2": float("inf"), "ok": [float("-inf")]}}, nulls)
    assert nulls == {'["a b"]': "NaN", '["3"]["T1 v0=2"]': "inf", '["3"].ok[0]': "-inf"}


def test_numpy_parameters_are_written(tmp_path):
    """A chapter's parameters may hold NumPy values: the file holds their plain values, nulls by path."""
    path = write_results("c", {"grid": np.array([0.5, np.nan]), "lr": np.float32(0.25), "seeds": np.int64(3),
                               "T1 v0=2": float("nan")}, [_row()], tmp_path)
    doc = json.loads(path.read_text())
    assert doc["parameters"] == {"grid": [0.5, None], "lr": 0.25, "seeds": 3, "T1 v0=2": None}
    assert doc["nulls"] == {"parameters.grid[1]": "NaN", 'parameters["T1 v0=2"]': "NaN"}


# --- write_results: the exact file --------------------------------------------------------------

def test_results_file_text_is_indented_by_one_space_in_insertion_order(tmp_path):
    """The file is json.dumps(indent=1), keys in the order written (not sorted), ending in a newline, with
    the package version under 'mke_version'."""
    path = write_results("c", {"b": 1, "a": 2}, [_row()], tmp_path, extra={"aside": "z"})
    text = path.read_text()
    assert text.startswith('{\n "chapter": "c",\n "mke_version": %s,\n "parameters": {\n  "b": 1,\n  "a": 2\n },\n'
                           ' "environment": {\n  "python": ' % json.dumps(mke.__version__))
    assert text.endswith('\n "claims": [],\n "aside": "z",\n "nulls": {}\n}\n')
    doc = json.loads(text)
    assert json.dumps(doc, indent=1) + "\n" == text
    assert list(doc) == ["chapter", "mke_version", "parameters", "environment", "rows", "claims", "aside", "nulls"]
    assert list(doc["rows"][0]) == ["table", "setting", "method", "metric", "mean", "std", "n_seeds", "ci95",
                                    "values"]
    assert doc["mke_version"] == mke.__version__ == doc["environment"]["mke"]
    assert '  {\n   "table": "t",\n' in text  # a row: two levels in, one space more each


def test_values_json_cannot_hold_are_written_as_their_text(tmp_path):
    """Anything json cannot encode (a Path, a set) is written as str(value), not refused."""
    path = write_results("c", {"data_root": Path("data") / "nyu", "tags": {"a"}}, [_row()], tmp_path)
    assert json.loads(path.read_text())["parameters"] == {"data_root": str(Path("data") / "nyu"), "tags": "{'a'}"}


def test_non_finite_dict_key_is_refused_and_old_file_kept(tmp_path):
    """A NaN or inf used as a key cannot be nulled; json.dumps(allow_nan=False) refuses it rather than writing a
    'NaN'/'Infinity' key, and the file already there stays as it was, with no temporary left."""
    before = write_results("c", {}, [_row()], tmp_path).read_text()
    for key in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            write_results("c", {"by_noise": {key: 1.0}}, [_row(2.0)], tmp_path)
    assert (tmp_path / "c.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


class _Key:
    """A key equal to a string (hash and ==) without an order of its own."""

    def __init__(self, s):
        self.s = s

    def __eq__(self, other):
        return other == self.s if isinstance(other, str) else isinstance(other, _Key) and other.s == self.s

    def __hash__(self):
        return hash(self.s)

    def __str__(self):
        return self.s

    def __repr__(self):
        return f"_Key({self.s!r})"


def test_reserved_extra_keys_are_listed_in_text_order_whatever_their_type(tmp_path):
    """The clash message lists the reserved keys extra tries to set, ordered by their text (sorted(key=str)),
    so keys that are not str still give that ValueError, not a TypeError from comparing them."""
    with pytest.raises(ValueError, match=r"^extra of 'c' may not set \['chapter', 'nulls', 'rows'\]: write_results"):
        write_results("c", {}, [_row()], tmp_path, extra={"rows": 1, "nulls": 2, "chapter": 3, "fine": 4})
    with pytest.raises(ValueError, match=r"may not set \[_Key\('chapter'\), _Key\('rows'\)\]: write_results sets"):
        write_results("c", {}, [_row()], tmp_path, extra={_Key("rows"): 1, _Key("chapter"): 2})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("claims, kind", [({"claim": "A", "verdict": "holds"}, "dict"), ("holds", "str"), (3, "int")])
def test_claims_that_are_not_a_list_are_refused_by_name(tmp_path, claims, kind):
    """claims must be a list (or tuple) of rows; the message names the chapter and the type given."""
    with pytest.raises(ValueError, match=rf"^claims of 'c' must be a list of rows from mke.verdicts, got {kind}$"):
        write_results("c", {}, [_row()], tmp_path, claims=claims)
    assert list(tmp_path.iterdir()) == []


# --- load_results_file --------------------------------------------------------------------------

def test_a_json_object_without_rows_is_not_a_results_file(tmp_path):
    """Valid strict JSON is not enough: a dict without 'rows' (or a list holding "rows") is refused."""
    for text in ('{"chapter": "c", "claims": []}', '["rows"]', '"rows"'):
        (tmp_path / "c.json").write_text(text)
        with pytest.raises(ValueError, match=r"c\.json has no 'rows'; it is not a results file$"):
            load_results_file(tmp_path / "c.json")
        with pytest.raises(ValueError, match="has no 'rows'"):
            read_results("c", tmp_path)
    (tmp_path / "c.json").write_text('{"rows": []}')
    assert load_results_file(str(tmp_path / "c.json")) == {"rows": []}
