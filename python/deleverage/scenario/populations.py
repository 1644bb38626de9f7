"""Populations of accounts: a strategy, its parameters, and how many accounts follow it.

Units: horizons in seconds; volatilities annualised (a year is 365 * 86400 s);
sizes in lots; money in the instrument's currency; prices relative unless said.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from deleverage import _core
from deleverage.scenario.distributions import (
    Distribution,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_positive_distribution,
    check_sequence,
    check_str,
    set_field,
)
from deleverage.scenario.fundamental import MAX_STEPS, YEAR
from deleverage.scenario.population_change import PopulationChange

Strategy = Literal["speculator", "noise", "value", "market_maker", "holder", "allocator"]
STRATEGIES: tuple[str, ...] = (
    "speculator",
    "noise",
    "value",
    "market_maker",
    "holder",
    "allocator",
)
MarginMode = Literal["isolated", "cross"]
MARGIN_MODES: tuple[str, ...] = ("isolated", "cross")
Opening = Literal["flat", "target"]
OPENINGS: tuple[str, ...] = ("flat", "target")
#: The strategies whose accounts may start holding their target (they size a
#: position without drawing; market makers quote, noise traders draw).
OPENS_AT_TARGET: tuple[str, ...] = ("speculator", "value", "holder", "allocator")
ValueSide = Literal["both", "long", "short"]
VALUE_SIDES: tuple[str, ...] = ("both", "long", "short")
QuoteSides = Literal["both", "bids", "asks"]
QUOTE_SIDES: tuple[str, ...] = ("both", "bids", "asks")
HolderAnchor = Literal["average", "fair"]
HOLDER_ANCHORS: tuple[str, ...] = ("average", "fair")


def _check_limit(field: str, value: object, spec: str) -> float:
    """``value`` within the engine's own limit for ``spec.field`` (``_core.LIMITS``)."""
    lo, hi, lo_open, hi_open = _core.LIMITS[f"{spec}.{field}"]
    return check_float(field, value, lo, hi, lo_open=lo_open, hi_open=hi_open)


#: The most accounts a scenario may hold (in total).
MAX_ACCOUNTS = 100_000_000

MAX_HORIZON = 1e9  # seconds (about 32 years)
MAX_VOL = 100.0  # annualised
MAX_LEVERAGE = 1e4
MAX_TICKS = 1_000_000

# Default distributions (module constants: frozen, so safe to share as defaults).
DEFAULT_TARGET_LEVERAGE = Distribution.uniform(2.0, 20.0)
DEFAULT_ORDER_SIZE = Distribution.uniform(1.0, 5.0)
DEFAULT_DEPTH_LOTS = Distribution.uniform(5.0, 20.0)
DEFAULT_ALLOCATOR_LEVERAGE = Distribution.fixed(2.0)


@dataclass(frozen=True)
class SpeculatorParams:
    """Leveraged momentum traders.

    They compare a fast and a slow moving average of the price (horizons
    ``fast_horizon`` < ``slow_horizon``, seconds, in (0, 1e9]): long when the
    fast average exceeds the slow one by more than ``threshold`` (a relative
    price change, in [0, 1]), short when it is below by more than that, flat
    otherwise. Each account's leverage is drawn from ``target_leverage``
    (samples > 0) and capped at ``max_leverage`` (in [1, 1e4]). On a down-trend
    they take ``short_fraction`` (in [0, 1]) of that leverage short: 1 is the
    symmetric crowd, 0 a long-only one that goes flat instead (retail buying
    the trend, which does not turn short when it breaks). Each decision trades
    ``trade_fraction`` (in (0, 1]) of the gap between the position held and
    that target, rounded up to a whole lot: 1 sends the whole order at once, as
    a retail account does; a fund works a large order over several decisions.
    With ``vol_target`` (annualised, in [0, 100]; 0 for none) they scale that
    leverage down by ``vol_target / volatility`` while the volatility they watch
    is above the target, as trend-following funds size by risk: a storm makes
    them cut a trend they still believe. They watch the market's realized
    volatility, or with ``vol_horizon`` (seconds, at least 0, at most a year;
    0 for the market's) their own exponential average of squared step returns
    over that horizon, started from the fair value's volatility.
    """

    fast_horizon: float = 300.0
    slow_horizon: float = 3600.0
    threshold: float = 0.0005
    target_leverage: Distribution = DEFAULT_TARGET_LEVERAGE
    max_leverage: float = 50.0
    short_fraction: float = 1.0
    trade_fraction: float = 1.0
    vol_target: float = 0.0
    vol_horizon: float = 0.0

    def __post_init__(self) -> None:
        fast = check_float("fast_horizon", self.fast_horizon, 0.0, MAX_HORIZON, lo_open=True)
        slow = check_float("slow_horizon", self.slow_horizon, 0.0, MAX_HORIZON, lo_open=True)
        if not fast < slow:
            raise ValueError(f"slow_horizon: must be > fast_horizon ({fast}), got {slow}")
        set_field(self, "fast_horizon", fast)
        set_field(self, "slow_horizon", slow)
        set_field(self, "threshold", check_float("threshold", self.threshold, 0.0, 1.0))
        check_positive_distribution("target_leverage", self.target_leverage)
        set_field(
            self, "max_leverage", check_float("max_leverage", self.max_leverage, 1.0, MAX_LEVERAGE)
        )
        set_field(
            self, "short_fraction", check_float("short_fraction", self.short_fraction, 0.0, 1.0)
        )
        set_field(
            self,
            "trade_fraction",
            _check_limit("trade_fraction", self.trade_fraction, "SpeculatorSpec"),
        )
        set_field(self, "vol_target", _check_limit("vol_target", self.vol_target, "SpeculatorSpec"))
        set_field(self, "vol_horizon", check_float("vol_horizon", self.vol_horizon, 0.0, YEAR))


