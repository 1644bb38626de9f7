"""Hand-worked examples for the plain-Python reference book (the test oracle)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from deleverage.codes import MAX_PRICE, MAX_QTY, FillKind, MsgType, Reject, Side, StpMode
from deleverage.dtypes import MESSAGE_DTYPE
from deleverage.reference_book import Fill, OrderInfo, ReferenceBook, Result

BUY, SELL = Side.BUY, Side.SELL
TRADE, STP = FillKind.TRADE, FillKind.STP_CANCEL


def limit(b: ReferenceBook, side: int, price: int, qty: int, owner: int = 0, index: int = 0):
    return b.apply(MsgType.LIMIT, side, price, qty, owner, 0, index)


def market(b: ReferenceBook, side: int, qty: int, owner: int = 0):
    return b.apply(MsgType.MARKET, side, 0, qty, owner, 0)


def ioc(b: ReferenceBook, side: int, price: int, qty: int, owner: int = 0):
    return b.apply(MsgType.IOC, side, price, qty, owner, 0)


def fok(b: ReferenceBook, side: int, price: int, qty: int, owner: int = 0):
    return b.apply(MsgType.FOK, side, price, qty, owner, 0)


def cancel(b: ReferenceBook, order_id: int):
    return b.apply(MsgType.CANCEL, 0, 0, 0, 0, order_id)


def reduce(b: ReferenceBook, order_id: int, qty: int):
    return b.apply(MsgType.REDUCE, 0, 0, qty, 0, order_id)


def replace(b: ReferenceBook, order_id: int, price: int, qty: int):
    return b.apply(MsgType.REPLACE, 0, price, qty, 0, order_id)


def ids(b: ReferenceBook) -> list[tuple[int, int]]:
    """(order_id, qty) of every resting order in priority order."""
    return [(o.order_id, o.qty) for o in b.snapshot()]


def ask_book() -> ReferenceBook:
    """Asks: #1 101x3 (owner 1), #2 101x4 (owner 2), #3 100x2 (owner 3)."""
    b = ReferenceBook()
    limit(b, SELL, 101, 3, owner=1)
    limit(b, SELL, 101, 4, owner=2)
    limit(b, SELL, 100, 2, owner=3)
    return b


# ---------------------------------------------------------------- matching


def test_ids_are_sequential_from_one() -> None:
    b = ReferenceBook()
    assert limit(b, BUY, 99, 1)[0].order_id == 1
    assert market(b, SELL, 5)[0].order_id == 2  # trades #1, remainder cancelled
    assert ioc(b, BUY, 99, 1)[0].order_id == 3
    assert fok(b, BUY, 99, 1)[0].order_id == 4  # killed, but still gets an id
    assert limit(b, BUY, 99, 1)[0].order_id == 5


def test_price_time_priority_across_and_within_levels() -> None:
    b = ask_book()
    result, fills = limit(b, BUY, 101, 6, owner=9, index=7)
    assert result == Result(4, 6, 0, 0, Reject.NONE)
    assert fills == [
        Fill(4, 3, 100, 2, 9, 3, 7, BUY, TRADE),
        Fill(4, 1, 101, 3, 9, 1, 7, BUY, TRADE),
        Fill(4, 2, 101, 1, 9, 2, 7, BUY, TRADE),
    ]
    assert b.snapshot() == [OrderInfo(2, 101, 3, 2, SELL)]


def test_limit_does_not_trade_beyond_its_price_and_rests_the_remainder() -> None:
    b = ask_book()
    result, fills = limit(b, BUY, 100, 5, owner=9)
    assert result == Result(4, 2, 3, 0, Reject.NONE)
    assert [(f.maker_order, f.price, f.qty) for f in fills] == [(3, 100, 2)]
    assert b.best_bid == 100
    assert b.best_ask == 101
    assert b.spread == 1
    assert b.order(4) == OrderInfo(4, 100, 3, 9, BUY)
    assert ids(b) == [(4, 3), (1, 3), (2, 4)]


def test_sell_side_matches_highest_bid_first() -> None:
    b = ReferenceBook()
    limit(b, BUY, 98, 2, owner=1)
    limit(b, BUY, 99, 2, owner=2)
    limit(b, BUY, 99, 2, owner=3)
    result, fills = limit(b, SELL, 98, 5, owner=4)
    assert result == Result(4, 5, 0, 0, Reject.NONE)
    assert [(f.maker_order, f.price, f.qty, f.taker_side) for f in fills] == [
        (2, 99, 2, SELL),
        (3, 99, 2, SELL),
        (1, 98, 1, SELL),
    ]
    assert ids(b) == [(1, 1)]


