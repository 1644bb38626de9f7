"""The reference of the scenario format (``docs/scenario.md``), generated from the dataclasses.

Each table of a scenario file is a dataclass of this package; the reference walks
them from ``Scenario`` down. A field's TOML type and its default come from the
dataclass itself (its type hints and ``dataclasses.fields``); its allowed values
and meaning from ``FIELDS`` below, one entry per field, so a field added to a
dataclass without an entry here makes ``reference_text`` fail. A numeric range
is a ``Range``, which the test suite checks against the classes' own validation.

``python -m deleverage.scenario.reference`` prints the page;
``python -m deleverage.scenario.reference --write docs/scenario.md`` rewrites it.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from deleverage.margin_rules import MarginRule
from deleverage.scenario.distributions import Distribution
from deleverage.scenario.episode import Episode
from deleverage.scenario.fundamental import Fundamental, Shock, Waypoint
from deleverage.scenario.policy import MarginChange, Policy, VolatilityTrigger
from deleverage.scenario.population_change import PopulationChange
from deleverage.scenario.populations import (
    HOLDER_ANCHORS,
    PARAMS_CLASSES,
    QUOTE_SIDES,
    VALUE_SIDES,
    Population,
)
from deleverage.scenario.scenario import Clock, InstrumentSpec, Scenario
from deleverage.scenario.targets import COUNTERFACTUAL_CAUSES, MARKET_FACTS, Target

__all__ = ["FIELDS", "SECTIONS", "Range", "reference_text"]


def _names(names: tuple[str, ...]) -> str:
    """The allowed names of a field, as the table shows them: ``a``, ``b``."""
    return ", ".join(f"`{n}`" for n in names)


@dataclass(frozen=True)
class Range:
    """A numeric range, ``[lo, hi]`` with open ends where said; ``integer`` for whole numbers."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    integer: bool = False
    note: str = ""

    def text(self) -> str:
        def bound(x: float) -> str:
            if math.isinf(x):
                return "inf" if x > 0 else "-inf"
            if x == 2**40:
                return "2**40"
            if float(x).is_integer():
                exponent = round(math.log10(abs(x))) if x else 0
                if abs(x) >= 1e7 and abs(x) == 10.0**exponent:
                    return f"{'-' if x < 0 else ''}1e{exponent}"
                return f"{int(x):_}" if abs(x) >= 10_000 else str(int(x))
            return f"{x:g}"

        left = "(" if self.lo_open or math.isinf(self.lo) else "["
        right = ")" if self.hi_open else "]"  # an infinite closed end: inf itself is allowed
        text = f"{left}{bound(self.lo)}, {bound(self.hi)}{right}"
        return f"{text}; {self.note}" if self.note else text


Allowed = Range | str


def _r(
    lo: float = -math.inf,
    hi: float = math.inf,
    lo_open: bool = False,
    hi_open: bool = False,
    note: str = "",
) -> Range:
    return Range(lo, hi, lo_open, hi_open, False, note)


def _i(lo: float, hi: float, note: str = "") -> Range:
    return Range(lo, hi, integer=True, note=note)


_POSITIVE_DIST = "a distribution whose samples are > 0"
_NAME = "non-empty string"

