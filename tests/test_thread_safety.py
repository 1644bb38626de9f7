"""One object, two threads: a call that changes it (run without the GIL) against
every call that reads it, hammered for about a second per pair.

Each pair checks what a reader sees against an invariant of the workload (a
state between two calls, never half of one), and the process must not crash:
before every method took the object's lock, a reader walked memory that a
growing book, log or trade list had just freed.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

import deleverage as dl
from deleverage import Instrument, MarginEngine, MarginRule, MsgType, Side
from deleverage.scenarios import load_preset
from deleverage.simulate import build

SECONDS = 1.0
HALF = 512  # orders per side in one batch


class Shared:
    """The object both threads work on; the mutator replaces it now and then."""

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.stop = threading.Event()


def hammer(
    shared: Shared,
    mutate: Callable[[Shared], None],
    read: Callable[[object], None],
    seconds: float = SECONDS,
) -> int:
    """Run `mutate` in a thread and `read` in this one until `seconds` pass; returns reads done."""
    errors: list[BaseException] = []

    def mutator() -> None:
        try:
            while not shared.stop.is_set():
                mutate(shared)
        except BaseException as err:  # reported in the main thread
            errors.append(err)
            shared.stop.set()

    thread = threading.Thread(target=mutator, daemon=True)
    thread.start()
    reads = 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline and not shared.stop.is_set():
            read(shared.obj)
            reads += 1
    finally:
        shared.stop.set()
        thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]
    assert reads > 0
    return reads


# -- OrderBook: execute() against every reader ------------------------------------------------


def _batch(rng: np.random.Generator) -> np.ndarray:
    """HALF buys below 2000 and HALF sells at 2000 or above: nothing crosses, all rest."""
    side = np.repeat([Side.BUY, Side.SELL], HALF)
    price = np.concatenate([rng.integers(1000, 2000, HALF), rng.integers(2000, 3000, HALF)])
    return dl.make_messages(MsgType.LIMIT, side, price, 1, owner=7)


def _grow_books(shared: Shared, rng: np.random.Generator) -> None:
    # A fresh book grows from empty through many reallocations of its order pool.
    book = shared.obj
    if book.resting_orders >= 64 * 2 * HALF:
        book = dl.OrderBook(track_owners=True)
        shared.obj = book
    results, fills = book.execute(_batch(rng))
    assert (results["code"] == 0).all()
    assert len(fills) == 0


def _check_snapshot(book: dl.OrderBook) -> None:
    snap = book.snapshot()
    side = snap["side"]
    bids, asks = snap["price"][side == 0], snap["price"][side == 1]
    assert len(bids) == len(asks)  # whole batches only
    assert len(bids) % HALF == 0
    assert (np.diff(side.astype(np.int8)) >= 0).all()  # bids first, then asks
    assert (np.diff(bids) <= 0).all()  # best first
    assert (np.diff(asks) >= 0).all()
    if len(snap):
        probe = int(snap["order_id"][len(snap) // 2])
        assert book.order(probe) is not None  # nothing is ever cancelled


def _check_depth(book: dl.OrderBook) -> None:
    bids, asks = book.depth(1000)
    assert bids["qty"].sum() == asks["qty"].sum()
    assert bids["qty"].sum() % HALF == 0
    assert (np.diff(bids["price"]) < 0).all()
    assert (np.diff(asks["price"]) > 0).all()


def _check_counts(book: dl.OrderBook) -> None:
    bid, ask, spread = book.best_bid, book.best_ask, book.spread
    assert bid is None or 1000 <= bid < 2000
    assert ask is None or 2000 <= ask < 3000
    assert spread is None or spread > 0
    assert book.last_price is None
    assert book.resting_orders % (2 * HALF) == 0
    assert len(book) % (2 * HALF) == 0
    assert book.memory_bytes >= 0
    assert book.stp == 0
    assert book.tracks_owners
    assert book.max_ladder_levels == dl.DEFAULT_MAX_LADDER_LEVELS


def _check_quantity_to(book: dl.OrderBook) -> None:
    assert book.quantity_to(Side.SELL, 1) % HALF == 0  # every bid, one lot each
    assert book.quantity_to(Side.BUY, 10_000) % HALF == 0


@pytest.mark.parametrize(
    "read",
    [_check_snapshot, _check_depth, _check_counts, _check_quantity_to],
    ids=lambda f: f.__name__.removeprefix("_check_"),
)
def test_book_readers_against_execute(read: Callable[[dl.OrderBook], None]) -> None:
    rng = np.random.default_rng(1)
    shared = Shared(dl.OrderBook(track_owners=True))
    hammer(shared, lambda s: _grow_books(s, rng), read)


def test_book_single_messages_against_execute() -> None:
    """Two writers: every order of both threads is accounted for, none is lost."""
    book = dl.OrderBook(track_owners=True)
    shared = Shared(book)
    rng = np.random.default_rng(2)
    batches = [0]
    singles = [0]

    def mutate(s: Shared) -> None:
        if batches[0] < 200:
            book.execute(_batch(rng))
            batches[0] += 1
        else:
            time.sleep(0.001)

    def read(b: object) -> None:
        e = book.limit(Side.BUY, 1500, 1, owner=9)
        singles[0] += 1
        if singles[0] % 2 == 0:  # cancel every other one: cancel and limit both exercised
            assert book.cancel(e.order_id).cancelled == 1
        if singles[0] % 64 == 0:
            assert book.cancel_owner(9) >= 0

    hammer(shared, mutate, read)
    mine = book.snapshot()
    assert (mine["owner"] == 7).sum() == batches[0] * 2 * HALF


# -- MarginEngine: check_path() and add_accounts() against every reader -----------------------


RULE = MarginRule(initial_rate=0.1, maintenance_rate=0.05)


def _engine(accounts: int, rng: np.random.Generator) -> MarginEngine:
    engine = MarginEngine([Instrument("X", 1.0, RULE)], insurance_fund=1e7)
    # 10 lots long from 1000 with 1000..9000 of cash: liquidation prices spread
    # over about 105..947, so a falling path liquidates a few at every step.
    engine.add_accounts(rng.uniform(1000, 9000, accounts), position=10, entry_price=1000.0)
    return engine


def _crash_paths(shared: Shared, rng: np.random.Generator) -> None:
    engine = _engine(20_000, rng)
    engine.initial = engine.conserved()  # type: ignore[attr-defined]
    engine.first_prices = engine.liquidation_prices()  # type: ignore[attr-defined]
    shared.obj = engine
    path = np.linspace(1000, 100, 400).astype(np.int64).reshape(-1, 1)
    for k in range(0, len(path), 50):  # the log grows, and moves, over several calls
        engine.check_path(path[k : k + 50])


def _check_log(engine: MarginEngine) -> None:
    log = engine.log
    assert (np.diff(log["check"].astype(np.int64)) >= 0).all()
    assert np.isin(log["kind"], [0, 1, 2, 3, 4]).all()
    assert (log["qty"] > 0).all()
    assert (log["account"] < engine.accounts).all()


def _check_money(engine: MarginEngine) -> None:
    start = engine.initial  # type: ignore[attr-defined]
    assert engine.conserved() == pytest.approx(start, rel=1e-9)
    assert engine.bad_debt >= 0
    assert engine.fees_collected >= 0
    assert engine.insurance_fund == pytest.approx(engine.insurance_fund)


def _check_prices(engine: MarginEngine) -> None:
    prices = engine.liquidation_prices()
    assert len(prices) == engine.accounts
    closed = np.isnan(prices)
    open_ = prices[~closed]
    assert ((open_ > 100) & (open_ < 1000)).all()
    # Between two calls of check_path, every account above the mark is gone, and none below.
    first = engine.first_prices[closed]  # type: ignore[attr-defined]
    if len(first) and len(open_):
        assert first.min() >= open_.max()
    equity = engine.equity([500])
    mm = engine.maintenance_margin([500])
    assert len(equity) == len(mm) == engine.accounts
    assert engine.count_liquidatable([500]) <= engine.accounts


def _check_views(engine: MarginEngine) -> None:
    position = engine.position
    cash = engine.cash
    status = engine.status
    assert position.shape == (len(cash), 1)
    assert len(status) == len(cash) == engine.accounts
    assert set(np.unique(position)) <= {0, 10}  # a whole position, or none
    assert len(engine.cross_thresholds) == len(engine.realized_pnl) == engine.accounts
    assert engine.fund_position.shape == engine.fund_cost.shape == (1,)
    assert engine.cross_stats["accounts"] == 0
    assert engine._core.checks >= 0
    assert engine.memory_bytes > 0


@pytest.mark.parametrize(
    "read",
    [_check_log, _check_money, _check_prices, _check_views],
    ids=lambda f: f.__name__.removeprefix("_check_"),
)
def test_engine_readers_against_check_path(read: Callable[[MarginEngine], None]) -> None:
    rng = np.random.default_rng(3)
    shared = Shared(_engine(10, rng))
    shared.obj.initial = shared.obj.conserved()  # type: ignore[attr-defined]
    shared.obj.first_prices = shared.obj.liquidation_prices()  # type: ignore[attr-defined]
    hammer(shared, lambda s: _crash_paths(s, rng), read)


def test_engine_views_against_add_accounts() -> None:
    """The table grows only while no view is alive; a view never sees freed memory."""
    engine = MarginEngine([Instrument("X", 1.0, RULE)])
    shared = Shared(engine)
    refused = [0]
    grown = [0]
    block = 50_000

    def mutate(s: Shared) -> None:
        e = s.obj
        if e.accounts >= 1_000_000:
            s.obj = e = MarginEngine([Instrument("X", 1.0, RULE)])
        try:
            e.add_accounts(np.full(block, 100.0))
            grown[0] += 1
        except ValueError as err:
            if not str(err).startswith("accounts: the table must grow"):
                raise
            refused[0] += 1
            time.sleep(0.0005)

    def read(e: object) -> None:
        cash = e.cash  # type: ignore[attr-defined]
        assert len(cash) % block == 0
        assert (cash == 100.0).all()
        del cash

    hammer(shared, mutate, read)
    assert grown[0] > 0


def test_engine_check_books_against_book_execute() -> None:
    """An engine liquidating through a book while another thread trades in it."""
    book = dl.OrderBook(track_owners=True)
    engine = MarginEngine([Instrument("X", 1.0, RULE)], insurance_fund=1e7)
    engine.attach_book(0, book)
    dealer = 1_000_000
    book.execute(dl.make_messages(MsgType.LIMIT, Side.BUY, np.arange(500, 1000), 5, owner=dealer))
    engine.add_accounts(
        np.random.default_rng(4).uniform(1000, 9000, 2000), position=10, entry_price=1000.0
    )
    start = engine.conserved()
    shared = Shared(book)
    marks = itertools.chain(np.linspace(999, 600, 20_000).astype(np.int64), itertools.repeat(600))

    def mutate(s: Shared) -> None:
        engine.check_books([next(marks)])

    def read(b: object) -> None:
        fills = book.execute(
            dl.make_messages(MsgType.LIMIT, Side.BUY, [700, 701], 1, owner=dealer)
        )[1]
        engine.apply_fills(0, fills)
        assert book.best_ask is None or book.best_bid is None or book.best_bid < book.best_ask
        assert engine.book_marks([800])[0] > 0

    hammer(shared, mutate, read)
    assert engine.conserved() == pytest.approx(start, rel=1e-9)
    held = engine.position.sum() + engine.fund_position.sum() + engine.outside_position.sum()
    assert held == 2000 * 10


# -- Simulation: run() against its readers ----------------------------------------------------


@pytest.fixture(scope="module")
def world():
    return load_preset("default-hour")


def test_simulation_readers_against_run(world) -> None:
    expected, _ = build(world, 5, trade_log=True)
    expected.run()
    ni = len(world.instruments)
    done = []

    def mutate(s: Shared) -> None:
        sim, _ = build(world, 5, trade_log=True)
        s.obj = sim
        assert sim.run()
        done.append(sim)

    def read(sim: object) -> None:
        steps = sim.steps_done  # type: ignore[attr-defined]
        records = sim.records  # type: ignore[attr-defined]
        trades = sim.trades  # type: ignore[attr-defined]
        later = sim.steps_done  # type: ignore[attr-defined]
        assert steps * ni <= len(records) <= later * ni
        assert (np.diff(trades["step"].astype(np.int64)) >= 0).all()
        assert len(sim.liquidations) >= 0  # type: ignore[attr-defined]
        assert sim.conservation_error() < 1e-9  # type: ignore[attr-defined]
        assert len(sim.cash) == len(sim.status) == sim.position.shape[0]  # type: ignore[attr-defined]

    hammer(Shared(expected), mutate, read)
    assert done
    # Readers never change a run: the last one ends as a run left alone does.
    last = done[-1]
    assert last.records.tobytes() == expected.records.tobytes()
    assert last.trades.tobytes() == expected.trades.tobytes()


def test_simulation_refuses_a_second_run_at_once(world) -> None:
    sim, _ = build(world, 6)
    seen: list[str] = []

    def progress(done: int) -> None:
        assert sim.steps_done == done  # the callback may read the simulation
        if not seen:
            with pytest.raises(RuntimeError, match=r"^run: this simulation is already running"):
                sim.run()
            seen.append("refused")

    assert sim.run(progress)
    assert seen == ["refused"]
    assert sim.steps_done == world.clock.steps
