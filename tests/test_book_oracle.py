"""The C++ order book against the plain-Python reference book, message by message.

The two books name orders differently (opaque handles versus 1, 2, 3, ...), so
every id is translated to the order's creation number (0 for the first order
either book accepted, 1 for the next, ...) before results, fills, snapshots and
queries are compared; an id that names no order stays as it is.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from deleverage import OrderBook
from deleverage.codes import DEFAULT_MAX_LADDER_LEVELS, MAX_PRICE, MAX_QTY, MsgType, Reject, StpMode
from deleverage.dtypes import MESSAGE_DTYPE
from deleverage.reference_book import ReferenceBook

LOW, HIGH = 95, 105
OWNERS = (0, 1, 2)
SMALL_LADDER = 8
NO_ORDER = (0, 2**64 - 1)  # ids that never name an order

# A message: (type, side, price, qty, owner, target). The target of cancel/reduce/replace (and
# the echoed order_id of every message) is, by target % 16: 15 an id that never names an order;
# otherwise usually a live order, and one time in four any order created so far (often dead).
TYPES = [MsgType.LIMIT] * 5 + [
    MsgType.MARKET,
    MsgType.IOC,
    MsgType.IOC,
    MsgType.FOK,
    MsgType.FOK,
    MsgType.CANCEL,
    MsgType.CANCEL,
    MsgType.REDUCE,
    MsgType.REDUCE,
    MsgType.REPLACE,
    MsgType.REPLACE,
    MsgType.REPLACE,
    7,  # bad type
]
GOOD_PRICES = list(range(LOW, HIGH + 1))
PRICES = GOOD_PRICES * 3 + [0, -1, MAX_PRICE + 1]
QTYS = [1, 2, 3, 4, 5] * 4 + [8, 20, 0, -2, MAX_QTY + 1]
SIDES = [0, 1] * 8 + [2]
messages_st = st.tuples(
    st.sampled_from(TYPES),
    st.sampled_from(SIDES),
    st.sampled_from(PRICES),
    st.sampled_from(QTYS),
    st.sampled_from(OWNERS),
    st.integers(0, 1 << 16),
)

FIELD_OF_REJECT = {
    Reject.BAD_SIDE: "side",
    Reject.BAD_QUANTITY: "qty",
    Reject.BAD_PRICE: "price",
    Reject.PRICE_OFF_LADDER: "price",
    Reject.UNKNOWN_ORDER: "order_id",
}


class Tracker:
    """One implementation's view: its order ids and what its outputs say rests."""

    def __init__(self) -> None:
        self.ids: list[int] = []  # ids in creation order (index = creation number)
        self.key: dict[int, int] = {}  # its order id -> creation number
        self.remaining: dict[int, int] = {}  # creation number -> lots resting per outputs

    def target(self, target: int) -> int:
        """The id a message's target names here (see ``messages_st``)."""
        if target % 16 == 15 or not self.ids:
            return NO_ORDER[(target // 16) % 2]
        live = [k for k, q in self.remaining.items() if q]  # creation order
        if target % 4 and live:
            return self.ids[live[(target // 4) % len(live)]]
        return self.ids[target % len(self.ids)]

    def tr(self, order_id: int) -> tuple[str, int]:
        """An order id in implementation-free form."""
        k = self.key.get(order_id)
        return ("raw", order_id) if k is None else ("order", k)

    def record(
        self, message: tuple[int, ...], result: tuple[int, ...], fills: list[tuple[int, ...]]
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        """Account for one message's outputs; return them with ids translated."""
        type_, _side, _price, qty, _owner, _target = message
        order_id, filled, resting, cancelled, code = result
        if code == 0 and type_ <= MsgType.FOK:
            assert order_id not in self.key, f"order id {order_id:#x} handed out twice"
            assert order_id != 0
            self.key[order_id] = len(self.ids)
            self.ids.append(order_id)
        tr_result = (self.tr(order_id), filled, resting, cancelled, code)
        tr_fills = [(self.tr(f[0]), self.tr(f[1]), *f[2:]) for f in fills]
        if code:
            assert (filled, resting, cancelled) == (0, 0, 0)
            assert fills == []
            return tr_result, tr_fills
        # Quantity accounting from this implementation's own outputs.
        for f in fills:
            assert f[1] in self.key, f"fill against unknown maker {f[1]:#x}"
            k = self.key[f[1]]
            self.remaining[k] -= f[3]
            assert self.remaining[k] >= 0
            if f[8] == 1:  # a self-trade-prevention cancel takes the whole resting order
                assert self.remaining[k] == 0
        if type_ in (MsgType.CANCEL, MsgType.REDUCE):
            k = self.key[order_id]
            assert filled == 0
            assert cancelled <= self.remaining[k]
            self.remaining[k] -= cancelled
            assert self.remaining[k] == resting
        else:
            assert qty == filled + resting + cancelled
            assert filled == sum(f[3] for f in fills if f[8] == 0 and f[0] == order_id)
            assert all(f[0] == order_id for f in fills)
            self.remaining[self.key[order_id]] = resting
        return tr_result, tr_fills

    def resting(self) -> dict[int, int]:
        return {k: q for k, q in self.remaining.items() if q}


class BookComparison(RuleBasedStateMachine):
    """Drive both books with the same messages; compare everything after every step."""

    stp: int = StpMode.NONE
    ladder: int = DEFAULT_MAX_LADDER_LEVELS

    def __init__(self) -> None:
        super().__init__()
        self.cpp = OrderBook(int(self.stp), self.ladder)
        self.ref = ReferenceBook(StpMode(self.stp), self.ladder)
        self.c = Tracker()
        self.r = Tracker()

    # ------------------------------------------------------------ rules

    @rule(batch=st.lists(messages_st, min_size=1, max_size=6))
    def send_batch(self, batch: list[tuple[int, ...]]) -> None:
        # Targets are resolved against the orders created before the batch, on both sides.
        rows = [(self.c.target(t), p, q, o, ty, s) for ty, s, p, q, o, t in batch]
        ref_targets = [self.r.target(m[5]) for m in batch]
        results, fills = self.cpp.execute(np.array(rows, dtype=MESSAGE_DTYPE))
        assert len(results) == len(batch)
        c_fills = fills.tolist()
        for i, message in enumerate(batch):
            ty, s, p, q, o, _ = message
            ref_result, ref_fills = self.ref.apply(ty, s, p, q, o, ref_targets[i], i)
            mine = [f for f in c_fills if f[6] == i]
            c_out = self.c.record(message, results[i].tolist(), mine)
            r_out = self.r.record(message, tuple(ref_result), [tuple(f) for f in ref_fills])
            assert c_out == r_out, f"message {i} of batch {batch}"
        assert [f[6] for f in c_fills] == sorted(f[6] for f in c_fills)

    @rule(message=messages_st)
    def send_single(self, message: tuple[int, ...]) -> None:
        ty, s, p, q, o, t = message
        if ty > MsgType.REPLACE:
            return  # the single-message API cannot express a bad type
        target = self.c.target(t)
        ref_result, ref_fills = self.ref.apply(ty, s, p, q, o, self.r.target(t), 0)
        calls = {
            MsgType.LIMIT: lambda: self.cpp.limit(s, p, q, owner=o),
            MsgType.MARKET: lambda: self.cpp.market(s, q, owner=o),
            MsgType.IOC: lambda: self.cpp.ioc(s, p, q, owner=o),
            MsgType.FOK: lambda: self.cpp.fok(s, p, q, owner=o),
            MsgType.CANCEL: lambda: self.cpp.cancel(target),
            MsgType.REDUCE: lambda: self.cpp.reduce(target, q),
            MsgType.REPLACE: lambda: self.cpp.replace(target, p, q),
        }
        if ref_result.code:
            before = self.cpp.snapshot().tolist()
            with pytest.raises(ValueError, match=rf"^{FIELD_OF_REJECT[ref_result.code]}: "):
                calls[MsgType(ty)]()
            assert self.cpp.snapshot().tolist() == before
            self.r.record(message, tuple(ref_result), [])
            return
        e = calls[MsgType(ty)]()
        c_result = (e.order_id, e.filled, e.resting, e.cancelled, 0)
        c_out = self.c.record(message, c_result, e.fills.tolist())
        r_out = self.r.record(message, tuple(ref_result), [tuple(f) for f in ref_fills])
        assert c_out == r_out, f"single message {message}"

    # ------------------------------------------------------------ comparisons

    @invariant()
    def books_agree(self) -> None:
        cpp, ref, c, r = self.cpp, self.ref, self.c, self.r
        snap = cpp.snapshot().tolist()
        assert [(c.tr(o[0]), *o[1:]) for o in snap] == [
            (r.tr(o[0]), *o[1:]) for o in ref.snapshot()
        ]
        assert cpp.best_bid == ref.best_bid
        assert cpp.best_ask == ref.best_ask
        assert cpp.spread == ref.spread
        assert cpp.resting_orders == ref.resting_orders == len(snap) == len(cpp)
        for n in (0, 1, 3, 100):
            bids, asks = cpp.depth(n)
            assert (bids.tolist(), asks.tolist()) == ref.depth(n)
        for side in (0, 1):
            for price in (1, LOW - 1, *GOOD_PRICES, HIGH + 1, MAX_PRICE):
                assert cpp.quantity_to(side, price) == ref.quantity_to(side, price)
        for k in range(max(0, len(c.ids) - 12), len(c.ids)):
            a, b = cpp.order(c.ids[k]), ref.order(r.ids[k])
            if a is None or b is None:
                assert (a, b) == (None, None), f"order {k}"
            else:
                assert (c.tr(a.order_id), a.price, a.qty, a.owner, a.side) == (
                    r.tr(b.order_id),
                    *tuple(b)[1:],
                )
        for raw in NO_ORDER:
            assert cpp.order(raw) is None

    @invariant()
    def cpp_book_is_consistent(self) -> None:
        cpp, c = self.cpp, self.c
        snap = cpp.snapshot().tolist()  # (order_id, price, qty, owner, side)
        # Never crossed at rest.
        if cpp.best_bid is not None and cpp.best_ask is not None:
            assert cpp.best_bid < cpp.best_ask
        # Quantity conserved: what rests is exactly what the results and fills left.
        assert {c.key[o[0]]: o[2] for o in snap} == c.resting()
        assert all(o[2] > 0 for o in snap)
        # Priority order: bids descending, asks ascending, bids before asks.
        sides = [o[4] for o in snap]
        assert sides == sorted(sides)
        bid_prices = [o[1] for o in snap if o[4] == 0]
        ask_prices = [o[1] for o in snap if o[4] == 1]
        assert bid_prices == sorted(bid_prices, reverse=True)
        assert ask_prices == sorted(ask_prices)
        # depth() is the snapshot aggregated by level.
        for side, sign in ((0, -1), (1, 1)):
            qty: Counter[int] = Counter()
            count: Counter[int] = Counter()
            for o in snap:
                if o[4] == side:
                    qty[o[1]] += o[2]
                    count[o[1]] += 1
            levels = [(p, qty[p], count[p]) for p in sorted(qty, key=lambda p: sign * p)]
            assert cpp.depth(1000)[side].tolist() == levels
            assert cpp.depth(2)[side].tolist() == levels[:2]
            # quantity_to(taker side) sums the opposite levels up to the price.
            for limit in range(LOW - 1, HIGH + 2):
                expected = sum(q for p, q, _ in levels if (p <= limit if side else p >= limit))
                assert cpp.quantity_to(1 - side, limit) == expected
        assert cpp.best_bid == (bid_prices[0] if bid_prices else None)
        assert cpp.best_ask == (ask_prices[0] if ask_prices else None)
        # Span of resting prices stays inside the ladder limit.
        prices = bid_prices + ask_prices
        if prices:
            assert max(prices) - min(prices) + 1 <= self.ladder
        assert cpp.memory_bytes >= 0


def _machine(stp: StpMode, ladder: int) -> type[BookComparison]:
    return type(
        f"BookComparison_{stp.name}_{ladder}",
        (BookComparison,),
        {"stp": int(stp), "ladder": ladder},
    )


@pytest.mark.parametrize(
    "ladder", [DEFAULT_MAX_LADDER_LEVELS, SMALL_LADDER], ids=["wide-ladder", "ladder8"]
)
@pytest.mark.parametrize("stp", list(StpMode), ids=[m.name for m in StpMode])
def test_books_agree_step_by_step(stp: StpMode, ladder: int) -> None:
    run_state_machine_as_test(
        _machine(stp, ladder),
        settings=settings(
            max_examples=100,
            stateful_step_count=50,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(messages_st, max_size=80),
    stp=st.sampled_from(list(StpMode)),
    ladder=st.sampled_from([DEFAULT_MAX_LADDER_LEVELS, SMALL_LADDER]),
)
def test_one_batch_agrees_with_the_reference(
    batch: list[tuple[int, ...]], stp: StpMode, ladder: int
) -> None:
    """A whole stream as ONE batch through C++, message by message through the reference."""
    _check_one_batch(batch, stp, ladder)


# Clusters of prices far apart: the ladder window re-centres, doubles, sits at the
# ends of the price range, and PRICE_OFF_LADDER is decided across clusters.
FAR_PRICES = [1, 2, 3, 2047, 2048, 2049, 4095, 4096, 4097, 12_000, 12_001, 70_000, 70_001]
FAR_PRICES += [2**32, 2**32 + 1, MAX_PRICE - 1, MAX_PRICE, 0, MAX_PRICE + 1]
far_messages_st = st.tuples(
    st.sampled_from(TYPES),
    st.sampled_from(SIDES),
    st.sampled_from(FAR_PRICES),
    st.sampled_from([*QTYS, MAX_QTY, MAX_QTY - 1]),
    st.sampled_from([0, 7, 2**32 - 1]),
    st.integers(0, 1 << 16),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(far_messages_st, max_size=60),
    stp=st.sampled_from(list(StpMode)),
    ladder=st.sampled_from([1, 4, 5000, 70_000, DEFAULT_MAX_LADDER_LEVELS]),
)
def test_far_apart_prices_agree_with_the_reference(
    batch: list[tuple[int, ...]], stp: StpMode, ladder: int
) -> None:
    _check_one_batch(batch, stp, ladder)


def _check_one_batch(batch: list[tuple[int, ...]], stp: StpMode, ladder: int) -> None:
    """Run ``batch`` as one C++ batch and through the reference; compare everything.

    Targets of cancel/reduce/replace may be orders created earlier in the same
    batch, so their C++ ids are learnt first from a book fed one message at a
    time (the book is deterministic); the batch then goes to a fresh book.
    """
    probe, ref = OrderBook(int(stp), ladder), ReferenceBook(stp, ladder)
    c, r = Tracker(), Tracker()
    rows = []
    probe_results = []
    ref_out = []
    for i, message in enumerate(batch):
        ty, s, p, q, o, t = message
        row = (c.target(t), p, q, o, ty, s)
        rows.append(row)
        res, fills = probe.execute(np.array([row], dtype=MESSAGE_DTYPE))
        probe_results.append(res[0].tolist())
        c.record(message, res[0].tolist(), fills.tolist())
        ref_result, ref_fills = ref.apply(ty, s, p, q, o, r.target(t), i)
        ref_out.append(r.record(message, tuple(ref_result), [tuple(f) for f in ref_fills]))

    book = OrderBook(int(stp), ladder)
    results, fills = book.execute(np.array(rows, dtype=MESSAGE_DTYPE))
    assert results.tolist() == probe_results  # same ids as the one-at-a-time book
    c2 = Tracker()
    all_fills = fills.tolist()
    assert [f[6] for f in all_fills] == sorted(f[6] for f in all_fills)
    for i, message in enumerate(batch):
        mine = [f for f in all_fills if f[6] == i]
        assert c2.record(message, results[i].tolist(), mine) == ref_out[i], f"message {i}"
    assert [(c2.tr(o[0]), *o[1:]) for o in book.snapshot().tolist()] == [
        (r.tr(o[0]), *o[1:]) for o in ref.snapshot()
    ]
    assert {c2.key[o[0]]: o[2] for o in book.snapshot().tolist()} == c2.resting()


@pytest.mark.parametrize("stp", list(StpMode), ids=[m.name for m in StpMode])
def test_generated_stream_agrees_with_the_reference(stp: StpMode) -> None:
    """The benchmark's stream (deep book, 1000 owners, cancels by C++ id) on both books."""
    from deleverage import _core

    stream = _core.generate_message_stream(20_000, seed=7, target_resting=2_000)
    book = OrderBook(int(stp))
    results, fills = book.execute(stream)
    ref = ReferenceBook(stp)
    ref_results, ref_fills = ref.execute(ReferenceBook.translate_ids(stream, results))
    assert [tuple(r)[1:] for r in results.tolist()] == [tuple(r)[1:] for r in ref_results]
    assert [tuple(f)[2:] for f in fills.tolist()] == [tuple(f)[2:] for f in ref_fills]
    assert [tuple(o)[1:] for o in book.snapshot().tolist()] == [
        tuple(o)[1:] for o in ref.snapshot()
    ]
    assert (results["code"] == 0).all() or stp != StpMode.NONE
