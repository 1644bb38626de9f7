"""Correlation of returns between instruments, built from common factors with known correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import correlation_matrix, event_correlation, rolling_correlation

LOADINGS = np.array([0.9, 0.6, 0.3])


def _factor_returns(n: int, loadings: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """r_i = b_i f + sqrt(1 - b_i^2) e_i: unit variance, corr(r_i, r_j) = b_i b_j."""
    f = rng.normal(size=(n, 1))
    e = rng.normal(size=(n, len(loadings)))
    return 0.001 * (f * loadings + e * np.sqrt(1.0 - loadings**2))


def _prices(r: np.ndarray, names: list[str]) -> pd.DataFrame:
    t = pd.Index(np.arange(len(r) + 1, dtype=float), name="time")
    levels = 100.0 * np.exp(np.vstack([np.zeros(r.shape[1]), np.cumsum(r, axis=0)]))
    return pd.DataFrame(levels, index=t, columns=names)


def test_event_correlation_calm_and_stress() -> None:
    rng = np.random.default_rng(1)
    calm = _factor_returns(5000, np.array([0.3, 0.3]), rng)  # corr 0.09
    stress = _factor_returns(5000, np.array([0.9, 0.9]), rng)  # corr 0.81
    prices = _prices(np.vstack([calm, stress]), ["GOLD", "SILVER"])
    e = event_correlation(prices, 5001.0, calm=5000, stress=5000)
    assert e.calm_returns == 5000
    assert e.stress_returns == 5000
    assert e.calm.loc["GOLD", "SILVER"] == pytest.approx(0.09, abs=0.04)
    assert e.stress.loc["GOLD", "SILVER"] == pytest.approx(0.81, abs=0.02)
    assert e.change.loc["GOLD", "SILVER"] == pytest.approx(0.72, abs=0.05)
    assert e.change.loc["GOLD", "GOLD"] == pytest.approx(0.0)
    # Spans as Timedelta on a seconds index.
    e2 = event_correlation(prices, 5001.0, calm="1000s", stress=pd.Timedelta(seconds=1000))
    assert e2.calm_returns == e2.stress_returns == 1000


def test_three_instruments_match_the_factor_model() -> None:
    rng = np.random.default_rng(2)
    prices = _prices(_factor_returns(20_000, LOADINGS, rng), ["A", "B", "C"])
    e = event_correlation(prices, 10_001.0, calm=10_000, stress=9_999)
    expected = np.outer(LOADINGS, LOADINGS)
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(e.calm.to_numpy(), expected, atol=0.03)
    np.testing.assert_allclose(e.stress.to_numpy(), expected, atol=0.03)


def test_rolling_correlation_pairs_and_horizon() -> None:
    rng = np.random.default_rng(3)
    prices = _prices(_factor_returns(20_000, LOADINGS, rng), ["A", "B", "C"])
    rc = rolling_correlation(prices, 2000)
    assert list(rc.columns) == ["A~B", "A~C", "B~C"]
    assert rc.iloc[:1998].isna().all().all()
    full = rc.dropna()
    np.testing.assert_allclose(full.mean().to_numpy(), [0.54, 0.27, 0.18], atol=0.02)
    # Non-overlapping 5-step returns of iid returns keep the same correlation.
    r5 = rolling_correlation(prices, 10_000, horizon=5)
    assert len(r5) == 4000
    np.testing.assert_allclose(r5.dropna().mean().to_numpy(), [0.54, 0.27, 0.18], atol=0.04)


def test_a_longer_horizon_removes_the_bid_ask_bounce() -> None:
    rng = np.random.default_rng(4)
    prices = _prices(_factor_returns(20_000, np.array([0.8, 0.8]), rng), ["A", "B"])
    # Trade prices bounce between bid and ask independently of the other market:
    # over h steps, corr = 0.64 * v h / (v h + 2 b^2) with v = 1e-6, b = 0.001.
    bounce = np.exp(0.001 * rng.choice([-1.0, 1.0], size=prices.shape))
    traded = prices * bounce
    one = rolling_correlation(traded, 19_000).dropna().iloc[-1, 0]
    fifty = rolling_correlation(traded, 19_000, horizon=50).dropna().iloc[-1, 0]
    assert one == pytest.approx(0.64 / 3, abs=0.03)
    assert fifty == pytest.approx(0.64 * 50 / 52, abs=0.1)


def test_correlation_matrix_of_returns() -> None:
    r = pd.DataFrame(_factor_returns(10_000, LOADINGS, np.random.default_rng(5)))
    m = correlation_matrix(r)
    assert m.iloc[0, 1] == pytest.approx(0.54, abs=0.03)
    with pytest.raises(ValueError, match="at least 3"):
        correlation_matrix(r.iloc[:2])


def test_bad_inputs_are_rejected() -> None:
    rng = np.random.default_rng(6)
    prices = _prices(_factor_returns(100, LOADINGS, rng), ["A", "B", "C"])
    with pytest.raises(ValueError, match="at least 2 instruments"):
        rolling_correlation(prices[["A"]], 10)
    with pytest.raises(ValueError, match="at least 3 returns"):
        rolling_correlation(prices, 4, horizon=2)
    with pytest.raises(ValueError, match="shorter than the series"):
        rolling_correlation(prices, 500)
    with pytest.raises(ValueError, match="> 0"):
        rolling_correlation(prices - 200.0, 10)
    with pytest.raises(ValueError, match="calm: reaches before"):
        event_correlation(prices, 20.0, calm=30, stress=10)
    with pytest.raises(ValueError, match="stress: runs past"):
        event_correlation(prices, 90.0, calm=30, stress=20)
    with pytest.raises(ValueError, match="at: the event time"):
        event_correlation(prices, calm=30, stress=20)
    with pytest.raises(TypeError, match="DataFrame"):
        rolling_correlation(prices["A"], 10)
