"""Validation of chapter parameters: fail before any work, naming the parameter and what is allowed."""
from __future__ import annotations

from pathlib import Path

PROFILES = ("quick", "book", "paper")


def check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"parameter {name!r} must be one of {tuple(allowed)}, got {value!r}")


def check_int(name: str, value, low: int | None = None, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"parameter {name!r} must lie in [{low}, {high}], got {value!r}")


def check_float(name: str, value, low: float | None = None, high: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r} ({type(value).__name__})")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"parameter {name!r} must lie in [{low}, {high}], got {value!r}")


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"parameter {name!r} must be True or False, got {value!r}")


def check_dir(name: str, value, must_exist: bool = True) -> Path:
    """A folder path; ``must_exist`` for inputs (a dataset), not for outputs (a results folder)."""
    if not isinstance(value, (str, Path)) or str(value) == "":
        raise ValueError(f"parameter {name!r} must be a folder path, got {value!r}")
    path = Path(value).expanduser()
    if must_exist and not path.is_dir():
        raise ValueError(f"parameter {name!r}: folder {str(path)!r} does not exist")
    if path.exists() and not path.is_dir():
        raise ValueError(f"parameter {name!r}: {str(path)!r} exists but is not a folder")
    return path


# --------------------------------------------------------------------------- declarations
# A chapter's parameters are declared once, in its experiment module, as a ParameterSpec. The
# notebook's papermill `parameters` cell is generated from it (`python -m mke params --write`;
# a test checks the cell is in sync), the chapter validates its values with it before any work,
# and the `parameters` block of its results file is `spec.record(...)`.

from dataclasses import dataclass  # noqa: E402
from typing import Any, Callable  # noqa: E402


@dataclass(frozen=True)
class Param:
    """One papermill parameter: its name, default, check and a one-line description."""

    name: str
    default: Any
    check: Callable[[str, Any], None]
    doc: str

    def validate(self, value) -> None:
        self.check(self.name, value)


def optional(check: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    """``None`` or a value that passes ``check``."""
    def run(name, value):
        if value is not None:
            check(name, value)
    return run


def choice(*allowed):
    return lambda name, value: check_choice(name, value, allowed)


def integer(low: int | None = None, high: int | None = None):
    return lambda name, value: check_int(name, value, low, high)


def number(low: float | None = None, high: float | None = None):
    return lambda name, value: check_float(name, value, low, high)


def boolean():
    return check_bool


def folder(must_exist: bool = True):
    return lambda name, value: check_dir(name, value, must_exist)


def path(must_exist: bool = True, kind: str = "file"):
    """A file path (``kind='file'``) that must exist when ``must_exist``."""
    def run(name, value):
        if not isinstance(value, (str, Path)) or str(value) == "":
            raise ValueError(f"parameter {name!r} must be a {kind} path, got {value!r}")
        p = Path(value).expanduser()
        if must_exist and not p.is_file():
            raise ValueError(f"parameter {name!r}: file {str(p)!r} does not exist")
    return run


class ParameterSpec:
    """A chapter's parameters, declared once: defaults, checks and descriptions."""

    def __init__(self, chapter: str, *params: Param):
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise ValueError(f"chapter {chapter!r} declares a parameter twice: {names}")
        self.chapter = chapter
        self.params = params

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def validate(self, values: dict) -> dict:
        """Check every declared parameter's value (taken from ``values``, e.g. ``globals()``)
        before any work; raise naming the first offender. Returns the chapter's values."""
        missing = [n for n in self.names if n not in values]
        if missing:
            raise ValueError(f"chapter {self.chapter!r}: parameters {missing} are not set")
        for p in self.params:
            p.validate(values[p.name])
        return self.record(values)

    def record(self, values: dict, **derived) -> dict:
        """The ``parameters`` block of the results file: every declared parameter's value, plus
        values the chapter derived from them (resolved seeds, epochs, ...)."""
        out = {n: values[n] for n in self.names}
        out.update(derived)
        return out

    def cell(self) -> str:
        """The source of the notebook's papermill ``parameters`` cell (py:percent)."""
        def literal(v):
            return f'"{v}"' if isinstance(v, str) else repr(v)

        width = max(len(f"{p.name} = {literal(p.default)}") for p in self.params)
        lines = ['# %% tags=["parameters"]']
        lines += [f"{f'{p.name} = {literal(p.default)}':<{width}}  # {p.doc}" for p in self.params]
        return "\n".join(lines) + "\n"
