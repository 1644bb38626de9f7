"""``OrderBook.quantity_to`` over books whose levels span many bitmap words and windows.

The oracle is the resting orders themselves (``snapshot``): the lots of the other
side at prices up to (a buy) or down to (a sell) the limit. Limits run from the
most negative int64 to the largest, so ranges that end outside the ladder's
window, inside one 64-level word or across many, are all compared.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import OrderBook, Side
from deleverage.codes import MAX_PRICE

INT64 = (-(2**63), 2**63 - 1)

prices = st.integers(1, 20_000)
orders = st.lists(st.tuples(prices, st.integers(1, 50)), min_size=0, max_size=60)


def expected(snapshot: list[tuple[int, ...]], taker: Side, limit: int) -> int:
    """Lots of the side a ``taker`` trades against, at prices it would accept."""
    if taker == Side.BUY:
        return sum(o[2] for o in snapshot if o[4] == int(Side.SELL) and o[1] <= limit)
    return sum(o[2] for o in snapshot if o[4] == int(Side.BUY) and o[1] >= limit)


@settings(max_examples=150, deadline=None)
@given(
    bids=orders,
    asks=orders,
    gap=st.integers(1, 5_000),
    cancel_every=st.integers(2, 7),
    limits=st.lists(
        st.one_of(st.integers(-10, 50_000), st.sampled_from([*INT64, 0, MAX_PRICE])),
        max_size=40,
    ),
)
def test_quantity_to_matches_the_resting_orders(
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    gap: int,
    cancel_every: int,
    limits: list[int],
) -> None:
    book = OrderBook()
    ids = []
    # Asks start above every bid, so nothing crosses and every order rests.
    for price, qty in bids:
        ids.append(book.limit(Side.BUY, price=price, qty=qty, owner=1).order_id)
    for price, qty in asks:
        ids.append(book.limit(Side.SELL, price=20_000 + gap + price, qty=qty, owner=2).order_id)
    for order_id in ids[::cancel_every]:  # emptied levels must count nothing
        book.cancel(order_id)
    snapshot = [tuple(o) for o in book.snapshot().tolist()]
    # Every resting price and its neighbours: where <= and < part.
    at_levels = [o[1] + d for o in snapshot for d in (-1, 0, 1)]
    for limit in [*limits, *at_levels, 0, 1, 20_000 + gap, 40_000 + gap]:
        for taker in (Side.BUY, Side.SELL):
            want = expected(snapshot, taker, limit)
            assert book.quantity_to(taker, limit) == want, (taker, limit)


def test_an_empty_side_has_nothing_to_take() -> None:
    book = OrderBook()
    book.limit(Side.BUY, price=100, qty=5, owner=1)
    assert book.quantity_to(Side.BUY, INT64[1]) == 0
    assert book.quantity_to(Side.SELL, INT64[0]) == 5
    assert book.quantity_to(Side.SELL, 101) == 0
    assert book.quantity_to(Side.SELL, 100) == 5
