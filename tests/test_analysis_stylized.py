"""Stylized facts on samples with known properties: Gaussian, Student-t(3), GARCH(1,1), AR(1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import (
    autocorrelation,
    excess_kurtosis,
    hill_tail_index,
    returns,
    stylized_facts,
)


def _garch(n: int, seed: int, omega: float = 1e-6, alpha: float = 0.1, beta: float = 0.88):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    r = np.empty(n)
    var = omega / (1.0 - alpha - beta)
    for t in range(n):
        r[t] = np.sqrt(var) * z[t]
        var = omega + alpha * r[t] ** 2 + beta * var
    return r


def test_gaussian_returns_have_no_excess_kurtosis_and_no_autocorrelation() -> None:
    r = np.random.default_rng(11).normal(0.0, 0.01, 20_000)
    assert abs(excess_kurtosis(r)) < 0.12  # standard error ~ sqrt(24 / n) = 0.035
    assert autocorrelation(r, 10).abs().max() < 0.03  # standard error ~ 0.007
    assert autocorrelation(np.abs(r), 10).abs().max() < 0.03


def test_laplace_excess_kurtosis_is_three() -> None:
    r = np.random.default_rng(2).laplace(0.0, 1.0, 200_000)
    assert excess_kurtosis(r) == pytest.approx(3.0, abs=0.25)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hill_index_of_student_t3_is_near_three(seed: int) -> None:
    r = np.random.default_rng(seed).standard_t(3, 50_000)
    assert 2.6 < hill_tail_index(r, 0.01) < 3.4
    assert 2.4 < hill_tail_index(r, 0.02, tail="left") < 3.6
    assert 2.4 < hill_tail_index(r, 0.02, tail="right") < 3.6
    # Gaussian tails are thinner: a much larger estimate.
    g = np.random.default_rng(seed).normal(size=50_000)
    assert hill_tail_index(g, 0.01) > 5.0


def test_hill_index_of_an_exact_pareto_sample() -> None:
    x = np.random.default_rng(4).pareto(2.0, 100_000) + 1.0  # P(X > x) = x^-2
    assert hill_tail_index(x, 0.1, tail="right") == pytest.approx(2.0, rel=0.05)


def test_garch_volatility_clusters_while_returns_stay_uncorrelated() -> None:
    r = _garch(20_000, seed=1)
    acf = autocorrelation(r, 10)
    abs_acf = autocorrelation(np.abs(r), [1, 5, 10, 20])
    assert acf.abs().max() < 0.03
    assert (abs_acf > 0.02).all()
    assert abs_acf[1] > 0.1
    assert abs_acf[1] > abs_acf[5] > abs_acf[10] > abs_acf[20]
    assert excess_kurtosis(r) > 0.5


def test_autocorrelation_of_an_ar1_process() -> None:
    rng = np.random.default_rng(3)
    e = rng.normal(size=50_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = 0.5 * x[t - 1] + e[t]
    acf = autocorrelation(pd.Series(x), [1, 2, 3])
    np.testing.assert_allclose(acf.to_numpy(), [0.5, 0.25, 0.125], atol=0.02)
    assert list(acf.index) == [1, 2, 3]


def test_returns_and_the_summary_dict() -> None:
    rng = np.random.default_rng(8)
    prices = pd.Series(100.0 * np.exp(np.cumsum(_garch(6_000, seed=8))))
    r = returns(prices, 3)
    assert len(r) == (len(prices) - 1) // 3
    assert r.iloc[0] == pytest.approx(np.log(prices.iloc[3] / prices.iloc[0]))
    facts = stylized_facts(prices, horizon=1, lags=5)
    assert isinstance(facts, dict)
    assert facts["returns"] == len(prices) - 1
    assert list(facts["acf"].index) == [1, 2, 3, 4, 5]
    assert facts["abs_acf_1"] > 0.05
    assert facts["acf_max_abs"] < 0.06
    assert facts["hill"] > 2.0
    del rng


@pytest.mark.parametrize("fraction", [0.0, -0.1, 0.51, 1.0, float("nan")])
def test_tail_fraction_outside_half_unit_interval_is_rejected(fraction: float) -> None:
    r = np.random.default_rng(0).normal(size=1000)
    with pytest.raises(ValueError, match=r"tail_fraction: must be in \(0.0, 0.5\]"):
        hill_tail_index(r, fraction)
    with pytest.raises(ValueError, match="tail_fraction"):
        stylized_facts(pd.Series(np.exp(np.cumsum(r))), tail_fraction=fraction)


def test_bad_inputs_are_rejected() -> None:
    r = np.random.default_rng(0).normal(size=100)
    with pytest.raises(ValueError, match="k >= 10"):
        hill_tail_index(r, 0.05)
    with pytest.raises(ValueError, match="finite"):
        excess_kurtosis(np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="at least 4"):
        excess_kurtosis(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        autocorrelation(np.ones((3, 3)))
    with pytest.raises(ValueError, match="lags"):
        autocorrelation(r, [0])
    with pytest.raises(ValueError, match="lags"):
        autocorrelation(r, [100])
    with pytest.raises(ValueError, match="tail"):
        hill_tail_index(np.random.default_rng(0).normal(size=1000), 0.05, tail="up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="horizon"):
        returns(pd.Series([1.0, 2.0, 3.0]), 3)
