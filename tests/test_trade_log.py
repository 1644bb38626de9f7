"""The optional trade log against the run's other records.

Oracles: the traded volume of each step in the series; the positions of the
accounts never liquidated, rebuilt from their trades alone; the liquidation
log's book orders, rebuilt from the trades flagged as liquidations.
"""

from __future__ import annotations

import dataclasses as dc

import numpy as np
import pandas as pd
import pytest

from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate


@pytest.fixture(scope="module")
def crash():
    """The default-hour world with a deep shock, so liquidation orders trade too."""
    base = load_preset("default-hour")
    inst = base.instruments[0]
    shocks = (dc.replace(inst.fundamental.shocks[0], value=-0.12),)
    deep = dc.replace(inst, fundamental=dc.replace(inst.fundamental, shocks=shocks))
    return base.replace(instruments=(deep,))


@pytest.mark.parametrize("seed", [0, 1])
def test_trades_add_up_to_each_steps_volume(crash, seed: int) -> None:
    r = simulate(crash, seed, trade_log=True)
    t = r.trades
    assert t is not None
    assert len(t) > 1000
    per_step = t.groupby(t["time"])["qty"].sum()
    volume = r.series[("GOLD", "volume")]
    assert np.array_equal(per_step.to_numpy(), volume[volume > 0].to_numpy())
    assert np.array_equal(per_step.index.to_numpy(), volume[volume > 0].index.to_numpy())
    assert (t["qty"] > 0).all()
    assert (t["buyer"] != t["seller"]).all()
    assert np.all(np.diff(t["time"].to_numpy()) >= 0)


@pytest.mark.parametrize("seed", [0, 1])
def test_positions_of_accounts_never_liquidated_are_their_trades(crash, seed: int) -> None:
    sim, _ = build(crash, seed, trade_log=True)
    sim.run()
    trades = pd.DataFrame(sim.trades)
    n = crash.total_accounts
    bought = np.zeros(n, dtype=np.int64)
    sold = np.zeros(n, dtype=np.int64)
    mine = trades[trades["buyer"] < n]
    np.add.at(bought, mine["buyer"].to_numpy(np.intp), mine["qty"].to_numpy())
    mine = trades[trades["seller"] < n]
    np.add.at(sold, mine["seller"].to_numpy(np.intp), mine["qty"].to_numpy())
    untouched = (sim.status & 1) == 0
    assert untouched.sum() > 0.5 * n
    assert np.array_equal(sim.position[untouched, 0], (bought - sold)[untouched])


def test_liquidation_trades_match_the_liquidation_log(crash) -> None:
    r = simulate(crash, 0, trade_log=True)
    t = r.trades
    liq = r.liquidations
    book = liq[liq["kind"] == "book"]
    assert len(book) > 0, "the shock should send liquidation orders to the book"
    flagged = t[t["liquidation"]]
    assert flagged["qty"].sum() == book["qty"].sum()
    # A liquidated long sells as the taker; a short buys.
    taker = np.where(flagged["aggressor"] == "sell", flagged["seller"], flagged["buyer"])
    assert set(taker) == set(book["account"])


def test_no_trade_log_unless_asked(crash) -> None:
    assert simulate(crash, 0).trades is None
    with pytest.raises(TypeError, match="trade_log"):
        simulate(crash, 0, trade_log=1)  # type: ignore[arg-type]
