"""A fair value pinned to waypoints: a Brownian bridge between them.

Oracles: the path passes through every waypoint (for any seed and any
waypoints); between two waypoints K steps apart at the same level, the log
value j steps in has mean 0 and variance ``sigma^2 dt j (K - j) / K`` (the
Brownian bridge's); a jump between two waypoints is absorbed by the next one;
after the last waypoint the ordinary diffusion resumes (its drift with it).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.scenario import (
    Fundamental,
    Scenario,
    Shock,
    Waypoint,
    from_toml_str,
    to_toml_str,
)
from deleverage.simulate import simulate

YEAR = 365 * 86400
SIGMA = 0.3  # the diffusion_world's volatility (conftest.py)
World = Callable[..., Scenario]  # conftest.py's diffusion_world


def _fair(world, seed: int = 0) -> np.ndarray:  # type: ignore[no-untyped-def]
    return simulate(world, seed, progress=False).series[("GOLD", "fair")].to_numpy()


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    points=st.lists(
        st.tuples(st.integers(0, 1_999), st.floats(100.0, 50_000.0)),
        min_size=1,
        max_size=6,
        unique_by=lambda p: p[0],
    ),
)
def test_the_path_passes_through_every_waypoint(
    seed: int, points: list[tuple[int, float]], diffusion_world: World
) -> None:
    points.sort()
    world = diffusion_world(
        2_000, waypoints=tuple(Waypoint(s, p) for s, p in points), vol_of_vol=0.5
    )
    fair = _fair(world, seed)
    for step, price in points:
        assert fair[step] == pytest.approx(price, rel=1e-12)


def test_between_waypoints_a_brownian_bridge(diffusion_world: World) -> None:
    k, segments = 100, 2_000
    world = diffusion_world(
        k * segments, waypoints=tuple(Waypoint(k * (n + 1) - 1, 2000.0) for n in range(segments))
    )
    x = np.log(_fair(world, 7) / 2000.0).reshape(segments, k)  # row n: steps k n .. k n + k - 1
    dt = 1.0 / YEAR  # one-second steps
    # Row n starts one step after the waypoint ending row n - 1 (the first row
    # starts one step after the start price): column c is j = c + 1 steps in.
    for c in (9, 49, 79):
        j = c + 1
        variance = SIGMA**2 * dt * j * (k - j) / k
        column = x[1:, c]
        assert abs(column.mean()) < 4 * math.sqrt(variance / column.size)
        assert column.var() / variance == pytest.approx(1.0, abs=0.1)  # 4.5 standard errors
    assert np.abs(x[:, -1]).max() < 1e-12  # every row ends on its waypoint


def test_a_jump_between_waypoints_is_absorbed_and_one_at_a_waypoint_lands_after_it(
    diffusion_world: World,
) -> None:
    waypoints = (Waypoint(499, 2100.0), Waypoint(999, 2100.0))
    world = diffusion_world(
        1_500,
        waypoints=waypoints,
        shocks=(Shock(300, "jump", -0.2), Shock(999, "jump", -0.1)),
        volatility=0.0,
    )
    fair = _fair(world)
    # Step 300 takes 1/200 of the gap to the waypoint 200 steps on, then the jump.
    pull = (math.log(2100.0) - math.log(fair[299])) / 200
    assert fair[300] / fair[299] == pytest.approx(math.exp(pull - 0.2), rel=1e-9)
    assert fair[499] == pytest.approx(2100.0, rel=1e-12)  # the jump undone by the waypoint
    # At the last waypoint's step the jump lands after it, and the path stays there.
    assert fair[999] == pytest.approx(2100.0 * math.exp(-0.1), rel=1e-12)
    assert fair[-1] == pytest.approx(fair[999], rel=1e-12)


def test_drift_applies_after_the_last_waypoint_only(
    diffusion_world: World,
) -> None:
    world = diffusion_world(2_000, waypoints=(Waypoint(999, 2000.0),), volatility=0.0, drift=5.0)
    fair = _fair(world)
    assert fair[999] == pytest.approx(2000.0, rel=1e-12)
    np.testing.assert_allclose(fair[:1000], 2000.0, rtol=1e-12)  # a flat bridge: no drift
    per_step = 5.0 / YEAR
    assert fair[-1] / fair[999] == pytest.approx(math.exp(per_step * 1000), rel=1e-9)


def test_a_shortened_run_replays_the_same_path(diffusion_world: World) -> None:
    world = diffusion_world(3_000, waypoints=(Waypoint(2_500, 2300.0),), vol_of_vol=0.4)
    full = _fair(world, 3)
    short = _fair(world.with_steps(1_000), 3)
    np.testing.assert_array_equal(full[:1000], short)
    assert full[-600] < 2300.0 * 1.2  # still pulled to the waypoint beyond the shortened run


def test_waypoints_read_and_write_as_toml(diffusion_world: World) -> None:
    world = diffusion_world(1_000, waypoints=(Waypoint(10, 2001.5), Waypoint(900, 1800.0)))
    again = from_toml_str(to_toml_str(world))
    assert again.instruments[0].fundamental.waypoints == world.instruments[0].fundamental.waypoints


@pytest.mark.parametrize(
    ("waypoints", "error", "match"),
    [
        (
            (Waypoint(10, 1.0), Waypoint(10, 2.0)),
            ValueError,
            r"waypoints: steps must strictly increase.*waypoints\[1\]",
        ),
        ((Waypoint(10, 1.0), Waypoint(5, 2.0)), ValueError, r"got step 5 after 10"),
        (((10, 1.0),), TypeError, r"waypoints\[0\]"),
    ],
)
def test_bad_waypoints_name_the_field(waypoints: tuple, error: type, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(error, match=match):
        Fundamental(waypoints=waypoints)


@pytest.mark.parametrize(
    ("step", "price", "match"),
    [
        (-1, 10.0, r"step: must be in \[0, "),
        (5, 0.0, r"price: must be in \(0.0, 1000000000000000.0\], got 0.0"),
        (5, math.nan, "price: must be finite"),
    ],
)
def test_bad_waypoint_names_the_field(step: int, price: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Waypoint(step, price)