@dataclass(frozen=True)
class NoiseParams:
    """Uninformed traders: random buys and sells.

    Each order is ``order_size`` lots (samples > 0); a share ``limit_share``
    (in [0, 1]) of orders are limit orders placed uniformly within
    ``limit_offset_ticks`` (in [0, 1e6]) ticks of the mid, the rest market orders.
    The population's mood ``s`` follows ``s <- sentiment_persistence * s +
    sentiment_volatility * e`` each step (``e`` standard normal; persistence in
    [0, 1), volatility in [0, 10]). By default the mood tilts the order flow:
    each order is a buy with probability ``1 / (1 + exp(-2 s))``, so a
    persistent mood is a persistent flow and the price trends with it. With
    ``sentiment_position`` (lots, in [0, 1e9]) above 0 the mood sets a holding
    instead, as the noise demand of leverage-cycle models does: each trader
    steers to ``sentiment_position * s`` lots, an order being a buy with
    probability ``1/2 + (wanted - held) / (2 * mean order size)`` within
    [0, 1]. Their orders then move the price only as much as the mood moves,
    and the rest of their trading is two-sided. With no mood buys and sells
    are equally likely either way.
    """

    order_size: Distribution = DEFAULT_ORDER_SIZE
    limit_share: float = 0.5
    limit_offset_ticks: int = 20
    sentiment_persistence: float = 0.0
    sentiment_volatility: float = 0.0
    sentiment_position: float = 0.0

    def __post_init__(self) -> None:
        check_positive_distribution("order_size", self.order_size)
        set_field(self, "limit_share", check_float("limit_share", self.limit_share, 0.0, 1.0))
        set_field(
            self,
            "limit_offset_ticks",
            check_int("limit_offset_ticks", self.limit_offset_ticks, 0, MAX_TICKS),
        )
        set_field(
            self,
            "sentiment_persistence",
            check_float(
                "sentiment_persistence", self.sentiment_persistence, 0.0, 1.0, hi_open=True
            ),
        )
        set_field(
            self,
            "sentiment_volatility",
            check_float("sentiment_volatility", self.sentiment_volatility, 0.0, 10.0),
        )
        set_field(
            self,
            "sentiment_position",
            _check_limit("sentiment_position", self.sentiment_position, "NoiseSpec"),
        )