def test_partial_fill_of_a_maker_keeps_its_place() -> None:
    b = ask_book()
    limit(b, BUY, 101, 3)  # takes #3 (2) and 1 of #1
    assert ids(b) == [(1, 2), (2, 4)]
    _, fills = limit(b, BUY, 101, 1)
    assert fills[0].maker_order == 1


def test_market_on_empty_book_is_cancelled() -> None:
    b = ReferenceBook()
    result, fills = market(b, BUY, 5)
    assert result == Result(1, 0, 0, 5, Reject.NONE)
    assert fills == []
    assert b.resting_orders == 0


def test_market_ignores_price_and_sweeps_every_level() -> None:
    b = ask_book()
    result, fills = b.apply(MsgType.MARKET, BUY, -7, 20, 9, 0)
    assert result == Result(4, 9, 0, 11, Reject.NONE)
    assert [f.price for f in fills] == [100, 101, 101]
    assert b.resting_orders == 0
    assert b.best_ask is None
    assert b.spread is None


def test_ioc_remainder_is_cancelled_not_rested() -> None:
    b = ask_book()
    result, fills = ioc(b, BUY, 100, 5)
    assert result == Result(4, 2, 0, 3, Reject.NONE)
    assert len(fills) == 1
    assert b.best_bid is None
    assert ids(b) == [(1, 3), (2, 4)]


def test_fok_kill_changes_nothing() -> None:
    b = ask_book()
    before = b.snapshot()
    result, fills = fok(b, BUY, 101, 10)
    assert result == Result(4, 0, 0, 10, Reject.NONE)
    assert fills == []
    assert b.snapshot() == before
    # Enough quantity exists, but not up to the price.
    result, fills = fok(b, BUY, 100, 3)
    assert result == Result(5, 0, 0, 3, Reject.NONE)
    assert b.snapshot() == before


def test_fok_fills_completely() -> None:
    b = ask_book()
    result, fills = fok(b, BUY, 101, 9)
    assert result == Result(4, 9, 0, 0, Reject.NONE)
    assert sum(f.qty for f in fills) == 9
    assert b.resting_orders == 0
    b = ask_book()
    result, _ = fok(b, BUY, 101, 4)
    assert result == Result(4, 4, 0, 0, Reject.NONE)
    assert ids(b) == [(1, 1), (2, 4)]


# ---------------------------------------------------------------- self-trade prevention


def test_stp_none_trades_with_itself() -> None:
    b = ReferenceBook(StpMode.NONE)
    limit(b, SELL, 100, 5, owner=1)
    result, fills = limit(b, BUY, 100, 3, owner=1)
    assert result == Result(2, 3, 0, 0, Reject.NONE)
    assert fills == [Fill(2, 1, 100, 3, 1, 1, 0, BUY, TRADE)]


def test_stp_cancel_resting_cancels_own_orders_and_goes_on() -> None:
    b = ReferenceBook(StpMode.CANCEL_RESTING)
    limit(b, SELL, 100, 2, owner=2)  # 1
    limit(b, SELL, 100, 5, owner=1)  # 2: own, cancelled
    limit(b, SELL, 101, 4, owner=3)  # 3
    result, fills = limit(b, BUY, 101, 4, owner=1, index=5)
    assert result == Result(4, 4, 0, 0, Reject.NONE)
    assert fills == [
        Fill(4, 1, 100, 2, 1, 2, 5, BUY, TRADE),
        Fill(4, 2, 100, 5, 1, 1, 5, BUY, STP),
        Fill(4, 3, 101, 2, 1, 3, 5, BUY, TRADE),
    ]
    assert ids(b) == [(3, 2)]
    assert b.order(2) is None


def test_stp_cancel_resting_after_a_partial_fill_cancels_the_rest() -> None:
    b = ReferenceBook(StpMode.CANCEL_RESTING)
    limit(b, SELL, 100, 5, owner=1)
    limit(b, BUY, 100, 2, owner=2)  # #1 now has 3 left
    result, fills = limit(b, BUY, 100, 4, owner=1)
    assert fills == [Fill(3, 1, 100, 3, 1, 1, 0, BUY, STP)]
    assert result == Result(3, 0, 4, 0, Reject.NONE)
    assert ids(b) == [(3, 4)]


