"""Insurance funds kept per instrument (``InstrumentSpec.insurance_fund``).

The margin engine's oracle comparison (tests/test_margin_oracle.py) checks the
rule close by close. Here a simulation's own records are the oracle: each
instrument's recorded fund cash moves only in steps where that instrument had
a liquidation close (a fund serves its own book alone), the venue's figures
add the funds up, money is conserved, and a world whose instruments all share
the venue's fund records the same cash on every instrument.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from deleverage.analysis import crash_table
from deleverage.data import fund_needed_in_run
from deleverage.result import Result
from deleverage.scenario import InstrumentSpec, Scenario, from_toml_str, to_toml_str
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

FUNDS = {"BTC": 800_000.0, "ALT": 600_000.0}


def _world(funds: dict[str, float | None], venue: float) -> Scenario:
    s = load_preset("crypto-cascade-2025").with_accounts(8_000).replace(targets=())
    instruments = tuple(
        dataclasses.replace(inst, insurance_fund=funds.get(inst.name)) for inst in s.instruments
    )
    return s.replace(instruments=instruments, insurance_fund=venue)


@pytest.fixture(scope="module")
def runs() -> dict[str, Result]:
    return {
        "isolated": simulate(_world(FUNDS, 0.0), 1, progress=False),
        "shared": simulate(_world({}, sum(FUNDS.values())), 1, progress=False),
    }


def _changes(r: Result, name: str, start: float) -> set[object]:
    cash = r.series[name]["insurance_fund"]
    moved = np.diff(np.concatenate([[start], cash.to_numpy()])) != 0
    return set(cash.index[moved])


def test_each_fund_moves_only_with_its_own_books_closes(runs: dict[str, Result]) -> None:
    r = runs["isolated"]
    liq = r.liquidations
    for name, start in FUNDS.items():
        closes = set(liq.loc[liq["instrument"] == name, "time"])
        changed = _changes(r, name, start)
        assert changed, name  # each fund did work: fees in, takeovers realized
        assert changed <= closes, name
    # Bitcoin's fund ran dry and its book was deleveraged; the altcoin's fund,
    # a fraction of bitcoin's losses, still decided its own book's ADL.
    assert (liq.loc[liq["instrument"] == "BTC", "kind"] == "adl").any()


def test_one_shared_fund_moves_with_every_books_closes(runs: dict[str, Result]) -> None:
    # The counterpart that makes the test above able to fail: one fund is drawn
    # on by both books, so the altcoin's column moves in bitcoin's steps too.
    r = runs["shared"]
    btc, alt = (r.series[n]["insurance_fund"].to_numpy() for n in ("BTC", "ALT"))
    np.testing.assert_array_equal(btc, alt)
    liq = r.liquidations
    alt_closes = set(liq.loc[liq["instrument"] == "ALT", "time"])
    assert not _changes(r, "ALT", sum(FUNDS.values())) <= alt_closes


def _replayed_fund_equity(r: Result, name: str) -> np.ndarray:
    """The equity of the fund that serves `name` (which serves no other instrument)
    after each step, recounted from the liquidation log: its positions are the lots
    it took over (``partial`` and ``takeover`` rows, on the liquidated account's
    side, at the bankruptcy price), kept at average cost as a holder's are; its cash
    is the recorded cash; marked at the recorded mark."""
    inst = next(i for i in r.scenario.instruments if i.name == name)
    liq = r.liquidations
    mine = liq[(liq["instrument"] == name) & liq["kind"].isin(["partial", "takeover"])]
    series = r.series[name]
    step_of = {t: k for k, t in enumerate(series.index)}
    q, cost = 0, 0.0
    held = np.zeros(len(series), dtype=np.int64)
    costs = np.zeros(len(series))
    last = 0
    for row in mine.itertuples():
        k = step_of[row.time]
        held[last:k], costs[last:k] = q, cost
        last = k
        lots = int(row.qty) if row.side == "long" else -int(row.qty)
        if q != 0 and (q > 0) != (lots > 0):
            closed = min(abs(lots), abs(q))
            removed = cost if closed == abs(q) else cost * closed / abs(q)
            cost -= removed
            q += -closed if q > 0 else closed
            lots += -closed if lots > 0 else closed
        q += lots
        cost += lots * row.price * inst.lot_size
    held[last:], costs[last:] = q, cost
    cash = series["insurance_fund"].to_numpy()
    return cash + held * series["mark"].to_numpy() * inst.lot_size - costs


@pytest.mark.parametrize("name", ["BTC", "ALT"])
def test_the_recorded_fund_equity_is_its_cash_and_takeovers_at_the_mark(
    runs: dict[str, Result], name: str
) -> None:
    r = runs["isolated"]
    recorded = r.series[name]["fund_equity"].to_numpy()
    replayed = _replayed_fund_equity(r, name)
    np.testing.assert_allclose(recorded, replayed, rtol=1e-9, atol=1e-6 * FUNDS[name])
    # Both funds ran dry in equity (ADL on both books) while their cash barely moved.
    assert recorded.min() < 0, name
    assert r.series[name]["insurance_fund"].min() > 0.8 * FUNDS[name], name
    t = crash_table(r, at=75_600.0)
    after = r.series[name].index >= t.loc[name, "at"]
    assert t.loc[name, "fund_equity_low"] == recorded[after].min()


def test_the_risk_table_gives_each_books_fund(runs: dict[str, Result]) -> None:
    r = runs["isolated"]
    table = r.risk_table()
    for name in FUNDS:
        series = r.series[name]
        assert table.loc[name, "fund_cash_low"] == series["insurance_fund"].min()
        assert table.loc[name, "fund_equity_low"] == series["fund_equity"].min()
        assert table.loc[name, "fund_equity_low"] < 0 < table.loc[name, "fund_cash_low"]


def test_one_fund_records_the_same_equity_on_every_book(runs: dict[str, Result]) -> None:
    r = runs["shared"]
    np.testing.assert_array_equal(
        r.series["BTC"]["fund_equity"].to_numpy(), r.series["ALT"]["fund_equity"].to_numpy()
    )


@pytest.mark.parametrize("name", ["isolated", "shared"])
def test_the_venue_adds_its_funds_up(runs: dict[str, Result], name: str) -> None:
    r = runs[name]
    risk = r.risk()
    assert risk.fund_start == sum(FUNDS.values())
    if name == "isolated":
        ends = sum(float(r.series[n]["insurance_fund"].iloc[-1]) for n in FUNDS)
        lows = r.series["BTC"]["insurance_fund"] + r.series["ALT"]["insurance_fund"]
    else:
        ends = float(r.series["BTC"]["insurance_fund"].iloc[-1])
        lows = r.series["BTC"]["insurance_fund"]
    assert risk.fund_end == pytest.approx(ends, rel=1e-15)
    assert risk.fund_low == pytest.approx(min(float(lows.min()), risk.fund_start), rel=1e-15)
    assert r.metrics()["insurance_fund_end"] == pytest.approx(ends, rel=1e-15)
    assert r.conservation_error < 1e-12


def test_a_venue_fund_beside_instrument_funds_is_untouched_when_none_shares_it() -> None:
    r = simulate(_world(FUNDS, 5e6), 1, progress=False)
    risk = r.risk()
    assert risk.fund_start == 5e6 + sum(FUNDS.values())
    ends = sum(float(r.series[n]["insurance_fund"].iloc[-1]) for n in FUNDS)
    assert risk.fund_end == pytest.approx(5e6 + ends, rel=1e-15)


def test_a_fund_for_one_instrument_leaves_the_other_on_the_venues() -> None:
    # The venue's fund now serves bitcoin alone.
    r = simulate(_world({"ALT": 600_000.0}, 800_000.0), 1, progress=False)
    liq = r.liquidations
    for name, start in (("BTC", 800_000.0), ("ALT", 600_000.0)):
        closes = set(liq.loc[liq["instrument"] == name, "time"])
        assert _changes(r, name, start) <= closes, name
    assert r.risk().fund_start == 1_400_000.0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf, 1e19])
def test_bad_fund_names_the_field(bad: float) -> None:
    with pytest.raises(ValueError, match=r"^insurance_fund: "):
        InstrumentSpec("X", 100.0, insurance_fund=bad)


def test_a_fund_of_the_wrong_type_names_the_field() -> None:
    with pytest.raises(TypeError, match=r"^insurance_fund: "):
        InstrumentSpec("X", 100.0, insurance_fund="lots")  # type: ignore[arg-type]


def test_scaled_scales_each_instruments_fund_and_keeps_shared_ones_shared() -> None:
    s = _world({"ALT": 600_000.0}, 800_000.0)
    half = s.scaled(0.5)
    by_name = {inst.name: inst.insurance_fund for inst in half.instruments}
    assert by_name == {"BTC": None, "ALT": 300_000.0}
    assert half.insurance_fund == 400_000.0


def test_toml_keeps_the_funds() -> None:
    s = _world({"ALT": 600_000.0}, 800_000.0)
    back = from_toml_str(to_toml_str(s))
    assert [inst.insurance_fund for inst in back.instruments] == [None, 600_000.0]
    assert back == s


@pytest.mark.parametrize(("name", "funds"), [("ALT", FUNDS), ("BTC", {})])
def test_the_fund_a_run_needs_is_confirmed_by_runs_of_its_own(
    name: str, funds: dict[str, float]
) -> None:
    # The altcoin's own fund, or (one fund for both books) the venue's.
    world = _world(funds, 0.0 if funds else sum(FUNDS.values()))
    found = fund_needed_in_run(world, instrument=name, seed=1, tolerance=5_000.0)
    assert found.fund is not None
    assert 0.0 < found.below < found.fund <= found.below + 5_000.0
    assert "unless the fund for" in found.describe()

    def adl(cash: float) -> int:
        if funds:
            inst = tuple(
                dataclasses.replace(i, insurance_fund=cash) if i.name == name else i
                for i in world.instruments
            )
            changed = world.replace(instruments=inst)
        else:
            changed = world.replace(insurance_fund=cash)
        return int(simulate(changed, 1, progress=False).metrics(name)["adl_events"])

    assert adl(found.fund) == 0
    assert adl(found.below) > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"target": "bankrupt"}, ValueError, "target"),
        ({"limit": -1.0}, ValueError, "limit"),
        ({"limit": math.inf}, ValueError, "limit"),
        ({"tolerance": 0.0}, ValueError, "tolerance"),
        ({"instrument": "ETH"}, ValueError, "instrument"),
        ({"seed": -1}, ValueError, "seed"),
        ({"threads": 0}, ValueError, "threads"),
    ],
)
def test_fund_needed_in_run_arguments_are_checked(
    kwargs: dict[str, object], error: type, field: str
) -> None:
    with pytest.raises(error, match=rf"^{field}: "):
        fund_needed_in_run(_world(FUNDS, 0.0), **kwargs)  # type: ignore[arg-type]
