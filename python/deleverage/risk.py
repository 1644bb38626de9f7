"""What a risk team reads first: the insurance fund, auto-deleveraging, bad debt.

Every figure comes from the engine's own ledger: the per-step records the
simulation writes (the fund's cash after each step, the ADL closes and the
bad debt of each instrument, the accounts found bankrupt) and its liquidation
log; none is rebuilt from prices in Python.

- insurance fund: its cash at the start, its lowest, at the end, and its
  drawdown (the largest fall from its running peak, as a fraction of that peak);
- ADL: the auto-deleveraging closes (events), the distinct opposite accounts
  they reduced, and the notional closed at the bankruptcy price;
- bad debt: the money lost past zero by accounts under negative-balance
  protection, absorbed by the venue, by instrument and in all;
- bankrupt accounts: accounts whose equity was below zero when their
  liquidation began.

``venue_metrics`` and ``instrument_metrics`` work on plain arrays, so that
``Result.metrics`` and a sweep's ``simulation_metrics`` give the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from collections.abc import Sequence

    from deleverage.result import Result
    from deleverage.scenario import Scenario

__all__ = [
    "INSTRUMENT_KEYS",
    "VENUE_KEYS",
    "RiskFigures",
    "instrument_metrics",
    "risk_figures",
    "risk_table",
    "venue_fund",
    "venue_metrics",
]

#: The venue-wide figures ``Result.metrics`` carries (the same for every instrument).
VENUE_KEYS: tuple[str, ...] = (
    "insurance_fund_start",
    "insurance_fund_low",
    "insurance_fund_end",
    "insurance_fund_drawdown",
    "bad_debt_total",
    "bankrupt_accounts",
)
#: The per-instrument figures ``Result.metrics(instrument)`` carries.
INSTRUMENT_KEYS: tuple[str, ...] = ("adl_events", "adl_accounts", "adl_notional", "bad_debt")


def venue_metrics(
    *, fund_start: float, fund: np.ndarray, bad_debt: float, bankrupt: float
) -> dict[str, float | int]:
    """The venue's figures from the fund's cash after each step (``fund``), its
    cash at the start, the bad debt of every instrument together and the count
    of bankrupt accounts at the end."""
    path = np.concatenate([[float(fund_start)], np.asarray(fund, dtype=np.float64)])
    peak = np.maximum.accumulate(path)
    with np.errstate(divide="ignore", invalid="ignore"):
        fall = np.where(peak > 0, (peak - path) / peak, 0.0)
    return {
        "insurance_fund_start": float(fund_start),
        "insurance_fund_low": float(path.min()),
        "insurance_fund_end": float(path[-1]),
        "insurance_fund_drawdown": float(np.nanmax(fall)),
        "bad_debt_total": float(bad_debt),
        "bankrupt_accounts": int(bankrupt) if math.isfinite(bankrupt) else 0,
    }


def instrument_metrics(
    *,
    adl: np.ndarray,
    adl_notional: np.ndarray,
    victims: np.ndarray,
    bad_debt: np.ndarray,
) -> dict[str, float | int]:
    """One instrument's figures from its per-step ADL events and ADL notional,
    the account ids of its ADL victims' closes (the log's ``adl_victim`` rows)
    and its cumulative bad debt per step."""
    debt = np.asarray(bad_debt, dtype=np.float64)
    return {
        "adl_events": int(np.nansum(adl)),
        "adl_accounts": int(np.unique(np.asarray(victims)).size),
        "adl_notional": float(np.nansum(adl_notional)),
        "bad_debt": float(debt[-1]) if debt.size else 0.0,
    }


def _instrument_frame(result: Result, instrument: str) -> pd.DataFrame:
    """One instrument's columns of ``result.series`` (its columns are (instrument, field))."""
    return cast(pd.DataFrame, result.series[instrument])


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A series column, or NaNs for a result saved before the engine recorded it."""
    if name in frame.columns:
        return np.asarray(frame[name].to_numpy(dtype=np.float64), dtype=np.float64)
    return np.full(len(frame), math.nan)


def _victims(result: Result, instrument: str) -> np.ndarray:
    liq = result.liquidations
    if not len(liq):
        return np.zeros(0, dtype=np.int64)
    mine = (liq["instrument"] == instrument) & (liq["kind"] == "adl_victim")
    return np.asarray(liq.loc[mine, "account"].to_numpy(), dtype=np.int64)


def venue_fund(scenario: Scenario, cash: Sequence[np.ndarray]) -> tuple[float, np.ndarray]:
    """The venue's insurance money at the start and after each step, from each
    instrument's recorded ``insurance_fund`` (``cash``, in the scenario's
    instrument order): the cash of the fund that serves it. The venue's fund
    is read off any instrument that shares it; an instrument with a fund of
    its own (``InstrumentSpec.insurance_fund``) adds that fund's. The
    recorded ``fund_equity`` columns add up the same way (a fund that serves
    no instrument holds no position, so its equity is its starting cash)."""
    own = [inst.insurance_fund for inst in scenario.instruments]
    columns = [np.asarray(c, dtype=np.float64) for c in cash]
    shared = [k for k, f in enumerate(own) if f is None]
    n = len(columns[0]) if columns else 0
    total = columns[shared[0]].copy() if shared else np.full(n, scenario.insurance_fund)
    start = scenario.insurance_fund
    for k, f in enumerate(own):
        if f is not None:
            total += columns[k]
            start += f
    return start, total


def _venue_fund(result: Result) -> tuple[float, np.ndarray]:
    names = [inst.name for inst in result.scenario.instruments]
    cash = [_column(_instrument_frame(result, n), "insurance_fund") for n in names]
    return venue_fund(result.scenario, cash)


def result_venue_metrics(result: Result) -> dict[str, float | int]:
    """``venue_metrics`` of a ``Result``."""
    names = [inst.name for inst in result.scenario.instruments]
    first = _instrument_frame(result, names[0])
    debt = [_column(_instrument_frame(result, n), "bad_debt") for n in names]
    bankrupt = _column(first, "bankrupt")
    fund_start, fund = _venue_fund(result)
    return venue_metrics(
        fund_start=fund_start,
        fund=fund,
        bad_debt=float(sum(d[-1] if d.size else 0.0 for d in debt)),
        bankrupt=float(bankrupt[-1]) if bankrupt.size else 0.0,
    )


def result_instrument_metrics(result: Result, instrument: str) -> dict[str, float | int]:
    """``instrument_metrics`` of one instrument of a ``Result``."""
    s = _instrument_frame(result, instrument)
    return instrument_metrics(
        adl=s["adl"].to_numpy(dtype=np.float64),
        adl_notional=_column(s, "adl_notional"),
        victims=_victims(result, instrument),
        bad_debt=_column(s, "bad_debt"),
    )


@dataclass(frozen=True)
class RiskFigures:
    """The venue's answers after a run (see the module's docstring).

    fund_low_time: when the fund was lowest (seconds from the start, dated run
    or not; 0 if it never fell below its start). bad_debt_by_instrument: instrument -> money.
    """

    fund_start: float
    fund_low: float
    fund_low_time: float
    fund_end: float
    fund_drawdown: float
    adl_events: int
    adl_accounts: int
    adl_notional: float
    bad_debt: float
    bad_debt_by_instrument: dict[str, float]
    bankrupt_accounts: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def risk_figures(result: Result) -> RiskFigures:
    """The fund, ADL, bad debt and bankrupt accounts of a run (``Result.risk()``)."""
    names = [inst.name for inst in result.scenario.instruments]
    venue = result_venue_metrics(result)
    per = {n: result_instrument_metrics(result, n) for n in names}
    fund_start, fund = _venue_fund(result)
    low_time = 0.0
    if len(fund) and float(fund.min()) < fund_start:
        from deleverage.dates import run_start, seconds_of

        low = result.series[names[0]].index[[int(np.argmin(fund))]]
        low_time = float(seconds_of(low, run_start(result))[0])
    liq = result.liquidations
    victims = int(liq.loc[liq["kind"] == "adl_victim", "account"].nunique()) if len(liq) else 0
    return RiskFigures(
        fund_start=float(venue["insurance_fund_start"]),
        fund_low=float(venue["insurance_fund_low"]),
        fund_low_time=low_time,
        fund_end=float(venue["insurance_fund_end"]),
        fund_drawdown=float(venue["insurance_fund_drawdown"]),
        adl_events=int(sum(int(m["adl_events"]) for m in per.values())),
        adl_accounts=victims,
        adl_notional=float(sum(float(m["adl_notional"]) for m in per.values())),
        bad_debt=float(venue["bad_debt_total"]),
        bad_debt_by_instrument={n: float(m["bad_debt"]) for n, m in per.items()},
        bankrupt_accounts=int(venue["bankrupt_accounts"]),
    )


def risk_table(result: Result) -> pd.DataFrame:
    """One row per instrument: accounts liquidated, liquidated notional, the
    notional the fund took over, ADL events, accounts and notional, bad debt,
    and the fund that serves it (the venue's, or its own): its cash at its
    lowest and its equity at its lowest (under zero: it ran dry; NaN for a
    result saved before the engine recorded it)."""
    liq = result.liquidations
    rows = []
    for inst in result.scenario.instruments:
        frame = _instrument_frame(result, inst.name)
        m = result_instrument_metrics(result, inst.name)
        takeover = 0.0
        notional = 0.0
        if len(liq):
            mine = liq["instrument"] == inst.name
            notional = float(liq.loc[mine & (liq["kind"] != "adl_victim"), "notional"].sum())
            takeover = float(liq.loc[mine & (liq["kind"] == "takeover"), "notional"].sum())
        rows.append(
            {
                "instrument": inst.name,
                "liquidated_accounts": int(
                    (frame["liquidated_long"] + frame["liquidated_short"]).sum()
                ),
                "liquidated_notional": notional,
                "fund_takeover_notional": takeover,
                **m,
                "fund_cash_low": float(_column(frame, "insurance_fund").min(initial=math.inf)),
                "fund_equity_low": float(_column(frame, "fund_equity").min(initial=math.inf)),
            }
        )
    return pd.DataFrame(rows).set_index("instrument")