#: The sections of the page: (heading, TOML tables where the class appears, class, intro).
SECTIONS: tuple[tuple[str, str, type, str], ...] = (
    (
        "Scenario",
        "the top level of the file",
        Scenario,
        "The world: its name, the tables below, the insurance fund and how forced sales are made.",
    ),
    ("Clock", "`[clock]`", Clock, "The simulation clock."),
    ("Instrument", "`[[instruments]]`", InstrumentSpec, "A traded instrument; at least one."),
    (
        "Margin rule",
        "`[instruments.margin]`, `[policy.margin_changes.margin]`, "
        "`[policy.volatility_triggers.margin]`",
        MarginRule,
        "An instrument's margin rule: initial margin, maintenance, fees, close-out.",
    ),
    (
        "Fair value",
        "`[instruments.fundamental]`",
        Fundamental,
        "The fair-value process of an instrument.",
    ),
    (
        "Shock",
        "`[[instruments.fundamental.shocks]]` (or an inline array `shocks = [...]`)",
        Shock,
        "A scheduled change of the fair value's process; sorted by step.",
    ),
    (
        "Waypoint",
        "`[[instruments.fundamental.waypoints]]` (or an inline array `waypoints = [...]`)",
        Waypoint,
        "A level the fair value passes through (a Brownian bridge to it); steps strictly increase.",
    ),
    (
        "Population",
        "`[[populations]]`",
        Population,
        "A block of accounts following one strategy; at least one.",
    ),
    (
        "Population change",
        "`[[populations.changes]]` (or an inline array `changes = [...]`)",
        PopulationChange,
        "A scheduled change of the population's parameters or activity (a central bank "
        "relieving dealers' balance sheets, a broker cutting leverage); sorted by step.",
    ),
    (
        "Distribution",
        "`cash`, `target_leverage`, `order_size`, `depth_lots` "
        '(an inline table, e.g. `{ kind = "uniform", low = 2.0, high = 20.0 }`)',
        Distribution,
        "A distribution of a per-account parameter; only the fields of its `kind` are given.",
    ),
    *(
        (
            f"Parameters: {strategy}",
            f'`[populations.params]` of a population with `strategy = "{strategy}"`',
            cls,
            (cls.__doc__ or "").strip().splitlines()[0],
        )
        for strategy, cls in PARAMS_CLASSES.items()
    ),
    ("Policy", "`[policy]`", Policy, "The exchange's rules over a run."),
    (
        "Margin change",
        "`[[policy.margin_changes]]`",
        MarginChange,
        "A scheduled exchange notice; sorted by step.",
    ),
    (
        "Volatility trigger",
        "`[[policy.volatility_triggers]]`",
        VolatilityTrigger,
        "A margin hike when realized volatility passes a threshold.",
    ),
    (
        "Episode",
        "`[episode]`",
        Episode,
        "The days of the crash a scenario replays, for its crash-day figures.",
    ),
    (
        "Target",
        "`[[targets]]`",
        Target,
        "A figure `deleverage validate` checks and `deleverage calibrate` aims at.",
    ),
)

