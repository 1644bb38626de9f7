"""The accounts' rows: cash, realized P&L, positions and costs side by side.

Oracle: a plain-Python ledger of the same accounts and trades (cash, P&L,
position and cost per account and instrument, docs/margin.md "Closing k
lots"), and the engine's own equity against a sum over the plain rows.
Views of the row fields are strided over rows of 32 bytes (one instrument)
or whole 64-byte lines (more), and still zero-copy and read-only.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import Instrument, MarginEngine, MarginRule


def _row_bytes(instruments: int) -> int:
    used = 2 + 2 * instruments  # cash, P&L, then a position and a cost per instrument
    return 32 if used <= 4 else -(-used // 8) * 64


class PlainLedger:
    """One account's money as docs/margin.md says it moves, in plain Python."""

    def __init__(
        self, cash: float, positions: list[int], entries: list[float], ticks: list[float]
    ) -> None:
        self.cash = cash
        self.realized = 0.0
        self.q = list(positions)
        self.cost = [
            q * e * v if q else 0.0 for q, e, v in zip(positions, entries, ticks, strict=True)
        ]
        self.ticks = ticks

    def trade(self, i: int, lots: int, price: float, fee: float) -> None:
        v = self.ticks[i]
        q = self.q[i]
        if q != 0 and (q > 0) != (lots > 0):
            k = min(abs(lots), abs(q))
            removed = self.cost[i] if k == abs(q) else self.cost[i] * k / abs(q)
            r = (k if q > 0 else -k) * price * v - removed
            self.cash += r
            self.realized += r
            self.cost[i] = 0.0 if k == abs(q) else self.cost[i] - removed
            q += -k if q > 0 else k
            lots += -k if lots > 0 else k
        if lots != 0:
            q += lots
            self.cost[i] += lots * price * v
        self.q[i] = q
        self.cash -= fee

    def equity(self, marks: list[int]) -> float:
        e = self.cash
        for q, c, p, v in zip(self.q, self.cost, marks, self.ticks, strict=True):
            if q:
                e += q * p * v - c
        return e


