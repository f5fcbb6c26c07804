"""Summarise a `make mutation` run (mutmut 3): mutants killed / total per core module, and the
survivors by name, with the explanation of each one judged equivalent
(``bench/mutation_equivalents.json``: mutant name -> the mutation it names and why no test can
tell it from the original).

    python bench/mutation_report.py            # after `mutmut run`, from the repository root
    python bench/mutation_report.py --diffs    # also print each unexplained survivor's diff
    python bench/mutation_report.py --record NAME "why"   # explain a survivor (stores its mutation)

A module passes at 85 % killed, counting explained equivalents as neither killed nor total.
mutmut numbers a function's mutants in order, so a name can come to mean another mutation when
the function changes: each explanation stores the mutation it was written for (the changed
lines), and an explanation whose mutant now reads differently counts as no explanation.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENTS = ROOT / "bench" / "mutation_equivalents.json"
TARGET = 0.85
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


@lru_cache(maxsize=None)
def _functions(module: str) -> dict[str, str]:
    """Source of every function in mutmut's copy of ``module`` (e.g. ``mke.runner``), by name."""
    path = ROOT / "mutants" / (module.replace(".", "/") + ".py")
    text = path.read_text()
    lines = text.splitlines()
    return {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno]) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def mutation(name: str) -> str:
    """The lines mutant ``name`` changes, as ``- old`` / ``+ new`` joined by " | " (no context)."""
    module, _, func = name.rpartition(".")
    orig = _functions(module).get(func.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
    mutant = _functions(module).get(func)
    if orig is None or mutant is None:
        return "?"
    orig_lines = orig.splitlines()[1:]  # the def line differs by name only
    mutant_lines = mutant.splitlines()[1:]
    changed = [line[0] + " " + line[1:].strip() for line in difflib.unified_diff(orig_lines, mutant_lines, n=0, lineterm="")
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    if orig.splitlines()[0].split("(", 1)[1] != mutant.splitlines()[0].split("(", 1)[1]:  # a mutated signature
        changed.insert(0, "def (" + mutant.splitlines()[0].split("(", 1)[1].strip())
    return " | ".join(changed)


def load_equivalents() -> dict[str, dict]:
    if not EQUIVALENTS.exists():
        return {}
    return {k: v for k, v in json.loads(EQUIVALENTS.read_text()).items() if not k.startswith("_")}


def record(name: str, why: str) -> None:
    data = json.loads(EQUIVALENTS.read_text()) if EQUIVALENTS.exists() else {}
    data[name] = {"mutation": mutation(name), "why": why}
    EQUIVALENTS.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"{name}: {data[name]['mutation']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diffs", action="store_true")
    ap.add_argument("--record", nargs=2, metavar=("NAME", "WHY"), help="explain a surviving mutant as equivalent")
    args = ap.parse_args()
    metas = sorted((ROOT / "mutants").rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    if args.record:
        record(*args.record)
        return 0
    equivalents = load_equivalents()
    failing, unexplained, outdated, stale = [], [], [], []
    print(f"{'module':28s} {'killed':>7s} {'total':>6s} {'score':>7s}  other")
    for meta in metas:
        module = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        status = {name: STATUS.get(code, "suspicious") for name, code in codes.items()}
        explained = set()
        for name, s in status.items():
            if name not in equivalents:
                continue
            if s not in ("survived", "no tests"):
                stale.append(f"{name} ({s})")
            elif equivalents[name]["mutation"] != mutation(name):
                outdated.append(name)
            else:
                explained.add(name)
        counted = {n: s for n, s in status.items() if n not in explained}
        # a timeout is a kill (the mutant hangs where the original does not)
        killed = sum(s in ("killed", "timeout") for s in counted.values())
        total = len(counted)
        score = killed / total if total else 1.0
        other = Counter(s for s in counted.values() if s not in ("killed", "timeout"))
        print(f"{module:28s} {killed:7d} {total:6d} {score:7.1%}  {dict(other)}"
              f"{'' if score >= TARGET else '  < 85 %'}")
        if score < TARGET:
            failing.append(module)
        unexplained += [n for n, s in counted.items() if s not in ("killed", "timeout")]
    print(f"\n{len(unexplained)} mutants neither killed nor explained as equivalent"
          f" ({len(equivalents)} explained in {EQUIVALENTS.relative_to(ROOT)})")
    for name in unexplained:
        print("  ", name, "(its explanation was written for another mutation)" if name in outdated else "")
        if args.diffs:
            print("      now:", mutation(name))
            if name in outdated:
                print("      was:", equivalents[name]["mutation"])
    if stale:
        print(f"\n{len(stale)} explanations name mutants that no longer survive (remove them): {', '.join(stale)}")
    if failing:
        print(f"\nbelow {TARGET:.0%}: {failing}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
