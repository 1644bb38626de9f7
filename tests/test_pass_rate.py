"""How sure a verdict over seeds is (``deleverage.calibration.pass_rate``), and its use in
``Validation`` and ``Comparison``.

Oracles: exact binomial sums in rational arithmetic (``fractions``) for the p-values
and the interval's defining tails, and a brute-force count over every split of the
changed seeds for the McNemar test.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.calibration import Comparison, Validation
from deleverage.calibration.pass_rate import (
    change_p_value,
    pass_rate_interval,
    share_met_probability,
    shortfall_p_value,
)
from deleverage.scenario import Target
from deleverage.scenarios import load_preset

NAN = math.nan


def lower_tail(k: int, n: int, p: Fraction) -> Fraction:
    """P(X <= k) for X ~ Binomial(n, p), exactly."""
    return sum((math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1)), Fraction(0))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    data=st.data(),
    share=st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=1000),
)
def test_shortfall_is_the_binomial_lower_tail(n: int, data: st.DataObject, share: Fraction) -> None:
    k = data.draw(st.integers(0, n))
    want = float(lower_tail(k, n, share))
    assert shortfall_p_value(k, n, float(share)) == pytest.approx(want, rel=1e-9, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    data=st.data(),
    share=st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=1000),
)
def test_share_met_probability_is_the_posterior_tail(
    n: int, data: st.DataObject, share: Fraction
) -> None:
    # With a uniform prior the rate's posterior is Beta(k + 1, n - k + 1), whose upper
    # tail from s is P(Binomial(n + 1, s) <= k); at s = 1 it is 0.
    k = data.draw(st.integers(0, n))
    want = float(lower_tail(k, n + 1, share))
    got = share_met_probability(k, n, float(share))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-15)
    if k < n:
        assert share_met_probability(k + 1, n, float(share)) >= got


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    data=st.data(),
    confidence=st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
)
def test_interval_bounds_solve_their_tails(n: int, data: st.DataObject, confidence: float) -> None:
    # Clopper-Pearson: at the lower bound the chance of k or more passes is alpha/2;
    # at the upper bound the chance of k or fewer is alpha/2.
    k = data.draw(st.integers(0, n))
    low, high = pass_rate_interval(k, n, confidence)
    alpha = 1 - confidence
    assert 0.0 <= low <= k / n <= high <= 1.0
    if k == 0:
        assert low == 0.0
    else:
        at_least = 1 - lower_tail(k - 1, n, Fraction(low))
        assert float(at_least) == pytest.approx(alpha / 2, abs=1e-9)
    if k == n:
        assert high == 1.0
    else:
        assert float(lower_tail(k, n, Fraction(high))) == pytest.approx(alpha / 2, abs=1e-9)


def test_wider_with_more_confidence_narrower_with_more_seeds() -> None:
    a, b = pass_rate_interval(7, 8, 0.8), pass_rate_interval(7, 8, 0.99)
    assert b[0] < a[0]
    assert a[1] < b[1]
    few, many = pass_rate_interval(7, 8), pass_rate_interval(28, 32)
    assert many[1] - many[0] < few[1] - few[0]


@settings(max_examples=40, deadline=None)
@given(before_only=st.integers(0, 9), after_only=st.integers(0, 9))
def test_change_p_value_against_every_split(before_only: int, after_only: int) -> None:
    # Under no effect each changed seed goes either way with chance 1/2: count the
    # splits at least as lopsided as the one seen.
    m = before_only + after_only
    seen = abs(before_only - after_only)
    splits = list(itertools.product((0, 1), repeat=m))
    extreme = sum(abs(2 * sum(s) - m) >= seen for s in splits)
    want = extreme / len(splits) if m else 1.0
    assert change_p_value(before_only, after_only) == pytest.approx(want, rel=1e-12)
    assert change_p_value(after_only, before_only) == change_p_value(before_only, after_only)


def test_known_figures() -> None:
    # A world exactly at 7 of 8 passes 28 or more of 32 seeds only 63% of the time.
    assert 1 - shortfall_p_value(27, 32, 0.875) == pytest.approx(0.6292, abs=1e-4)
    assert shortfall_p_value(27, 32, 0.875) == pytest.approx(0.3709, abs=1e-4)
    assert shortfall_p_value(20, 32, 0.875) < 0.001
    assert shortfall_p_value(32, 32, 0.875) == 1.0
    assert shortfall_p_value(0, 8, 1.0) == 0.0
    assert change_p_value(0, 0) == 1.0
    assert share_met_probability(7, 8, 0.875) == pytest.approx(1 - 0.875**9 - 9 * 0.875**8 * 0.125)
    assert share_met_probability(8, 8, 0.875) == pytest.approx(1 - 0.875**9)
    assert change_p_value(0, 6) == pytest.approx(2 / 64)
    low, high = pass_rate_interval(27, 32)
    assert (round(low, 3), round(high, 3)) == (0.672, 0.947)


@pytest.mark.parametrize(
    ("call", "error", "pattern"),
    [
        (lambda: pass_rate_interval(3, 0), ValueError, r"seeds: must be in \[1, 100000\], got 0"),
        (lambda: pass_rate_interval(9, 8), ValueError, r"passed: must be in \[0, 8\], got 9"),
        (lambda: pass_rate_interval(-1, 8), ValueError, r"passed: must be in \[0, 8\], got -1"),
        (lambda: pass_rate_interval(1.5, 8), TypeError, r"passed: must be an integer, got float"),
        (lambda: pass_rate_interval(True, 8), TypeError, r"passed: must be an integer, got bool"),
        (
            lambda: pass_rate_interval(3, 8, 1.0),
            ValueError,
            r"confidence: must be in \(0\.0, 1\.0\), got 1\.0",
        ),
        (
            lambda: pass_rate_interval(3, 8, NAN),
            ValueError,
            r"confidence: must be finite, got nan",
        ),
        (
            lambda: pass_rate_interval(3, 8, "0.9"),
            TypeError,
            r"confidence: must be a number, got str",
        ),
        (
            lambda: shortfall_p_value(3, 8, 0.0),
            ValueError,
            r"share: must be in \(0\.0, 1\.0\], got 0\.0",
        ),
        (
            lambda: shortfall_p_value(3, 8, 1.5),
            ValueError,
            r"share: must be in \(0\.0, 1\.0\], got 1\.5",
        ),
        (
            lambda: shortfall_p_value(3, 8, math.inf),
            ValueError,
            r"share: must be finite, got inf",
        ),
        (
            lambda: change_p_value(-1, 2),
            ValueError,
            r"before_only: must be in \[0, 100000\], got -1",
        ),
        (
            lambda: change_p_value(1, None),
            TypeError,
            r"after_only: must be an integer, got NoneType",
        ),
    ],
)
def test_bad_input_names_the_field(call, error, pattern) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error, match=pattern):
        call()


def test_numpy_integers_are_counts() -> None:
    assert pass_rate_interval(np.int64(7), np.int32(8)) == pass_rate_interval(7, 8)


# ---------------------------------------------------------------- in a Validation


def made(values: list[list[float]], targets: list[Target]) -> Validation:
    scenario = load_preset("default-hour").replace(targets=tuple(targets))
    v = np.array(values, dtype=float)
    return Validation(
        scenario, tuple(range(v.shape[1])), tuple(targets), v, (None,) * v.shape[1], 0.0
    )


def test_pass_rates_and_the_failures_within_chance() -> None:
    near = Target("run.max_drawdown", range=(0.0, 0.1), share=0.875)  # 27 of 32
    far = Target("run.liquidations", range=(0.0, 10.0), share=0.875)  # 20 of 32
    free = Target("kurtosis", value=3.0)  # no range: no row, never a failure
    met = Target("spread_bps", range=(0.0, 5.0), share=0.5)  # 32 of 32
    values = [
        [0.05] * 27 + [0.2] * 4 + [NAN],
        [1.0] * 20 + [50.0] * 12,
        [3.0] * 32,
        [1.0] * 32,
    ]
    v = made(values, [near, far, free, met])
    rates = v.pass_rates()
    assert list(rates.columns) == [
        "target",
        "passed",
        "seeds",
        "share",
        "rate_low",
        "rate_high",
        "p_short",
        "ok",
    ]
    assert rates["target"].tolist() == [
        "GOLD run.max_drawdown",
        "GOLD run.liquidations",
        "GOLD spread_bps",
    ]
    assert rates["passed"].tolist() == [27, 20, 32]
    for row in rates.to_dict("records"):
        assert row["p_short"] == pytest.approx(
            float(lower_tail(row["passed"], 32, Fraction(row["share"])))
        )
        assert (row["rate_low"], row["rate_high"]) == pass_rate_interval(row["passed"], 32)
    assert rates["ok"].tolist() == [False, False, True]
    assert v.failures() == ["GOLD run.max_drawdown", "GOLD run.liquidations"]
    assert v.failures_within_chance() == ["GOLD run.max_drawdown"]  # p 0.37 against p < 0.001
    assert v.failures_within_chance(0.5) == []
    summary = v.to_dict()
    assert summary["failures_within_chance"] == ["GOLD run.max_drawdown"]
    by_label = {t["target"]: t for t in summary["targets"]}
    assert by_label["GOLD kurtosis @300s"]["pass_rate"] is None
    assert by_label["GOLD kurtosis @300s"]["p_short"] is None
    assert by_label["GOLD run.liquidations"]["pass_rate"] == list(pass_rate_interval(20, 32))
    # Every target with a range (the table's verdicts then a numpy bool column): the same.
    ranged = made([values[0], values[1]], [near, far])
    assert ranged.failures_within_chance() == ["GOLD run.max_drawdown"]
    assert ranged.to_dict()["failures_within_chance"] == ["GOLD run.max_drawdown"]
    assert ranged.pass_rates()["ok"].tolist() == [False, False]
    for level, error in ((0.0, ValueError), (1.0, ValueError), (NAN, ValueError), ("x", TypeError)):
        with pytest.raises(error, match=r"level: must be"):
            v.failures_within_chance(level)  # type: ignore[arg-type]


def test_a_comparison_counts_the_seeds_each_world_alone_passes() -> None:
    target = Target("run.max_drawdown", range=(0.0, 0.1), share=0.875)
    aim = Target("kurtosis", value=3.0)
    before = made([[0.05, 0.2, 0.2, 0.2, 0.05, NAN], [3.0] * 6], [target, aim])
    after = made([[0.05, 0.05, 0.05, 0.2, 0.2, 0.05], [3.0] * 6], [target, aim])
    c = Comparison(before, after)
    table = c.table()
    # a plain scan of the two worlds' verdicts seed by seed
    b = [0.0 <= x <= 0.1 for x in before.values[0]]
    a = [0.0 <= x <= 0.1 for x in after.values[0]]
    before_only = sum(x and not y for x, y in zip(b, a, strict=True))
    after_only = sum(y and not x for x, y in zip(b, a, strict=True))
    assert (before_only, after_only) == (1, 3)
    assert table["before_only"].tolist() == [before_only, 0]
    assert table["after_only"].tolist() == [after_only, 0]
    assert table["p_change"].tolist() == [change_p_value(1, 3), 1.0]
    assert c.to_dict()["changes"] == [
        {
            "target": "GOLD run.max_drawdown",
            "before_only": 1,
            "after_only": 3,
            "p_change": change_p_value(1, 3),
        },
        {"target": "GOLD kurtosis @300s", "before_only": 0, "after_only": 0, "p_change": 1.0},
    ]
    rows = [line for line in c.markdown().splitlines() if line.startswith("| GOLD")]
    assert rows[0].endswith(f"| +3 / -1 (p {change_p_value(1, 3):.2g}) |")
    assert rows[1].endswith("| +0 / -0 (p 1) |")