#: Per class and field: (allowed values, meaning).
FIELDS: dict[type, dict[str, tuple[Allowed, str]]] = {
    Scenario: {
        "name": (_NAME, "the scenario's name, used in reports and output folders"),
        "instruments": ("at least one; unique names", "the traded instruments (below)"),
        "populations": (
            "at least one; unique names; <= 100_000_000 accounts in total",
            "the populations of accounts (below)",
        ),
        "clock": ("a table", "the clock (below)"),
        "policy": ("a table", "the exchange's policy (below)"),
        "insurance_fund": (
            _r(0, 1e18),
            "the venue's insurance fund's starting cash (money); an instrument with a fund of "
            "its own (its `insurance_fund`) does not draw on it",
        ),
        "adl": ("true or false", "auto-deleveraging when the fund cannot cover a loss"),
        "description": ("string", "one line saying what the world shows"),
        "correlation": (
            "instruments x instruments, symmetric, 1 on the diagonal, entries in [-1, 1], "
            "positive semi-definite; or empty",
            "correlation of the instruments' fair-value shocks (empty: independent)",
        ),
        "close_order": (
            "`instrument`, `most_liquid`, `largest_loss`, `pro_rata`",
            "which position a margin call on a multi-instrument account closes first",
        ),
        "liquidation_orders": (
            "`bankruptcy`, `market`",
            "forced sales bounded at the bankruptcy price (the rest to the insurance fund), "
            "or at any price the book holds (a broker's close-out)",
        ),
        "fund_covers": (
            "`cash`, `equity`",
            "what the insurance fund covers a takeover's loss out of before auto-deleveraging: "
            "its cash, or its cash plus the positions it holds at the marks",
        ),
        "liquidation_priority": (
            "`account`, `margin_ratio`",
            "the order a liquidation round takes its accounts in: by account, or the lowest "
            "equity over maintenance margin first",
        ),
        "order_from": (
            "`opening`, `current`",
            "the position a due trader's order is sized from: the step's opening one, or that "
            "plus what its resting orders traded earlier in the step",
        ),
        "requote": (
            "`in_turn`, `together`",
            "how market makers replace their ladders each step: each in turn (a maker's new "
            "quotes may trade another's stale ones), or all cancelled before any is posted",
        ),
        "episode": ("a table, or left out", "the crash a replay is judged on (below)"),
        "quiet_window": (
            "`[start, end]` seconds, start within the run, end > start (may be `inf`); or empty",
            "ordinary trading, where stylized facts are measured (empty: up to the first jump)",
        ),
        "targets": ("array of tables", "what `deleverage validate` checks (below)"),
        "accounts_file": (
            "a CSV or Parquet file (docs/data.md); left out: none",
            "a snapshot of real accounts joining the generated populations",
        ),
    },
    Clock: {
        "dt": (_r(0.001, 86400), "seconds per step"),
        "steps": (_i(1, 100_000_000), "number of steps"),
        "start": (
            "a date-time with its UTC offset (`2025-12-28T00:00:00Z`, or an ISO 8601 "
            "string); kept and saved in UTC; a local date-time or a bare date is an error",
            "the date-time of the first step: a dated run's series are indexed by UTC "
            "date-times, its tables and figures show dates; left out, times are "
            "seconds from the start",
        ),
    },
    InstrumentSpec: {
        "name": (_NAME + "; unique", "the instrument's name, used by populations and policy"),
        "start_price": (
            _r(0, 1e15, lo_open=True, note="a whole number of ticks, 1..2**40 of them"),
            "the starting price (price units)",
        ),
        "tick_size": (_r(0, 1e9, lo_open=True), "the price step (price units)"),
        "lot_size": (
            _r(0, 1e9, lo_open=True, note="tick_size * lot_size in [1e-12, 1e12]"),
            "units of the underlying per lot",
        ),
        "margin": ("a table", "the margin rule at the start (see Margin rule)"),
        "mark": ("`last`, `mid`, `median`", "the mark-price rule (median of last, bid, ask)"),
        "fundamental": ("a table", "the fair-value process (see Fair value)"),
        "liquidity": (
            _r(0, 1e18, lo_open=True),
            "rank for the `most_liquid` close order (highest is sold first)",
        ),
        "asset_class": (
            "lower-case letters, digits, underscores, starting with a letter; or empty",
            "a label naming the instrument in headline figures",
        ),
        "liquidation_capacity": (
            _r(0, math.inf, lo_open=True),
            "most notional of this instrument liquidated in one step (money; `inf`: no cap); "
            "accounts holding it wait for the next step",
        ),
        "insurance_fund": (
            _r(0, 1e18),
            "starting cash of an insurance fund of this instrument's own (money; left out: it "
            "shares the venue's `insurance_fund`)",
        ),
    },
    MarginRule: {
        "initial_rate": (_r(0, 1, lo_open=True), "initial margin as a fraction of notional"),
        "maintenance": ("`fixed`, `percent`, `tiered`, `closeout`", "how maintenance is computed"),
        "maintenance_rate": (
            _r(0, 1, note="below 1 for `percent`"),
            "maintenance as a fraction of notional (`percent`)",
        ),
        "amount_per_lot": (_r(0, 1e15), "maintenance in money per lot (`fixed`)"),
        "tiers": (
            "array of `[floor, rate]`: floors from 0, increasing; rates in [0, 1), not decreasing",
            "notional brackets and their maintenance rates (`tiered`)",
        ),
        "closeout_share": (
            _r(0, 1, lo_open=True, note="closeout_share * initial_rate < 1"),
            "close-out level as a share of initial margin (`closeout`)",
        ),
        "basis": ("`mark`, `entry`", "margin on the mark price or the entry price"),
        "liquidation_fee_rate": (_r(0, 0.1), "fee on liquidated notional, to the insurance fund"),
        "negative_balance_protection": (
            "true or false",
            "losses past an account's equity become bad debt, not the account's debt",
        ),
        "partial_liquidation": (
            "true or false; only with `tiered`",
            "liquidate down to a lower tier instead of closing the whole position",
        ),
        "maker_fee_rate": (_r(-0.01, 0.01), "fee on passive fills (negative: a rebate)"),
        "taker_fee_rate": (_r(-0.01, 0.01), "fee on aggressive fills"),
    },
    Fundamental: {
        "kind": ("`lognormal`, `mean_reverting`", "the process"),
        "drift": (_r(-5, 5), "annualised drift"),
        "volatility": (_r(0, 5), "annualised volatility"),
        "reversion": (
            _r(0, 1e6, note="> 0 for `mean_reverting`, 0 otherwise"),
            "annualised rate of reversion to the anchor",
        ),
        "anchor": (
            "> 0, at most 1e15; only for `mean_reverting`; left out: the start price",
            "the price a mean-reverting fair value reverts to",
        ),
        "shocks": ("array of tables, sorted by step", "scheduled shocks (see Shock)"),
        "vol_of_vol": (_r(0, 1.5), "stationary deviation of log volatility (0: constant)"),
        "vol_half_life": (
            _r(0, 10 * 365 * 86400, lo_open=True),
            "seconds for a volatility deviation to halve",
        ),
        "news_share": (_r(0, 0.95), "share of the variance arriving as news jumps (0: none)"),
        "news_rate": (
            _r(0, 1e4, lo_open=True),
            "news items a day at the mean volatility, more when it is high",
        ),
        "waypoints": (
            "array of tables, steps strictly increasing",
            "levels the path passes through, a Brownian bridge between them (see Waypoint)",
        ),
        "path": (
            "a CSV or Parquet file (`time`, `price`; docs/data.md); no waypoints, only jumps",
            "a recorded path the fair value follows, jumps on top",
        ),
        "index_path": (
            "a CSV or Parquet file (`time`, `price`; docs/data.md)",
            "a recorded path of the index of other venues the mark rule reads",
        ),
    },
    Waypoint: {
        "step": (_i(0, 99_999_999), "the step it is reached at (past the run: still shapes it)"),
        "price": (_r(0, 1e15, lo_open=True), "the fair value there, before a jump of that step"),
    },
    Shock: {
        "step": (_i(0, 99_999_999, note="< clock.steps"), "the step it lands at"),
        "kind": ("`jump`, `drift`, `volatility`", "what changes"),
        "value": (
            "`jump`: [-10, 10] (log units); `drift`: [-5, 5]; `volatility`: [0, 5]",
            "the jump in log units (-0.05 is a 4.9% drop), or the new annualised level",
        ),
    },
    Population: {
        "name": (_NAME + "; unique", "the population's name (in tables and dotted paths)"),
        "strategy": (
            "`speculator`, `noise`, `value`, `market_maker`, `holder`, `allocator`",
            "the strategy; chooses the class of `params`",
        ),
        "accounts": (_i(1, 100_000_000), "number of accounts"),
        "instrument": ("an instrument's name", "the instrument traded"),
        "cash": (_POSITIVE_DIST, "each account's starting cash (money)"),
        "activity": (_r(0, 3600, lo_open=True), "mean activations per hour per account"),
        "margin_mode": ("`isolated`, `cross`; `cross` with `also`", "the accounts' margin mode"),
        "params": (
            "a table of the strategy's parameters",
            "the strategy's parameters (see Parameters); left out: its defaults",
        ),
        "also": (
            "instrument names, not `instrument`, each once; not for market makers",
            "other instruments traded (see `budget_shares`)",
        ),
        "budget_shares": (
            "array of numbers in (0, 1], one per instrument traded (`instrument`, then "
            "`also`), summing to 1; or empty",
            "each instrument's share of an account's equity and cash; empty: equal shares",
        ),
        "opening": (
            "`flat`, `target`; `target` for speculator, value, holder, allocator",
            "what the accounts hold at the start: nothing, or the position their first "
            "decision wants (at the start prices, the other side outside the venue)",
        ),
        "changes": (
            "array of tables, sorted by step",
            "scheduled changes of its parameters or activity (see Population change)",
        ),
    },
    PopulationChange: {
        "step": (_i(0, 99_999_999, note="< clock.steps"), "the step it takes effect"),
        "params": (
            "a table of its strategy's fields and values; not a distribution's field; "
            "not a dealer's `stress_instruments`, nor `var_horizon` or a value trader's "
            "or speculator's `vol_horizon` switched between 0 and a horizon",
            "the parameters set from then on, over those in force (earlier changes included)",
        ),
        "activity": (
            _r(0, 3600, lo_open=True, note="or left out (as before)"),
            "mean activations per hour per account from then on (the gaps already drawn "
            "stand); left out: as before",
        ),
        "note": ("string", "why: the event it stands for"),
    },
    Distribution: {
        "kind": ("`fixed`, `uniform`, `lognormal`, `discrete`", "the distribution"),
        "value": ("finite number", "the value (`fixed`)"),
        "low": ("finite number", "the lower end (`uniform`)"),
        "high": ("finite, >= low", "the upper end (`uniform`)"),
        "median": ("> 0", "the median (`lognormal`: median * exp(sigma * Z))"),
        "sigma": (_r(0, 10), "the log-scale deviation (`lognormal`)"),
        "values": ("non-empty array of numbers", "the possible values (`discrete`)"),
        "weights": (
            "one per value, >= 0, with a positive sum",
            "their relative probabilities (`discrete`)",
        ),
    },
    PARAMS_CLASSES["speculator"]: {
        "fast_horizon": (_r(0, 1e9, lo_open=True, note="< slow_horizon"), "fast average, seconds"),
        "slow_horizon": (_r(0, 1e9, lo_open=True), "slow average, seconds"),
        "threshold": (_r(0, 1), "relative gap between the averages that opens a position"),
        "target_leverage": (_POSITIVE_DIST, "each account's leverage"),
        "max_leverage": (_r(1, 1e4), "cap on the leverage"),
        "short_fraction": (_r(0, 1), "share of the leverage taken short on a down-trend"),
        "trade_fraction": (
            _r(0, 1, lo_open=True),
            "share of the gap to the target position traded a decision (1: all at once)",
        ),
        "vol_target": (
            _r(0, 100),
            "annualised volatility above which the leverage shrinks in proportion (0: never)",
        ),
        "vol_horizon": (
            _r(0, 365 * 86400),
            "seconds of their own volatility average (0: the market's realized volatility)",
        ),
    },
    PARAMS_CLASSES["noise"]: {
        "order_size": (_POSITIVE_DIST, "lots per order"),
        "limit_share": (_r(0, 1), "share of orders that are limit orders"),
        "limit_offset_ticks": (_i(0, 1_000_000), "limit orders within this many ticks of the mid"),
        "sentiment_persistence": (_r(0, 1, hi_open=True), "AR(1) coefficient of the mood"),
        "sentiment_volatility": (_r(0, 10), "step deviation of the mood (0: none)"),
        "sentiment_position": (
            _r(0, 1e9),
            "lots each trader holds per unit of mood (0: the mood tilts the order flow)",
        ),
    },
    PARAMS_CLASSES["value"]: {
        "capital_fraction": (_r(0, 1, lo_open=True), "most of their capital committed"),
        "aggressiveness": (
            _r(0, 1e6, lo_open=True),
            "target position (fraction of capital) per unit of relative mispricing",
        ),
        "vol_reference": (
            _r(0, 100, lo_open=True),
            "annualised volatility where they start to scale down",
        ),
        "vol_exit": (
            _r(0, 100, lo_open=True, note="> vol_reference"),
            "annualised volatility where they step out",
        ),
        "leverage": (_r(1, 1e4), "most leverage"),
        "reach": (_r(0, 1), "how far from the last price to fair value their limit goes"),
        "band": (
            _r(0, 0.5),
            "relative mispricing they leave untraded (their costs); they trade what lies beyond it",
        ),
        "schedule": (
            _r(0, 0.5),
            "how far from the last price (relative) their standing orders of their demand"
            " schedule reach (0: off)",
        ),
        "hold_when_out": ("true or false", "keep the position when stepping out (else close it)"),
        "hold_to_fair": ("true or false", "trim a position only once the price crosses fair value"),
        "hold_through_storm": (
            "true or false",
            "after a storm, trim a position only once the price crosses fair value",
        ),
        "calm_after": (_r(0, 365 * 86400), "seconds of calm under vol_exit before trading again"),
        "side": (_names(VALUE_SIDES), "the side of the mispricing they trade"),
        "vol_horizon": (
            _r(0, 365 * 86400),
            "seconds of their own volatility average (0: the market's realized volatility)",
        ),
        "stress_instruments": (
            "other instruments' names, each once, not their own",
            "instruments whose storm keeps them out too (the highest volatility counts)",
        ),
    },
    PARAMS_CLASSES["market_maker"]: {
        "levels": (_i(1, 100), "price levels a side"),
        "base_spread_ticks": (_i(1, 1_000_000), "innermost quote's width, ticks"),
        "depth_lots": (_POSITIVE_DIST, "lots a level"),
        "vol_spread_factor": (_r(0, 1e6), "widening per unit of annualised volatility"),
        "inventory_limit": (_i(1, 2**40), "most inventory, lots (quotes skew against it)"),
        "inventory_skew": (
            _r(0, 0.5),
            "relative move of the quotes at the inventory limit (0: half the spread)",
        ),
        "vol_withdraw": (_r(0, 100, lo_open=True), "annualised volatility where they pull quotes"),
        "loss_withdraw": (
            _r(0, 1, lo_open=True),
            "share of capital lost where they pull quotes",
        ),
        "calm_steps": (_i(1, 100_000_000), "least steps out before coming back"),
        "fair_weight": (_r(0, 1), "weight of fair value against recent trades in their quotes"),
        "max_basis": (
            _r(0, math.inf, lo_open=True),
            "bound on the basis they quote, log units (`inf`: none)",
        ),
        "basis_horizon": (
            _r(0, 1e9),
            "seconds of their average of log(last / fair); they quote fair x exp(basis) (0: off)",
        ),
        "basis_out_horizon": (
            _r(0, 1e9),
            "seconds of that average while every dealer is out (0: the book's own basis each step)",
        ),
        "var_volatility": (
            _r(0, 100),
            "annualised volatility above which a value-at-risk budget shrinks"
            " inventory_limit in proportion (0: off)",
        ),
        "var_horizon": (
            _r(0, 1e9),
            "seconds of the volatility average that budget meets (0: the realized volatility)",
        ),
        "sides": (_names(QUOTE_SIDES), "the sides they quote"),
        "offset": (
            _r(0, 0.5),
            "innermost quote's distance from the price they quote around, relative"
            " (0: their half spread)",
        ),
        "level_spacing": (
            _r(0, 0.005),
            "distance between their levels, relative to that price (0: one tick)",
        ),
        "covers": (
            "true or false",
            "one-sided dealers close what they took on with one quote for all of it",
        ),
        "cover_offset": (
            _r(-0.5, 0.5),
            "where that quote stands from the price they quote around, relative, toward"
            " their own side (below `offset`; a seller buys back at that premium)",
        ),
        "cover_max_volatility": (
            _r(0, 100),
            "annualised volatility of their instrument above which they hold what they have"
            " (0: no limit)",
        ),
        "cover_calm_after": (
            _r(0, 1e9),
            "seconds of calm (volatility at or below that limit) after a storm before they cover",
        ),
        "flow_horizon": (
            _r(0, 1e9),
            "seconds of their average of the lots traded on their book a step; their depth"
            " follows it (0: off)",
        ),
        "flow_depth": (
            _r(0, 1e6),
            "lots a level quotes per lot of that average, when more than its `depth_lots`",
        ),
        "robust_volatility": (
            "true or false",
            "withdraw, come back and widen by a jump-robust volatility (bipower variation)",
        ),
        "stress_instruments": (
            "other instruments' names, each once, not their own",
            "instruments whose volatility shares their risk limit",
        ),
    },
    PARAMS_CLASSES["holder"]: {
        "slow_horizon": (_r(0, 1e9, lo_open=True), "slow average, seconds"),
        "dip": (_r(0, 1, lo_open=True, hi_open=True), "relative fall below the anchor that buys"),
        "budget_fraction": (
            _r(0, 1, lo_open=True),
            "share of their cash (times their leverage) spent on a dip",
        ),
        "anchor": (
            _names(HOLDER_ANCHORS),
            "what the dip is measured from: the slow average or the fair value",
        ),
        "max_volatility": (_r(0, 100), "annualised volatility above which they wait (0: no limit)"),
        "leverage": (
            _r(1, 1e4),
            "most gross position, in units of equity (1: unlevered; above it they buy on margin)",
        ),
    },
    PARAMS_CLASSES["allocator"]: {
        "target_leverage": (_POSITIVE_DIST, "each account's leverage"),
        "max_leverage": (_r(1, 1e4), "cap on the leverage"),
        "vol_target": (_r(0, 100), "annualised volatility target (0: none)"),
        "vol_horizon": (_r(0, 1e9, lo_open=True), "horizon of their volatility estimate, seconds"),
        "rebalance_band": (_r(0, 1), "relative drift from target that triggers a trade"),
    },
    Policy: {
        "margin_changes": ("array of tables, sorted by step", "scheduled notices (below)"),
        "volatility_triggers": ("array of tables", "volatility-triggered hikes (below)"),
        "max_liquidation_notional_per_step": (
            _r(0, math.inf, lo_open=True),
            "most notional liquidated in one step (money; `inf`: no cap)",
        ),
        "fund_unwind_half_life": (
            _r(0, 1e9),
            "seconds for the fund to sell half of what it took over through the book (0: it holds)",
        ),
        "fund_unwind_band": (
            _r(0, 1, hi_open=True),
            "how far from the index the fund trades, relative (0: market orders)",
        ),
        "margin_call_grace": (
            _r(0, 1e9),
            "seconds a margin call runs before the account is liquidated (0: at once)",
        ),
        "close_out_ratio": (
            _r(0, 1),
            "during a call, equity over maintenance margin at or under which it is closed at once",
        ),
    },
    MarginChange: {
        "step": (_i(0, 99_999_999, note="< clock.steps"), "the step it takes effect"),
        "instrument": ("an instrument's name", "the instrument"),
        "margin": ("a table", "the new margin rule (see Margin rule)"),
    },
    VolatilityTrigger: {
        "instrument": ("an instrument's name", "the instrument watched and re-margined"),
        "window_steps": (_i(2, 100_000_000, note="<= clock.steps"), "window of realized vol"),
        "threshold": (_r(0, 100, lo_open=True), "annualised volatility that triggers it"),
        "margin": ("a table", "the margin rule applied (see Margin rule)"),
    },
    Episode: {
        "crash_day": (_i(1, 100_000_000, note="< the run's whole days"), "the crash's day"),
        "period_start_day": (
            "[0, crash_day)",
            "the day the period's return is measured from",
        ),
        "period_name": (
            "lower-case letters, digits, underscores, starting with a letter",
            "name of the period's return figure (`<period_name>_return`)",
        ),
        "lookback_days": ("[1, crash_day]", "days back the close and the liquidity compare to"),
        "end_day": (
            "0, or [crash_day, the run's whole days)",
            "the aftermath's last day: leverage and open interest after the flush, the "
            "overshoot's search (0: the run's last day)",
        ),
        "day": (
            _r(0, 7 * 86400, lo_open=True, note="a whole number of clock steps"),
            "seconds in a day",
        ),
    },
    Target: {
        "fact": (
            "a market fact (see `deleverage.scenario.MARKET_FACTS`), or `run.<key>`, "
            "`episode.<key>`, `crash.<key>`",
            "the figure checked",
        ),
        "instrument": ("an instrument's name, or empty", "where it is measured (empty: the first)"),
        "horizon": (
            _r(0, 7 * 86400, lo_open=True, note="a whole number of clock steps"),
            "return horizon, seconds (market facts)",
        ),
        "window": (
            "`[start, end]` seconds, end > start (may be `inf`); or empty",
            "where it is measured (empty: the quiet window)",
        ),
        "range": (
            "`[low, high]`, low <= high, at least one finite; or empty with a `value`",
            "the range the figure must fall in",
        ),
        "value": ("finite number, or left out", "the point a calibration aims at"),
        "share": (_r(0, 1, lo_open=True), "share of the seeds that must pass"),
        "weight": (_r(0, 1e6), "weight in a calibration's loss"),
        "note": ("string", "free text, e.g. the range's source"),
        "against": (
            "empty, or " + _names(COUNTERFACTUAL_CAUSES),
            "the figure less the same seed's figure without that cause (a counterfactual)",
        ),
    },
}


