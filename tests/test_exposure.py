"""Result.exposure (each population's gross notional and positive equity at the
leverage samples) and the pooled leverage built from it."""

from __future__ import annotations

import numpy as np
import pytest

from deleverage.scenarios import load_preset
from deleverage.simulate import simulate


@pytest.fixture(scope="module")
def result():
    return simulate(load_preset("default-hour"), seed=2)


def test_exposure_gives_each_population_its_leverage(result) -> None:
    for name in result.leverage.columns:
        notional = result.exposure[(name, "notional")].to_numpy()
        equity = result.exposure[(name, "equity")].to_numpy()
        want = np.where(equity > 0, notional / np.where(equity > 0, equity, 1.0), 0.0)
        assert np.array_equal(result.leverage[name].to_numpy(), want), name
        assert result.aggregate_leverage([name]).to_numpy().tolist() == want.tolist()


def test_final_notional_matches_the_positions_at_the_last_mark(result) -> None:
    spec = result.scenario.instruments[0]
    mark = result.series[(spec.name, "mark")].iloc[-1]
    assert result.exposure.index[-1] == result.series.index[-1]
    for name, row in result.accounts.iterrows():
        lots = row["long_lots"] + row["short_lots"]
        got = result.exposure[(name, "notional")].iloc[-1]
        assert got == pytest.approx(lots * mark * spec.lot_size, rel=1e-12), name


def test_pooled_leverage_is_total_notional_over_total_equity(result) -> None:
    names = ["speculators", "noise", "value", "holders"]  # every population but the makers
    notional = sum(result.exposure[(n, "notional")] for n in names)
    equity = sum(result.exposure[(n, "equity")] for n in names)
    pooled = result.aggregate_leverage()
    assert np.allclose(pooled.to_numpy(), (notional / equity).to_numpy(), rtol=1e-12)
    # Pooling sits between its members' extremes.
    lev = result.leverage[names]
    assert (pooled <= lev.max(axis=1) + 1e-12).all()
    assert (pooled >= lev.min(axis=1) - 1e-12).all()


def test_pooled_leverage_rejects_unknown_populations(result) -> None:
    with pytest.raises(ValueError, match=r"^populations: unknown population 'nobody'"):
        result.aggregate_leverage(["speculators", "nobody"])
