"""What a scenario's market must look like: the targets ``deleverage validate`` checks.

A ``Target`` names one figure of a run, where to measure it and the range it
must fall in, in at least a share of the seeds. The figure is one of:

- a stylized fact of one instrument's market (``MARKET_FACTS``), measured over
  a window (the scenario's quiet window by default) at a return horizon;
- ``run.<key>``: a headline figure of ``Result.metrics()`` (``run.max_drawdown``);
- ``episode.<key>``: a crash-day figure of ``analysis.episode_metrics`` (the
  scenario must declare an episode), e.g. ``episode.crash_day_return``;
- ``crash.<key>``: a figure of ``analysis.crash_figures`` around the first
  shock, e.g. ``crash.low_fall``.

In TOML, an array of tables::

    [[targets]]
    fact = "return_acf_1"       # lag-1 autocorrelation of returns
    instrument = "GOLD"         # default: the first instrument
    horizon = 300               # seconds (market facts only)
    range = [-0.1, 0.1]
    share = 0.875               # of the seeds that must pass (7 of 8)

Calibration also reads ``value`` (the point to aim at, when there is one) and
``weight`` (its weight in the loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from deleverage.scenario.distributions import check_float, check_sequence, check_str, set_field

__all__ = [
    "FACT_PREFIXES",
    "MARKET_FACTS",
    "MAX_HORIZON",
    "STEP_FACTS",
    "VALUE_FACTS",
    "Target",
    "fact_kind",
]

#: The longest return horizon a fact is measured at (seconds): a week.
MAX_HORIZON = 7 * 86400.0

#: The stylized facts of an instrument's market, with what each measures. Facts
#: of returns are measured on non-overlapping log returns of the last trade
#: price at the target's horizon; the others on every step of the window.
MARKET_FACTS: dict[str, str] = {
    "daily_vol": "standard deviation of horizon returns, scaled to a day (sqrt(86400 / horizon))",
    "fair_daily_vol": "the same of the fair value, over the same window",
    "vol_ratio": "daily_vol / fair_daily_vol: how much more the price wanders than its value",
    "return_acf_1": "autocorrelation of returns at lag 1 (bid-ask bounce < 0, trend > 0)",
    "return_acf_2": "autocorrelation of returns at lag 2",
    "return_acf_3": "autocorrelation of returns at lag 3",
    "return_acf_5": "autocorrelation of returns at lag 5",
    "abs_acf_1": "autocorrelation of absolute returns at lag 1 (volatility clustering)",
    "abs_acf_12": "autocorrelation of absolute returns at lag 12",
    "abs_acf_72": "autocorrelation of absolute returns at lag 72 (slow decay)",
    "kurtosis": "excess kurtosis of returns (0 for a Gaussian)",
    "kurtosis_fade": "kurtosis at the horizon minus kurtosis at 12 times it (aggregation)",
    "hill": "Hill tail index of |returns| from the largest 5% (NaN if too few)",
    "spread_bps": "median quoted spread over the mid, basis points (steps with both sides)",
    "one_sided": "share of the steps with a side of the book empty (no quoted spread)",
    "depth": "median depth within 1% of the mid, both sides, lots",
    "mispricing": "median |last / fair - 1|",
    "volume_abs_corr": "correlation of the volume traded in each horizon with |return|",
    "leverage_effect": "correlation of a return with the mean |return| over the next 12",
}

#: Market facts measured on every step of the window, whatever the horizon.
STEP_FACTS: frozenset[str] = frozenset({"spread_bps", "one_sided", "depth", "mispricing"})

#: Market facts of returns alone, which a fair value's own path has too: measured
#: on it the same way, in the same window, they show what a market whose price is
#: its value would meet there (``validate``'s ``value_passed``).
VALUE_FACTS: frozenset[str] = frozenset(
    {
        "daily_vol",
        "return_acf_1",
        "return_acf_2",
        "return_acf_3",
        "return_acf_5",
        "abs_acf_1",
        "abs_acf_12",
        "abs_acf_72",
        "kurtosis",
        "kurtosis_fade",
        "hill",
        "leverage_effect",
    }
)

#: The causes a target's figure may be measured against (``Target.against``):
#: the built-in counterfactual factors (``deleverage.counterfactuals.FACTORS``).
COUNTERFACTUAL_CAUSES: tuple[str, ...] = (
    "leverage",
    "dealers",
    "dealers_in_crash",
    "arbitrage",
    "news",
    "margin_hikes",
    "cross_margin",
    "dealer_budgets",
    "population_changes",
)

#: Prefixes of the figures that are not market facts.
FACT_PREFIXES: tuple[str, ...] = ("run.", "episode.", "crash.")


def fact_kind(fact: str) -> str:
    """``market``, ``run``, ``episode`` or ``crash``; ValueError naming the valid names."""
    if fact in MARKET_FACTS:
        return "market"
    for prefix in FACT_PREFIXES:
        if fact.startswith(prefix) and len(fact) > len(prefix):
            return prefix[:-1]
    raise ValueError(
        f"fact: unknown fact {fact!r}; one of {', '.join(MARKET_FACTS)}, or a figure as "
        "run.<key>, episode.<key> or crash.<key>"
    )


@dataclass(frozen=True)
class Target:
    """One figure of a run, its window, and the range it should fall in.

    ``fact``: a name of ``MARKET_FACTS`` or ``run.`` / ``episode.`` / ``crash.``
    and a key. ``instrument``: empty for the scenario's first. ``horizon``:
    the return horizon (seconds, in (0, one week]), a whole number of clock
    steps (checked by the scenario). ``window``: empty for the scenario's
    quiet window, else ``[start, end]`` in seconds from the start (``end`` may
    be ``inf``: to the end of the run). ``range``: ``[low, high]`` (either may
    be infinite; empty when the target only has a ``value``). ``value``: the
    point a calibration aims at (None: the range's middle, or its finite
    bound). ``share``: of the seeds whose figure must lie in the range, in (0,
    1]. ``weight``: in a calibration's loss, >= 0. ``note``: free text, e.g.
    where the range comes from. ``against``: empty, or a cause of
    ``COUNTERFACTUAL_CAUSES``: the figure is then the run's less the same
    figure of the same seed's world without that cause (its counterfactual,
    ``deleverage.counterfactuals``), so a target can ask that a crash's
    overshoot be the leverage's, not only that it happen.
    """

    fact: str
    instrument: str = ""
    horizon: float = 300.0
    window: tuple[float, ...] = ()
    range: tuple[float, ...] = ()
    value: float | None = None
    share: float = 0.875
    weight: float = 1.0
    note: str = ""
    against: str = ""

    # Written to TOML with only the fields that differ from their defaults.
    __toml_omit_defaults__ = True

    def __post_init__(self) -> None:
        fact_kind(check_str("fact", self.fact))
        check_str("instrument", self.instrument, nonempty=False)
        check_str("note", self.note, nonempty=False)
        set_field(
            self, "horizon", check_float("horizon", self.horizon, 0.0, MAX_HORIZON, lo_open=True)
        )
        window = check_sequence("window", self.window)
        if window:
            if len(window) != 2:
                raise ValueError(f"window: must be [start, end] seconds or empty, got {window!r}")
            start = check_float("window[0]", window[0], 0.0, 1e15)
            end = check_float("window[1]", window[1], 0.0, math.inf, allow_inf=True)
            if not end > start:
                raise ValueError(f"window[1]: must be > window[0] ({start}), got {end}")
            window = (start, end)
        set_field(self, "window", window)
        bounds = check_sequence("range", self.range)
        if bounds:
            if len(bounds) != 2:
                raise ValueError(f"range: must be [low, high] or empty, got {bounds!r}")
            low = check_float("range[0]", bounds[0], allow_inf=True)
            high = check_float("range[1]", bounds[1], allow_inf=True)
            if high < low:
                raise ValueError(f"range[1]: must be >= range[0] ({low}), got {high}")
            if math.isinf(low) and math.isinf(high):
                raise ValueError("range: at least one bound must be finite, got [-inf, inf]")
            bounds = (low, high)
        set_field(self, "range", bounds)
        if self.value is not None:
            set_field(self, "value", check_float("value", self.value))
        if not bounds and self.value is None:
            raise ValueError(f"range: target {self.fact!r} needs a range or a value, got neither")
        set_field(self, "share", check_float("share", self.share, 0.0, 1.0, lo_open=True))
        set_field(self, "weight", check_float("weight", self.weight, 0.0, 1e6))
        check_str("against", self.against, nonempty=False)
        if self.against and self.against not in COUNTERFACTUAL_CAUSES:
            raise ValueError(
                f"against: must be empty or one of {', '.join(COUNTERFACTUAL_CAUSES)}, "
                f"got {self.against!r}"
            )

    @property
    def kind(self) -> str:
        """``market``, ``run``, ``episode`` or ``crash``."""
        return fact_kind(self.fact)

    @property
    def key(self) -> str:
        """The figure's key without its prefix (the fact itself for market facts)."""
        kind = self.kind
        return self.fact if kind == "market" else self.fact[len(kind) + 1 :]

    @property
    def aim(self) -> float:
        """The point a calibration aims at: ``value``, else the range's middle or finite bound."""
        if self.value is not None:
            return self.value
        low, high = self.range
        if math.isinf(low):
            return high
        if math.isinf(high):
            return low
        return 0.5 * (low + high)

    def contains(self, x: float) -> bool | None:
        """Whether ``x`` lies in the range (None without a range; False for NaN)."""
        if not self.range:
            return None
        return bool(self.range[0] <= x <= self.range[1])

    def distance(self, x: float) -> float:
        """How far ``x`` is from the target: from ``value`` if given, else outside the range."""
        if self.value is not None:
            return abs(x - self.value)
        low, high = self.range
        return max(low - x, 0.0, x - high)

    def label(self, instrument: str) -> str:
        """A short label: ``GOLD return_acf_1 @300s`` (the horizon for market facts only)."""
        where = f"{instrument} " if instrument else ""
        at = f" @{self.horizon:g}s" if self.kind == "market" and self.fact not in STEP_FACTS else ""
        span = ""
        if self.window:
            # Whole seconds in full (a month is 2764800, not 2.7648e+06).
            span = f" [{self.window[0]:.15g}, {self.window[1]:.15g}]"
        versus = f" vs no {self.against}" if self.against else ""
        return f"{where}{self.fact}{at}{span}{versus}"
