"""Margin engine behaviour: the liquidation index against a full scan, conservation,
closed-form liquidation prices, margin hikes, and the zero-copy views."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage import Instrument, MarginEngine, MarginRule

RULES = {
    "percent-mark": MarginRule(initial_rate=0.05, maintenance="percent", maintenance_rate=0.01),
    "percent-entry": MarginRule(
        initial_rate=0.05, maintenance="percent", maintenance_rate=0.01, basis="entry"
    ),
    "fixed": MarginRule(initial_rate=0.1, maintenance="fixed", amount_per_lot=300.0),
    "tiered": MarginRule(
        initial_rate=0.05,
        maintenance="tiered",
        tiers=((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025), (1_000_000.0, 0.05)),
    ),
    "tiered-partial": MarginRule(
        initial_rate=0.05,
        maintenance="tiered",
        tiers=((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025)),
        partial_liquidation=True,
        liquidation_fee_rate=0.002,
    ),
    "closeout": MarginRule(
        initial_rate=0.05,
        maintenance="closeout",
        closeout_share=0.5,
        negative_balance_protection=True,
    ),
}


def _engine(rule: MarginRule, n: int, seed: int, *, fund: float = 1e12, adl: bool = True):
    rng = np.random.default_rng(seed)
    engine = MarginEngine([Instrument("X", 1.0, rule)], insurance_fund=fund, adl=adl)
    side = np.where(rng.random(n) < 0.5, 1, -1)
    lots = rng.integers(1, 30, n)
    entry = 10_000 * (1 + rng.normal(0, 0.01, n))
    leverage = rng.uniform(1.5, 60.0, n)
    engine.add_accounts(lots * entry / leverage, position=side * lots, entry_price=entry)
    return engine


def _path(seed: int, steps: int, start: int = 10_000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    moves = rng.integers(-60, 61, steps)
    jumps = np.where(rng.random(steps) < 0.05, rng.integers(-800, 801, steps), 0)
    return np.maximum(start + np.cumsum(moves + jumps), 1)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=st.sampled_from(sorted(RULES)),
    seed=st.integers(0, 2**32 - 1),
    fund=st.sampled_from([0.0, 5_000.0, 1e12]),
)
def test_index_misses_nobody_and_money_is_conserved(rule: str, seed: int, fund: float) -> None:
    engine = _engine(RULES[rule], 400, seed, fund=fund)
    start = engine.conserved()
    lots = int(engine.position.sum() + engine.fund_position.sum())
    for mark in _path(seed, 80):
        engine.check([int(mark)])
        # A full scan of every account finds nobody the index left behind.
        assert engine.count_liquidatable([int(mark)]) == 0
        assert engine.conserved() == pytest.approx(start, rel=1e-9, abs=1e-6)
        assert int(engine.position.sum() + engine.fund_position.sum()) == lots
    log = engine.log
    assert np.all(np.diff(log["check"].astype(np.int64)) >= 0)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_liquidation_price_is_where_equity_meets_maintenance(rule: str) -> None:
    engine = _engine(RULES[rule], 300, 7)
    prices = engine.liquidation_prices()
    ok = np.isfinite(prices) & (prices > 1)
    assert ok.sum() > 100
    for a in np.flatnonzero(ok)[:200]:
        lp = prices[a]
        # Just past the trigger the account is liquidatable, just before it is not.
        long = engine.position[a, 0] > 0
        inside = math.floor(lp * (1 - 1e-7)) if long else math.ceil(lp * (1 + 1e-7))
        outside = math.ceil(lp * (1 + 1e-7)) if long else math.floor(lp * (1 - 1e-7))
        e_in = engine.equity([inside])[a]
        mm_in = engine.maintenance_margin([inside])[a]
        e_out = engine.equity([outside])[a]
        mm_out = engine.maintenance_margin([outside])[a]
        assert e_in <= mm_in
        assert e_out > mm_out


def test_worked_examples() -> None:
    # Isolated 1 lot long at 20,000, 50x (cash 400), MMR 0.5%.
    for basis, expected in (("entry", 19_700.0), ("mark", 19_600.0 / 0.995)):
        rule = MarginRule(initial_rate=0.02, maintenance_rate=0.005, basis=basis)
        engine = MarginEngine([Instrument("BTC", 1.0, rule)])
        engine.add_accounts([400.0], position=[1], entry_price=[20_000.0])
        assert engine.liquidation_prices()[0] == pytest.approx(expected, rel=1e-12)
    engine = MarginEngine(
        [
            Instrument(
                "BTC", 1.0, MarginRule(initial_rate=0.02, maintenance_rate=0.005, basis="entry")
            )
        ]
    )
    engine.add_accounts([400.0], position=[1], entry_price=[20_000.0])
    assert len(engine.check([19_701])) == 0
    (rec,) = engine.check([19_700])
    # Taken over by the fund at the bankruptcy price 19,600; the fund gains the 100 of equity.
    assert rec["kind"] == 2
    assert rec["price"] == pytest.approx(19_600.0)
    assert engine.position[0, 0] == 0
    assert engine.cash[0] == pytest.approx(0.0, abs=1e-9)
    assert engine.fund_position[0] == 1
    assert engine.fund_cost[0] == pytest.approx(19_600.0)


def test_margin_hike_liquidates_at_the_same_mark() -> None:
    low = MarginRule(initial_rate=0.1, maintenance_rate=0.06)
    high = MarginRule(initial_rate=0.1, maintenance_rate=0.08)
    engine = MarginEngine([Instrument("GC", 10.0, low)], insurance_fund=1e9)
    # Equity / notional of 7%: safe under 6% maintenance, liquidatable under 8%.
    engine.add_accounts([7_000.0, 20_000.0], position=[1, 1], entry_price=[10_000.0, 10_000.0])
    assert len(engine.check([10_000])) == 0
    engine.set_rule(0, high)
    records = engine.check([10_000])
    assert records["account"].tolist() == [0]
    assert engine.count_liquidatable([10_000]) == 0


def test_adl_when_the_fund_cannot_cover() -> None:
    rule = MarginRule(initial_rate=0.1, maintenance_rate=0.01)
    engine = MarginEngine([Instrument("X", 1.0, rule)], insurance_fund=0.0, adl=True)
    # A 10x long and two shorts; the mark gaps far below the long's bankruptcy price.
    engine.add_accounts(
        [1_000.0, 5_000.0, 5_000.0], position=[10, -4, -6], entry_price=[1_000.0, 1_000.0, 1_200.0]
    )
    start = engine.conserved()
    records = engine.check([800])
    kinds = records["kind"].tolist()
    assert kinds[0] == 3
    assert set(kinds[1:]) == {4}
    # Ranked by profit x leverage: the short entered at 1,200 is deleveraged first.
    assert records["account"][1:].tolist() == [2, 1]
    assert engine.position[:, 0].tolist() == [0, 0, 0]
    assert engine.insurance_fund == 0.0
    assert engine.conserved() == pytest.approx(start, rel=1e-12)


def test_views_are_zero_copy_read_only_and_guard_growth() -> None:
    engine = _engine(RULES["percent-mark"], 10, 1)
    cash = engine.cash
    assert not cash.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        cash[0] = 1.0
    assert cash.ctypes.data == engine.cash.ctypes.data  # the same engine memory
    with pytest.raises(ValueError, match=r"^accounts: the table must grow"):
        engine.add_accounts(np.full(1_000, 10.0))
    del cash
    engine.add_accounts(np.full(1_000, 10.0))
    assert engine.accounts == 1_010
    assert engine.position.shape == (1_010, 1)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda e: e.add_accounts([np.nan]), "cash"),
        (lambda e: e.add_accounts([-1.0]), "cash"),
        (lambda e: e.add_accounts([1.0], instrument=2), "instrument"),
        (lambda e: e.add_accounts([1.0, 2.0], position=[1, 2, 3]), "position"),
        (lambda e: e.add_accounts([1.0], position=[1], entry_price=[0.0]), "entry_price"),
        (lambda e: e.add_accounts([1.0], position=[[1, 1]], entry_price=[[5.0, 5.0]]), "position"),
        (lambda e: e.add_accounts([1.0], mode=3), "mode"),
        (lambda e: e.check([0, 10]), "marks"),
        (lambda e: e.check([10]), "marks"),
        (lambda e: e.check([np.inf, 10]), "marks"),
        (lambda e: e.set_rule(5, MarginRule()), "instrument"),
        (lambda e: e.check_path(np.array([[1.5, 2.0]])), "marks"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(call, field: str) -> None:
    engine = MarginEngine([Instrument("A"), Instrument("B")])
    engine.add_accounts(
        [100.0, 200.0], position=[1, -1], entry_price=[50.0, 50.0], instrument=[0, 1]
    )
    before = (
        engine.cash.copy(),
        engine.position.copy(),
        engine.accounts,
        engine.checks if hasattr(engine, "checks") else 0,
    )
    with pytest.raises((ValueError, TypeError), match=rf"^{field}"):
        call(engine)
    assert engine.accounts == before[2]
    np.testing.assert_array_equal(engine.cash, before[0])
    np.testing.assert_array_equal(engine.position, before[1])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"initial_rate": 0.0}, "initial_rate"),
        ({"maintenance": "magic"}, "maintenance"),
        ({"maintenance_rate": float("nan")}, "maintenance_rate"),
        ({"maintenance": "tiered", "tiers": ((0.0, 0.01), (100.0, 0.005))}, r"tiers\[1\].rate"),
        ({"maintenance": "tiered", "tiers": ((0.0, 0.01), (0.0, 0.02))}, r"tiers\[1\].floor"),
        ({"maintenance": "tiered", "tiers": ((10.0, 0.01),)}, r"tiers\[0\].floor"),
        ({"partial_liquidation": True}, "partial_liquidation"),
        ({"basis": "last"}, "basis"),
        ({"taker_fee_rate": 0.5}, "taker_fee_rate"),
    ],
)
def test_margin_rule_rejects_bad_fields(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}"):
        MarginRule(**kwargs)  # type: ignore[arg-type]


def test_leverage_cap_must_be_at_least_one() -> None:
    assert MarginRule.leverage_cap(20).initial_rate == pytest.approx(0.05)
    for bad in (0.0, -2.0, float("nan")):
        with pytest.raises(ValueError, match=r"^leverage"):
            MarginRule.leverage_cap(bad)


def test_bulk_creation_has_documented_bytes_per_account() -> None:
    engine = _engine(RULES["percent-mark"], 200_000, 3)
    assert engine.memory_bytes / engine.accounts < 70
    assert dl.LIQUIDATION_DTYPE.itemsize == 48


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), fund=st.sampled_from([0.0, 1e12]))
def test_two_instruments_isolated_and_cross_accounts(seed: int, fund: float) -> None:
    rng = np.random.default_rng(seed)
    engine = MarginEngine(
        [Instrument("GC", 10.0, RULES["percent-mark"]), Instrument("BTC", 0.1, RULES["tiered"])],
        insurance_fund=fund,
    )
    n = 300
    mode = rng.integers(0, 2, n)
    home = rng.integers(0, 2, n)
    entry = np.column_stack(
        [5_000 * (1 + rng.normal(0, 0.01, n)), 90_000 * (1 + rng.normal(0, 0.01, n))]
    )
    lots = rng.integers(-20, 21, (n, 2))
    # Isolated accounts hold only their own instrument; cross accounts may hold both.
    lots[mode == 0, 1 - home[mode == 0]] = 0
    empty = (lots == 0).all(axis=1)
    lots[empty, home[empty]] = 1
    notional = np.abs(lots) * entry * np.array([10.0, 0.1])
    cash = notional.sum(axis=1) / rng.uniform(2, 40, n)
    engine.add_accounts(cash, position=lots, entry_price=entry, mode=mode, instrument=home)
    start = engine.conserved()
    total = engine.position.sum(axis=0) + engine.fund_position
    gold, btc = _path(seed, 60, 5_000), _path(seed + 1, 60, 90_000)
    for g, b in zip(gold, btc, strict=True):
        marks = [int(g), int(b)]
        engine.check(marks)
        assert engine.count_liquidatable(marks) == 0
        assert engine.conserved() == pytest.approx(start, rel=1e-9, abs=1e-6)
        np.testing.assert_array_equal(engine.position.sum(axis=0) + engine.fund_position, total)


def test_large_index_hands_out_exactly_the_liquidatable() -> None:
    # Over 2M accounts the index has more, narrower buckets; each check must still
    # liquidate exactly the accounts a full scan finds liquidatable, on both sides.
    n = 2_200_000
    rng = np.random.default_rng(11)
    side = np.where(rng.random(n) < 0.5, 1, -1)
    lots = rng.integers(1, 11, n)
    entry = 100_000 * (1 + rng.normal(0, 0.002, n))
    cash = lots * entry / rng.uniform(2.0, 20.0, n)
    engine = MarginEngine([Instrument("X", 1.0, RULES["percent-mark"])], insurance_fund=1e15)
    engine.add_accounts(cash, position=side * lots, entry_price=entry)
    down = np.arange(100_000, 88_000, -400)
    for mark in np.concatenate([down, down[::-1], np.arange(100_000, 112_000, 400)]):
        marks = [int(mark)]
        due = engine.count_liquidatable(marks)
        records = engine.check(marks)
        assert len(np.unique(records["account"])) == due
        assert engine.count_liquidatable(marks) == 0
    assert (engine.status & 1).sum() > 200_000


def test_triggers_and_cross_thresholds_each_show_their_own() -> None:
    # The links' trigger column keeps an indexed account's liquidation price and a
    # cross account's threshold; each property shows only its own.
    rng = np.random.default_rng(5)
    engine = MarginEngine(
        [Instrument("A", 1.0, RULES["percent-mark"]), Instrument("B", 1.0, RULES["fixed"])]
    )
    n = 500
    mode = rng.integers(0, 2, n)
    lots = rng.integers(-5, 6, (n, 2))
    lots[mode == 0, 1] = 0
    entry = np.full((n, 2), 10_000.0)
    engine.add_accounts(np.full(n, 5_000.0), position=lots, entry_price=entry, mode=mode)
    engine.check([10_000, 10_000])
    several = (lots != 0).sum(axis=1) == 2
    triggers = engine._core.liquidation_trigger
    np.testing.assert_array_equal(triggers, engine.liquidation_prices())
    assert np.isnan(triggers[several]).all()
    thresholds = engine.cross_thresholds
    assert thresholds.dtype == np.float32
    assert np.isfinite(thresholds[several]).all()
    assert np.isnan(thresholds[~several]).all()
