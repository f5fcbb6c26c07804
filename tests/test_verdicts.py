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


# --- pins that make the survivors of make mutation in mke.verdicts fail (issue 10) ---------------

# accuracies in percent whose A-side t-interval leaves [0, 100], so paired(..., bounds=(0, 100))
# bootstraps; chosen so that seed 0 vs 1 and 10000 vs 10001 resamples differ after rounding
BOOT_A = [99.4, 97.2, 90.2, 98.8, 99.1, 65.3, 94.0, 98.0]
BOOT_B = [72.6, 79.4, 76.8, 80.9, 77.0, 56.2, 65.0, 77.0]
# differences of a metric in [0, 1] whose own t-interval leaves [-1, 1] (one_sample bootstraps)
BOOT_D = [0.79, 0.54, -0.03, -0.89, 0.93, 1.0, 0.52, 0.98]


def _rounded_bootstrap(d, n_boot, seed):
    from mke.metrics import bootstrap_mean_interval

    return [round(x, 4) for x in bootstrap_mean_interval(np.asarray(d, dtype=float), n_boot, seed)]


def test_bootstrap_defaults_are_10000_resamples_seeded_with_0():
    """paired() and one_sample() bootstrap with n_boot=10000 and seed=0 unless told otherwise, and
    pass their own seed on: each row's interval is mke.metrics' bootstrap of mean(d) with those."""
    d = np.array(BOOT_A) - np.array(BOOT_B)
    row = paired(BOOT_A, BOOT_B, "c", bounds=(0, 100))
    assert row["interval"] == "bootstrap" and row["ci95"] == _rounded_bootstrap(d, 10000, 0) == [15.4494, 23.9378]
    assert _rounded_bootstrap(d, 10001, 0) != row["ci95"] != _rounded_bootstrap(d, 10000, 1)
    seeded = paired(BOOT_A, BOOT_B, "c", bounds=(0, 100), seed=1)
    assert seeded["ci95"] == _rounded_bootstrap(d, 10000, 1)
    assert paired(BOOT_A, BOOT_B, "c", bounds=(0, 100), n_boot=10001)["ci95"] == _rounded_bootstrap(d, 10001, 0)
    one = one_sample(BOOT_D, "c", bounds=(0, 1))
    assert one["interval"] == "bootstrap" and one["ci95"] == _rounded_bootstrap(BOOT_D, 10000, 0) == [0.0024, 0.8425]
    assert _rounded_bootstrap(BOOT_D, 10001, 0) != one["ci95"] != _rounded_bootstrap(BOOT_D, 10000, 1)
    assert one_sample(BOOT_D, "c", bounds=(0, 1), seed=1)["ci95"] == _rounded_bootstrap(BOOT_D, 10000, 1)


def test_one_resample_is_a_positive_n_boot_and_zero_is_refused_by_name():
    """n_boot is checked only when the bootstrap is used: 1 resample is allowed (its interval is
    that one resample's mean), 0 is a ValueError that says what n_boot must be."""
    import warnings

    a, b = [99.5, 100.0, 98.0, 100.0, 99.0], [97.0, 99.0, 96.0, 98.0, 99.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's standard error of one resample
        row = paired(a, b, "c", bounds=(0, 100), n_boot=1)
    assert row["interval"] == "bootstrap" and row["ci95"][0] == row["ci95"][1]
    with pytest.raises(ValueError, match=r"^n_boot must be a positive number of resamples, got 0$"):
        paired(a, b, "c", bounds=(0, 100), n_boot=0)
    assert paired(a, b, "c", n_boot=0)["interval"] == "t"  # no bounds: no bootstrap, n_boot unused


def test_an_interval_touching_a_bound_does_not_leave_it():
    """A side whose t-interval ends exactly on the metric's bound stays inside it (the checks are
    strict): A always 0 (or always 1) has the point interval [0, 0] ([1, 1]), so the t-interval of
    mean(d) is kept."""
    b = [0.4, 0.5, 0.6]  # B's t-interval [0.25, 0.75] and d's stay well inside
    assert paired([0.0, 0.0, 0.0], b, "c", bounds=(0, 1))["interval"] == "t"
    assert paired([1.0, 1.0, 1.0], b, "c", bounds=(0, 1))["interval"] == "t"


def test_differences_may_span_the_width_of_a_range_that_does_not_start_at_0():
    """With bounds (low, high), a mean difference lies in [low - high, high - low] (here [-1, 1] for
    (1, 2)), not [low - high, high + low]: an interval reaching 1.44 leaves it and is bootstrapped."""
    d = [1.0, 1.0, 1.0, 0.2]  # t-interval of the mean ~ [0.164, 1.436]
    assert one_sample(d, "c")["ci95"][1] > 1.0
    assert one_sample(d, "c", bounds=(1.0, 2.0))["interval"] == "bootstrap"
    assert one_sample(d, "c", bounds=(0.0, 1.0))["interval"] == "bootstrap"
    assert one_sample(d, "c", bounds=(-1.0, 2.0))["interval"] == "t"  # [-3, 3] holds it


def test_bounds_of_zero_width_are_refused():
    """low == high is no range: refused like low > high (reached when the differences vary)."""
    with pytest.raises(ValueError, match=r"^bounds must be finite with low < high; got \(1, 1\)$"):
        paired([1.0, 2.0], [0.0, 0.0], "c", bounds=(1, 1))


def test_zero_spread_keeps_the_t_label_and_never_bootstraps():
    """Every difference equal: the interval is that value, labelled "t", whatever the sides do --
    even when A's own t-interval would leave the bounds (A varies, A - B does not)."""
    a, b = [1.0, 0.75, 1.0], [0.5, 0.25, 0.5]  # d = 0.5 each; A's t-interval reaches ~1.27
    row = paired(a, b, "c", bounds=(0, 1))
    assert (row["interval"], row["ci95"], row["verdict"]) == ("t", [0.5, 0.5], "holds")


@pytest.mark.parametrize("a, b, match", [
    (["x", "y"], [0.0, 0.0], r"^a must be a sequence of numbers \(one per seed\)"),
    ([0.0, 0.0], ["x", "y"], r"^b must be a sequence of numbers \(one per seed\)"),
    ([1.0], [0.0], r"^a has 1 value\(s\); a paired verdict needs n >= 2 seeds$"),
    ([[1.0, 2.0]], [0.0, 0.0], r"^a must be one number per seed, got an array of shape \(1, 2\)$"),
    ([1.0, float("inf")], [0.0, 0.0], r"^a has non-finite values at positions \[1\]: \[inf\]$"),
])
def test_errors_name_the_argument_a_or_b(a, b, match):
    with pytest.raises(ValueError, match=match):
        paired(a, b, "c")


def test_status_row_note_defaults_to_empty():
    assert status_row("c", "not tested")["note"] == ""


def test_claims_frame_of_no_rows_keeps_its_columns():
    """An empty table still has the five columns, in order (a report can print its header)."""
    df = claims_frame([])
    assert df.empty and list(df.columns) == ["claim", "effect", "95 % interval", "n", "verdict"]
