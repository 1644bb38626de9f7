"""The outcome of a run: per-step series, the liquidation log, account summaries."""

from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from deleverage import persist
from deleverage.dates import date_times, run_start

if TYPE_CHECKING:
    from deleverage import _core
    from deleverage.data.join import AccountBlocks
    from deleverage.event import CrashEvent
    from deleverage.risk import RiskFigures
    from deleverage.scenario import Scenario

CLOSE_KINDS = ("partial", "book", "takeover", "adl", "adl_victim")
PRICE_FIELDS = ("last", "mid", "mark", "fair", "best_bid", "best_ask", "spread")


@dataclass(frozen=True)
class Result:
    """A finished (or interrupted) run.

    A dated run (``scenario.clock.start``) indexes ``series``, ``leverage`` and
    ``exposure`` by UTC date-times (``start + seconds``) and holds UTC date-times
    in the ``time`` column of ``liquidations`` and ``trades``; an undated run has
    seconds from its start (see ``deleverage.dates``).

    series: per-step DataFrame indexed by time (seconds), columns
        (instrument, field): last, mid, mark, fair, best_bid, best_ask, spread,
        depth_bid, depth_ask (lots within 1% of the mid), volume, open_interest,
        liquidated_long/short (accounts), liquidated_long/short_notional,
        insurance_fund (the cash of the fund that serves the instrument: the
        venue's, or its own), adl (auto-deleveraging
        closes), active_makers, volatility (realized, annualised), adl_notional
        (money closed by ADL in the step), adl_accounts (opposite accounts
        auto-deleveraged in the step), bad_debt (this instrument's bad debt so
        far), bankrupt (accounts of the venue found bankrupt so far),
        fund_equity (the equity of the fund that serves the instrument: its
        cash and the positions it took over, at the marks; below zero it has
        run dry).
    liquidations: one row per close (LIQUIDATION_DTYPE, with names and time):
        the account and its population's name, prices (price, mark) in price
        units, notional in money.
    accounts: the final state, one row per population.
    leverage: aggregate leverage (notional / equity) of each population, sampled.
    exposure: at the same samples, each population's gross notional and the sum
        of its positive equities (columns (population, "notional" | "equity")), so
        that populations can be pooled: ``aggregate_leverage``. None in results
        saved before it was recorded.
    """

    scenario: Scenario
    seed: int
    series: pd.DataFrame
    liquidations: pd.DataFrame
    accounts: pd.DataFrame
    leverage: pd.DataFrame
    steps_done: int
    wall_seconds: float
    messages: int
    decisions: int
    conservation_error: float
    info: dict[str, Any] = field(default_factory=dict)
    #: Every trade, when the run kept a trade log (``simulate(..., trade_log=True)``),
    #: else None: time, instrument, price, qty, buyer, seller, aggressor, liquidation.
    trades: pd.DataFrame | None = None
    exposure: pd.DataFrame | None = None
    #: Every account's final state when asked for (``simulate(..., account_states=True)``,
    #: see ``deleverage.account_states``), else None.
    account_states: pd.DataFrame | None = None

    def aggregate_leverage(self, populations: list[str] | None = None) -> pd.Series:
        """The pooled leverage of ``populations`` (default: all but the market makers)
        at each sample: their total notional over their total positive equity."""
        if self.exposure is None:
            raise ValueError("exposure: this result has none (it was saved before it existed)")
        known = [p.name for p in self.scenario.populations]
        names = populations
        if names is None:
            names = [p.name for p in self.scenario.populations if p.strategy != "market_maker"]
        for name in names:
            if name not in known:
                raise ValueError(f"populations: unknown population {name!r}; known: {known}")
        notional = self.exposure.loc[:, (names, "notional")].sum(axis=1)
        equity = self.exposure.loc[:, (names, "equity")].sum(axis=1)
        pooled = (notional / equity.where(equity > 0)).fillna(0.0)
        return pooled.rename("aggregate_leverage")

    @property
    def phase_seconds(self) -> pd.Series | None:
        """Wall seconds of each phase of the steps, in the order they run (index
        ``phase``), for a run made with ``simulate(..., time_phases=True)``; else None.
        They add up to the engine's run less its pauses between steps (progress,
        Ctrl-C). With helper threads the calendar is theirs and counts in ``fills``."""
        seconds = self.info.get("phase_seconds")
        if seconds is None:
            return None
        out = pd.Series(seconds, dtype=np.float64, name="seconds")
        out.index.name = "phase"
        return out

    @property
    def complete(self) -> bool:
        return self.steps_done == self.scenario.clock.steps

    # ---- display: a short repr, a small HTML table in notebooks, the dashboard

    def _size_text(self) -> str:
        clock = self.scenario.clock
        done = f"{self.steps_done:,}"
        if not self.complete:
            done += f" of {clock.steps:,}"
        return f"{self.scenario.total_accounts:,} accounts, {done} steps of {clock.dt:g} s"

    def __repr__(self) -> str:
        text = f"<Result {self.scenario.name!r} seed {self.seed}: {self._size_text()}"
        if not self.complete:
            text += " (interrupted)"
        if self.steps_done:
            m = self.metrics()
            text += (
                f"; max drawdown {m['max_drawdown']:.2%}, "
                f"{int(m['liquidations']):,} accounts liquidated"
            )
        return text + f"; {self.wall_seconds:.2f} s wall>"

    def _repr_html_(self) -> str:
        """The headline figures of each instrument, as ``deleverage run`` prints them."""
        import html

        from deleverage.report.tables import HEADLINE, metrics_table

        title = html.escape(f"{self.scenario.name}, seed {self.seed}: {self._size_text()}")
        if not self.complete:
            title += " (interrupted)"
        if not self.steps_done:
            return f"<p><b>Result</b> {title}</p>"
        table = metrics_table(self)
        shown = pd.DataFrame(
            {
                name: [fmt(float(table[name][key])) for key, _, fmt in HEADLINE]
                for name in table.columns
            },
            index=[label for _, label, _ in HEADLINE],
        )
        return (
            f"<p><b>Result</b> {title}; {self.wall_seconds:.2f} s wall. "
            "<code>.series</code>, <code>.liquidations</code>, <code>.accounts</code> hold "
            "the tables; <code>.plot()</code> draws the dashboard.</p>" + str(shown.to_html())
        )

    def plot(self) -> Any:
        """Draw the dashboard (price against fair value, liquidations, spread and depth,
        leverage, margin, the other instruments) and return the matplotlib ``Figure``;
        ``fig.savefig("run.png")`` saves it. The figure is not attached to pyplot, so
        it shows where it is returned (a notebook cell) or when saved."""
        from deleverage.report.dashboard import draw_dashboard

        return draw_dashboard(self)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write this result into the folder ``path`` (Parquet tables, the scenario as
        TOML, the scalars as JSON; see ``deleverage.persist``) and return the folder."""
        return persist.save_result(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Result:
        """The result saved in the folder ``path``, equal to the one saved."""
        return cls(**persist.read_result(path))

    @classmethod
    def from_simulation(
        cls,
        scenario: Scenario,
        seed: int,
        sim: _core.Simulation,
        wall_seconds: float,
        *,
        trade_log: bool = False,
        account_states: bool = False,
        blocks: AccountBlocks | None = None,
    ) -> Result:
        """``blocks``: the engine's blocks of accounts (``build`` makes them); None: the
        scenario's populations alone, which a scenario with an accounts file never is."""
        from deleverage.data.join import AccountBlocks

        if blocks is None:
            if scenario.accounts_file is not None:
                raise ValueError(
                    "blocks: a scenario with an accounts_file needs the blocks build() made"
                )
            blocks = AccountBlocks.generated(scenario)
        names = [inst.name for inst in scenario.instruments]
        dt = scenario.clock.dt
        start = run_start(scenario)
        series = _series(scenario, sim.records, start)

        log = sim.liquidations
        liquidations = pd.DataFrame(log)
        if len(liquidations):
            liquidations["time"] = _times(liquidations["check"].to_numpy() * dt, start)
            liquidations["instrument"] = [names[i] for i in liquidations["instrument"]]
            liquidations["kind"] = [CLOSE_KINDS[k] for k in liquidations["kind"]]
            liquidations["side"] = np.where(liquidations["side"] == 0, "long", "short")
            tick_value = {inst.name: inst.tick_value for inst in scenario.instruments}
            tick_size = {inst.name: inst.tick_size for inst in scenario.instruments}
            liquidations["notional"] = (
                liquidations["qty"]
                * liquidations["price"]
                * liquidations["instrument"].map(tick_value)
            )
            # Ticks -> price units, as in the series (the notional above is exact in ticks).
            size = liquidations["instrument"].map(tick_size).to_numpy(dtype=np.float64)
            liquidations["price"] = liquidations["price"].to_numpy(dtype=np.float64) * size
            liquidations["mark"] = liquidations["mark"].to_numpy(dtype=np.float64) * size
            liquidations.insert(
                list(liquidations.columns).index("account") + 1,
                "population",
                blocks.label_of(liquidations["account"].to_numpy()),
            )
            if blocks.ids is not None:  # the snapshot's own ids, so results join back
                ids = blocks.id_of(liquidations["account"].to_numpy())
                liquidations.insert(
                    list(liquidations.columns).index("account") + 1,
                    "id",
                    pd.Series(ids, index=liquidations.index, dtype="Int64").mask(ids < 0),
                )

        pop_names = list(blocks.labels)
        samples = sim.sample_steps
        notional = sim.notional.reshape(len(samples), len(pop_names))
        equity = sim.equity.reshape(len(samples), len(pop_names))
        positive = equity > 0
        leverage = pd.DataFrame(
            np.where(positive, notional / np.where(positive, equity, 1.0), 0.0),
            index=_time_index(samples * dt, start),
            columns=pop_names,
        )
        exposure = pd.DataFrame(
            np.stack([notional, equity], axis=2).reshape(len(samples), 2 * len(pop_names)),
            index=leverage.index.copy(),
            columns=pd.MultiIndex.from_product(
                [pop_names, ["notional", "equity"]], names=["population", "quantity"]
            ),
        )
        accounts = _account_summary(scenario, sim, blocks)
        trades = _trades(scenario, sim, start) if trade_log else None
        states = None
        if account_states:
            from deleverage.account_states import account_states as final_states

            states = final_states(scenario, sim, blocks)
        return cls(
            scenario=scenario,
            seed=seed,
            series=series,
            liquidations=liquidations,
            accounts=accounts,
            leverage=leverage,
            exposure=exposure,
            steps_done=int(sim.steps_done),
            wall_seconds=wall_seconds,
            messages=int(sim.messages),
            decisions=int(sim.decisions),
            conservation_error=float(sim.conservation_error()),
            trades=trades,
            account_states=states,
            info={
                # When each volatility trigger raised margins (seconds), None if never.
                "trigger_times": [
                    None if s < 0 else float(s) * dt for s in sim.trigger_steps.tolist()
                ],
            },
        )

    def event(self, at: float | str | datetime.datetime | None = None) -> CrashEvent:
        """The event the crash figures describe: ``at`` (seconds, or a duration such
        as ``"21h"``; for a dated run also a date-time such as ``"2026-01-30 01:00"``),
        else the scenario's episode, else the largest drawdown's window (see
        ``deleverage.event``)."""
        from deleverage.dates import run_start, time_seconds
        from deleverage.event import crash_event

        start = run_start(self)
        when = None if at is None else time_seconds(at, start, "at")  # dated: date-times too

        last = {
            inst.name: self.series[inst.name]["last"].to_numpy()
            for inst in self.scenario.instruments
        }
        return crash_event(self.scenario, last, at=when)

    def metrics(
        self, instrument: str | None = None, *, at: float | str | datetime.datetime | None = None
    ) -> dict[str, float | int]:
        """Headline figures of one instrument (the first by default), measured around
        ``self.event(at)``; the venue's fund, bad debt and bankrupt accounts with them
        (see ``deleverage.risk``)."""
        from deleverage.risk import result_instrument_metrics, result_venue_metrics

        name = instrument or self.scenario.instruments[0].name
        if name not in self.series.columns.get_level_values(0):
            known = ", ".join(inst.name for inst in self.scenario.instruments)
            raise ValueError(f"instrument: must be one of {known}, got {name!r}")
        s = self.series[name]
        liq = self.liquidations
        mine = liq[(liq["instrument"] == name) & (liq["kind"] != "adl_victim")] if len(liq) else liq
        return {
            **headline_metrics(
                self.scenario,
                last=s["last"].to_numpy(),
                depth=(s["depth_bid"] + s["depth_ask"]).to_numpy(),
                spread=s["spread"].to_numpy(),
                liquidated=(s["liquidated_long"] + s["liquidated_short"]).to_numpy(),
                liquidated_notional=float(mine["notional"].sum()) if len(mine) else 0.0,
                steps=self.steps_done,
                wall_seconds=self.wall_seconds,
                event=self.event(at),
            ),
            **result_instrument_metrics(self, name),
            **result_venue_metrics(self),
        }

    def risk(self) -> RiskFigures:
        """The insurance fund, ADL, bad debt and bankrupt accounts of the run, from the
        engine's ledger (``deleverage.risk.risk_figures``)."""
        from deleverage.risk import risk_figures

        return risk_figures(self)

    def risk_table(self) -> pd.DataFrame:
        """Liquidations, fund takeovers, ADL and bad debt per instrument
        (``deleverage.risk.risk_table``)."""
        from deleverage.risk import risk_table

        return risk_table(self)


