"""Summarise a `make mutation` run (mutmut 3): mutants killed / total per core module, and the
survivors by name, with the explanation of each one judged equivalent
(``bench/mutation_equivalents.json``: mutant name -> why no test can tell it from the original).

    python bench/mutation_report.py            # after `mutmut run`, from the repository root
    python bench/mutation_report.py --diffs    # also print each unexplained survivor's diff

A module passes at 85 % killed, counting explained equivalents as neither killed nor total.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.85
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diffs", action="store_true")
    args = ap.parse_args()
    metas = sorted((ROOT / "mutants").rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/: run `make mutation` first", file=sys.stderr)
        return 2
    equivalents = json.loads((ROOT / "bench" / "mutation_equivalents.json").read_text()) \
        if (ROOT / "bench" / "mutation_equivalents.json").exists() else {}
    failing, unexplained = [], []
    print(f"{'module':28s} {'killed':>7s} {'total':>6s} {'score':>7s}  other")
    for meta in metas:
        module = str(meta.relative_to(ROOT / "mutants")).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        status = {name: STATUS.get(code, "suspicious") for name, code in codes.items()}
        counted = {n: s for n, s in status.items() if n not in equivalents}
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
          f" ({len(equivalents)} explained in bench/mutation_equivalents.json)")
    for name in unexplained:
        print("  ", name)
        if args.diffs:
            subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT)
    if failing:
        print(f"\nbelow {TARGET:.0%}: {failing}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
