"""The analysis functions on real runs of the default-hour preset."""

from __future__ import annotations

import dataclasses as dc
import math

import numpy as np
import pandas as pd
import pytest

from deleverage import analysis as A
from deleverage.result import Result
from deleverage.scenario import Distribution, Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

SHOCK = 1800.0  # the default-hour preset's jump, seconds


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_preset("default-hour")


@pytest.fixture(scope="module")
def run(base: Scenario) -> Result:
    return simulate(base, 1, trade_log=True)


def _capped(base: Scenario) -> Scenario:
    """The default-hour world with the speculators held to 1x: no leverage, no cascade."""
    spec = base.populations[0]
    params = dc.replace(spec.params, target_leverage=Distribution.fixed(1.0), max_leverage=1.0)
    return dc.replace(base, populations=(dc.replace(spec, params=params), *base.populations[1:]))


def test_summary_figures_are_finite_and_sensible(run: Result) -> None:
    # Around the news (the run's event, its largest drawdown, can start later: stale
    # orders at the old level trade once more after the jump)
    s = A.summary(run, at=SHOCK)
    assert list(s.index) == ["GOLD"]
    row = s.loc["GOLD"]
    assert row["max_drawdown"] == pytest.approx(run.metrics()["max_drawdown"])
    assert 0.03 < row["max_drawdown"] < 0.5
    assert row["drawdown_peak_time"] < row["drawdown_trough_time"]
    assert row["drawdown_speed"] > 0
    assert 0.0 < row["worst_move"] <= row["max_drawdown"]
    # The news is a 5% jump (log -0.05): the fair value falls about 4.9%.
    assert 0.03 < row["fair_fall"] < 0.07
    assert row["crash_fall"] > 0.03
    assert row["crash_fall"] == pytest.approx(row["fair_fall"] + row["excess_fall"])
    assert row["crash_trough_time"] >= SHOCK
    assert row["spread_ratio"] > 1.0
    assert 0.0 <= row["depth_ratio"] < 1.0
    assert row["sigmas"] < -3.0
    assert row["open_interest_after_over_peak"] > 0
    for key in ("lam", "forced_share", "forced_return", "excess_kurtosis", "hill"):
        assert math.isfinite(row[key]), key
    assert row["excess_kurtosis"] > 0  # a crash makes fat tails


def test_same_seed_same_figures(base: Scenario) -> None:
    a = A.summary(simulate(base, 3, trade_log=True))
    b = A.summary(simulate(base, 3, trade_log=True))
    pd.testing.assert_frame_equal(a, b)


def test_each_function_on_a_result(run: Result) -> None:
    dd = A.max_drawdown(run)
    assert dd.trough_price == run.series[("GOLD", "last")].min()
    # By default the figures describe the largest drawdown's window: the fall
    # measured from its peak is the maximum drawdown itself.
    event = run.event()
    assert event.source == "drawdown"
    c = A.crash_depth(run)
    assert c.at == event.time
    assert c.before_time == dd.peak_time
    assert c.fall == pytest.approx(dd.depth, rel=1e-12)
    assert A.shock_amplification(run) == pytest.approx(c.fall / c.fair_fall)
    c = A.crash_depth(run, at=SHOCK)
    assert c.at == SHOCK
    assert c.before_time == SHOCK - 1
    lc = A.liquidity_collapse(run)
    assert lc.spread_base > 0
    assert lc.depth_base > 0
    rec = A.liquidity_recovery(run, tolerance=0.5, hold=30)
    assert rec.time is None or rec.time > event.time
    lev = A.leverage_change(run)
    assert set(lev.index) == {p.name for p in run.scenario.populations}
    assert lev.loc["speculators", "peak"] > 1.0
    oi = A.open_interest_change(run)
    assert oi.peak > 0
    facts = A.stylized_facts(run, horizon=10)
    assert isinstance(facts, pd.DataFrame)
    assert facts.loc["GOLD", "returns"] == 359
    att = A.forced_selling_attribution(run, start=c.before_time, end=c.trough_time)
    liq = run.trades[run.trades["liquidation"]]
    in_window = liq[(liq["time"] > c.before_time) & (liq["time"] <= c.trough_time)]
    signed = np.where(in_window["aggressor"] == "buy", 1, -1) * in_window["qty"]
    assert att.loc["GOLD", "forced_flow"] == signed.sum()
    h = A.how_historic(run, c.before_time, c.trough_time, annual_vol=0.16, periods=365)
    assert h.sigmas < -3.0


def test_leverage_amplifies_the_drawdown_over_paired_seeds(base: Scenario) -> None:
    capped = _capped(base)
    pairs = [(simulate(base, seed), simulate(capped, seed)) for seed in range(64)]
    assert all(b.metrics()["liquidations"] == 0 for _, b in pairs)
    s = A.paired_amplification(pairs, seed=0)
    # Measured: mean 1.028, 95% interval 1.011-1.044, deeper in 44 of 64 seeds
    # (docs/simulation.md#presets); eight seeds are too few to tell.
    assert s.n == 64
    assert s.low > 1.0
    assert s.deeper >= 40
    with pytest.raises(ValueError, match="same seed"):
        A.amplification(pairs[0][0], pairs[1][1])


def test_two_instruments(base: Scenario) -> None:
    gold = base.instruments[0]
    # Silver at $30: its fair value's waypoints (gold's, in dollars) scaled with it.
    scale = 30.0 / gold.start_price
    fundamental = dc.replace(
        gold.fundamental,
        waypoints=tuple(dc.replace(w, price=w.price * scale) for w in gold.fundamental.waypoints),
    )
    silver = dc.replace(
        gold, name="SILVER", start_price=30.0, tick_size=0.01, fundamental=fundamental
    )
    pops = tuple(
        dc.replace(p, name=f"{p.name}_silver", instrument="SILVER") for p in base.populations
    )
    world = dc.replace(base, instruments=(gold, silver), populations=base.populations + pops)
    r = simulate(world, 2, trade_log=True)
    s = A.summary(r)
    assert list(s.index) == ["GOLD", "SILVER"]
    assert s["max_drawdown"].between(0.01, 0.5).all()
    e = A.event_correlation(r, at=SHOCK, calm=600, stress=600, horizon=10)
    assert list(e.calm.columns) == ["GOLD", "SILVER"]
    assert np.isfinite(e.change.to_numpy()).all()
    rc = A.rolling_correlation(r, 600, horizon=10)
    assert list(rc.columns) == ["GOLD~SILVER"]
    att = A.forced_selling_attribution(r)
    assert list(att.index) == ["GOLD", "SILVER"]


def test_single_instrument_and_missing_trade_log_are_explained(base: Scenario, run: Result) -> None:
    with pytest.raises(ValueError, match="at least 2 instruments"):
        A.event_correlation(run, calm=600, stress=600)
    with pytest.raises(ValueError, match="trade_log=True"):
        A.forced_selling_attribution(simulate(base, 1))
    with pytest.raises(ValueError, match="instrument: must be one of"):
        A.max_drawdown(run, instrument="OIL")
    with pytest.raises(ValueError, match="field: must be one of"):
        A.max_drawdown(run, field="price")
    with pytest.raises(TypeError, match="Result"):
        A.summary(run.series)