def load_result(path: str | os.PathLike[str]) -> Result:
    """The ``Result`` saved in the folder ``path`` by ``Result.save`` (``deleverage.persist``)."""
    return Result.load(path)


def headline_metrics(
    scenario: Scenario,
    *,
    last: np.ndarray,
    depth: np.ndarray,
    spread: np.ndarray,
    liquidated: np.ndarray,
    liquidated_notional: float,
    steps: int,
    wall_seconds: float,
    event: CrashEvent,
) -> dict[str, float | int]:
    """The headline figures of one instrument's per-step arrays (prices in price units);
    depth and spread are compared with their medians before ``event``."""
    peak = np.maximum.accumulate(last) if len(last) else last
    drawdown = float(np.max(1.0 - last / peak)) if len(last) else 0.0
    shock = event.step
    before = slice(0, max(shock, 1))
    after = slice(max(shock, 1), None)
    base_depth = (
        float(np.nanmedian(depth[before])) if np.any(np.isfinite(depth[before])) else math.nan
    )
    base_spread = (
        float(np.nanmedian(spread[before])) if np.any(np.isfinite(spread[before])) else math.nan
    )
    after_depth = depth[after]
    after_spread = spread[after]
    return {
        "max_drawdown": drawdown,
        "liquidated_notional": liquidated_notional,
        "liquidations": int(liquidated.sum()),
        "min_depth_ratio": float(np.min(after_depth) / base_depth)
        if len(after_depth) and base_depth > 0
        else math.nan,
        "max_spread_ratio": float(np.nanmax(after_spread) / base_spread)
        if np.any(np.isfinite(after_spread)) and base_spread > 0
        else math.nan,
        "final_price": float(last[-1]) if len(last) else math.nan,
        "peak_price": float(peak[-1]) if len(last) else math.nan,
        "wall_seconds": wall_seconds,
        "accounts": scenario.total_accounts,
        "steps": steps,
        "event_time": event.time,
    }


