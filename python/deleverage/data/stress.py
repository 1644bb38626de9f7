"""Stress tests of a book of accounts: ``stress(...)`` and ``reverse_stress(...)``.

A book is a snapshot of accounts (``deleverage.data.accounts``) in a world of
instruments and margin rules (a ``Scenario``: its instruments, insurance fund,
ADL setting, close order and liquidation orders). Each shock moves one
instrument's mark from its start price, on a fresh engine holding the same
accounts, and reports what the margin engine did:

- an instantaneous move (one check at ``start * (1 + shock)``), or a move
  spread over ``over`` checks (a straight line to the same level), or a whole
  recorded path (``path``: the table's prices relative to its first, one check
  per row), scaled so that its lowest (or highest) point is the shock;
- without ``depth`` there is no book: every lot a liquidation closes goes to
  the insurance fund or, once the fund cannot cover it, to auto-deleveraging
  (the margin oracle's configuration); with ``depth`` (a ``Depth`` per
  instrument) each check's book is the venue's depth as given, quoted around
  the shocked price by the outside, liquidation orders sell into it and marks
  follow the instrument's mark rule (the index is the shocked price).

Shocks run in parallel (``threads``), each on its own engine: the outcome of a
shock does not depend on the others or on the thread count.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from deleverage import _core
from deleverage.data.accounts import AccountSnapshot, read_accounts
from deleverage.data.paths import read_path
from deleverage.engine_spec import engine_settings, margin_rule, mark_rule
from deleverage.result import CLOSE_KINDS
from deleverage.scenario import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Depth",
    "ForcedTrader",
    "ReverseStress",
    "StressResult",
    "forced_trader",
    "reverse_stress",
    "stress",
    "stress_with_agents",
]

PathLike = str | os.PathLike[str]

#: The columns of ``StressResult.table`` after ``shock`` (see ``StressResult``).
OUTCOME_COLUMNS = tuple(_core.STRESS_DTYPE.names or ())


@dataclass(frozen=True)
class Depth:
    """The venue's depth of one instrument: ``levels`` price levels (0..100000) each
    side, ``lots`` (>= 0) each, ``spacing`` (in (0, 1), a fraction of the price) apart,
    the first ``spacing`` away from the price."""

    levels: int
    lots: int
    spacing: float = 0.001

    def __post_init__(self) -> None:
        if isinstance(self.levels, bool) or not isinstance(self.levels, int):
            raise TypeError(f"depth.levels: must be an integer, got {self.levels!r}")
        if not 0 <= self.levels <= 100_000:
            raise ValueError(f"depth.levels: must be in 0..100000, got {self.levels}")
        if isinstance(self.lots, bool) or not isinstance(self.lots, int):
            raise TypeError(f"depth.lots: must be an integer, got {self.lots!r}")
        if not 0 <= self.lots <= 2**40:
            raise ValueError(f"depth.lots: must be in 0..2**40, got {self.lots}")
        if not (isinstance(self.spacing, (int, float)) and 0.0 < self.spacing < 1.0):
            raise ValueError(f"depth.spacing: must be in (0, 1), got {self.spacing!r}")

    def core(self) -> _core.DepthProfile:
        return _core.DepthProfile(levels=self.levels, lots=self.lots, spacing=float(self.spacing))


@dataclass
class StressResult:
    """The outcome of each shock.

    ``table``: one row per shock (``shock``, the relative move; ``label``), with
    accounts_liquidated, liquidated_notional (money, every close of a
    liquidated account), book_notional (the part sold into the book),
    slippage (of book sales against the mark, a fraction), fund_start,
    fund_low, fund_end (the equity of the insurance fund that serves the
    shocked instrument, the venue's or its own: cash plus the unrealized PnL
    of the positions it took over, at the marks), adl_events,
    adl_notional (money taken from opposite positions), bad_debt,
    bankrupt_accounts, lowest_mark (price units, of the shocked instrument).
    ``logs``: with ``keep_logs``, each shock's liquidation log with the
    accounts' own ``id``.
    """

    table: pd.DataFrame
    instrument: str
    logs: list[pd.DataFrame] | None = None

    def to_parquet(self, path: PathLike) -> Path:
        """Write the table (and the logs, as ``<stem>.log.parquet`` with a ``shock``
        column) to Parquet; returns the table's path."""
        out = Path(path)
        self.table.to_parquet(out, engine="pyarrow")
        if self.logs is not None and self.logs:
            shocks = self.table["shock"]
            frames = [log.assign(shock=s) for s, log in zip(shocks, self.logs, strict=True)]
            pd.concat(frames, ignore_index=True).to_parquet(
                out.with_name(out.stem + ".log.parquet"), engine="pyarrow"
            )
        return out

    def plot(self) -> Figure:
        """Each outcome against the shock's size."""
        import matplotlib.pyplot as plt

        fields = [
            ("accounts_liquidated", "accounts liquidated"),
            ("liquidated_notional", "liquidated notional"),
            ("slippage", "slippage of forced sales vs mark"),
            ("fund_low", "insurance fund low"),
            ("adl_notional", "ADL notional"),
            ("bad_debt", "bad debt"),
        ]
        fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), layout="constrained")
        x = self.table["shock"].to_numpy() * 100
        for ax, (column, title) in zip(axes.ravel(), fields, strict=True):
            ax.plot(x, self.table[column].to_numpy(), marker="o")
            ax.set_title(title)
            ax.set_xlabel(f"shock to {self.instrument} (%)")
            ax.grid(alpha=0.3)
        return fig


