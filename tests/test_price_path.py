"""A recorded price path: laid onto the clock exactly, shocks on top, bad files refused."""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage import _core
from deleverage.data import DataFileError, path_on_clock
from deleverage.persist import save_result
from deleverage.result import load_result
from deleverage.scenario import Scenario, Shock, load_toml, save_toml
from deleverage.simulate import simulate

STEPS = 120


def _world(
    diffusion_world: Callable[..., Scenario], steps: int = STEPS, **fundamental: Any
) -> Scenario:
    s = diffusion_world(steps, **fundamental)
    # A tick of a quarter: price / tick * tick is exact, so the series' fair value is too.
    gold = dataclasses.replace(s.instruments[0], tick_size=0.25, start_price=2000.0)
    return s.replace(instruments=(gold,))


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def _fair(result: Any) -> np.ndarray:
    return result.series[("GOLD", "fair")].to_numpy()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_path_at_the_clock_points_is_the_fair_value_exactly(
    diffusion_world: Callable[..., Scenario], tmp_path: Path, suffix: str
) -> None:
    rng = np.random.default_rng(3)
    prices = 2000.0 * np.exp(np.cumsum(rng.normal(0, 0.002, STEPS)))
    file = _write(
        pd.DataFrame({"time": np.arange(STEPS) * 1.0, "price": prices}), tmp_path / f"p{suffix}"
    )
    scenario = _world(diffusion_world, path=str(file))
    result = simulate(scenario, seed=1)
    np.testing.assert_array_equal(_fair(result), prices)


