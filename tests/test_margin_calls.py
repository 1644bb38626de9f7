"""Margin calls in a run (``policy.margin_call_grace``, ``policy.close_out_ratio``).

The engine's calls are held against the brute-force oracle, record for record,
in tests/test_margin_oracle.py (``test_margin_calls``), and the oracle's own
rule against hand-worked paths in tests/test_margin_reference.py. Here: the
policy reaches the engine in whole steps, a close-out at the maintenance margin
is no call at all (the run is the one without calls, bit for bit), and a call
that outlasts the run closes only accounts whose equity is gone.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from deleverage.engine_spec import MAX_MARGIN_CALL_CHECKS, engine_settings
from deleverage.scenario import Policy, Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths


def _with_calls(grace: float, close_out: float = 0.0, name: str = "default-hour") -> Scenario:
    return apply_paths(
        load_preset(name),
        {"policy.margin_call_grace": grace, "policy.close_out_ratio": close_out},
    )


@pytest.mark.parametrize(
    ("grace", "checks"), [(0.0, 0), (0.5, 1), (1.0, 1), (60.0, 60), (60.5, 61), (1e9, 10**9)]
)
def test_a_call_is_counted_in_whole_steps(grace: float, checks: int) -> None:
    world = _with_calls(grace, 0.25)
    assert world.clock.dt == 1.0
    settings = engine_settings(world)
    assert settings.margin_call_checks == checks
    assert settings.close_out_ratio == 0.25


def test_a_call_longer_than_any_run_never_ends_in_one() -> None:
    # 1e9 seconds at a millisecond a step is 1e12 steps: past the engine's 32-bit
    # count, but a run has at most 1e8 steps, so the call outlasts every run either way.
    world = _with_calls(1e9)
    world = world.replace(clock=dataclasses.replace(world.clock, dt=0.001))
    assert engine_settings(world).margin_call_checks == MAX_MARGIN_CALL_CHECKS


def test_a_close_out_at_the_maintenance_margin_is_no_call() -> None:
    # Every account under its maintenance margin has equity at or under it:
    # with close_out_ratio 1 each call closes at once, as with no call.
    plain = simulate(load_preset("default-hour"), seed=3, account_states=True)
    called = simulate(_with_calls(600.0, 1.0), seed=3, account_states=True)
    assert plain.account_states["liquidated"].sum() > 0
    pd.testing.assert_frame_equal(called.series, plain.series)
    pd.testing.assert_frame_equal(called.liquidations, plain.liquidations)
    pd.testing.assert_frame_equal(called.account_states, plain.account_states)


def test_a_call_that_outlasts_the_run_closes_only_accounts_whose_equity_is_gone() -> None:
    plain = simulate(load_preset("default-hour"), seed=0, account_states=True).account_states
    called = simulate(_with_calls(1e9), seed=0, account_states=True).account_states
    # Without calls the dips liquidate hundreds of accounts none of which is bankrupt ...
    assert plain["liquidated"].sum() > 100
    assert not (plain["liquidated"] & plain["bankrupt"]).any()
    # ... with a call longer than the run, only a bankrupt account may be closed.
    liquidated = called["liquidated"].to_numpy()
    assert np.all(called["bankrupt"].to_numpy()[liquidated])
    assert liquidated.sum() < plain["liquidated"].sum()


def test_a_short_call_lets_some_dips_pass() -> None:
    plain = simulate(load_preset("default-hour"), seed=0, account_states=True).account_states
    called = simulate(_with_calls(120.0, 0.5), seed=0, account_states=True).account_states
    assert 0 < called["liquidated"].sum() < plain["liquidated"].sum()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("margin_call_grace", -1.0),
        ("margin_call_grace", 2e9),
        ("margin_call_grace", math.nan),
        ("close_out_ratio", -0.01),
        ("close_out_ratio", 1.01),
        ("close_out_ratio", math.nan),
    ],
)
def test_bad_policy_names_the_field_and_its_range(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: must be"):
        Policy(**{field: value})
    with pytest.raises(ValueError, match=rf"policy\.{field}"):
        apply_paths(load_preset("default-hour"), {f"policy.{field}": value})
