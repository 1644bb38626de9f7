"""Market makers requoting together (``Scenario.requote = "together"``).

Oracle: the trade log. In turn, a maker's new quotes trade against other makers'
quotes of the step before whenever the fair value moved further than their
spread; together, every maker's ladder is cancelled before any is posted, so no
trade between two makers is made by a maker's order. With one maker a book, the
two are the same run bit for bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.result import Result
from deleverage.scenario import MarketMakerParams, Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate


def _makers(scenario: Scenario) -> np.ndarray:
    """Whether each account is a market maker's."""
    flags = []
    for p in scenario.populations:
        flags += [isinstance(p.params, MarketMakerParams)] * p.accounts
    return np.asarray(flags, dtype=bool)


def _maker_to_maker(result: Result) -> int:
    """Lots traded between two makers."""
    maker = _makers(result.scenario)
    t = result.trades
    assert t is not None
    n = len(maker)
    buyer, seller = t["buyer"].to_numpy(), t["seller"].to_numpy()
    both = (buyer < n) & (seller < n)
    both[both] = maker[buyer[both]] & maker[seller[both]]
    return int(t["qty"].to_numpy()[both].sum())


@pytest.fixture(scope="module")
def world() -> Scenario:
    """The default world shortened to its quiet hours: four dealers on one book."""
    return load_preset("default").with_steps(3_600).replace(targets=(), quiet_window=())


def test_in_turn_makers_trade_each_others_stale_quotes(world: Scenario) -> None:
    # The counter-check: without requoting together the oracle finds such trades.
    assert _maker_to_maker(simulate(world, 0, trade_log=True)) > 0


@pytest.mark.parametrize("seed", [0, 3])
def test_together_no_maker_trades_another(world: Scenario, seed: int) -> None:
    r = simulate(world.replace(requote="together"), seed, trade_log=True)
    assert _maker_to_maker(r) == 0
    assert r.trades is not None
    assert len(r.trades) > 0  # the book still trades
    assert r.conservation_error < 1e-12


def test_one_maker_a_book_runs_the_same_either_way(world: Scenario) -> None:
    pops = tuple(
        dataclasses.replace(p, accounts=1) if isinstance(p.params, MarketMakerParams) else p
        for p in world.populations
    )
    one = world.replace(populations=pops)
    a = simulate(one, 2)
    b = simulate(one.replace(requote="together"), 2)
    for name in ("series", "liquidations", "accounts", "leverage"):
        assert getattr(a, name).equals(getattr(b, name)), name


def test_requote_is_checked() -> None:
    with pytest.raises(ValueError, match=r"^requote: must be one of in_turn, together; got 'all'"):
        load_preset("default-hour").replace(requote="all")
