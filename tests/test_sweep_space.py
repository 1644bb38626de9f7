"""Sweep spaces and dotted paths: grid sizes, Latin-hypercube bounds, and bad spaces
refused with errors that name the field."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.scenario import Distribution
from deleverage.scenarios import load_preset
from deleverage.sweeps import (
    Grid,
    LatinHypercube,
    RandomSamples,
    Table,
    apply_paths,
    check_path,
    run_seed,
    sweep,
)
from deleverage.sweeps.paths import parse_path
from deleverage.sweeps.seeds import SeedPlan

BASE = load_preset("default-hour")


# ---------------------------------------------------------------- spaces


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_grid_is_the_full_product(lengths: list[int]) -> None:
    axes = {f"p{i}": list(range(n)) for i, n in enumerate(lengths)}
    points = Grid(axes).points()
    assert len(points) == math.prod(lengths) == Grid(axes).size
    assert list(points.columns) == list(axes)
    assert not points.duplicated().any()
    # The first path varies slowest (itertools.product order).
    assert points.iloc[0].tolist() == [0] * len(lengths)
    assert points.iloc[-1].tolist() == [n - 1 for n in lengths]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.floats(0, 1e6, allow_nan=False)),
        min_size=1,
        max_size=3,
    ),
    st.integers(1, 50),
    st.integers(0, 2**32),
)
def test_lhs_and_random_stay_in_bounds(
    boxes: list[tuple[float, float]], samples: int, seed: int
) -> None:
    ranges = {f"p{i}": (low, low + width) for i, (low, width) in enumerate(boxes)}
    for cls in (LatinHypercube, RandomSamples):
        points = cls(ranges, samples, seed).points()
        assert len(points) == samples
        for path, (low, high) in ranges.items():
            assert points[path].between(low, high).all()
        assert points.equals(cls(ranges, samples, seed).points())  # deterministic


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.integers(0, 1000))
def test_lhs_hits_every_stratum_once(samples: int, seed: int) -> None:
    points = LatinHypercube({"a": (0.0, 1.0), "b": (10.0, 20.0)}, samples, seed).points()
    for path, low in (("a", 0.0), ("b", 10.0)):
        width = 1.0 if path == "a" else 10.0
        strata = np.floor((points[path] - low) / width * samples).clip(0, samples - 1)
        assert sorted(strata.astype(int)) == list(range(samples))


def test_integer_ranges_draw_integers() -> None:
    points = LatinHypercube({"clock.steps": (100, 110)}, 30, 1).points()
    assert points["clock.steps"].dtype == np.int64
    assert points["clock.steps"].between(100, 110).all()


def test_table_from_rows_and_frame() -> None:
    rows = [{"a": 1.0, "b": 2}, {"b": 3, "a": 4.0}]
    assert Table(rows).points()["a"].tolist() == [1.0, 4.0]
    frame = pd.DataFrame({"a": [1.0, 2.0]}, index=[7, 9])
    assert Table(frame).points().index.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: Grid({}), ValueError, r"space\.grid: must name at least one path"),
        (lambda: Grid({"clock.steps": []}), ValueError, r"space\.grid\['clock\.steps'\]"),
        (lambda: Grid({"clock.steps": "300"}), TypeError, r"space\.grid\['clock\.steps'\]"),
        (
            lambda: LatinHypercube({"clock.dt": (2.0, 1.0)}, 4),
            ValueError,
            r"space\.lhs\['clock\.dt'\]: low must be <= high, got low 2\.0 > high 1\.0",
        ),
        (
            lambda: RandomSamples({"clock.dt": (1.0, 2.0, 3.0)}, 4),
            ValueError,
            r"space\.random\['clock\.dt'\]: must be \[low, high\]",
        ),
        (
            lambda: RandomSamples({"clock.dt": (1.0, math.inf)}, 4),
            ValueError,
            r"high must be a finite number",
        ),
        (lambda: LatinHypercube({"clock.dt": (1.0, 2.0)}, 0), ValueError, r"space\.lhs\.samples"),
        (
            lambda: RandomSamples({"clock.dt": (1.0, 2.0)}, -3),
            ValueError,
            r"space\.random\.samples",
        ),
        (lambda: LatinHypercube({}, 4), ValueError, r"space\.lhs: must name at least one path"),
        (lambda: Table([]), ValueError, r"space\.table: must hold at least one row"),
        (
            lambda: Table([{"a": 1}, {"b": 2}]),
            ValueError,
            r"space\.table\[1\]: must name the same paths as row 0 \(a\); missing: \['a'\], "
            r"extra: \['b'\]",
        ),
        (lambda: Grid({"a..b": [1]}), ValueError, r"space\.grid: a\.\.b: empty component"),
    ],
)
def test_bad_spaces_are_refused(make, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        make()


def test_sweep_refuses_unknown_paths_and_bad_values_before_running() -> None:
    with pytest.raises(ValueError, match=r"max_liquidation: unknown field 'max_liquidation'"):
        sweep(BASE, {"policy.max_liquidation": [1.0]})
    with pytest.raises(
        ValueError,
        match=r"space point 1: populations\.speculators\.params\.max_leverage: "
        r"must be in \[1\.0, 10000\.0\], got 0\.5",
    ):
        sweep(BASE, {"populations.speculators.params.max_leverage": [2.0, 0.5]})
    with pytest.raises(TypeError, match=r"space: must be a Grid"):
        sweep(BASE, 42)
    with pytest.raises(ValueError, match=r"seeds: must be >= 1"):
        sweep(BASE, {"clock.steps": [100]}, seeds=0)


# ---------------------------------------------------------------- paths


def test_paths_by_name_index_and_brackets() -> None:
    assert parse_path("populations[0].params") == parse_path("populations.0.params")
    s = apply_paths(
        BASE,
        {
            "policy.max_liquidation_notional_per_step": 5e6,
            "clock.steps": 2500,
            "populations.speculators.params.max_leverage": np.float64(12.0),
            "populations[3].params.vol_withdraw": 0.7,
            "populations.speculators.params.target_leverage.high": 9.0,
            "instruments.GOLD.fundamental.volatility": 0.3,
            "instruments.0.fundamental.shocks.0.value": -0.1,
        },
    )
    assert s.policy.max_liquidation_notional_per_step == 5e6
    assert s.clock.steps == 2500
    spec = s.populations[0].params
    assert spec.max_leverage == 12.0
    assert type(spec.max_leverage) is float
    assert spec.target_leverage == Distribution.uniform(2.0, 9.0)
    assert s.populations[3].params.vol_withdraw == 0.7
    assert s.instruments[0].fundamental.volatility == 0.3
    assert s.instruments[0].fundamental.shocks[0].value == -0.1
    assert BASE.clock.steps == 3600  # the base is untouched


def test_fields_that_constrain_each_other_move_together() -> None:
    # low 20 > the current high 15: valid only with the new high applied at once.
    s = apply_paths(
        BASE,
        {
            "populations.speculators.params.target_leverage.low": 20.0,
            "populations.speculators.params.target_leverage.high": 30.0,
        },
    )
    assert s.populations[0].params.target_leverage == Distribution.uniform(20.0, 30.0)


def test_a_mapping_replaces_a_whole_dataclass() -> None:
    s = apply_paths(
        BASE, {"populations.speculators.params.target_leverage": {"kind": "fixed", "value": 5.0}}
    )
    assert s.populations[0].params.target_leverage == Distribution.fixed(5.0)


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("nope", r"nope: unknown field 'nope' at the scenario; valid: name, instruments"),
        (
            "populations.dealers.params.vol_withdraw",
            r"unknown item 'dealers' at 'populations'; valid: speculators, noise, value, "
            r"market_makers, holders or an index 0\.\.4",
        ),
        ("populations.9.accounts", r"unknown item 9 at 'populations'"),
        ("clock.steps.x", r"'clock\.steps' is a int value, it has no field 'x'"),
        ("instruments.GOLD.fundamental.shocks.foo", r"unknown item 'foo' .* an index 0\.\.0"),
    ],
)
def test_unknown_paths_list_the_valid_names(path: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_path(BASE, path)


def test_bad_values_carry_the_dotted_path() -> None:
    with pytest.raises(ValueError, match=r"^policy\.max_liquidation_notional_per_step: must be in"):
        apply_paths(BASE, {"policy.max_liquidation_notional_per_step": -1.0})
    with pytest.raises(TypeError, match=r"^clock\.steps: must be an integer, got float"):
        apply_paths(BASE, {"clock.steps": 10.5})
    with pytest.raises(
        ValueError, match=r"target_leverage\.high: must be >= low \(2\.0\), got 1\.0"
    ):
        apply_paths(BASE, {"populations.speculators.params.target_leverage.high": 1.0})
    # A check of the whole scenario says what was being set.
    with pytest.raises(ValueError, match=r"< clock\.steps \(100\).*setting clock\.steps=100"):
        apply_paths(BASE, {"clock.steps": 100})


# ---------------------------------------------------------------- seeds


def test_run_seeds_are_spawned_and_stable() -> None:
    expected = np.random.SeedSequence(7).spawn(5)[4].generate_state(1, np.uint64)[0] >> 1
    assert run_seed(7, 4) == int(expected)
    seeds = [run_seed(7, k) for k in range(100)]
    assert len(set(seeds)) == 100
    assert all(0 <= s < 2**63 for s in seeds)
    assert SeedPlan([3, 5], 0).seed(1) == 5
    assert SeedPlan([3, 5], 0).seed(2) == 3
    with pytest.raises(ValueError, match=r"seeds\[1\]: must be in 0\.\.2\*\*63-1"):
        SeedPlan([1, -2])
