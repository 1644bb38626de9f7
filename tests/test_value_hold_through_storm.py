"""Value traders who hold a convergence trade to fair value after a storm
(``ValueParams.hold_through_storm``).

Oracle: a plain-Python replay of the rule from the recorded series and the
trade log. A storm (realized volatility at or above ``vol_exit``) marks the
side of fair value the last price is on; the price reaching or crossing fair
value ends the mark. A decision at step t sees the mark after step t - 1, the
last price of t - 1 and the fair value of t. While marked, a value trader
whose position is on the side that converges (short with the price above
fair, long below) never trades to reduce it: with their limit at the last
price (``reach = 0``), a reducing order would trade on arrival, so every
decision to reduce shows in the trade log as the account's first aggressor
trade of the step. The same replay finds such trades without the rule, and
outside the marked steps with it (the test can fail both ways).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from deleverage.scenario import Scenario, ValueParams
from deleverage.simulate import simulate


def _world(base: Scenario, **changes: object) -> Scenario:
    pops = tuple(
        dataclasses.replace(p, params=dataclasses.replace(p.params, reach=0.0, **changes))
        if isinstance(p.params, ValueParams)
        else p
        for p in base.populations
    )
    return base.replace(populations=pops)


def _value_accounts(scenario: Scenario) -> tuple[int, int, float]:
    first = 0
    for p in scenario.populations:
        if isinstance(p.params, ValueParams):
            return first, first + p.accounts, p.params.vol_exit
        first += p.accounts
    raise AssertionError("no value population")


def _marks(last: np.ndarray, fair: np.ndarray, vol: np.ndarray, vol_exit: float) -> np.ndarray:
    """The side of fair marked by the last storm, as a decision at each step sees it."""
    seen = np.zeros(len(last), dtype=np.int64)
    mark = 0
    for t in range(1, len(last)):
        side = int(np.sign(last[t - 1] - fair[t - 1]))
        if mark != side:
            mark = 0
        if vol[t - 1] >= vol_exit and side != 0:
            mark = side
        seen[t] = mark
    return seen


def _reductions(result, lo: int, hi: int, vol_exit: float) -> tuple[int, int, int]:
    """(reducing decisions while marked, holding ones while marked, reducing ones unmarked),
    over value traders' first aggressor trade of a step with a converging position."""
    s = result.series["GOLD"]
    last, fair, vol = (s[c].to_numpy() for c in ("last", "fair", "volatility"))
    marks = _marks(last, fair, vol, vol_exit)
    dt = result.scenario.clock.dt
    position: dict[int, int] = {}
    decided: set[tuple[int, int]] = set()
    marked_cut = marked_held = unmarked_cut = 0
    t_ = result.trades
    for time, buyer, seller, aggressor, qty in zip(
        t_["time"], t_["buyer"], t_["seller"], t_["aggressor"], t_["qty"], strict=True
    ):
        t = round(time / dt)
        who = int(buyer if aggressor == "buy" else seller)
        if lo <= who < hi and t >= 1 and (who, t) not in decided:
            decided.add((who, t))
            c = position.get(who, 0)
            gap = fair[t] - last[t - 1]
            converging = (c < 0 and gap < 0) or (c > 0 and gap > 0)
            cuts = (c < 0 and aggressor == "buy") or (c > 0 and aggressor == "sell")
            if converging and marks[t] != 0:
                marked_cut += cuts
                marked_held += not cuts
            elif converging:
                unmarked_cut += cuts
        position[int(buyer)] = position.get(int(buyer), 0) + int(qty)
        position[int(seller)] = position.get(int(seller), 0) - int(qty)
    return marked_cut, marked_held, unmarked_cut


def test_held_to_fair_after_a_storm_only(stormy_hour: Scenario) -> None:
    lo, hi, vol_exit = _value_accounts(stormy_hour)
    totals = np.zeros((2, 3), dtype=np.int64)
    for seed in (0, 2, 3, 5):
        held = simulate(_world(stormy_hour, hold_through_storm=True), seed, trade_log=True)
        free = simulate(_world(stormy_hour), seed, trade_log=True)
        totals[0] += _reductions(held, lo, hi, vol_exit)
        totals[1] += _reductions(free, lo, hi, vol_exit)
    (cut, held_n, unmarked_cut), (free_cut, _, _) = totals
    assert cut == 0  # never cut while marked
    assert held_n > 10  # the rule is exercised: they add to converging trades while marked
    assert unmarked_cut > 0  # unmarked, they trim as the gap narrows
    assert free_cut > 0  # without the rule, the same replay sees cuts while marked


def test_without_storms_it_changes_nothing(stormy_hour: Scenario) -> None:
    """With volatility never at vol_exit, no mark is ever set: bit-identical runs."""
    calm = _world(stormy_hour, vol_exit=100.0)
    a = simulate(calm, 1)
    b = simulate(_world(calm, vol_exit=100.0, hold_through_storm=True), 1)
    for name in ("last", "fair", "volume", "open_interest"):
        np.testing.assert_array_equal(a.series["GOLD"][name], b.series["GOLD"][name])


def test_hold_through_storm_is_validated() -> None:
    with pytest.raises(TypeError, match="hold_through_storm"):
        ValueParams(hold_through_storm=1)  # type: ignore[arg-type]
