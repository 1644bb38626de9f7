"""The fund, ADL and bad debt a run reports, the liquidation log's names and prices,
and which event the crash figures describe: checked against the engine's own log
and state, recounted here in plain Python, and against brute-force oracles."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.cli import main
from deleverage.dates import run_start, time_label
from deleverage.event import crash_event, largest_drawdown_window
from deleverage.result import Result, simulation_metrics
from deleverage.scenario import Episode, Scenario, Shock
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate, simulate_metrics

ACCOUNTS = 3000


def _perp(**changes: object) -> Scenario:
    """The perpetual venue with one fund for both books (the preset keeps one per book)."""
    s = load_preset("crypto-cascade-2025").with_accounts(ACCOUNTS)
    shared = tuple(dataclasses.replace(i, insurance_fund=None) for i in s.instruments)
    return s.replace(instruments=shared).replace(**changes)


def _protected(scenario: Scenario) -> Scenario:
    """Every instrument under negative-balance protection."""
    instruments = tuple(
        dataclasses.replace(
            i, margin=dataclasses.replace(i.margin, negative_balance_protection=True)
        )
        for i in scenario.instruments
    )
    return scenario.replace(instruments=instruments)


@pytest.fixture(scope="module")
def adl_run() -> Result:
    """No fund, covering out of its cash: the takeovers of the crash that lose at the
    mark need auto-deleveraging, the others it takes (and pays part of its fees back)."""
    return simulate(_perp(insurance_fund=0.0, fund_covers="cash"), 5)


@pytest.fixture(scope="module")
def bad_debt_run() -> Result:
    """Forced sales at market under negative-balance protection: losses past zero."""
    return simulate(_protected(_perp(insurance_fund=0.0, liquidation_orders="market")), 1)


def _recount_adl(result: Result, instrument: str) -> tuple[int, int, float]:
    """(ADL closes, distinct accounts deleveraged, notional at the bankruptcy price) from
    the log, row by row."""
    events, victims, notional = 0, set(), 0.0
    for row in result.liquidations.itertuples():
        if row.instrument != instrument:
            continue
        if row.kind == "adl":
            events += 1
            notional += row.notional
        elif row.kind == "adl_victim":
            victims.add(row.account)
    return events, len(victims), notional


def test_adl_figures_are_the_logs(adl_run: Result) -> None:
    r = adl_run.risk()
    assert r.adl_events > 0
    assert r.adl_accounts > 0
    total_events, total_notional = 0, 0.0
    for inst in adl_run.scenario.instruments:
        events, accounts, notional = _recount_adl(adl_run, inst.name)
        m = adl_run.metrics(inst.name)
        assert m["adl_events"] == events
        assert m["adl_accounts"] == accounts
        assert m["adl_notional"] == pytest.approx(notional, rel=1e-12)
        # The per-step series add up to the same.
        s = adl_run.series[inst.name]
        victims = (adl_run.liquidations["kind"] == "adl_victim") & (
            adl_run.liquidations["instrument"] == inst.name
        )
        assert s["adl_accounts"].sum() == victims.sum()
        assert s["adl_notional"].sum() == pytest.approx(notional, rel=1e-12)
        total_events += events
        total_notional += notional
    assert r.adl_events == total_events
    assert r.adl_notional == pytest.approx(total_notional, rel=1e-12)


def test_fund_figures_follow_its_cash(adl_run: Result) -> None:
    r = adl_run.risk()
    fund = adl_run.series[adl_run.scenario.instruments[0].name]["insurance_fund"]
    sim, _ = build(adl_run.scenario, adl_run.seed)
    sim.run()
    assert r.fund_start == adl_run.scenario.insurance_fund
    assert r.fund_end == sim.insurance_fund == fund.iloc[-1]
    path = [r.fund_start, *fund.tolist()]
    assert r.fund_low == min(path)
    # it gained liquidation fees, then paid part of them back on takeovers
    assert r.fund_drawdown > 0
    assert fund.loc[time_label(r.fund_low_time, run_start(adl_run))] == r.fund_low
    worst, peak = 0.0, path[0]
    for x in path:
        peak = max(peak, x)
        if peak > 0:
            worst = max(worst, (peak - x) / peak)
    assert r.fund_drawdown == pytest.approx(worst, rel=1e-12)


def test_bad_debt_comes_from_the_engine(bad_debt_run: Result) -> None:
    r = bad_debt_run.risk()
    sim, _ = build(bad_debt_run.scenario, bad_debt_run.seed)
    sim.run()
    assert r.bad_debt > 0
    assert r.bad_debt == pytest.approx(sim.bad_debt, rel=1e-12)
    by = sim.bad_debt_by_instrument
    for k, inst in enumerate(bad_debt_run.scenario.instruments):
        s = bad_debt_run.series[inst.name]["bad_debt"].to_numpy()
        assert r.bad_debt_by_instrument[inst.name] == by[k] == s[-1]
        assert np.all(np.diff(s) >= 0)  # absorbed, never given back
        # It grows only in steps where that instrument's positions were liquidated.
        grew = np.flatnonzero(np.diff(s) > 0) + 1
        liq = bad_debt_run.series[inst.name][["liquidated_long", "liquidated_short"]].sum(axis=1)
        assert np.all(liq.to_numpy()[grew] > 0)
    assert sum(r.bad_debt_by_instrument.values()) == pytest.approx(r.bad_debt, rel=1e-12)
    # Bankrupt accounts: the engine's count, the status bits, the populations' table.
    assert r.bankrupt_accounts == sim.bankrupt_accounts == np.count_nonzero(sim.status & 2)
    assert r.bankrupt_accounts == bad_debt_run.accounts["bankrupt"].sum()
    assert bad_debt_run.conservation_error < 1e-9


@pytest.mark.parametrize("which", ["adl", "bad_debt"])
def test_sweep_metrics_match_the_results(which: str, adl_run: Result, bad_debt_run: Result) -> None:
    run = adl_run if which == "adl" else bad_debt_run
    for inst in run.scenario.instruments:
        full = run.metrics(inst.name)
        if inst is run.scenario.instruments[0]:
            fast = simulate_metrics(run.scenario, run.seed)
        else:
            sim, _ = build(run.scenario, run.seed)
            sim.run()
            fast = simulation_metrics(run.scenario, sim, 0.0, inst.name)
        full.pop("wall_seconds")
        fast.pop("wall_seconds")
        assert full == pytest.approx(fast, rel=0, abs=0, nan_ok=True)


def test_liquidation_log_names_populations_and_prices(bad_debt_run: Result) -> None:
    liq = bad_debt_run.liquidations
    assert len(liq)
    sc = bad_debt_run.scenario
    owner: list[str] = []
    for pop in sc.populations:
        owner += [pop.name] * pop.accounts
    assert liq["population"].tolist() == [owner[a] for a in liq["account"]]
    sim, _ = build(sc, bad_debt_run.seed)
    sim.run()
    raw = sim.liquidations
    size = {i.name: i.tick_size for i in sc.instruments}
    value = {i.name: i.tick_value for i in sc.instruments}
    for k, row in enumerate(liq.itertuples()):
        assert row.price == raw["price"][k] * size[row.instrument]
        assert row.mark == raw["mark"][k] * size[row.instrument]
        assert row.notional == pytest.approx(
            row.qty * row.price / size[row.instrument] * value[row.instrument], rel=1e-12
        )
    # Prices in the same units as the series: a close is near that step's mark.
    t, name = liq["time"].iloc[0], liq["instrument"].iloc[0]
    mark = bad_debt_run.series.loc[t, (name, "mark")]
    assert liq["mark"].iloc[0] == pytest.approx(mark, rel=0.05)


def test_run_json_carries_every_instrument_and_the_venue(tmp_path, capsys) -> None:
    from deleverage.scenario import save_toml

    world = _perp(insurance_fund=0.0)
    path = tmp_path / "perp.toml"
    save_toml(world, path)
    assert main(["run", str(path), "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    result = simulate(world, 1)
    assert set(out["instruments"]) == {"BTC", "ALT"}
    for name, figures in out["instruments"].items():
        m = result.metrics(name)
        for key in ("max_drawdown", "liquidated_notional", "adl_events", "bad_debt"):
            assert figures[key] == pytest.approx(m[key], rel=1e-12), (name, key)
    r = result.risk()
    venue = out["venue"]
    assert venue["insurance_fund_low"] == r.fund_low
    assert venue["adl_events"] == r.adl_events
    assert venue["bad_debt_by_instrument"] == r.bad_debt_by_instrument
    assert venue["bankrupt_accounts"] == r.bankrupt_accounts
    assert out["event"]["source"] == "drawdown"
    assert main(["run", str(path), "--seed", "1", "--no-report"]) == 0
    text = capsys.readouterr().out
    for words in ("insurance fund lowest", "ADL events", "bad debt", "bankrupt accounts"):
        assert words in text
    assert "largest drawdown" in text
    assert main(["run", str(path), "--seed", "1", "--no-report", "--at", "soon"]) == 2
    assert "--at: must be seconds or a duration" in capsys.readouterr().err
    assert main(["run", str(path), "--seed", "1", "--no-report", "--at", "99999999"]) == 2
    assert "--at: must be inside the run" in capsys.readouterr().err
    assert main(["run", str(path), "--seed", "1", "--json", "--at", "75600"]) == 0
    at = json.loads(capsys.readouterr().out)
    assert at["event"] == {
        "source": "at",
        "time": 75600.0,
        "end_time": 86399.0,
        "instrument": None,
        # the preset is dated (clock.start 2025-10-10 00:00 UTC)
        "date": "2025-10-10T21:00:00+00:00",
        "end_date": "2025-10-10T23:59:59+00:00",
    }
    assert at["event_time"] == 75600.0


# -- the event -----------------------------------------------------------------------------


def _brute_window(x: list[float]) -> tuple[int, int, float]:
    """The largest fall x[i] -> x[j], i <= j, by trying every pair (the latest i of a tie)."""
    best = (0, 0, 0.0)
    for j in range(len(x)):
        for i in range(j + 1):
            if x[i] > 0:
                depth = 1.0 - x[j] / x[i]
                if depth > best[2] or (depth == best[2] > 0 and j == best[1] and i > best[0]):
                    best = (i, j, depth)
    return best


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 50), min_size=1, max_size=40))
def test_largest_drawdown_window_against_every_pair(ticks: list[int]) -> None:
    x = [float(t) for t in ticks]
    top, trough, depth = largest_drawdown_window(np.array(x))
    _b_top, _b_trough, b_depth = _brute_window(x)
    assert depth == pytest.approx(b_depth, abs=1e-15)
    if b_depth > 0:
        assert 1.0 - x[trough] / x[top] == pytest.approx(b_depth, abs=1e-15)
        assert top <= trough
        # The peak is the last time the running peak was set before the trough.
        assert x[top] == max(x[: trough + 1])
        assert all(v < x[top] for v in x[top + 1 : trough + 1])


def test_event_is_the_episode_else_the_drawdown_else_at() -> None:
    sc = load_preset("default-hour")
    dt = sc.clock.dt
    x = np.full(sc.clock.steps, 100.0)
    x[1000:1300] = np.linspace(100.0, 80.0, 300)
    e = crash_event(sc, {"GOLD": x})
    # From the step after the last step at the peak (x[1000] = 100) to the trough.
    assert (e.source, e.step, e.end_step, e.instrument) == ("drawdown", 1001, 1299, "GOLD")
    e = crash_event(sc, {"GOLD": x}, at="30min")
    assert (e.source, e.time) == ("at", 1800.0)
    assert crash_event(sc, {"GOLD": x}, at="1800").time == 1800.0  # a bare number: seconds
    assert crash_event(sc, {"GOLD": x}, at=900.0).step == int(900 / dt)
    with pytest.raises(ValueError, match=r"^at: must be in"):
        crash_event(sc, {"GOLD": x}, at=1e9)
    with pytest.raises(ValueError, match=r"^at: must be seconds"):
        crash_event(sc, {"GOLD": x}, at="soon")
    daily = sc.replace(episode=Episode(crash_day=1, lookback_days=1, day=1200.0))
    e = crash_event(daily, {"GOLD": x})
    assert (e.source, e.time, e.end_time) == ("episode", 1200.0, 2399.0)
    flat = crash_event(sc, {"GOLD": np.full(sc.clock.steps, 100.0)})
    assert flat.source == "middle"


def test_crash_figures_of_a_late_headline_are_the_headlines() -> None:
    """A small early step and a large late headline: the figures describe the headline,
    not the first scheduled shock."""
    from deleverage.analysis import crash_figures

    world = _perp()
    # 01:00, +0.3% (the preset's rally is a bridge through its levels, with no steps)
    early = Shock(3600, "jump", 0.003)
    instruments = tuple(
        dataclasses.replace(
            i, fundamental=dataclasses.replace(i.fundamental, shocks=(early, *i.fundamental.shocks))
        )
        for i in world.instruments
    )
    run = simulate(world.replace(instruments=instruments), 1)
    event = run.event()
    headline = 21 * 3600.0
    # The largest drawdown's window: from the day's last high (after the rally's end at
    # 18:00, before the headline; 18:07 on the altcoin in this seed) to the low after it.
    assert 18 * 3600.0 <= event.time <= headline + 60
    assert event.end_time > headline
    first_shock = min(s.step for i in run.scenario.instruments for s in i.fundamental.shocks)
    assert first_shock * run.scenario.clock.dt < 2 * 3600
    f = crash_figures(run, instrument="BTC")
    assert f.at == time_label(event.time, run_start(run))  # the preset is dated
    assert f.low_fall > 0.05
    assert run.metrics("BTC", at=headline)["event_time"] == headline
    assert not math.isnan(run.metrics()["max_spread_ratio"])
