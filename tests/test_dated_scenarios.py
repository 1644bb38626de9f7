"""Dated scenarios (``clock.start``): the same world run dated and undated gives the
same values, the dated tables are indexed by ``start + seconds`` (checked against
Python's own datetime arithmetic), every analysis function gives the same figures
on both, times are given as seconds or date-times, and saving, the report and the
command line show dates."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import deleverage.analysis as A
from deleverage.cli import main
from deleverage.dates import seconds_of, time_seconds, time_text
from deleverage.report import write_report
from deleverage.report.dashboard import draw_dashboard
from deleverage.result import Result
from deleverage.risk import risk_figures, risk_table
from deleverage.run_summary import event_text, run_summary
from deleverage.scenario import Clock, Episode, Scenario, from_toml_str, save_toml, to_toml_str
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

UTC = datetime.timezone.utc
START = datetime.datetime(2025, 10, 10, tzinfo=UTC)
HEADLINE = 75_600.0  # 21:00, the headline's step (dt = 1 s)


def _world(start: datetime.datetime | None) -> Scenario:
    """The crypto cascade, small, with a crash day of half a day (day 1 holds 21:00)."""
    base = load_preset("crypto-cascade-2025").with_accounts(1500)
    return base.replace(
        clock=dataclasses.replace(base.clock, start=start),
        episode=Episode(crash_day=1, day=43_200.0, period_start_day=0, lookback_days=1),
    )


@pytest.fixture(scope="module")
def undated() -> Result:
    return simulate(_world(None), 7, trade_log=True)


@pytest.fixture(scope="module")
def dated() -> Result:
    return simulate(_world(START), 7, trade_log=True)


# ---------------------------------------------------------------- clock.start


def _clock_toml(value: str) -> str:
    text = to_toml_str(_world(None))
    return text.replace("[clock]\n", f"[clock]\nstart = {value}\n", 1)


@pytest.mark.parametrize(
    "value",
    [
        "2025-10-10T00:00:00Z",
        "2025-10-10 00:00:00Z",
        "2025-10-10T02:00:00+02:00",
        "2025-10-09T19:00:00-05:00",
        '"2025-10-10T00:00:00Z"',
        '"2025-10-10T02:00:00+02:00"',
    ],
)
def test_start_is_read_in_any_offset_and_kept_in_utc(value: str) -> None:
    scenario = from_toml_str(_clock_toml(value))
    assert scenario.clock.start == START
    assert scenario.clock.start is not None
    assert scenario.clock.start.utcoffset() == datetime.timedelta(0)


def test_start_round_trips_through_toml(tmp_path: Path) -> None:
    scenario = _world(datetime.datetime(2026, 1, 30, 1, 2, 3, 456_789, tzinfo=UTC))
    text = to_toml_str(scenario)
    assert from_toml_str(text) == scenario
    path = tmp_path / "s.toml"
    save_toml(scenario, path)
    assert from_toml_str(path.read_text()) == scenario
    assert to_toml_str(from_toml_str(text)) == text
    clock = text.split("[clock]\n")[1].split("\n\n")[0]
    assert "start = 2026-01-30" in clock  # a TOML date-time, not a string
    assert "start =" not in to_toml_str(_world(None)).split("[clock]")[1].split("[")[0]


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("2025-10-10T00:00:00", ValueError, r"clock\.start: must give its UTC offset"),
        ("2025-10-10", TypeError, r"clock\.start: .*a date without a time"),
        ('"2025-10-10 00:00"', ValueError, r"clock\.start: must give its UTC offset"),
        ('"yesterday"', ValueError, r"clock\.start: not an ISO 8601 date-time"),
        ("1760054400", TypeError, r"clock\.start: expected a date-time"),
        ("00:00:00", TypeError, r"clock\.start: .*time"),
    ],
)
def test_a_bad_start_is_an_error_naming_the_field(
    value: str, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        from_toml_str(_clock_toml(value))


def test_start_in_python_takes_aware_datetimes_timestamps_and_text() -> None:
    assert Clock(start=pd.Timestamp("2025-10-10 02:00", tz="Europe/Paris")).start == START
    assert Clock(start="2025-10-10T00:00:00Z").start == START
    assert Clock().start is None
    with pytest.raises(ValueError, match=r"^start: must give its UTC offset"):
        Clock(start=datetime.datetime(2025, 10, 10))
    with pytest.raises(TypeError, match=r"^start: "):
        Clock(start=1.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------- the tables


def test_dated_and_undated_runs_hold_the_same_values(undated: Result, dated: Result) -> None:
    for table in ("series", "leverage", "exposure"):
        a, b = getattr(undated, table), getattr(dated, table)
        assert a is not None
        assert b is not None
        np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
        assert list(a.columns) == list(b.columns)
        assert b.index.name == a.index.name == "time"
    for table in ("liquidations", "trades"):
        a, b = getattr(undated, table), getattr(dated, table)
        assert len(a) > 0
        assert list(a.columns) == list(b.columns)
        pd.testing.assert_frame_equal(a.drop(columns="time"), b.drop(columns="time"))
        np.testing.assert_array_equal(seconds_of(b["time"], START), a["time"].to_numpy())
    pd.testing.assert_frame_equal(undated.accounts, dated.accounts)
    assert undated.conservation_error == dated.conservation_error


def _oracle_dates(seconds: np.ndarray) -> list[datetime.datetime]:
    return [START + datetime.timedelta(seconds=float(s)) for s in seconds]


def test_the_dated_index_is_start_plus_seconds(undated: Result, dated: Result) -> None:
    for table in ("series", "leverage", "exposure"):
        index = getattr(dated, table).index
        assert isinstance(index, pd.DatetimeIndex)
        assert str(index.tz) == "UTC"
        seconds = getattr(undated, table).index.to_numpy()
        assert [t.to_pydatetime() for t in index] == _oracle_dates(seconds)
    for table in ("liquidations", "trades"):
        times = getattr(dated, table)["time"]
        assert str(times.dt.tz) == "UTC"
        expected = _oracle_dates(getattr(undated, table)["time"].to_numpy())
        assert [t.to_pydatetime() for t in times] == expected
    assert dated.series.index[0] == pd.Timestamp(START)
    assert dated.series.index[int(HEADLINE)] == pd.Timestamp("2025-10-10 21:00", tz="UTC")


def test_undated_runs_keep_seconds(undated: Result) -> None:
    assert not isinstance(undated.series.index, pd.DatetimeIndex)
    assert undated.series.index[int(HEADLINE)] == HEADLINE
    assert undated.trades is not None
    assert undated.trades["time"].dtype == np.float64


# ---------------------------------------------------------------- analysis: same figures

SECONDS = "seconds"


def _canon(x: Any, start: datetime.datetime | None) -> Any:
    """``x`` with every date-time as seconds from ``start`` (to compare a dated run's
    figures with an undated run's)."""
    if isinstance(x, pd.Timestamp | datetime.datetime) or x is pd.NaT:
        if x is pd.NaT:
            return math.nan
        assert start is not None, f"a date-time {x!r} in an undated result's figures"
        return (pd.Timestamp(x) - pd.Timestamp(start)) / pd.Timedelta(seconds=1)
    if isinstance(x, pd.Series | pd.DataFrame):
        out = x.copy()
        if isinstance(out.index, pd.DatetimeIndex):
            out.index = pd.Index(seconds_of(out.index, start), name=out.index.name)
        if isinstance(out, pd.DataFrame):
            for c in out.columns:
                if pd.api.types.is_datetime64_any_dtype(out[c].dtype):
                    out[c] = seconds_of(out[c], start)
                elif out[c].dtype == object:
                    out[c] = [_canon(v, start) for v in out[c]]
            out.attrs = {}
        elif out.dtype == object:
            out = out.map(lambda v: _canon(v, start))
        return out
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _canon(getattr(x, f.name), start) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {k: _canon(v, start) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_canon(v, start) for v in x]
    if isinstance(x, np.floating | np.integer | float | int) and not isinstance(x, bool):
        return float(x)
    return x


def _assert_same(a: Any, b: Any, where: str = "") -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), where
        pd.testing.assert_frame_equal(a, b, check_dtype=False, check_index_type=False)
    elif isinstance(a, pd.Series):
        assert isinstance(b, pd.Series), where
        pd.testing.assert_series_equal(a, b, check_dtype=False, check_index_type=False)
    elif isinstance(a, dict):
        assert isinstance(b, dict), where
        assert set(a) == set(b), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list), where
        assert len(a) == len(b), where
        for k, (u, v) in enumerate(zip(a, b, strict=True)):
            _assert_same(u, v, f"{where}[{k}]")
    elif isinstance(a, float):
        assert isinstance(b, float), f"{where}: {a!r} vs {b!r}"
        assert a == b or (math.isnan(a) and math.isnan(b)), f"{where}: {a!r} vs {b!r}"
    else:
        assert a == b, f"{where}: {a!r} vs {b!r}"


