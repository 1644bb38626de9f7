"""Attribution of a move to forced selling, on trade logs where the answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deleverage.analysis import forced_selling_attribution, price_impact, signed_flow


def _market(
    lam: float, seed: int, name: str = "GOLD", steps: int = 5000
) -> tuple[pd.Series, pd.DataFrame]:
    """Price = 2000 + lam * cumulative signed flow + noise; forced sells in 2000-2199 s."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(1, steps):
        for _ in range(rng.poisson(3)):
            rows.append((float(t), rng.choice(["buy", "sell"]), int(rng.integers(1, 10)), False))
        if 2000 <= t < 2200 and rng.random() < 0.5:
            rows.append((float(t), "sell", int(rng.integers(5, 30)), True))
    trades = pd.DataFrame(rows, columns=["time", "aggressor", "qty", "liquidation"])
    trades.insert(1, "instrument", name)
    sign = np.where(trades["aggressor"] == "buy", 1.0, -1.0)
    flow = np.bincount(trades["time"].astype(int), weights=sign * trades["qty"], minlength=steps)
    index = pd.Index(np.arange(steps, dtype=float), name="time")
    price = 2000.0 + lam * np.cumsum(flow) + rng.normal(0.0, 0.05, steps)
    return pd.Series(price, index=index, name=name), trades


def test_signed_flow_signs_and_bins() -> None:
    trades = pd.DataFrame(
        {
            "time": [0.5, 1.0, 1.0, 3.0, 3.0],
            "instrument": ["A", "A", "B", "A", "A"],
            "qty": [2, 3, 4, 5, 1],
            "aggressor": ["buy", "sell", "buy", "sell", "sell"],
            "liquidation": [False, False, False, True, False],
        }
    )
    index = pd.Index([0.0, 1.0, 2.0, 3.0])
    flow = signed_flow(trades, index)
    assert list(flow.columns) == ["A", "B"]
    assert flow["A"].tolist() == [0.0, -1.0, 0.0, -6.0]  # 0.5 s joins the step at 1 s
    assert flow["B"].tolist() == [0.0, 4.0, 0.0, 0.0]
    forced = signed_flow(trades, index, liquidation=True)
    assert forced["A"].tolist() == [0.0, 0.0, 0.0, -5.0]
    assert forced["B"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert signed_flow(trades, index, liquidation=False)["A"].tolist() == [0.0, -1.0, 0.0, -1.0]
    with pytest.raises(ValueError, match="after the last time"):
        signed_flow(trades, pd.Index([0.0, 1.0, 2.0]))


def test_kyle_lambda_recovered_by_ols() -> None:
    price, trades = _market(0.02, seed=1)
    flow = signed_flow(trades, price.index)["GOLD"]
    imp = price_impact(price, flow)
    assert imp.lam == pytest.approx(0.02, abs=4 * imp.lam_se)
    assert imp.lam == pytest.approx(0.02, rel=0.02)
    assert imp.r2 > 0.8
    assert imp.n == len(price) - 1
    coarse = price_impact(price, flow, horizon=10)
    assert coarse.lam == pytest.approx(0.02, rel=0.02)
    assert coarse.n == (len(price) - 1) // 10


def test_forced_part_of_the_move_is_lambda_times_forced_flow() -> None:
    price, trades = _market(0.02, seed=2)
    out = forced_selling_attribution(price, trades)
    row = out.loc["GOLD"]
    liq = trades[trades["liquidation"]]
    assert row["forced_flow"] == -liq["qty"].sum()
    true_forced_move = 0.02 * row["forced_flow"]
    assert row["forced_move"] == pytest.approx(true_forced_move, rel=0.02)
    assert row["total_move"] == pytest.approx(price.iloc[-1] - price.iloc[0])
    assert row["forced_share"] == pytest.approx(row["forced_move"] / row["total_move"])
    assert row["forced_return"] == pytest.approx(row["forced_move"] / price.iloc[0])
    # Over the forced-selling window alone, most of the move is forced.
    window = forced_selling_attribution(price, trades, start=1999.0, end=2199.0).loc["GOLD"]
    assert window["forced_flow"] == row["forced_flow"]
    assert window["forced_share"] > 0.6


def test_several_instruments_each_with_its_own_lambda() -> None:
    gold, tg = _market(0.02, seed=3, name="GOLD")
    silver, ts = _market(0.005, seed=4, name="SILVER")
    prices = pd.concat([gold, silver], axis=1)
    trades = pd.concat([tg, ts]).sort_values("time", kind="stable")
    out = forced_selling_attribution(prices, trades)
    assert list(out.index) == ["GOLD", "SILVER"]
    assert out.loc["GOLD", "lam"] == pytest.approx(0.02, rel=0.02)
    assert out.loc["SILVER", "lam"] == pytest.approx(0.005, rel=0.05)
    assert out.loc["SILVER", "forced_flow"] == -ts.loc[ts["liquidation"], "qty"].sum()
    assert prices.columns.tolist() == ["GOLD", "SILVER"]  # the input is left alone


def test_bad_inputs_are_rejected() -> None:
    price, trades = _market(0.02, seed=5, steps=200)
    with pytest.raises(ValueError, match="missing columns"):
        forced_selling_attribution(price, trades.drop(columns="liquidation"))
    with pytest.raises(ValueError, match="aggressor"):
        forced_selling_attribution(price, trades.assign(aggressor="up"))
    with pytest.raises(ValueError, match="qty must be > 0"):
        forced_selling_attribution(price, trades.assign(qty=0))
    with pytest.raises(ValueError, match="have no prices"):
        forced_selling_attribution(price, trades.assign(instrument="OIL"))
    with pytest.raises(ValueError, match="trade log is required"):
        forced_selling_attribution(price)
    with pytest.raises(ValueError, match="named"):
        forced_selling_attribution(price.rename(None), trades)
    with pytest.raises(ValueError, match="start must be before end"):
        forced_selling_attribution(price, trades, start=100.0, end=50.0)
    with pytest.raises(ValueError, match="same index"):
        price_impact(price, signed_flow(trades, price.index)["GOLD"].iloc[1:])
    with pytest.raises(ValueError, match="constant"):
        price_impact(price, price * 0.0)
    with pytest.raises(ValueError, match="horizon"):
        price_impact(price, price * 0.0, horizon=1000)
