"""A simulated world: instruments, populations of accounts, the clock and the exchange's policy."""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from deleverage import _core
from deleverage.margin_rules import (
    CLOSE_ORDERS,
    LIQUIDATION_PRIORITIES,
    MARK_RULES,
    CloseOrder,
    Instrument,
    LiquidationPriority,
    MarginRule,
    MarkRule,
)
from deleverage.scenario.distributions import (
    Distribution,
    check_bool,
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_sequence,
    check_str,
    set_field,
)
from deleverage.scenario.episode import Episode
from deleverage.scenario.fundamental import MAX_STEPS, Fundamental
from deleverage.scenario.policy import Policy
from deleverage.scenario.populations import (
    MAX_ACCOUNTS,
    MarketMakerParams,
    NoiseParams,
    Population,
    ValueParams,
)
from deleverage.scenario.start import check_start
from deleverage.scenario.targets import Target

#: The largest start price in ticks.
MAX_START_TICKS = 2**40
#: The money value of one tick of one lot (``Instrument.tick_value``'s limits).
MIN_TICK_VALUE = 1e-12
MAX_TICK_VALUE = 1e12

LiquidationOrders = Literal["bankruptcy", "market"]
LIQUIDATION_ORDERS: tuple[str, ...] = ("bankruptcy", "market")
FundCovers = Literal["cash", "equity"]
FUND_COVERS: tuple[str, ...] = ("cash", "equity")
OrderFrom = Literal["opening", "current"]
ORDER_FROM: tuple[str, ...] = ("opening", "current")
Requote = Literal["in_turn", "together"]
REQUOTE: tuple[str, ...] = ("in_turn", "together")

# Defaults (module constants: frozen, so safe to share).
DEFAULT_MARGIN = MarginRule()
DEFAULT_FUNDAMENTAL = Fundamental()
DEFAULT_POLICY = Policy()


