"""The presentation helpers: captioned HTML tables that repeat exactly, collapsed code cells,
intervals that stay inside a metric's range."""
import nbformat
import numpy as np
import pandas as pd
import pytest

from mke import report
from mke.metrics import summarize
from mke.results import result_row


def test_table_has_its_caption_and_repeats_exactly():
    df = pd.DataFrame({"method": ["a", "b"], "acc": [1.234, 5.678]})
    html = report.table(df, "Table X: accuracies", precision=1).to_html()
    assert "<caption>Table X: accuracies</caption>" in html and "1.2" in html and "5.7" in html
    assert report.table(df, "Table X: accuracies", precision=1).to_html() == html  # no random ids: nbval can check it
    assert ">0<" not in html  # the index is hidden unless asked for
    with pytest.raises(ValueError, match="caption"):
        report.table(df, "  ")
    with pytest.raises(TypeError, match="DataFrame"):
        report.table([1, 2], "a list")


def test_present_collapses_code_but_not_the_parameters():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# title"),
                nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]}),
                nbformat.v4.new_code_cell("print(x)", metadata={"tags": ["nbval-check-output"]}),
                nbformat.v4.new_code_cell("y = x")]
    assert report.present(nb)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags == [[], ["parameters"], ["injected-parameters"], ["nbval-check-output", "hide-input"], ["hide-input"]]
    assert not report.present(nb)  # idempotent


def test_present_file_rewrites_only_when_needed(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nb, str(path))
    assert report.present_file(path)
    assert nbformat.read(str(path), as_version=4).cells[0].metadata["tags"] == ["hide-input"]
    assert not report.present_file(path)


def test_every_executed_chapter_hides_its_code():
    from pathlib import Path

    for path in sorted((Path(__file__).resolve().parents[1] / "executed").glob("[!.]*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                tags = cell.metadata.get("tags", [])
                assert "hide-input" in tags or set(tags) & set(report.VISIBLE_TAGS), (path.name, cell.source[:60])


def test_an_accuracy_interval_stays_in_its_range():
    v = [100.0, 100.0, 98.0, 99.0, 96.0]
    t = summarize(v)
    assert t["ci95"][1] > 100 and t["interval"] == "t"  # Student's t leaves [0, 100] here
    b = summarize(v, bounds=(0, 100))
    assert b["interval"] == "bootstrap" and 96 <= b["ci95"][0] <= b["ci95"][1] <= 100
    assert b["mean"] == t["mean"] and b["std"] == t["std"]
    inside = summarize([50.0, 52.0, 51.0], bounds=(0, 100))
    assert inside["interval"] == "t" and inside["ci95"] == summarize([50.0, 52.0, 51.0])["ci95"]
    assert summarize(v, bounds=(0, 100)) == b  # seeded: the same interval every time
    row = result_row("t", "s", "m", "acc", v, bounds=(0, 100))
    assert row["ci95"][1] <= 100 and row["bounds"] == [0.0, 100.0] and row["interval"] == "bootstrap"
    assert "bounds" not in result_row("t", "s", "m", "acc", v)


def test_recall_of_a_small_class_keeps_its_interval_in_range():
    rec = np.array([100.0, 85.7, 100.0, 71.4, 100.0])  # 7 test clips: steps of 14.3 points
    row = result_row("figure6_recall", "neutral", "mm_student", "test_recall", rec, bounds=(0, 100))
    assert row["interval"] == "bootstrap" and summarize(rec)["ci95"][1] > 100  # t would have left [0, 100]
    assert min(rec) <= row["ci95"][0] <= row["ci95"][1] <= 100
