"""The standard benchmark stream: seeded, shaped as specified, cancels hit live orders."""

from __future__ import annotations

import numpy as np
import pytest

import deleverage as dl
from deleverage import MsgType, Reject, _core


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    a = _core.generate_message_stream(20_000, seed=3)
    b = _core.generate_message_stream(20_000, seed=3)
    c = _core.generate_message_stream(20_000, seed=4)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_stream_shape_and_every_message_accepted() -> None:
    stream = _core.generate_message_stream(200_000, seed=1)
    share = np.bincount(stream["type"], minlength=7) / len(stream)
    assert share[MsgType.LIMIT] == pytest.approx(0.6, abs=0.02)
    assert share[MsgType.CANCEL] == pytest.approx(0.3, abs=0.02)
    assert share[MsgType.MARKET] == pytest.approx(0.1, abs=0.01)
    book = dl.OrderBook()
    results, fills = book.execute(stream)
    # Every cancel names an order that is still resting, so nothing is rejected.
    assert np.all(results["code"] == Reject.NONE)
    cancels = results[stream["type"] == MsgType.CANCEL]
    assert np.all(cancels["cancelled"] > 0)
    # Some limit orders trade on arrival.
    limits = results[stream["type"] == MsgType.LIMIT]
    assert 0.02 < np.mean(limits["filled"] > 0) < 0.5
    assert len(fills) > 0


def test_limit_prices_stay_within_half_width_of_the_mid() -> None:
    stream = _core.generate_message_stream(50_000, seed=2, half_width=50)
    book = dl.OrderBook()
    for i in range(0, len(stream), 1000):
        chunk = stream[i : i + 1000]
        bid, ask = book.best_bid, book.best_ask
        if bid is not None and ask is not None:
            first = chunk[0]
            if first["type"] == MsgType.LIMIT:
                assert abs(int(first["price"]) - (bid + ask) // 2) <= 50
        book.execute(chunk)


def test_book_depth_holds_steady() -> None:
    stream = _core.generate_message_stream(400_000, seed=1, target_resting=5_000)
    book = dl.OrderBook()
    sizes = []
    for i in range(0, len(stream), 20_000):
        book.execute(stream[i : i + 20_000])
        sizes.append(book.resting_orders)
    assert 2_500 < np.median(sizes[5:]) < 7_500
    assert max(sizes[5:]) < 2 * 5_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"half_width": 0}, "half_width"),
        ({"limit_share": 0.8, "cancel_share": 0.3}, "limit_share"),
        ({"cross_share": 1.5}, "cross_share"),
        ({"max_qty": 0}, "max_qty"),
        ({"owners": 0}, "owners"),
        ({"target_resting": 0}, "target_resting"),
    ],
)
def test_bad_stream_settings_are_rejected(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _core.generate_message_stream(10, **kwargs)
