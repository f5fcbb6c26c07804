import json
import math

import numpy as np
import pytest

from mke.verdicts import STATUSES, VERDICTS, claims_frame, is_test, one_sample, paired, robust, status_row

A = [80.0, 82.0, 84.0, 86.0]
B = [79.0, 80.0, 80.0, 81.0]  # d = [1, 2, 4, 5]


def test_t_interval_by_hand():
    row = paired(A, B, "A beats B", chapter="ch", section="s")
    # mean(d) = 3, s = sqrt(10/3), t(0.975, 3) = 3.182446, half = t * s / sqrt(4)
    half = 3.182446 * math.sqrt(10 / 3) / 2
    assert row["effect"] == 3.0 and row["n"] == 4 and row["interval"] == "t"
    assert row["ci95"] == pytest.approx([3.0 - half, 3.0 + half], abs=1e-4)
    assert row["ci95"] == [0.0948, 5.9052]
    assert row["verdict"] == "holds" and row["margin"] == 0.0
    assert row["values"] == [1.0, 2.0, 4.0, 5.0]
    assert (row["claim"], row["chapter"], row["section"]) == ("A beats B", "ch", "s")
    assert "margin" in row["rule"]
    json.dumps(row, allow_nan=False)  # a claims row is strict JSON


def test_rounding_to_four_decimals():
    row = paired([1.0, 2.0, 3.3333333], [0.0, 0.0, 0.0], "c")
    assert row["effect"] == 2.1111 and row["values"] == [1.0, 2.0, 3.3333]
    assert all(round(x, 4) == x for x in row["ci95"])


def test_one_sample_is_paired_from_differences():
    d = np.array(A) - np.array(B)
    assert one_sample(d, "A beats B") == paired(A, B, "A beats B")


def test_zero_spread_interval_is_the_value():
    row = paired([70.0, 70.0, 70.0], [69.5, 69.5, 69.5], "c")
    assert row["ci95"] == [0.5, 0.5] and row["verdict"] == "holds"
    assert paired([70.0, 70.0], [70.0, 70.0], "c")["verdict"] == "inconclusive"
    assert paired([69.0, 69.0], [70.0, 70.0], "c")["verdict"] == "fails"


def test_each_verdict_is_reachable():
    assert paired(A, B, "c")["verdict"] == "holds"
    assert paired(B, A, "c")["verdict"] == "fails"
    row = paired([1.0, -1.0, 2.0, -1.5], [0.0, 0.0, 0.0, 0.0], "c")
    assert row["verdict"] == "inconclusive" and row["ci95"][0] < 0 < row["ci95"][1]
    # a positive effect whose interval includes the margin is not "holds"
    row = paired([3.0, -1.0, 2.0], [0.0, 0.0, 0.0], "c")
    assert row["effect"] > 0 and row["verdict"] == "inconclusive"


def test_margin_semantics():
    # "A beats B by at least m": the interval [0.0948, 5.9052] is above 0, contains 3, below 10
    assert paired(A, B, "by 0", margin=0.0)["verdict"] == "holds"
    assert paired(A, B, "by 3", margin=3.0)["verdict"] == "inconclusive"
    assert paired(A, B, "by 10", margin=10.0)["verdict"] == "fails"
    assert paired(A, B, "by -1", margin=-1.0)["verdict"] == "holds"
    # the interval touching the margin is not above it
    assert paired([1.0, 1.0], [0.0, 0.0], "c", margin=1.0)["verdict"] == "inconclusive"
    assert paired(A, B, "c", margin=0.0948)["verdict"] == "inconclusive"  # lo == margin after rounding
    assert paired(A, B, "c", margin=2.5)["margin"] == 2.5
    assert paired(A, B, "c", margin=-1e-9)["margin"] == 0.0  # rounded, and never -0.0
    assert str(paired(A, B, "c", margin=-1e-9)["margin"]) == "0.0"


def test_bootstrap_near_the_bounds_stays_inside():
    a = [99.5, 100.0, 98.0, 100.0, 99.0]  # its t-interval of the mean reaches above 100
    b = [97.0, 99.0, 96.0, 98.0, 99.0]
    t_row = paired(a, b, "c")
    assert t_row["interval"] == "t"
    row = paired(a, b, "c", bounds=(0, 100))
    assert row["interval"] == "bootstrap" and row["effect"] == t_row["effect"]
    d = np.array(a) - np.array(b)
    assert d.min() <= row["ci95"][0] <= row["ci95"][1] <= d.max()
    assert row == paired(a, b, "c", bounds=(0, 100))  # seeded: the same every time
    assert paired(a, b, "c", bounds=(0, 100), seed=1)["interval"] == "bootstrap"
    # far from the bounds the t-interval stays
    assert paired(A, B, "c", bounds=(0, 100))["interval"] == "t"


