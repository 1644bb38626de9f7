"""The fair value of an instrument: a random walk with scheduled shocks.

Units: rates are annualised (a year is ``YEAR = 365 * 86400`` seconds), jumps
are in log units, prices in price units (not ticks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from deleverage import _core
from deleverage.scenario.distributions import (
    check_choice,
    check_float,
    check_instance,
    check_int,
    check_sequence,
    set_field,
)

#: Seconds in a year, the unit of every annualised rate.
YEAR = 365 * 86400

#: The largest step any schedule may name (the clock's own limit).
MAX_STEPS = 100_000_000

ShockKind = Literal["jump", "drift", "volatility"]
SHOCK_KINDS: tuple[str, ...] = ("jump", "drift", "volatility")
FundamentalKind = Literal["lognormal", "mean_reverting"]
FUNDAMENTAL_KINDS: tuple[str, ...] = ("lognormal", "mean_reverting")

MAX_DRIFT = 5.0
MAX_VOLATILITY = 5.0
MAX_JUMP = 10.0
MAX_REVERSION = 1e6
#: Stationary deviation of log volatility: 1.5 already gives 5-minute kurtosis near 10^4.
MAX_VOL_OF_VOL = 1.5
#: The longest half-life of volatility (seconds): ten years.
MAX_VOL_HALF_LIFE = 10 * YEAR
#: The share of the variance that may arrive as news, and the news items a day
#: (the engine's own limits).
NEWS_SHARE_LIMIT: tuple[float, float, bool, bool] = _core.LIMITS["FundamentalSpec.news_share"]
NEWS_RATE_LIMIT: tuple[float, float, bool, bool] = _core.LIMITS["FundamentalSpec.news_rate"]


@dataclass(frozen=True)
class Shock:
    """A scheduled change of the fair value's process, landing at ``step``.

    - ``jump``: the fair value is multiplied by ``exp(value)`` at ``step``
      (``value`` in log units, in [-10, 10]; e.g. -0.04 is a 3.9% drop).
    - ``drift``: the annualised drift becomes ``value`` (in [-5, 5]) from ``step`` on.
    - ``volatility``: the annualised volatility becomes ``value`` (in [0, 5]) from
      ``step`` on.
    """

    step: int
    kind: ShockKind
    value: float

    def __post_init__(self) -> None:
        set_field(self, "step", check_int("step", self.step, 0, MAX_STEPS - 1))
        kind = check_choice("kind", self.kind, SHOCK_KINDS)
        if kind == "jump":
            value = check_float("value", self.value, -MAX_JUMP, MAX_JUMP)
        elif kind == "drift":
            value = check_float("value", self.value, -MAX_DRIFT, MAX_DRIFT)
        else:
            value = check_float("value", self.value, 0.0, MAX_VOLATILITY)
        set_field(self, "value", value)


@dataclass(frozen=True)
class Waypoint:
    """A level the fair value reaches at ``step`` (in [0, 1e8)): ``price`` (> 0,
    at most 1e15, price units), before any jump scheduled at that same step."""

    step: int
    price: float

    def __post_init__(self) -> None:
        set_field(self, "step", check_int("step", self.step, 0, MAX_STEPS - 1))
        set_field(self, "price", check_float("price", self.price, 0.0, 1e15, lo_open=True))


@dataclass(frozen=True)
class Fundamental:
    """The fair-value process of an instrument.

    - ``lognormal``: geometric Brownian motion with annualised ``drift`` (in
      [-5, 5]) and ``volatility`` (in [0, 5]); ``reversion`` must stay 0 and
      ``anchor`` None.
    - ``mean_reverting``: the log fair value reverts to ``log(anchor)`` at the
      annualised rate ``reversion`` (> 0, at most 1e6), plus ``drift`` and
      ``volatility`` as above; ``anchor`` is a price (> 0), None meaning the
      instrument's start price.

    ``vol_of_vol`` (in [0, 1.5]; 0, the default, keeps the volatility
    constant) makes the volatility stochastic, as news arrives in clusters:
    ``volatility * exp(x - vol_of_vol**2)``, with ``x`` a Gaussian AR(1) of
    stationary standard deviation ``vol_of_vol`` whose deviations halve in
    ``vol_half_life`` seconds (> 0, at most ten years). The mean variance stays
    ``volatility**2``; returns get fat tails (excess kurtosis
    ``3 (exp(4 vol_of_vol**2) - 1)`` over horizons well inside the half-life)
    and their absolute values are autocorrelated over about the half-life.
    Volatility shocks set the level ``volatility``.

    ``news_share`` (in [0, 0.95]; 0, the default, has none) of the variance
    arrives as news: items landing at Poisson times, ``news_rate`` a day on
    average (> 0, at most 10,000), each moving the log value by a Gaussian of
    variance ``news_share * volatility**2 / (365 * news_rate)``; the diffusion
    keeps ``1 - news_share`` of the variance, so ``volatility`` stays the
    total. The rate is scaled by the stochastic variance's multiple
    ``exp(2 (x - vol_of_vol**2))``: busy markets have more news, and the news
    keeps the volatility's clusters. Over horizons well inside the half-life a
    return of ``n`` expected items at the mean volatility has excess kurtosis
    ``3 (exp(4 vol_of_vol**2) - 1) + 3 news_share**2 / n``: tails that fade
    as the horizon holds more items. News is independent across instruments
    (``correlation`` ties the diffusions). Above 500 expected items in one
    step the count is its mean.

    ``shocks`` are sorted by step (several may share a step; they land in order).

    ``waypoints`` (strictly increasing steps) pin the path to the levels a story
    documents, while it keeps its local volatility: up to each waypoint the log
    fair value is a Brownian bridge to it (each step takes ``1/n`` of the gap
    to a waypoint ``n`` steps ahead, with ``(n-1)/n`` of the step's variance),
    so it passes through every waypoint exactly, whatever the seed. Drift and
    reversion apply only after the last waypoint; volatility shocks and
    ``vol_of_vol`` act throughout; a jump between two waypoints is absorbed by
    the next one (its level is the waypoint's), and a jump at a waypoint's step
    lands after it. A waypoint past the end of the run still shapes the path
    up to the end, so a shortened run replays the same path.

    ``path``: a table (CSV or Parquet: ``time``, ``price``; docs/data.md) the
    fair value follows instead of the process: the price at each step is the
    table's, interpolated onto the clock, times ``exp`` of the jumps landed so
    far (jumps still apply on top; drift and volatility shocks and waypoints
    have no meaning then and are refused; ``volatility`` remains the prior of
    the realized volatility the traders start from). ``index_path``: a table of
    the same form for the index of other venues the mark rule reads (left out:
    the fair value), jumps on top too. A relative file name is relative to the
    current folder, or, in a TOML file, to the file's folder.
    """

    kind: FundamentalKind = "lognormal"
    drift: float = 0.0
    volatility: float = 0.16
    reversion: float = 0.0
    anchor: float | None = None
    shocks: tuple[Shock, ...] = ()
    vol_of_vol: float = 0.0
    vol_half_life: float = 86400.0
    news_share: float = 0.0
    news_rate: float = 24.0
    waypoints: tuple[Waypoint, ...] = ()
    path: str | None = None
    index_path: str | None = None

    def __post_init__(self) -> None:
        kind = check_choice("kind", self.kind, FUNDAMENTAL_KINDS)
        set_field(self, "drift", check_float("drift", self.drift, -MAX_DRIFT, MAX_DRIFT))
        set_field(
            self, "volatility", check_float("volatility", self.volatility, 0.0, MAX_VOLATILITY)
        )
        if kind == "mean_reverting":
            reversion = check_float("reversion", self.reversion, 0.0, MAX_REVERSION, lo_open=True)
            if self.anchor is not None:
                set_field(
                    self, "anchor", check_float("anchor", self.anchor, 0.0, 1e15, lo_open=True)
                )
        else:
            reversion = check_float("reversion", self.reversion, 0.0, MAX_REVERSION)
            if reversion != 0.0:
                raise ValueError(
                    f"reversion: only used by mean_reverting (must stay 0.0 for {kind}), "
                    f"got {reversion}"
                )
            if self.anchor is not None:
                raise ValueError(
                    f"anchor: only used by mean_reverting (must stay None for {kind}), "
                    f"got {self.anchor!r}"
                )
        set_field(self, "reversion", reversion)
        set_field(
            self, "vol_of_vol", check_float("vol_of_vol", self.vol_of_vol, 0.0, MAX_VOL_OF_VOL)
        )
        set_field(
            self,
            "vol_half_life",
            check_float("vol_half_life", self.vol_half_life, 0.0, MAX_VOL_HALF_LIFE, lo_open=True),
        )
        for name, limit in (("news_share", NEWS_SHARE_LIMIT), ("news_rate", NEWS_RATE_LIMIT)):
            lo, hi, lo_open, hi_open = limit
            value = check_float(name, getattr(self, name), lo, hi, lo_open=lo_open, hi_open=hi_open)
            set_field(self, name, value)
        shocks = check_sequence("shocks", self.shocks)
        for i, s in enumerate(shocks):
            check_instance(f"shocks[{i}]", s, Shock)
            if i and s.step < shocks[i - 1].step:
                raise ValueError(
                    f"shocks: must be sorted by step, got step {s.step} after {shocks[i - 1].step} "
                    f"(shocks[{i}])"
                )
        set_field(self, "shocks", shocks)
        waypoints = check_sequence("waypoints", self.waypoints)
        for i, w in enumerate(waypoints):
            check_instance(f"waypoints[{i}]", w, Waypoint)
            if i and w.step <= waypoints[i - 1].step:
                raise ValueError(
                    f"waypoints: steps must strictly increase, got step {w.step} after "
                    f"{waypoints[i - 1].step} (waypoints[{i}])"
                )
        set_field(self, "waypoints", waypoints)
        for name in ("path", "index_path"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str) or not value:
                raise TypeError(f"{name}: must be a file name (a non-empty string), got {value!r}")
            set_field(self, name, value)
        if self.path is not None:
            if waypoints:
                raise ValueError(
                    "waypoints: a fair value that follows a path has none "
                    "(the path gives every level)"
                )
            if self.news_share > 0.0:
                raise ValueError(
                    "news_share: a fair value that follows a path has no news of its own "
                    f"(must stay 0.0), got {self.news_share}"
                )
            for i, s in enumerate(shocks):
                if s.kind != "jump":
                    raise ValueError(
                        f"shocks[{i}].kind: a fair value that follows a path takes only jumps, "
                        f"got {s.kind}"
                    )

    def anchor_for(self, start_price: float) -> float:
        """The price level a mean-reverting fundamental reverts to (default: the start price)."""
        return start_price if self.anchor is None else self.anchor