def test_stp_cancel_incoming_stops_at_the_first_own_order() -> None:
    b = ReferenceBook(StpMode.CANCEL_INCOMING)
    limit(b, SELL, 100, 2, owner=2)  # 1
    limit(b, SELL, 100, 5, owner=1)  # 2: own
    limit(b, SELL, 101, 4, owner=3)  # 3
    result, fills = limit(b, BUY, 101, 10, owner=1)
    assert result == Result(4, 2, 0, 8, Reject.NONE)
    assert fills == [Fill(4, 1, 100, 2, 1, 2, 0, BUY, TRADE)]
    assert ids(b) == [(2, 5), (3, 4)]  # nothing of the incoming order rests
    # Market and IOC behave the same.
    assert market(b, BUY, 3, owner=1)[0] == Result(5, 0, 0, 3, Reject.NONE)
    assert ioc(b, BUY, 101, 3, owner=1)[0] == Result(6, 0, 0, 3, Reject.NONE)
    assert ids(b) == [(2, 5), (3, 4)]


def test_stp_cancel_incoming_without_meeting_itself_is_normal() -> None:
    b = ReferenceBook(StpMode.CANCEL_INCOMING)
    limit(b, SELL, 100, 2, owner=2)
    limit(b, SELL, 101, 5, owner=1)
    result, _ = limit(b, BUY, 100, 3, owner=1)
    assert result == Result(3, 2, 1, 0, Reject.NONE)


@pytest.mark.parametrize(
    ("stp", "qty", "expected"),
    [
        # Asks: 100x2 owner 2, 100x5 owner 1, 101x4 owner 3.
        (StpMode.NONE, 11, Result(4, 11, 0, 0, Reject.NONE)),
        (StpMode.NONE, 12, Result(4, 0, 0, 12, Reject.NONE)),
        (StpMode.CANCEL_RESTING, 6, Result(4, 6, 0, 0, Reject.NONE)),
        (StpMode.CANCEL_RESTING, 7, Result(4, 0, 0, 7, Reject.NONE)),
        (StpMode.CANCEL_INCOMING, 2, Result(4, 2, 0, 0, Reject.NONE)),
        (StpMode.CANCEL_INCOMING, 3, Result(4, 0, 0, 3, Reject.NONE)),
    ],
)
def test_fok_precheck_honours_stp(stp: StpMode, qty: int, expected: Result) -> None:
    b = ReferenceBook(stp)
    limit(b, SELL, 100, 2, owner=2)
    limit(b, SELL, 100, 5, owner=1)
    limit(b, SELL, 101, 4, owner=3)
    before = b.snapshot()
    result, fills = fok(b, BUY, 101, qty, owner=1)
    assert result == expected
    if expected.filled == 0:
        assert fills == []
        assert b.snapshot() == before
    else:
        assert sum(f.qty for f in fills if f.kind == TRADE) == qty


def test_fok_with_cancel_resting_cancels_own_orders_it_passes() -> None:
    b = ReferenceBook(StpMode.CANCEL_RESTING)
    limit(b, SELL, 100, 5, owner=1)
    limit(b, SELL, 100, 2, owner=2)
    result, fills = fok(b, BUY, 100, 2, owner=1)
    assert result == Result(3, 2, 0, 0, Reject.NONE)
    assert [(f.maker_order, f.qty, f.kind) for f in fills] == [(1, 5, STP), (2, 2, TRADE)]
    assert b.resting_orders == 0


# ---------------------------------------------------------------- cancel, reduce, replace


def test_cancel_removes_the_remaining_lots() -> None:
    b = ask_book()
    limit(b, BUY, 101, 4)  # #3 gone, #1 has 1 left
    assert cancel(b, 1) == (Result(1, 0, 0, 1, Reject.NONE), [])
    assert ids(b) == [(2, 4)]
    assert cancel(b, 1)[0] == Result(1, 0, 0, 0, Reject.UNKNOWN_ORDER)
    assert cancel(b, 3)[0].code == Reject.UNKNOWN_ORDER  # filled, no longer resting


def test_reduce_keeps_priority() -> None:
    b = ask_book()
    assert reduce(b, 1, 2)[0] == Result(1, 0, 1, 2, Reject.NONE)
    assert ids(b) == [(3, 2), (1, 1), (2, 4)]
    _, fills = limit(b, BUY, 101, 3)
    assert [(f.maker_order, f.qty) for f in fills] == [(3, 2), (1, 1)]


