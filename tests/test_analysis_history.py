"""How historic a move is: sigmas of daily volatility and the level it went back to."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import daily_volatility, how_historic, move_in_sigmas, returned_to

# Spot gold closes in January 2026, schematic (from the calibration notes: 4,330 on
# the 2nd, records of 4,642 on the 14th and 4,888 on the 21st, above 5,000 from the
# 26th, ~5,368 on the 29th, ~4,890 on the 30th).
GOLD = pd.Series(
    {
        "2026-01-02": 4330.0,
        "2026-01-05": 4390.0,
        "2026-01-08": 4470.0,
        "2026-01-12": 4580.0,
        "2026-01-14": 4642.0,
        "2026-01-16": 4600.0,
        "2026-01-20": 4760.0,
        "2026-01-21": 4888.0,
        "2026-01-22": 4920.0,
        "2026-01-23": 4980.0,
        "2026-01-26": 5050.0,
        "2026-01-27": 5180.0,
        "2026-01-28": 5300.0,
        "2026-01-29": 5368.0,
        "2026-01-30": 4890.0,
    }
)
GOLD.index = pd.DatetimeIndex(GOLD.index)


def test_daily_volatility_from_annual_and_from_closes() -> None:
    assert daily_volatility(annual=0.16) == pytest.approx(0.16 / math.sqrt(252))
    assert daily_volatility(annual=0.16, periods=365) == pytest.approx(0.16 / math.sqrt(365))
    rng = np.random.default_rng(5)
    closes = pd.Series(
        2000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, 5000))),
        index=pd.bdate_range("2000-01-03", periods=5000),
    )
    assert daily_volatility(closes) == pytest.approx(0.01, rel=0.03)


def test_a_ten_sigma_day() -> None:
    # -9.8% against 16% a year (about 1.0% a day) is about a -10 sigma day.
    daily = daily_volatility(annual=0.16)
    assert move_in_sigmas(-0.098, daily) == pytest.approx(math.log(0.902) / daily)
    assert -10.5 < move_in_sigmas(-0.098, daily) < -10.0
    assert move_in_sigmas(-0.098, daily, days=4.0) == pytest.approx(
        move_in_sigmas(-0.098, daily) / 2
    )


def test_the_crash_went_back_to_the_21_january_record() -> None:
    h = how_historic(GOLD, "2026-01-29", "2026-01-30", annual_vol=0.16)
    assert h.start_price == 5368.0
    assert h.end_price == 4890.0
    assert h.move == pytest.approx(4890.0 / 5368.0 - 1)
    assert h.sigmas == pytest.approx(math.log(4890.0 / 5368.0) / (0.16 / math.sqrt(252)))
    assert h.returned_to == pd.Timestamp("2026-01-21")
    assert h.returned_to_price == 4888.0
    assert h.lookback_days == 8.0


def test_a_rise_looks_for_the_last_time_at_or_above() -> None:
    h = how_historic(GOLD, "2026-01-16", "2026-01-20", daily_vol=0.01)
    assert h.move > 0
    # 4,760 had not been reached before the 16th: never.
    assert h.returned_to is None
    assert math.isnan(h.lookback_days)
    h = how_historic(GOLD, "2026-01-14", "2026-01-16", daily_vol=0.01)
    assert h.returned_to == pd.Timestamp("2026-01-12")  # last close at or below 4,600


def test_simulation_time_in_seconds() -> None:
    t = pd.Index(np.arange(0.0, 7200.0, 1.0), name="time")
    p = pd.Series(np.where(t < 3600, 1900.0 + t / 36.0, 1900.0), index=t)
    h = how_historic(p, 3599.0, 3600.0, annual_vol=0.16, periods=365)
    assert h.returned_to == 0.0
    assert h.lookback_days == pytest.approx(3599.0 / 86400.0)
    assert returned_to(p, 3599.0, 1950.0) == 1800.0


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        how_historic(GOLD, "2026-01-29", "2026-01-30")
    with pytest.raises(ValueError, match="exactly one"):
        how_historic(GOLD, "2026-01-29", "2026-01-30", daily_vol=0.01, annual_vol=0.16)
    with pytest.raises(ValueError, match="start must be before end"):
        how_historic(GOLD, "2026-01-30", "2026-01-29", daily_vol=0.01)
    with pytest.raises(ValueError, match="within the series"):
        how_historic(GOLD, "2025-12-01", "2026-01-29", daily_vol=0.01)
    with pytest.raises(ValueError, match="annual"):
        daily_volatility(annual=0.0)
    with pytest.raises(ValueError, match="at least 20"):
        daily_volatility(GOLD.iloc[:5])
    with pytest.raises(ValueError, match="move"):
        move_in_sigmas(-1.5, 0.01)
    with pytest.raises(TypeError, match="timestamp"):
        how_historic(GOLD, object(), "2026-01-30", daily_vol=0.01)
