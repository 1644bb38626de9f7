"""``target_drivers`` and ``Validation.drivers``: which figures a target's spread over
the seeds moves with, against a plain re-computation with scipy's own test."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from deleverage.calibration import validate
from deleverage.calibration.drivers import DRIVER_COLUMNS, MIN_SEEDS, target_drivers
from deleverage.calibration.validate import Validation
from deleverage.cli import main
from deleverage.scenario import Target, save_toml
from deleverage.scenarios import load_preset


def _oracle(
    values: np.ndarray, i: int, ranges: list[tuple[float, float] | None], level: float
) -> dict[int, tuple[int, float, float, float, float, float, float]]:
    """Every candidate driver of target i kept at ``level``, by hand: scipy's pearsonr
    for r and p, polyfit for the line."""
    found = []
    for j in range(values.shape[0]):
        if j == i:
            continue
        both = np.isfinite(values[i]) & np.isfinite(values[j])
        y, x = values[i][both], values[j][both]
        if both.sum() < MIN_SEEDS or np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        test = stats.pearsonr(x, y)
        slope, intercept = np.polyfit(x, y, 1)
        found.append(
            (j, int(both.sum()), float(test.statistic), float(test.pvalue), slope, intercept)
        )
    out = {}
    for j, n, r, p, slope, intercept in found:
        p = min(1.0, p * len(found))
        # A p at the level itself is kept or not by the last bit of two computations.
        assume(abs(p - level) > 1e-6 * level)
        if p < level:
            rng = ranges[i]
            ends = sorted((b - intercept) / slope for b in rng) if rng else [math.nan, math.nan]
            out[j] = (n, r, p, slope, intercept, ends[0], ends[1])
    return out


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 6).flatmap(
        lambda k: st.tuples(
            st.lists(
                st.lists(finite | st.just(math.nan), min_size=12, max_size=12),
                min_size=k,
                max_size=k,
            ),
            st.lists(finite, min_size=k, max_size=k),
        )
    ),
    st.integers(1, 3),
)
def test_drivers_match_scipy_and_polyfit(
    data: tuple[list[list[float]], list[float]], top: int
) -> None:
    rows, scale = data
    rng = np.random.default_rng(len(rows))
    base = rng.normal(size=12)
    # Half the rows lean on a common factor, so drivers exist to be found.
    values = np.array(rows, dtype=np.float64) * 1e-3 + np.outer(scale, base)
    labels = [f"t{i}" for i in range(len(rows))]
    ranges: list[tuple[float, float] | None] = [(-1.0, 2.0), None] + [(0.0, math.inf)] * (
        len(rows) - 2
    )
    ranges = ranges[: len(rows)]
    got = target_drivers(values, labels, ranges, range(len(rows)), level=0.05, top=top)
    for i, label in enumerate(labels):
        oracle = _oracle(values, i, ranges, 0.05)
        mine = got[got["target"] == label].to_dict("records")
        # The top ones by |r| (which of two tied at the last place is a rounding's choice).
        best = sorted((abs(row[1]) for row in oracle.values()), reverse=True)[:top]
        assert [abs(row["r"]) for row in mine] == pytest.approx(best, abs=1e-9)
        for row in mine:
            n, r, p, slope, intercept, low, high = oracle[labels.index(row["driver"])]
            assert row["seeds"] == n
            assert row["r"] == pytest.approx(r, abs=1e-9)
            assert row["p"] == pytest.approx(p, rel=1e-6, abs=1e-15)
            assert row["slope"] == pytest.approx(slope, rel=1e-7, abs=1e-12)
            assert row["intercept"] == pytest.approx(intercept, rel=1e-7, abs=1e-9)
            for a, b in ((row["driver_low"], low), (row["driver_high"], high)):
                assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(
                    b, rel=1e-6, abs=1e-9
                )


def test_an_exact_line_gives_the_range_of_the_driver() -> None:
    x = np.linspace(0.0, 1.0, 8)
    wobble = np.array([0.0, 0.1, -0.1, 0.05, 0.0, -0.05, 0.1, 0.0])
    values = np.vstack([2.0 - 3.0 * x, x, 1.0 + 0.5 * x + wobble])
    ranges = [(0.5, 1.1), None, (1.2, math.inf)]
    got = target_drivers(values, ["crash", "premium", "other"], ranges, [0, 2], top=1)
    crash, other = got.to_dict("records")
    assert crash["driver"] == "premium"
    assert crash["r"] == pytest.approx(-1.0)
    assert crash["p"] < 1e-12
    assert (crash["slope"], crash["intercept"]) == (pytest.approx(-3.0), pytest.approx(2.0))
    # 2 - 3x in [0.5, 1.1] when x in [0.3, 0.5].
    assert (crash["driver_low"], crash["driver_high"]) == (pytest.approx(0.3), pytest.approx(0.5))
    assert other["target"] == "other"
    assert other["driver_high"] == math.inf or other["driver_low"] == -math.inf  # open stays open


def test_unrelated_figures_are_rarely_reported() -> None:
    """Bonferroni keeps the chance that any of 19 unrelated figures is reported for a
    target at most ``level``: over 400 independent validations of 8 seeds, target 0
    gets a driver in at most 5% of them (plus three binomial standard errors)."""
    rng = np.random.default_rng(7)
    labels = [f"t{i}" for i in range(20)]
    hits = 0
    for _ in range(400):
        values = rng.normal(size=(20, 8))
        hits += len(target_drivers(values, labels, [None] * 20, [0])) > 0
    assert hits / 400 <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 400)


def test_few_seeds_and_constant_figures_are_skipped() -> None:
    x = np.arange(8.0)
    values = np.vstack([x, 2 * x, np.full(8, 3.0), np.where(x < 4, 2 * x, np.nan)])
    got = target_drivers(values, ["a", "b", "flat", "half"], [None] * 4, [0], top=5)
    assert list(got["driver"]) == ["b"]  # flat is constant, half has 4 finite seeds
    assert list(got.columns) == DRIVER_COLUMNS


def test_bad_input() -> None:
    values = np.zeros((2, 8))
    with pytest.raises(ValueError, match=r"level: must be in \(0.0, 1.0\)"):
        target_drivers(values, ["a", "b"], [None, None], [0], level=1.0)
    with pytest.raises(ValueError, match=r"top: must be in \[1, 1000\]"):
        target_drivers(values, ["a", "b"], [None, None], [0], top=0)
    with pytest.raises(ValueError, match="which: must be in"):
        target_drivers(values, ["a", "b"], [None, None], [2])
    with pytest.raises(ValueError, match="values: must be targets x seeds"):
        target_drivers(values, ["a"], [None], [0])


TARGETS = (
    Target(
        "spread_bps", window=(0.0, 1800.0), range=(0.0, 1e-3), note="fails: no book is this tight"
    ),
    Target("spread_bps", window=(0.0, 1700.0), range=(0.0, 5.0)),
    Target("run.max_drawdown", range=(0.0, 1.0)),
)


def test_validation_drivers_explain_the_failing_targets(tmp_path: Path) -> None:
    check = validate(load_preset("default-hour").replace(targets=TARGETS), 8, progress=False)
    assert check.failures() == ["GOLD spread_bps [0, 1800]"]
    got = check.drivers()
    assert list(got["target"].unique()) == ["GOLD spread_bps [0, 1800]"]
    best = got.iloc[0]
    assert best["driver"] == "GOLD spread_bps [0, 1700]"  # nearly the same window
    assert best["r"] > 0.9
    labels = list(check.table()["target"])
    oracle = target_drivers(check.values, labels, [t.range or None for t in TARGETS], [2])
    assert check.drivers("GOLD run.max_drawdown").equals(oracle)
    assert check.to_dict()["drivers"][0]["driver"] == "GOLD spread_bps [0, 1700]"
    with pytest.raises(ValueError, match=r"target: must be one of GOLD spread_bps \[0, 1800\]"):
        check.drivers("GOLD nothing")
    world = tmp_path / "world.toml"
    save_toml(load_preset("default-hour").replace(targets=TARGETS), world)
    assert main(["validate", str(world), "--seeds", "8", "-q"]) == 1


def test_cli_prints_the_drivers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = tmp_path / "world.toml"
    save_toml(load_preset("default-hour").replace(targets=TARGETS), world)
    assert main(["validate", str(world), "--seeds", "8", "-q"]) == 1
    out = capsys.readouterr().out
    assert "what their figures over the seeds move with" in out
    assert "GOLD spread_bps [0, 1800]: GOLD spread_bps [0, 1700] (r +" in out


def test_a_validation_without_failures_has_no_drivers() -> None:
    values = np.arange(16.0).reshape(2, 8)
    targets = (
        Target("run.max_drawdown", range=(0.0, 100.0)),
        Target("spread_bps", range=(0.0, 100.0)),
    )
    check = Validation(
        load_preset("default-hour"), tuple(range(8)), targets, values, (None,) * 8, 0.0
    )
    assert check.failures() == []
    assert check.drivers().empty
    assert check.to_dict()["drivers"] == []