def _world(world: Scenario | str | PathLike) -> Scenario:
    if isinstance(world, Scenario):
        return world
    from deleverage.scenario import load_toml
    from deleverage.scenarios import PRESETS, load_preset

    name = os.fspath(world)
    if name in PRESETS:
        return load_preset(name)
    return load_toml(name)


def _snapshot(accounts: AccountSnapshot | PathLike | None, world: Scenario) -> AccountSnapshot:
    if accounts is None:
        if world.accounts_file is None:
            raise ValueError(
                "accounts: give a book of accounts (a file or an AccountSnapshot); "
                "the scenario has no accounts_file"
            )
        accounts = world.accounts_file
    if isinstance(accounts, AccountSnapshot):
        if accounts.instruments != tuple(i.name for i in world.instruments):
            raise ValueError(
                f"accounts: read for instruments {list(accounts.instruments)}, the world has "
                f"{[i.name for i in world.instruments]}"
            )
        return accounts
    return read_accounts(accounts, world.instruments, [p.name for p in world.populations])


def _shock_values(shocks: Sequence[float]) -> list[float]:
    if isinstance(shocks, (str, bytes)) or not isinstance(shocks, Sequence):
        raise TypeError(f"shocks: must be a sequence of relative moves, got {shocks!r}")
    out = []
    for k, s in enumerate(shocks):
        if isinstance(s, bool) or not isinstance(s, (int, float, np.floating, np.integer)):
            raise TypeError(f"shocks[{k}]: must be a number (a relative move), got {s!r}")
        if not -1.0 < float(s) <= 10.0:
            raise ValueError(f"shocks[{k}]: must be a relative move in (-1, 10], got {s}")
        out.append(float(s))
    return out


def _multipliers(shock: float, over: int, path: np.ndarray | None) -> list[float]:
    if path is None:
        return [1.0 + shock * (k + 1) / over for k in range(over)]
    # The path relative to its first price, its extreme move scaled to the shock.
    rel = path / path[0]
    extreme = float(rel.min() - 1.0) if shock <= 0 else float(rel.max() - 1.0)
    if extreme == 0.0:
        return [1.0 + shock * (1.0 if k == len(rel) - 1 else 0.0) for k in range(len(rel))]
    return [float(x) for x in 1.0 + (rel - 1.0) * (shock / extreme)]


def _log_frame(log: np.ndarray, snapshot: AccountSnapshot, world: Scenario) -> pd.DataFrame:
    frame = pd.DataFrame(log)
    names = [inst.name for inst in world.instruments]
    size = np.array([inst.tick_size for inst in world.instruments])
    value = np.array([inst.tick_value for inst in world.instruments])
    i = frame["instrument"].to_numpy(dtype=np.int64)
    frame.insert(
        list(frame.columns).index("account") + 1, "id", snapshot.ids[frame["account"].to_numpy()]
    )
    frame["notional"] = frame["qty"].to_numpy() * frame["price"].to_numpy() * value[i]
    frame["price"] = frame["price"].to_numpy(dtype=np.float64) * size[i]
    frame["mark"] = frame["mark"].to_numpy(dtype=np.float64) * size[i]
    frame["instrument"] = np.asarray(names, dtype=object)[i]
    frame["kind"] = np.asarray(CLOSE_KINDS, dtype=object)[frame["kind"].to_numpy()]
    frame["side"] = np.where(frame["side"].to_numpy() == 0, "long", "short")
    return frame


