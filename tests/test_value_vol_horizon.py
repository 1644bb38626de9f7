"""``ValueParams.vol_horizon``: value traders who watch their own, slower volatility.

Oracle: the volatility they watch, rebuilt in plain Python from the recorded
last prices (an exponential average over ``vol_horizon`` of the squared
five-minute log returns, started from the fair value's volatility, as the
engine documents it). With ``hold_when_out`` a trader that is out keeps its
position and sends nothing, so every trade a value trader takes (the
aggressor) must come at a step whose decisions saw that volatility under
``vol_exit``. The same world with the market's own volatility (the default,
0) does take trades at steps the slow average calls a storm, so the check can
fail. With ``vol_horizon = 0`` (the default) they watch the market's measure,
so every scenario without the field runs as it did before it existed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deleverage import _core, engine_spec
from deleverage.result import Result
from deleverage.scenario import Scenario, from_toml_str, to_toml_str
from deleverage.scenario.populations import ValueParams
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths
from trade_takers import taker_steps

YEAR = 365.0 * 86400.0
RETURN_SECONDS = 300.0
HORIZON = 600.0
EXIT = 1.5
SEEDS = range(3)


def _world(vol_horizon: float) -> Scenario:
    s = load_preset("default-hour").replace(targets=())
    base = "populations.value.params."
    return apply_paths(
        s,
        {base + "hold_when_out": True, base + "vol_exit": EXIT, base + "vol_horizon": vol_horizon},
    )


def _watched(r: Result, horizon: float) -> np.ndarray:
    """The volatility the value traders' decisions see at each step (plain Python)."""
    dt = r.scenario.clock.dt
    instrument = r.scenario.instruments[0]
    h = max(1, round(RETURN_SECONDS / dt))
    alpha = 2.0 / (max(horizon / dt, 1.0) + 1.0)
    last = r.series[(instrument.name, "last")].to_numpy()
    history = [instrument.start_price / instrument.tick_size] * h
    prior = instrument.fundamental.volatility
    variance = prior * prior * dt / YEAR
    seen = np.empty(len(last))
    for t, price in enumerate(last):
        seen[t] = math.sqrt(variance * (YEAR / dt))  # decisions of step t: the average after t - 1
        ticks = price / instrument.tick_size
        ret = math.log(ticks / history[t % h])
        history[t % h] = ticks
        variance += alpha * (ret * ret / h - variance)
    return seen


def test_value_traders_take_only_when_their_own_volatility_is_calm() -> None:
    taken = seen_in_storm = fast_in_storm = 0
    for seed in SEEDS:
        r = simulate(_world(HORIZON), seed, trade_log=True, progress=False)
        seen = _watched(r, HORIZON)
        steps = taker_steps(r, "value")
        near = np.abs(seen[steps] - EXIT) < 1e-9 * EXIT  # a tie decided by the last bit: not judged
        taken += len(steps)
        seen_in_storm += int((seen[steps][~near] >= EXIT).sum())
        assert (seen >= EXIT).any()  # a storm, by their measure
        assert (seen < EXIT).any()  # and calm
        assert r.conservation_error < 1e-12
        # With the market's few-minute volatility they trade in the slow measure's storm.
        fast = simulate(_world(0.0), seed, trade_log=True, progress=False)
        fast_in_storm += int((_watched(fast, HORIZON)[taker_steps(fast, "value")] >= EXIT).sum())
    assert taken > 0  # they trade
    assert seen_in_storm == 0
    assert fast_in_storm > 0


def test_vol_horizon_is_the_same_on_one_and_two_threads() -> None:
    world = _world(HORIZON)
    one = simulate(world, 3, threads=1, progress=False)
    two = simulate(world, 3, threads=2, progress=False)
    assert one.series.equals(two.series)


def test_vol_horizon_round_trips_through_toml() -> None:
    world = _world(HORIZON)
    assert from_toml_str(to_toml_str(world)) == world


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1.0, ValueError),
        (4e7, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("1h", TypeError),
    ],
)
def test_bad_vol_horizon_is_refused_by_name(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="vol_horizon"):
        ValueParams(vol_horizon=value)  # type: ignore[arg-type]


def test_the_engine_refuses_a_weight_outside_0_1_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(HORIZON)
    spec = engine_spec.strategy_spec(world.populations[2].params, 1.0, ["GOLD"])
    assert isinstance(spec, _core.ValueSpec)
    assert 0.0 < spec.vol_alpha < 1.0
    for weight in (1.5, -0.1, float("nan")):

        def convert(p: object, dt: float, names: object, w: float = weight) -> _core.ValueSpec:
            return _core.ValueSpec(vol_alpha=w)

        bad = engine_spec.StrategyEntry(convert, None)
        monkeypatch.setitem(engine_spec.STRATEGIES, ValueParams, bad)
        with pytest.raises(ValueError, match=r"populations\[2\]\.params\.vol_alpha: must be"):
            simulate(world, 0, progress=False)