def test_reduce_by_at_least_the_remainder_removes_the_order() -> None:
    b = ask_book()
    assert reduce(b, 2, 10)[0] == Result(2, 0, 0, 4, Reject.NONE)
    assert reduce(b, 1, 3)[0] == Result(1, 0, 0, 3, Reject.NONE)
    assert ids(b) == [(3, 2)]
    assert b.depth(5) == ([], [(100, 2, 1)])


def test_replace_keeps_id_and_loses_priority() -> None:
    b = ask_book()
    assert replace(b, 1, 101, 3) == (Result(1, 0, 3, 0, Reject.NONE), [])
    assert ids(b) == [(3, 2), (2, 4), (1, 3)]
    assert b.order(1) == OrderInfo(1, 101, 3, 1, SELL)
    # Even a smaller quantity at the same price goes to the back.
    replace(b, 2, 101, 1)
    assert ids(b) == [(3, 2), (1, 3), (2, 1)]


def test_replace_moves_price_and_quantity() -> None:
    b = ask_book()
    assert replace(b, 3, 103, 7)[0] == Result(3, 0, 7, 0, Reject.NONE)
    assert ids(b) == [(1, 3), (2, 4), (3, 7)]
    assert b.depth(5)[1] == [(101, 7, 2), (103, 7, 1)]
    assert limit(b, BUY, 6, 1)[0].order_id == 4  # a replace takes no new id


def test_replace_that_crosses_trades_like_a_new_limit() -> None:
    b = ask_book()
    limit(b, BUY, 99, 5, owner=7)  # 4
    result, fills = b.apply(MsgType.REPLACE, 0, 101, 6, 0, 4, 3)
    assert result == Result(4, 6, 0, 0, Reject.NONE)
    assert fills == [
        Fill(4, 3, 100, 2, 7, 3, 3, BUY, TRADE),
        Fill(4, 1, 101, 3, 7, 1, 3, BUY, TRADE),
        Fill(4, 2, 101, 1, 7, 2, 3, BUY, TRADE),
    ]
    # Partly crossing: the rest rests at the new price.
    limit(b, BUY, 98, 5, owner=7)  # 5
    assert replace(b, 5, 101, 5)[0] == Result(5, 3, 2, 0, Reject.NONE)
    assert b.snapshot() == [OrderInfo(5, 101, 2, 7, BUY)]


def test_replace_meets_own_orders_under_stp() -> None:
    b = ReferenceBook(StpMode.CANCEL_RESTING)
    limit(b, SELL, 100, 2, owner=1)  # 1
    limit(b, BUY, 99, 5, owner=1)  # 2
    result, fills = replace(b, 2, 100, 5)
    assert result == Result(2, 0, 5, 0, Reject.NONE)
    assert fills == [Fill(2, 1, 100, 2, 1, 1, 0, BUY, STP)]
    b = ReferenceBook(StpMode.CANCEL_INCOMING)
    limit(b, SELL, 100, 2, owner=1)
    limit(b, BUY, 99, 5, owner=1)
    result, fills = replace(b, 2, 100, 5)
    assert result == Result(2, 0, 0, 5, Reject.NONE)
    assert fills == []
    assert ids(b) == [(1, 2)]


# ---------------------------------------------------------------- rejects