def _run(
    world: Scenario,
    snapshot: AccountSnapshot,
    instrument: int,
    multipliers: list[list[float]],
    depth: Sequence[Depth] | None,
    threads: int,
    keep_logs: bool,
) -> tuple[np.ndarray, list[np.ndarray] | None]:
    insts = world.instruments
    ticks = [inst.tick_size for inst in insts]
    shocks = [_core.StressShock(instrument=instrument, multipliers=m) for m in multipliers]
    outcomes, logs = _core.stress_grid(
        tick_values=[inst.tick_value for inst in insts],
        rules=[margin_rule(inst.margin) for inst in insts],
        settings=engine_settings(world),
        start_ticks=[inst.start_ticks for inst in insts],
        mark_rules=[mark_rule(inst.mark) for inst in insts],
        depth=None if depth is None else [d.core() for d in depth],
        cash=snapshot.cash,
        instrument=snapshot.instrument,
        position=snapshot.position,
        entry=np.ascontiguousarray(snapshot.entry_ticks(ticks)),
        mode=snapshot.mode,
        shocks=shocks,
        threads=threads,
        keep_logs=keep_logs,
    )
    return outcomes, logs


def _depths(depth: Depth | Mapping[str, Depth] | None, world: Scenario) -> list[Depth] | None:
    if depth is None:
        return None
    names = [inst.name for inst in world.instruments]
    if isinstance(depth, Depth):
        return [depth] * len(names)
    if not isinstance(depth, Mapping):
        raise TypeError(
            f"depth: must be a Depth or a mapping of instrument to Depth, got {depth!r}"
        )
    unknown = [k for k in depth if k not in names]
    if unknown:
        raise ValueError(f"depth: unknown instruments {unknown} (the world has {names})")
    return [depth.get(name, Depth(0, 0)) for name in names]


def _instrument(world: Scenario, instrument: str | None) -> int:
    names = [inst.name for inst in world.instruments]
    if instrument is None:
        return 0
    if instrument not in names:
        raise ValueError(f"instrument: unknown instrument {instrument!r} (the world has {names})")
    return names.index(instrument)


def _check_threads(threads: int) -> int:
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 256:
        raise ValueError(f"threads: must be an integer in 1..256, got {threads!r}")
    return threads


def stress(
    world: Scenario | str | PathLike,
    accounts: AccountSnapshot | PathLike | None = None,
    shocks: Sequence[float] = (-0.05, -0.10, -0.20),
    *,
    instrument: str | None = None,
    over: int = 1,
    path: PathLike | None = None,
    depth: Depth | Mapping[str, Depth] | None = None,
    threads: int = 2,
    keep_logs: bool = False,
) -> StressResult:
    """Each shock to ``instrument`` (default: the first) over the book ``accounts``
    (default: the world's ``accounts_file``) in ``world`` (a Scenario, a preset's name
    or a TOML file); see the module's text."""
    scenario = _world(world)
    snapshot = _snapshot(accounts, scenario)
    sizes = _shock_values(shocks)
    if isinstance(over, bool) or not isinstance(over, int) or not 1 <= over <= 100_000:
        raise ValueError(f"over: must be an integer in 1..100000 (checks), got {over!r}")
    recorded = None
    if path is not None:
        if over != 1:
            raise ValueError(
                "over: a recorded path sets its own checks (one per row); leave over at 1"
            )
        _, recorded = read_path(path)
    i = _instrument(scenario, instrument)
    outcomes, logs = _run(
        scenario,
        snapshot,
        i,
        [_multipliers(s, over, recorded) for s in sizes],
        _depths(depth, scenario),
        _check_threads(threads),
        keep_logs,
    )
    table = pd.DataFrame(outcomes)
    table["lowest_mark"] *= scenario.instruments[i].tick_size
    table.insert(0, "shock", sizes)
    return StressResult(
        table=table,
        instrument=scenario.instruments[i].name,
        logs=None if logs is None else [_log_frame(log, snapshot, scenario) for log in logs],
    )