@dataclass(frozen=True)
class ValueParams:
    """Value investors: they trade the mispricing against the fair value.

    They commit up to ``capital_fraction`` (in (0, 1]) of their capital; the
    target position, as a fraction of capital, is ``aggressiveness`` (> 0, at
    most 1e6) times the relative mispricing, with at most ``leverage`` (in
    [1, 1e4]). As annualised realized volatility rises from ``vol_reference``
    (> 0) to ``vol_exit`` (> vol_reference, at most 100) they scale down, and
    above ``vol_exit`` they step out entirely: they close their position, or
    with ``hold_when_out`` keep it and stop trading until volatility falls (as
    producers' hedges and dealers' books do in a storm). Their limit price goes ``reach``
    (in [0, 1]) of the way from the last price to fair value: 1 (at fair value)
    takes everything better than fair at once; smaller values trade the
    mispricing gradually and leave the rest standing near the market, as the
    physical buyers, producers and arbitrageurs of a deep market do.
    ``band`` (a relative mispricing in [0, 0.5]) is what trading costs them
    (shipping, storage, financing): they trade only the part of the mispricing
    beyond it, as if the price were that much nearer fair value (0: all of it).
    ``schedule`` (relative to the last price, in [0, 0.5]; 0: off) puts their
    demand schedule in the book: each trader stands at its own point of it, a
    fixed share (by account, spread evenly over the population) of that width
    above or below the last price, and rests there the order that takes it to
    the position its rule wants at that price, when the order is a sale above
    the last price or a purchase below it; otherwise it trades as without it.
    Supply then stands above the price and demand under it, as much at each
    price as their rule wants there, instead of only at the last trade.

    Out of the market, they come back only after ``calm_after`` seconds (at
    least 0, at most a year) with volatility under ``vol_exit`` all along: a
    risk desk that has stepped out of a storm waits for the market to settle
    before it trades the mispricing again (0: back at the first calm step).
    With ``hold_to_fair`` they hold a position to convergence: while the price
    is still on the side of fair value it was opened on they only add to it,
    and close it once the price has crossed fair value (arbitrageurs' and
    hedgers' convergence trades), instead of trimming it as the gap narrows.
    With ``hold_through_storm`` they do so only after a storm (volatility at
    or above ``vol_exit``), until the price next reaches or crosses fair
    value: in calm markets they trim as the gap narrows, but a trade carried
    through a storm is held to value, not cut on the way back.
    ``side`` ``"long"`` or ``"short"`` (default ``"both"``) trades one side
    of the mispricing only: a producers' book sells the premium forward and
    buys it back, but never buys the metal below value.
    ``vol_horizon`` (seconds, at least 0, at most a year) gives them their own
    volatility, an exponential average of squared returns over that horizon,
    which they size, step out and wait by; 0 (the default) is the market's
    realized volatility, a few minutes long. A slow one (a day) still jumps in
    a crash, since a crash's returns are large, but comes down only once the
    storm has passed: patient money that is out at once and back late.
    ``stress_instruments`` (names of other instruments of the scenario): their
    storms keep them out too. The volatility they step out and wait by is the
    highest of their own and these markets' realized volatility (one risk limit
    across a portfolio: long-term holders of gold who stand back while equities
    crash).
    """

    capital_fraction: float = 0.5
    aggressiveness: float = 5.0
    vol_reference: float = 0.3
    vol_exit: float = 1.0
    leverage: float = 1.0
    reach: float = 1.0
    band: float = 0.0
    schedule: float = 0.0
    hold_when_out: bool = False
    hold_to_fair: bool = False
    hold_through_storm: bool = False
    calm_after: float = 0.0
    side: ValueSide = "both"
    vol_horizon: float = 0.0
    stress_instruments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        set_field(
            self,
            "capital_fraction",
            check_float("capital_fraction", self.capital_fraction, 0.0, 1.0, lo_open=True),
        )
        set_field(
            self,
            "aggressiveness",
            check_float("aggressiveness", self.aggressiveness, 0.0, 1e6, lo_open=True),
        )
        ref = check_float("vol_reference", self.vol_reference, 0.0, MAX_VOL, lo_open=True)
        exit_ = check_float("vol_exit", self.vol_exit, 0.0, MAX_VOL, lo_open=True)
        if not exit_ > ref:
            raise ValueError(f"vol_exit: must be > vol_reference ({ref}), got {exit_}")
        set_field(self, "vol_reference", ref)
        set_field(self, "vol_exit", exit_)
        set_field(self, "leverage", check_float("leverage", self.leverage, 1.0, MAX_LEVERAGE))
        set_field(self, "reach", check_float("reach", self.reach, 0.0, 1.0))
        set_field(self, "band", check_float("band", self.band, 0.0, 0.5))
        set_field(self, "schedule", check_float("schedule", self.schedule, 0.0, 0.5))
        check_bool("hold_when_out", self.hold_when_out)
        check_bool("hold_to_fair", self.hold_to_fair)
        check_bool("hold_through_storm", self.hold_through_storm)
        set_field(self, "calm_after", check_float("calm_after", self.calm_after, 0.0, YEAR))
        check_choice("side", self.side, VALUE_SIDES)
        set_field(self, "vol_horizon", check_float("vol_horizon", self.vol_horizon, 0.0, YEAR))
        set_field(self, "stress_instruments", check_stress_instruments(self.stress_instruments))


