"""How much of a move forced selling explains: signed flow and Kyle's lambda.

From a trade log (``Result.trades``: time, instrument, qty, aggressor,
liquidation), the signed order flow of a step is the volume bought by takers
minus the volume sold by takers (lots; a taker that sold counts negative).
Liquidation trades, whose taker is a liquidation order, make the forced flow:
long positions closed by forced sales count negative.

The price impact coefficient lambda (Kyle) is the OLS slope of price changes
on signed flow over the whole run, both over non-overlapping blocks of
``horizon`` steps::

    p[t] - p[t - h] = alpha + lambda * (flow over (t - h, t]) + e

lambda is in price units per lot. The move attributable to forced selling
between ``start`` and ``end`` is ``lambda * forced flow over (start, end]``
(price units), and its share of the total move ``p[end] - p[start]``.

This is a linear, permanent-impact reading: lambda is the average impact of
a lot over the run, while forced orders arrive when the book is thin, so
their own impact is likely higher; the share is best read as an estimate of
order of magnitude, and can exceed 1 when other flow pushed the other way.
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
    check_int,
    is_result,
    result_time,
    same_index,
)

TRADE_COLUMNS = ("time", "instrument", "qty", "aggressor", "liquidation")


@dataclass(frozen=True)
class PriceImpact:
    """OLS of price changes on signed flow.

    lam: lambda, price units per lot. lam_se: its standard error (classical
    OLS). intercept: price units per block. r2: share of the variance of price
    changes explained by flow. n: blocks used.
    """

    lam: float
    lam_se: float
    intercept: float
    r2: float
    n: int


def _check_trades(trades: object) -> pd.DataFrame:
    if not isinstance(trades, pd.DataFrame):
        raise TypeError(f"trades: must be a pandas DataFrame, got {type(trades).__name__}")
    missing = [c for c in TRADE_COLUMNS if c not in trades.columns]
    if missing:
        raise ValueError(f"trades: missing columns {missing} (needs {list(TRADE_COLUMNS)})")
    bad = set(pd.unique(trades["aggressor"])) - {"buy", "sell"}
    if bad:
        raise ValueError(f"trades: aggressor must be 'buy' or 'sell', got {sorted(map(str, bad))}")
    if len(trades) and (trades["qty"].to_numpy() <= 0).any():
        raise ValueError("trades: qty must be > 0")
    return trades


def signed_flow(
    trades: pd.DataFrame,
    index: pd.Index,
    *,
    instruments: list[str] | None = None,
    liquidation: bool | None = None,
) -> pd.DataFrame:
    """Net signed taker volume per step and instrument (lots), on the time grid ``index``.

    Each trade goes to the first time of ``index`` at or after it (the step
    whose record includes it). liquidation: None counts every trade, True only
    liquidation trades (the forced flow), False only the others. Columns:
    ``instruments`` (default: those in the trade log, sorted); steps without
    trades hold 0.
    """
    t = _check_trades(trades)
    if not isinstance(index, pd.Index) or len(index) == 0:
        raise ValueError("index: must be a non-empty pandas Index of times")
    names = instruments
    if names is None:
        names = sorted(map(str, pd.unique(t["instrument"])))
    if liquidation is not None:
        t = t[t["liquidation"].to_numpy(bool) == liquidation]
    out = pd.DataFrame(0.0, index=index, columns=pd.Index(names, name="instrument"))
    if len(t) == 0:
        return out
    pos = index.searchsorted(t["time"].to_numpy(), side="left")
    if (pos >= len(index)).any():
        raise ValueError(f"trades: has trades after the last time of index ({index[-1]})")
    sign = np.where(t["aggressor"].to_numpy() == "buy", 1.0, -1.0)
    signed = sign * t["qty"].to_numpy(np.float64)
    for name in names:
        mine = (t["instrument"] == name).to_numpy()
        out[name] = np.bincount(pos[mine], weights=signed[mine], minlength=len(index))
    return out


def price_impact(prices: pd.Series, flow: pd.Series, *, horizon: int = 1) -> PriceImpact:
    """Kyle's lambda: OLS slope of ``horizon``-step price changes on the flow over each block.

    prices and flow share one index; prices in price units, flow in lots.
    """
    p = as_series(prices, "prices", positive=True, min_len=4)
    f = as_series(flow, "flow", min_len=4)
    same_index(p, f, "prices, flow")
    h = check_int(horizon, "horizon", 1, len(p) // 3)
    dp = np.diff(p.to_numpy()[::h])
    df = np.diff(np.cumsum(f.to_numpy())[::h])
    n = len(dp)
    if n < 3:
        raise ValueError(f"horizon: leaves fewer than 3 blocks ({n})")
    x = df - df.mean()
    sxx = float(x @ x)
    if sxx == 0.0:
        raise ValueError("flow: is constant over the blocks, lambda is undefined")
    lam = float(x @ (dp - dp.mean())) / sxx
    intercept = float(dp.mean() - lam * df.mean())
    resid = dp - intercept - lam * df
    sst = float(((dp - dp.mean()) ** 2).sum())
    sse = float(resid @ resid)
    se = math.sqrt(sse / (n - 2) / sxx) if n > 2 else math.nan
    r2 = 1.0 - sse / sst if sst > 0 else math.nan
    return PriceImpact(lam=lam, lam_se=se, intercept=intercept, r2=r2, n=n)


def forced_selling_attribution(
    prices: pd.DataFrame | pd.Series | Any,
    trades: pd.DataFrame | None = None,
    *,
    start: Time | None = None,
    end: Time | None = None,
    horizon: int = 1,
    field: str = "mid",
) -> pd.DataFrame:
    """The part of each instrument's move from ``start`` to ``end`` due to forced flow.

    prices: a ``Result`` run with ``trade_log=True`` (its ``field`` prices, the
    mid by default, and its trade log), or a DataFrame of prices (time x
    instrument) or a Series named after its instrument, with ``trades``.
    start, end: the window of the move (default: the whole series); prices
    are the last observations at or before them.

    One row per instrument: lam, lam_se, r2 (the impact regression over the
    whole series), forced_flow (net liquidation flow in (start, end], lots),
    total_flow (all trades), forced_move (``lam * forced_flow``, price
    units), total_move (``p[end] - p[start]``), forced_share
    (``forced_move / total_move``, NaN if the price did not move),
    forced_return (``forced_move / p[start]``).
    """
    if is_result(prices):
        result = prices
        start = result_time(result, start, "start")
        end = result_time(result, end, "end")
        if trades is None:
            trades = result.trades
            if trades is None:
                raise ValueError(
                    "prices: this Result has no trade log; run simulate(..., trade_log=True)"
                )
        names = [str(n) for n in result.series.columns.get_level_values(0).unique()]
        frame = pd.DataFrame({n: result.series[(n, field)] for n in names})
    elif isinstance(prices, pd.Series):
        if prices.name is None:
            raise ValueError("prices: a Series must be named after its instrument")
        frame = prices.to_frame()
    elif isinstance(prices, pd.DataFrame):
        frame = prices
    else:
        raise TypeError(
            f"prices: must be a Result, DataFrame or Series, got {type(prices).__name__}"
        )
    if trades is None:
        raise ValueError("trades: the trade log is required with a DataFrame of prices")
    names = [str(c) for c in frame.columns]
    frame = frame.set_axis(names, axis=1)
    for c in names:
        as_series(frame[c], f"prices[{c!r}]", positive=True, min_len=4)
    unknown = set(map(str, pd.unique(_check_trades(trades)["instrument"]))) - set(names)
    if unknown:
        raise ValueError(f"trades: instruments {sorted(unknown)} have no prices (have {names})")
    idx = frame.index
    i0 = 0 if start is None else int(idx.searchsorted(as_time(idx, start, "start"), "right")) - 1
    i1 = len(idx) - 1
    if end is not None:
        i1 = int(idx.searchsorted(as_time(idx, end, "end"), "right")) - 1
    if not i0 < i1:
        raise ValueError(f"start, end: start must be before end, got {start!r} and {end!r}")
    total = signed_flow(trades, idx, instruments=names)
    forced = signed_flow(trades, idx, instruments=names, liquidation=True)
    window = slice(i0 + 1, i1 + 1)
    rows = {}
    for name in names:
        p = frame[name]
        imp = price_impact(p, total[name], horizon=horizon)
        forced_flow = float(forced[name].iloc[window].sum())
        move = float(p.iloc[i1] - p.iloc[i0])
        forced_move = imp.lam * forced_flow
        rows[name] = {
            "lam": imp.lam,
            "lam_se": imp.lam_se,
            "r2": imp.r2,
            "forced_flow": forced_flow,
            "total_flow": float(total[name].iloc[window].sum()),
            "forced_move": forced_move,
            "total_move": move,
            "forced_share": forced_move / move if move != 0 else math.nan,
            "forced_return": forced_move / float(p.iloc[i0]),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "instrument"
    return out
