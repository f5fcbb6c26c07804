"""The book: it builds with no warning, offline, and its pages render math and figures in a browser."""
import html
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from mke.book import chapter_parameters, chapters, parse_value, project_root

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """A fresh strict build (warnings are errors) of what executed/ holds now."""
    out = tmp_path_factory.mktemp("book")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(ROOT),
           "--path-output", str(out), "-W", "--keep-going"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out / "_build" / "html"


def test_every_chapter_is_in_the_toc():
    toc = (ROOT / "_toc.yml").read_text()
    for name in chapters(ROOT):
        assert f"executed/{name}" in toc, name


def test_parameters_are_read_from_the_chapter():
    params = chapter_parameters(ROOT / "book" / "twomoon.py")
    assert {"profile", "n_seeds", "device", "paper_compat", "moon_noise", "n_labeled", "results_dir"} <= set(params)
    assert parse_value("20") == 20 and parse_value("True") is True and parse_value("cuda") == "cuda"
    assert project_root(ROOT / "tests") == ROOT


def test_math_is_bundled_not_fetched(built_book):
    page = (built_book / "executed" / "twomoon.html").read_text()
    src = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', page, flags=re.I)
    assert src and all(not s.startswith(("http:", "https:", "//")) for s in src), src
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


# pages finished as publications (issue: the book as a publication): every table and figure
# captioned, no output wider than the text column
PUBLISHED = ("executed/intro.html", "executed/twomoon.html", "executed/emotion.html", "executed/theory.html",
             "executed/segmentation.html",
             "executed/claims.html")
MAX_TEXT_LINE = 110  # characters of printed output a text column holds without a scroll bar


def printed_outputs(page_html: str) -> list[str]:
    """The text of every printed cell output (stdout, text/plain) of a built page."""
    blocks = re.findall(r'<div class="output (?:stream|text_plain)[^"]*"[^>]*>.*?<pre[^>]*>(.*?)</pre>', page_html,
                        flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", b)) for b in blocks]


def test_printed_outputs_finds_a_long_line():
    # as Chromium's DOM has it (attributes after the class)
    page = ('<div class="output stream highlight-myst-ansi notranslate" tabindex="-1"><div class="highlight">'
            '<pre id="codecell2" tabindex="0"><span></span>' + "x" * 150 + '\nshort</pre></div></div>')
    assert [len(line) for text in printed_outputs(page) for line in text.splitlines()] == [150, 5]


def test_every_claim_links_to_a_section_of_its_chapter(built_book, monkeypatch):
    """The Claims page links each claim to the section that tests it: that id must exist."""
    from mke.results import RESULTS_DIR_ENV, read_all_results

    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    missing = []
    for chapter, doc in read_all_results(ROOT / "executed" / "results").items():
        page = (built_book / "executed" / f"{chapter}.html").read_text()
        ids = set(re.findall(r'id="([^"]+)"', page))
        missing += [(chapter, c["section"]) for c in doc.get("claims", []) if c.get("section")
                    and c["section"] not in ids]
    assert not missing, f"claims whose section is not an id of the chapter page: {sorted(set(missing))}"


@pytest.mark.parametrize("page, min_figures", [("executed/twomoon.html", 3), ("executed/emotion.html", 4),
                                                 ("executed/segmentation.html", 4), ("executed/events.html", 3),
                                                 ("executed/intro.html", 1), ("executed/theory.html", 2),
                                                 ("executed/claims.html", 0)])
def test_page_renders_math_and_figures_in_chromium(built_book, page, min_figures, tmp_path):
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing in CI (CI=true): .ci/run must install it")
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    proc = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path}", "--virtual-time-budget=15000",
                           "--dump-dom", (built_book / page).as_uri()], capture_output=True, text=True, timeout=120)
    dom = proc.stdout
    assert "<body" in dom, proc.stderr[-2000:]
    if not page.endswith("claims.html"):  # the Claims page is a table, with no formula
        assert dom.count("<mjx-container") > 0, "MathJax typeset no formula"
    visible = re.sub(r"<(script|style|mjx-assistive-mml|noscript)[^>]*>.*?</\1>", " ", dom, flags=re.S | re.I)
    visible = html.unescape(re.sub(r"<[^>]+>", " ", visible))
    leftovers = [t for t in (r"\frac", r"\mathcal", r"\theta", "$$", r"\arg") if t in visible]
    assert not leftovers, f"raw TeX left in the visible text: {leftovers}"
    images = re.findall(r'<img[^>]*src="([^"]+\.png)"', dom)
    assert len(images) >= min_figures
    for src in images:
        w, h = _png_size((built_book / page).parent / src)
        assert w > 200 and h > 200
    markers = re.findall(r"NBVAL_\w+|nbval-(?:check-output|ignore-output|skip)", visible, flags=re.I)
    assert not markers, f"nbval markers visible to the reader: {markers}"
    cells = re.findall(r'<div class="cell( [^"]*)"', dom)
    shown = [c for c in cells if not re.search(r"tag_(hide-input|parameters|injected-parameters)\b", c)]
    assert not shown, f"code cells not collapsed: {shown}"
    if page in PUBLISHED:
        tables = re.findall(r"<table\b.*?</table>", dom, flags=re.S)
        uncaptioned = [t[:200] for t in tables if "<caption" not in t]
        assert not uncaptioned, f"tables without a caption: {uncaptioned}"
        assert dom.count("<figcaption") >= len(images), "a figure has no caption"
        outputs = printed_outputs(dom)
        wide = [line for text in outputs for line in text.splitlines() if len(line) > MAX_TEXT_LINE]
        assert not wide, f"printed output wider than the text column: {wide[:3]}"


