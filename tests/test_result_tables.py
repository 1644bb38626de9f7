"""The Result's tables against the engine's own buffers, read field by field: the
per-step table (one column an instrument and field, prices in price units, indexed
by seconds or by ``start + seconds``), the liquidation log's times and the trade
log's, for an undated run and the same run dated."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import pandas as pd
import pytest

from deleverage.result import PRICE_FIELDS, Result
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import build

START = datetime.datetime(2026, 1, 29, 22, 30, tzinfo=datetime.timezone.utc)


def _world(start: datetime.datetime | None) -> Scenario:
    """Two instruments on cross margin, a crash inside the run, few accounts."""
    base = load_preset("crypto-cascade-2025").with_accounts(800).with_steps(80_000)
    return base.replace(clock=dataclasses.replace(base.clock, start=start), targets=())


@pytest.fixture(scope="module", params=[None, START], ids=["undated", "dated"])
def run(request: pytest.FixtureRequest) -> tuple[Scenario, object, Result]:
    scenario = _world(request.param)
    sim, spec = build(scenario, 3, trade_log=True)
    sim.run()
    return (
        scenario,
        sim,
        Result.from_simulation(scenario, 3, sim, 0.0, trade_log=True, blocks=spec.blocks),
    )


def _times(scenario: Scenario, seconds: np.ndarray) -> pd.Index:
    if scenario.clock.start is None:
        return pd.Index(seconds, name="time")
    origin = pd.Timestamp(scenario.clock.start)
    return pd.DatetimeIndex([origin + pd.Timedelta(seconds=float(s)) for s in seconds], name="time")


def test_every_column_is_its_field_of_the_records(run) -> None:
    scenario, sim, result = run
    records = sim.records
    ni = len(scenario.instruments)
    fields = records.dtype.names
    assert result.series.shape == (scenario.clock.steps, ni * len(fields))
    assert list(result.series.columns.names) == ["instrument", "field"]
    for i, inst in enumerate(scenario.instruments):
        for name in fields:
            want = records[name][i::ni].astype(np.float64)
            if name in PRICE_FIELDS:
                want = want * inst.tick_size
            column = result.series[(inst.name, name)]
            assert column.dtype == np.float64
            np.testing.assert_array_equal(column.to_numpy(), want, err_msg=f"{inst.name}.{name}")
    # The table owns its memory: the engine's records are untouched by the scaling.
    assert result.series[(scenario.instruments[0].name, "last")].to_numpy().base is not records


def test_the_index_is_the_clock(run) -> None:
    scenario, sim, result = run
    dt = scenario.clock.dt
    steps = np.arange(scenario.clock.steps) * dt
    pd.testing.assert_index_equal(result.series.index, _times(scenario, steps), check_exact=True)
    samples = _times(scenario, sim.sample_steps * dt)
    pd.testing.assert_index_equal(result.leverage.index, samples, check_exact=True)
    pd.testing.assert_index_equal(result.exposure.index, samples, check_exact=True)


def test_log_times_are_the_clock_of_their_steps(run) -> None:
    scenario, sim, result = run
    liquidations = result.liquidations
    assert len(liquidations) > 0
    seconds = sim.liquidations["check"] * scenario.clock.dt
    want = _times(scenario, seconds)
    np.testing.assert_array_equal(pd.Index(liquidations["time"]).to_numpy(), want.to_numpy())
    trades = result.trades
    assert trades is not None
    assert len(trades) == len(sim.trades)
    want = _times(scenario, sim.trades["step"][:1000] * scenario.clock.dt)
    np.testing.assert_array_equal(pd.Index(trades["time"][:1000]).to_numpy(), want.to_numpy())
