"""What a reader of the report sees: the venue's fund, ADL and bad debt named on the
page, figures written by their kind, margin rates of a tiered rule at several sizes
(against the engine), colours that stay apart, and per-period bands."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import Instrument, MarginEngine, MarginRule
from deleverage.report.figure_format import clock_time, duration, format_figure
from deleverage.report.html import render_html
from deleverage.report.liquidity_bands import HIGH_Q, LOW_Q, period_quantiles
from deleverage.report.margin_sizes import effective_rate, representative_sizes
from deleverage.report.palette import distinct_colors, line_styles
from deleverage.result import Result
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

TIERED = MarginRule(
    initial_rate=0.02,
    maintenance="tiered",
    tiers=((0.0, 0.004), (50_000.0, 0.005), (250_000.0, 0.01), (1_000_000.0, 0.025)),
)


@pytest.fixture(scope="module")
def run() -> Result:
    # No fund at all (the preset keeps one per book): every takeover that loses is ADL.
    world = load_preset("crypto-cascade-2025").with_accounts(3000)
    unfunded = tuple(dataclasses.replace(i, insurance_fund=None) for i in world.instruments)
    return simulate(world.replace(instruments=unfunded, insurance_fund=0.0), 1)


def _text(page: str) -> str:
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_page_names_the_fund_adl_and_bad_debt(run: Result) -> None:
    page = render_html(run)
    text = _text(page)
    assert "The venue: insurance fund, ADL and bad debt" in text
    r = run.risk()
    for key, shown in (
        ("insurance_fund_low", f"{r.fund_low:,.2f}"),
        ("adl_events", f"{r.adl_events:,}"),
        ("adl_accounts", f"{r.adl_accounts:,}"),
        ("bad_debt", "0.00"),
        ("bankrupt_accounts", f"{r.bankrupt_accounts:,}"),
    ):
        assert re.search(rf"{key} {re.escape(shown)}\b", text), key
    assert r.adl_events > 0
    # Run-wide figures are not repeated per instrument in the headline table.
    headline = page.split('id="metrics"')[1].split("</table>")[0]
    assert "insurance_fund" not in headline
    assert "wall_seconds" not in headline
    # Fractions as percents, times of the run as clock times, durations in words.
    dd = run.metrics("BTC")["max_drawdown"]
    assert f"max_drawdown {dd:.2%}" in text
    assert re.search(r"drawdown_peak_time 2025-10-10 \d\d:\d\d:\d\d", text)  # a dated preset
    assert re.search(r"one_sided_seconds (\d+ h )?\d+ min \d+ s", text)
    # liquidity that never came back (here the dealers stay out for the evening): "-"
    assert re.search(r"recovery_seconds ((\d+ h )?\d+ min \d+ s|-)", text)
    assert "crash figures measured from" in text


def test_format_figure_by_kind() -> None:
    assert format_figure("max_drawdown", 0.13189) == "13.19%"
    assert format_figure("crash_day_return", -0.0977) == "-9.77%"
    assert format_figure("max_spread_ratio", 280.976) == "280.98x"
    assert format_figure("drawdown_peak_time", 2_767_800.0) == "day 32 00:50:00"
    assert format_figure("crash_trough_time", 76_522.0) == "21:15:22"
    assert format_figure("one_sided_seconds", 415.0) == "6 min 55 s"
    assert format_figure("adl_accounts", 311.0) == "311"
    assert format_figure("bad_debt", 52_821.98) == "52,821.98"
    assert format_figure("max_drawdown", float("nan")) == "-"
    assert clock_time(86_399.0) == "23:59:59"
    assert duration(3 * 86_400 + 7200) == "3 d 2 h"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5_000_000), st.integers(1, 200))
def test_effective_rate_of_a_tiered_rule_is_the_engines(price: int, lots: int) -> None:
    """MM / notional of one account holding ``lots`` at ``price``, in the engine."""
    engine = MarginEngine([Instrument("X", 1.0, TIERED)])
    engine.add_accounts([1e12], position=[lots], entry_price=[float(price)])
    notional = float(price) * lots
    mm = float(engine.maintenance_margin([price])[0])
    assert effective_rate(TIERED, notional) == pytest.approx(mm / notional, rel=1e-12)


def test_representative_sizes_fall_in_each_bracket() -> None:
    sizes = representative_sizes(TIERED)
    floors = [f for f, _ in TIERED.tiers]
    assert [int(np.searchsorted(floors, s, side="right")) - 1 for s in sizes] == [0, 1, 2, 3]
    rates = [effective_rate(TIERED, s) for s in sizes]
    assert rates == sorted(rates)
    assert representative_sizes(MarginRule(maintenance="percent")) == []


def test_population_colours_stay_distinct() -> None:
    for n in (10, 11, 16, 20):
        colors = distinct_colors(n)
        assert len(set(colors)) == n
    styles = line_styles(24)
    pairs = list(zip(distinct_colors(24), styles, strict=True))
    assert len(set(pairs)) == 24


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.floats(0, 1e6), st.just(float("nan"))), min_size=1, max_size=400),
    st.integers(1, 50),
)
def test_period_quantiles_against_each_period(values: list[float], periods: int) -> None:
    s = pd.Series(values, index=np.arange(len(values)) * 2.0)
    q = period_quantiles(s, periods)
    n = len(values)
    if n <= periods:
        np.testing.assert_array_equal(q["median"].to_numpy(), np.array(values))
        return
    k = -(-n // periods)
    for j, start in enumerate(range(0, n, k)):
        chunk = np.array(values[start : start + k])
        chunk = chunk[~np.isnan(chunk)]
        assert q.index[j] == s.index[start]
        if chunk.size == 0:
            assert np.isnan(q["median"].iloc[j])
            continue
        assert q["low"].iloc[j] == pytest.approx(np.quantile(chunk, LOW_Q))
        assert q["median"].iloc[j] == pytest.approx(np.quantile(chunk, 0.5))
        assert q["high"].iloc[j] == pytest.approx(np.quantile(chunk, HIGH_Q))