def check_stress_instruments(value: object) -> tuple[str, ...]:
    """``stress_instruments``: names of instruments, each once (the scenario
    checks that they exist and are not the population's own)."""
    watched = check_sequence("stress_instruments", value)
    for k, name in enumerate(watched):
        check_str(f"stress_instruments[{k}]", name)
        if name in watched[:k]:
            raise ValueError(f"stress_instruments[{k}]: instrument {name!r} is listed twice")
    return watched


@dataclass(frozen=True)
class MarketMakerParams:
    """Market makers: a ladder of quotes either side of their reference price.

    ``levels`` (1..100) price levels a side, the innermost ``base_spread_ticks``
    (>= 1) ticks wide, widened by ``vol_spread_factor`` (>= 0) times the
    annualised realized volatility (the widening stops at half a percent of the
    price each side); ``depth_lots`` lots a level (samples > 0);
    they skew quotes against inventory, up to ``inventory_limit`` lots (>= 1):
    at the limit by half their spread, or with ``inventory_skew`` (in [0, 0.5])
    above 0 by that fraction of the price they quote around, in proportion to
    inventory below it (a dealer who prices inventory: the price moves with
    the flow it absorbs, at once, instead of drifting after it).
    They pull all quotes when annualised realized volatility passes
    ``vol_withdraw`` (> 0) or when they have lost ``loss_withdraw`` (in
    (0, 1]) of their capital. Out for at least ``calm_steps`` (>= 1) steps, they
    come back once volatility is under ``vol_withdraw`` again, or earlier when
    the book's spread (an empty side counts as infinite) is more than twice as
    wide as their own volatility-adjusted quotes; back in a storm, they tolerate
    1.5 times the volatility they returned to until it falls under their limit.
    They quote around a blend of fair value as other venues show it (weight
    ``fair_weight``, in [0, 1]) and a short average of this book's trades.
    With ``basis_horizon`` (seconds, in [0, 1e9]; 0: off) the fair value they
    weigh is other venues' price times exp(basis), the basis being their
    exponential average over that horizon of log(last trade / fair value): a
    move of value moves their quotes at once, while a book that keeps trading
    rich (or cheap) is quoted rich (or cheap) as long as its flow keeps it so.
    While every dealer of the population is out of the market the basis is the
    book's own at each step: back in, they quote where the market trades now.
    With ``basis_out_horizon`` (seconds, in [0, 1e9]; 0, the default: step by
    step) they keep averaging it while out, over that horizon: dealers who
    watch the tape from outside come back quoting where the book has traded
    lately, not at its last print (in a book they have left, one buy that
    reaches a distant offer, or one forced sale, can print far from value).
    ``max_basis`` (log units, in (0, inf]; inf, the default: no bound) bounds the
    basis they quote: beyond it they would arbitrage against other venues
    rather than follow a one-sided flow further.
    ``stress_instruments`` (names of other instruments of the scenario) share
    their risk limit: the highest realized volatility among them and their own
    instrument is what is held against ``vol_withdraw``, as a bank's dealers
    answer to one limit across desks, so a storm in equities empties the gold
    book too. Empty (the default): their own instrument alone.
    ``var_volatility`` (annualised, in [0, 100]; 0, the default: off) is a
    value-at-risk budget: up to that volatility they may carry
    ``inventory_limit`` lots, above it ``inventory_limit * var_volatility /
    volatility`` (lots times volatility held constant), so the inventory they
    can take on shrinks as a storm builds. The volatility is the highest among
    their own instrument and ``stress_instruments``, measured over
    ``var_horizon`` (seconds, in [0, 1e9]; 0: the realized volatility that
    ``vol_withdraw`` meets), an exponential average of squared returns started
    from the fair values' volatility. At or beyond that room they quote only
    the side that brings their inventory back; their lean still prices
    inventory against ``inventory_limit``.
    ``sides`` (``"both"``, the default, ``"bids"`` or ``"asks"``) are the
    sides they quote; ``offset`` (relative, in [0, 0.5]; 0, the default: their
    half spread) is how far their innermost quote stands from the price they
    quote around, and ``level_spacing`` (relative, in [0, 0.005]; 0, the
    default: one tick) how far apart their levels are. Together they make a
    seller of a premium: producers' forward sales and physical arbitrage
    offer gold only at a premium over other venues' price, more of it the
    richer that premium (``sides = "asks"``, ``offset`` the least premium
    they sell at, ``level_spacing`` the ladder's step).
    With ``covers`` (default False; one-sided dealers only) they close what
    they took on: a seller holding a short bids for all of it at
    ``cover_offset`` (relative, in [-0.5, 0.5], below ``offset``) above the
    price they quote around (below it when negative), a buyer holding a long
    offers it that far below. A seller of a premium buys back once the premium
    is down to ``cover_offset`` and has its room again for the next spike.
    Above ``cover_max_volatility`` (annualised realized volatility of their
    instrument, in [0, 100]; 0, the default: no limit) they hold what they
    have: a hedged desk buys back in a calm market, not in a storm; and after
    one only once it has been calm for ``cover_calm_after`` seconds (in [0,
    1e9]; 0, the default: at once).
    With ``flow_horizon`` (seconds, in [0, 1e9]; 0, the default: off) their
    depth follows the flow they face, as in Kyle (1985), where a dealer's
    depth grows with the uninformed volume it expects: each level quotes at
    least ``flow_depth`` (in [0, 1e6]) times their exponential average, over
    that horizon, of the lots traded on their book a step (forced sales to
    the book included), and never less than its ``depth_lots``. The average
    starts at zero, and it runs while they are out of the market.
    With ``robust_volatility`` the volatility they withdraw, come back and
    widen by (their own instrument's and their ``stress_instruments``'; also
    their value-at-risk budget's without ``var_horizon``) is jump-robust: the
    bipower variation of the same five-minute returns (Barndorff-Nielsen and
    Shephard 2004), an average of ``pi / 2 * |r_t| * |r_{t - 10 min}|``,
    returns that share no price. One stray print in a thin book moves two
    successive returns, and each meets an ordinary one there, so it counts
    little; a storm's returns are large one after another, and count in full.
    Off by default: squared returns, as before.
    """

    levels: int = 5
    base_spread_ticks: int = 2
    depth_lots: Distribution = DEFAULT_DEPTH_LOTS
    vol_spread_factor: float = 10.0
    inventory_limit: int = 1000
    vol_withdraw: float = 1.0
    loss_withdraw: float = 0.2
    calm_steps: int = 600
    fair_weight: float = 0.5
    stress_instruments: tuple[str, ...] = ()
    basis_horizon: float = 0.0
    basis_out_horizon: float = 0.0
    max_basis: float = math.inf
    inventory_skew: float = 0.0
    var_volatility: float = 0.0
    var_horizon: float = 0.0
    sides: QuoteSides = "both"
    offset: float = 0.0
    level_spacing: float = 0.0
    covers: bool = False
    cover_offset: float = 0.0
    cover_max_volatility: float = 0.0
    cover_calm_after: float = 0.0
    flow_horizon: float = 0.0
    flow_depth: float = 0.0
    robust_volatility: bool = False

    def __post_init__(self) -> None:
        set_field(self, "levels", check_int("levels", self.levels, 1, 100))
        check_bool("robust_volatility", self.robust_volatility)
        set_field(
            self, "flow_horizon", check_float("flow_horizon", self.flow_horizon, 0.0, MAX_HORIZON)
        )
        set_field(
            self, "flow_depth", _check_limit("flow_depth", self.flow_depth, "MarketMakerSpec")
        )
        check_choice("sides", self.sides, QUOTE_SIDES)
        set_field(self, "offset", _check_limit("offset", self.offset, "MarketMakerSpec"))
        set_field(
            self,
            "level_spacing",
            _check_limit("level_spacing", self.level_spacing, "MarketMakerSpec"),
        )
        set_field(self, "covers", check_bool("covers", self.covers))
        set_field(
            self,
            "cover_offset",
            _check_limit("cover_offset", self.cover_offset, "MarketMakerSpec"),
        )
        set_field(
            self,
            "cover_max_volatility",
            _check_limit("cover_max_volatility", self.cover_max_volatility, "MarketMakerSpec"),
        )
        set_field(
            self,
            "cover_calm_after",
            check_float("cover_calm_after", self.cover_calm_after, 0.0, MAX_HORIZON),
        )
        if self.covers and self.sides == "both":
            raise ValueError(
                'covers: only a one-sided dealer covers (sides "bids" or "asks"), got sides "both"'
            )
        if self.covers and not self.cover_offset < self.offset:
            raise ValueError(
                f"cover_offset: must be below offset ({self.offset}) for a covering dealer,"
                f" got {self.cover_offset}"
            )
        set_field(
            self,
            "var_volatility",
            _check_limit("var_volatility", self.var_volatility, "MarketMakerSpec"),
        )
        set_field(
            self, "var_horizon", check_float("var_horizon", self.var_horizon, 0.0, MAX_HORIZON)
        )
        set_field(
            self,
            "inventory_skew",
            _check_limit("inventory_skew", self.inventory_skew, "MarketMakerSpec"),
        )
        set_field(
            self,
            "base_spread_ticks",
            check_int("base_spread_ticks", self.base_spread_ticks, 1, MAX_TICKS),
        )
        check_positive_distribution("depth_lots", self.depth_lots)
        set_field(
            self,
            "vol_spread_factor",
            check_float("vol_spread_factor", self.vol_spread_factor, 0.0, 1e6),
        )
        set_field(
            self, "inventory_limit", check_int("inventory_limit", self.inventory_limit, 1, 2**40)
        )
        set_field(
            self,
            "vol_withdraw",
            check_float("vol_withdraw", self.vol_withdraw, 0.0, MAX_VOL, lo_open=True),
        )
        set_field(
            self,
            "loss_withdraw",
            check_float("loss_withdraw", self.loss_withdraw, 0.0, 1.0, lo_open=True),
        )
        set_field(self, "calm_steps", check_int("calm_steps", self.calm_steps, 1, MAX_STEPS))
        set_field(self, "fair_weight", check_float("fair_weight", self.fair_weight, 0.0, 1.0))
        set_field(self, "basis_horizon", check_float("basis_horizon", self.basis_horizon, 0.0, 1e9))
        set_field(
            self,
            "basis_out_horizon",
            check_float("basis_out_horizon", self.basis_out_horizon, 0.0, 1e9),
        )
        set_field(
            self,
            "max_basis",
            check_float("max_basis", self.max_basis, 0.0, math.inf, lo_open=True, allow_inf=True),
        )
        set_field(self, "stress_instruments", check_stress_instruments(self.stress_instruments))


