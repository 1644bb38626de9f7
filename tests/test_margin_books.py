"""The margin engine trading through order books: fills, mark rules, liquidation orders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage import Instrument, MarginEngine, MarginRule, Side

DEALER = 1_000_000  # an owner id that is no account: outside liquidity


def test_fills_update_both_sides_with_fees() -> None:
    rule = MarginRule(maker_fee_rate=-0.0001, taker_fee_rate=0.0005)
    engine = MarginEngine([Instrument("X", 2.0, rule)])
    engine.add_accounts([10_000.0, 10_000.0])
    book = dl.OrderBook(track_owners=True)
    book.limit(Side.SELL, 100, 5, owner=0)
    hit = book.market(Side.BUY, 3, owner=1)
    engine.apply_fills(0, hit.fills)
    assert engine.position[:, 0].tolist() == [-3, 3]
    assert engine.cost[:, 0].tolist() == [-600.0, 600.0]
    # Taker pays 0.05% of 600, the maker earns a 0.01% rebate.
    assert engine.cash.tolist() == pytest.approx([10_000.0 + 0.06, 10_000.0 - 0.3])
    assert engine.fees_collected == pytest.approx(0.24)
    # Buying back the short above its entry realizes the loss.
    assert book.cancel_owner(0) == 2
    book.limit(Side.SELL, 110, 3, owner=DEALER)
    engine.apply_fills(0, book.market(Side.BUY, 3, owner=0).fills)
    assert engine.position[0, 0] == 0
    assert engine.realized_pnl[0] == pytest.approx(-60.0)
    assert engine.outside_position.tolist() == [-3]


def test_apply_fills_rejects_bad_batches_and_changes_nothing() -> None:
    engine = MarginEngine([Instrument("X"), Instrument("Y")])
    engine.add_accounts(
        [100.0, 100.0], mode=[0, 0], instrument=[1, 1], position=[1, 1], entry_price=[5.0, 5.0]
    )
    book = dl.OrderBook(track_owners=True)
    book.limit(Side.SELL, 10, 1, owner=0)
    fills = book.market(Side.BUY, 1, owner=1).fills
    before = engine.position.copy()
    with pytest.raises(ValueError, match=r"^fills\[0\]"):
        engine.apply_fills(0, fills)  # isolated accounts of instrument 1
    with pytest.raises(TypeError, match=r"^fills: dtype"):
        engine.apply_fills(0, np.zeros(2))
    np.testing.assert_array_equal(engine.position, before)


def test_mark_rules() -> None:
    for mark, expected in (("last", 103), ("mid", 101), ("median", 101)):
        engine = MarginEngine([Instrument("X", mark=mark)])
        book = dl.OrderBook(track_owners=True)
        engine.attach_book(0, book)
        book.limit(Side.SELL, 103, 1, owner=DEALER)
        book.market(Side.BUY, 1, owner=DEALER + 1)  # last trade 103
        book.limit(Side.BUY, 99, 1, owner=DEALER)
        book.limit(Side.SELL, 104, 1, owner=DEALER)  # mid (99 + 104) // 2 = 101
        assert engine.book_marks([100]).tolist() == [expected]
    engine = MarginEngine([Instrument("X", mark="median")])
    engine.attach_book(0, dl.OrderBook(track_owners=True))
    assert engine.book_marks([100]).tolist() == [100]  # empty book: index price


def test_attach_book_needs_owner_tracking() -> None:
    engine = MarginEngine([Instrument("X")])
    with pytest.raises(ValueError, match=r"^book: must be made with track_owners"):
        engine.attach_book(0, dl.OrderBook())
    with pytest.raises(TypeError, match=r"^book: must be"):
        engine.attach_book(0, "book")  # type: ignore[arg-type]


def _cascade_world(seed: int, n: int = 200):
    rng = np.random.default_rng(seed)
    rule = MarginRule(initial_rate=0.05, maintenance_rate=0.01, liquidation_fee_rate=0.001)
    engine = MarginEngine([Instrument("X", 1.0, rule, mark="median")], insurance_fund=1e6)
    book = dl.OrderBook(track_owners=True)
    engine.attach_book(0, book)
    lots = rng.integers(1, 10, n)
    entry = 1_000 * (1 + rng.normal(0, 0.005, n))
    engine.add_accounts(lots * entry / rng.uniform(5, 40, n), position=lots, entry_price=entry)
    # Dealers' ladder: thin bids below, asks above; accounts rest a few bids too.
    for p in range(999, 900, -1):
        book.limit(Side.BUY, p, int(rng.integers(1, 8)), owner=DEALER)
    for p in range(1_001, 1_100):
        book.limit(Side.SELL, p, int(rng.integers(1, 8)), owner=DEALER)
    for a in range(0, n, 7):
        book.limit(Side.BUY, int(rng.integers(940, 990)), 1, owner=a)
    return engine, book


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_liquidations_sell_into_the_book_and_conserve_money(seed: int) -> None:
    engine, book = _cascade_world(seed)
    start = engine.conserved()
    lots = int(engine.position.sum() + engine.fund_position.sum() + engine.outside_position.sum())
    # The index falls; liquidation orders hit the bids and drag the mid down.
    for index in range(1_000, 880, -10):
        records = engine.check_books([index])
        assert engine.conserved() == pytest.approx(start, rel=1e-9)
        held = engine.position.sum() + engine.fund_position.sum() + engine.outside_position.sum()
        assert int(held) == lots
        for rec in records[records["kind"] == 1]:
            # Book fills never worse than the bankruptcy price.
            assert rec["qty"] > 0
        marks = engine.book_marks([index])
        assert engine.count_liquidatable(marks) == 0
        # Liquidated accounts have no resting orders left.
        liquidated = set(np.flatnonzero(engine.status & 1).tolist())
        owners = set(book.snapshot()["owner"].tolist())
        assert not liquidated & owners
    assert (engine.log["kind"] == 1).any()


def test_book_order_fills_at_or_above_bankruptcy_price() -> None:
    rule = MarginRule(initial_rate=0.1, maintenance_rate=0.05)
    engine = MarginEngine([Instrument("X", 1.0, rule)], insurance_fund=1e6)
    book = dl.OrderBook(track_owners=True)
    engine.attach_book(0, book)
    engine.add_accounts([100.0], position=[10], entry_price=[100.0])  # bankrupt below 90
    book.limit(Side.BUY, 95, 4, owner=DEALER)
    book.limit(Side.BUY, 89, 100, owner=DEALER)  # below the bankruptcy price: untouched
    records = engine.check([94])
    assert records["kind"].tolist() == [1, 2]
    assert records["qty"].tolist() == [4, 6]
    assert records["price"][0] == 95.0
    assert book.depth(5)[0]["qty"].tolist() == [100]
    assert engine.fund_position.tolist() == [6]


def test_liquidation_orders_cascade_through_a_thin_book() -> None:
    # Marked at the last trade: each round's liquidation orders print lower
    # trades, and the next round marks there: selling feeds selling.
    rule = MarginRule(initial_rate=0.05, maintenance_rate=0.01)
    engine = MarginEngine([Instrument("X", 1.0, rule, mark="last")], insurance_fund=1e9)
    book = dl.OrderBook(track_owners=True)
    engine.attach_book(0, book)
    n = 50
    entry = np.full(n, 1_000.0)
    leverage = np.linspace(40, 10, n)  # liquidation prices spread from ~984.8 down to ~909
    engine.add_accounts(2 * entry / leverage, position=np.full(n, 2), entry_price=entry)
    for p in range(983, 850, -1):  # one lot a tick below the index
        book.limit(Side.BUY, p, 1, owner=DEALER)
    start = engine.conserved()
    records = engine.check_books([984])
    rounds = records["round"]
    assert rounds.max() >= 5  # a cascade, not one round
    assert np.all(np.diff(rounds.astype(int)) >= 0)
    assert (records["kind"] == 1).sum() >= 20
    assert book.last_price < 960
    assert engine.conserved() == pytest.approx(start, rel=1e-12)
    assert engine.count_liquidatable(engine.book_marks([984])) == 0
