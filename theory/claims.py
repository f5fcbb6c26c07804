"""The theory chapter's claims as rows of the library's claims table (mke.verdicts).

Exact checks (SymPy identities, exhaustive searches) have no sampling noise and get the status
``exact: holds`` / ``exact: fails``. Theorem 1's bound is a statistical claim about the MM
student's error over seeds: it is tested with the paired rule on ``bound - error`` per seed,
and only where it says something (bound < 1) and its Assumption 1 (c1 c2 > 5) holds.
"""
from __future__ import annotations

import numpy as np

from mke.verdicts import one_sample, status_row

ASSUMPTION1_C1C2 = 5.0  # Assumption 1 (after Wei et al.): c1 c2 > 5


def exact(claim: str, holds: bool, section: str, note: str = "") -> dict:
    return status_row(claim, "exact: holds" if holds else "exact: fails", chapter="theory", section=section, note=note)


def bound_claim(claim: str, bound: float, errors, c1c2: float | None, section: str) -> dict:
    """Theorem 1 (Eq. 13): the MM student's error stays below ``bound``, judged on per-seed errors."""
    if bound >= 1:
        return status_row(claim, "not tested", chapter="theory", section=section,
                          note=f"vacuous: the bound is {bound:.3f} >= 1, which no 0-1 error can exceed")
    if c1c2 is not None and c1c2 <= ASSUMPTION1_C1C2:
        return status_row(claim, "assumptions unmet", chapter="theory", section=section,
                          note=f"c1 c2 = {c1c2:.2f} <= {ASSUMPTION1_C1C2:g} (Assumption 1)")
    return one_sample(bound - np.asarray(errors, dtype=float), claim, chapter="theory", section=section,
                      bounds=(0.0, 1.0))
