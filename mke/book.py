"""The chapter runner: jupytext -> papermill -> ``executed/``, then Jupyter Book -> ``_build/html``.

``python -m mke run`` executes every chapter (the intro last, since it reads the others'
results) and builds the book; ``python -m mke run twomoon -p n_seeds 20`` re-runs one chapter
with papermill parameters; ``python -m mke build`` only builds the book.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mke.report import present_file

INTRO = "intro"


def project_root(start: Path | None = None) -> Path:
    """The folder holding ``_toc.yml`` and ``book/``: from ``start`` (default: cwd) upwards."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_toc.yml").exists() and (folder / "book").is_dir():
            return folder
    raise FileNotFoundError(f"no MKE Book project (a folder with _toc.yml and book/) at or above {here}")


def chapters(root: Path) -> list[str]:
    """Chapter names from ``book/*.py`` in the order of ``_toc.yml`` (later chapters read earlier
    chapters' results), the intro last since it summarises them all."""
    import re

    names = {p.stem for p in (root / "book").glob("*.py")}
    toc = re.findall(r"executed/([\w-]+)", (root / "_toc.yml").read_text())
    ordered = [n for n in toc if n in names and n != INTRO]
    ordered += sorted(names - set(ordered) - {INTRO})
    return ordered + ([INTRO] if INTRO in names else [])


def parse_value(text: str):
    """A ``-p`` value as papermill reads it: Python literals (20, 0.1, True, None), else a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def chapter_parameters(source: Path) -> dict:
    """The names and defaults of a chapter's ``parameters`` cell."""
    import jupytext
    import papermill

    with tempfile.TemporaryDirectory() as tmp:
        nb_path = Path(tmp) / f"{source.stem}.ipynb"
        jupytext.write(jupytext.read(source), nb_path)
        return {name: p["default"] for name, p in papermill.inspect_notebook(str(nb_path)).items()}


def parameter_spec(name: str):
    """A chapter's declared parameters: ``mke.experiments.<name>.PARAMETERS``."""
    import importlib

    try:
        module = importlib.import_module(f"mke.experiments.{name}")
    except ModuleNotFoundError as e:
        raise FileNotFoundError(f"chapter {name!r} has no experiment module mke/experiments/{name}.py "
                                "declaring its PARAMETERS") from e
    return module.PARAMETERS


PARAMETERS_CELL = re.compile(r'^# %% tags=\["parameters"\]\n.*?(?=^# %%)', re.S | re.M)


def sync_parameters(source: Path, write: bool = False) -> bool:
    """Whether ``book/<name>.py``'s parameters cell is the one its declaration generates;
    with ``write``, rewrite it. Returns True when the page was (or is now) in sync."""
    text = source.read_text()
    cell = parameter_spec(source.stem).cell() + "\n"
    if not PARAMETERS_CELL.search(text):
        raise ValueError(f"{source} has no '# %% tags=[\"parameters\"]' cell")
    new = PARAMETERS_CELL.sub(lambda _: cell, text, count=1)
    if new != text and write:
        source.write_text(new)
        return True
    return new == text


def execute_chapter(root: Path, name: str, parameters: dict | None = None, kernel: str = "python3",
                    progress: bool = True) -> Path:
    """Execute ``book/<name>.py`` into ``executed/<name>.ipynb`` (written only if it succeeds)."""
    import jupytext
    import papermill

    source = root / "book" / f"{name}.py"
    if not source.exists():
        raise FileNotFoundError(f"no chapter {name!r}: {source} does not exist; chapters are {chapters(root)}")
    out_dir = root / "executed"
    out_dir.mkdir(exist_ok=True)
    target = out_dir / f"{name}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        nb_in = Path(tmp) / f"{name}.ipynb"
        jupytext.write(jupytext.read(source), nb_in)
        fd, partial = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".ipynb")
        os.close(fd)
        try:
            papermill.execute_notebook(str(nb_in), partial, parameters=parameters or {}, kernel_name=kernel,
                                       cwd=str(out_dir), progress_bar=progress)
            present_file(partial)  # code collapsed in the book, parameters visible
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    return target


def build_book(root: Path, strict: bool = True) -> Path:
    """``jupyter-book build`` (1.x) of the executed notebooks; warnings fail the build when ``strict``."""
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build", str(root),
           "--builder", "html"]
    if strict:
        cmd += ["-W", "--keep-going"]
    subprocess.run(cmd, check=True)
    return root / "_build" / "html" / "index.html"


def run(names: list[str] | None = None, overrides: dict | None = None, book: bool = True,
        root: Path | None = None) -> None:
    root = root or project_root()
    available = chapters(root)
    names = names or available
    unknown = [n for n in names if n not in available]
    if unknown:
        raise SystemExit(f"unknown chapter(s) {unknown}; the chapters are {available}")
    overrides = overrides or {}
    accepted: set[str] = set()
    plan = []
    for name in names:
        params = chapter_parameters(root / "book" / f"{name}.py")
        mine = {k: v for k, v in overrides.items() if k in params}
        accepted |= set(mine)
        plan.append((name, mine))
    ignored = sorted(set(overrides) - accepted)
    if ignored:
        raise SystemExit(f"parameter(s) {ignored} are not parameters of {names}")
    for name, params in plan:
        t0 = time.perf_counter()
        print(f"== executing {name} {params or ''}", flush=True)
        target = execute_chapter(root, name, params)
        print(f"== {target.relative_to(root)} in {time.perf_counter() - t0:.0f} s", flush=True)
    if (root / "README.md").exists() and (root / "executed" / "results").is_dir():
        from mke.summary import update_readme

        if update_readme(root / "README.md", root / "executed" / "results"):
            print("== README.md: results section updated from executed/results/")
    if book:
        index = build_book(root)
        print(f"== the book: {index}")