def test_bootstrap_when_the_difference_interval_leaves_its_range():
    # accuracies in [0, 1]; differences may lie in [-1, 1]; the t-interval of mean(d) would not
    a, b = [1.0, 1.0, 1.0, 0.2], [0.0, 0.0, 0.0, 0.0]
    lo, hi = paired(a, b, "c")["ci95"]
    assert hi > 1.0
    row = paired(a, b, "c", bounds=(0.0, 1.0))
    assert row["interval"] == "bootstrap" and -1.0 <= row["ci95"][0] <= row["ci95"][1] <= 1.0
    row = one_sample(np.array(a) - np.array(b), "c", bounds=(0.0, 1.0))
    assert row["interval"] == "bootstrap" and row["ci95"][1] <= 1.0


def test_robust():
    wide = paired([10.0, 11.0, 10.5, 10.2], [0.0, 0.0, 0.0, 0.0], "c")
    assert wide["verdict"] == "holds" and robust(wide)
    near = paired(A, B, "c")  # holds, but lo = 0.0948 is close to the margin
    assert near["verdict"] == "holds" and not robust(near)
    assert robust(near, factor=1.0)  # |3 - 0| >= 1 * 2.9052
    assert not robust(paired(B, A, "c")) and robust(paired(B, A, "c"), factor=1.0)
    assert not robust(paired([1.0, -1.0, 2.0, -1.5], [0.0] * 4, "c"))  # inconclusive
    assert robust(paired([1.0, 1.0], [0.0, 0.0], "c"))  # zero width, off the margin
    assert not robust(paired([1.0, 1.0], [1.0, 1.0], "c"))  # zero width, on the margin
    assert not robust(status_row("c", "estimate", effect=5.0))  # not a test


def test_status_rows():
    row = status_row("c", "assumptions unmet", chapter="theory", section="Lemma 1", note="c1 c2 > 1")
    assert row["verdict"] == "assumptions unmet" and row["ci95"] is None and row["n"] is None
    assert row["note"] == "c1 c2 > 1" and row["chapter"] == "theory" and not is_test(row)
    assert status_row("c", "estimate", effect=1.234567)["effect"] == 1.2346
    assert set(STATUSES) == {"assumptions unmet", "estimate", "not tested", "exact: holds", "exact: fails"}
    assert not set(STATUSES) & set(VERDICTS)
    with pytest.raises(ValueError, match="status of 'c' must be one of"):
        status_row("c", "True")
    with pytest.raises(ValueError, match="that is a test verdict"):
        status_row("c", "holds")
    with pytest.raises(ValueError, match="must be finite"):
        status_row("c", "estimate", effect=float("nan"))
    with pytest.raises(ValueError, match="needs its text"):
        status_row("", "not tested")


@pytest.mark.parametrize("a, b, kw, match", [
    ([1.0], [0.0], {}, "n >= 2"),
    ([], [], {}, "n >= 2"),
    ([1.0, 2.0, 3.0], [0.0, 0.0], {}, "got 3 and 2 values"),
    ([1.0, float("nan")], [0.0, 0.0], {}, "non-finite values at positions \\[1\\]"),
    ([1.0, 2.0], [float("inf"), 0.0], {}, "b has non-finite"),
    ([1.0, 2.0], [0.0, 0.0], {"margin": float("nan")}, "margin must be finite"),
    ([1.0, 2.0], [0.0, 0.0], {"bounds": (100, 0)}, "low < high"),
    ([1.0, 2.0], [0.0, 0.0], {"bounds": 5}, "bounds must be"),
    ([[1.0, 2.0]], [[0.0, 0.0]], {}, "one number per seed"),
    (["x", "y"], [0.0, 0.0], {}, "sequence of numbers"),
])
def test_bad_input_is_reported(a, b, kw, match):
    with pytest.raises(ValueError, match=match):
        paired(a, b, "c", **kw)


def test_bad_claim_text_and_differences():
    with pytest.raises(ValueError, match="needs its text"):
        paired(A, B, "  ")
    with pytest.raises(ValueError, match="d has 1 value"):
        one_sample([1.0], "c")


def test_claims_frame():
    rows = [paired(A, B, "A beats B"), status_row("premise", "not tested", note="no data")]
    df = claims_frame(rows)
    assert list(df.columns) == ["claim", "effect", "95 % interval", "n", "verdict"]
    assert df.iloc[0].tolist() == ["A beats B", "+3.00", "[+0.09, +5.91]", 4, "holds"]
    assert df.iloc[1].tolist() == ["premise", "", "", "", "not tested"]
    assert claims_frame([]).empty