_LABEL = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class InstrumentSpec:
    """A traded instrument as the scenario describes it.

    ``start_price`` (price units, > 0) must be a whole number of ticks of
    ``tick_size`` (price units, > 0), 1..2**40 of them; ``lot_size`` (units of
    the underlying per lot, > 0). ``margin``: its margin rule at the start;
    ``mark``: its mark-price rule; ``fundamental``: its fair-value process;
    ``liquidity`` (> 0): its rank for the ``most_liquid`` close order (the
    instrument a margin call sells first is the one with the highest).
    ``liquidation_capacity`` (money, > 0; ``inf``, the default, for none): the
    notional of this instrument the venue's liquidation engine closes in one
    step at most; an account holding it waits for the next step once it is
    used up (docs/margin.md, "The liquidation loop").
    ``insurance_fund`` (money, in [0, 1e18]; ``None``, the default: it shares
    the venue's fund, the scenario's ``insurance_fund``): the starting cash of
    an insurance fund of this instrument's own, which alone takes over its
    liquidations, receives its liquidation fees and decides when its book is
    auto-deleveraged, as a venue that keeps a fund per contract does
    (docs/margin.md, "Isolated funds").
    ``asset_class``: a short label (lower-case letters, digits, underscores;
    empty by default) naming the instrument in headline figures, e.g.
    ``equity_index`` gives ``equity_index_crash_day_return``.
    """

    name: str
    start_price: float
    tick_size: float = 0.01
    lot_size: float = 1.0
    margin: MarginRule = DEFAULT_MARGIN
    mark: MarkRule = "median"
    fundamental: Fundamental = DEFAULT_FUNDAMENTAL
    liquidity: float = 1.0
    asset_class: str = ""
    liquidation_capacity: float = math.inf
    insurance_fund: float | None = None

    def __post_init__(self) -> None:
        check_str("name", self.name)
        label = check_str("asset_class", self.asset_class, nonempty=False)
        if label and not _LABEL.fullmatch(label):
            raise ValueError(
                "asset_class: must be lower-case letters, digits and underscores starting with "
                f"a letter (or empty), got {label!r}"
            )
        price = check_float("start_price", self.start_price, 0.0, 1e15, lo_open=True)
        tick = check_float("tick_size", self.tick_size, 0.0, 1e9, lo_open=True)
        lot = check_float("lot_size", self.lot_size, 0.0, 1e9, lo_open=True)
        set_field(self, "start_price", price)
        set_field(self, "tick_size", tick)
        set_field(self, "lot_size", lot)
        ticks = price / tick
        n = round(ticks)
        if abs(ticks - n) > 1e-9 * max(1.0, abs(ticks)):
            raise ValueError(
                f"start_price: must be a whole number of ticks (tick_size {tick}), "
                f"got {price} ({ticks} ticks)"
            )
        if n < 1 or n > MAX_START_TICKS:
            raise ValueError(
                f"start_price: must be 1..2**40 ticks (tick_size {tick}), got {price} ({n} ticks)"
            )
        if tick * lot < MIN_TICK_VALUE:
            raise ValueError(
                f"lot_size: tick_size * lot_size must be >= {MIN_TICK_VALUE}, got {lot} "
                f"(tick value {tick * lot})"
            )
        if tick * lot > MAX_TICK_VALUE:
            raise ValueError(
                f"lot_size: tick_size * lot_size must be <= {MAX_TICK_VALUE}, got {lot} "
                f"(tick value {tick * lot})"
            )
        check_instance("margin", self.margin, MarginRule)
        check_choice("mark", self.mark, MARK_RULES)
        check_instance("fundamental", self.fundamental, Fundamental)
        set_field(
            self, "liquidity", check_float("liquidity", self.liquidity, 0.0, 1e18, lo_open=True)
        )
        set_field(
            self,
            "liquidation_capacity",
            check_float(
                "liquidation_capacity",
                self.liquidation_capacity,
                0.0,
                math.inf,
                lo_open=True,
                allow_inf=True,
            ),
        )
        if self.insurance_fund is not None:
            fund = check_float("insurance_fund", self.insurance_fund, 0.0, 1e18)
            set_field(self, "insurance_fund", fund)

    @property
    def tick_value(self) -> float:
        """Money per tick per lot: ``tick_size * lot_size``."""
        return self.tick_size * self.lot_size

    @property
    def start_ticks(self) -> int:
        """The start price in ticks."""
        return round(self.start_price / self.tick_size)

    def to_instrument(self) -> Instrument:
        """The margin engine's view of this instrument."""
        return Instrument(
            name=self.name, tick_value=self.tick_value, rule=self.margin, mark=self.mark
        )


#: The clock's step, seconds: a millisecond to a day (the engine's limit).
MIN_DT: float = _core.LIMITS["Simulation.dt"][0]
MAX_DT: float = _core.LIMITS["Simulation.dt"][1]


@dataclass(frozen=True)
class Clock:
    """The simulation clock: ``steps`` (1..1e8) steps of ``dt`` seconds (in [0.001, 86400]).

    ``start``: the UTC date-time of the first step (None: an undated run, timed in
    seconds from its start); see ``deleverage.scenario.start``.
    """

    dt: float = 1.0
    steps: int = 3600
    start: datetime.datetime | None = None

    def __post_init__(self) -> None:
        set_field(self, "dt", check_float("dt", self.dt, MIN_DT, MAX_DT))
        set_field(self, "steps", check_int("steps", self.steps, 1, MAX_STEPS))
        set_field(self, "start", check_start(self.start))

    @property
    def duration(self) -> float:
        """The simulated time, seconds."""
        return self.dt * self.steps


