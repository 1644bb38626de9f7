"""A fair value with stochastic volatility: the engine's process against its closed form.

With ``vol_of_vol = eta`` and ``x`` a Gaussian AR(1) (stationary deviation eta,
persistence ``phi = 2 ** (-dt / half_life)`` a step), a step's log return is
``sigma exp(x - eta^2) sqrt(dt) z`` (plus a drift of order dt). Independent of
z, so for per-step returns r:

- ``E[r^2] = sigma^2 dt`` (the level's variance is kept);
- excess kurtosis ``3 (exp(4 eta^2) - 1)``;
- ``corr(r_t^2, r_{t+L}^2) = (exp(4 eta^2 phi^L) - 1) / (3 exp(4 eta^2) - 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from deleverage.analysis.stylized import excess_kurtosis
from deleverage.scenario import Fundamental, Scenario
from deleverage.simulate import simulate

YEAR = 365 * 86400
SIGMA, ETA, HALF_LIFE, STEPS = 0.3, 0.35, 600.0, 300_000
World = Callable[..., Scenario]  # conftest.py's diffusion_world (volatility SIGMA)


def _acf(x: np.ndarray, lag: int) -> float:
    d = x - x.mean()
    return float(d[:-lag] @ d[lag:]) / float(d @ d)


def _theory_acf(lag: int) -> float:
    phi = 2.0 ** (-1.0 / HALF_LIFE)
    return (math.exp(4 * ETA**2 * phi**lag) - 1) / (3 * math.exp(4 * ETA**2) - 1)


@pytest.fixture(scope="module")
def returns(diffusion_world: World) -> list[np.ndarray]:
    world = diffusion_world(STEPS, vol_of_vol=ETA, vol_half_life=HALF_LIFE)
    fair = [simulate(world, seed, progress=False).series[("GOLD", "fair")] for seed in (0, 1, 2)]
    return [np.diff(np.log(f.to_numpy())) for f in fair]


def test_mean_variance_is_the_level(returns: list[np.ndarray]) -> None:
    dt = 1.0 / YEAR
    ratio = np.mean([np.mean(r**2) for r in returns]) / (SIGMA**2 * dt)
    assert ratio == pytest.approx(1.0, abs=0.06)


def test_fat_tails_as_the_closed_form(returns: list[np.ndarray]) -> None:
    expected = 3 * (math.exp(4 * ETA**2) - 1)  # 1.90
    measured = np.mean([excess_kurtosis(r) for r in returns])
    assert measured == pytest.approx(expected, rel=0.2)


def test_volatility_clusters_and_decays_with_the_half_life(returns: list[np.ndarray]) -> None:
    for lag, tolerance in [(1, 0.03), (600, 0.03), (2400, 0.02)]:
        measured = np.mean([_acf(r**2, lag) for r in returns])
        assert measured == pytest.approx(_theory_acf(lag), abs=tolerance), lag


def test_constant_volatility_draws_as_before(diffusion_world: World) -> None:
    """vol_of_vol = 0 takes no draw: the same fair path whatever the half-life, with
    Gaussian returns."""
    a = simulate(diffusion_world(20_000), 3, progress=False).series[("GOLD", "fair")].to_numpy()
    b = simulate(diffusion_world(20_000, vol_half_life=5.0), 3, progress=False)
    assert np.array_equal(a, b.series[("GOLD", "fair")].to_numpy())
    assert abs(excess_kurtosis(np.diff(np.log(a)))) < 0.2


def test_same_seed_same_path(diffusion_world: World) -> None:
    world = diffusion_world(20_000, vol_of_vol=0.8, vol_half_life=60.0)
    a = simulate(world, 5, progress=False).series
    b = simulate(world, 5, progress=False).series
    assert a.equals(b)


@pytest.mark.parametrize(
    ("field", "value", "error", "match"),
    [
        ("vol_of_vol", -0.1, ValueError, r"vol_of_vol: must be in \[0.0, 1.5\], got -0.1"),
        ("vol_of_vol", 2.0, ValueError, r"vol_of_vol: must be in \[0.0, 1.5\]"),
        ("vol_of_vol", math.nan, ValueError, "vol_of_vol: must be finite"),
        ("vol_of_vol", "0.5", TypeError, "vol_of_vol: must be a number"),
        ("vol_half_life", 0.0, ValueError, r"vol_half_life: must be in \(0.0, "),
        ("vol_half_life", -5.0, ValueError, "vol_half_life"),
        ("vol_half_life", math.inf, ValueError, "vol_half_life: must be finite"),
    ],
)
def test_bad_input_names_the_field(field: str, value: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Fundamental(**{field: value})  # type: ignore[arg-type]
