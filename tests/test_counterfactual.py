"""Cause attribution by paired runs: known answers, reproducibility, the tables,
the command line and the errors of bad input."""

from __future__ import annotations

import dataclasses as dc
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from deleverage import MarginRule
from deleverage.cli import main
from deleverage.counterfactuals import (
    CounterfactualResult,
    cap_leverage,
    counterfactual,
)
from deleverage.scenario import (
    Distribution,
    Fundamental,
    MarketMakerParams,
    Policy,
    Scenario,
    Shock,
    SpeculatorParams,
    ValueParams,
)
from deleverage.scenarios import load_preset

LEVER_SHOCKS = (Shock(300, "jump", 0.04), Shock(1800, "jump", -0.06))


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_preset("default-hour")


def _leverage_world(
    base: Scenario, leveraged: bool, shocks: tuple[Shock, ...] = LEVER_SHOCKS
) -> Scenario:
    """Good news (+4%) then bad (-6%), into momentum speculators leveraged 10-25x
    or capped at 1x; everything else identical (as in tests/test_simulation.py)."""
    inst = dc.replace(
        base.instruments[0],
        margin=MarginRule(initial_rate=0.04, maintenance_rate=0.02),
        mark="last",
        fundamental=Fundamental(volatility=0.16, shocks=shocks),
    )
    by = {p.name: p for p in base.populations}
    leverage = (
        SpeculatorParams(target_leverage=Distribution.uniform(10.0, 25.0), max_leverage=25.0)
        if leveraged
        else SpeculatorParams(target_leverage=Distribution.fixed(1.0), max_leverage=1.0)
    )
    spec = dc.replace(by["speculators"], cash=Distribution.lognormal(2e5, 0.5), params=leverage)
    value = dc.replace(
        by["value"],
        cash=Distribution.lognormal(5e6, 0.3),
        params=ValueParams(vol_exit=1.5, vol_reference=1.0),
    )
    makers = dc.replace(
        by["market_makers"],
        params=MarketMakerParams(
            vol_withdraw=1.5, inventory_limit=20_000, depth_lots=Distribution.uniform(20, 60)
        ),
    )
    return base.replace(
        instruments=(inst,),
        populations=(spec, by["noise"], value, makers, by["holders"]),
        policy=Policy(),
    )


def _same(a: CounterfactualResult, b: CounterfactualResult) -> None:
    pd.testing.assert_frame_equal(a.shares, b.shares)
    pd.testing.assert_frame_equal(a.runs, b.runs)
    assert a.seeds == b.seeds


def test_shares_are_reproducible_whatever_runs_them(base: Scenario) -> None:
    world = base.with_steps(2400)
    kwargs = {"factors": ("leverage", "news"), "seeds": 3, "seed": 5}
    two = counterfactual(world, workers=2, **kwargs)  # type: ignore[arg-type]
    _same(two, counterfactual(world, workers=2, **kwargs))  # type: ignore[arg-type]
    _same(two, counterfactual(world, workers=1, **kwargs))  # type: ignore[arg-type]
    with ThreadPoolExecutor(3) as pool:
        _same(two, counterfactual(world, executor=pool, **kwargs))  # type: ignore[arg-type]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as procs:
        _same(two, counterfactual(world, executor=procs, **kwargs))  # type: ignore[arg-type]
    other = counterfactual(world, workers=2, factors=("leverage", "news"), seeds=3, seed=6)
    assert other.seeds != two.seeds