@dataclass(frozen=True)
class ReverseStress:
    """The smallest shock (in size) at which ``target`` happens, found by bisection:
    ``shock`` (where it happens) and ``below`` (the largest tried where it does not),
    within ``tolerance``; ``at`` and ``before`` are their outcomes; ``evaluations``
    the shocks run. ``shock`` is None if even ``limit`` does not bring it about."""

    target: str
    shock: float | None
    below: float
    at: dict[str, float] | None
    before: dict[str, float]
    evaluations: int


def _happens(target: str, outcome: Mapping[str, Any]) -> bool:
    if target == "fund":
        return float(outcome["fund_low"]) <= 0.0
    return int(outcome["adl_events"]) > 0


def reverse_stress(
    world: Scenario | str | PathLike,
    accounts: AccountSnapshot | PathLike | None = None,
    target: Literal["fund", "adl"] = "fund",
    *,
    instrument: str | None = None,
    direction: Literal["down", "up"] = "down",
    limit: float | None = None,
    tolerance: float = 1e-4,
    depth: Depth | Mapping[str, Depth] | None = None,
    threads: int = 2,
) -> ReverseStress:
    """The smallest instantaneous move of ``instrument`` that empties the insurance
    fund that serves it (``target="fund"``: its equity at the marks reaches 0;
    the instrument's own fund where it has one) or triggers
    auto-deleveraging (``"adl"``), by bisection between no move and ``limit``
    (default -99% down, +1000% up). Each round runs ``threads`` shocks spaced
    evenly in the bracket, so the bracket shrinks by ``threads + 1`` a round.
    Without agents a shock's outcome is a function of the shock alone, so the
    bisection is exact up to ``tolerance``; it assumes the target, once reached,
    stays reached for larger moves (as liquidations only grow with the move)."""
    if target not in ("fund", "adl"):
        raise ValueError(f"target: must be fund or adl, got {target!r}")
    if direction not in ("down", "up"):
        raise ValueError(f"direction: must be down or up, got {direction!r}")
    sign = -1.0 if direction == "down" else 1.0
    hi = (0.99 if direction == "down" else 10.0) if limit is None else abs(float(limit))
    if not (0.0 < hi < 1.0 or (direction == "up" and 0.0 < hi <= 10.0)):
        raise ValueError(f"limit: must be a move in (0, 1) down or (0, 10] up, got {limit!r}")
    if not (isinstance(tolerance, (int, float)) and 1e-12 <= tolerance <= 0.1):
        raise ValueError(f"tolerance: must be in [1e-12, 0.1], got {tolerance!r}")
    scenario = _world(world)
    snapshot = _snapshot(accounts, scenario)
    i = _instrument(scenario, instrument)
    depths = _depths(depth, scenario)
    threads = _check_threads(threads)
    evaluations = 0

    def outcomes(sizes: list[float]) -> list[dict[str, float]]:
        nonlocal evaluations
        evaluations += len(sizes)
        got, _ = _run(
            scenario, snapshot, i, [[1.0 + sign * s] for s in sizes], depths, threads, False
        )
        return [
            {name: float(row[name]) for name in OUTCOME_COLUMNS} | {"shock": sign * s}
            for row, s in zip(got, sizes, strict=True)
        ]

    lo = 0.0
    before, at = outcomes([lo, hi])
    if _happens(target, before):
        return ReverseStress(target, sign * lo, sign * lo, before, before, evaluations)
    if not _happens(target, at):
        return ReverseStress(target, None, sign * hi, None, at, evaluations)
    while hi - lo > tolerance:
        points = [lo + (hi - lo) * (k + 1) / (threads + 1) for k in range(threads)]
        results = outcomes(points)
        for p, r in zip(points, results, strict=True):
            if _happens(target, r):
                hi, at = p, r
                break
            lo, before = p, r
    return ReverseStress(target, sign * hi, sign * lo, at, before, evaluations)


def describe(result: ReverseStress) -> str:
    """One line for a person."""
    what = "empties the insurance fund" if result.target == "fund" else "triggers ADL"
    if result.shock is None:
        return f"No move up to {result.below:+.2%} {what}."
    return (
        f"The smallest move that {what}: {result.shock:+.4%} "
        f"(none at {result.below:+.4%}; {result.evaluations} shocks run)."
    )


