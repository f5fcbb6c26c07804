"""bench/mutation_report.py on a hand-made mutmut result: scores per module, equivalents that
still name their mutation, and explanations left behind when mutmut renumbers a function's mutants."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("mutation_report", Path(__file__).parents[1] / "bench" / "mutation_report.py")
report = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(report)

MODULE = '''
def x_f__mutmut_orig(a, b=1):
    c = a + b
    return c * 2


def x_f__mutmut_1(a, b=1):
    c = a - b
    return c * 2


def x_f__mutmut_2(a, b=2):
    c = a + b
    return c * 2


def x_f__mutmut_3(a, b=1):
    c = a + b
    return c * 3
'''


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    (tmp_path / "mutants" / "mke").mkdir(parents=True)
    (tmp_path / "bench").mkdir()
    (tmp_path / "mutants" / "mke" / "m.py").write_text(MODULE)
    monkeypatch.setattr(report, "ROOT", tmp_path)
    monkeypatch.setattr(report, "EQUIVALENTS", tmp_path / "bench" / "mutation_equivalents.json")
    report._functions.cache_clear()

    def go(codes, equivalents, *argv):
        (tmp_path / "mutants" / "mke" / "m.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
        report.EQUIVALENTS.write_text(json.dumps(equivalents))
        monkeypatch.setattr(sys, "argv", ["mutation_report.py", *argv])
        rc = report.main()
        return rc, capsys.readouterr().out

    return go


def test_mutation_names_the_changed_lines_and_a_changed_signature(run):
    run({}, {})  # writes the module
    assert report.mutation("mke.m.x_f__mutmut_1") == "- c = a + b | + c = a - b"
    assert report.mutation("mke.m.x_f__mutmut_2") == "def (a, b=2):"
    assert report.mutation("mke.m.x_f__mutmut_3") == "- return c * 2 | + return c * 3"
    assert report.mutation("mke.m.x_f__mutmut_9") == "?"


def test_scores_count_explained_equivalents_as_neither_killed_nor_total(run):
    names = [f"mke.m.x_f__mutmut_{i}" for i in (1, 2, 3)]
    why = {names[2]: {"mutation": "- return c * 2 | + return c * 3", "why": "c is never read"}}
    rc, out = run({names[0]: 1, names[1]: 1, names[2]: 0}, why)
    assert rc == 0
    assert "mke/m.py                           2      2  100.0%  {}" in out
    assert "0 mutants neither killed nor explained" in out
    rc, out = run({names[0]: 1, names[1]: 0, names[2]: 0}, why)
    assert rc == 1  # 1 of 2 killed: below 85 %
    assert "1      2   50.0%  {'survived': 1}  < 85 %" in out and "\n   mke.m.x_f__mutmut_2" in out


def test_an_explanation_written_for_another_mutation_does_not_count(run):
    """After a renumbering, mutant 3's old explanation (written for 'a - b') no longer fits it."""
    names = [f"mke.m.x_f__mutmut_{i}" for i in (1, 2, 3)]
    old = {names[2]: {"mutation": "- c = a + b | + c = a - b", "why": "written for the old mutant 3"},
           names[0]: {"mutation": "- c = a + b | + c = a - b", "why": "explained, but now killed"}}
    rc, out = run({names[0]: 1, names[1]: 1, names[2]: 0}, old, "--diffs")
    assert rc == 1
    assert "mke.m.x_f__mutmut_3 (its explanation was written for another mutation)" in out
    assert "now: - return c * 2 | + return c * 3" in out and "was: - c = a + b | + c = a - b" in out
    assert "1 explanations name mutants that no longer survive (remove them): mke.m.x_f__mutmut_1 (killed)" in out


def test_record_stores_the_mutation_beside_the_reason(run):
    run({"mke.m.x_f__mutmut_3": 0}, {"_about": "kept"})
    rc, out = run({"mke.m.x_f__mutmut_3": 0}, {"_about": "kept"}, "--record", "mke.m.x_f__mutmut_3", "c is never read")
    data = json.loads(report.EQUIVALENTS.read_text())
    assert rc == 0 and data["_about"] == "kept"
    assert data["mke.m.x_f__mutmut_3"] == {"mutation": "- return c * 2 | + return c * 3", "why": "c is never read"}
