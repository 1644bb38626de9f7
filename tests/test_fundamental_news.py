"""A fair value with news: the engine's process against its closed form.

With ``news_share = s`` and ``lam`` news items expected a step at the mean
volatility, a step's log return is a diffusion of variance ``(1 - s) sigma^2 m dt``
plus ``N`` Gaussian items of variance ``s sigma^2 dt / lam`` each, ``N`` Poisson of
mean ``lam m``, with ``m = exp(2 (x - eta^2))`` the stochastic variance's multiple
(``x`` the Gaussian AR(1) of test_fundamental_volatility.py; ``m = 1`` without it).
So for per-step returns r, with ``M = exp(4 eta^2)``:

- ``E[r^2] = sigma^2 dt`` (the volatility stays the total);
- excess kurtosis ``3 (M - 1) + 3 s^2 / lam``;
- ``corr(r_t^2, r_{t+L}^2) = (exp(4 eta^2 phi^L) - 1) / (3 M + 3 s^2 / lam - 1)``:
  the news keeps the volatility's clusters because its rate follows ``m``
  (at a constant rate the covariance would be ``(1 - s)^2`` of it);
- without stochastic volatility, ``P(|r| <= c) = sum_n P(N = n) erf(c / sqrt(2 v_n))``
  with ``v_n = (1 - s) sigma^2 dt + n s sigma^2 dt / lam``: the count's own law,
  checked at several levels ``c``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import pytest

from deleverage.analysis.stylized import excess_kurtosis
from deleverage.scenario import Fundamental, Scenario, Waypoint, from_toml_str, to_toml_str
from deleverage.simulate import simulate

YEAR = 365 * 86400
SIGMA = 0.3  # the diffusion_world's volatility (conftest.py); its clock steps one second
SHARE, ITEMS_A_STEP, ETA, HALF_LIFE, STEPS = 0.5, 0.05, 0.35, 600.0, 300_000
RATE = ITEMS_A_STEP * 86_400.0  # news items a day
World = Callable[..., Scenario]  # conftest.py's diffusion_world


def _returns(world: Scenario, seed: int) -> np.ndarray:
    fair = simulate(world, seed, progress=False).series[("GOLD", "fair")].to_numpy()
    return np.diff(np.log(fair))


def _acf(x: np.ndarray, lag: int) -> float:
    d = x - x.mean()
    return float(d[:-lag] @ d[lag:]) / float(d @ d)


@pytest.fixture(scope="module")
def clustered(diffusion_world: World) -> list[np.ndarray]:
    world = diffusion_world(
        STEPS, vol_of_vol=ETA, vol_half_life=HALF_LIFE, news_share=SHARE, news_rate=RATE
    )
    return [_returns(world, seed) for seed in (0, 1, 2)]


def test_the_volatility_stays_the_total(clustered: list[np.ndarray]) -> None:
    dt = 1.0 / YEAR
    ratio = np.mean([np.mean(r**2) for r in clustered]) / (SIGMA**2 * dt)
    assert ratio == pytest.approx(1.0, abs=0.06)


def test_fat_tails_as_the_closed_form(clustered: list[np.ndarray]) -> None:
    expected = 3 * (math.exp(4 * ETA**2) - 1) + 3 * SHARE**2 / ITEMS_A_STEP  # 1.90 + 15
    measured = np.mean([excess_kurtosis(r) for r in clustered])
    assert measured == pytest.approx(expected, rel=0.15)


def test_news_keeps_the_clusters(clustered: list[np.ndarray]) -> None:
    """The squared returns' memory is the stochastic variance's: the news rate follows it."""
    phi = 2.0 ** (-1.0 / HALF_LIFE)
    big_m = math.exp(4 * ETA**2)
    denominator = 3 * big_m + 3 * SHARE**2 / ITEMS_A_STEP - 1
    lags = range(1, 61)
    expected = np.mean([(math.exp(4 * ETA**2 * phi**lag) - 1) / denominator for lag in lags])
    measured = np.mean([_acf(r**2, lag) for r in clustered for lag in lags])
    # At a constant news rate it would be a quarter of this ((1 - s)^2).
    assert measured == pytest.approx(expected, rel=0.3)


def test_the_count_is_poisson(diffusion_world: World) -> None:
    """The law of |r| at several levels: a mixture over the Poisson count."""
    share, lam, dt = 0.9, 0.5, 10.0  # ten-second steps: 4,320 items a day
    world = diffusion_world(STEPS, news_share=share, news_rate=lam * 86_400.0 / dt)
    world = world.replace(clock=dataclasses.replace(world.clock, dt=dt))
    r = np.abs(np.concatenate([_returns(world, seed) for seed in (4, 5)]))
    unit = SIGMA**2 * dt / YEAR
    item = math.sqrt(share * unit / lam)
    for level in (0.1, 0.5, 1.0, 2.0, 3.0):
        c = level * item
        expected = 0.0
        p = math.exp(-lam)
        for n in range(30):
            if n:
                p *= lam / n
            v = (1 - share) * unit + n * item**2
            expected += p * math.erf(c / math.sqrt(2 * v))
        measured = float(np.mean(r <= c))
        standard_error = math.sqrt(expected * (1 - expected) / len(r))
        assert abs(measured - expected) < 5 * standard_error, level


def test_no_news_draws_as_before(diffusion_world: World) -> None:
    """news_share = 0 takes no draw: the same path whatever the rate."""
    a = _returns(diffusion_world(20_000, vol_of_vol=0.5), 3)
    b = _returns(diffusion_world(20_000, vol_of_vol=0.5, news_rate=3.0), 3)
    assert np.array_equal(a, b)
    c = _returns(diffusion_world(20_000, vol_of_vol=0.5, news_share=0.3), 3)
    assert not np.array_equal(a, c)


def test_same_seed_same_path(diffusion_world: World) -> None:
    world = diffusion_world(20_000, vol_of_vol=0.6, news_share=0.4, news_rate=500.0)
    assert np.array_equal(_returns(world, 7), _returns(world, 7))


def test_waypoints_hold_through_news(diffusion_world: World) -> None:
    points = (Waypoint(500, 2100.0), Waypoint(4_000, 1900.0))
    world = diffusion_world(5_000, waypoints=points, news_share=0.8, news_rate=2_000.0)
    fair = simulate(world, 2, progress=False).series[("GOLD", "fair")].to_numpy()
    for w in points:
        assert fair[w.step] == pytest.approx(w.price, rel=1e-12)


def test_a_large_expected_count_is_taken_at_its_mean(diffusion_world: World) -> None:
    """A clock of one-day steps at 10,000 items a day: the variance is still the total."""
    world = diffusion_world(20_000, news_share=0.9, news_rate=10_000.0)
    world = world.replace(clock=dataclasses.replace(world.clock, dt=86_400.0))
    r = _returns(world, 1)
    assert np.mean(r**2) / (SIGMA**2 * 86_400.0 / YEAR) == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("news_share", -0.1, ValueError, r"news_share: must be in \[0.0, 0.95\], got -0.1"),
        ("news_share", 0.96, ValueError, r"news_share: must be in \[0.0, 0.95\]"),
        ("news_share", math.nan, ValueError, "news_share: must be finite"),
        ("news_share", "0.5", TypeError, "news_share: must be a number"),
        ("news_rate", 0.0, ValueError, r"news_rate: must be in \(0.0, 10000.0\]"),
        ("news_rate", -2.0, ValueError, "news_rate"),
        ("news_rate", 2e4, ValueError, r"news_rate: must be in \(0.0, 10000.0\], got 20000"),
    ],
)
def test_bad_input_names_the_field(field: str, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Fundamental(**{field: value})  # type: ignore[arg-type]


def test_a_followed_path_has_no_news() -> None:
    with pytest.raises(ValueError, match="news_share: a fair value that follows a path"):
        Fundamental(path="prices.csv", news_share=0.2)


def test_news_reads_and_writes_as_toml(diffusion_world: World) -> None:
    world = diffusion_world(1_000, news_share=0.25, news_rate=9.5)
    again = from_toml_str(to_toml_str(world))
    f = again.instruments[0].fundamental
    assert (f.news_share, f.news_rate) == (0.25, 9.5)
    assert again == world