def stress_with_agents(
    world: Scenario | str | PathLike,
    shocks: Sequence[float] = (-0.05, -0.10, -0.20),
    *,
    instrument: str | None = None,
    at: float | None = None,
    seed: int = 0,
    threads: int = 2,
) -> StressResult:
    """Each shock as a jump of ``instrument``'s fair value at ``at`` seconds (default: a
    quarter into the run) in the scenario's own market, its populations trading around
    the forced flow; every shock on the same seed (common random numbers). The table
    has the columns of ``stress`` (the fund's figures are its cash, from the series),
    counted from the shock on."""
    from concurrent.futures import ThreadPoolExecutor

    from deleverage.dates import undated_result
    from deleverage.scenario import Shock
    from deleverage.simulate import simulate

    scenario = _world(world)
    sizes = _shock_values(shocks)
    i = _instrument(scenario, instrument)
    threads = _check_threads(threads)
    dt = scenario.clock.dt
    step = scenario.clock.steps // 4 if at is None else int(float(at) / dt)
    if not 0 < step < scenario.clock.steps:
        raise ValueError(
            f"at: must be inside the run (0, {scenario.clock.duration:g}) seconds, got {at!r}"
        )
    inst = scenario.instruments[i]

    def one(size: float) -> dict[str, float]:
        f = inst.fundamental
        jump = Shock(step, "jump", float(np.log1p(size)))
        moved = tuple(sorted((*f.shocks, jump), key=lambda s: s.step))
        changed = dataclasses.replace(inst, fundamental=dataclasses.replace(f, shocks=moved))
        instruments = tuple(changed if k == i else x for k, x in enumerate(scenario.instruments))
        result = undated_result(simulate(scenario.replace(instruments=instruments), seed))
        log = result.liquidations
        log = log[log["time"] >= step * dt] if len(log) else log
        own = log[log["kind"] != "adl_victim"] if len(log) else log
        book = own[own["kind"] == "book"] if len(own) else own
        series = result.series[inst.name]
        after = series.iloc[step:]
        fund = series["insurance_fund"].to_numpy()
        debt = sum(result.series[x.name]["bad_debt"].to_numpy() for x in scenario.instruments)
        marks = book["mark"].to_numpy(dtype=np.float64) if len(book) else np.zeros(0)
        qty = book["qty"].to_numpy(dtype=np.float64) if len(book) else np.zeros(0)
        prices = book["price"].to_numpy(dtype=np.float64) if len(book) else np.zeros(0)
        at_mark = float(np.sum(qty * marks))
        return {
            "accounts_liquidated": float(own["account"].nunique()) if len(own) else 0.0,
            "liquidated_notional": float(own["notional"].sum()) if len(own) else 0.0,
            "book_notional": float(book["notional"].sum()) if len(book) else 0.0,
            "slippage": float(np.sum(qty * np.abs(prices - marks))) / at_mark if at_mark else 0.0,
            "fund_start": float(fund[step - 1]),
            "fund_low": float(fund[step - 1 :].min()),
            "fund_end": float(fund[-1]),
            "adl_events": float(np.count_nonzero(log["kind"] == "adl")) if len(log) else 0.0,
            "adl_notional": float(log.loc[log["kind"] == "adl_victim", "notional"].sum())
            if len(log)
            else 0.0,
            "bad_debt": float(debt[-1] - debt[step - 1]),
            "bankrupt_accounts": float(
                series["bankrupt"].iloc[-1] - series["bankrupt"].iloc[step - 1]
            ),
            "lowest_mark": float(after["mark"].min()),
        }

    with ThreadPoolExecutor(max_workers=threads) as pool:
        rows = list(pool.map(one, sizes))
    table = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS))
    for name in ("accounts_liquidated", "adl_events", "bankrupt_accounts"):
        table[name] = table[name].astype(np.uint64)
    table.insert(0, "shock", sizes)
    return StressResult(table=table, instrument=inst.name)


@dataclass(frozen=True)
class ForcedTrader:
    """The smallest order (in lots) of a new forced trader at ``at`` seconds that takes
    the instrument's last price to ``level``: ``lots`` (it does; None if not even
    ``max_lots`` does), ``below`` (the largest tried that does not), the extreme last
    price each reached (``reached``, ``before``), ``side`` (sell or buy) and
    ``evaluations`` (runs)."""

    level: float
    side: str
    lots: int | None
    below: int
    reached: float | None
    before: float
    evaluations: int