# Each takes (result, a time given in seconds or as text) and returns figures.
ANALYSES: dict[str, Callable[[Result, Any], Any]] = {
    "max_drawdown": lambda r, t: A.max_drawdown(r, instrument="ALT"),
    "drawdown_series": lambda r, t: A.drawdown_series(r),
    "worst_move": lambda r, t: A.worst_move(r, "5min"),
    "crash_depth": lambda r, t: A.crash_depth(r),
    "crash_depth_at": lambda r, t: A.crash_depth(r, t),
    "shock_amplification": lambda r, t: A.shock_amplification(r, t),
    "amplification": lambda r, t: A.amplification(r, r, at=t),
    "paired_amplification": lambda r, t: A.paired_amplification([(r, r)], at=t, resamples=10),
    "liquidity_collapse": lambda r, t: A.liquidity_collapse(r, None, t),
    "liquidity_recovery": lambda r, t: A.liquidity_recovery(r, tolerance=0.5, hold=30),
    "how_historic": lambda r, t: A.how_historic(
        r, t, _later(r, t, 1800), annual_vol=0.5, periods=365
    ),
    "open_interest_change": lambda r, t: A.open_interest_change(r, t, after=_later(r, t, 3600)),
    "leverage_change": lambda r, t: A.leverage_change(r, t),
    "price_frame": lambda r, t: A.price_frame(r),
    "rolling_correlation": lambda r, t: A.rolling_correlation(r, "30min", horizon=60),
    "event_correlation": lambda r, t: A.event_correlation(r, t, calm="2h", stress="1h"),
    "crash_figures": lambda r, t: A.crash_figures(r, instrument="ALT", at=t),
    "crash_table": lambda r, t: A.crash_table(r),
    "episode_metrics": lambda r, t: A.episode_metrics(r),
    "haven_selling": lambda r, t: A.haven_selling(r, "ALT", calm=(0, 1), stress=(1, 2)),
    "forced_selling_attribution": lambda r, t: A.forced_selling_attribution(
        r, start=t, end=_later(r, t, 1800)
    ),
    "signed_flow": lambda r, t: A.signed_flow(r.trades, r.series.index),
    "returns": lambda r, t: A.returns(r, 60),
    "stylized_facts": lambda r, t: A.stylized_facts(r, horizon=60),
    "market_facts": lambda r, t: A.market_facts(r),
    "market_facts_window": lambda r, t: A.market_facts(r, window=(0.0, t)),
    "summary": lambda r, t: A.summary(r),
    "summary_at": lambda r, t: A.summary(r, at=t),
    "event": lambda r, t: r.event(t),
    "metrics": lambda r, t: {k: v for k, v in r.metrics(at=t).items() if k != "wall_seconds"},
    "risk_figures": lambda r, t: risk_figures(r),
    "risk_table": lambda r, t: risk_table(r),
    "aggregate_leverage": lambda r, t: r.aggregate_leverage(),
    "run_summary": lambda r, t: {
        k: v for k, v in run_summary(r, at=t).items() if k not in ("wall_seconds", "start")
    },
}


