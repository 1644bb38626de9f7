"""The gold-2026 preset at a twentieth of its size (``Scenario.scaled(0.05)``,
50,691 accounts, dealers and insurance fund scaled too): its crash-day figures
fall in the ranges docs/gold-2026.md gives for that size, the crash needs both
the news and the leverage, and ``episode_metrics`` agrees with the series it
summarises."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from deleverage.analysis import episode_metrics, market_facts
from deleverage.counterfactuals.factors import cap_leverage, no_news
from deleverage.dates import run_start, seconds_of
from deleverage.scenario import Episode, InstrumentSpec
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

SEEDS = (0, 1, 2, 3)
NEWS_STEP = 47_580  # 30 January 01:00


@pytest.fixture(scope="module")
def world():
    return load_preset("gold-2026").scaled(0.05)


@pytest.fixture(scope="module")
def runs(world):
    return {seed: simulate(world, seed) for seed in SEEDS}


@pytest.fixture(scope="module")
def figures(runs):
    return pd.DataFrame({seed: episode_metrics(r) for seed, r in runs.items()}).T


def test_the_preset_is_the_documented_world() -> None:
    s = load_preset("gold-2026")
    assert s.total_accounts == 1_013_468
    assert s.episode == Episode(crash_day=33, period_start_day=4, period_name="january", end_day=37)
    assert s.clock.steps == 41 * 1440  # to the close of 6 February: three days after the episode
    assert [i.asset_class for i in s.instruments] == ["", "equity_index", "crypto"]
    rates = [c.margin.maintenance_rate for c in s.policy.margin_changes]
    assert rates == [0.05, 0.06, 0.08]  # COMEX: fixed, then 5%, 6%, 8% of notional


def test_crash_day_figures_in_their_documented_ranges(figures) -> None:
    f = figures
    assert f["january_return"].between(0.06, 0.20).all()
    # Above fair value into the 29th in most seeds (the target asks 7 of 8): at this
    # size a crowd can still flush itself before the news (seed 0: 1.8% left on the 29th).
    assert f["premium_before"].between(0.02, 0.12).sum() >= 2
    assert (f["premium_before"] > 0).all()
    assert f["crash_day_return"].between(-0.14, -0.07).sum() >= 3
    # A crowd flushed before the news falls by little more than the news (seed 0: -8.1%).
    assert f["crash_day_return"].between(-0.20, -0.06).all()
    # The crash day is the news (-6.8% of fair value) and the fall of the premium
    # the crowd had built: at least the one, at most both and a little more.
    assert (f["crash_day_return"] < -0.068 + 0.01).all()
    assert (f["crash_day_return"] > -0.068 - f["premium_before"] - 0.03).all()
    assert (f["crash_day_low_return"] < f["crash_day_return"]).all()  # a low below the close
    assert f["close_vs_10d_earlier"].abs().max() < 0.08  # back to mid-January's level
    assert f["close_vs_fair"].between(-0.02, 0.05).all()  # not far from fair value
    assert (f["long_share"] > 0.95).all()
    # Billions liquidated on the day, less where the crowd had flushed itself (seed 0: $0.8bn).
    assert (f["liquidated_notional"] > 1e9).sum() >= 3
    assert (f["liquidated_notional"] > 5e8).all()
    assert (f["max_spread_ratio"] >= 5).all()
    assert (f["min_depth_ratio"] <= 0.2).all()
    assert (f["crypto_crash_day_return"] < 0).all()
    assert (f["equity_index_crash_day_return"] < 0).sum() >= 3
    assert (f["leverage_after_over_peak"] < 0.5).all()
    assert (f["open_interest_after_over_peak"] < 0.6).all()


def test_the_run_is_deterministic(world, runs) -> None:
    again = simulate(world, SEEDS[0])
    assert again.series.equals(runs[SEEDS[0]].series)
    assert episode_metrics(again) == episode_metrics(runs[SEEDS[0]])


def _without_the_news(s):
    # Every shock of this world is the news of the 30th; the crash day's
    # waypoints carry it too, and no_news takes it out of them.
    assert {k.step for i in s.instruments for k in i.fundamental.shocks} == {NEWS_STEP}
    return no_news(s)


def test_no_news_no_crash(world, figures) -> None:
    quiet = _without_the_news(world)
    flushed = fell = 0
    for seed in SEEDS:
        calm = episode_metrics(simulate(quiet, seed))
        if calm["crash_day_return"] <= -0.04:
            # Without the news only a blow-off falls: a premium past the sellers'
            # ladder (3-6.5% over value) that the crowd cannot hold.
            assert figures.loc[seed, "premium_before"] > 0.065, seed
            fell += 1
        flushed += calm["liquidated_notional"] >= 0.3 * figures.loc[seed, "liquidated_notional"]
    # A crowd this leveraged can flush itself, but not in most seeds.
    assert fell <= 1
    assert flushed <= 1


def test_leverage_deepens_the_crash_of_the_same_news(world, figures) -> None:
    unlevered = cap_leverage(world)
    # The first two seeds whose crowd carried a premium into the news: where it
    # flushed itself before (seed 0 here), the crash day is little more than the news.
    carried = [seed for seed in SEEDS if figures.loc[seed, "premium_before"] >= 0.02]
    assert len(carried) >= 3
    for seed in carried[:2]:
        capped = episode_metrics(simulate(unlevered, seed))
        assert capped["crash_day_return"] > figures.loc[seed, "crash_day_return"] + 0.01
        assert capped["premium_before"] < figures.loc[seed, "premium_before"]
        # The discount after the flush is the leverage's: 0.4% as is, 0.06-0.11% at 1x.
        assert figures.loc[seed, "overshoot"] < capped["overshoot"] - 0.001


def test_ordinary_days_move_as_much_as_value(runs) -> None:
    """28-31 December (the quiet window): every instrument's price wanders about as
    much as its fair value, five-minute returns keep no linear memory, news clusters."""
    for seed, r in runs.items():
        facts = market_facts(r, horizons=(300,))
        assert facts["vol_ratio"].between(0.7, 1.5).all(), seed
        assert facts["return_acf_1"].abs().max() < 0.15, seed
        assert (facts["abs_acf_1"] > 0.1).all(), seed
        assert (facts["spread_bps"] < 5.0).all(), seed


def test_episode_metrics_agree_with_the_series(world, runs) -> None:
    r = runs[SEEDS[0]]
    m = episode_metrics(r)
    gold = r.series["GOLD"]
    day = (seconds_of(gold.index, run_start(r)) // 86_400).astype(int)  # day 0: 28 December
    close = gold["last"].groupby(day).last()
    low = gold["last"].groupby(day).min()
    fair = gold["fair"].groupby(day).last()
    assert m["january_return"] == pytest.approx(close[33] / close[3] - 1, abs=1e-15)
    assert m["crash_day_return"] == pytest.approx(close[33] / close[32] - 1, abs=1e-15)
    assert m["crash_day_low_return"] == pytest.approx(low[33] / close[32] - 1, abs=1e-15)
    assert m["close_vs_10d_earlier"] == pytest.approx(close[33] / close[23] - 1, abs=1e-15)
    assert m["close_vs_fair"] == pytest.approx(close[33] / fair[33] - 1, abs=1e-15)
    liq = r.liquidations
    on_30_january = liq["time"].dt.strftime("%Y-%m-%d") == "2026-01-30"  # day 33
    crash = liq[(liq["instrument"] == "GOLD") & on_30_january]
    assert m["liquidated_notional"] == pytest.approx(crash["notional"].sum(), rel=1e-12)
    longs = crash.loc[crash["side"] == "long", "notional"].sum()
    assert m["long_share"] == pytest.approx(longs / crash["notional"].sum(), rel=1e-12)
    index = r.series[("INDEX", "last")].groupby(day).last()
    assert m["equity_index_crash_day_return"] == pytest.approx(index[33] / index[32] - 1)
    # The aftermath's figures at the close of 3 February (end_day 37), not the run's end.
    end = pd.Timestamp("2026-02-04", tz="UTC")
    assert gold.index[-1] > end
    oi = gold["open_interest"][gold.index < end]
    assert m["open_interest_after_over_peak"] == pytest.approx(oi.iloc[-1] / oi.max())
    crowd = r.aggregate_leverage(["cfd_retail", "managed_money", "macro_accounts"])
    crowd = crowd[crowd.index <= end]
    assert m["leverage_after_over_peak"] == pytest.approx(crowd.iloc[-1] / crowd.max())
    # The overshoot: hourly means of last / fair - 1 from the crash day's open to the
    # aftermath's end; the recovery from it followed to the end of the run.
    crash_day = pd.Timestamp("2026-01-30", tz="UTC")  # day 33
    after = gold[gold.index >= crash_day]
    gap = after["last"] / after["fair"] - 1.0
    hourly = gap.groupby((after.index - crash_day) // pd.Timedelta(hours=1)).mean()
    searched = hourly[hourly.index < (end - crash_day) // pd.Timedelta(hours=1)]
    assert m["overshoot"] == pytest.approx(searched.min(), abs=1e-12)
    assert m["end_vs_fair"] == pytest.approx(gap[gap.index < end].iloc[-1], abs=1e-15)
    low = int(searched.idxmin())
    back = hourly[hourly.index >= low]
    back = back[back >= 0.5 * searched.min()]
    expected = (back.index[0] - low) if len(back) else math.inf
    assert m["recovery_hours"] == expected


def test_an_episode_ending_on_the_runs_last_day_is_the_whole_run(runs) -> None:
    r = runs[SEEDS[1]]
    last_day = r.scenario.clock.steps // 1440 - 1
    figures = []
    for end_day in (0, last_day):
        episode = dataclasses.replace(r.scenario.episode, end_day=end_day)
        figures.append(
            episode_metrics(dataclasses.replace(r, scenario=r.scenario.replace(episode=episode)))
        )
    assert figures[0] == figures[1]
    # Ending at 3 February reads the aftermath there, and the run's tail only for the recovery.
    m = episode_metrics(r)
    assert m["open_interest_after_over_peak"] != figures[0]["open_interest_after_over_peak"]
    assert m["overshoot"] >= figures[0]["overshoot"]


def test_episode_metrics_reject_bad_input(runs) -> None:
    r = runs[SEEDS[0]]
    with pytest.raises(TypeError, match=r"^result: must be a Result"):
        episode_metrics(r.series)  # type: ignore[arg-type]
    plain = dataclasses.replace(r, scenario=r.scenario.replace(episode=None, targets=()))
    with pytest.raises(ValueError, match=r"^result: scenario 'gold-2026' declares no episode"):
        episode_metrics(plain)
    with pytest.raises(ValueError, match=r"^instrument: must be one of"):
        episode_metrics(r, instrument="SILVER")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"crash_day": 0}, "crash_day"),
        ({"crash_day": 12, "period_start_day": 12}, "period_start_day"),
        ({"crash_day": 5, "lookback_days": 6}, "lookback_days"),
        ({"crash_day": 12, "period_name": "January"}, "period_name"),
        ({"crash_day": 12, "period_name": ""}, "period_name"),
        ({"crash_day": 12, "day": 0.0}, "day"),
        ({"crash_day": 12, "day": math.nan}, "day"),
        ({"crash_day": 12, "end_day": 11}, "end_day"),
        ({"crash_day": 12, "end_day": -1}, "end_day"),
        ({"crash_day": 12, "end_day": 13.0}, "end_day"),
    ],
)
def test_episode_rejects_bad_fields(changes: dict, field: str) -> None:
    with pytest.raises((ValueError, TypeError), match=rf"^{field}:"):
        Episode(**changes)


def test_scenario_checks_the_episode_against_its_clock(world) -> None:
    with pytest.raises(ValueError, match=r"^episode.crash_day: must be < 41"):
        world.replace(episode=Episode(crash_day=41))
    with pytest.raises(
        ValueError, match=r"^episode.end_day: must be < 41 \(the run's whole days\)"
    ):
        world.replace(episode=Episode(crash_day=33, end_day=41))
    with pytest.raises(
        ValueError, match=r"^end_day: must be 0 \(the run's last day\) or in \[crash_day \(33\)"
    ):
        Episode(crash_day=33, end_day=32)
    with pytest.raises(ValueError, match=r"^episode.day: must be a whole number of clock steps"):
        world.replace(episode=Episode(crash_day=3, lookback_days=1, day=90.0))
    with pytest.raises(ValueError, match=r"^asset_class:"):
        InstrumentSpec("X", 1.0, asset_class="Equity Index")
    assert InstrumentSpec("X", 1.0, asset_class="fx_2").asset_class == "fx_2"


def test_a_shorter_run_ends_the_aftermath_with_it(world) -> None:
    assert world.with_steps(40 * 1440).episode.end_day == 37  # 3 February still in the run
    cut = world.with_steps(36 * 1440)  # to the close of 1 February
    assert cut.episode == dataclasses.replace(world.episode, end_day=0)
    assert cut.clock.steps == 36 * 1440
    # Cut before the crash day's close: no episode to judge, nor its targets.
    early = world.with_steps(33 * 1440 + 1439)  # a minute short of the 30th's close
    assert early.episode is None
    assert [t.kind for t in early.targets if t.kind == "episode"] == []
    assert len(early.targets) == sum(t.kind != "episode" for t in world.targets)
    assert world.with_steps(34 * 1440).episode == cut.episode