@pytest.mark.parametrize(
    ("message", "code"),
    [
        # (type, side, price, qty, owner, order_id)
        ((7, 0, 100, 1, 0, 0), Reject.BAD_TYPE),
        ((255, 9, -1, 0, 0, 0), Reject.BAD_TYPE),
        ((MsgType.LIMIT, 2, 100, 1, 0, 0), Reject.BAD_SIDE),
        ((MsgType.MARKET, 255, 0, 0, 0, 0), Reject.BAD_SIDE),  # side before qty
        ((MsgType.LIMIT, 0, 100, 0, 0, 0), Reject.BAD_QUANTITY),
        ((MsgType.IOC, 1, 100, MAX_QTY + 1, 0, 0), Reject.BAD_QUANTITY),
        ((MsgType.FOK, 0, 0, -1, 0, 0), Reject.BAD_QUANTITY),  # qty before price
        ((MsgType.MARKET, 0, 0, 0, 0, 0), Reject.BAD_QUANTITY),
        ((MsgType.LIMIT, 0, 0, 1, 0, 0), Reject.BAD_PRICE),
        ((MsgType.IOC, 1, -3, 1, 0, 0), Reject.BAD_PRICE),
        ((MsgType.FOK, 0, MAX_PRICE + 1, 1, 0, 0), Reject.BAD_PRICE),
        ((MsgType.CANCEL, 0, 0, 0, 0, 99), Reject.UNKNOWN_ORDER),
        ((MsgType.CANCEL, 0, 0, 0, 0, 0), Reject.UNKNOWN_ORDER),
        ((MsgType.REDUCE, 0, 0, 1, 0, 99), Reject.UNKNOWN_ORDER),
        ((MsgType.REDUCE, 0, 0, 0, 0, 99), Reject.BAD_QUANTITY),  # qty before id
        ((MsgType.REDUCE, 0, 0, 0, 0, 1), Reject.BAD_QUANTITY),
        ((MsgType.REPLACE, 0, 100, 1, 0, 99), Reject.UNKNOWN_ORDER),
        ((MsgType.REPLACE, 0, 0, 0, 0, 99), Reject.BAD_QUANTITY),
        ((MsgType.REPLACE, 0, 0, 1, 0, 99), Reject.BAD_PRICE),
        ((MsgType.REPLACE, 0, 100, MAX_QTY + 1, 0, 1), Reject.BAD_QUANTITY),
        ((MsgType.REPLACE, 0, MAX_PRICE + 1, 1, 0, 1), Reject.BAD_PRICE),
    ],
)
def test_rejects_change_nothing(message: tuple[int, ...], code: Reject) -> None:
    b = ask_book()
    before = b.snapshot()
    result, fills = b.apply(*message)
    assert result == Result(message[5], 0, 0, 0, code)
    assert fills == []
    assert b.snapshot() == before
    assert limit(b, BUY, 50, 1)[0].order_id == 4  # no id was used up


def test_fields_that_do_not_matter_are_ignored() -> None:
    b = ask_book()
    # Cancel: only the id matters.
    assert b.apply(MsgType.CANCEL, 9, -1, -1, 5, 1)[0] == Result(1, 0, 0, 3, Reject.NONE)
    # Reduce: side, price and owner do not matter.
    assert b.apply(MsgType.REDUCE, 9, -1, 1, 5, 2)[0] == Result(2, 0, 3, 1, Reject.NONE)
    # Replace: side and owner are the order's own.
    b.apply(MsgType.REPLACE, 9, 102, 3, 5, 2)
    assert b.order(2) == OrderInfo(2, 102, 3, 2, SELL)
    # New orders: order_id is ignored.
    assert b.apply(MsgType.LIMIT, BUY, 90, 1, 0, 12345)[0].order_id == 4


def test_price_off_ladder_for_limits() -> None:
    b = ReferenceBook(max_ladder_levels=8)
    assert limit(b, BUY, 1000, 1)[0].code == Reject.NONE  # empty book: anything goes
    assert limit(b, SELL, 1007, 1)[0].code == Reject.NONE  # spans 1000..1007
    before = b.snapshot()
    assert limit(b, SELL, 1008, 1)[0] == Result(0, 0, 0, 0, Reject.PRICE_OFF_LADDER)
    assert limit(b, BUY, 999, 1)[0].code == Reject.PRICE_OFF_LADDER
    assert b.snapshot() == before
    # Only limit and replace are checked; an IOC far away is fine.
    assert ioc(b, BUY, 5000, 1)[0] == Result(3, 1, 0, 0, Reject.NONE)
    assert fok(b, SELL, 1, 1)[0] == Result(4, 1, 0, 0, Reject.NONE)
    assert b.resting_orders == 0
    # A limit that would trade is still refused when off the ladder.
    limit(b, SELL, 1000, 1)
    assert limit(b, BUY, 1010, 1)[0].code == Reject.PRICE_OFF_LADDER
    assert limit(b, BUY, 1007, 1)[0].code == Reject.NONE


def test_price_off_ladder_for_replace_counts_the_replaced_order() -> None:
    b = ReferenceBook(max_ladder_levels=8)
    limit(b, BUY, 100, 1)  # 1
    # Alone on the book, but its own price still counts: 100..108 is 9 ticks.
    assert replace(b, 1, 108, 1)[0] == Result(1, 0, 0, 0, Reject.PRICE_OFF_LADDER)
    assert replace(b, 1, 107, 1)[0] == Result(1, 0, 1, 0, Reject.NONE)
    # Unknown order is checked before the ladder.
    assert replace(b, 9, 500, 1)[0].code == Reject.UNKNOWN_ORDER
    # Bad price before the ladder.
    assert replace(b, 1, 0, 1)[0].code == Reject.BAD_PRICE


