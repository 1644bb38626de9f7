"""Holders who buy dips, unlevered and on margin (``leverage``), in a run.

Oracle: the trade log, account by account. Every holder starts with the same
cash and only buys. A holder's gross position stays within ``leverage`` times
its equity, and its equity never grows beyond its cash by more than the
price's rise over what it bought, so what it buys costs at most ``leverage``
times its cash times that rise. Unlevered, that is its cash: a futures
purchase spends no cash, and a rule that bought a share of cash on every dip
(the one before this bound) bought fourteen times its cash here. On margin,
some holders buy more than their cash: they borrowed. A holder never sells
but for a liquidation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.result import Result
from deleverage.scenario import Scenario
from deleverage.scenario.distributions import Distribution
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

CASH = 50_000.0


def _world(leverage: float) -> Scenario:
    """The default-hour world whose holders hold the same cash, decide every half
    minute and buy half of their buying power on a 1% dip (the 5% drop)."""
    s = load_preset("default-hour").replace(targets=())
    pops = []
    for p in s.populations:
        if p.name == "holders":
            params = dataclasses.replace(p.params, dip=0.01, budget_fraction=0.5, leverage=leverage)  # type: ignore[arg-type]
            p = dataclasses.replace(p, params=params, cash=Distribution.fixed(CASH), activity=120.0)
        pops.append(p)
    return s.replace(populations=tuple(pops))


def _holders(r: Result) -> tuple[int, int]:
    first = 0
    for p in r.scenario.populations:
        if p.name == "holders":
            return first, first + p.accounts
        first += p.accounts
    raise KeyError("holders")


def _rise(r: Result) -> float:
    """The price's most over its least in the run: a bound on a holder's gain per dollar bought."""
    last = r.series[("GOLD", "last")]
    return float(last.max() / last.min())


def _bought_and_sold(r: Result) -> tuple[np.ndarray, np.ndarray]:
    """Per holder: the notional it bought, and the lots it sold other than in a liquidation."""
    assert r.trades is not None
    lo, hi = _holders(r)
    t = r.trades
    notional = t["price"].to_numpy() * t["qty"].to_numpy()
    buyer, seller = t["buyer"].to_numpy(), t["seller"].to_numpy()
    bought = np.zeros(hi - lo)
    mine = (buyer >= lo) & (buyer < hi)
    np.add.at(bought, buyer[mine] - lo, notional[mine])
    sold = np.zeros(hi - lo)
    voluntary = (seller >= lo) & (seller < hi) & ~t["liquidation"].to_numpy()
    np.add.at(sold, seller[voluntary] - lo, t["qty"].to_numpy()[voluntary])
    return bought, sold


@pytest.mark.parametrize("seed", [0, 3])
def test_unlevered_holders_spend_at_most_their_cash(seed: int) -> None:
    r = simulate(_world(1.0), seed=seed, trade_log=True)
    bought, sold = _bought_and_sold(r)
    assert bought.max() > 0.0  # the drop is a dip they buy
    assert bought.max() <= CASH * _rise(r)
    assert not sold.any()


@pytest.mark.parametrize("seed", [0, 3])
def test_holders_on_margin_borrow_up_to_their_leverage(seed: int) -> None:
    leverage = 8.0
    r = simulate(_world(leverage), seed=seed, trade_log=True)
    bought, sold = _bought_and_sold(r)
    assert bought.max() > CASH  # they bought on margin
    assert bought.max() <= leverage * CASH * _rise(r)
    assert not sold.any()