def _later(r: Result, t: Any, seconds: float) -> Any:
    """``seconds`` after ``t``, in the form ``t`` was given."""
    if isinstance(t, str):
        return (pd.Timestamp(t) + pd.Timedelta(seconds=seconds)).isoformat()
    return t + seconds


@pytest.mark.parametrize("name", list(ANALYSES))
def test_every_analysis_gives_the_same_figures_dated_or_not(
    name: str, undated: Result, dated: Result
) -> None:
    plain = _canon(ANALYSES[name](undated, HEADLINE), None)
    for when in (HEADLINE, "2025-10-10 21:00", "2025-10-10T23:00:00+02:00"):
        figures = ANALYSES[name](dated, when)
        if name == "run_summary":
            event = figures["event"]
            assert (event.pop("date"), event.pop("end_date")) == (
                time_text_iso(event["time"]),
                time_text_iso(event["end_time"]),
            )
            figures["venue"].pop("insurance_fund_low_date")
        _assert_same(plain, _canon(figures, START), name)


def time_text_iso(seconds: float) -> str:
    return (START + datetime.timedelta(seconds=seconds)).isoformat()


def test_dated_figures_hold_date_times(dated: Result) -> None:
    dd = A.max_drawdown(dated)
    assert isinstance(dd.peak_time, pd.Timestamp)
    assert dd.peak_time.tz is not None
    c = A.crash_depth(dated, "2025-10-10 21:00")
    assert c.at == pd.Timestamp("2025-10-10 21:00", tz="UTC")
    assert c.before_time == pd.Timestamp("2025-10-10 20:59:59", tz="UTC")
    assert A.crash_depth(dated, "21h").at == c.at  # a duration from the start
    assert A.crash_depth(dated, HEADLINE).at == c.at  # seconds from the start
    summary = A.summary(dated)
    assert pd.api.types.is_datetime64_any_dtype(summary["drawdown_peak_time"])


