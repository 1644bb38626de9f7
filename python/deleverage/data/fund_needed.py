"""The insurance fund a book needs to ride out a move (docs/data.md).

``fund_needed`` finds, by bisection over its starting cash, the smallest
fund serving the shocked instrument (its own fund where it has one,
``InstrumentSpec.insurance_fund``, else the venue's) at which an
instantaneous move of that instrument triggers no auto-deleveraging
(``target="adl"``) or does not empty the fund (``"fund"``). Each evaluation is
one shock on the stress engine (``stress``: the book of accounts, no agents),
so the outcome is a function of the fund alone and the bisection is exact to
``tolerance``, given that a larger fund never brings the target back once a
smaller one has avoided it. For ADL that holds exactly: a fund that covers
every takeover of the move takes the same path with more cash, and covers
them all too. For the fund's equity it is assumed: a larger fund may cover
takeovers a smaller one left to ADL, and hold more of what the move costs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

import numpy as np

from deleverage.data.accounts import AccountSnapshot
from deleverage.data.stress import (
    OUTCOME_COLUMNS,
    Depth,
    PathLike,
    _depths,
    _happens,
    _instrument,
    _run,
    _snapshot,
    _world,
)
from deleverage.scenario import Scenario

__all__ = ["FundNeeded", "fund_needed", "fund_needed_in_run"]


@dataclass(frozen=True)
class FundNeeded:
    """The smallest starting cash ``fund`` (money) of the fund serving
    ``instrument`` with which ``target`` does not come about, and ``below``, the
    largest tried with which it still does; ``at`` and ``before`` are their
    outcomes; ``evaluations`` the shocks or runs. ``fund`` is None if even
    ``limit`` does not avoid it; 0 if no fund is needed.

    Of a move of a book of accounts (``fund_needed``), ``shock`` is the move
    and the outcomes are the stress table's columns; of a scenario's own run
    with agents (``fund_needed_in_run``), ``seed`` is the run's, and the
    answer is a bracket: the run's path changes with the fund, so it need not
    be monotone."""

    target: str
    instrument: str
    fund: float | None
    below: float
    at: dict[str, float] | None
    before: dict[str, float] | None
    evaluations: int
    shock: float | None = None
    seed: int | None = None

    def describe(self) -> str:
        """One line for a person."""
        if self.shock is not None:
            subject, unit = f"A move of {self.shock:+.2%} of {self.instrument}", "shocks"
        else:
            subject, unit = f"The run of seed {self.seed}", "runs"
        what = "empties the fund" if self.target == "fund" else "triggers ADL"
        fund = f"fund for {self.instrument}"
        if self.fund is None:
            return f"{subject} {what} with any {fund} up to {self.below:,.2f}."
        if self.fund == 0.0:
            return f"{subject} needs no {fund}: it never {what}."
        return (
            f"{subject} {what} unless the {fund} starts with at least {self.fund:,.2f} "
            f"(it does with {self.below:,.2f}; {self.evaluations} {unit} run)."
        )


def _with_fund(world: Scenario, i: int, cash: float) -> Scenario:
    """``world`` with the fund that serves instrument i starting at ``cash``."""
    inst = world.instruments[i]
    if inst.insurance_fund is None:
        return world.replace(insurance_fund=cash)
    own = dataclasses.replace(inst, insurance_fund=cash)
    return world.replace(instruments=(*world.instruments[:i], own, *world.instruments[i + 1 :]))


def _money(name: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name}: must be a number (money), got {value!r}")
    x = float(value)
    if not (math.isfinite(x) and x > 0.0):
        raise ValueError(f"{name}: must be finite and > 0 (money), got {value!r}")
    return x


Outcome = dict[str, float]


def _smallest_fund(
    evaluate: Callable[[float], Outcome],
    happens: Callable[[Outcome], bool],
    limit: Callable[[Outcome], float],
    precision: Callable[[float], float],
    threads: int,
) -> tuple[float | None, float, Outcome | None, Outcome | None, int]:
    """The search both functions share: (fund, below, at, before, evaluations).
    No fund first; then ``limit`` (given the outcome without a fund); then
    ``threads`` points at a time spaced evenly in the bracket until it is
    narrower than ``precision`` of its top. Evaluations are counted here, on the
    calling thread."""
    none = evaluate(0.0)
    if not happens(none):
        return 0.0, 0.0, none, None, 1
    hi = limit(none)
    most = evaluate(hi)
    if happens(most):
        return None, hi, None, most, 2
    lo, before, at, evaluations = 0.0, none, most, 2
    with ThreadPoolExecutor(max_workers=threads) as pool:
        while hi - lo > precision(hi):
            points = [lo + (hi - lo) * (k + 1) / (threads + 1) for k in range(threads)]
            evaluations += len(points)
            for p, r in zip(points, pool.map(evaluate, points), strict=True):
                if not happens(r):
                    hi, at = p, r
                    break
                lo, before = p, r
    return hi, lo, at, before, evaluations


def fund_needed(
    world: Scenario | str | PathLike,
    accounts: AccountSnapshot | PathLike | None = None,
    shock: float = -0.2,
    target: Literal["adl", "fund"] = "adl",
    *,
    instrument: str | None = None,
    limit: float | None = None,
    tolerance: float | None = None,
    depth: Depth | Mapping[str, Depth] | None = None,
) -> FundNeeded:
    """The smallest fund serving ``instrument`` (default: the first) that rides
    out an instantaneous move of ``shock`` (a relative move in (-1, 10], not 0)
    of it over the book ``accounts`` (default: the world's ``accounts_file``)
    without ADL (``target="adl"``) or without being emptied (``"fund"``: its
    equity at the marks reaches 0); see the module's text. ``limit`` (money;
    default: the gross notional the accounts hold in the instrument at its start
    price) bounds the search, ``tolerance`` (money; default a ten-thousandth of
    the fund found) its precision; ``depth`` as in ``stress``."""
    if target not in ("fund", "adl"):
        raise ValueError(f"target: must be fund or adl, got {target!r}")
    if isinstance(shock, bool) or not isinstance(shock, (int, float)):
        raise TypeError(f"shock: must be a number (a relative move), got {shock!r}")
    if not (-1.0 < float(shock) <= 10.0) or shock == 0:
        raise ValueError(f"shock: must be a relative move in (-1, 10], not 0, got {shock}")
    scenario = _world(world)
    snapshot = _snapshot(accounts, scenario)
    i = _instrument(scenario, instrument)
    inst = scenario.instruments[i]
    lots = np.abs(np.asarray(snapshot.position, dtype=np.float64)[:, i]).sum()
    held = float(lots) * inst.start_ticks * inst.tick_value
    hi = _money("limit", limit, max(held, 1.0))
    tol = None if tolerance is None else _money("tolerance", tolerance, 0.0)
    depths = _depths(depth, scenario)

    def outcome(cash: float) -> Outcome:
        got, _ = _run(_with_fund(scenario, i, cash), snapshot, i, [[1.0 + shock]], depths, 1, False)
        return {name: float(got[0][name]) for name in OUTCOME_COLUMNS}

    found = _smallest_fund(
        outcome,
        lambda r: _happens(target, r),
        lambda _: hi,
        lambda top: 1e-4 * top if tol is None else tol,  # a ten-thousandth of the fund found
        1,
    )
    return FundNeeded(target, inst.name, *found, shock=float(shock))


def fund_needed_in_run(
    world: Scenario | str | PathLike,
    *,
    instrument: str | None = None,
    target: Literal["adl", "fund"] = "adl",
    seed: int = 0,
    limit: float | None = None,
    tolerance: float | None = None,
    threads: int = 2,
) -> FundNeeded:
    """With agents: the smallest starting fund serving ``instrument`` (default:
    the first; its own fund where it has one, else the venue's) with which the
    scenario's own run of ``seed`` triggers no auto-deleveraging on that book
    (``target="adl"``), or leaves the fund's recorded equity above zero at every
    step (``"fund"``), by bisection over the fund; every run on ``seed`` (common
    random numbers: only the fund differs). ``limit`` (money; default twice the
    notional the run without a fund liquidates in the instrument, at least 1)
    bounds the search, ``tolerance`` (money; default a thousandth of the fund
    found) its precision. Each evaluation is one whole run; each round runs
    ``threads`` of them at once, spaced evenly in the bracket, so it shrinks by
    ``threads + 1`` a round."""
    from deleverage.simulate import build

    if target not in ("fund", "adl"):
        raise ValueError(f"target: must be fund or adl, got {target!r}")
    scenario = _world(world)
    i = _instrument(scenario, instrument)
    inst = scenario.instruments[i]
    tol = None if tolerance is None else _money("tolerance", tolerance, 0.0)
    bound = None if limit is None else _money("limit", limit, 0.0)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 64:
        raise ValueError(f"threads: must be an integer in 1..64, got {threads!r}")

    def outcome(cash: float) -> Outcome:
        sim, _ = build(_with_fund(scenario, i, cash), seed)
        sim.run()
        ni = len(scenario.instruments)
        records = sim.records
        mine = records.reshape(len(records) // ni, ni)[:, i]
        log = sim.liquidations
        closes = (log["instrument"] == i) & (log["kind"] <= 3)
        notional = log["qty"][closes] * log["price"][closes] * inst.tick_value
        return {
            "adl_events": float(mine["adl"].sum()),
            "fund_equity_low": float(mine["fund_equity"].min(initial=cash)),
            "liquidated_notional": float(notional.sum()),
        }

    def happens(r: Outcome) -> bool:
        return r["fund_equity_low"] <= 0.0 if target == "fund" else r["adl_events"] > 0

    found = _smallest_fund(
        outcome,
        happens,
        lambda none: max(2.0 * none["liquidated_notional"], 1.0) if bound is None else bound,
        # A thousandth of the fund found: each evaluation is a run.
        lambda top: 1e-3 * top if tol is None else tol,
        threads,
    )
    return FundNeeded(target, inst.name, *found, seed=seed)
