"""Trades that barely move a liquidation price, against the oracle.

The liquidation index keeps each account in a bucket of its liquidation
price (docs/margin.md); a trade must move it to the right bucket and give it
its new trigger, or a check misses it. Here the price is high in ticks, so
buckets are 256 ticks wide, and accounts at up to 45x trade a lot or two at a
time on positions of 5,000-50,000 lots, near the mark, between checks: most
refreshes stay in their bucket and some cross into the next. Most marks land
two ticks across a live account's liquidation price (the oracle's closed
form), where a stale trigger would hide it; the rest walk. After every check
the engine's liquidations and positions must be the brute-force oracle's
(every account revalued), and the full scan must agree with it on who is
liquidatable.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import Instrument, MarginEngine, MarginRule
from deleverage.reference_margin import ReferenceMargin

PRICE = 2_000_000  # ticks: a bucket is 2^8 ticks wide at this price


def _trigger(ref: ReferenceMargin, a: int, maintenance: float) -> float:
    """The mark (ticks) at which account a's lone position reaches its maintenance margin:
    cash - cost + q p v = maintenance |q| p v."""
    q = float(ref.position[a, 0])
    v = ref.tick_values[0]
    money = float(ref.cash[a] - ref.cost[a, 0])
    return -money / (q * v - maintenance * abs(q) * v)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    accounts=st.integers(2, 60),
    maintenance=st.sampled_from([0.02, 0.05, 0.1]),
    step=st.sampled_from([20.0, 200.0, 2_000.0]),
)
def test_small_trades_between_checks_match_the_oracle(
    seed: int, accounts: int, maintenance: float, step: float
) -> None:
    rng = np.random.default_rng(seed)
    rule = MarginRule(maintenance="percent", maintenance_rate=maintenance, initial_rate=0.04)
    instruments = [Instrument("X", 0.001, rule)]  # $2,000 a lot
    models = [cls(instruments, insurance_fund=1e9) for cls in (ReferenceMargin, MarginEngine)]
    lots = rng.integers(5_000, 50_000, accounts) * rng.choice([-1, 1], accounts)
    leverage = rng.uniform(1.0, 1.0 / maintenance * 0.9, accounts)
    cash = np.abs(lots) * 2_000.0 / leverage
    for model in models:
        model.add_accounts(cash, position=lots, entry_price=np.full(accounts, float(PRICE)))
    ref, eng = models
    assert isinstance(ref, ReferenceMargin)
    assert isinstance(eng, MarginEngine)
    mark = float(PRICE)
    for t in range(60):
        for _ in range(int(rng.integers(1, 2 * accounts))):
            buyer, seller = (int(x) for x in rng.choice(accounts, 2, replace=False))
            if ref.status[buyer] or ref.status[seller]:
                continue  # liquidated accounts stay out
            size = int(rng.integers(1, 3))
            price = mark + float(rng.integers(-50, 51))
            for model in models:
                model.apply_trade(buyer, 0, size, price)
                model.apply_trade(seller, 0, -size, price)
        live = [
            k
            for k in np.flatnonzero((ref.status == 0) & (ref.position[:, 0] != 0))
            if PRICE / 4 < _trigger(ref, int(k), maintenance) < 4 * PRICE
        ]
        a = -1
        if live and rng.random() < 0.7:
            # Just across a live account's liquidation price (the oracle's closed form),
            # where a stale trigger would hide it.
            a = int(rng.choice(live))
            mark = _trigger(ref, a, maintenance) - np.sign(ref.position[a, 0]) * 2
        else:
            mark = max(1.0, mark + float(rng.normal(0.0, step)))
        marks = np.array([round(mark)], dtype=np.int64)
        due = ref._liquidatable_mask([float(marks[0])])
        if a >= 0 and mark > 1.0:
            assert due[a], "the closed form"
        expected = int(np.count_nonzero(due))
        assert eng.count_liquidatable(marks) == expected, f"count_liquidatable at check {t}"
        r, e = ref.check(marks), eng.check(marks)
        assert r["account"].tolist() == e["account"].tolist(), f"check {t}"
        assert r["kind"].tolist() == e["kind"].tolist(), f"check {t}"
        np.testing.assert_array_equal(eng.position, ref.position, err_msg=f"check {t}")