def test_between_rows_the_path_is_interpolated_linearly(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    # Rows every 10 s: the oracle is the straight line between them, written out by hand.
    times = np.arange(0.0, STEPS + 10, 10.0)
    prices = 2000.0 + 40.0 * np.sin(times / 17.0)
    file = _write(pd.DataFrame({"time": times, "price": prices}), tmp_path / "p.csv")
    result = simulate(_world(diffusion_world, path=str(file)), seed=2)
    want = []
    for t in range(STEPS):
        k = t // 10
        w = (t - 10 * k) / 10.0
        want.append(prices[k] + w * (prices[k + 1] - prices[k]))
    np.testing.assert_allclose(_fair(result), want, rtol=1e-13)


def test_jumps_land_on_top_of_the_path(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    prices = np.full(STEPS, 2000.0)
    file = _write(pd.DataFrame({"time": np.arange(STEPS), "price": prices}), tmp_path / "p.parquet")
    scenario = _world(diffusion_world, path=str(file), shocks=(Shock(60, "jump", -0.1),))
    fair = _fair(simulate(scenario, seed=0))
    np.testing.assert_array_equal(fair[:60], 2000.0)
    np.testing.assert_allclose(fair[60:], 2000.0 * math.exp(-0.1), rtol=1e-15)


def test_the_same_path_and_seed_give_the_same_run(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    prices = np.linspace(2000.0, 1800.0, STEPS)
    file = _write(pd.DataFrame({"time": np.arange(STEPS), "price": prices}), tmp_path / "p.csv")
    scenario = _world(diffusion_world, path=str(file))
    a, b = simulate(scenario, seed=5), simulate(scenario, seed=5)
    pd.testing.assert_frame_equal(a.series, b.series)


def test_the_index_path_moves_the_median_mark(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    # The fair value follows a flat path; the index of other venues follows it too for
    # 60 steps, then falls by half. Until then the run is the run without an index path
    # (whose index is the fair value), bit for bit; after, the median mark moves.
    times = np.arange(STEPS, dtype=float)
    fair = _write(pd.DataFrame({"time": times, "price": 2000.0}), tmp_path / "fair.csv")
    index = np.where(times < 60, 2000.0, 1000.0)
    file = _write(pd.DataFrame({"time": times, "price": index}), tmp_path / "index.csv")
    base = _world(diffusion_world, path=str(fair))
    assert base.instruments[0].mark == "median"
    with_index = simulate(_world(diffusion_world, path=str(fair), index_path=str(file)), seed=4)
    without = simulate(base, seed=4)
    pd.testing.assert_frame_equal(with_index.series.iloc[:60], without.series.iloc[:60])
    mark = with_index.series[("GOLD", "mark")].to_numpy()
    assert mark[60:].min() < without.series[("GOLD", "mark")].to_numpy()[60:].min()


def test_dated_times_are_matched_to_the_clock_start(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    start = datetime.datetime(2026, 1, 30, 1, 0, tzinfo=datetime.timezone.utc)
    times = pd.date_range(start - pd.Timedelta(seconds=5), periods=STEPS + 10, freq="1s")
    prices = 1900.0 + np.arange(STEPS + 10, dtype=float)
    for name, frame in {
        "dated.parquet": pd.DataFrame({"time": times, "price": prices}),
        "dated.csv": pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M:%SZ"), "price": prices}),
    }.items():
        file = _write(frame, tmp_path / name)
        on_clock = path_on_clock(file, dt=1.0, steps=STEPS, start=start)
        np.testing.assert_array_equal(on_clock, prices[5 : 5 + STEPS])


def test_the_engine_reads_the_array_without_a_copy() -> None:
    values = np.linspace(1.0, 2.0, 10)
    path = _core.PricePath(values)
    assert path.values is values
    assert len(path) == 10
    with pytest.raises(TypeError, match="values: must be float64"):
        _core.PricePath(values.astype(np.float32))
    with pytest.raises(ValueError, match="values: must be contiguous"):
        _core.PricePath(np.linspace(1.0, 2.0, 20)[::2])


def test_a_saved_run_reproduces_from_its_folder(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    prices = np.linspace(2000.0, 1900.0, STEPS)
    file = _write(pd.DataFrame({"time": np.arange(STEPS), "price": prices}), tmp_path / "p.csv")
    result = simulate(_world(diffusion_world, path=str(file)), seed=7)
    folder = save_result(result, tmp_path / "run")
    file.unlink()  # the folder alone must be enough
    loaded = load_result(folder)
    again = simulate(loaded.scenario, seed=7)
    pd.testing.assert_frame_equal(again.series, result.series)
    # And from the TOML in the folder, as `deleverage run` would read it.
    again = simulate(load_toml(folder / "scenario.toml"), seed=7)
    pd.testing.assert_frame_equal(again.series, result.series)


def test_a_toml_file_names_its_path_relative_to_its_folder(
    diffusion_world: Callable[..., Scenario], tmp_path: Path
) -> None:
    (tmp_path / "book").mkdir()
    prices = np.linspace(2000.0, 2100.0, STEPS)
    _write(pd.DataFrame({"time": np.arange(STEPS), "price": prices}), tmp_path / "book" / "p.csv")
    save_toml(_world(diffusion_world, path="p.csv"), tmp_path / "book" / "s.toml")
    np.testing.assert_array_equal(
        _fair(simulate(load_toml(tmp_path / "book" / "s.toml"), seed=0)), prices
    )


BAD = [
    (
        {"time": [0.0, 1.0, 1.0, 3.0], "price": [1.0, 2.0, 3.0, 4.0]},
        "column 'time', row 3: 1 s repeats",
    ),
    ({"time": [0.0, 2.0, 1.0, 3.0], "price": [1.0, 2.0, 3.0, 4.0]}, "row 3: 1 s comes before"),
    (
        {"time": [0.0, 1.0, 2.0, 3.0], "price": [1.0, -2.0, 3.0, 4.0]},
        "column 'price', row 2: must be a price",
    ),
    (
        {"time": [0.0, 1.0, 2.0, 3.0], "price": [1.0, 0.0, 3.0, 4.0]},
        "column 'price', row 2: must be a price",
    ),
    (
        {"time": [0.0, 1.0, 2.0, 3.0], "price": [1.0, 2.0, None, 4.0]},
        "column 'price', row 3: missing price",
    ),
    ({"time": [0.0, 1.0, 2.0, 3.0], "price": [1.0, 2.0, 3.0, 4.0]}, "shorter than the clock"),
    ({"time": [1.0, 2.0, 3.0, 30.0], "price": [1.0, 2.0, 3.0, 4.0]}, "shorter than the clock"),
    ({"when": [0.0, 30.0], "price": [1.0, 2.0]}, "no column 'time'"),
    (
        {"time": ["2026-01-01T00:00:00Z", "soon"], "price": [1.0, 2.0]},
        "column 'time', row 2: 'soon' is neither",
    ),
]


@pytest.mark.parametrize(("columns", "message"), BAD)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_path_files_name_the_file_the_row_and_the_problem(
    tmp_path: Path, columns: dict[str, list[Any]], message: str, suffix: str
) -> None:
    file = _write(pd.DataFrame(columns), tmp_path / f"bad{suffix}")
    with pytest.raises(DataFileError, match=message) as err:
        path_on_clock(file, dt=1.0, steps=10)
    assert str(file) in str(err.value)


def test_other_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no file"):
        path_on_clock(tmp_path / "missing.csv", dt=1.0, steps=10)
    (tmp_path / "p.txt").write_text("time,price\n0,1\n")
    with pytest.raises(DataFileError, match=r"must end in \.csv, \.parquet"):
        path_on_clock(tmp_path / "p.txt", dt=1.0, steps=10)
    file = _write(
        pd.DataFrame({"time": pd.date_range("2026-01-01", periods=20, freq="1s"), "price": 1.0}),
        tmp_path / "d.parquet",
    )
    with pytest.raises(DataFileError, match="the run is undated"):
        path_on_clock(file, dt=1.0, steps=10)


def test_a_path_refuses_what_it_would_ignore(diffusion_world: Callable[..., Scenario]) -> None:
    from deleverage.scenario import Waypoint

    with pytest.raises(ValueError, match=r"shocks\[0\]\.kind: a fair value that follows a path"):
        _world(diffusion_world, path="p.csv", shocks=(Shock(5, "volatility", 0.5),))
    with pytest.raises(ValueError, match="waypoints: a fair value that follows a path"):
        _world(diffusion_world, path="p.csv", waypoints=(Waypoint(5, 2000.0),))
    with pytest.raises(TypeError, match="path: must be a file name"):
        _world(diffusion_world, path="")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(st.floats(0.01, 50.0), st.floats(1e-3, 1e6)), min_size=1, max_size=30),
    dt=st.sampled_from([0.5, 1.0, 3.0]),
)
def test_rows_at_clock_points_come_back_exactly(
    tmp_path: Path, rows: list[tuple[float, float]], dt: float
) -> None:
    # Rows at whole steps (random gaps), the rest interpolated: every row's price is
    # the clock's value at its step, bit for bit, and every value lies between its rows.
    gaps = np.maximum(1, np.round([g for g, _ in rows])).astype(int)
    steps_at = np.concatenate([[0], np.cumsum(gaps)])
    prices = np.array([rows[0][1]] + [p for _, p in rows])
    file = _write(pd.DataFrame({"time": steps_at * dt, "price": prices}), tmp_path / "h.parquet")
    clock = path_on_clock(file, dt=dt, steps=int(steps_at[-1]) + 1)
    np.testing.assert_array_equal(clock[steps_at], prices)
    for k in range(len(steps_at) - 1):
        seg = clock[steps_at[k] : steps_at[k + 1] + 1]
        lo, hi = sorted((prices[k], prices[k + 1]))
        assert np.all((seg >= lo * (1 - 1e-15)) & (seg <= hi * (1 + 1e-15)))
