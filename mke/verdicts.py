"""The library's one rule for claims "A beats B" over paired seeds.

A claim compares two methods run on the same seeds. Its evidence is the per-seed differences
``d = a - b`` and its effect is their mean. The rule:

* the 95 % interval of ``mean(d)`` lies entirely **above** the margin ``m``  -> ``"holds"``
  (A beats B by more than ``m``);
* it lies entirely **below** the margin                                     -> ``"fails"``;
* it contains the margin                                                    -> ``"inconclusive"``:
  these seeds cannot tell, whatever the sign of the effect.

With margin ``m`` the claim reads "A beats B by at least m"; ``m = 0`` is "A beats B".
The interval is Student's t over the paired differences. When the metric has a bounded range
(``bounds``, e.g. ``(0, 100)`` for an accuracy in percent) and a t-interval (of A's mean, B's
mean or the mean difference) would leave that range, a seeded percentile bootstrap of
``mean(d)`` is used instead: it stays inside the range of the data. If every difference is the
same, the interval is that one value. The verdict is the rule applied to the (rounded) numbers
stored in the row, so anyone can re-check it from the results file.

Rows that are *not* a test (an assumption of the claim is not met, the number is only an
estimate, or the claim was not tested) are made with :func:`status_row`; their verdict is one of
:data:`STATUSES`, never one of :data:`VERDICTS`.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from mke.metrics import bootstrap_mean_interval

VERDICTS = ("holds", "fails", "inconclusive")
STATUSES = ("assumptions unmet", "estimate", "not tested", "exact: holds", "exact: fails")
DIGITS = 4  # floats in a claims row are rounded to this many decimals

RULE = ("holds if the 95 % interval of mean(A - B) over paired seeds lies above the margin, "
        "fails if it lies below, inconclusive if it contains the margin")


def _r(x: float) -> float:
    return round(float(x), DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _values(x, name: str) -> np.ndarray:
    try:
        v = np.asarray(list(x), dtype=float)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a sequence of numbers (one per seed): {e}") from e
    if v.ndim != 1:
        raise ValueError(f"{name} must be one number per seed, got an array of shape {v.shape}")
    if len(v) < 2:
        raise ValueError(f"{name} has {len(v)} value(s); a paired verdict needs n >= 2 seeds")
    bad = [i for i, x in enumerate(v) if not math.isfinite(x)]
    if bad:
        raise ValueError(f"{name} has non-finite values at positions {bad}: {v[bad].tolist()}")
    return v


def _t_interval(v: np.ndarray) -> tuple[float, float]:
    n, mean = len(v), float(v.mean())
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return mean - half, mean + half


def _check_bounds(bounds) -> tuple[float, float]:
    try:
        low, high = (float(b) for b in bounds)
    except (TypeError, ValueError) as e:
        raise ValueError(f"bounds must be (low, high), the metric's range; got {bounds!r}") from e
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"bounds must be finite with low < high; got {bounds!r}")
    return low, high


def _test(d: np.ndarray, claim: str, *, chapter, section, margin, bounds, n_boot, seed,
          sides: dict[str, np.ndarray]) -> dict:
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError(f"a claim needs its text, got {claim!r}")
    margin = float(margin)
    if not math.isfinite(margin):
        raise ValueError(f"margin must be finite, got {margin}")
    n, effect = len(d), float(d.mean())
    interval = "t"
    if np.all(d == d[0]):  # no spread: the interval is the one value
        lo = hi = effect
    else:
        lo, hi = _t_interval(d)
        if bounds is not None:
            low, high = _check_bounds(bounds)
            allowed = {name: (low, high) for name in sides}
            allowed["A - B"] = (low - high, high - low)
            checks = {**sides, "A - B": d}
            leaves = False
            for name, v in checks.items():
                a_lo, a_hi = allowed[name]
                t_lo, t_hi = (lo, hi) if name == "A - B" else _t_interval(v)
                if t_lo < a_lo or t_hi > a_hi:
                    leaves = True
            if leaves:
                if int(n_boot) < 1:
                    raise ValueError(f"n_boot must be a positive number of resamples, got {n_boot}")
                lo, hi = bootstrap_mean_interval(d, n_boot, seed)
                interval = "bootstrap"
    effect, lo, hi, m = _r(effect), _r(lo), _r(hi), _r(margin)
    verdict = "holds" if lo > m else "fails" if hi < m else "inconclusive"
    return {"claim": claim, "chapter": chapter, "section": section, "effect": effect, "ci95": [lo, hi],
            "n": n, "verdict": verdict, "rule": RULE, "interval": interval, "margin": m,
            "values": [_r(x) for x in d]}


def paired(a, b, claim: str, *, chapter=None, margin: float = 0.0, bounds=None, section=None,
           n_boot: int = 10000, seed: int = 0) -> dict:
    """Test the claim "A beats B by at least ``margin``" on per-seed values ``a`` and ``b``.

    ``a`` and ``b`` hold one value per seed, in the same seed order (n >= 2, finite). The
    effect is ``mean(a - b)``; the verdict is ``"holds"`` when the whole 95 % interval of that
    mean lies above ``margin``, ``"fails"`` when it lies below, and ``"inconclusive"`` when it
    contains ``margin`` -- then these seeds cannot say, even if the effect has the claimed sign.
    The interval is Student's t over the differences, or a seeded percentile bootstrap of their
    mean when ``bounds`` (the metric's range) is given and a t-interval would leave it (see the
    module docstring). Returns a claims row for ``write_results(..., claims=[...])``.
    """
    av, bv = _values(a, "a"), _values(b, "b")
    if len(av) != len(bv):
        raise ValueError(f"a and b must hold one value per seed each, in the same order; "
                         f"got {len(av)} and {len(bv)} values")
    return _test(av - bv, claim, chapter=chapter, section=section, margin=margin, bounds=bounds,
                 n_boot=n_boot, seed=seed, sides={"A": av, "B": bv})


def one_sample(d, claim: str, *, chapter=None, margin: float = 0.0, bounds=None, section=None,
               n_boot: int = 10000, seed: int = 0) -> dict:
    """:func:`paired` from ready-made per-seed differences ``d = a - b``.

    ``bounds`` is still the range of the metric itself (the differences may lie in
    ``[low - high, high - low]``); only the interval of ``mean(d)`` is checked against it.
    """
    return _test(_values(d, "d"), claim, chapter=chapter, section=section, margin=margin, bounds=bounds,
                 n_boot=n_boot, seed=seed, sides={})


def from_interval(claim: str, effect: float, ci95, n: int, *, interval: str, chapter=None, section=None,
                  margin: float = 0.0, values=None) -> dict:
    """The same rule for an effect whose 95 % interval was computed elsewhere (e.g. a bootstrap
    interval of a rank correlation over pairs): holds above ``margin``, fails below, else
    inconclusive. ``interval`` names how it was computed."""
    lo, hi = (float(v) for v in ci95)
    if not all(math.isfinite(v) for v in (effect, lo, hi)) or lo > hi:
        raise ValueError(f"{claim!r}: effect {effect} and interval [{lo}, {hi}] must be finite and ordered")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"{claim!r}: n must be an integer >= 2, got {n!r}")
    effect, lo, hi, m = _r(effect), _r(lo), _r(hi), _r(float(margin))
    verdict = "holds" if lo > m else "fails" if hi < m else "inconclusive"
    return {"claim": claim, "chapter": chapter, "section": section, "effect": effect, "ci95": [lo, hi],
            "n": n, "verdict": verdict, "rule": RULE, "interval": interval, "margin": m,
            "values": None if values is None else [_r(float(x)) for x in values]}


def status_row(claim: str, status: str, *, chapter=None, section=None, note: str = "", effect=None) -> dict:
    """A claims row that is *not* a test: ``status`` is one of :data:`STATUSES`.

    ``"assumptions unmet"``: the claim's premise does not hold here, so it was not tested;
    ``"estimate"``: ``effect`` is a number without an interval, which supports no verdict;
    ``"not tested"``: the claim is listed, but these runs do not test it (``note`` says why);
    ``"exact: holds"`` / ``"exact: fails"``: a deterministic check with no sampling noise (a
    SymPy identity, an exhaustive search), so no interval applies.
    """
    if status not in STATUSES:
        hint = " (that is a test verdict: use paired() or one_sample())" if status in VERDICTS else ""
        raise ValueError(f"status of {claim!r} must be one of {STATUSES}, got {status!r}{hint}")
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError(f"a claim needs its text, got {claim!r}")
    if effect is not None:
        effect = float(effect)
        if not math.isfinite(effect):
            raise ValueError(f"effect of {claim!r} must be finite or None, got {effect}")
        effect = _r(effect)
    return {"claim": claim, "chapter": chapter, "section": section, "effect": effect, "ci95": None,
            "n": None, "verdict": status, "rule": None, "interval": None, "margin": None,
            "values": None, "note": note}


def is_test(row: dict) -> bool:
    """Whether ``row`` carries a test verdict (one of :data:`VERDICTS`) rather than a status."""
    return row.get("verdict") in VERDICTS


def robust(row: dict, factor: float = 2.0) -> bool:
    """Whether a test verdict would survive seed noise and rounding on another machine.

    True when the effect's distance from the margin is at least ``factor`` times the
    half-width of its 95 % interval: ``|effect - margin| >= factor * (hi - lo) / 2``, and the
    effect is not exactly on the margin. An ``"inconclusive"`` verdict is thus (practically)
    never robust, and a ``"holds"``/``"fails"`` only when its interval clears the margin by a
    wide gap. Rows that are not tests (:data:`STATUSES`) are never robust: they are compared
    as they are.
    """
    if not is_test(row):
        return False
    lo, hi = row["ci95"]
    gap = abs(row["effect"] - (row.get("margin") or 0.0))
    return gap > 0 and gap >= factor * (hi - lo) / 2


def claims_frame(rows: list[dict], digits: int = 2) -> pd.DataFrame:
    """The claims rows as a table for display: claim, effect, 95 % interval, n, verdict."""
    out = []
    for r in rows:
        eff, ci = r.get("effect"), r.get("ci95")
        out.append({"claim": r["claim"],
                    "effect": "" if eff is None else f"{eff:+.{digits}f}",
                    "95 % interval": "" if ci is None else f"[{ci[0]:+.{digits}f}, {ci[1]:+.{digits}f}]",
                    "n": "" if r.get("n") is None else int(r["n"]),
                    "verdict": r["verdict"]})
    return pd.DataFrame(out, columns=["claim", "effect", "95 % interval", "n", "verdict"])