@dataclass(frozen=True)
class Scenario:
    """A simulated world, validated as a whole.

    ``insurance_fund``: the fund's starting cash (money, in [0, 1e18]).
    ``adl``: whether auto-deleveraging runs when the fund cannot cover a loss.
    ``correlation``: the correlation matrix of the instruments' fair-value
    shocks (instruments x instruments, symmetric, ones on the diagonal,
    entries in [-1, 1], positive semi-definite); empty: independent.
    ``close_order``: which position a margin call on an account holding
    several closes first: ``instrument`` (their order here), ``most_liquid``
    (highest ``liquidity`` first: the dash for cash), ``largest_loss`` or
    ``pro_rata``. ``liquidation_orders``: ``bankruptcy`` (IOCs that never fill
    worse than the bankruptcy price, the rest taken over by the insurance fund,
    as perpetual venues do) or ``market`` (forced sales take whatever the book
    holds, as a broker's do; losses past the account's equity are its debt, or
    bad debt under negative-balance protection).
    ``fund_covers``: what the insurance fund must hold to take over a position
    the book did not take without auto-deleveraging: its ``cash`` (the
    default: the loss at the mark out of its cash), or its ``equity`` (its cash
    plus the positions it already took over, marked to market; a fund whose
    earlier takeovers the price has gone through has run dry).
    ``liquidation_priority``: the order a liquidation round takes its accounts
    in: ``account`` (ascending id, the default) or ``margin_ratio`` (the lowest
    equity over maintenance margin first, ties by id).
    ``order_from``: the position a due trader's order is sized from, to take
    it to the target it decided on the step's opening state: ``opening`` (that
    state's position; orders it left resting may have traded since, earlier in
    the step, and the new order then takes it past its target, the race a desk
    runs between a fill and its cancel; the default) or ``current`` (the
    opening position plus what its resting orders traded this step: its
    target is where it ends, so a short-only value trader never ends long).
    ``requote``: how the market makers replace their ladders at the start of a
    step: ``in_turn`` (each cancels and posts before the next does, so a maker's
    new quotes can trade against another's quotes of the step before; the
    default) or ``together`` (every maker's ladder is cancelled before any is
    posted: over a step in which the fair value moves many ticks, makers in
    turn pick off each other's stale quotes, which together they do not).
    ``quiet_window``: ``[start, end]`` seconds of ordinary trading, where the
    stylized facts are measured (``end`` may be ``inf``); empty: from the start
    to the first scheduled fair-value jump (the whole run if none).
    ``targets``: what ``deleverage validate`` checks (see ``Target``).
    ``accounts_file``: a snapshot of real accounts (CSV or Parquet, see
    ``deleverage.data.accounts`` and docs/data.md) that joins the generated
    populations in the run, after their accounts; each follows the
    population its row names, or only holds. A relative name is relative to
    the current folder, or, in a TOML file, to the file's folder.
    """

    name: str
    instruments: tuple[InstrumentSpec, ...]
    populations: tuple[Population, ...]
    clock: Clock = Clock()
    policy: Policy = DEFAULT_POLICY
    insurance_fund: float = 0.0
    adl: bool = True
    description: str = ""
    correlation: tuple[tuple[float, ...], ...] = ()
    close_order: CloseOrder = "instrument"
    liquidation_orders: LiquidationOrders = "bankruptcy"
    episode: Episode | None = None
    quiet_window: tuple[float, ...] = ()
    targets: tuple[Target, ...] = ()
    accounts_file: str | None = None
    fund_covers: FundCovers = "cash"
    liquidation_priority: LiquidationPriority = "account"
    order_from: OrderFrom = "opening"
    requote: Requote = "in_turn"

    def __post_init__(self) -> None:
        check_str("name", self.name)
        if self.accounts_file is not None:
            name = self.accounts_file
            if isinstance(name, os.PathLike):
                name = os.fspath(name)
            if not isinstance(name, str) or not name:
                raise TypeError(
                    f"accounts_file: must be a file name (a non-empty string), got {name!r}"
                )
            set_field(self, "accounts_file", name)
        instruments = check_sequence("instruments", self.instruments)
        populations = check_sequence("populations", self.populations)
        set_field(self, "instruments", instruments)
        set_field(self, "populations", populations)
        check_instance("clock", self.clock, Clock)
        check_instance("policy", self.policy, Policy)
        set_field(
            self,
            "insurance_fund",
            check_float("insurance_fund", self.insurance_fund, 0.0, 1e18),
        )
        check_bool("adl", self.adl)
        check_choice("close_order", self.close_order, CLOSE_ORDERS)
        check_choice("liquidation_orders", self.liquidation_orders, LIQUIDATION_ORDERS)
        check_choice("fund_covers", self.fund_covers, FUND_COVERS)
        check_choice("liquidation_priority", self.liquidation_priority, LIQUIDATION_PRIORITIES)
        check_choice("order_from", self.order_from, ORDER_FROM)
        check_choice("requote", self.requote, REQUOTE)
        check_str("description", self.description, nonempty=False)

        if not instruments:
            raise ValueError("instruments: at least one instrument is needed, got ()")
        names: list[str] = []
        for i, spec in enumerate(instruments):
            check_instance(f"instruments[{i}]", spec, InstrumentSpec)
            if spec.name in names:
                raise ValueError(f"instruments[{i}].name: duplicate instrument name {spec.name!r}")
            names.append(spec.name)
            for k, shock in enumerate(spec.fundamental.shocks):
                self._check_step(f"instruments[{i}].fundamental.shocks[{k}].step", shock.step)
        known = ", ".join(names)

        def check_known(path: str, name: str) -> None:
            if name not in names:
                raise ValueError(f"{path}: unknown instrument {name!r}; known: {known}")

        if not populations:
            raise ValueError("populations: at least one population is needed, got ()")
        seen: set[str] = set()
        for i, pop in enumerate(populations):
            check_instance(f"populations[{i}]", pop, Population)
            if pop.name in seen:
                raise ValueError(f"populations[{i}].name: duplicate population name {pop.name!r}")
            seen.add(pop.name)
            check_known(f"populations[{i}].instrument", pop.instrument)
        total = sum(p.accounts for p in populations)
        if total > MAX_ACCOUNTS:
            raise ValueError(f"populations: total accounts must be <= {MAX_ACCOUNTS}, got {total}")

        for i, pop in enumerate(populations):
            for k, name in enumerate(pop.also):
                check_known(f"populations[{i}].also[{k}]", name)
            schedule = pop.schedule()
            for c, change in enumerate(pop.changes):
                self._check_step(f"populations[{i}].changes[{c}].step", change.step)
            in_force = [("params", pop.params)]
            in_force += [(f"changes[{c}].params", s[2]) for c, s in enumerate(schedule)]
            for where, params in in_force:
                if not isinstance(params, (MarketMakerParams, ValueParams)):
                    continue
                whose = "the dealers'" if isinstance(params, MarketMakerParams) else "their"
                for k, name in enumerate(params.stress_instruments):
                    path = f"populations[{i}].{where}.stress_instruments[{k}]"
                    check_known(path, name)
                    if name == pop.instrument:
                        raise ValueError(
                            f"{path}: {whose} own instrument {name!r} is always watched; "
                            "list only other instruments"
                        )
        set_field(self, "correlation", _check_correlation(self.correlation, len(instruments)))

        for i, change in enumerate(self.policy.margin_changes):
            check_known(f"policy.margin_changes[{i}].instrument", change.instrument)
            self._check_step(f"policy.margin_changes[{i}].step", change.step)
        if self.episode is not None:
            self._check_episode(self.episode)
        for i, trigger in enumerate(self.policy.volatility_triggers):
            check_known(f"policy.volatility_triggers[{i}].instrument", trigger.instrument)
            if trigger.window_steps > self.clock.steps:
                raise ValueError(
                    f"policy.volatility_triggers[{i}].window_steps: must be <= clock.steps "
                    f"({self.clock.steps}), got {trigger.window_steps}"
                )
        set_field(self, "quiet_window", self._check_window("quiet_window", self.quiet_window))
        targets = check_sequence("targets", self.targets)
        set_field(self, "targets", targets)
        for i, target in enumerate(targets):
            path = f"targets[{i}]"
            check_instance(path, target, Target)
            if target.instrument:
                check_known(f"{path}.instrument", target.instrument)
            if target.kind == "episode" and self.episode is None:
                raise ValueError(f"{path}.fact: {target.fact!r} needs the scenario's [episode]")
            if target.kind == "market":
                per = target.horizon / self.clock.dt
                if abs(per - round(per)) > 1e-9 * per or round(per) < 1:
                    raise ValueError(
                        f"{path}.horizon: must be a whole number of clock steps "
                        f"(dt {self.clock.dt}), got {target.horizon}"
                    )
            if target.window:
                self._check_window(f"{path}.window", target.window)

    def _check_window(self, path: str, window: object) -> tuple[float, ...]:
        """``[start, end]`` seconds (end may be inf) starting within the run, or ()."""
        items = check_sequence(path, window)
        if not items:
            return ()
        if len(items) != 2:
            raise ValueError(f"{path}: must be [start, end] seconds or empty, got {items!r}")
        start = check_float(f"{path}[0]", items[0], 0.0, self.clock.duration, hi_open=True)
        end = check_float(f"{path}[1]", items[1], 0.0, math.inf, allow_inf=True)
        if not end > start:
            raise ValueError(f"{path}[1]: must be > {path}[0] ({start}), got {end}")
        return (start, end)

    def quiet_span(self) -> tuple[float, float]:
        """The quiet window in seconds, ``[start, end)`` within the run: ``quiet_window``,
        else from the start to the first scheduled fair-value jump (else the whole run)."""
        duration = self.clock.duration
        if self.quiet_window:
            start, end = self.quiet_window
            return start, min(end, duration)
        jumps = [
            s.step for inst in self.instruments for s in inst.fundamental.shocks if s.kind == "jump"
        ]
        return 0.0, (min(jumps) * self.clock.dt if jumps else duration)

    def _check_episode(self, episode: Episode) -> None:
        check_instance("episode", episode, Episode)
        per_day = episode.day / self.clock.dt
        if abs(per_day - round(per_day)) > 1e-9 * per_day or round(per_day) < 1:
            raise ValueError(
                f"episode.day: must be a whole number of clock steps (dt {self.clock.dt}), "
                f"got {episode.day}"
            )
        days = self.clock.steps // round(per_day)
        if episode.crash_day >= days:
            raise ValueError(
                f"episode.crash_day: must be < {days} (the run's whole days), "
                f"got {episode.crash_day}"
            )
        if episode.end_day >= days:
            raise ValueError(
                f"episode.end_day: must be < {days} (the run's whole days), got {episode.end_day}"
            )

    def _check_step(self, path: str, step: int) -> None:
        if step >= self.clock.steps:
            raise ValueError(f"{path}: must be < clock.steps ({self.clock.steps}), got {step}")

    # ---- queries

    @property
    def total_accounts(self) -> int:
        """The number of accounts over all populations."""
        return sum(p.accounts for p in self.populations)

    def instrument(self, name: str) -> InstrumentSpec:
        """The instrument called ``name`` (KeyError listing the known ones otherwise)."""
        for spec in self.instruments:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.instruments)
        raise KeyError(f"instrument: unknown instrument {name!r}; known: {known}")

    # ---- derived scenarios

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def with_steps(self, n: int) -> Scenario:
        """The same world over its first ``n`` steps (1..1e8).

        Shocks, margin changes and population changes scheduled at step ``n`` or
        later are left out;
        volatility-trigger windows longer than the run are shortened to it; a
        quiet window and targets whose window start after the run are left out;
        an episode whose aftermath ends after the run ends with it (``end_day`` 0),
        and one whose crash day does not end inside the run is left out with its
        targets.
        """
        n = check_int("n", n, 1, MAX_STEPS)
        instruments = tuple(
            dataclasses.replace(
                inst,
                fundamental=dataclasses.replace(
                    inst.fundamental,
                    shocks=tuple(s for s in inst.fundamental.shocks if s.step < n),
                ),
            )
            for inst in self.instruments
        )
        policy = dataclasses.replace(
            self.policy,
            margin_changes=tuple(c for c in self.policy.margin_changes if c.step < n),
            volatility_triggers=tuple(
                dataclasses.replace(t, window_steps=min(t.window_steps, n))
                for t in self.policy.volatility_triggers
            ),
        )
        duration = n * self.clock.dt
        quiet = (
            self.quiet_window if not self.quiet_window or self.quiet_window[0] < duration else ()
        )
        targets = tuple(t for t in self.targets if not t.window or t.window[0] < duration)
        episode = self.episode
        if episode is not None and (episode.crash_day + 1) * episode.day > duration:
            episode = None
            targets = tuple(t for t in targets if t.kind != "episode")
        elif episode is not None and (episode.end_day + 1) * episode.day > duration:
            episode = dataclasses.replace(episode, end_day=0)
        populations = tuple(
            dataclasses.replace(p, changes=tuple(c for c in p.changes if c.step < n))
            for p in self.populations
        )
        return self.replace(
            clock=dataclasses.replace(self.clock, steps=n),
            instruments=instruments,
            populations=populations,
            policy=policy,
            quiet_window=quiet,
            targets=targets,
            episode=episode,
        )

    def with_accounts(self, n: int) -> Scenario:
        """The same world with ``n`` accounts in total.

        Market makers keep their counts; the other populations share the rest in
        proportion to their current counts (largest remainders), each keeping at
        least one account.
        """
        n = check_int("n", n, 1, MAX_ACCOUNTS)
        fixed = sum(p.accounts for p in self.populations if p.strategy == "market_maker")
        scaled = [i for i, p in enumerate(self.populations) if p.strategy != "market_maker"]
        rest = n - fixed
        if not scaled:
            if rest != 0:
                raise ValueError(f"n: only market makers here, so the total stays {fixed}, got {n}")
            return self
        if rest < len(scaled):
            raise ValueError(
                f"n: must be >= {fixed + len(scaled)} ({fixed} market makers and one account "
                f"for each of {len(scaled)} other populations), got {n}"
            )
        weights = [self.populations[i].accounts for i in scaled]
        counts = _apportion(rest, weights)
        pops = list(self.populations)
        for i, c in zip(scaled, counts, strict=True):
            pops[i] = dataclasses.replace(pops[i], accounts=c)
        return self.replace(populations=tuple(pops))

    def scaled(self, fraction: float, *, keep_accounts_below: int = 0) -> Scenario:
        """A smaller (or larger) copy of the whole market, for quick runs of a big world.

        Unlike ``with_accounts``, which adds or removes traders in a market whose
        dealers stay as they are, this scales everything that carries size by
        ``fraction`` (in (0, 1e3]): every population's account count but the
        market makers' (rounded, at least one), the makers' cash, depth per level
        and inventory limit (at least one lot; in their scheduled changes too),
        the insurance fund and each
        instrument's ``liquidation_capacity`` and own ``insurance_fund``. Per-account
        sizes of the other traders stay, so each population's aggregate demand and
        the book's depth shrink together and prices move about as much as at full size.

        A population of a few large accounts (hedgers, funds) loses its grain
        that way: a twentieth of 750 hedgers is 38, each trading as much as
        before against a book a twentieth as deep, so their flow comes in lumps
        twenty times the book's share. Populations of fewer than
        ``keep_accounts_below`` accounts (an int >= 0; 0, the default: none)
        keep every account and scale each account's cash by ``fraction``
        instead, so they trade as often, and as small against the book, as at
        full size. Market makers are scaled as above either way, and so are
        noise traders, whose orders are a number of lots whatever their cash.
        """
        f = check_float("fraction", fraction, 0.0, 1e3, lo_open=True)
        keep = check_int("keep_accounts_below", keep_accounts_below, 0, 2**62)
        pops = []
        for p in self.populations:
            if isinstance(p.params, MarketMakerParams):
                params = dataclasses.replace(
                    p.params,
                    depth_lots=_scaled("depth_lots", p.params.depth_lots, f),
                    inventory_limit=_scaled_limit(p.params.inventory_limit, f),
                )
                cash = _scaled("cash", p.cash, f)
                # A scheduled change of the limit is a size too.
                changes = tuple(
                    dataclasses.replace(
                        c,
                        params={
                            k: _scaled_limit(v, f)
                            if k == "inventory_limit" and isinstance(v, int)
                            else v
                            for k, v in c.params.items()
                        },
                    )
                    for c in p.changes
                )
                pops.append(dataclasses.replace(p, cash=cash, params=params, changes=changes))
            elif p.accounts < keep and not isinstance(p.params, NoiseParams):
                pops.append(dataclasses.replace(p, cash=_scaled("cash", p.cash, f)))
            else:
                pops.append(dataclasses.replace(p, accounts=max(1, round(p.accounts * f))))
        instruments = tuple(
            dataclasses.replace(
                inst,
                liquidation_capacity=inst.liquidation_capacity * f,
                insurance_fund=None if inst.insurance_fund is None else inst.insurance_fund * f,
            )
            for inst in self.instruments
        )
        return self.replace(
            populations=tuple(pops),
            instruments=instruments,
            insurance_fund=self.insurance_fund * f,
        )


