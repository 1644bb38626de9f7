"""A deliberately simple pure-Python order book: the test oracle for the C++ engine.

It implements ``docs/order_book.md`` with the plainest data structures that are
still usable on long streams: a dict ``price -> deque`` of resting orders per
side, a sorted list of the occupied prices per side (kept with ``bisect``) and a
dict of resting orders by id. Order ids are sequential integers from 1, one per
accepted new order (limit, market, IOC, FOK); a replace keeps its id.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from typing import Any, NamedTuple

from deleverage.codes import (
    DEFAULT_MAX_LADDER_LEVELS,
    MAX_PRICE,
    MAX_QTY,
    FillKind,
    MsgType,
    Reject,
    Side,
    StpMode,
)

__all__ = ["Fill", "OrderInfo", "ReferenceBook", "Result"]

_BUY = int(Side.BUY)
_SELL = int(Side.SELL)
_LIMIT = int(MsgType.LIMIT)
_MARKET = int(MsgType.MARKET)
_FOK = int(MsgType.FOK)
_CANCEL = int(MsgType.CANCEL)
_REDUCE = int(MsgType.REDUCE)
_REPLACE = int(MsgType.REPLACE)
_TRADE = int(FillKind.TRADE)
_STP_CANCEL = int(FillKind.STP_CANCEL)
_OK = int(Reject.NONE)
_BAD_TYPE = int(Reject.BAD_TYPE)
_BAD_SIDE = int(Reject.BAD_SIDE)
_BAD_QUANTITY = int(Reject.BAD_QUANTITY)
_BAD_PRICE = int(Reject.BAD_PRICE)
_PRICE_OFF_LADDER = int(Reject.PRICE_OFF_LADDER)
_UNKNOWN_ORDER = int(Reject.UNKNOWN_ORDER)
_CANCEL_INCOMING = int(StpMode.CANCEL_INCOMING)


class Result(NamedTuple):
    """Outcome of one message (the fields of ``RESULT_DTYPE``)."""

    order_id: int
    filled: int
    resting: int
    cancelled: int
    code: int


class Fill(NamedTuple):
    """One match or self-trade-prevention cancel (the fields of ``FILL_DTYPE``)."""

    taker_order: int
    maker_order: int
    price: int
    qty: int
    taker_owner: int
    maker_owner: int
    message: int
    taker_side: int
    kind: int


class OrderInfo(NamedTuple):
    """A resting order (the fields of ``ORDER_DTYPE``)."""

    order_id: int
    price: int
    qty: int
    owner: int
    side: int


class _Order:
    """A resting order; ``qty`` is its remaining quantity."""

    __slots__ = ("order_id", "owner", "price", "qty", "side")

    def __init__(self, order_id: int, price: int, qty: int, owner: int, side: int) -> None:
        self.order_id = order_id
        self.price = price
        self.qty = qty
        self.owner = owner
        self.side = side


class ReferenceBook:
    """Price-time priority limit order book in plain Python (see ``docs/order_book.md``)."""

    def __init__(
        self, stp: StpMode = StpMode.NONE, max_ladder_levels: int = DEFAULT_MAX_LADDER_LEVELS
    ) -> None:
        if int(stp) not in (0, 1, 2):
            raise ValueError(f"stp: must be 0, 1 or 2, got {stp}")
        if max_ladder_levels < 1:
            raise ValueError(f"max_ladder_levels: must be >= 1, got {max_ladder_levels}")
        self.stp = StpMode(stp)
        self._stp = int(stp)
        self.max_ladder_levels = int(max_ladder_levels)
        # Per side (index Side): price -> FIFO of orders, and the occupied prices ascending.
        self._levels: tuple[dict[int, deque[_Order]], dict[int, deque[_Order]]] = ({}, {})
        self._prices: tuple[list[int], list[int]] = ([], [])
        self._orders: dict[int, _Order] = {}
        self._next_id = 1

    # ------------------------------------------------------------------ messages

    def apply(
        self,
        type: int,
        side: int,
        price: int,
        qty: int,
        owner: int,
        order_id: int,
        message_index: int = 0,
    ) -> tuple[Result, list[Fill]]:
        """Apply one message; return its result and the fills it wrote."""
        fills: list[Fill] = []
        result = self._apply(
            int(type),
            int(side),
            int(price),
            int(qty),
            int(owner),
            int(order_id),
            int(message_index),
            fills,
        )
        return result, fills

    def execute(self, messages: Any) -> tuple[list[Result], list[Fill]]:
        """Apply a ``MESSAGE_DTYPE`` array in order; fills carry the message's position."""
        results: list[Result] = []
        fills: list[Fill] = []
        apply = self._apply
        append = results.append
        for index, (order_id, price, qty, owner, type_, side) in enumerate(messages.tolist()):
            append(apply(type_, side, price, qty, owner, order_id, index, fills))
        return results, fills

    def _apply(
        self,
        type_: int,
        side: int,
        price: int,
        qty: int,
        owner: int,
        order_id: int,
        index: int,
        fills: list[Fill],
    ) -> Result:
        if type_ <= _FOK:
            if type_ < 0:
                return Result(order_id, 0, 0, 0, _BAD_TYPE)
            if side != _BUY and side != _SELL:
                return Result(order_id, 0, 0, 0, _BAD_SIDE)
            if not 1 <= qty <= MAX_QTY:
                return Result(order_id, 0, 0, 0, _BAD_QUANTITY)
            if type_ == _MARKET:
                return self._new_order(type_, side, 0, qty, owner, index, fills)
            if not 1 <= price <= MAX_PRICE:
                return Result(order_id, 0, 0, 0, _BAD_PRICE)
            if type_ == _LIMIT and self._off_ladder(price):
                return Result(order_id, 0, 0, 0, _PRICE_OFF_LADDER)
            return self._new_order(type_, side, price, qty, owner, index, fills)
        if type_ == _CANCEL:
            order = self._orders.get(order_id)
            if order is None:
                return Result(order_id, 0, 0, 0, _UNKNOWN_ORDER)
            self._remove(order)
            return Result(order_id, 0, 0, order.qty, _OK)
        if type_ == _REDUCE:
            if not 1 <= qty <= MAX_QTY:
                return Result(order_id, 0, 0, 0, _BAD_QUANTITY)
            order = self._orders.get(order_id)
            if order is None:
                return Result(order_id, 0, 0, 0, _UNKNOWN_ORDER)
            if qty >= order.qty:
                self._remove(order)
                return Result(order_id, 0, 0, order.qty, _OK)
            order.qty -= qty
            return Result(order_id, 0, order.qty, qty, _OK)
        if type_ == _REPLACE:
            if not 1 <= qty <= MAX_QTY:
                return Result(order_id, 0, 0, 0, _BAD_QUANTITY)
            if not 1 <= price <= MAX_PRICE:
                return Result(order_id, 0, 0, 0, _BAD_PRICE)
            order = self._orders.get(order_id)
            if order is None:
                return Result(order_id, 0, 0, 0, _UNKNOWN_ORDER)
            if self._off_ladder(price):
                return Result(order_id, 0, 0, 0, _PRICE_OFF_LADDER)
            self._remove(order)
            filled, remaining, stopped = self._match(
                order_id, order.side, price, qty, order.owner, index, fills
            )
            if stopped:
                return Result(order_id, filled, 0, remaining, _OK)
            if remaining:
                self._rest(order_id, order.side, price, remaining, order.owner)
            return Result(order_id, filled, remaining, 0, _OK)
        return Result(order_id, 0, 0, 0, _BAD_TYPE)

    def _new_order(
        self,
        type_: int,
        side: int,
        price: int,
        qty: int,
        owner: int,
        index: int,
        fills: list[Fill],
    ) -> Result:
        order_id = self._next_id
        self._next_id += 1
        if type_ == _MARKET:
            filled, remaining, _ = self._match(order_id, side, None, qty, owner, index, fills)
            return Result(order_id, filled, 0, remaining, _OK)
        if type_ == _FOK and self._fillable(side, price, owner, qty) < qty:
            return Result(order_id, 0, 0, qty, _OK)
        filled, remaining, stopped = self._match(order_id, side, price, qty, owner, index, fills)
        if type_ != _LIMIT or stopped or not remaining:
            return Result(order_id, filled, 0, remaining, _OK)
        self._rest(order_id, side, price, remaining, owner)
        return Result(order_id, filled, remaining, 0, _OK)

    # ------------------------------------------------------------------ matching

    def _match(
        self,
        taker: int,
        side: int,
        limit: int | None,
        qty: int,
        owner: int,
        index: int,
        fills: list[Fill],
    ) -> tuple[int, int, bool]:
        """Trade ``qty`` against the opposite side up to ``limit`` (None: any price).

        Returns (filled, remaining, stopped); ``stopped`` is True when
        CANCEL_INCOMING self-trade prevention ended the order.
        """
        opposite = 1 - side
        levels = self._levels[opposite]
        prices = self._prices[opposite]
        orders = self._orders
        stp = self._stp
        append = fills.append
        filled = 0
        while qty and prices:
            best = prices[0] if side == _BUY else prices[-1]
            if limit is not None and (best > limit if side == _BUY else best < limit):
                break
            queue = levels[best]
            stopped = False
            while qty and queue:
                maker = queue[0]
                if stp and maker.owner == owner:
                    if stp == _CANCEL_INCOMING:
                        stopped = True
                        break
                    append(
                        Fill(
                            taker,
                            maker.order_id,
                            best,
                            maker.qty,
                            owner,
                            owner,
                            index,
                            side,
                            _STP_CANCEL,
                        )
                    )
                    queue.popleft()
                    del orders[maker.order_id]
                    continue
                trade = qty if qty < maker.qty else maker.qty
                append(
                    Fill(
                        taker, maker.order_id, best, trade, owner, maker.owner, index, side, _TRADE
                    )
                )
                qty -= trade
                filled += trade
                if trade == maker.qty:
                    queue.popleft()
                    del orders[maker.order_id]
                else:
                    maker.qty -= trade
            if not queue:
                del levels[best]
                if side == _BUY:
                    del prices[0]
                else:
                    prices.pop()
            if stopped:
                return filled, qty, True
        return filled, qty, False

    def _fillable(self, side: int, limit: int, owner: int, qty: int) -> int:
        """Lots a FOK could trade up to ``limit`` under the STP mode (stops once >= qty)."""
        opposite = 1 - side
        levels = self._levels[opposite]
        prices = self._prices[opposite]
        ordered = prices if side == _BUY else reversed(prices)
        stp = self._stp
        total = 0
        for price in ordered:
            if price > limit if side == _BUY else price < limit:
                break
            for order in levels[price]:
                if stp and order.owner == owner:
                    if stp == _CANCEL_INCOMING:
                        return total
                    continue
                total += order.qty
                if total >= qty:
                    return total
        return total

    # ------------------------------------------------------------------ helpers

    def _off_ladder(self, price: int) -> bool:
        bids, asks = self._prices
        if not bids and not asks:
            return False
        lo = min(bids[0] if bids else price, asks[0] if asks else price, price)
        hi = max(bids[-1] if bids else price, asks[-1] if asks else price, price)
        return hi - lo + 1 > self.max_ladder_levels

    def _rest(self, order_id: int, side: int, price: int, qty: int, owner: int) -> None:
        order = _Order(order_id, price, qty, owner, side)
        levels = self._levels[side]
        queue = levels.get(price)
        if queue is None:
            queue = levels[price] = deque()
            insort(self._prices[side], price)
        queue.append(order)
        self._orders[order_id] = order

    def _remove(self, order: _Order) -> None:
        del self._orders[order.order_id]
        levels = self._levels[order.side]
        queue = levels[order.price]
        queue.remove(order)
        if not queue:
            del levels[order.price]
            prices = self._prices[order.side]
            del prices[bisect_left(prices, order.price)]

    @staticmethod
    def translate_ids(messages: Any, results: Any) -> Any:
        """``messages`` with the C++ book's order ids replaced by this book's.

        ``results`` are the C++ book's results for ``messages`` from an empty
        book (the order ids a stream such as ``generate_message_stream``
        carries are the C++ book's handles). Cancel, reduce and replace then
        name the same orders here; an id the C++ book did not hand out becomes 0.
        """
        import numpy as np

        out = messages.copy()
        types = out["type"]
        new = (types <= _FOK) & (results["code"] == _OK)
        ours = np.cumsum(new)[new].tolist()
        lookup = dict(zip(results["order_id"][new].tolist(), ours, strict=True))
        targeted = (types >= _CANCEL) & (types <= _REPLACE)
        out["order_id"][targeted] = [lookup.get(i, 0) for i in out["order_id"][targeted].tolist()]
        return out

    # ------------------------------------------------------------------ queries

    @property
    def best_bid(self) -> int | None:
        """Highest resting buy price, or None."""
        bids = self._prices[_BUY]
        return bids[-1] if bids else None

    @property
    def best_ask(self) -> int | None:
        """Lowest resting sell price, or None."""
        asks = self._prices[_SELL]
        return asks[0] if asks else None

    @property
    def spread(self) -> int | None:
        """best_ask - best_bid, or None unless both sides have orders."""
        bid, ask = self.best_bid, self.best_ask
        return None if bid is None or ask is None else ask - bid

    @property
    def resting_orders(self) -> int:
        """Number of resting orders."""
        return len(self._orders)

    def __len__(self) -> int:
        return len(self._orders)

    def _ordered_prices(self, side: int) -> list[int]:
        """Occupied prices of ``side``, best first."""
        prices = self._prices[side]
        return prices[::-1] if side == _BUY else list(prices)

    def depth(self, n: int) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
        """The best ``n`` levels per side as (price, qty, orders), best first."""
        if n < 0:
            raise ValueError(f"levels: must be >= 0, got {n}")
        out: list[list[tuple[int, int, int]]] = []
        for side in (_BUY, _SELL):
            levels = self._levels[side]
            out.append(
                [
                    (p, sum(o.qty for o in levels[p]), len(levels[p]))
                    for p in self._ordered_prices(side)[:n]
                ]
            )
        return out[0], out[1]

    def quantity_to(self, side: int, price: int) -> int:
        """Lots a taker of ``side`` could trade up to ``price`` (self-trade rules ignored)."""
        opposite = 1 - int(side)
        levels = self._levels[opposite]
        total = 0
        for p, queue in levels.items():
            if p <= price if opposite == _SELL else p >= price:
                total += sum(o.qty for o in queue)
        return total

    def order(self, order_id: int) -> OrderInfo | None:
        """The resting order ``order_id``, or None."""
        o = self._orders.get(order_id)
        return None if o is None else OrderInfo(o.order_id, o.price, o.qty, o.owner, o.side)

    def snapshot(self) -> list[OrderInfo]:
        """Every resting order: bids best first, then asks best first, FIFO in a level."""
        out: list[OrderInfo] = []
        for side in (_BUY, _SELL):
            levels = self._levels[side]
            for p in self._ordered_prices(side):
                out.extend(
                    OrderInfo(o.order_id, o.price, o.qty, o.owner, o.side) for o in levels[p]
                )
        return out
