"""Bad input: a clear error naming the field (single-message API), a reject code
(batch API), and the book left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

import deleverage as dl
from deleverage import MAX_PRICE, MAX_QTY, MsgType, Reject, Side


def _book() -> dl.OrderBook:
    book = dl.OrderBook()
    book.limit(Side.BUY, 99, 5, owner=1)
    book.limit(Side.SELL, 101, 7, owner=2)
    return book


def _state(book: dl.OrderBook) -> list[tuple[int, ...]]:
    return [tuple(r) for r in book.snapshot().tolist()]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda b: b.limit(Side.BUY, 100, 0), "qty"),
        (lambda b: b.limit(Side.BUY, 100, -3), "qty"),
        (lambda b: b.limit(Side.BUY, 100, MAX_QTY + 1), "qty"),
        (lambda b: b.limit(Side.BUY, 0, 1), "price"),
        (lambda b: b.limit(Side.SELL, -5, 1), "price"),
        (lambda b: b.ioc(Side.SELL, MAX_PRICE + 1, 1), "price"),
        (lambda b: b.fok(Side.BUY, 0, 1), "price"),
        (lambda b: b.limit(2, 100, 1), "side"),
        (lambda b: b.market(-1, 1), "side"),
        (lambda b: b.market(Side.BUY, 0), "qty"),
        (lambda b: b.limit(Side.BUY, 100, 1, owner=-1), "owner"),
        (lambda b: b.limit(Side.BUY, 100, 1, owner=2**32), "owner"),
        (lambda b: b.cancel(12345), "order_id"),
        (lambda b: b.reduce(12345, 1), "order_id"),
        (lambda b: b.replace(12345, 100, 1), "order_id"),
        (lambda b: b.limit(Side.BUY, 100 + dl.DEFAULT_MAX_LADDER_LEVELS, 1), "price"),
    ],
)
def test_single_message_errors_name_the_field(call, field: str) -> None:
    book = _book()
    before = _state(book)
    with pytest.raises(ValueError, match=rf"^{field}: "):
        call(book)
    assert _state(book) == before


def test_error_message_states_the_allowed_range() -> None:
    with pytest.raises(ValueError, match=r"qty: must be in 1\.\.1099511627776 lots, got 0"):
        dl.OrderBook().limit(Side.BUY, 100, 0)
    with pytest.raises(
        ValueError, match=r"price: must be in 1\.\.4611686018427387904 ticks, got 0"
    ):
        dl.OrderBook().limit(Side.BUY, 0, 1)


def test_reduce_with_bad_quantity_names_qty() -> None:
    book = _book()
    oid = book.snapshot()["order_id"][0]
    with pytest.raises(ValueError, match=r"^qty: "):
        book.reduce(int(oid), 0)


def test_stale_order_id_is_unknown_after_cancel() -> None:
    book = dl.OrderBook()
    oid = book.limit(Side.BUY, 100, 5).order_id
    book.cancel(oid)
    with pytest.raises(ValueError, match=r"^order_id: "):
        book.cancel(oid)
    # The slot is reused by the next order, under a different id.
    new = book.limit(Side.BUY, 100, 5).order_id
    assert new != oid
    assert book.order(oid) is None
    assert book.order(new) is not None


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"type": 7}, Reject.BAD_TYPE),
        ({"type": 255}, Reject.BAD_TYPE),
        ({"type": MsgType.LIMIT, "side": 2, "price": 100, "qty": 1}, Reject.BAD_SIDE),
        ({"type": MsgType.LIMIT, "side": 0, "price": 100, "qty": 0}, Reject.BAD_QUANTITY),
        ({"type": MsgType.MARKET, "side": 0, "qty": -1}, Reject.BAD_QUANTITY),
        ({"type": MsgType.IOC, "side": 1, "price": 0, "qty": 1}, Reject.BAD_PRICE),
        ({"type": MsgType.CANCEL, "order_id": 999}, Reject.UNKNOWN_ORDER),
        ({"type": MsgType.REDUCE, "order_id": 999, "qty": 1}, Reject.UNKNOWN_ORDER),
        ({"type": MsgType.REPLACE, "order_id": 999, "price": 100, "qty": 1}, Reject.UNKNOWN_ORDER),
    ],
)
def test_batch_rejects_with_a_code_and_changes_nothing(message: dict[str, int], code: int) -> None:
    book = _book()
    before = _state(book)
    batch = np.zeros(3, dtype=dl.MESSAGE_DTYPE)
    batch[1] = tuple(message.get(name, 0) for name in dl.MESSAGE_DTYPE.names)
    results, fills = book.execute(batch)  # entries 0 and 2: type 0 with qty 0 -> BAD_QUANTITY
    assert results["code"].tolist() == [Reject.BAD_QUANTITY, code, Reject.BAD_QUANTITY]
    assert results[["filled", "resting", "cancelled"]].tolist() == [(0, 0, 0)] * 3
    assert len(fills) == 0
    assert _state(book) == before


def test_batch_wrong_dtype_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"^messages: dtype must be deleverage.MESSAGE_DTYPE"):
        dl.OrderBook().execute(np.zeros(4, dtype=np.int64))


def test_batch_wrong_shape_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"^messages: must be one-dimensional"):
        dl.OrderBook().execute(np.zeros((2, 2), dtype=dl.MESSAGE_DTYPE))


def test_batch_accepts_strided_views() -> None:
    batch = dl.make_messages(MsgType.LIMIT, Side.BUY, np.arange(90, 100), 1)
    results, _ = dl.OrderBook().execute(batch[::2])
    assert results["code"].tolist() == [0] * 5
    assert results["resting"].tolist() == [1] * 5


def test_batch_of_zero_messages() -> None:
    results, fills = dl.OrderBook().execute(np.zeros(0, dtype=dl.MESSAGE_DTYPE))
    assert len(results) == 0
    assert len(fills) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"stp": 3}, "stp"),
        ({"stp": -1}, "stp"),
        ({"max_ladder_levels": 0}, "max_ladder_levels"),
        ({"max_ladder_levels": 2**24 + 1}, "max_ladder_levels"),
    ],
)
def test_constructor_rejects_bad_settings(kwargs: dict[str, int], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: must be"):
        dl.OrderBook(**kwargs)


def test_depth_rejects_negative_levels() -> None:
    with pytest.raises(ValueError, match=r"^levels: must be >= 0"):
        _book().depth(-1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": 0, "price": 2**63}, r"^price: must be in"),
        ({"type": 0, "owner": -1}, r"^owner: must be in"),
        ({"type": 0, "qty": 1.5}, r"^qty: must be integers"),
        ({"type": [0, 0], "qty": [1, 2, 3]}, r"do not broadcast"),
    ],
)
def test_make_messages_rejects_bad_columns(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        dl.make_messages(**kwargs)


def test_batch_writes_into_a_caller_results_buffer() -> None:
    book = dl.OrderBook()
    out = np.zeros(8, dtype=dl.RESULT_DTYPE)
    batch = dl.make_messages(MsgType.LIMIT, Side.BUY, [100, 101, 102], 2)
    results, _ = book.execute(batch, out)
    assert len(results) == 3
    assert np.shares_memory(results, out)
    assert out["resting"][:3].tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match=r"^results: has room for 2"):
        book.execute(batch, np.zeros(2, dtype=dl.RESULT_DTYPE))
    with pytest.raises(TypeError, match=r"^results: must be"):
        book.execute(batch, np.zeros(8, dtype=np.int64))
