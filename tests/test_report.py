"""The report: the files it writes, the margin timeline behind its margin panel, the
thinning of long series, and a report rebuilt from a saved result."""

from __future__ import annotations

import dataclasses as dc
import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deleverage import MarginRule
from deleverage.report import margin_timeline, write_report
from deleverage.report.downsample import bin_sums, minmax_downsample
from deleverage.report.figure_format import format_figure
from deleverage.report.html import format_number, render_html
from deleverage.report.margin_timeline import LEVEL_UNITS, level_at, maintenance_level
from deleverage.report.tables import headline_text, metrics_table
from deleverage.report.time_units import DAYS, HOURS, MINUTES, time_unit
from deleverage.result import Result
from deleverage.scenario import (
    Clock,
    InstrumentSpec,
    MarginChange,
    Policy,
    VolatilityTrigger,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header, after checking its signature."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE
    assert head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.fixture(scope="module")
def single() -> Result:
    return simulate(load_preset("default-hour"), seed=1)


@pytest.fixture(scope="module")
def report_dir(single: Result, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    index = write_report(single, out)
    assert index == out / "index.html"
    return out


def test_report_writes_a_png_and_a_page(report_dir: Path) -> None:
    assert sorted(p.name for p in report_dir.iterdir()) == ["dashboard.png", "index.html"]
    assert png_size(report_dir / "dashboard.png") == (1500, 1600)
    import matplotlib.image

    pixels = matplotlib.image.imread(report_dir / "dashboard.png")
    assert pixels.shape[:2] == (1600, 1500)
    assert pixels.std() > 0.05  # not a blank canvas
    assert 50_000 < (report_dir / "dashboard.png").stat().st_size < 2_000_000


def test_page_holds_the_tables_and_the_dashboard(single: Result, report_dir: Path) -> None:
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<img class="dashboard" src="dashboard.png"' in page
    for table_id in ("metrics", "analysis", "populations"):
        assert f'id="{table_id}"' in page
    metrics = single.metrics()
    for key in ("max_drawdown", "liquidated_notional", "max_spread_ratio", "final_price"):
        assert f"<th>{key}</th>" in page
        assert f"<td>{format_figure(key, metrics[key])}</td>" in page
    for population in single.accounts.index:
        assert f"<th>{population}</th>" in page
    for column in ("liquidated", "equity", "leverage"):
        assert f"<th>{column}</th>" in page
    for figure in ("crash_fall", "spread_ratio", "recovery_seconds"):  # analysis.summary
        assert f"<th>{figure}</th>" in page
    assert single.scenario.description in page
    assert f"seed {single.seed}" in page
    assert "1,354 accounts" in page
    assert "3,600 steps" in page
    assert "http" not in page  # self-contained: nothing fetched


def test_page_escapes_the_scenario_text(single: Result) -> None:
    scenario = single.scenario.replace(
        name="<b>bold</b> & co", description='<script>alert("x")</script>'
    )
    page = render_html(dc.replace(single, scenario=scenario))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<h1>&lt;b&gt;bold&lt;/b&gt; &amp; co</h1>" in page


def test_report_of_a_loaded_result_is_the_same(single: Result, tmp_path: Path) -> None:
    first = write_report(single, tmp_path / "a")
    single.save(tmp_path / "b")
    second = write_report(Result.load(tmp_path / "b"), tmp_path / "b")
    assert second.read_text() == first.read_text()
    assert (tmp_path / "b" / "dashboard.png").read_bytes() == (
        tmp_path / "a" / "dashboard.png"
    ).read_bytes()


def test_several_instruments_a_short_run_and_a_fixed_rule(tmp_path: Path) -> None:
    base = load_preset("default-hour")
    by = {p.name: p for p in base.populations}
    fixed = MarginRule(initial_rate=0.1, maintenance="fixed", amount_per_lot=150.0)
    silver = InstrumentSpec("SILVER", 30.0, tick_size=0.01, lot_size=50.0, margin=fixed)
    world = base.replace(
        instruments=(*base.instruments, silver),
        populations=(
            *base.populations,
            dc.replace(by["market_makers"], name="silver_makers", instrument="SILVER"),
            dc.replace(by["noise"], name="silver_noise", instrument="SILVER", accounts=50),
        ),
    ).with_steps(120)
    result = simulate(world, seed=2)
    index = write_report(result, tmp_path)
    page = index.read_text()
    assert "<th>SILVER</th>" in page
    assert png_size(tmp_path / "dashboard.png") == (1500, 1600)
    assert list(metrics_table(result).columns) == ["GOLD", "SILVER"]
    assert "SILVER" in headline_text(result)


def test_a_main_rule_changing_kind_still_draws(single: Result, tmp_path: Path) -> None:
    fixed = MarginRule(initial_rate=0.2, maintenance="fixed", amount_per_lot=80.0)
    policy = Policy(margin_changes=(MarginChange(600, "GOLD", fixed),))
    odd = dc.replace(single, scenario=single.scenario.replace(policy=policy))
    assert list(margin_timeline(odd)["unit"]) == ["fraction of notional", "money per lot"]
    write_report(odd, tmp_path)
    assert png_size(tmp_path / "dashboard.png") == (1500, 1600)


def test_a_run_stopped_before_its_first_step_still_reports(single: Result, tmp_path: Path) -> None:
    empty = dc.replace(
        single,
        series=single.series.iloc[:0],
        leverage=single.leverage.iloc[:0],
        liquidations=single.liquidations.iloc[:0],
        steps_done=0,
    )
    page = write_report(empty, tmp_path).read_text()
    assert "stopped early: 0 of 3,600 steps" in page
    assert "analysis unavailable for this run: prices:" in page
    assert png_size(tmp_path / "dashboard.png") == (1500, 1600)


def test_report_rejects_bad_input(single: Result, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="result: must be a Result"):
        write_report("x", tmp_path)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"out_dir: .* is not a folder"):
        write_report(single, tmp_path / "file")


def test_a_long_run_draws_quickly(tmp_path: Path) -> None:
    """Half a day of one-second steps: thinned lines keep the dashboard's cost that of
    a short run (43,200 points per line would otherwise dominate)."""
    world = load_preset("default-day").with_accounts(3000).with_steps(43_200)
    result = simulate(world, seed=0)
    start = time.perf_counter()
    write_report(result, tmp_path)
    assert time.perf_counter() - start < 15.0  # about 2 s here; generous for shared machines
    assert png_size(tmp_path / "dashboard.png") == (1500, 1600)


# ---------------------------------------------------------------- the margin timeline


def test_margin_timeline_is_the_known_step_function(single: Result) -> None:
    """A scheduled notice and a trigger at the same step (the notice first, as in the
    engine), a later notice, a trigger that never fired, one on another instrument."""
    six = MarginRule(initial_rate=0.1, maintenance_rate=0.06)
    twelve = MarginRule(initial_rate=0.25, maintenance_rate=0.12)
    eight = MarginRule(initial_rate=0.1, maintenance_rate=0.08)
    other = InstrumentSpec("OTHER", 10.0)
    policy = Policy(
        margin_changes=(
            MarginChange(500, "GOLD", six),
            MarginChange(600, "OTHER", twelve),
            MarginChange(1200, "GOLD", eight),
        ),
        volatility_triggers=(
            VolatilityTrigger("GOLD", 60, 1.0, MarginRule(maintenance_rate=0.3)),  # never
            VolatilityTrigger("GOLD", 60, 0.8, twelve),
            VolatilityTrigger("OTHER", 60, 0.8, twelve),
        ),
    )
    scenario = single.scenario.replace(
        clock=Clock(dt=2.0, steps=3600),
        instruments=(*single.scenario.instruments, other),
        policy=policy,
    )
    result = dc.replace(single, scenario=scenario, info={"trigger_times": [None, 1000.0, 50.0]})
    timeline = margin_timeline(result)
    assert list(timeline.index) == [0.0, 1000.0, 1000.0, 2400.0]
    assert timeline.index.name == "time"
    assert list(timeline["level"]) == [0.05, 0.06, 0.12, 0.08]
    assert list(timeline["initial_rate"]) == [0.1, 0.1, 0.25, 0.1]
    assert list(timeline["source"]) == ["initial", "scheduled", "trigger", "scheduled"]
    assert set(timeline["unit"]) == {"fraction of notional"}
    times = [0.0, 999.0, 1000.0, 2399.0, 2400.0, 3598.0]
    assert level_at(timeline, times) == [0.05, 0.05, 0.12, 0.12, 0.08, 0.08]
    # The other instrument: its rule from 50 s (trigger), then the notice at step 600.
    other_line = margin_timeline(result, "OTHER")
    assert list(other_line.index) == [0.0, 50.0, 1200.0]
    assert list(other_line["source"]) == ["initial", "trigger", "scheduled"]


def test_margin_timeline_of_a_run_whose_trigger_fired() -> None:
    base = load_preset("default-hour")
    hike = MarginRule(initial_rate=0.2, maintenance_rate=0.12)
    trigger = VolatilityTrigger("GOLD", 60, 0.3, hike)
    world = base.replace(policy=dc.replace(base.policy, volatility_triggers=(trigger,)))
    result = simulate(world, seed=3)
    (fired,) = result.info["trigger_times"]
    assert fired is not None
    timeline = margin_timeline(result)
    row = timeline[timeline["source"] == "trigger"]
    assert list(row.index) == [fired]
    assert list(row["level"]) == [0.12]
    assert timeline["level"].iloc[-1] == (0.12 if fired >= 2400 else 0.08)


def test_maintenance_level_of_each_kind() -> None:
    assert maintenance_level(MarginRule(maintenance_rate=0.07)) == 0.07
    assert maintenance_level(MarginRule(maintenance="fixed", amount_per_lot=90.0)) == 90.0
    tiered = MarginRule(maintenance="tiered", tiers=((0.0, 0.01), (1e6, 0.02)))
    assert maintenance_level(tiered) == 0.01
    closeout = MarginRule(initial_rate=0.05, maintenance="closeout", closeout_share=0.5)
    assert maintenance_level(closeout) == 0.025
    assert set(LEVEL_UNITS) == {"percent", "fixed", "tiered", "closeout"}


def test_margin_timeline_rejects_bad_input(single: Result) -> None:
    with pytest.raises(ValueError, match=r"instrument: must be one of \['GOLD'\], got 'X'"):
        margin_timeline(single, "X")
    trigger = VolatilityTrigger("GOLD", 60, 0.3, MarginRule())
    world = single.scenario.replace(policy=Policy(volatility_triggers=(trigger,)))
    with pytest.raises(ValueError, match=r"trigger_times: must have one entry per .* \(1\), got 0"):
        margin_timeline(dc.replace(single, scenario=world))


# ---------------------------------------------------------------- helpers


def test_minmax_downsample_keeps_the_extremes() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal(100_003)
    values[7_777] = 50.0
    values[91_000] = -50.0
    values[200:400] = np.nan
    series = pd.Series(values, index=pd.Index(np.arange(len(values)) * 0.5, name="time"))
    thin = minmax_downsample(series, bins=1000)
    assert len(thin) <= 2000
    assert thin.index.is_monotonic_increasing
    assert thin.max() == 50.0
    assert thin.min() == -50.0
    assert thin.index.name == "time"
    assert thin.isna().any()  # the all-NaN bin stays a gap
    short = series.iloc[:100]
    assert minmax_downsample(short, bins=1000) is short
    with pytest.raises(ValueError, match="bins: must be >= 1"):
        minmax_downsample(series, bins=0)


def test_bin_sums() -> None:
    series = pd.Series([1.0, 2.0, np.nan, 4.0], index=[0.0, 1.0, 2.0, 3.0])
    assert list(bin_sums(series, np.array([0.0, 2.0, 4.0]))) == [3.0, 4.0]


def test_time_units() -> None:
    assert time_unit(3600) is MINUTES
    assert time_unit(12 * 3600) is HOURS
    assert time_unit(86400) is HOURS
    assert time_unit(7 * 86400) is DAYS
    assert HOURS.label() == "time (hours)"
    with pytest.raises(ValueError, match="duration_seconds"):
        time_unit(-1)


def test_format_number() -> None:
    assert format_number(1354) == "1,354"
    assert format_number(1_000_000.0) == "1,000,000"
    assert format_number(13_185_140.97) == "13,185,140.97"
    assert format_number(0.0646907123) == "0.0646907"
    assert format_number(float("nan")) == "-"
    assert format_number(2e-7) == "2.000e-07"
    assert format_number("speculator") == "speculator"
    assert format_number(True) == "True"
