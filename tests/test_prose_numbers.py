"""Every number a chapter's prose states comes from a computation: the markdown of `book/`
glues measured numbers (myst-nb ``{glue:text}``) instead of typing them.

A decimal or a percentage typed in a markdown cell must be one of: a number the paper printed
(``mke/paper_tables.json``), or a fixed fact of the method or data listed below with its reason
(a hyper-parameter, a dataset's size, a mathematical constant). Anything else fails: measured
numbers are glued.
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ("intro", "twomoon", "emotion", "theory", "claims", "segmentation")

# number -> why it may be typed (facts, not measurements); COMMON holds for every chapter
COMMON = {"95 %": "the confidence level of every interval"}
ALLOWED = {
    "twomoon": {"0.1": "make_moons noise", "0.01": "the authors' SGD learning rate", "0.313": "log(1 + e^-1), math",
                "81.00": "the paper's Figure 3 (Section 3.2 text)", "68.00": "the paper's teacher (Figure 3)"},
    "emotion": {"0.5": "the paper's dropout rate", "0.3": "the book profile's dropout rate", "0.1": "NOISY input noise",
                "80 %": "the paper's teacher regime (its Table 2)", "20 %": "the paper's D_l share",
                "80 %.": "the paper's D_u share", "2.1": "supplementary Section 2.1 (a reference)",
                "0.6": "the stand-in's normal intensity (a knob)", "100 %": "the ceiling of an accuracy"},
    "theory": {"0.01": "the grid step of the boundary search"},
    # the stand-in's rendering rules (mke.data.nyuv2_standin) and the paper's scaling range
    "segmentation": {"0.5": "the paper's lowest scale and the colour-overlap knob", "1.75": "the paper's highest scale",
                     "0.45": "a bed's top (stand-in prior, m)", "0.6": "a bed's top (stand-in prior, m) and the pattern knob",
                     "0.7": "a table's top (stand-in prior, m)",
                     "0.78": "a table's top (stand-in prior, m)", "1.45": "upper cabinets (stand-in prior, m)",
                     "1.0": "camera height (stand-in prior, m)", "1.6": "camera height (stand-in prior, m)",
                     "1.2": "Kinect noise model (mm)", "1.9": "Kinect noise model (mm)",
                     "0.4": "Kinect noise model (m)", "0.3": "the stand-in's lowest exposure gain (a knob)",
                     "2.0": "the stand-in's highest exposure gain (a knob)",
                     "25 %": "the stand-in's white-balance spread per channel (a knob)"},
}

MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
CODE = re.compile(r"\{glue:\w+\}`[^`]*`|``[^`]*``|`[^`]*`")
REFERENCE = re.compile(r"\b(Sections?|supplementary|Assumption|Eq\.|Eqs\.|Tables?|Figures?|Python|torch|"
                       r"jupyter-book|Jupyter Book)\s*\(?\d+(\.\d+)*[a-z]?", re.I)
NUMBER = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])(\s?%)?|(?<![\w.])\d+\s?%")


def _paper_numbers() -> set[str]:
    out = set()

    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out.update({f"{x:.2f}", f"{x:g}", f"{x:.1f}"})

    walk(json.loads((ROOT / "mke" / "paper_tables.json").read_text()))
    return out


def markdown_cells(source: Path) -> list[str]:
    """The markdown cells of a jupytext percent file, comment markers removed."""
    cells, current = [], None
    for line in source.read_text().splitlines():
        if line.startswith("# %%"):
            if current is not None:
                cells.append("\n".join(current))
            current = [] if "[markdown]" in line else None
        elif current is not None:
            current.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    if current is not None:
        cells.append("\n".join(current))
    return cells


def typed_numbers(text: str) -> list[str]:
    for pattern in (MATH, CODE, REFERENCE):
        text = pattern.sub(" ", text)
    return [m.group(0).replace(" ", " ").strip() for m in NUMBER.finditer(text)]


def test_the_scanner_finds_a_typed_measurement_and_skips_math_glue_and_references():
    text = ("The student scores 81.25 % ({glue:text}`acc` %), see Table 2 and Section 4.2; "
            "$\\mu = 0.5$ and `lr=0.01`.")
    assert typed_numbers(text) == ["81.25 %"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_prose_numbers_are_glued(chapter):
    paper = _paper_numbers()
    allowed = {**COMMON, **ALLOWED.get(chapter, {})}
    offenders = []
    for cell in markdown_cells(ROOT / "book" / f"{chapter}.py"):
        for number in typed_numbers(cell):
            bare = number.rstrip(" %").strip()
            if bare in paper or number in allowed or bare in allowed:
                continue
            offenders.append(number)
    assert not offenders, (f"book/{chapter}.py states numbers in prose that are neither glued nor the paper's "
                           f"nor listed as facts in tests/test_prose_numbers.py: {offenders}")


GLUED = re.compile(r"\{glue:\w+\}`([^`]+)`")
GLUE_CALL = re.compile(r"""glue\(\s*(?:f?)["']([^"']+)["']""")


@pytest.mark.parametrize("source", sorted((ROOT / "book").glob("*.py")), ids=lambda p: p.stem)
def test_every_glued_name_is_glued_by_its_chapter(source):
    """A ``{glue:text}`name``` in the prose needs a ``glue("name", ...)`` in a code cell of the same chapter."""
    text = source.read_text()
    used = set(GLUED.findall("\n".join(markdown_cells(source))))
    made = set(GLUE_CALL.findall(text)) | {m for m in re.findall(r'glue\(f"([^"{]+)\{', text)}
    loose = [n for n in used if n not in made and not any(n.startswith(p) for p in made if p.endswith("_"))]
    assert not loose, f"book/{source.name} uses glue names it never glues: {sorted(loose)}"
