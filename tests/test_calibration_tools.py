"""The searches recorded under tools/calibration/ still load against the
scenarios they name: every parameter's path resolves, every corner of the box
gives a valid scenario and every target can be measured (``load_calibration``
checks all of it), so a preset change that breaks a documented search fails
here rather than when someone reruns it."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from deleverage.analysis import episode_metrics, market_facts
from deleverage.calibration.spec import load_calibration
from deleverage.scenario.toml_io import load_toml
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "calibration"
#: A search spec names its trials at the top level; the worlds beside them do not.
SPECS = sorted(
    p
    for p in TOOLS.glob("*.toml")
    if re.search(r"^trials\s*=", p.read_text(encoding="utf-8"), re.MULTILINE)
)


def test_the_recorded_searches_are_found() -> None:
    names = {p.name for p in SPECS}
    assert {"dash_2020_discount.toml", "gold_2026_patient.toml"} <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_a_recorded_search_loads_against_its_scenario(path: Path) -> None:
    spec = load_calibration(path)
    assert spec.trials > 0
    assert spec.parameters


def _load_tool(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_premium_tool_agrees_with_the_episode_figures() -> None:
    # gold_2026_premium.py reads the premium off the series itself; its last close
    # and crash day must be what episode_metrics reports for the same run.
    tool = _load_tool("gold_2026_premium")
    row = tool.premium_path(0.01, 0, {})
    figures = episode_metrics(simulate(load_preset("gold-2026").scaled(0.01), 0))
    assert row["closes"][-1] == pytest.approx(figures["premium_before"], rel=1e-12, abs=1e-15)
    assert row["crash_day"] == figures["crash_day_return"]
    assert row["days"] == list(range(33 - tool.DAYS_BEFORE, 33))  # up to the 29th's close
    assert len(row["closes"]) == tool.DAYS_BEFORE
    assert row["jitter"] >= 0.0
    assert row["worst_hour"] <= row["best_hour"]
    assert row["days"][0] < row["worst_day"] <= 33 + 1 / 24  # up to the news at 01:00


def test_the_premium_tool_finds_when_the_sellers_are_full() -> None:
    # Against a plain walk through the trade log, with the sellers' accounts
    # found from the accounts table rather than from the scenario.
    tool = _load_tool("gold_2026_premium")
    world = load_preset("gold-2026").scaled(0.01)
    result = simulate(world, 0, trade_log=True)
    counts = result.accounts["accounts"]
    first = int(counts.iloc[: list(counts.index).index("premium_sellers")].sum())
    sellers = range(first, first + int(counts["premium_sellers"]))
    room = tool.FULL * sum(
        p.accounts * p.params.inventory_limit
        for p in world.populations
        if p.name == "premium_sellers"
    )
    short, when = 0.0, None
    for trade in result.trades.itertuples():
        if trade.instrument != "GOLD":
            continue
        short += trade.qty * ((trade.seller in sellers) - (trade.buyer in sellers))
        if when is None and short >= room:
            when = trade.time
    held = result.accounts.loc["premium_sellers"]
    assert short == held["short_lots"] - held["long_lots"]  # every lot they hold, in the log
    assert when is not None  # at this size too they are full before the news
    day = (when - pd.Timestamp(world.clock.start).tz_convert("UTC")).total_seconds() / 86_400
    assert tool.sellers_full(result, world) == pytest.approx(day, abs=1e-9)
    assert tool.sellers_full(result, world) < 33
    # The tool's row carries the same figure.
    assert tool.premium_path(0.01, 0, {})["sellers_full"] == pytest.approx(day, abs=1e-9)


def test_the_premium_tool_names_the_argument_it_refuses() -> None:
    tool = _load_tool("gold_2026_premium")
    assert tool._parse(["0.05", "1,3", "populations.hedgers.params.reach=0.2"]) == (
        0.05,
        [1, 3],
        {"populations.hedgers.params.reach": 0.2},
    )
    with pytest.raises(ValueError, match="PATH=VALUE"):
        tool._parse(["0.05", "2", "populations.hedgers.params.aggressiveness"])
    with pytest.raises(ValueError, match="FRACTION"):
        tool._parse(["a twentieth", "2"])
    for seeds in ("0-7", "0", "-2", "1,-1"):
        with pytest.raises(ValueError, match="SEEDS"):
            tool._parse(["0.05", seeds])


def test_the_premium_tools_changes_are_to_the_full_size_market() -> None:
    # As `deleverage validate --set ... --scale`: changed at full size, then scaled.
    tool = _load_tool("gold_2026_premium")
    path = "populations.gold_dealers.params.inventory_limit"

    def limit(fraction: float) -> int:
        pops = tool.world(fraction, {path: 1_000_000}).populations
        return next(p.params.inventory_limit for p in pops if p.name == "gold_dealers")

    assert limit(1.0) == 1_000_000
    assert limit(0.05) == 50_000


def test_the_premium_tool_refuses_news_before_its_window() -> None:
    tool = _load_tool("gold_2026_premium")
    early = {"instruments.GOLD.fundamental.shocks.0.step": 24 * 1440}
    with pytest.raises(ValueError, match="the news"):
        tool.premium_path(0.01, 0, early)


def test_the_january_tool_agrees_with_the_market_facts() -> None:
    # gold_2026_january.py splits gold's one-minute lag-1 autocorrelation by the
    # book's state: the parts must add up to what market_facts measures over the
    # same window, and its empty sides must bound the one-sided share it reports.
    tool = _load_tool("gold_2026_january")
    row = tool.january(0.01, 0, {})
    world = load_preset("gold-2026").scaled(0.01)
    assert row["window"] == (4 * 86_400.0, 32 * 86_400.0)  # 1 January to the 29th, 00:00
    assert tool.makers(world) == 10  # six dealers, four sellers of the premium
    facts = market_facts(simulate(world, 0), instrument="GOLD", window=row["window"], horizons=[60])
    measured = facts.loc[("GOLD", 60.0)]
    assert row["acf_1"] == pytest.approx(measured["return_acf_1"], rel=1e-9)
    shares = [share for share, _ in row["parts"].values()]
    assert sum(shares) == pytest.approx(1.0, rel=1e-12)
    assert sum(part for _, part in row["parts"].values()) == pytest.approx(row["acf_1"], rel=1e-9)
    assert max(row["ask_empty"], row["bid_empty"]) <= measured["one_sided"] + 1e-12
    assert measured["one_sided"] <= row["ask_empty"] + row["bid_empty"] + 1e-12
    assert row["premium_low"] <= 0.0 <= row["premium_high"]
    assert row["largest_move"] > 0.0
    assert row["liquidated"] >= 0.0


@settings(max_examples=200, deadline=None)
@given(
    moves=st.lists(st.floats(-0.05, 0.05, allow_nan=False), min_size=4, max_size=60),
    flags=st.lists(st.integers(0, 7), min_size=61, max_size=61),
)
def test_the_january_split_follows_a_plain_loop(moves: list[float], flags: list[int]) -> None:
    # Each pair of successive returns counted once, in the first state flagged at
    # the end of either return: a dealer out, then an empty ask, then an empty bid.
    tool = _load_tool("gold_2026_january")
    last = 100.0 * np.exp(np.concatenate(([0.0], np.cumsum(moves))))
    n = len(last)
    out, no_ask, no_bid = (np.array([bool(f >> b & 1) for f in flags[:n]]) for b in (0, 1, 2))
    r = [math.log(last[i + 1] / last[i]) for i in range(n - 1)]
    mean = sum(r) / len(r)
    denom = sum((x - mean) ** 2 for x in r)
    assume(denom > 1e-12)
    shares, parts = dict.fromkeys(tool.STATES, 0), dict.fromkeys(tool.STATES, 0.0)
    for k in range(len(r) - 1):
        ends = (k + 1, k + 2)
        if out[ends[0]] or out[ends[1]]:
            state = "maker_out"
        elif no_ask[ends[0]] or no_ask[ends[1]]:
            state = "ask_empty"
        elif no_bid[ends[0]] or no_bid[ends[1]]:
            state = "bid_empty"
        else:
            state = "both_quoted"
        shares[state] += 1
        parts[state] += (r[k] - mean) * (r[k + 1] - mean) / denom
    acf, got = tool.split(last, out, no_ask, no_bid)
    assert acf == pytest.approx(sum(parts.values()), rel=1e-9, abs=1e-12)
    for state in tool.STATES:
        assert got[state][0] == pytest.approx(shares[state] / (len(r) - 1), abs=1e-12)
        assert got[state][1] == pytest.approx(parts[state], rel=1e-9, abs=1e-12)


def test_the_sellers_tool_moves_only_the_sellers(tmp_path: Path) -> None:
    tool = _load_tool("gold_2026_sellers")
    preset = load_preset("gold-2026")
    assert tool.world() == preset  # the defaults are the preset's
    world = tool.world(0.04, 250_000)
    *others, sellers = world.populations
    assert sellers.name == "premium_sellers"
    assert sellers.params.sides == "asks"
    assert sellers.params.offset == 0.04
    assert sellers.params.inventory_limit == 250_000
    assert others == list(preset.populations[:-1])
    assert world.replace(populations=preset.populations) == preset
    out = tmp_path / "sellers.toml"
    tool.main([str(out), "0.04", "250000"])
    assert load_toml(out) == world
    # At a hundredth of the size they only ever sell, and they do sell.
    accounts = simulate(world.scaled(0.01), 0).accounts
    assert accounts.loc["premium_sellers", "long_lots"] == 0
    assert accounts.loc["premium_sellers", "short_lots"] > 0


def test_the_sellers_tool_writes_the_world_before_them(tmp_path: Path) -> None:
    tool = _load_tool("gold_2026_sellers")
    preset = load_preset("gold-2026")
    before = tool.world(None)
    names = [p.name for p in before.populations]
    assert names == [p.name for p in preset.populations if p.name != "premium_sellers"]
    changed = [
        p.name for p, q in zip(before.populations, preset.populations[:-1], strict=True) if p != q
    ]
    assert changed == ["cfd_retail"]
    assert before.populations[0].params.target_leverage.values == (3.0, 5.0, 8.0, 12.0, 15.0)
    out = tmp_path / "before.toml"
    tool.main([str(out), "none"])
    assert load_toml(out) == before


def test_the_sellers_tool_names_the_argument_it_refuses() -> None:
    tool = _load_tool("gold_2026_sellers")
    assert tool._parse(["out.toml"]) == ("out.toml", 0.03, 500_000)
    assert tool._parse(["out.toml", "none"]) == ("out.toml", None, 500_000)
    with pytest.raises(ValueError, match="usage"):
        tool._parse([])
    with pytest.raises(ValueError, match="OFFSET"):
        tool._parse(["out.toml", "three percent"])
    with pytest.raises(ValueError, match="LIMIT"):
        tool._parse(["out.toml", "0.03", "2e6"])
    with pytest.raises(
        ValueError,
        match=r"^populations\.premium_sellers\.params\.offset: must be in \[0\.0, 0\.5\]",
    ):
        tool.world(0.7, 500_000)