@dataclass(frozen=True)
class HolderParams:
    """Long-term holders: buyers of dips, unleveraged unless ``leverage`` says.

    When the price falls ``dip`` (in (0, 1), relative) below its slow moving
    average (horizon ``slow_horizon`` seconds, in (0, 1e9]) they buy
    ``budget_fraction`` (in (0, 1]) of what their cash carries at their
    ``leverage`` (in [1, 1e4]; 1, the default), and never beyond a gross
    position of ``leverage`` times their equity (and of the instrument's
    initial margin's): unlevered at 1, on margin above it (retail buying the
    dip). They never sell; a margin call closes them out. With ``anchor``
    ``"fair"`` (default ``"average"``) the dip is measured from the fair value
    instead: physical buyers who take what trades under the value of the
    metal. Above ``max_volatility`` (annualised, in [0, 100]; 0, the default:
    no limit) they wait: patient money comes back after a storm, not into it.
    """

    slow_horizon: float = 86400.0
    dip: float = 0.03
    budget_fraction: float = 0.1
    anchor: HolderAnchor = "average"
    max_volatility: float = 0.0
    leverage: float = 1.0

    def __post_init__(self) -> None:
        set_field(
            self,
            "slow_horizon",
            check_float("slow_horizon", self.slow_horizon, 0.0, MAX_HORIZON, lo_open=True),
        )
        set_field(self, "dip", check_float("dip", self.dip, 0.0, 1.0, lo_open=True, hi_open=True))
        set_field(
            self,
            "budget_fraction",
            check_float("budget_fraction", self.budget_fraction, 0.0, 1.0, lo_open=True),
        )
        check_choice("anchor", self.anchor, HOLDER_ANCHORS)
        set_field(
            self,
            "max_volatility",
            _check_limit("max_volatility", self.max_volatility, "HolderSpec"),
        )
        set_field(self, "leverage", check_float("leverage", self.leverage, 1.0, MAX_LEVERAGE))