# ---------------------------------------------------------------- queries, batches


def test_queries() -> None:
    b = ask_book()
    limit(b, BUY, 98, 2, owner=5)
    limit(b, BUY, 99, 1, owner=6)
    limit(b, BUY, 98, 3, owner=7)
    assert b.best_bid == 99
    assert b.best_ask == 100
    assert b.spread == 1
    assert b.resting_orders == 6
    assert len(b) == 6
    assert b.depth(1) == ([(99, 1, 1)], [(100, 2, 1)])
    assert b.depth(10) == ([(99, 1, 1), (98, 5, 2)], [(100, 2, 1), (101, 7, 2)])
    assert b.depth(0) == ([], [])
    assert b.quantity_to(BUY, 99) == 0
    assert b.quantity_to(BUY, 100) == 2
    assert b.quantity_to(BUY, 10**9) == 9
    assert b.quantity_to(SELL, 99) == 1
    assert b.quantity_to(SELL, 1) == 6
    assert [o.order_id for o in b.snapshot()] == [5, 4, 6, 3, 1, 2]
    assert b.order(99) is None
    assert b.order(0) is None


def test_execute_matches_apply_and_numbers_messages() -> None:
    rows = [
        (0, 101, 3, 1, MsgType.LIMIT, SELL),
        (0, 0, 7, 1, 9, 0),  # bad type
        (0, 100, 2, 2, MsgType.LIMIT, SELL),
        (0, 0, 4, 3, MsgType.MARKET, BUY),
        (1, 0, 0, 0, MsgType.CANCEL, 0),
    ]
    messages = np.array(rows, dtype=MESSAGE_DTYPE)
    results, fills = ReferenceBook().execute(messages)
    assert results == [
        Result(1, 0, 3, 0, 0),
        Result(0, 0, 0, 0, Reject.BAD_TYPE),
        Result(2, 0, 2, 0, 0),
        Result(3, 4, 0, 0, 0),
        Result(1, 0, 0, 1, 0),
    ]
    assert [(f.maker_order, f.qty, f.message) for f in fills] == [(2, 2, 3), (1, 2, 3)]
    one = ReferenceBook()
    for i, (order_id, price, qty, owner, type_, side) in enumerate(rows):
        one.apply(type_, side, price, qty, owner, order_id, i)
    assert one.snapshot() == []


@pytest.mark.parametrize("stp", list(StpMode), ids=[m.name for m in StpMode])
def test_quantity_is_conserved_on_a_random_stream(stp: StpMode) -> None:
    rng = random.Random(int(stp))
    b = ReferenceBook(stp, max_ladder_levels=12)
    created: list[int] = []
    remaining: dict[int, int] = {}  # what the results and fills say rests
    for index in range(3000):
        type_ = rng.choice(list(MsgType))
        side = rng.choice((BUY, SELL))
        price = rng.randint(95, 110)
        qty = rng.randint(0, 6)
        owner = rng.randint(1, 3)
        target = rng.choice([*created[-20:], 0, 10**9])
        result, fills = b.apply(type_, side, price, qty, owner, target, index)
        for f in fills:
            assert f.message == index
            remaining[f.maker_order] -= f.qty
        if result.code:
            assert fills == []
            continue
        if type_ <= MsgType.FOK:
            assert qty == result.filled + result.resting + result.cancelled
            assert result.filled == sum(f.qty for f in fills if f.kind == TRADE)
            created.append(result.order_id)
            remaining[result.order_id] = result.resting
        elif type_ == MsgType.REPLACE:
            assert remaining[target] >= 0
            assert qty == result.filled + result.resting + result.cancelled
            remaining[target] = result.resting
        else:
            assert result.cancelled <= remaining[target]
            remaining[target] -= result.cancelled
            assert remaining[target] == result.resting
        bid, ask = b.best_bid, b.best_ask
        assert bid is None or ask is None or bid < ask
        expected = {oid: q for oid, q in remaining.items() if q}
        assert {o.order_id: o.qty for o in b.snapshot()} == expected
        assert all(q >= 0 for q in remaining.values())