def test_from_interval_applies_the_one_rule():
    from mke.verdicts import from_interval

    assert from_interval("r > 0", 0.4, [0.1, 0.7], 30, interval="bootstrap")["verdict"] == "holds"
    assert from_interval("r > 0", -0.4, [-0.7, -0.1], 30, interval="bootstrap")["verdict"] == "fails"
    assert from_interval("r > 0", 0.2, [-0.1, 0.5], 30, interval="bootstrap")["verdict"] == "inconclusive"
    with pytest.raises(ValueError, match="ordered"):
        from_interval("r > 0", 0.2, [0.5, -0.1], 30, interval="bootstrap")


# ------------------------------------------------------------------ killed mutants (make mutation)
KEYS_TEST = {"claim", "chapter", "section", "effect", "ci95", "n", "verdict", "rule", "interval", "margin", "values"}


def test_every_test_row_has_the_documented_fields():
    from mke.verdicts import RULE, from_interval, one_sample

    p = paired([3.0, 4.0, 5.0], [1.0, 1.0, 1.0], "A beats B", chapter="ch", section="s", margin=0.5)
    assert set(p) == KEYS_TEST
    assert (p["rule"], p["interval"], p["margin"], p["n"], p["values"]) == (RULE, "t", 0.5, 3, [2.0, 3.0, 4.0])
    o = one_sample([1.0, 2.0], "d > 0", chapter="ch", section="s")
    assert set(o) == KEYS_TEST and o["values"] == [1.0, 2.0] and o["chapter"] == "ch" and o["section"] == "s"
    f = from_interval("rho > 0", 0.4, (0.1, 0.7), 30, interval="bootstrap over pairs", chapter="mv", section="x",
                      margin=0.05, values=[0.25, 0.5])
    assert set(f) == KEYS_TEST
    assert (f["claim"], f["chapter"], f["section"], f["effect"], f["ci95"], f["n"], f["rule"], f["interval"],
            f["margin"], f["values"], f["verdict"]) == ("rho > 0", "mv", "x", 0.4, [0.1, 0.7], 30, RULE,
                                                       "bootstrap over pairs", 0.05, [0.25, 0.5], "holds")
    assert from_interval("c", 0.4, (0.1, 0.7), 2, interval="t")["values"] is None


def test_verdict_boundaries_are_strict():
    from mke.verdicts import from_interval

    assert from_interval("c", 0.5, (0.0, 1.0), 5, interval="t")["verdict"] == "inconclusive"  # lo on the margin
    assert from_interval("c", -0.5, (-1.0, 0.0), 5, interval="t")["verdict"] == "inconclusive"  # hi on the margin
    assert from_interval("c", -0.5, (-1.0, -0.1), 5, interval="t")["verdict"] == "fails"
    assert from_interval("c", 0.2, (0.2, 0.2), 5, interval="t")["verdict"] == "holds"  # a point interval is allowed
    with pytest.raises(ValueError, match=r"must be finite and ordered"):
        from_interval("c", 0.2, (0.3, 0.1), 5, interval="t")
    with pytest.raises(ValueError, match=r"n must be an integer >= 2, got 1"):
        from_interval("c", 0.2, (0.1, 0.3), 1, interval="t")
    with pytest.raises(ValueError, match=r"n must be an integer >= 2, got 2.0"):
        from_interval("c", 0.2, (0.1, 0.3), 2.0, interval="t")


def test_status_rows_have_the_documented_fields_and_name_a_misused_verdict():
    from mke.verdicts import status_row

    r = status_row("c", "estimate", chapter="theory", section="s", note="why", effect=2.5)
    assert set(r) == KEYS_TEST | {"note"}
    assert (r["effect"], r["ci95"], r["n"], r["rule"], r["interval"], r["margin"], r["values"], r["note"]) == \
        (2.5, None, None, None, None, None, None, "why")
    with pytest.raises(ValueError, match=r"got 'holds' \(that is a test verdict: use paired\(\) or one_sample\(\)\)"):
        status_row("c", "holds")
    with pytest.raises(ValueError, match=r"must be one of .* got 'maybe'$"):
        status_row("c", "maybe")


def test_robust_counts_the_distance_from_the_margin():
    from mke.verdicts import robust

    row = {"verdict": "holds", "effect": 3.0, "ci95": [2.0, 4.0], "margin": 1.0}
    assert robust(row)  # |3 - 1| = 2 >= 2 * half-width 1 (the boundary counts)
    assert not robust({**row, "margin": 1.5})  # 1.5 < 2
    assert not robust({**row, "margin": None, "effect": 1.5, "ci95": [0.0, 3.0]})  # no margin means 0: 1.5 < 3
    assert robust({**row, "margin": None, "effect": 3.0, "ci95": [2.0, 4.0]})  # 3 >= 2
    assert not robust({**row, "effect": 1.0, "ci95": [1.0, 1.0]})  # exactly on the margin
