"""Each owner's resting orders (track_owners): cancel_owner against the book's own snapshot.

Owners that are accounts (small ids) and owners past them (the fund, the
outside world, ids near 2^32) are kept by different structures; a random
sequence of orders, fills, cancels and owner cancels must leave each owner
with exactly the orders the snapshot lists for it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import deleverage as dl
from deleverage import Side

# Small account ids, the edge of the flat range (2^24), the fund, the largest id.
OWNERS = (0, 1, 7, 2**24 - 1, 2**24, 0xFFFFFFFE, 0xFFFFFFFF)


def _resting(book: dl.OrderBook) -> dict[int, int]:
    """Lots resting per owner, from the snapshot."""
    out: dict[int, int] = {}
    for row in book.snapshot().tolist():
        out[row[3]] = out.get(row[3], 0) + row[2]
    return out


ACTION = st.one_of(
    st.tuples(
        st.just("limit"),
        st.sampled_from(OWNERS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(95, 105),
        st.integers(1, 5),
    ),
    st.tuples(
        st.just("market"),
        st.sampled_from(OWNERS),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(1, 8),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
    st.tuples(st.just("cancel_owner"), st.sampled_from(OWNERS)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(ACTION, max_size=60), st.sampled_from([0, 1]))
def test_cancel_owner_cancels_exactly_the_owners_orders(actions: list[tuple], stp: int) -> None:
    book = dl.OrderBook(stp=stp, track_owners=True)
    ids: list[int] = []
    for action in actions:
        kind = action[0]
        if kind == "limit":
            _, owner, side, price, qty = action
            ids.append(book.limit(side, price, qty, owner=owner).order_id)
        elif kind == "market":
            _, owner, side, qty = action
            book.market(side, qty, owner=owner)
        elif kind == "cancel" and ids:
            order_id = ids[action[1] % len(ids)]
            if book.order(order_id) is not None:
                book.cancel(order_id)
        elif kind == "cancel_owner":
            owner = action[1]
            before = _resting(book)
            assert book.cancel_owner(owner) == before.get(owner, 0)
            after = _resting(book)
            assert owner not in after
            assert after == {o: q for o, q in before.items() if o != owner}
    # Every owner's orders are found again, and nothing else.
    for owner in OWNERS:
        held = _resting(book).get(owner, 0)
        assert book.cancel_owner(owner) == held
    assert book.resting_orders == 0