def _scaled_limit(lots: int, f: float) -> int:
    """A market maker's inventory limit scaled by ``f`` (at least one lot)."""
    return max(1, round(lots * f))


def _scaled(field: str, dist: Distribution, f: float) -> Distribution:
    """``dist`` scaled by ``f``; a size that underflows to zero is an error naming ``field``."""
    try:
        return dist.scaled(f)
    except ValueError as err:
        raise ValueError(f"{field}: {dist} scaled by {f:g} underflows ({err})") from None


def _check_correlation(value: object, n: int) -> tuple[tuple[float, ...], ...]:
    """A valid correlation matrix of n instruments as a tuple of rows (or ())."""
    rows = check_sequence("correlation", value)
    if not rows:
        return ()
    if len(rows) != n:
        raise ValueError(
            f"correlation: must be {n} x {n} (one row per instrument), got {len(rows)} rows"
        )
    matrix = []
    for i, row in enumerate(rows):
        row = check_sequence(f"correlation[{i}]", row)
        if len(row) != n:
            raise ValueError(f"correlation[{i}]: must have {n} entries, got {len(row)}")
        matrix.append(
            tuple(check_float(f"correlation[{i}][{j}]", x, -1.0, 1.0) for j, x in enumerate(row))
        )
    c = np.array(matrix)
    for i in range(n):
        if c[i, i] != 1.0:
            raise ValueError(f"correlation[{i}][{i}]: the diagonal must be 1, got {c[i, i]}")
        for j in range(i):
            if c[i, j] != c[j, i]:
                raise ValueError(
                    f"correlation[{i}][{j}]: must equal correlation[{j}][{i}] (symmetric), "
                    f"got {c[i, j]} and {c[j, i]}"
                )
    smallest = float(np.linalg.eigvalsh(c).min())
    if smallest < -1e-10:
        raise ValueError(
            "correlation: must be positive semi-definite, "
            f"its smallest eigenvalue is {smallest:.3g}"
        )
    return tuple(matrix)


def _apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` (>= len(weights)) in proportion to ``weights``, each part >= 1,
    by largest remainders (exact integer arithmetic; ties go to the earlier part)."""
    wsum = sum(weights)
    # The quota of part j is total * weights[j] / wsum; compare (quota - count) * wsum.
    counts = [max(1, total * w // wsum) for w in weights]

    def excess(j: int) -> int:
        return counts[j] * wsum - total * weights[j]

    diff = total - sum(counts)
    while diff > 0:  # at most len(weights) rounds
        k = min(range(len(counts)), key=lambda j: (excess(j), j))
        counts[k] += 1
        diff -= 1
    while diff < 0:  # only after raising tiny quotas to 1
        k = max((j for j in range(len(counts)) if counts[j] > 1), key=lambda j: (excess(j), -j))
        counts[k] -= 1
        diff += 1
    return counts
