"""Sweeps end to end on a tiny world: the same table from threads, a process pool and
a Dask cluster; resume after an interruption; failing runs recorded; rows on disk
while the sweep runs; per-run series."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import deleverage
import deleverage.simulate as simulate_module
from deleverage.bench.sweep import short_scenario
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps import METRICS, apply_paths, read_sweep, run_seed, series_path, sweep

TINY = short_scenario(load_preset("default-hour"), steps=200, accounts=150)
SPACE = {
    "populations.speculators.params.max_leverage": [5.0, 20.0],
    "populations.market_makers.params.vol_withdraw": [0.5, 2.0],
}
SEEDS = 3
RUNS = 4 * SEEDS


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="wall_seconds"), b.drop(columns="wall_seconds"))


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return sweep(TINY, SPACE, seeds=SEEDS, seed=11, workers=2)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_rows_columns_and_seeds(reference: pd.DataFrame) -> None:
    t = reference
    assert t["run"].tolist() == list(range(RUNS))
    assert t["point"].tolist() == [k // SEEDS for k in range(RUNS)]
    assert list(t.columns) == [
        "run",
        "point",
        *SPACE,
        "seed",
        *METRICS,
        "error",
        "wall_seconds",
    ]
    assert t["seed"].tolist() == [run_seed(11, k) for k in range(RUNS)]
    assert t["error"].isna().all()
    assert (t["steps"] == 200).all()
    assert (t["wall_seconds"] > 0).all()
    assert t.attrs["sweep"]["executed"] == RUNS
    assert deleverage.sweep is sweep


def test_a_row_is_reproducible_alone(reference: pd.DataFrame) -> None:
    row = reference.iloc[7]
    scenario = apply_paths(TINY, {p: row[p] for p in SPACE})
    metrics = simulate(scenario, int(row["seed"]), progress=False).metrics()
    for key in METRICS:
        assert metrics[key] == pytest.approx(row[key], nan_ok=True)


def test_same_table_whatever_the_threads(reference: pd.DataFrame) -> None:
    _same(sweep(TINY, SPACE, seeds=SEEDS, seed=11, workers=1), reference)


def test_same_table_from_a_process_pool(reference: pd.DataFrame) -> None:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        _same(sweep(TINY, SPACE, seeds=SEEDS, seed=11, executor=pool), reference)


def test_same_table_from_a_dask_cluster(reference: pd.DataFrame, dask_client: Any) -> None:
    _same(sweep(TINY, SPACE, seeds=SEEDS, seed=11, executor=dask_client, chunksize=2), reference)
    # One run per work item too, and the client stays open for its owner.
    _same(sweep(TINY, SPACE, seeds=SEEDS, seed=11, executor=dask_client, chunksize=1), reference)
    assert dask_client.status == "running"


def test_resume_after_an_interruption(tmp_path: Path, reference: pd.DataFrame) -> None:
    out = tmp_path / "sweep"
    seen: list[int] = []

    class Stop(Exception):
        pass

    def die_after_five(row: dict[str, Any]) -> None:
        seen.append(row["run"])
        if len(seen) == 5:
            raise Stop

    with pytest.raises(Stop):
        sweep(
            TINY, SPACE, seeds=SEEDS, seed=11, out=str(out), workers=2,
            batch_rows=2, callback=die_after_five,
        )  # fmt: skip
    partial = read_sweep(out)
    assert 5 <= len(partial) < RUNS  # the finished rows were flushed on the way out
    with pytest.raises(ValueError, match="already holds a sweep's rows; pass resume=True"):
        sweep(TINY, SPACE, seeds=SEEDS, seed=11, out=str(out))
    with pytest.raises(ValueError, match=r"holds a different sweep \(seeds differs"):
        sweep(TINY, SPACE, seeds=SEEDS + 1, seed=11, out=str(out), resume=True)
    final = sweep(TINY, SPACE, seeds=SEEDS, seed=11, out=str(out), resume=True, workers=1)
    assert final.attrs["sweep"]["skipped"] == len(partial)
    assert final.attrs["sweep"]["executed"] == RUNS - len(partial)
    assert not final["run"].duplicated().any()
    _same(final, reference)
    _same(read_sweep(out), reference)
    again = sweep(TINY, SPACE, seeds=SEEDS, seed=11, out=str(out), resume=True)
    assert again.attrs["sweep"]["executed"] == 0


def test_a_failing_run_is_recorded_and_the_rest_complete(
    monkeypatch: pytest.MonkeyPatch, reference: pd.DataFrame
) -> None:
    bad_seed = run_seed(11, 4)

    real = simulate_module.simulate_metrics

    def flaky(scenario: Scenario, seed: int, **kwargs: Any) -> Any:
        if seed == bad_seed:
            raise RuntimeError("engine exploded")
        return real(scenario, seed, **kwargs)

    monkeypatch.setattr(simulate_module, "simulate_metrics", flaky)
    table = sweep(TINY, SPACE, seeds=SEEDS, seed=11, workers=2)
    assert table.loc[4, "error"] == "RuntimeError: engine exploded"
    assert table.loc[4, METRICS].isna().all()
    assert table.attrs["sweep"]["failed"] == 1
    ok = table.drop(index=4)
    assert ok["error"].isna().all()
    _same(ok, reference.drop(index=4))


def test_rows_reach_disk_before_the_sweep_ends(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    on_disk: list[int] = []

    def look(row: dict[str, Any]) -> None:
        on_disk.append(len(read_sweep(out)))

    table = sweep(TINY, SPACE, seeds=SEEDS, out=str(out), workers=2, batch_rows=3, callback=look)
    assert len(table) == RUNS
    # Seen from inside the sweep: rows were on disk before the last run finished,
    # never more than a batch behind.
    assert on_disk[-2] >= RUNS - 1 - 3
    assert on_disk[-2] > 0
    assert all(n <= k + 1 for k, n in enumerate(on_disk))
    files = sorted((out / "rows").glob("part-*.parquet"))
    assert len(files) == -(-RUNS // 3)


def test_series_are_stored_apart(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    table = sweep(TINY, {"clock.steps": [150]}, seeds=2, out=str(out), series=True)
    assert len(table) == 2
    series = pd.read_parquet(series_path(out, 1))
    assert len(series) == 150
    assert {"time", "GOLD.last", "GOLD.spread"} <= set(series.columns)
    assert sorted(p.name for p in (out / "series").iterdir()) == [
        "run-000000.parquet",
        "run-000001.parquet",
    ]
    with pytest.raises(ValueError, match="series: per-run series are stored in out/series"):
        sweep(TINY, {"clock.steps": [150]}, series=True)


def test_explicit_seeds_are_common_to_every_point() -> None:
    table = sweep(TINY, {"populations.speculators.params.max_leverage": [5.0, 20.0]}, seeds=[4, 9])
    assert table["seed"].tolist() == [4, 9, 4, 9]


def test_workers_only_size_the_thread_pool() -> None:
    with (
        ProcessPoolExecutor(1) as pool,
        pytest.raises(ValueError, match="workers: only sizes the default thread pool"),
    ):
        sweep(TINY, SPACE, executor=pool, workers=2)
    with pytest.raises(TypeError, match="executor: must be None"):
        sweep(TINY, SPACE, executor=42)
