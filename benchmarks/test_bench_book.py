"""Order-book benchmarks: the batch API against the plain-Python reference.

Run with ``python -m pytest benchmarks``. Rates are recorded in each
benchmark's ``extra_info`` (messages/s, and the ratio to the reference book
measured in the same session); nothing here asserts a time.
"""

from __future__ import annotations

import numpy as np
import pytest

import deleverage as dl
from deleverage import MsgType, Side
from deleverage.reference_book import ReferenceBook

from .conftest import BATCH
from .timing import best_seconds

REFERENCE_PREFIX = 50_000
rates: dict[str, float] = {}


def _replay(stream: np.ndarray) -> int:
    book = dl.OrderBook()
    fills = 0
    for i in range(0, len(stream), BATCH):
        fills += len(book.execute(stream[i : i + BATCH])[1])
    return fills


def test_reference_book(benchmark, stream: np.ndarray) -> None:
    prefix = stream[:REFERENCE_PREFIX]
    # The stream's cancels name the C++ book's order ids; give the reference its own.
    prefix = ReferenceBook.translate_ids(prefix, dl.OrderBook().execute(prefix)[0])
    benchmark.pedantic(lambda: ReferenceBook().execute(prefix), rounds=3, iterations=1)
    rates["reference"] = len(prefix) / best_seconds(benchmark)
    benchmark.extra_info["messages_per_s"] = rates["reference"]


def test_batch_api(benchmark, stream: np.ndarray) -> None:
    benchmark.pedantic(_replay, args=(stream,), rounds=5, iterations=1, warmup_rounds=1)
    rate = len(stream) / best_seconds(benchmark)
    benchmark.extra_info["messages_per_s"] = rate
    if "reference" in rates:
        benchmark.extra_info["ratio_to_reference"] = rate / rates["reference"]


@pytest.fixture(scope="module")
def deep_adds() -> np.ndarray:
    rng = np.random.default_rng(7)
    n = 500_000
    side = rng.integers(0, 2, n)
    offset = rng.integers(1, 51, n)
    price = np.where(side == Side.BUY, 1_000_000 - offset, 1_000_000 + offset)
    return dl.make_messages(MsgType.LIMIT, side, price, rng.integers(1, 101, n))


def _run(book: dl.OrderBook, messages: np.ndarray) -> np.ndarray:
    out = [book.execute(messages[i : i + BATCH])[0] for i in range(0, len(messages), BATCH)]
    return np.concatenate(out)


def test_add(benchmark, deep_adds: np.ndarray) -> None:
    benchmark.pedantic(lambda: _run(dl.OrderBook(), deep_adds), rounds=5, iterations=1)
    benchmark.extra_info["ns_per_add"] = best_seconds(benchmark) / len(deep_adds) * 1e9


def test_cancel(benchmark, deep_adds: np.ndarray) -> None:
    def setup():
        book = dl.OrderBook()
        ids = np.random.default_rng(1).permutation(_run(book, deep_adds)["order_id"])
        return (book, dl.make_messages(MsgType.CANCEL, order_id=ids)), {}

    benchmark.pedantic(_run, setup=setup, rounds=5, iterations=1)
    benchmark.extra_info["ns_per_cancel"] = best_seconds(benchmark) / len(deep_adds) * 1e9


def test_market(benchmark, deep_adds: np.ndarray) -> None:
    n = len(deep_adds) // 2
    rng = np.random.default_rng(2)
    markets = dl.make_messages(MsgType.MARKET, rng.integers(0, 2, n), 0, rng.integers(1, 101, n))

    def setup():
        book = dl.OrderBook()
        _run(book, deep_adds)
        return (book, markets), {}

    benchmark.pedantic(_run, setup=setup, rounds=5, iterations=1)
    benchmark.extra_info["ns_per_market"] = best_seconds(benchmark) / n * 1e9
