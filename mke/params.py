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
