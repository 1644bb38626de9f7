"""Every shipped preset declares its quiet window and its targets, and they can be measured."""

from __future__ import annotations

import math

import pytest

from deleverage.calibration import target_values
from deleverage.calibration.evaluate import check_figures
from deleverage.scenario import Scenario
from deleverage.scenarios import PRESETS, load_preset
from deleverage.simulate import simulate

#: The quiet-window facts every instrument of every preset is held to.
QUIET_FACTS = {"vol_ratio", "return_acf_1", "abs_acf_1", "kurtosis", "spread_bps", "one_sided"}
#: Market facts measured on every step of the window, not on returns.
STEP_FACTS = {"spread_bps", "one_sided", "depth", "mispricing"}
#: Fewest returns a fact is computed from (analysis.market_facts.MIN_RETURNS).
MIN_RETURNS = 20
#: A small run of each preset: the size at which the test runs it.
SMALL = {
    "crypto-cascade-2025": 0.3,
    "dash-for-cash-2020": 0.1,
    "default": 1.0,
    "default-hour": 1.0,
    "default-day": 0.2,
    "gold-2026": 0.02,
    "leverage-cycle": 1.0,
}


def _quiet_market_targets(scenario: Scenario, instrument: str) -> list:
    """The instrument's ordinary-days facts: in the quiet window, or in a window
    of their own (a market with no story before the news has more ordinary days)."""
    first = scenario.instruments[0].name
    return [
        t for t in scenario.targets if t.kind == "market" and (t.instrument or first) == instrument
    ]


def _returns_in(scenario: Scenario, horizon: float, window: tuple[float, ...] = ()) -> int:
    """Non-overlapping returns of ``horizon`` seconds in the window (by default the quiet one)."""
    start, end = window or scenario.quiet_span()
    end = min(end, scenario.clock.duration)
    steps = round((end - start) / scenario.clock.dt)
    k = round(horizon / scenario.clock.dt)
    return math.ceil(steps / k) - 1


def test_every_shipped_preset_is_covered() -> None:
    assert set(SMALL) == set(PRESETS)


@pytest.mark.parametrize("name", PRESETS)
def test_every_target_names_a_figure_validate_knows(name: str) -> None:
    # validate and calibrate check the targets before any run: a preset whose
    # target they refuse cannot be validated at all.
    check_figures(load_preset(name), load_preset(name).targets)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_declares_a_quiet_window_and_targets(name: str) -> None:
    scenario = load_preset(name)
    assert scenario.quiet_window, f"{name}: no quiet_window"
    assert scenario.targets, f"{name}: no [[targets]]"
    for target in scenario.targets:
        assert target.note, f"{name}: target {target.fact!r} has no note"


@pytest.mark.parametrize("name", PRESETS)
def test_every_instrument_has_the_quiet_window_facts(name: str) -> None:
    scenario = load_preset(name)
    for spec in scenario.instruments:
        facts = {t.fact for t in _quiet_market_targets(scenario, spec.name)}
        missing = QUIET_FACTS - facts
        assert not missing, f"{name} {spec.name}: no quiet-window target for {sorted(missing)}"


@pytest.mark.parametrize("name", PRESETS)
def test_the_quiet_window_holds_enough_returns(name: str) -> None:
    scenario = load_preset(name)
    for target in scenario.targets:
        if target.kind != "market" or target.fact in STEP_FACTS:
            continue
        horizon = target.horizon * (12 if target.fact == "kurtosis_fade" else 1)
        n = _returns_in(scenario, horizon, target.window)
        assert n >= MIN_RETURNS, (
            f"{name} {target.fact} @{target.horizon:g}s: its window holds {n} returns "
            f"of {horizon:g} s, fewer than {MIN_RETURNS}"
        )


@pytest.mark.parametrize("name", PRESETS)
def test_every_target_of_a_small_run_can_be_evaluated(name: str) -> None:
    scenario = load_preset(name)
    small = scenario if SMALL[name] == 1.0 else scenario.scaled(SMALL[name])
    result = simulate(small, seed=0, progress=False)
    values = target_values(result, small.targets)  # raises on an unknown figure
    assert len(values) == len(small.targets)
    first = small.instruments[0].name
    for target, value in zip(small.targets, values, strict=True):
        assert isinstance(value, float)
        if target.kind == "market":
            where = target.label(target.instrument or first)
            assert not math.isnan(value), f"{name}: {where} is NaN in its window"