def simulation_metrics(
    scenario: Scenario,
    sim: _core.Simulation,
    wall_seconds: float,
    instrument: str | None = None,
) -> dict[str, float | int]:
    """``Result.metrics()`` straight from a run's records, without building the
    Result's tables (what a sweep keeps of each run)."""
    from deleverage.event import crash_event
    from deleverage.risk import instrument_metrics, venue_fund, venue_metrics

    names = [inst.name for inst in scenario.instruments]
    i = names.index(instrument) if instrument is not None else 0
    spec = scenario.instruments[i]
    records = sim.records
    table = records.reshape(len(records) // len(names), len(names))
    per = table[:, i]
    log = sim.liquidations
    mine = (log["instrument"] == i) & (log["kind"] != CLOSE_KINDS.index("adl_victim"))
    victims = (log["instrument"] == i) & (log["kind"] == CLOSE_KINDS.index("adl_victim"))
    notional = log["qty"][mine] * log["price"][mine] * spec.tick_value
    last = {
        inst.name: table[:, k]["last"] * inst.tick_size
        for k, inst in enumerate(scenario.instruments)
    }
    debt = [table[:, k]["bad_debt"] for k in range(len(names))]
    cash = [table[:, k]["insurance_fund"] for k in range(len(names))]
    fund_start, fund = venue_fund(scenario, cash)
    return {
        **headline_metrics(
            scenario,
            last=last[spec.name],
            depth=per["depth_bid"] + per["depth_ask"],
            spread=per["spread"] * spec.tick_size,
            liquidated=per["liquidated_long"] + per["liquidated_short"],
            liquidated_notional=float(notional.sum()) if mine.any() else 0.0,
            steps=int(sim.steps_done),
            wall_seconds=wall_seconds,
            event=crash_event(scenario, last),
        ),
        **instrument_metrics(
            adl=per["adl"],
            adl_notional=per["adl_notional"],
            victims=log["account"][victims],
            bad_debt=per["bad_debt"],
        ),
        **venue_metrics(
            fund_start=fund_start,
            fund=fund,
            bad_debt=float(sum(d[-1] if d.size else 0.0 for d in debt)),
            bankrupt=float(table[-1, 0]["bankrupt"]) if len(table) else 0.0,
        ),
    }


def _time_index(seconds: np.ndarray, start: pd.Timestamp | None) -> pd.Index:
    """The index of a run's time tables: UTC date-times for a dated run, else seconds."""
    if start is None:
        plain: pd.Index = pd.Index(seconds, name="time")
        return plain
    dated: pd.DatetimeIndex = date_times(seconds, start).rename("time")
    return dated


def _times(seconds: np.ndarray, start: pd.Timestamp | None) -> np.ndarray | pd.DatetimeIndex:
    """A log's ``time`` column: date-times for a dated run, else seconds."""
    return seconds if start is None else date_times(seconds, start)


def _series(scenario: Scenario, records: np.ndarray, start: pd.Timestamp | None) -> pd.DataFrame:
    """The per-step table: one float block, built with a single copy of the engine's records.

    The records are ``steps x instruments`` structs of float fields, so their
    memory is already the table's rows in (instrument, field) column order."""
    ni = len(scenario.instruments)
    fields = list(records.dtype.names or ())
    nf = len(fields)
    steps = len(records) // ni
    if any(records.dtype[f] != np.float64 for f in fields) or records.dtype.itemsize != 8 * nf:
        raise TypeError(f"records: expected packed float64 fields, got {records.dtype}")
    flat = np.ascontiguousarray(records[: steps * ni]).view(np.float64)
    table = flat.reshape(steps, ni * nf).copy()
    price = [fields.index(f) for f in PRICE_FIELDS]
    for i, inst in enumerate(scenario.instruments):
        table[:, [i * nf + k for k in price]] *= inst.tick_size  # ticks -> price units
    columns = pd.MultiIndex.from_product(
        [[inst.name for inst in scenario.instruments], fields], names=["instrument", "field"]
    )
    index = _time_index(np.arange(steps) * scenario.clock.dt, start)
    return pd.DataFrame(table, index=index, columns=columns, copy=False)


def _trades(scenario: Scenario, sim: _core.Simulation, start: pd.Timestamp | None) -> pd.DataFrame:
    raw = sim.trades
    names = np.array([inst.name for inst in scenario.instruments])
    ticks = np.array([inst.tick_size for inst in scenario.instruments])
    instrument = raw["instrument"].astype(np.intp)
    return pd.DataFrame(
        {
            "time": _times(raw["step"] * scenario.clock.dt, start),
            "instrument": names[instrument],
            "price": raw["price"] * ticks[instrument],
            "qty": raw["qty"],
            "buyer": raw["buyer"],
            "seller": raw["seller"],
            "aggressor": np.where(raw["aggressor"] == 0, "buy", "sell"),
            "liquidation": raw["liquidation"].astype(bool),
        }
    )


def _account_summary(
    scenario: Scenario, sim: _core.Simulation, blocks: AccountBlocks
) -> pd.DataFrame:
    from deleverage.account_states import account_values

    _, position, equity, notional, status = account_values(scenario, sim)
    rows = []
    first = 0
    for label, strategy, count in zip(blocks.labels, blocks.strategies, blocks.counts, strict=True):
        sl = slice(first, first + count)
        first += count
        eq = equity[sl]
        rows.append(
            {
                "population": label,
                "strategy": strategy,
                "accounts": count,
                "liquidated": int(np.count_nonzero(status[sl] & 1)),
                "bankrupt": int(np.count_nonzero(status[sl] & 2)),
                "equity": float(eq.sum()),
                "notional": float(notional[sl].sum()),
                "leverage": float(notional[sl].sum() / eq[eq > 0].sum()) if np.any(eq > 0) else 0.0,
                "long_lots": int(np.clip(position[sl], 0, None).sum()),
                "short_lots": int(-np.clip(position[sl], None, 0).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("population")
