"""Saved results: the exact round trip of every table and scalar, and clear errors
for folders that are missing, foreign, damaged or of another format version."""

from __future__ import annotations

import dataclasses as dc
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import deleverage
from deleverage import MarginRule
from deleverage.persist import (
    FORMAT_VERSION,
    ResultFormatError,
    flatten_series,
    is_saved_result,
    unflatten_series,
)
from deleverage.result import Result, load_result
from deleverage.scenario import Fundamental, InstrumentSpec, Scenario, VolatilityTrigger
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

TABLES = ("series", "liquidations", "accounts", "leverage", "exposure")
SCALARS = ("seed", "steps_done", "wall_seconds", "messages", "decisions", "conservation_error")


def two_instruments() -> Scenario:
    """The default-hour world plus an index (named with a '/') that speculators trade on
    one cross-margined account, and a volatility trigger on gold that fires."""
    base = load_preset("default-hour")
    by = {p.name: p for p in base.populations}
    index = InstrumentSpec(
        "XAU/USD", 5000.0, tick_size=0.25, lot_size=0.4, fundamental=Fundamental(volatility=0.2)
    )
    populations = (
        dc.replace(by["speculators"], margin_mode="cross", also=("XAU/USD",)),
        by["noise"],
        by["market_makers"],
        dc.replace(by["market_makers"], name="index_makers", instrument="XAU/USD"),
        dc.replace(by["noise"], name="index_noise", instrument="XAU/USD", accounts=100),
    )
    hike = MarginRule(initial_rate=0.2, maintenance_rate=0.12)
    trigger = VolatilityTrigger("GOLD", 60, 0.5, hike)
    return base.replace(
        name="two instruments",
        instruments=(base.instruments[0], index),
        populations=populations,
        policy=dc.replace(base.policy, volatility_triggers=(trigger,)),
    )


@pytest.fixture(scope="module")
def single() -> Result:
    return simulate(load_preset("default-hour"), seed=1)


@pytest.fixture(scope="module")
def multi_with_trades() -> Result:
    return simulate(two_instruments(), seed=3, trade_log=True)


def assert_same_result(a: Result, b: Result) -> None:
    """Every table equal (values bit for bit, dtypes, index and column names), every scalar
    equal, the same scenario."""
    assert b.scenario == a.scenario
    for name in (*TABLES, "trades"):
        x, y = getattr(a, name), getattr(b, name)
        if x is None:
            assert y is None, name
            continue
        assert x.equals(y), name
        pd.testing.assert_frame_equal(x, y, check_exact=True, check_column_type=True)
        assert list(x.dtypes) == list(y.dtypes), name
        assert x.index.names == y.index.names, name
        assert x.columns.names == y.columns.names, name
        assert x.index.dtype == y.index.dtype, name
        for column in x.columns:  # floats bit for bit (NaN included)
            if x[column].dtype.kind == "f":
                assert np.array_equal(
                    x[column].to_numpy().view(np.int64), y[column].to_numpy().view(np.int64)
                ), (name, column)
    for name in SCALARS:
        assert getattr(b, name) == getattr(a, name), name
        assert type(getattr(b, name)) is type(getattr(a, name)), name
    assert b.info == a.info
    assert b.metrics() == a.metrics()


def test_single_instrument_round_trip(single: Result, tmp_path: Path) -> None:
    folder = single.save(tmp_path / "run")
    assert folder == tmp_path / "run"
    assert single.trades is None
    assert not (folder / "trades.parquet").exists()
    assert is_saved_result(folder)
    assert_same_result(single, Result.load(folder))


def test_multi_instrument_round_trip_with_trades(multi_with_trades: Result, tmp_path: Path) -> None:
    r = multi_with_trades
    assert r.trades is not None
    assert len(r.trades) > 0
    assert r.info["trigger_times"][0] is not None  # the trigger fired
    r.save(tmp_path)
    loaded = deleverage.load_result(tmp_path)
    assert_same_result(r, loaded)
    assert list(loaded.series.columns.get_level_values("instrument").unique()) == [
        "GOLD",
        "XAU/USD",
    ]


def test_empty_liquidation_log_and_empty_trade_log_round_trip(tmp_path: Path) -> None:
    r = simulate(load_preset("default-hour").with_steps(40), seed=0, trade_log=True)
    assert len(r.liquidations) == 0
    r.save(tmp_path)
    assert_same_result(r, Result.load(tmp_path))