def test_times_outside_the_run_or_unreadable_are_errors(undated: Result, dated: Result) -> None:
    with pytest.raises(ValueError, match=r"^at: must lie within the series"):
        A.crash_depth(dated, "2025-10-12 00:00")
    with pytest.raises(ValueError, match=r"^at: must be seconds or a duration"):
        A.crash_depth(dated, "the crash")
    with pytest.raises(ValueError, match=r"^at: must be in \(0, 86400\) seconds"):
        dated.event("2025-10-09 23:00")
    with pytest.raises(ValueError, match=r"no clock\.start"):
        undated.event("2025-10-10 21:00")
    with pytest.raises(TypeError, match=r"no clock\.start"):
        undated.event(datetime.datetime(2025, 10, 10, 21, tzinfo=UTC))
    with pytest.raises(TypeError, match=r"^end: must be seconds, a duration text or a date-time"):
        A.how_historic(dated, HEADLINE, [1], annual_vol=0.5)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**12), st.integers(-14 * 60, 14 * 60))
def test_time_seconds_reads_dates_in_any_offset(micros: int, offset_minutes: int) -> None:
    seconds = micros / 1e6
    when = START + datetime.timedelta(microseconds=micros)
    shown = when.astimezone(datetime.timezone(datetime.timedelta(minutes=offset_minutes)))
    assert time_seconds(shown, START, "at") == pytest.approx(seconds, abs=1e-6)
    assert time_seconds(shown.isoformat(), START, "at") == pytest.approx(seconds, abs=1e-6)
    assert time_seconds(seconds, START, "at") == seconds
    assert time_text(seconds, START).startswith(when.strftime("%Y-%m-%d %H:%M:%S"))


# ---------------------------------------------------------------- saved, shown


