"""The fair value's own figures: each fact of returns measured on the fair value's path
(``market_facts(..., of="value")``, ``target_values(..., of="value")``, ``validate``'s
``value_passed``), checked against plain numpy on the recorded fair column, a recount
of the passes, hand-made validations with known verdicts, the command line and bad
input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.analysis import market_facts
from deleverage.calibration import Validation, target_values, validate
from deleverage.cli import main
from deleverage.scenario import Scenario, Target, save_toml
from deleverage.scenario.targets import MARKET_FACTS, VALUE_FACTS
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

INF = math.inf
NAN = math.nan
QUIET = 1800  # the default-hour preset's quiet half hour, in steps of 1 s


def bare_hour() -> Scenario:
    return load_preset("default-hour").replace(quiet_window=(), targets=())


TARGETS = (
    Target("daily_vol", horizon=10, range=(0.0, 10.0)),
    Target("return_acf_1", horizon=5, range=(-0.1, 0.1)),
    Target("abs_acf_1", horizon=10, range=(0.1, INF)),
    Target("kurtosis", horizon=5, range=(3.0, INF)),
    Target("kurtosis_fade", horizon=5, range=(0.0, INF)),
    Target("vol_ratio", horizon=10, range=(0.7, 1.5)),  # 1 for the value: not its fact
    Target("spread_bps", range=(0.0, 50.0)),
    Target("run.max_drawdown", range=(0.0, 1.0)),
    Target("return_acf_1", horizon=5, window=(0, INF), range=(-0.9, 0.9)),
)
VALUE_ROWS = [0, 1, 2, 3, 4, 8]  # the facts of returns


@pytest.fixture(scope="module")
def runs():
    world = bare_hour()
    return {seed: simulate(world, seed, progress=False) for seed in (0, 1, 2)}


def _acf(x: np.ndarray, lag: int) -> float:
    d = x - x.mean()
    return float(d[:-lag] @ d[lag:] / (d @ d))


def _excess_kurtosis(x: np.ndarray) -> float:
    d = x - x.mean()
    return float(np.mean(d**4) / np.mean(d**2) ** 2 - 3.0)


def test_value_figures_against_plain_numpy_on_the_fair_column(runs):
    for seed, result in runs.items():
        got = target_values(result, TARGETS, of="value")
        fair = result.series["GOLD"]["fair"].to_numpy()
        quiet = fair[:QUIET]
        r10 = np.diff(np.log(quiet[::10]))
        r5 = np.diff(np.log(quiet[::5]))
        assert got[0] == pytest.approx(np.std(r10, ddof=1) * math.sqrt(86400 / 10), rel=1e-12)
        assert got[1] == pytest.approx(_acf(r5, 1), rel=1e-9, abs=1e-12)
        assert got[2] == pytest.approx(_acf(np.abs(r10), 1), rel=1e-9, abs=1e-12)
        assert got[3] == pytest.approx(_excess_kurtosis(r5), rel=1e-9)
        r60 = np.diff(np.log(quiet[::60]))
        assert got[4] == pytest.approx(_excess_kurtosis(r5) - _excess_kurtosis(r60), rel=1e-9)
        # not facts of the value: its vol_ratio is 1, it has no spread or drawdown of its own
        assert all(math.isnan(got[i]) for i in (5, 6, 7)), seed
        whole = np.diff(np.log(fair[::5]))
        assert got[8] == pytest.approx(_acf(whole, 1), rel=1e-9, abs=1e-12)
        # and they are the price's figures wherever the price is replaced by the value
        price = target_values(result, TARGETS)
        assert got != price


def test_market_facts_of_value_measure_the_fair_path(runs):
    result = runs[0]
    value = market_facts(result, horizons=[5, 60], of="value")
    price = market_facts(result, horizons=[5, 60])
    assert list(value.columns) == list(price.columns) == list(MARKET_FACTS)
    assert list(value.index) == list(price.index)
    fair = result.series["GOLD"]["fair"].to_numpy()[:QUIET]
    for horizon in (5, 60):
        row = value.loc[("GOLD", float(horizon))]
        r = np.diff(np.log(fair[::horizon]))
        assert row["return_acf_2"] == pytest.approx(_acf(r, 2), rel=1e-9, abs=1e-12)
        for fact in MARKET_FACTS:
            if fact not in VALUE_FACTS:
                assert math.isnan(row[fact]), fact
    # over the whole run every fact of returns of the value is measured, and nothing else
    whole = market_facts(result, window="all", horizons=[5], of="value").iloc[0]
    assert {f for f in MARKET_FACTS if not math.isnan(whole[f])} == VALUE_FACTS
    # the price's vol_ratio is its daily_vol over the value's
    five = price.loc[("GOLD", 5.0)]
    assert five["fair_daily_vol"] == pytest.approx(value.loc[("GOLD", 5.0), "daily_vol"])


def test_validate_value_figures_equal_separate_runs_and_a_recount(runs):
    v = validate(bare_hour(), 3, targets=TARGETS)
    assert v.value_values is not None
    want = np.array([target_values(runs[s], TARGETS, of="value") for s in (0, 1, 2)]).T
    np.testing.assert_array_equal(v.value_values, want)
    # the verdict is the market's alone
    np.testing.assert_array_equal(
        v.values, np.array([target_values(runs[s], TARGETS) for s in (0, 1, 2)]).T
    )
    counted: list[int | None] = []
    for i, target in enumerate(TARGETS):
        if i not in VALUE_ROWS:
            counted.append(None)
            continue
        low, high = target.range
        counted.append(sum(1 for x in want[i] if low <= x <= high))
    assert v.value_passed() == counted
    assert v.table()["value_passed"].tolist() == counted


def made(values, value_values, targets) -> Validation:
    values = np.asarray(values, dtype=float)
    seeds = tuple(range(values.shape[1]))
    return Validation(
        bare_hour(),
        seeds,
        tuple(targets),
        values,
        (None,) * len(seeds),
        0.0,
        None if value_values is None else np.asarray(value_values, dtype=float),
    )


def test_value_failures_are_the_failing_targets_the_value_misses_too():
    kurt = Target("kurtosis", horizon=60, range=(3.0, INF), share=0.75)  # 3 of 4
    acf = Target("return_acf_1", horizon=60, range=(-0.1, 0.1), share=0.75)
    spread = Target("spread_bps", range=(0.0, 5.0), share=0.75)
    v = made(
        [
            [1.0, 1.0, 5.0, 5.0],  # fails (2 of 4) ...
            [0.5, 0.5, 0.0, 0.0],  # fails ...
            [9.0, 9.0, 9.0, 1.0],  # fails, not a fact of the value
            [1.0, 1.0, 5.0, 5.0],  # fails, the value measured nowhere
        ],
        [
            [1.0, 0.0, 0.0, 4.0],  # ... and the value meets it in 1 of 4: shared
            [0.0, 0.0, 0.05, 0.2],  # ... but the value meets it in 3 of 4: the market's
            [NAN] * 4,
            [NAN] * 4,
        ],
        [kurt, acf, spread, kurt],
    )
    labels = [t.label("GOLD") for t in (kurt, acf, spread, kurt)]
    assert v.failures() == labels
    assert v.value_passed() == [1, 3, None, None]
    assert v.value_failures() == [kurt.label("GOLD")]
    d = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert d["value_failures"] == [kurt.label("GOLD")]
    assert d["targets"][0]["value_values"] == [1.0, 0.0, 0.0, 4.0]
    assert d["targets"][2]["value_values"] == [None] * 4
    assert [t["value_passed"] for t in d["targets"]] == [1, 3, None, None]


def test_a_passing_target_is_never_a_value_failure():
    target = Target("kurtosis", horizon=60, range=(3.0, INF), share=0.5)
    v = made([[4.0, 4.0]], [[0.0, 0.0]], [target])
    assert v.value_passed() == [0]
    assert v.failures() == []
    assert v.value_failures() == []


def test_without_value_figures_nothing_is_claimed():
    target = Target("kurtosis", horizon=60, range=(3.0, INF))
    v = made([[0.0, 0.0]], None, [target])
    assert v.value_passed() == [None]
    assert v.value_failures() == []
    d = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert d["targets"][0]["value_values"] is None
    assert d["targets"][0]["value_passed"] is None


@settings(max_examples=60, deadline=None)
@given(
    figures=st.lists(
        st.one_of(st.just(NAN), st.floats(-5.0, 5.0, allow_nan=False)), min_size=8, max_size=8
    ),
    low=st.floats(-3.0, 3.0, allow_nan=False),
    width=st.floats(0.0, 4.0, allow_nan=False),
    share=st.sampled_from([0.5, 0.75, 0.875, 1.0]),
)
def test_value_passed_is_a_count_of_the_seeds_in_range(figures, low, width, share):
    target = Target("return_acf_1", horizon=60, range=(low, low + width), share=share)
    v = made([[0.0] * 8], [figures], [target])
    inside = sum(1 for x in figures if not math.isnan(x) and low <= x <= low + width)
    want = None if all(math.isnan(x) for x in figures) else inside
    assert v.value_passed() == [want]


@pytest.mark.parametrize("field", ["values", "value_values"])
def test_figures_of_the_wrong_shape_are_refused(field):
    target = Target("kurtosis", horizon=60, range=(3.0, INF))
    good = np.zeros((1, 2))
    args = {"values": good, "value_values": good, field: np.zeros((2, 2))}
    with pytest.raises(ValueError, match=rf"^{field}: must be targets x seeds \(1, 2\)"):
        Validation(bare_hour(), (0, 1), (target,), args["values"], (None, None), 0.0,
                   args["value_values"])  # fmt: skip


def test_bad_of_is_refused_naming_it(runs):
    result = runs[0]
    with pytest.raises(ValueError, match=r"^of: must be one of \['price', 'value'\], got 'fair'"):
        market_facts(result, of="fair")
    with pytest.raises(ValueError, match=r"^of: must be one of \['price', 'value'\], got 1"):
        target_values(result, TARGETS, of=1)  # type: ignore[arg-type]


def test_the_command_line_shows_the_value_column_and_the_shared_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    impossible = Target("daily_vol", horizon=10, range=(-2.0, -1.0))  # no volatility is < 0
    tight = Target("spread_bps", range=(0.0, 1e-6))
    fine = Target("run.max_drawdown", range=(0.0, 1.0))
    path = tmp_path / "world.toml"
    save_toml(load_preset("default-hour").replace(targets=(impossible, tight, fine)), path)
    assert main(["validate", str(path), "--seeds", "2"]) == 1
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "pass" in line and "target" in line)
    assert header.split()[-1] == "value"
    row = next(line for line in out.splitlines() if line.strip().startswith("GOLD daily_vol"))
    assert row.split()[-1] == "0/2"  # the value's own volatility is not negative either
    assert "FAILS 2 of 3 targets" in out
    assert "1 of them the fair value's own path misses too" in out
    assert out.rstrip().endswith(impossible.label("GOLD"))
    assert main(["validate", str(path), "--seeds", "2", "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["value_failures"] == [impossible.label("GOLD")]
    # without a fact of returns among the targets there is no value column
    save_toml(load_preset("default-hour").replace(targets=(tight, fine)), path)
    assert main(["validate", str(path), "--seeds", "2"]) == 1
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "pass" in line and "target" in line)
    assert header.split()[-1] == "pass"
    assert "fair value's own" not in out