@dataclass(frozen=True)
class AllocatorParams:
    """Leveraged allocators: risk-parity and volatility-targeting funds.

    They hold a long portfolio of their instruments whatever the trend, each
    account at its leverage drawn from ``target_leverage`` (samples > 0), capped
    at ``max_leverage`` (in [1, 1e4]) and by the instrument's initial margin.
    With ``vol_target`` (annualised, in (0, 100]; 0 for none) the whole
    portfolio shrinks by ``vol_target / volatility`` while the highest realized
    volatility among its instruments is above the target: a storm in one market
    makes them sell all of them, as the funds of March 2020 did. Each
    instrument's volatility is their own estimate, an exponential average of
    squared step returns over ``vol_horizon`` seconds (in (0, 1e9]), started
    from the fair value's volatility. They trade
    only when a position has drifted from its target by more than
    ``rebalance_band`` (in [0, 1]) of the target, with market orders.
    """

    target_leverage: Distribution = DEFAULT_ALLOCATOR_LEVERAGE
    max_leverage: float = 10.0
    vol_target: float = 0.0
    vol_horizon: float = 1_728_000.0
    rebalance_band: float = 0.1

    def __post_init__(self) -> None:
        check_positive_distribution("target_leverage", self.target_leverage)
        set_field(
            self, "max_leverage", check_float("max_leverage", self.max_leverage, 1.0, MAX_LEVERAGE)
        )
        set_field(self, "vol_target", check_float("vol_target", self.vol_target, 0.0, MAX_VOL))
        set_field(
            self,
            "vol_horizon",
            check_float("vol_horizon", self.vol_horizon, 0.0, MAX_HORIZON, lo_open=True),
        )
        set_field(
            self, "rebalance_band", check_float("rebalance_band", self.rebalance_band, 0.0, 1.0)
        )


