"""How historic a move is: its size in daily volatilities, and the level it went back to.

Two figures, as a market report would put them:

- sigmas: the move's log return over the long-run daily volatility,
  ``ln(p_end / p_start) / (daily_vol * sqrt(days))`` (signed; ``days`` = 1
  gives "an n-sigma day"). Gold's crash of 30 January 2026, -9.8% on the day
  against a long-run 16% a year (about 1.0% a day), is about -10 sigma.
- returned_to: the last time before the move that the price was at or below
  the level the move reached (at or above for a rise): "back to where it was
  on 21 January". None if the price had never been there before in the series.

Daily volatility comes from an annualised one (``annual / sqrt(periods)``,
252 trading days by default; a simulation's year is 365 days of continuous
trading, so use ``periods=365`` there) or from a long series of daily closes
(the standard deviation of daily log returns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.analysis._common import (
    Time,
    as_series,
    as_time,
    check_fraction,
    elapsed_seconds,
    field_of,
    is_result,
    result_time,
)

TRADING_DAYS = 252
DAY = 86_400.0


@dataclass(frozen=True)
class HistoricMove:
    """A move from ``start`` to ``end`` put in historical context.

    start_price, end_price: price units at (or last before) ``start`` and ``end``.
    move: simple return ``end_price / start_price - 1``; log_move: its log.
    daily_vol: the daily volatility used (fraction per day); days: the
    horizon the volatility is scaled to; sigmas: ``log_move / (daily_vol *
    sqrt(days))``. returned_to: the last time before ``start`` at which the
    price was at or below ``end_price`` (at or above for a rise), None if never;
    returned_to_price: the price then; lookback_days: days from
    ``returned_to`` to ``start`` (NaN if never).
    """

    start: Any
    end: Any
    start_price: float
    end_price: float
    move: float
    log_move: float
    daily_vol: float
    days: float
    sigmas: float
    returned_to: Any
    returned_to_price: float
    lookback_days: float


def daily_volatility(
    closes: pd.Series | None = None,
    *,
    annual: float | None = None,
    periods: int = TRADING_DAYS,
) -> float:
    """Daily volatility (fraction per day), from ``annual`` or from daily ``closes``.

    annual: annualised volatility in (0, 5]; divided by ``sqrt(periods)``.
    closes: at least 20 daily closes (> 0); the sample standard deviation of
    their log returns. Give exactly one of them.
    """
    if (closes is None) == (annual is None):
        raise ValueError("closes, annual: give exactly one of them")
    if annual is not None:
        annual = check_fraction(annual, "annual", 0.0, 5.0)
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
            raise ValueError(f"periods: must be an int >= 1, got {periods!r}")
        return annual / math.sqrt(int(periods))
    c = as_series(closes, "closes", positive=True, min_len=20)
    r = np.diff(np.log(c.to_numpy()))
    return float(np.std(r, ddof=1))


def move_in_sigmas(move: float, daily_vol: float, *, days: float = 1.0) -> float:
    """A simple return ``move`` (e.g. -0.098) in units of daily volatility over ``days``.

    ``ln(1 + move) / (daily_vol * sqrt(days))``; move in (-1, 100], daily_vol
    in (0, 1], days in (0, 1e5].
    """
    move = check_fraction(move, "move", -1.0, 100.0)
    daily_vol = check_fraction(daily_vol, "daily_vol", 0.0, 1.0)
    days = check_fraction(days, "days", 0.0, 1e5)
    return math.log1p(move) / (daily_vol * math.sqrt(days))


def _at_or_before(p: pd.Series, t: Any) -> int:
    return int(p.index.searchsorted(t, side="right")) - 1


def returned_to(prices: pd.Series, start: Time, level: float, *, falling: bool = True) -> Any:
    """The last time strictly before ``start`` that the price was at or below ``level``.

    falling=False: at or above it (for a rise). None if never in the series.
    """
    p = as_series(prices, "prices", positive=True, min_len=1)
    t = as_time(p.index, start, "start")
    earlier = p[p.index < t]
    hit = earlier <= level if falling else earlier >= level
    if not hit.any():
        return None
    return earlier.index[np.flatnonzero(hit.to_numpy())[-1]]


def how_historic(
    prices: pd.Series | Any,
    start: Time,
    end: Time,
    *,
    daily_vol: float | None = None,
    annual_vol: float | None = None,
    closes: pd.Series | None = None,
    periods: int = TRADING_DAYS,
    days: float = 1.0,
    instrument: str | None = None,
    field: str = "last",
) -> HistoricMove:
    """The move from ``start`` to ``end`` in daily volatilities, and the level it went back to.

    prices: a price Series (DatetimeIndex of days, or seconds) or a ``Result``.
    The prices at ``start`` and ``end`` are the last observations at or before
    them. The volatility: ``daily_vol`` (fraction per day), or ``annual_vol``
    (with ``periods`` per year), or ``closes`` (daily closes); exactly one.
    days: the horizon in days the volatility is scaled to (1: a daily sigma).
    """
    if is_result(prices):
        start = result_time(prices, start, "start")
        end = result_time(prices, end, "end")
        prices = field_of(prices, instrument, field)
    p = as_series(prices, "prices", positive=True, min_len=2)
    t0 = as_time(p.index, start, "start")
    t1 = as_time(p.index, end, "end")
    if not t0 < t1:
        raise ValueError(f"start, end: start must be before end, got {start!r} and {end!r}")
    given = sum(x is not None for x in (daily_vol, annual_vol, closes))
    if given != 1:
        raise ValueError("daily_vol, annual_vol, closes: give exactly one of them")
    if daily_vol is not None:
        vol = check_fraction(daily_vol, "daily_vol", 0.0, 1.0)
    elif annual_vol is not None:
        vol = daily_volatility(annual=annual_vol, periods=periods)
    else:
        vol = daily_volatility(closes)
    i0, i1 = _at_or_before(p, t0), _at_or_before(p, t1)
    p0, p1 = float(p.iloc[i0]), float(p.iloc[i1])
    move = p1 / p0 - 1.0
    sigmas = move_in_sigmas(move, vol, days=days)
    back = returned_to(p, p.index[i0], p1, falling=p1 <= p0)
    if back is None:
        back_price, lookback = math.nan, math.nan
    else:
        back_price = float(p.loc[back])
        lookback = elapsed_seconds(p.index, back, p.index[i0]) / DAY
    return HistoricMove(
        start=t0,
        end=t1,
        start_price=p0,
        end_price=p1,
        move=move,
        log_move=math.log(p1 / p0),
        daily_vol=vol,
        days=float(days),
        sigmas=sigmas,
        returned_to=back,
        returned_to_price=back_price,
        lookback_days=lookback,
    )