def test_readme_results_come_from_the_results_files(monkeypatch):
    from mke.summary import README_END, README_START, headline_markdown

    monkeypatch.delenv("MKE_RESULTS_DIR", raising=False)  # the committed results, not a re-execution's
    from mke.summary import RULE_END, RULE_START, readme_rule

    rule = (ROOT / "README.md").read_text().split(RULE_START, 1)[1].split(RULE_END, 1)[0].strip()
    assert rule == readme_rule().strip(), "README's regression rule is stale: run `python -m mke readme`"
    text = (ROOT / "README.md").read_text()
    section = text.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    assert section == headline_markdown(ROOT / "executed" / "results"), \
        "README's results section is stale: run `python -m mke readme`"


def test_bad_parameter_stops_the_chapter_before_any_work(tmp_path):
    """Through papermill, as a user would run it: the error names the parameter."""
    import papermill

    from mke.book import execute_chapter

    root = tmp_path / "proj"
    (root / "book").mkdir(parents=True)
    shutil.copy(ROOT / "book" / "twomoon.py", root / "book" / "twomoon.py")
    (root / "_toc.yml").write_text("")
    with pytest.raises(papermill.PapermillExecutionError, match="'profile' must be one of"):
        execute_chapter(root, "twomoon", {"profile": "fastest"}, progress=False)
    assert not (root / "executed" / "twomoon.ipynb").exists()  # nothing half-written
    assert not [p for p in (root / "executed").iterdir() if p.name.startswith(".")]


def test_nothing_points_outside_the_repository():
    """Users' clones have only this repository: no file may refer to the founders' design notes
    or shared folder (the design lives in docs/design.md)."""
    needles = ("DESIGN" + ".md", "../" + "shared")
    offenders = []
    for folder in ("mke", "theory", "book", "tests", "docs", "bench", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".md", ".cfg", ".json", ".yml", "") and "__pycache__" not in str(path):
                text = path.read_text(errors="ignore")
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in needles if n in text]
    for name in ("README.md", "Makefile", "pyproject.toml", "_config.yml", "_toc.yml", "conftest.py"):
        text = (ROOT / name).read_text()
        offenders += [f"{name}: {n}" for n in needles if n in text]
    assert not offenders, offenders
    assert (ROOT / "docs" / "design.md").exists() and "docs/design" in (ROOT / "_toc.yml").read_text()


def test_readme_table_escapes_pipes_inside_cells(monkeypatch):
    """A setting such as '|D_u|=1488' must not split its Markdown cell."""
    import re

    import pandas as pd

    from mke import summary

    frame = pd.DataFrame([{"chapter": "segmentation", "table": "Table 3", "setting": "|D_u|=1488",
                           "method": "mm_student", "ours": "1.00 ± 0.10", "paper": "48.88"}])
    monkeypatch.setattr(summary, "headline_frame", lambda results_dir: frame)
    line = summary.headline_markdown("unused").splitlines()[-1]
    assert "\\|D_u\\|=1488" in line
    assert len(re.findall(r"(?<!\\)\|", line)) == 7  # six cells, seven unescaped separators


def test_headline_rows_keep_the_digits_their_chapter_asks_for(tmp_path, monkeypatch):
    """mAP lives in [0, 1]: its rows ask for three decimals (0.345, not 0.34 or 0.35)."""
    from mke import summary
    from mke.results import RESULTS_DIR_ENV, result_row, write_results

    # under `pytest --nbval` the fresh-results folder is in the environment: write here, not there
    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)

    rows = [result_row("table4", "test", "um_teacher", "test_map", [0.4431, 0.4422, 0.4419], paper=0.345,
                       headline=True, digits=3),
            result_row("table3", "x", "mm_student", "test_miou", [23.411, 23.0, 24.0], paper=48.88, headline=True)]
    write_results("ch", {"n_seeds": 3}, rows, tmp_path, "cpu")
    frame = summary.headline_frame(tmp_path)
    assert frame["ours"].tolist() == ["0.442 ± 0.001", "23.47 ± 0.50"]
    assert frame["paper"].tolist() == ["0.345", "48.88"]


def test_headline_rows_of_a_stand_in_run_say_so(tmp_path, monkeypatch):
    """A number from generated data never stands beside the paper's unlabelled."""
    from mke import summary
    from mke.results import RESULTS_DIR_ENV, result_row, write_results

    monkeypatch.delenv(RESULTS_DIR_ENV, raising=False)
    row = [result_row("table2", "x", "mm_student", "test_acc", [80.0, 82.0], paper=91.38, headline=True)]
    write_results("gen", {"n_seeds": 2, "source": "stand-in"}, row, tmp_path, "cpu")
    write_results("real", {"n_seeds": 2, "source": "RAVDESS"}, row, tmp_path, "cpu")
    frame = summary.headline_frame(tmp_path)
    assert sorted(frame["chapter"]) == ["gen (stand-in)", "real"]