def test_leverage_explains_part_of_the_drawdown_and_every_liquidation(base: Scenario) -> None:
    levered = _leverage_world(base, leveraged=True)
    # The factor's world is exactly the capped world of the paired-seed test.
    assert cap_leverage(levered) == _leverage_world(base, leveraged=False)
    r = counterfactual(levered, ("leverage",), seeds=8, workers=2)
    share, low, high = r.share("leverage")
    # Measured: 13% [2%, 20%], lower in 7 of 8 seeds.
    assert 0.0 < low < share < high < 1.0
    assert r.shares.loc["leverage", "drawdown_lowered"] >= 6
    # Known answer: nobody is liquidated at 1x, so leverage explains all of it.
    assert r.share("leverage", "liquidated_notional") == (1.0, 1.0, 1.0)
    runs = r.runs.set_index(["world", "seed_index"])
    assert (runs.loc["leverage", "liquidated_notional"] == 0.0).all()
    assert (runs.loc["baseline", "liquidated_notional"] > 0.0).all()
    # One factor: the joint world is that factor's, and nothing interacts.
    assert r.share("joint") == r.share("leverage")
    assert r.shares.loc["interaction", "drawdown_share"] == pytest.approx(0.0, abs=1e-12)
    assert r.shares.loc["remainder", "drawdown_share"] == pytest.approx(1.0 - share)


def test_news_explains_the_drawdown_of_an_unlevered_world(base: Scenario) -> None:
    unlevered = _leverage_world(base, leveraged=False, shocks=(Shock(1800, "jump", -0.10),))
    r = counterfactual(unlevered, ("news", "leverage"), seeds=4, workers=2)
    share, low, _ = r.share("news")
    assert share > 0.9  # measured: 95%
    assert low > 0.85
    assert r.shares.loc["news", "drawdown_lowered"] == 4
    # Nothing to cap: flagged, not run, and no silent zero.
    assert not r.shares.loc["leverage", "changed"]
    assert np.isnan(r.shares.loc["leverage", "drawdown_share"])
    assert set(r.runs["world"]) == {"baseline", "news", "joint"}
    # Without shocks, removing the news changes nothing and is flagged.
    calm = _leverage_world(base, leveraged=False, shocks=())
    flagged = counterfactual(calm, ("news",), seeds=2, workers=2)
    assert not flagged.shares.loc["news", "changed"]
    assert not flagged.shares.loc["joint", "changed"]
    assert flagged.shares["drawdown_share"].isna().all()
    assert set(flagged.runs["world"]) == {"baseline"}
    assert "unchanged" in flagged.table()


def test_margin_hikes_flagged_only_without_changes_or_triggers(base: Scenario) -> None:
    world = base.with_steps(2700)
    r = counterfactual(world, ("margin_hikes",), seeds=2, workers=2)
    assert r.shares.loc["margin_hikes", "changed"]
    none = world.replace(policy=Policy())
    r = counterfactual(none, ("margin_hikes",), seeds=2, workers=2, confidence=None)
    assert not r.shares.loc["margin_hikes", "changed"]


def test_the_tables_and_their_plain_forms(base: Scenario) -> None:
    world = base.with_steps(2400)
    r = counterfactual(
        world,
        {"leverage": "leverage", "calm": "news", "rich_makers": _rich_makers},
        seeds=3,
        workers=2,
        metrics=("max_drawdown", "liquidated_notional", "liquidations"),
    )
    assert list(r.shares.index) == [
        "leverage",
        "calm",
        "rich_makers",
        "joint",
        "interaction",
        "remainder",
    ]
    assert list(r.shares["kind"]) == ["factor"] * 3 + ["joint", "interaction", "remainder"]
    for label in ("drawdown", "liquidation", "liquidations"):
        for column in ("share", "low", "high", "seed_share", "lowered", "baseline"):
            assert f"{label}_{column}" in r.shares.columns
    shares = r.shares.loc[["leverage", "calm", "rich_makers"], "drawdown_share"]
    joint = r.shares.loc["joint", "drawdown_share"]
    assert r.shares.loc["remainder", "drawdown_share"] == pytest.approx(1 - shares.sum())
    assert r.shares.loc["interaction", "drawdown_share"] == pytest.approx(joint - shares.sum())
    # Per-seed rows: the shares are (baseline - counterfactual) / baseline.
    runs = r.runs.set_index(["world", "seed_index"])
    assert len(r.runs) == 5 * 3
    b = runs.loc["baseline", "max_drawdown"].to_numpy()
    c = runs.loc["calm", "max_drawdown"].to_numpy()
    np.testing.assert_allclose(runs.loc["calm", "drawdown_share"], (b - c) / b)
    assert r.shares.loc["calm", "drawdown_share"] == pytest.approx((b.mean() - c.mean()) / b.mean())
    assert r.shares.loc["calm", "drawdown_lowered"] == int((c < b).sum())
    # Plain forms: JSON with nulls for NaN, and the same numbers.
    plain = json.loads(r.to_json())
    assert plain["seeds"] == list(r.seeds)
    assert [row["factor"] for row in plain["shares"]] == list(r.shares.index)
    assert plain["shares"][2]["drawdown_share"] == pytest.approx(
        r.shares.loc["rich_makers", "drawdown_share"], nan_ok=True
    )
    assert plain["shares"][4]["drawdown_lowered"] is None
    assert len(plain["runs"]) == len(r.runs)