StrategyParams = (
    SpeculatorParams
    | NoiseParams
    | ValueParams
    | MarketMakerParams
    | HolderParams
    | AllocatorParams
)

#: The parameter class of each strategy.
PARAMS_CLASSES: dict[str, type[StrategyParams]] = {
    "speculator": SpeculatorParams,
    "noise": NoiseParams,
    "value": ValueParams,
    "market_maker": MarketMakerParams,
    "holder": HolderParams,
    "allocator": AllocatorParams,
}


def _changed_params(params: Any, fields: Mapping[str, Any], where: str) -> Any:
    """``params`` with ``fields`` set, validated by its class; what the run keeps
    from the start (per-account draws, the shape of the volatility averages the
    engine carries) cannot change."""
    cls = type(params)
    valid = [f.name for f in dataclasses.fields(cls)]
    for name in fields:
        if name not in valid:
            raise ValueError(
                f"{where}.{name}: unknown field of {cls.__name__}; valid: {', '.join(valid)}"
            )
        if isinstance(getattr(params, name), Distribution):
            raise ValueError(
                f"{where}.{name}: drawn once per account at the start; it cannot change "
                "during a run"
            )
    try:
        changed = dataclasses.replace(params, **fields)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{where}.{e}") from None
    fixed = {
        MarketMakerParams: (("stress_instruments", False), ("var_horizon", True)),
        ValueParams: (("vol_horizon", True),),
        SpeculatorParams: (("vol_horizon", True),),
    }.get(cls, ())
    for name, only_on_off in fixed:
        before, after = getattr(params, name), getattr(changed, name)
        if (bool(before) != bool(after)) if only_on_off else (before != after):
            what = "switched on or off (0 against a horizon)" if only_on_off else "changed"
            raise ValueError(
                f"{where}.{name}: cannot be {what} during a run, got {after!r} after {before!r}"
            )
    return changed


def check_budget_shares(shares: Any, instruments: int) -> tuple[float, ...]:
    """``shares`` as a tuple of floats: empty, or one per instrument traded, each
    in (0, 1] and summing to 1 within 1e-9 (no budget lost or made)."""
    shares = check_sequence("budget_shares", shares)
    if not shares:
        return ()
    if len(shares) != instruments:
        raise ValueError(
            f"budget_shares: need one share per instrument traded ({instruments}: instrument, "
            f"then also), got {len(shares)}"
        )
    out = tuple(
        check_float(f"budget_shares[{k}]", x, 0.0, 1.0, lo_open=True) for k, x in enumerate(shares)
    )
    if not abs(math.fsum(out) - 1.0) <= 1e-9:
        raise ValueError(f"budget_shares: must sum to 1, got {math.fsum(out)!r} ({list(out)})")
    return out


