import json

import pytest

from mke.experiments import twomoon as tm
from mke.params import check_dir
from mke.results import find_rows, paper_tables, read_all_results, read_results, result_row, write_results


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
