"""The order-book benchmark: the standard message stream through the batch API.

Reports messages/s of ``OrderBook.execute`` on the standard seeded stream,
the plain-Python reference book on a prefix of the same stream (the baseline,
measured in the same run), ns per add / cancel / market order in a deep book,
and memory per resting order.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from deleverage import _core
from deleverage.codes import MsgType, Side
from deleverage.messages import make_messages
from deleverage.reference_book import ReferenceBook


@dataclass(frozen=True)
class BookBenchmark:
    messages: int
    batch: int
    seed: int
    messages_per_s: float
    messages_per_s_median: float
    reference_messages: int
    reference_messages_per_s: float
    ratio: float
    fills: int
    resting_orders_end: int
    bytes_per_resting_order: float
    bytes_per_resting_order_stream_end: float
    deep_book_orders: int
    ns_per_add: float
    ns_per_cancel: float
    ns_per_market: float
    generate_seconds: float
    wall_seconds: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {value!r}")


def _replay(stream: np.ndarray, batch: int) -> tuple[float, int, _core.OrderBook]:
    book = _core.OrderBook()
    fills = 0
    start = time.perf_counter()
    for i in range(0, len(stream), batch):
        _, f = book.execute(stream[i : i + batch])
        fills += len(f)
    return time.perf_counter() - start, fills, book


def _timed(book: _core.OrderBook, messages: np.ndarray, batch: int) -> tuple[float, np.ndarray]:
    results = []
    start = time.perf_counter()
    for i in range(0, len(messages), batch):
        r, _ = book.execute(messages[i : i + batch])
        results.append(r)
    return time.perf_counter() - start, np.concatenate(results)


def _deep_book_costs(orders: int, batch: int, seed: int) -> tuple[float, float, float, float]:
    """ns per add, cancel and market order, and bytes per resting order, in a deep book."""
    rng = np.random.default_rng(seed)
    mid = 1_000_000
    side = rng.integers(0, 2, orders)
    offset = rng.integers(1, 51, orders)
    price = np.where(side == Side.BUY, mid - offset, mid + offset)
    adds = make_messages(
        MsgType.LIMIT, side, price, rng.integers(1, 101, orders), rng.integers(0, 1000, orders)
    )

    book = _core.OrderBook()
    add_s, added = _timed(book, adds, batch)
    bytes_per_order = book.memory_bytes / book.resting_orders
    cancels = make_messages(MsgType.CANCEL, order_id=rng.permutation(added["order_id"]))
    cancel_s, _ = _timed(book, cancels, batch)

    book = _core.OrderBook()
    _timed(book, adds, batch)
    markets = orders // 2
    sweep = make_messages(
        MsgType.MARKET, rng.integers(0, 2, markets), 0, rng.integers(1, 101, markets)
    )
    market_s, _ = _timed(book, sweep, batch)
    return add_s / orders * 1e9, cancel_s / orders * 1e9, market_s / markets * 1e9, bytes_per_order


def bench_book(
    messages: int = 10_000_000,
    *,
    batch: int = 1 << 16,
    seed: int = 1,
    repeat: int = 3,
    reference_messages: int = 200_000,
    deep_book_orders: int = 1_000_000,
) -> BookBenchmark:
    """Run the order-book benchmark and return its measurements."""
    for name, value in (
        ("messages", messages),
        ("batch", batch),
        ("seed", seed),
        ("repeat", repeat),
        ("reference_messages", reference_messages),
        ("deep_book_orders", deep_book_orders),
    ):
        _check_positive(name, value)

    wall_start = time.perf_counter()
    start = time.perf_counter()
    stream = _core.generate_message_stream(messages, seed=seed)
    generate_s = time.perf_counter() - start

    seconds = []
    for _ in range(repeat):
        elapsed, fills, book = _replay(stream, batch)
        seconds.append(elapsed)
    stream_end_bytes = book.memory_bytes / max(book.resting_orders, 1)

    # The stream's cancels name the C++ book's order ids; give the reference its own.
    prefix = stream[: min(reference_messages, messages)]
    prefix = ReferenceBook.translate_ids(prefix, _core.OrderBook().execute(prefix)[0])
    reference = ReferenceBook()
    start = time.perf_counter()
    reference.execute(prefix)
    reference_s = time.perf_counter() - start

    ns_add, ns_cancel, ns_market, deep_bytes = _deep_book_costs(deep_book_orders, batch, seed)

    best = min(seconds)
    rate = messages / best
    reference_rate = len(prefix) / reference_s
    return BookBenchmark(
        messages=messages,
        batch=batch,
        seed=seed,
        messages_per_s=rate,
        messages_per_s_median=messages / float(np.median(seconds)),
        reference_messages=len(prefix),
        reference_messages_per_s=reference_rate,
        ratio=rate / reference_rate,
        fills=fills,
        resting_orders_end=book.resting_orders,
        bytes_per_resting_order=deep_bytes,
        bytes_per_resting_order_stream_end=stream_end_bytes,
        deep_book_orders=deep_book_orders,
        ns_per_add=ns_add,
        ns_per_cancel=ns_cancel,
        ns_per_market=ns_market,
        generate_seconds=generate_s,
        wall_seconds=time.perf_counter() - wall_start,
    )