accounts_st = st.lists(
    st.tuples(
        st.floats(1e3, 1e7),  # cash
        st.integers(-50, 50),  # lots in the home instrument
        st.floats(50.0, 150.0),  # entry price
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    instruments=st.integers(1, 9),
    batches=st.lists(accounts_st, min_size=1, max_size=3),
    trades=st.lists(
        st.tuples(
            st.integers(0, 10**6), st.integers(-30, 30), st.integers(60, 140), st.floats(0.0, 5.0)
        ),
        max_size=60,
    ),
    data=st.data(),
)
def test_rows_hold_what_a_plain_ledger_holds(instruments, batches, trades, data) -> None:
    ticks = [0.5 + i for i in range(instruments)]
    engine = MarginEngine(
        [Instrument(f"I{i}", ticks[i]) for i in range(instruments)], insurance_fund=1e9
    )
    plain: list[PlainLedger] = []
    for batch in batches:  # several batches: the rows grow and move between them
        n = len(batch)
        home = np.array(
            data.draw(st.lists(st.integers(0, instruments - 1), min_size=n, max_size=n))
        )
        cash = np.array([c for c, _, _ in batch])
        position = np.zeros((n, instruments), dtype=np.int64)
        entry = np.zeros((n, instruments))
        for k, (_, lots, price) in enumerate(batch):
            position[k, home[k]] = lots
            entry[k, home[k]] = price
        engine.add_accounts(cash, instrument=home, position=position, entry_price=entry, mode=1)
        plain += [
            PlainLedger(cash[k], position[k].tolist(), entry[k].tolist(), ticks) for k in range(n)
        ]
    for account, lots, price, fee in trades:
        if lots == 0:
            continue
        a = account % len(plain)
        i = (account // len(plain)) % instruments
        engine.apply_trade(a, i, lots, float(price), fee)
        plain[a].trade(i, lots, float(price), fee)

    cash, position, cost, realized = engine.cash, engine.position, engine.cost, engine.realized_pnl
    assert position.shape == cost.shape == (len(plain), instruments)
    for view in (cash, position, cost, realized):
        assert view.strides[0] == _row_bytes(instruments)
        assert not view.flags.writeable
    np.testing.assert_array_equal(position, [p.q for p in plain])
    np.testing.assert_allclose(cash, [p.cash for p in plain], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(cost, [p.cost for p in plain], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(realized, [p.realized for p in plain], rtol=1e-12, atol=1e-6)
    marks = np.arange(90, 90 + instruments, dtype=np.int64)
    np.testing.assert_allclose(
        engine.equity(marks), [p.equity(marks.tolist()) for p in plain], rtol=1e-12, atol=1e-6
    )


@pytest.mark.parametrize("instruments", [1, 2, 3, 4, 8])
def test_row_views_are_zero_copy_and_strided(instruments: int) -> None:
    engine = MarginEngine([Instrument(f"I{i}") for i in range(instruments)])
    engine.add_accounts(np.arange(1.0, 6.0))
    cash = engine.cash
    assert cash.ctypes.data == engine.cash.ctypes.data  # the engine's memory, not a copy
    assert cash.strides == (_row_bytes(instruments),)
    assert not cash.flags.c_contiguous
    assert cash.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    # Cash, P&L, then the positions and the costs, in one row.
    assert engine.realized_pnl.ctypes.data == cash.ctypes.data + 8
    assert engine.position.ctypes.data == cash.ctypes.data + 16
    assert engine.cost.ctypes.data == cash.ctypes.data + 16 + 8 * instruments
    assert engine.position.strides == (_row_bytes(instruments), 8)
    # A row starts on a line of its own: one miss reads an account's row.
    assert cash.ctypes.data % 32 == 0
    assert (cash.ctypes.data % 64 == 0) or instruments == 1


@settings(max_examples=80, deadline=None)
@given(
    accounts=st.lists(
        st.tuples(
            st.floats(0.0, 1e9),  # cash
            st.one_of(st.just(0), st.integers(-(2**40), 2**40), st.integers(-50, 50)),
            st.integers(1, 2_000),  # entry price, ticks
        ),
        min_size=1,
        max_size=70,  # whole groups of four rows and a rest
    ),
    mark=st.integers(1, 4_000),
    rate=st.sampled_from([0.0, 0.005, 0.01, 0.5]),
    tick=st.sampled_from([0.01, 1.0, 25.0]),
)
def test_single_instrument_scan_counts_what_a_plain_scan_counts(
    accounts, mark: int, rate: float, tick: float
) -> None:
    """count_liquidatable's single-instrument scan (four rows at a time where
    the CPU has AVX2) against the same expressions in plain Python floats."""
    rule = MarginRule(initial_rate=max(rate, 0.01), maintenance="percent", maintenance_rate=rate)
    engine = MarginEngine([Instrument("X", tick, rule)])
    cash = [c for c, _, _ in accounts]
    lots = [q for _, q, _ in accounts]
    entry = [float(e) for _, _, e in accounts]
    engine.add_accounts(cash, position=lots, entry_price=entry)
    expected = 0
    for c, q, e in zip(cash, lots, entry, strict=True):
        cost = q * e * tick if q else 0.0
        equity = c + (float(q) * mark * tick - cost)
        mm = rate * (abs(float(q)) * mark * tick)
        expected += q != 0 and equity <= mm
    assert engine.count_liquidatable([mark]) == expected


@pytest.mark.parametrize("sign", [1, -1])
def test_single_instrument_scan_converts_positions_beyond_2_to_the_51(sign: int) -> None:
    """Four-lane conversions of lot counts are exact through a bias only within
    +-2^51; positions built past it by trades (each within +-2^40) must still
    count as the plain expressions count them."""
    rate, mark, accounts, big = 0.001, 100, 8, 2**40
    rule = MarginRule(initial_rate=0.01, maintenance="percent", maintenance_rate=rate)
    engine = MarginEngine([Instrument("X", 1.0, rule)])
    # 2049 full trades and a rest: past 2^51 lots, by a different amount in each row.
    rest = [12_345 + 1_000_003 * a for a in range(accounts)]
    lots = [sign * (2049 * big + r) for r in rest]
    # Cash around the margin each row will need: alternately just under and over it.
    need = [rate * (abs(float(q)) * mark * 1.0) for q in lots]
    engine.add_accounts([n + (-1) ** a * (1 + a) * 1e9 for a, n in enumerate(need)])
    for a in range(accounts):
        for _ in range(2049):
            engine.apply_trade(a, 0, sign * big, 100.0)
        engine.apply_trade(a, 0, sign * rest[a], 100.0)
    q = engine.position[:, 0].astype(np.int64)
    assert q.tolist() == lots
    assert (np.abs(q) > 2**51).all()
    cash, cost = engine.cash, engine.cost[:, 0]
    expected = 0
    for a in range(accounts):
        equity = cash[a] + (float(q[a]) * mark * 1.0 - cost[a])
        expected += equity <= rate * (abs(float(q[a])) * mark * 1.0)
    assert 0 < expected < accounts
    assert engine.count_liquidatable([mark]) == expected