def _rich_makers(s: Scenario) -> Scenario:
    """A custom factor: market makers with ten times the cash."""
    return s.replace(
        populations=tuple(
            dc.replace(p, cash=Distribution.fixed(2e7)) if p.strategy == "market_maker" else p
            for p in s.populations
        )
    )


def test_one_seed_without_an_interval(base: Scenario) -> None:
    r = counterfactual(base.with_steps(2400), ("news",), seeds=[7], confidence=None, workers=1)
    assert r.seeds == (7,)
    assert np.isnan(r.shares.loc["news", "drawdown_low"])
    assert r.share("news")[0] > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"factors": ["leverage", "luck"]}, ValueError, r"unknown factor 'luck'; known: lev"),
        ({"factors": {"mine": 42}}, TypeError, r"factors\['mine'\]: must be a built-in"),
        ({"seeds": 1}, ValueError, "seeds: an interval needs at least 2 seeds, got 1"),
        ({"seeds": 0}, ValueError, "seeds: must be >= 1"),
        ({"confidence": 1.0}, ValueError, r"confidence: must be in \(0, 1\) or None, got 1.0"),
        ({"confidence": 0.0}, ValueError, r"confidence: must be in \(0, 1\)"),
        ({"confidence": "95%"}, TypeError, "confidence: must be a number"),
        ({"metrics": ["drawdown"]}, ValueError, r"metrics\[0\]: must be one of max_drawdown"),
        ({"instrument": "BTC"}, ValueError, "instrument: must be one of GOLD, got 'BTC'"),
        ({"seed": -1}, ValueError, "seed: must be in 0..2"),
        ({"resamples": 0}, ValueError, r"resamples: must be in \[1, 1000000\]"),
        ({"workers": 0}, ValueError, "workers: must be an integer >= 1"),
    ],
)
def test_bad_input_is_refused(base: Scenario, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        counterfactual(base, **kwargs)


def test_a_scenario_is_required() -> None:
    with pytest.raises(TypeError, match="scenario: must be a Scenario, got str"):
        counterfactual("default")  # type: ignore[arg-type]


def test_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["counterfactual", "default", "--seeds", "2", "--factor", "leverage", "news"]
    assert main([*args, "--workers", "2", "--accounts", "600", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["factor"] for row in rows] == [
        "leverage",
        "news",
        "joint",
        "interaction",
        "remainder",
    ]
    assert rows[1]["liquidation_share"] == 1.0
    assert main([*args, "--factor", "dealers"]) == 0
    out = capsys.readouterr().out
    assert "drawdown share [95% interval]" in out
    assert "dealers" in out
    assert main(["counterfactual", "default", "--factor", "hope"]) == 2
    assert "unknown factor 'hope'; known: leverage, dealers" in capsys.readouterr().err
