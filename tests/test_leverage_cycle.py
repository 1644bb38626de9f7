"""The leverage-cycle preset: value funds with a leverage cap against noise traders
whose mood sets their holdings (after Thurner, Farmer and Geanakoplos 2012).

Its headline figures at reduced size fall in the ranges of docs/leverage-cycle.md,
and across a sweep of the cap (beta fixed, the same seeds at every cap) the
one-minute returns grow fatter tails and more clustered volatility at 10x than at
1x, while neither cap makes them trend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deleverage
from deleverage.analysis import stylized_facts
from deleverage.scenario import MarketMakerParams, NoiseParams, ValueParams
from deleverage.scenarios import PRESETS, load_preset
from deleverage.simulate import simulate
from deleverage.sweeps import series_path

LEVERAGE = "populations.funds.params.leverage"
AGGRESSIVENESS = "populations.funds.params.aggressiveness"
BETA = 2000.0  # the funds' target leverage per unit of relative mispricing
HORIZON = 60  # one-minute returns
REDUCED = 506  # about half the accounts: 500 noise traders, 5 funds, the dealer


def _facts(last: pd.Series) -> dict[str, float]:
    facts = stylized_facts(last, horizon=HORIZON, lags=10)
    return {
        "excess_kurtosis": facts["excess_kurtosis"],
        "hill": facts["hill"],
        "abs_acf": float(facts["abs_acf"].mean()),
        "acf_1": float(facts["acf"].iloc[0]),
        "volatility": facts["volatility"],
    }


def test_preset_is_the_documented_world() -> None:
    assert "leverage-cycle" in PRESETS
    s = load_preset("leverage-cycle")
    pops = {pop.name: pop for pop in s.populations}
    p = pops["funds"].params
    assert isinstance(p, ValueParams)
    assert (p.leverage, p.aggressiveness, p.capital_fraction) == (10.0, 200.0, 1.0)
    assert p.leverage * p.aggressiveness * p.capital_fraction == BETA
    # the margin rule allows the cap (initial_rate <= 1 / lambda_max), risk limits are off
    asset = s.instrument("ASSET")
    assert asset.margin.initial_rate <= 1.0 / p.leverage
    assert p.vol_reference >= 50.0
    # a real market's fair volatility (1.6% a day), with no clustering of its own: the
    # fat tails and clustered volatility the sweep measures are the traders'
    assert asset.fundamental.volatility == 0.3
    assert asset.fundamental.vol_of_vol == 0.0
    assert not asset.fundamental.shocks
    noise = pops["noise"].params
    assert isinstance(noise, NoiseParams)
    # the mood sets holdings (no flow that leans one way for hours), and the one
    # dealer quotes around value and prices its inventory
    assert (noise.sentiment_persistence, noise.sentiment_volatility) == (0.9998, 0.01)
    assert noise.sentiment_position == 30.0
    dealer = pops["dealers"].params
    assert isinstance(dealer, MarketMakerParams)
    assert (pops["dealers"].accounts, dealer.fair_weight, dealer.inventory_skew) == (1, 1.0, 0.4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_headline_figures_at_reduced_size(seed: int) -> None:
    world = load_preset("leverage-cycle").with_accounts(REDUCED)
    assert [p.accounts for p in world.populations] == [500, 5, 1]
    result = simulate(world, seed, progress=False)
    facts = _facts(result.series["ASSET"]["last"])
    metrics = result.metrics()
    # The documented ranges (docs/leverage-cycle.md, reduced size, seeds 0-4):
    # half the crowd against the same dealer, so a tamer day than the full world's.
    assert -0.5 <= facts["excess_kurtosis"] <= 3.0
    assert 3.5 <= facts["hill"] <= 6.5
    assert 0.01 <= facts["abs_acf"] <= 0.15
    assert abs(facts["acf_1"]) <= 0.2
    assert 0.0004 <= facts["volatility"] <= 0.001
    assert 0.01 <= metrics["max_drawdown"] <= 0.05
    # nobody is liquidated: noise traders are unlevered, the dealer rich, and the
    # funds' cap binds well before their margin does
    assert (result.accounts["liquidated"] == 0).all()


def _sweep(tmp_path: Path, caps: list[float], seeds: list[int]) -> pd.DataFrame:
    points = pd.DataFrame({LEVERAGE: caps, AGGRESSIVENESS: [BETA / c for c in caps]})
    out = tmp_path / "sweep"
    table = deleverage.sweep(
        load_preset("leverage-cycle"),
        points,
        seeds=seeds,
        out=str(out),
        series=True,
        progress=False,
    )
    assert table["error"].isna().all()
    facts = [
        _facts(pd.read_parquet(series_path(out, int(run)))["ASSET.last"]) for run in table["run"]
    ]
    return pd.concat([table[[LEVERAGE, "seed", "liquidations"]], pd.DataFrame(facts)], axis=1)


def test_leverage_fattens_tails_and_clusters_volatility(tmp_path: Path) -> None:
    """1x against 10x over seeds 0-7, paired on seeds: the same noise traders' moods,
    the same funds' slope beta; only the cap differs."""
    seeds = list(range(8))
    rows = _sweep(tmp_path, [1.0, 10.0], seeds)
    low = rows[rows[LEVERAGE] == 1.0].set_index("seed").loc[seeds]
    high = rows[rows[LEVERAGE] == 10.0].set_index("seed").loc[seeds]

    # Fat tails: excess kurtosis up and tail index down in most seeds, and on average.
    # (Measured: 7 of 8 and 8 of 8; kurtosis 0.35 -> 3.28, Hill 5.84 -> 3.64 on average.)
    assert np.sum(high["excess_kurtosis"] > low["excess_kurtosis"]) >= 6
    assert high["excess_kurtosis"].mean() > low["excess_kurtosis"].mean() + 2.0
    assert np.sum(high["hill"] < low["hill"]) >= 6
    assert high["hill"].mean() < low["hill"].mean() - 1.0
    # Clustered volatility: |r| more autocorrelated (measured 8 of 8; 0.026 -> 0.164).
    assert np.sum(high["abs_acf"] > low["abs_acf"]) >= 6
    assert high["abs_acf"].mean() > 2.0 * low["abs_acf"].mean()
    # At 1x returns are close to Gaussian: the funds cannot push back hard enough.
    assert low["excess_kurtosis"].median() < 1.0
    # No trend at either cap: the mood sets holdings, so one-minute returns keep
    # no memory (measured 0.12 to 0.15 at 1x, -0.16 to -0.01 at 10x; when the mood
    # tilted the flow, 0.37 to 0.43 at 1x).
    assert (low["acf_1"].abs() < 0.2).all()
    assert (high["acf_1"].abs() < 0.2).all()