@dataclass(frozen=True)
class Population:
    """A block of ``accounts`` (1..1e8) accounts following one strategy on one instrument.

    ``cash``: each account's starting cash (money; samples > 0). ``activity``:
    mean activations per hour per account, in (0, 3600]. ``margin_mode``:
    isolated or cross. ``params``: the strategy's parameters, of the class
    matching ``strategy`` (None stores that class's defaults, so it is never
    None after construction). ``also``: other instruments the accounts trade
    besides ``instrument`` (a speculator long gold and crypto); it needs cross
    margin (one equity against the sum of the positions' maintenance margins).
    ``budget_shares``: the share of each account's equity and cash that each
    instrument's decision sizes on, ``instrument`` first then ``also`` in order,
    each in (0, 1] and summing to 1 (a macro book mostly in gold, a little in
    bitcoin); left empty, the budget is split equally.
    Market makers quote one instrument. ``opening``: ``"flat"`` (every account
    starts without a position) or ``"target"``: each starts holding the
    position its first decision would want, opened at the start prices with the
    other side outside the venue (a market already in place, rather than every
    account building its book against the dealers in the first hours); for
    allocators, holders, speculators and value traders. ``changes``: scheduled
    changes of its parameters or activity during the run (PopulationChange),
    sorted by step.
    """

    name: str
    strategy: Strategy
    accounts: int
    instrument: str
    cash: Distribution
    activity: float = 1.0
    margin_mode: MarginMode = "isolated"
    params: StrategyParams | None = None
    also: tuple[str, ...] = ()
    budget_shares: tuple[float, ...] = ()
    opening: Opening = "flat"
    changes: tuple[PopulationChange, ...] = ()

    def __post_init__(self) -> None:
        check_str("name", self.name)
        strategy = check_choice("strategy", self.strategy, STRATEGIES)
        set_field(self, "accounts", check_int("accounts", self.accounts, 1, MAX_ACCOUNTS))
        check_str("instrument", self.instrument)
        check_positive_distribution("cash", self.cash)
        set_field(
            self, "activity", check_float("activity", self.activity, 0.0, 3600.0, lo_open=True)
        )
        check_choice("margin_mode", self.margin_mode, MARGIN_MODES)
        also = check_sequence("also", self.also)
        set_field(self, "also", also)
        for k, name in enumerate(also):
            check_str(f"also[{k}]", name)
            if name == self.instrument or name in also[:k]:
                raise ValueError(f"also[{k}]: instrument {name!r} is listed twice")
        if also and self.margin_mode != "cross":
            raise ValueError(
                f"margin_mode: a population trading several instruments (also={list(also)}) "
                f"needs 'cross', got {self.margin_mode!r}"
            )
        if also and strategy == "market_maker":
            raise ValueError("also: market makers quote one instrument, got " + repr(list(also)))
        set_field(self, "budget_shares", check_budget_shares(self.budget_shares, 1 + len(also)))
        if check_choice("opening", self.opening, OPENINGS) == "target" and (
            strategy not in OPENS_AT_TARGET
        ):
            raise ValueError(
                f"opening: 'target' is for {', '.join(OPENS_AT_TARGET)}; "
                f"a {strategy} population starts 'flat'"
            )
        cls = self.params_class(strategy)
        if self.params is None:
            set_field(self, "params", cls())
        elif not isinstance(self.params, cls):
            raise TypeError(
                f"params: must be a {cls.__name__} for strategy {strategy!r}, "
                f"got {type(self.params).__name__}"
            )
        set_field(self, "changes", check_sequence("changes", self.changes))
        self.schedule()  # checks every change against the parameters it applies to

    def schedule(self) -> tuple[tuple[int, float, StrategyParams], ...]:
        """Each change as (step, activity, parameters) in force from that step on:
        the population's parameters with every change up to it applied."""
        out: list[tuple[int, float, StrategyParams]] = []
        params: Any = self.params
        activity = self.activity
        for k, change in enumerate(self.changes):
            where = f"changes[{k}]"
            check_instance(where, change, PopulationChange)
            if k and change.step < self.changes[k - 1].step:
                raise ValueError(
                    f"changes: must be sorted by step, got step {change.step} after "
                    f"{self.changes[k - 1].step} ({where})"
                )
            params = _changed_params(params, change.params, f"{where}.params")
            if change.activity is not None:
                activity = change.activity
            out.append((change.step, activity, params))
        return tuple(out)

    @property
    def traded(self) -> tuple[str, ...]:
        """Every instrument the population trades, ``instrument`` first."""
        return (self.instrument, *self.also)

    @staticmethod
    def params_class(strategy: str) -> type[StrategyParams]:
        """The parameter class of a strategy."""
        check_choice("strategy", strategy, STRATEGIES)
        return PARAMS_CLASSES[strategy]