def forced_trader(
    world: Scenario | str | PathLike,
    level: float,
    *,
    instrument: str | None = None,
    at: float | None = None,
    over: float = 300.0,
    seed: int = 0,
    max_lots: int = 2**40,
    tolerance: float = 0.01,
) -> ForcedTrader:
    """With agents: the size of a new forced seller (or buyer, for a ``level`` above the
    price) that pushes ``instrument``'s last traded price to ``level`` after ``at``
    seconds (default: a quarter into the run), by bisection over the lots it sells
    (buys), within ``tolerance`` (relative; at least one lot). It sends a market
    order every step for ``over`` seconds (at least one step), the lots split evenly:
    a desk working off a position, so the book refills between its orders. Every run uses ``seed``
    (common random numbers): the same world and draws, only the order's size differs.
    A market's response need not be monotone in the size; the answer is a bracket,
    ``below`` not reaching the level and ``lots`` reaching it. The steps before the
    first order run once; each size goes on from a copy of that run, the same bit
    for bit as a run of its own (``deleverage.shared_steps``)."""
    from deleverage.simulate import build

    scenario = _world(world)
    i = _instrument(scenario, instrument)
    inst = scenario.instruments[i]
    level = float(level)
    if not (math.isfinite(level) and level > 0):
        raise ValueError(f"level: must be a price > 0, got {level!r}")
    if isinstance(max_lots, bool) or not isinstance(max_lots, int) or not 1 <= max_lots <= 2**40:
        raise ValueError(f"max_lots: must be an integer in 1..2**40, got {max_lots!r}")
    if not (isinstance(tolerance, (int, float)) and 0.0 <= tolerance <= 0.5):
        raise ValueError(f"tolerance: must be in [0, 0.5], got {tolerance!r}")
    dt = scenario.clock.dt
    step = scenario.clock.steps // 4 if at is None else int(float(at) / dt)
    if not 0 < step < scenario.clock.steps:
        raise ValueError(
            f"at: must be inside the run (0, {scenario.clock.duration:g}) seconds, got {at!r}"
        )
    ni = len(scenario.instruments)
    if not (isinstance(over, (int, float)) and over >= 0):
        raise ValueError(f"over: must be seconds >= 0, got {over!r}")
    orders = max(1, min(int(float(over) / dt), scenario.clock.steps - step))
    evaluations = 0
    # Every size runs the same steps before the first order: they run once, and
    # each size goes on from a copy of that run (deleverage.shared_steps).
    trunk, data = build(scenario, seed)
    trunk.run(until=step)

    def last_prices(lots: int) -> np.ndarray:
        nonlocal evaluations
        evaluations += 1
        sim = trunk.fork(data.spec)
        size, extra = divmod(abs(lots), orders)
        for k in range(orders):
            part = size + (1 if k < extra else 0)
            if part:
                sim.schedule_forced_order(step + k, i, part if lots > 0 else -part)
        sim.run()
        table = sim.records.reshape(-1, ni)
        return np.asarray(table[step:, i]["last"], dtype=np.float64) * inst.tick_size

    calm = last_prices(0)
    seller = level < float(calm[0])
    sign = -1 if seller else 1

    def extreme(lots: int) -> float:
        prices = calm if lots == 0 else last_prices(sign * lots)
        return float(prices.min() if seller else prices.max())

    def reaches(price: float) -> bool:
        return price <= level if seller else price >= level

    side = "sell" if seller else "buy"
    lo, before = 0, extreme(0)
    if reaches(before):
        return ForcedTrader(level, side, 0, 0, before, before, evaluations)
    hi = 1
    while True:
        got = extreme(hi)
        if reaches(got):
            reached = got
            break
        lo, before = hi, got
        if hi == max_lots:
            return ForcedTrader(level, side, None, lo, None, before, evaluations)
        hi = min(hi * 4, max_lots)
    while hi - lo > max(1, int(tolerance * hi)):
        mid = (lo + hi) // 2
        got = extreme(mid)
        if reaches(got):
            hi, reached = mid, got
        else:
            lo, before = mid, got
    return ForcedTrader(level, side, hi, lo, reached, before, evaluations)
