"""``SpeculatorParams.vol_target``: momentum traders who size by risk, cutting
their leverage by ``vol_target / volatility`` while the volatility they watch
is above the target.

Oracles: the kernel's every target against a plain model (in
``test_decision_kernels.py``); here the volatility the crowd watches, rebuilt
in plain Python. A decision at a step sees the volatility after the step
before, so a world with the target runs bit for bit as the world without it
until the first step after the watched volatility passed the target, and
apart from then on. The market's volatility is the recorded ``volatility``
column; the crowd's own average (``vol_horizon``) is rebuilt from the recorded
last prices. The market's crosses the target about eight minutes before the
crowd's own half-hour average does in every seed used, and a crowd watching
the market parts from the plain world there: so the check on the own average
can fail. A target over any volatility changes nothing, one under any keeps
the crowd out, money balances, runs repeat, and bad values are refused by
name in Python and in the engine.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from deleverage import _core, engine_spec
from deleverage.engine_spec import engine_input, simulation
from deleverage.result import Result
from deleverage.scenario import PopulationChange, Scenario
from deleverage.scenario.populations import SpeculatorParams
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

YEAR = 365.0 * 86400.0
RETURN_SECONDS = 300.0
TARGET = 0.25  # over gold's 19%: crossed in default-hour's hour, before and in its crash
OWN_HORIZON = 1800.0
SEEDS = range(4)


def _world(vol_target: float, vol_horizon: float = 0.0) -> Scenario:
    s = load_preset("default-hour").replace(targets=(), quiet_window=())
    base = "populations.speculators.params."
    return apply_paths(s, {base + "vol_target": vol_target, base + "vol_horizon": vol_horizon})


def own_volatility(last: np.ndarray, start: float, dt: float, prior: float) -> np.ndarray:
    """The crowd's own volatility after each step: an exponential average over
    OWN_HORIZON of squared five-minute log returns of the last price, started
    from the fair value's volatility (annualised)."""
    h = max(1, round(RETURN_SECONDS / dt))
    w = 2.0 / (max(OWN_HORIZON / dt, 1.0) + 1.0)
    prices = [start] * h
    variance = prior * prior * dt / YEAR
    out = np.empty(len(last))
    for t, price in enumerate(last):
        r = math.log(price / prices[t % h])
        prices[t % h] = price
        variance += w * (r * r / h - variance)
        out[t] = math.sqrt(variance * YEAR / dt)
    return out


def _first_difference(a: Result, b: Result) -> int:
    x, y = a.series.to_numpy(), b.series.to_numpy()
    same = np.all((x == y) | (np.isnan(x) & np.isnan(y)), axis=1)
    apart = np.flatnonzero(~same)
    return int(apart[0]) if len(apart) else len(same)


def _first_over(volatility: np.ndarray) -> int:
    """The first step whose decisions see a volatility over the target."""
    over = np.flatnonzero(volatility > TARGET)
    assert len(over), "the world never passes the target"
    return int(over[0]) + 1


@pytest.fixture(scope="module")
def plain() -> dict[int, Result]:
    return {seed: simulate(_world(0.0), seed, progress=False) for seed in SEEDS}


def test_the_crowd_watching_the_market_cuts_from_the_first_step_over_the_target(
    plain: dict[int, Result],
) -> None:
    soon = 0
    for seed in SEEDS:
        over = _first_over(plain[seed].series["GOLD"]["volatility"].to_numpy())
        apart = _first_difference(plain[seed], simulate(_world(TARGET), seed, progress=False))
        assert over <= apart < 3600, seed
        soon += apart - over <= 10
    assert soon >= 2


def test_the_crowd_on_its_own_average_cuts_from_the_first_step_it_is_over(
    plain: dict[int, Result],
) -> None:
    scenario = plain[0].scenario
    start = scenario.instruments[0].start_price
    prior = scenario.instruments[0].fundamental.volatility
    for seed in SEEDS:
        gold = plain[seed].series["GOLD"]
        own = own_volatility(gold["last"].to_numpy(), start, scenario.clock.dt, prior)
        over = _first_over(own)
        market_over = _first_over(gold["volatility"].to_numpy())
        on_own = simulate(_world(TARGET, OWN_HORIZON), seed, progress=False)
        on_market = simulate(_world(TARGET), seed, progress=False)
        assert over <= _first_difference(plain[seed], on_own) < 3600, seed
        # A crowd on the market's volatility would have parted before: the check can fail.
        assert market_over + 300 < over, seed
        assert _first_difference(plain[seed], on_market) < over, seed


