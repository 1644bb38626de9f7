"""The tick ladder follows wandering prices without growing past its limit."""

from __future__ import annotations

import deleverage as dl
from deleverage import Side


def test_window_never_outgrows_the_ladder_limit() -> None:
    limit = 10_000  # the window may reach 16,384 levels, not more
    book = dl.OrderBook(max_ladder_levels=limit)
    book.limit(Side.BUY, 1_000_000, 1)
    book.limit(Side.SELL, 1_000_000 + limit - 1, 1)  # the widest span allowed
    assert book.memory_bytes < 16_384 * 24 + 1024 * 32 + 16_384
    assert book.best_bid == 1_000_000
    assert book.best_ask == 1_000_000 + limit - 1


def test_prices_wander_far_and_the_book_follows() -> None:
    book = dl.OrderBook()
    for k in range(50):
        base = 1_000 + k * 100_000  # each order far outside the last window
        oid = book.limit(Side.BUY, base, 1).order_id
        book.limit(Side.SELL, base + 7, 2)
        assert book.best_bid == base
        assert book.best_ask == base + 7
        book.cancel(oid)
        book.market(Side.BUY, 2)
        assert book.resting_orders == 0
    assert book.memory_bytes < 1 << 20