# ---------------------------------------------------------------- rendering


def _type_text(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) > 1:
            return "table"
        return _type_text(options[0])
    if origin is Literal:
        return "string"
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            inner = args[0]
            if dataclasses.is_dataclass(inner):
                return "array of tables"
            if get_origin(inner) is tuple:
                return "array of arrays"
            return f"array of {_type_text(inner)}s"
        return "array"
    if dataclasses.is_dataclass(tp) or origin is Mapping or origin is dict:
        return "table"
    names = {float: "number", int: "integer", str: "string", bool: "boolean"}
    if tp is datetime.datetime:
        return "date-time"
    return names.get(tp, str(tp))


def _value_text(value: Any) -> str:
    if value is None:
        return "left out"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, Distribution):
        used = [
            f"{f.name} = {_value_text(getattr(value, f.name))}"
            for f in dataclasses.fields(value)
            if f.name == "kind" or getattr(value, f.name) != f.default
        ]
        return "{ " + ", ".join(used) + " }"
    if dataclasses.is_dataclass(value):
        return "its defaults"
    return repr(value)  # pragma: no cover


def _default_text(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return _value_text(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return _value_text(f.default_factory())
    return "required"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _field_rows(cls: type) -> list[str]:
    docs = FIELDS.get(cls)
    if docs is None:
        raise KeyError(f"FIELDS: no entry for {cls.__name__}")
    hints = get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in docs]
    stale = [n for n in docs if n not in names]
    if missing or stale:
        raise KeyError(
            f"FIELDS[{cls.__name__}]: undocumented fields {missing}, stale entries {stale}"
        )
    rows = ["| field | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(cls):
        allowed, meaning = docs[f.name]
        allowed_text = allowed.text() if isinstance(allowed, Range) else allowed
        cells = (
            f"`{f.name}`",
            _type_text(hints[f.name]),
            f"`{_default_text(f)}`"
            if _default_text(f) not in ("required", "left out", "its defaults")
            else _default_text(f),
            allowed_text,
            meaning,
        )
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return rows


_HEADER = """\
# The scenario format

<!-- Generated by `python -m deleverage.scenario.reference --write docs/scenario.md`
     from the dataclasses of deleverage.scenario; tests/test_scenario_reference.py
     checks that this page is up to date. -->

A scenario is a TOML file; each table is a frozen dataclass of
`deleverage.scenario`, validated when it is built, so a bad value is refused
with its dotted path and the allowed range (`populations[0].accounts: must be
in [1, 100000000], got 0`). Keys left out take the defaults below; an unknown
key is an error. Ranges are written `[a, b]` (ends included) or `(a, b)` (ends
excluded); money is in the instruments' currency, horizons in seconds,
volatilities annualised (a year is 365 days). `deleverage show PRESET` prints
a preset's file to start from; `deleverage run FILE.toml --set PATH=VALUE`
changes one field for a run (the dotted paths of [sweeps](sweep.md)).

From Python:

```python
from deleverage.scenario import load_toml, save_toml, to_toml_str
from deleverage.scenarios import load_preset

world = load_preset("default-hour")
world = world.replace(name="my-world", insurance_fund=0.0)
save_toml(world, "my-world.toml")        # the whole scenario, every table
again = load_toml("my-world.toml")       # validated as it is read
assert again == world                    # an exact round trip
print(to_toml_str(again)[:200])
```

A minimal file, every other key at its default:

<!-- file: minimal.toml -->
```toml
name = "minimal"

[[instruments]]
name = "GOLD"
start_price = 2000.0
tick_size = 0.1

[[populations]]
name = "makers"
strategy = "market_maker"
accounts = 4
instrument = "GOLD"
cash = { kind = "fixed", value = 1e7 }

[[populations]]
name = "noise"
strategy = "noise"
accounts = 200
instrument = "GOLD"
cash = { kind = "fixed", value = 10000.0 }
activity = 20.0
```

<!-- continues -->
```python
from deleverage.scenario import load_toml
from deleverage.simulate import simulate

print(simulate(load_toml("minimal.toml"), seed=0).metrics()["max_drawdown"])
```
"""


def reference_text() -> str:
    """The page ``docs/scenario.md``."""
    parts = [_HEADER]
    for heading, where, cls, intro in SECTIONS:
        parts.append(f"## {heading}\n")
        parts.append(f"{where}. {intro}\n")
        parts.append("\n".join(_field_rows(cls)) + "\n")
    parts.append("### Market facts\n")
    parts.append(
        "The facts a target's `fact` may name without a prefix "
        "(`deleverage.scenario.MARKET_FACTS`; see [calibration.md](calibration.md)):\n"
    )
    facts = ["| fact | what it measures |", "|---|---|"]
    facts += [f"| `{name}` | {_cell(what)} |" for name, what in MARKET_FACTS.items()]
    parts.append("\n".join(facts) + "\n")
    documented = {cls for _, _, cls, _ in SECTIONS}
    extra = [cls.__name__ for cls in FIELDS if cls not in documented]
    if extra:
        raise KeyError(f"FIELDS: classes without a section: {extra}")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deleverage.scenario.reference",
        description="Print the reference of the scenario format (docs/scenario.md).",
    )
    parser.add_argument("--write", metavar="FILE", help="write it to FILE instead of stdout")
    args = parser.parse_args(argv)
    text = reference_text()
    if args.write:
        with open(args.write, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