def test_a_target_over_any_volatility_changes_nothing(plain: dict[int, Result]) -> None:
    assert SpeculatorParams().vol_target == 0.0
    assert SpeculatorParams().vol_horizon == 0.0
    high = simulate(_world(100.0, OWN_HORIZON), 0, progress=False)
    assert high.series.equals(plain[0].series)
    unset = simulate(
        load_preset("default-hour").replace(targets=(), quiet_window=()), 0, progress=False
    )
    assert unset.series.equals(plain[0].series)


def test_a_target_under_any_volatility_keeps_the_crowd_out(plain: dict[int, Result]) -> None:
    """At a target of 1e-6 the position a decision wants rounds down to no lot:
    the crowd never trades, where it held positions without the target. The
    money balances and the run repeats."""
    out = simulate(_world(1e-6, OWN_HORIZON), 1, progress=False)
    again = simulate(_world(1e-6, OWN_HORIZON), 1, progress=False)

    def gross(r: Result) -> float:
        row = r.accounts.loc["speculators"]
        return float(row["long_lots"] + row["short_lots"])

    assert gross(plain[1]) > 0
    assert gross(out) == 0
    assert abs(out.conservation_error) < 1e-9
    assert out.series.equals(again.series)
    assert out.liquidations.equals(again.liquidations)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("vol_target", -0.1, ValueError),
        ("vol_target", 101.0, ValueError),
        ("vol_target", math.nan, ValueError),
        ("vol_target", "20%", TypeError),
        ("vol_horizon", -1.0, ValueError),
        ("vol_horizon", YEAR + 1.0, ValueError),
        ("vol_horizon", math.inf, ValueError),
    ],
)
def test_a_bad_value_is_refused_by_name(field: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match=field):
        SpeculatorParams(**{field: value})  # type: ignore[arg-type]


def test_the_engine_refuses_values_outside_their_range(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(TARGET)
    index = [p.name for p in world.populations].index("speculators")
    for field, bad in (("vol_target", 101.0), ("vol_target", math.nan), ("vol_alpha", 1.5)):

        def convert(p: object, dt: float, names: object, f: str = field, v: float = bad) -> object:
            return _core.SpeculatorSpec(**{f: v})

        monkeypatch.setitem(
            engine_spec.STRATEGIES, SpeculatorParams, engine_spec.StrategyEntry(convert, None)
        )
        with pytest.raises(ValueError, match=rf"populations\[{index}\]\.params\.{field}: must be"):
            simulate(world, 0, progress=False)


def test_their_own_average_cannot_be_switched_during_a_run() -> None:
    world = _world(TARGET)
    index = [p.name for p in world.populations].index("speculators")
    pop = world.populations[index]
    with pytest.raises(ValueError, match=r"changes\[0\]\.params\.vol_horizon: cannot be switched"):
        dataclasses.replace(pop, changes=(PopulationChange(10, {"vol_horizon": 600.0}),))
    # A new target, or a new horizon for an average kept from the start, is a change like any.
    dataclasses.replace(pop, changes=(PopulationChange(10, {"vol_target": 0.5}),))
    data = engine_input(world, 0)
    spec = data.spec.populations[index]
    params = {f: getattr(spec.params, f) for f in spec.params.fields}
    switched = _core.SpeculatorSpec(**(params | {"vol_alpha": 0.01}))
    change = _core.PopulationChangeSpec(
        step=5, population=index, activity=spec.activity, params=switched
    )
    fields = {f: getattr(data.spec, f) for f in data.spec.fields}
    fields["population_changes"] = [change]
    message = r"population_changes\[0\]\.params\.vol_alpha: the speculators' own volatility"
    with pytest.raises(ValueError, match=message):
        simulation(dataclasses.replace(data, spec=_core.SimulationSpec(**fields)))