def test_partial_run_round_trips(single: Result, tmp_path: Path) -> None:
    partial = dc.replace(single, steps_done=1200, info={"trigger_times": [], "note": [1, "a"]})
    partial.save(tmp_path)
    loaded = Result.load(tmp_path)
    assert not loaded.complete
    assert loaded.info == {"trigger_times": [], "note": [1, "a"]}


def test_saving_again_replaces_the_result(
    single: Result, multi_with_trades: Result, tmp_path: Path
) -> None:
    multi_with_trades.save(tmp_path)
    (tmp_path / "index.html").write_text("kept")
    single.save(tmp_path)
    assert not (tmp_path / "trades.parquet").exists()
    assert (tmp_path / "index.html").read_text() == "kept"  # other files left alone
    assert_same_result(single, Result.load(tmp_path))


def test_series_columns_flatten_reversibly(multi_with_trades: Result) -> None:
    flat = flatten_series(multi_with_trades.series)
    assert "XAU/USD/last" in flat.columns
    assert "GOLD/fair" in flat.columns
    back = unflatten_series(flat)
    pd.testing.assert_frame_equal(back, multi_with_trades.series, check_exact=True)
    assert back.columns.names == ["instrument", "field"]


def test_scalars_file_is_plain_json(single: Result, tmp_path: Path) -> None:
    single.save(tmp_path)
    meta = json.loads((tmp_path / "result.json").read_text())
    assert meta["format"] == "deleverage-result"
    assert meta["version"] == FORMAT_VERSION
    assert meta["seed"] == 1
    assert meta["tables"] == list(TABLES)
    assert (tmp_path / "scenario.toml").read_text().startswith("name = ")


# ---------------------------------------------------------------- errors


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="path: no such folder"):
        load_result(tmp_path / "nowhere")


def test_folder_that_is_not_a_result(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert not is_saved_result(tmp_path)
    with pytest.raises(ResultFormatError, match=r"is not a saved result \(no result.json"):
        load_result(tmp_path)
    with pytest.raises(ResultFormatError, match="is a file"):
        load_result(tmp_path / "notes.txt")


def _edit_meta(folder: Path, **changes: object) -> None:
    meta = json.loads((folder / "result.json").read_text())
    meta.update(changes)
    (folder / "result.json").write_text(json.dumps(meta))


def test_wrong_format_version(single: Result, tmp_path: Path) -> None:
    single.save(tmp_path)
    _edit_meta(tmp_path, version=99)
    with pytest.raises(ResultFormatError, match=r"version must be one of 1.*got 99"):
        load_result(tmp_path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something-else"}, "format must be 'deleverage-result'"),
        ({"seed": "one"}, "seed must be an integer"),
        ({"wall_seconds": None}, "wall_seconds must be a number"),
        ({"tables": ["series"]}, "tables must list series, liquidations, accounts, leverage"),
        ({"info": []}, "info must be an object"),
    ],
)
def test_damaged_scalars_file(
    single: Result, tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    single.save(tmp_path)
    _edit_meta(tmp_path, **changes)
    with pytest.raises(ResultFormatError, match=message):
        load_result(tmp_path)


def test_not_json_and_missing_keys(single: Result, tmp_path: Path) -> None:
    single.save(tmp_path)
    (tmp_path / "result.json").write_text("{not json")
    with pytest.raises(ResultFormatError, match=r"result\.json: not valid JSON"):
        load_result(tmp_path)
    (tmp_path / "result.json").write_text('{"format": "deleverage-result", "version": 1}')
    with pytest.raises(ResultFormatError, match="missing keys seed, steps_done"):
        load_result(tmp_path)


@pytest.mark.parametrize("file", ["series.parquet", "leverage.parquet", "scenario.toml"])
def test_missing_file(single: Result, tmp_path: Path, file: str) -> None:
    single.save(tmp_path)
    (tmp_path / file).unlink()
    with pytest.raises(FileNotFoundError, match=f"lacks {file}"):
        load_result(tmp_path)


def test_save_rejects_bad_input(single: Result, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="result: must be a Result"):
        deleverage.persist.save_result("not a result", tmp_path)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"path: .* is not a folder"):
        single.save(tmp_path / "file")
    with pytest.raises(ValueError, match="info: must hold only JSON values"):
        dc.replace(single, info={"when": object()}).save(tmp_path / "a")
    with pytest.raises(ValueError, match="info: must survive JSON unchanged"):
        dc.replace(single, info={"trigger_times": (1.0,)}).save(tmp_path / "b")
    assert not is_saved_result(tmp_path / "a")
