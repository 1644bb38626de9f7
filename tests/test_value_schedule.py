"""``ValueParams.schedule``: value traders who keep their demand schedule in the book.

Oracles: the curve a population's standing orders make, rebuilt from the
documented rule (each account's fixed point on the schedule, the position its
rule wants at that price); the book's recorded depth, which standing orders
a percent from the price must deepen; the money balance; and the same world
without the field, which runs exactly as before it existed (the kernel tests
in ``test_decision_kernels.py`` check every account's order against a plain
model with and without it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deleverage import _core, engine_spec
from deleverage.scenario import Scenario
from deleverage.scenario.populations import ValueParams
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

LAST, TICK_VALUE = 20_000.0, 0.1


def _point(account: int) -> float:
    h = (account * 0x9E3779B97F4A7C15) % 2**64
    return 2.0 * (h >> 11) / 2.0**53 - 1.0


def _view(fair: float) -> _core.MarketView:
    return _core.MarketView(
        last=LAST,
        reference=LAST,
        mid=LAST + 0.5,
        spread=1.0,
        fair=fair,
        volatility=0.1,
        step_sigma=1e-4,
        tick_value=TICK_VALUE,
        initial_rate=0.05,
    )


def _population(schedule: float) -> _core.PopulationSpec:
    params = _core.ValueSpec(
        capital_fraction=1.0,
        aggressiveness=5.0,
        vol_reference=0.3,
        vol_exit=1.0,
        leverage=2.0,
        reach=0.4,
        schedule=schedule,
    )
    return _core.PopulationSpec(first=0, count=1, instrument=0, activity=1.0, params=params)


def _decide(schedule: float, fair: float, equity: np.ndarray, current: np.ndarray):
    n = len(equity)
    accounts = np.arange(n, dtype=np.uint32)
    zeros = np.zeros(n)
    empty = np.zeros(0)
    return _core.decide_batch(
        _population(schedule), _view(fair), 0.0, equity, zeros, zeros, current,
        empty, empty, empty, account=accounts,
    )  # fmt: skip


def _wanted(price: float, fair: float, equity: float) -> int:
    """The position the rule wants at `price` (the parameters of `_population`)."""
    mispricing = (fair - price) / price
    risk = 1.0 / (1.0 + (0.1 / 0.3) ** 2)
    conviction = min(max(5.0 * mispricing, -1.0), 1.0)
    return int(1.0 * equity * 2.0 * conviction * risk / (price * TICK_VALUE))


@pytest.mark.parametrize("premium", [0.03, 0.0, -0.02])
def test_a_population_at_its_target_stands_on_its_demand_curve(premium: float) -> None:
    """Traders holding what they want at the last price offer above it and bid under
    it, each at its own point and for what its rule wants there: summed, the
    population's standing orders are its demand curve around the price."""
    n, width = 2_000, 0.02
    fair = LAST / (1.0 + premium)
    equity = np.full(n, 1e7)
    holding = _wanted(LAST, fair, 1e7)
    current = np.full(n, holding, dtype=np.int64)
    target, price = _decide(width, fair, equity, current)
    points = np.array([_point(a) for a in range(n)])
    at = np.maximum(1, np.floor(LAST * (1.0 + points * width) + 0.5)).astype(np.int64)
    offers = (points > 0) & (at > LAST)
    bids = (points < 0) & (at < LAST)
    assert offers.sum() > 0.45 * n
    assert bids.sum() > 0.45 * n
    # Every account's order is its own point of the curve (plain Python).
    for k in np.flatnonzero(offers | bids):
        assert price[k] == at[k]
        assert target[k] == _wanted(float(at[k]), fair, 1e7)
    assert (target[offers] < holding).all()
    assert (target[bids] > holding).all()
    # The supply above the price grows with the distance, as the demand below it
    # does: the cumulative curve, sorted by price, only ever rises.
    order = np.argsort(at[offers])
    supply = np.cumsum(holding - target[offers][order])
    assert (np.diff(supply) >= 0).all()
    assert supply[-1] > 0
    order = np.argsort(-at[bids])
    demand = np.cumsum(target[bids][order] - holding)
    assert (np.diff(demand) >= 0).all()
    assert demand[-1] > 0
    # Without the schedule, traders at their target send nothing.
    plain_target, _ = _decide(0.0, fair, equity, current)
    assert (plain_target == holding).all()