def test_a_dated_result_round_trips(dated: Result, tmp_path: Path) -> None:
    back = Result.load(dated.save(tmp_path / "saved"))
    assert back.scenario == dated.scenario
    for table in ("series", "leverage", "exposure", "liquidations", "trades", "accounts"):
        pd.testing.assert_frame_equal(getattr(back, table), getattr(dated, table))
    assert isinstance(back.series.index, pd.DatetimeIndex)


def test_the_report_shows_dates(dated: Result, undated: Result, tmp_path: Path) -> None:
    index = write_report(dated, tmp_path / "dated")
    page = Path(index).read_text()
    assert "from 2025-10-10 00:00:00 UTC" in page
    assert "times as UTC date-times" in page
    event = dated.event()
    assert time_text(event.time, START) in page
    peak = A.max_drawdown(dated).peak_time  # the analysis table's first column
    assert f"<td>{peak:%Y-%m-%d %H:%M:%S}</td>" in page
    plain = Path(write_report(undated, tmp_path / "undated")).read_text()
    assert "2025-10-10" not in plain
    assert "day 0" not in plain
    assert "21:" in plain


def test_the_dashboard_axes_show_dates(dated: Result, undated: Result) -> None:
    def labels(result: Result) -> list[str]:
        fig = draw_dashboard(result)
        fig.canvas.draw()
        ax = fig.axes[0]
        return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]

    shown = labels(dated)
    assert shown
    assert all(text.startswith("Oct ") for text in shown)
    assert "Oct 10\n00:00" in shown
    assert not any("Oct" in text for text in labels(undated))


def test_run_text_and_json_show_dates(dated: Result, undated: Result) -> None:
    assert "measured from 2025-10-10 " in event_text(dated)
    assert "2025-10-10" not in event_text(undated)
    summary = run_summary(dated)
    assert summary["start"] == "2025-10-10T00:00:00+00:00"
    assert summary["event"]["date"] == time_text_iso(summary["event"]["time"])
    assert "start" not in run_summary(undated)


def test_cli_run_takes_a_date_for_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "dated.toml"
    save_toml(_world(START).replace(episode=None), path)
    args = ["run", str(path), "--accounts", "600", "--json", "--seed", "3"]
    assert main([*args, "--at", "2025-10-10 21:00"]) == 0
    by_date = json.loads(capsys.readouterr().out)
    assert main([*args, "--at", "75600"]) == 0
    by_seconds = json.loads(capsys.readouterr().out)
    assert by_date["event"] == by_seconds["event"]
    assert by_date["event"]["time"] == HEADLINE
    assert by_date["event"]["date"] == "2025-10-10T21:00:00+00:00"
    assert main([*args, "--at", "2025-10-11 21:00"]) == 2
    assert "--at: must be inside the run" in capsys.readouterr().err


def test_a_time_of_day_alone_is_not_read_as_today(dated: Result) -> None:
    assert dated.event("21:00:00").time == HEADLINE  # a duration: 21 hours from the start
    for text in ("21:00", "Oct 10 21:00", "10/10/2025 21:00"):
        with pytest.raises(ValueError, match=r"^at: .*a date first"):
            dated.event(text)
        with pytest.raises(ValueError, match=r"^at: .*a date first"):
            A.crash_depth(dated, text)


def test_targets_are_evaluated_in_seconds_on_a_dated_run(undated: Result, dated: Result) -> None:
    from deleverage.calibration.evaluate import target_values
    from deleverage.scenario import Target

    window = (HEADLINE, math.inf)
    targets = [
        Target(fact="crash.low_time", range=(0.0, 1e9), window=window),
        Target(fact="crash.at", range=(0.0, 1e9), window=window),
        Target(fact="crash.low_fall", range=(0.0, 1.0), window=window),
        Target(fact="episode.crash_day_return", range=(-1.0, 1.0)),
        Target(fact="run.max_drawdown", range=(0.0, 1.0)),
        Target(fact="kurtosis", range=(-10.0, 1e9), window=(0.0, HEADLINE)),
    ]
    plain = target_values(undated, targets)
    assert target_values(dated, targets) == plain
    assert plain[1] == HEADLINE
    assert HEADLINE <= plain[0] < 86_400.0