def test_traders_away_from_their_curve_trade_as_without_it() -> None:
    """A trader whose point would not wait (a purchase above the price, a sale under
    it) trades toward the position it wants at the last price, at its usual limit."""
    n, fair = 400, LAST * 1.01
    equity = np.full(n, 1e7)
    current = np.full(n, -5_000, dtype=np.int64)  # short while the price is under value
    target, price = _decide(0.02, fair, equity, current)
    plain_target, plain_price = _decide(0.0, fair, equity, current)
    points = np.array([_point(a) for a in range(n)])
    above = points > 0
    # Those above the price would buy there: they buy at the usual limit instead.
    assert (target[above] == plain_target[above]).all()
    assert (price[above] == plain_price[above]).all()
    assert price[above][0] == math.floor(LAST + 0.4 * (fair - LAST) + 0.5)


def _world(schedule: float, cash: float = 200_000.0) -> Scenario:
    """default-hour with its value traders' schedule, each with a median of `cash`."""
    s = load_preset("default-hour").replace(targets=(), quiet_window=())
    paths = {"populations.value.params.schedule": schedule, "populations.value.cash.median": cash}
    return apply_paths(s, paths)


def test_a_scheduled_population_deepens_the_book_and_keeps_the_money() -> None:
    """Standing orders within a percent of the price are depth the recorded book
    shows (value traders with $5m each, so that their orders count beside the
    dealers'); the run balances its money and repeats bit for bit."""
    plain = simulate(_world(0.0, 5e6), 0, progress=False)
    scheduled = simulate(_world(0.01, 5e6), 0, progress=False)
    again = simulate(_world(0.01, 5e6), 0, progress=False)

    def depth(r: object) -> float:
        s = r.series["GOLD"]  # type: ignore[attr-defined]
        return float(np.nanmedian((s["depth_bid"] + s["depth_ask"]).to_numpy()))

    assert depth(scheduled) > 1.5 * depth(plain)
    assert abs(scheduled.conservation_error) < 1e-9
    assert scheduled.series.equals(again.series)
    assert scheduled.liquidations.equals(again.liquidations)


def test_the_default_is_off_and_the_world_runs_as_before() -> None:
    assert ValueParams().schedule == 0.0
    plain = simulate(_world(0.0), 1, progress=False)
    unset = simulate(
        load_preset("default-hour").replace(targets=(), quiet_window=()), 1, progress=False
    )
    assert plain.series.equals(unset.series)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-0.01, ValueError),
        (0.6, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        ("2%", TypeError),
    ],
)
def test_a_bad_schedule_is_refused_by_name(value: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="schedule"):
        ValueParams(schedule=value)  # type: ignore[arg-type]


def test_the_engine_refuses_a_schedule_outside_its_range(monkeypatch: pytest.MonkeyPatch) -> None:
    world = _world(0.01)
    index = [p.name for p in world.populations].index("value")
    for width in (0.6, -0.1, math.nan):

        def convert(p: object, dt: float, names: object, w: float = width) -> _core.ValueSpec:
            return _core.ValueSpec(schedule=w)

        monkeypatch.setitem(
            engine_spec.STRATEGIES, ValueParams, engine_spec.StrategyEntry(convert, None)
        )
        with pytest.raises(ValueError, match=rf"populations\[{index}\]\.params\.schedule: must be"):
            simulate(world, 0, progress=False)


@pytest.mark.parametrize("bad", [-1, 2**32, 2**63 - 1])
def test_account_ids_outside_uint32_are_refused(bad: int) -> None:
    equity = np.full(2, 1e7)
    current = np.zeros(2, dtype=np.int64)
    empty = np.zeros(0)
    with pytest.raises(ValueError, match=r"account: ids must be in \[0, 4294967295\]"):
        _core.decide_batch(
            _population(0.02), _view(LAST), 0.0, equity, np.zeros(2), np.zeros(2), current,
            empty, empty, empty, account=np.array([0, bad], dtype=np.int64),
        )  # fmt: skip
    with pytest.raises(ValueError, match="account: must have the length of equity"):
        _core.decide_batch(
            _population(0.02), _view(LAST), 0.0, equity, np.zeros(2), np.zeros(2), current,
            empty, empty, empty, account=np.arange(3),
        )  # fmt: skip
