"""Snapshots of accounts and stress tests of a book, against brute force and the margin oracle."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage import _core
from deleverage.data import (
    AccountSnapshot,
    DataFileError,
    Depth,
    fund_needed,
    read_accounts,
    reverse_stress,
    stress,
)
from deleverage.margin import MarginEngine
from deleverage.reference_margin import ReferenceMargin
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset

LIQ_FIELDS = (
    "check",
    "round",
    "kind",
    "side",
    "account",
    "instrument",
    "qty",
    "price",
    "mark",
    "equity",
)


@pytest.fixture(scope="module")
def world() -> Scenario:
    """The default-hour world with a second instrument (SILVER) and a small insurance fund."""
    base = load_preset("default-hour").replace(targets=(), quiet_window=())
    gold = base.instruments[0]
    silver = dataclasses.replace(gold, name="SILVER", start_price=30.0, tick_size=0.01)
    return base.replace(instruments=(gold, silver), insurance_fund=2_000.0)


def _oracle_after(
    world: Scenario, snap: AccountSnapshot, shock: float
) -> tuple[ReferenceMargin, Any]:
    """The margin oracle holding the snapshot, and its log of one check with the first
    instrument's mark moved by ``shock``."""
    oracle = ReferenceMargin(
        [inst.to_instrument() for inst in world.instruments],
        insurance_fund=world.insurance_fund,
        adl=world.adl,
        instrument_funds=[inst.insurance_fund for inst in world.instruments],
    )
    oracle.add_accounts(
        snap.cash,
        instrument=snap.instrument,
        position=snap.position,
        entry_price=snap.entry_ticks([inst.tick_size for inst in world.instruments]),
        mode=snap.mode,
    )
    marks = [inst.start_ticks for inst in world.instruments]
    marks[0] = math.floor(marks[0] * (1 + shock) + 0.5)
    return oracle, marks, oracle.check(marks)


def _oracle_reaches(target: str, world: Scenario, snap: AccountSnapshot, shock: float) -> bool:
    """Whether the oracle's one check at GOLD moved by ``shock`` triggers ADL
    (``target="adl"``) or leaves the fund that serves GOLD with equity at or
    under zero (``"fund"``: its cash and its positions in what it serves)."""
    oracle, marks, log = _oracle_after(world, snap, shock)
    if target == "adl":
        return bool(np.any(log["kind"] == 3))
    v = [inst.tick_value for inst in world.instruments]
    served = [i for i in range(len(marks)) if oracle.fund_of[i] == oracle.fund_of[0]]
    equity = oracle.fund_cash(0) + sum(
        float(oracle.fund_position[i]) * marks[i] * v[i] - float(oracle.fund_cost[i])
        for i in served
    )
    return equity <= 0.0


def _book(n: int, seed: int, *, cross_share: float = 0.3, at_start: bool = False) -> pd.DataFrame:
    """A random book: leveraged longs and shorts in GOLD, some in SILVER, some cross in both
    (``at_start``: entered at the start prices, at most 15x: none liquidatable at the start)."""
    rng = np.random.default_rng(seed)
    cross = rng.random(n) < cross_share
    gold = rng.integers(-40, 41, n)
    silver = np.where(cross | (rng.random(n) < 0.3), rng.integers(-300, 301, n), 0)
    gold = np.where(~cross & (silver != 0), 0, gold)  # isolated: one instrument
    notional = np.abs(gold) * 2000.0 + np.abs(silver) * 30.0
    leverage = rng.uniform(2.0, 15.0 if at_start else 25.0, n)
    gold_entry = np.full(n, 2000.0) if at_start else np.round(rng.normal(2000, 40, n), 1)
    silver_entry = np.full(n, 30.0) if at_start else np.round(rng.normal(30, 0.6, n), 2)
    return pd.DataFrame(
        {
            "id": rng.permutation(n).astype(np.int64) * 7 + 100_000,
            "cash": np.round(notional / leverage + rng.uniform(0, 50, n), 2),
            "position.GOLD": gold,
            "entry_price.GOLD": np.where(gold != 0, gold_entry, np.nan),
            "position.SILVER": silver,
            "entry_price.SILVER": np.where(silver != 0, silver_entry, np.nan),
            "mode": np.where(cross, "cross", "isolated"),
        }
    )


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_snapshot_loads_into_exactly_the_state_it_describes(
    world: Scenario, tmp_path: Path, suffix: str
) -> None:
    frame = _book(400, 1)
    snap = read_accounts(_write(frame, tmp_path / f"a{suffix}"), world.instruments)
    engine = MarginEngine([inst.to_instrument() for inst in world.instruments])
    snap.load_into(engine, [inst.tick_size for inst in world.instruments])
    # Brute force, row by row, from the table itself.
    for k, row in enumerate(frame.itertuples(index=False)):
        r: dict[str, Any] = dict(zip(frame.columns, row, strict=True))
        assert snap.ids[k] == r["id"]
        assert engine.cash[k] == r["cash"]
        assert engine.mode[k] == (1 if r["mode"] == "cross" else 0)
        held = []
        for i, inst in enumerate(world.instruments):
            q = int(r[f"position.{inst.name}"])
            assert engine.position[k, i] == q
            want = (
                0.0
                if q == 0
                else q * (r[f"entry_price.{inst.name}"] / inst.tick_size) * inst.tick_value
            )
            assert engine.cost[k, i] == want
            if q:
                held.append(i)
        assert engine.instrument[k] == (held[0] if held else 0)


def test_liquidations_on_a_snapshot_match_the_margin_oracle(
    world: Scenario, tmp_path: Path
) -> None:
    frame = _book(300, 2)
    file = _write(frame, tmp_path / "a.parquet")
    shocks = [-0.03, -0.08, -0.3, 0.1]
    got = stress(world, file, shocks, keep_logs=True, threads=2)
    assert got.logs is not None
    snap = read_accounts(file, world.instruments)
    ticks = [inst.tick_size for inst in world.instruments]
    saw_adl = False
    for s, log, row in zip(shocks, got.logs, got.table.itertuples(), strict=True):
        oracle, _, want = _oracle_after(world, snap, s)
        assert len(log) == len(want)
        assert len(want) > 0
        # Account for account, close for close.
        np.testing.assert_array_equal(log["account"].to_numpy(), want["account"])
        np.testing.assert_array_equal(log["id"].to_numpy(), snap.ids[want["account"]])
        np.testing.assert_array_equal(log["qty"].to_numpy(), want["qty"])
        kinds = np.array(["partial", "book", "takeover", "adl", "adl_victim"], dtype=object)
        np.testing.assert_array_equal(log["kind"].to_numpy(), kinds[want["kind"]])
        size = np.array(ticks)[want["instrument"]]
        np.testing.assert_array_equal(log["price"].to_numpy(), want["price"] * size)
        np.testing.assert_array_equal(log["equity"].to_numpy(), want["equity"])
        liquidated = np.unique(want["account"][want["kind"] != 4])
        assert row.accounts_liquidated == len(liquidated)
        assert row.adl_events == np.count_nonzero(want["kind"] == 3)
        assert row.bad_debt == pytest.approx(oracle.bad_debt, rel=1e-12, abs=1e-9)
        saw_adl |= row.adl_events > 0
    assert saw_adl  # the small fund makes the largest shock reach ADL


def test_the_outcome_does_not_depend_on_threads_or_order(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(500, 3), tmp_path / "a.parquet")
    depth = Depth(levels=30, lots=20, spacing=0.002)
    one = stress(world, file, [-0.02, -0.1, -0.2], depth=depth, threads=1).table
    two = stress(world, file, [-0.2, -0.02, -0.1], depth=depth, threads=2).table
    pd.testing.assert_frame_equal(one, two.iloc[[1, 2, 0]].reset_index(drop=True))


def test_with_a_depth_profile_the_stress_loop_is_the_engine_driven_by_hand(
    world: Scenario, tmp_path: Path
) -> None:
    # Oracle: the Python MarginEngine with OrderBooks quoted by hand the same way.
    frame = _book(300, 4, cross_share=0.0)
    file = _write(frame, tmp_path / "a.parquet")
    depth = Depth(levels=20, lots=15, spacing=0.003)
    shock = -0.12
    got = stress(world, file, [shock], depth=depth, keep_logs=True)
    assert got.logs is not None
    snap = read_accounts(file, world.instruments)
    engine = MarginEngine(
        [inst.to_instrument() for inst in world.instruments], insurance_fund=world.insurance_fund
    )
    snap.load_into(engine, [inst.tick_size for inst in world.instruments])
    books = []
    index = [inst.start_ticks for inst in world.instruments]
    shocked = index[0] * (1 + shock)
    index[0] = math.floor(shocked + 0.5)
    for i, _inst in enumerate(world.instruments):
        book = _core.OrderBook(track_owners=True)
        price = shocked if i == 0 else float(index[i])
        for j in range(depth.levels):
            away = depth.spacing * (j + 1)
            book.limit(0, math.floor(price * (1 - away) + 0.5), depth.lots, 0xFFFFFFF0)
            book.limit(1, math.floor(price * (1 + away) + 0.5), depth.lots, 0xFFFFFFF0)
        engine.attach_book(i, book)
        books.append(book)
    want = engine.check_books(index)
    log = got.logs[0]
    np.testing.assert_array_equal(log["account"].to_numpy(), want["account"])
    np.testing.assert_array_equal(log["qty"].to_numpy(), want["qty"])
    size = np.array([inst.tick_size for inst in world.instruments])[want["instrument"]]
    np.testing.assert_array_equal(log["price"].to_numpy(), want["price"] * size)
    row = got.table.iloc[0]
    assert row["book_notional"] > 0
    assert row["slippage"] > 0
    assert row["book_notional"] <= row["liquidated_notional"]
    assert row["bad_debt"] == pytest.approx(engine.bad_debt, rel=1e-12, abs=1e-9)


def test_more_depth_means_less_slippage_and_less_for_the_fund(
    world: Scenario, tmp_path: Path
) -> None:
    file = _write(_book(600, 5, cross_share=0.0), tmp_path / "a.parquet")
    thin = stress(world, file, [-0.15], depth=Depth(20, 5, 0.002)).table.iloc[0]
    deep = stress(world, file, [-0.15], depth=Depth(20, 5000, 0.002)).table.iloc[0]
    assert deep["slippage"] < thin["slippage"]
    assert deep["book_notional"] > thin["book_notional"]


def _gold_funded(world: Scenario) -> Scenario:
    """GOLD with a fund of its own the size of the world's, the venue's fund a billion."""
    gold, silver = world.instruments
    own = dataclasses.replace(gold, insurance_fund=world.insurance_fund)
    return world.replace(instruments=(own, silver), insurance_fund=1e9)


@pytest.mark.parametrize("funds", ["venue", "own"])
@pytest.mark.parametrize("target", ["fund", "adl"])
def test_the_reverse_stress_threshold_is_confirmed_by_the_oracle(
    world: Scenario, tmp_path: Path, target: str, funds: str
) -> None:
    # "own": the shocked instrument's own fund decides, not the venue's billion.
    if funds == "own":
        world = _gold_funded(world)
    file = _write(_book(250, 6), tmp_path / "a.parquet")
    found = reverse_stress(world, file, target, tolerance=1e-4)  # type: ignore[arg-type]
    assert found.shock is not None
    assert found.shock < found.below <= 0
    assert found.below - found.shock <= 1e-4
    snap = read_accounts(file, world.instruments)

    def oracle_says(s: float) -> bool:
        return _oracle_reaches(target, world, snap, s)

    assert oracle_says(found.shock)
    assert not oracle_says(found.below)


def test_a_shock_reads_the_fund_that_serves_its_instrument(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(250, 6), tmp_path / "a.parquet")
    shocks = [-0.05, -0.2]
    own = stress(_gold_funded(world), file, shocks).table
    assert own["fund_start"].tolist() == [world.insurance_fund] * 2
    # The venue's billion alone is never emptied by the same shocks.
    venue = stress(world.replace(insurance_fund=1e9), file, shocks).table
    assert (venue["fund_low"] > 0.99e9).all()
    assert (own["fund_low"] < world.insurance_fund).any()
    # SILVER's shock is served by the venue's fund.
    silver = stress(_gold_funded(world), file, shocks, instrument="SILVER").table
    assert silver["fund_start"].tolist() == [1e9] * 2


def _with_gold_fund(world: Scenario, cash: float) -> Scenario:
    """``world`` with the fund that serves GOLD (its own, else the venue's) at ``cash``."""
    gold, silver = world.instruments
    if gold.insurance_fund is None:
        return world.replace(insurance_fund=cash)
    return world.replace(instruments=(dataclasses.replace(gold, insurance_fund=cash), silver))


@pytest.mark.parametrize("funds", ["venue", "own"])
@pytest.mark.parametrize(("target", "shock"), [("adl", -0.1), ("adl", -0.3), ("fund", -0.2)])
def test_the_fund_needed_is_confirmed_by_the_oracle(
    world: Scenario, tmp_path: Path, target: str, shock: float, funds: str
) -> None:
    if funds == "own":
        world = _gold_funded(world)
    file = _write(_book(250, 6), tmp_path / "a.parquet")
    found = fund_needed(world, file, shock, target)  # type: ignore[arg-type]
    assert found.fund is not None
    assert 0 < found.below < found.fund <= found.below + 1e-4 * found.fund
    snap = read_accounts(file, world.instruments)

    def oracle_says(cash: float) -> bool:
        return _oracle_reaches(target, _with_gold_fund(world, cash), snap, shock)

    assert not oracle_says(found.fund)
    assert oracle_says(found.below)
    assert found.at is not None
    assert found.before is not None
    assert "unless the fund for GOLD starts with at least" in found.describe()


def test_no_fund_is_needed_where_no_takeover_loses(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(100, 3, at_start=True), tmp_path / "a.parquet")
    found = fund_needed(world, file, -0.01)
    assert found.fund == 0.0
    assert found.evaluations == 1
    assert "needs no fund for GOLD" in found.describe()


def test_a_limit_too_small_says_so(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(250, 6), tmp_path / "a.parquet")
    found = fund_needed(world, file, -0.3, limit=10.0)
    assert found.fund is None
    assert found.below == 10.0
    assert "with any fund for GOLD up to 10.00" in found.describe()


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"shock": 0.0}, ValueError, "shock"),
        ({"shock": -1.0}, ValueError, "shock"),
        ({"shock": 11.0}, ValueError, "shock"),
        ({"shock": "big"}, TypeError, "shock"),
        ({"target": "bankrupt"}, ValueError, "target"),
        ({"limit": -1.0}, ValueError, "limit"),
        ({"limit": math.nan}, ValueError, "limit"),
        ({"tolerance": 0.0}, ValueError, "tolerance"),
        ({"instrument": "COPPER"}, ValueError, "instrument"),
    ],
)
def test_fund_needed_arguments_are_checked(
    world: Scenario, tmp_path: Path, kwargs: dict[str, Any], error: type, field: str
) -> None:
    file = _write(_book(20, 1), tmp_path / "a.parquet")
    with pytest.raises(error, match=rf"^{field}: "):
        fund_needed(world, file, **kwargs)


def test_reverse_stress_says_when_nothing_reaches_the_target(
    world: Scenario, tmp_path: Path
) -> None:
    frame = _book(50, 7)
    frame["cash"] *= 100  # nobody is leveraged enough
    file = _write(frame, tmp_path / "a.parquet")
    found = reverse_stress(world.replace(insurance_fund=1e9), file, "fund", limit=-0.3)
    assert found.shock is None
    assert found.below == -0.3


def test_a_move_over_time_and_a_path_reach_the_shock(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(300, 8, at_start=True), tmp_path / "a.parquet")
    at_once = stress(world, file, [-0.1]).table.iloc[0]
    spread = stress(world, file, [-0.1], over=10).table.iloc[0]
    assert spread["lowest_mark"] == at_once["lowest_mark"]
    times = np.arange(6.0)
    path = _write(
        pd.DataFrame({"time": times, "price": [100.0, 99.0, 95.0, 90.0, 94.0, 97.0]}),
        tmp_path / "p.csv",
    )
    along = stress(world, file, [-0.1], path=path).table.iloc[0]
    assert along["lowest_mark"] == at_once["lowest_mark"]
    # Full closes, and an account's margin falls with the price: whoever is liquidatable
    # at the low goes on the way down, whoever goes on the way is liquidatable at the low.
    assert at_once["accounts_liquidated"] > 0
    assert spread["accounts_liquidated"] == at_once["accounts_liquidated"]
    assert along["accounts_liquidated"] == at_once["accounts_liquidated"]


def test_results_write_to_parquet_and_draw(world: Scenario, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    file = _write(_book(200, 9), tmp_path / "a.parquet")
    result = stress(world, file, [-0.05, -0.1], keep_logs=True)
    out = result.to_parquet(tmp_path / "stress.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out), result.table)
    log = pd.read_parquet(tmp_path / "stress.log.parquet")
    assert set(log["id"]) <= set(read_accounts(file, world.instruments).ids)
    fig = result.plot()
    assert len(fig.axes) == 6


BAD: list[tuple[dict[str, list[Any]], str]] = [
    ({"id": [1, 2, 1], "cash": [1.0, 2.0, 3.0]}, "column 'id', row 3: id 1 repeats row 1"),
    ({"id": [1, 2], "money": [1.0, 2.0]}, r"unknown columns \['money'\]"),
    ({"id": [1, 2]}, "no column 'cash'"),
    ({"id": [1, 2], "cash": [1.0, -2.0]}, "column 'cash', row 2: must be money"),
    ({"id": [1, 2], "cash": [1.0, None]}, "column 'cash', row 2: must be money"),
    (
        {
            "id": [1, 2],
            "cash": [1.0, 2.0],
            "position.GOLD": [1.5, 0],
            "entry_price.GOLD": [1.0, None],
        },
        "column 'position.GOLD', row 1: must be a whole number of lots",
    ),
    (
        {
            "id": [1, 2],
            "cash": [1.0, 2.0],
            "position.GOLD": [0, 3],
            "entry_price.GOLD": [None, None],
        },
        "column 'entry_price.GOLD', row 2: an open position needs an entry price",
    ),
    (
        {"id": [1, 2], "cash": [1.0, 2.0], "position.GOLD": [0, 3]},
        "column 'entry_price.GOLD' is missing",
    ),
    (
        {
            "id": [1, 2],
            "cash": [1.0, 2.0],
            "position.GOLD": [0, 3],
            "entry_price.GOLD": [None, 2.0],
            "position.SILVER": [0, 1],
            "entry_price.SILVER": [None, 3.0],
        },
        "column 'mode', row 2: an isolated account holds one instrument",
    ),
    (
        {"id": [1, 2], "cash": [1.0, 2.0], "mode": ["cross", "crossed"]},
        "column 'mode', row 2: must be isolated or cross",
    ),
    (
        {"id": [1, 2], "cash": [1.0, 2.0], "population": ["", "whales"]},
        "column 'population', row 2: no population 'whales'",
    ),
    (
        {"id": [1, 2], "cash": [1.0, 2.0], "leverage": [None, -3.0]},
        "column 'leverage', row 2: must be in",
    ),
    ({"id": ["a", "b"], "cash": [1.0, 2.0]}, "column 'id' must hold integers"),
]


@pytest.mark.parametrize(("columns", "message"), BAD)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_bad_account_files_name_the_column_and_the_row(
    world: Scenario, tmp_path: Path, columns: dict[str, list[Any]], message: str, suffix: str
) -> None:
    file = _write(pd.DataFrame(columns), tmp_path / f"bad{suffix}")
    with pytest.raises(DataFileError, match=message) as err:
        read_accounts(file, world.instruments, [p.name for p in world.populations])
    assert str(file) in str(err.value)


def test_a_good_snapshot_keeps_its_optional_columns(world: Scenario, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "id": [10, 20, 30],
            "cash": [1000.0, 2000.0, 3000.0],
            "position.GOLD": [1, -2, 0],
            "entry_price.GOLD": [2000.0, 2010.0, None],
            "mode": ["isolated", None, "cross"],
            "population": ["speculators", None, ""],
            "leverage": [5.0, None, None],
        }
    )
    snap = read_accounts(_write(frame, tmp_path / "a.parquet"), world.instruments, ["speculators"])
    assert isinstance(snap, AccountSnapshot)
    np.testing.assert_array_equal(snap.mode, [0, 0, 1])
    np.testing.assert_array_equal(snap.population, [0, -1, -1])
    np.testing.assert_array_equal(snap.leverage, [5.0, np.nan, np.nan])
    np.testing.assert_array_equal(snap.position[:, 1], 0)  # SILVER left out: flat


def test_stress_arguments_are_checked(world: Scenario, tmp_path: Path) -> None:
    file = _write(_book(10, 10), tmp_path / "a.parquet")
    with pytest.raises(ValueError, match=r"shocks\[1\]: must be a relative move in \(-1, 10\]"):
        stress(world, file, [-0.1, -1.5])
    with pytest.raises(ValueError, match=r"instrument: unknown instrument 'COPPER'"):
        stress(world, file, instrument="COPPER")
    with pytest.raises(ValueError, match=r"depth\.levels: must be in 0\.\.100000"):
        Depth(levels=-1, lots=1)
    with pytest.raises(ValueError, match=r"over: must be an integer in 1\.\.100000"):
        stress(world, file, over=0)
    with pytest.raises(ValueError, match=r"threads: must be an integer in 1\.\.256"):
        stress(world, file, threads=0)
    with pytest.raises(ValueError, match="target: must be fund or adl"):
        reverse_stress(world, file, "bank")  # type: ignore[arg-type]


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), shock=st.floats(-0.5, 0.5).filter(lambda s: abs(s) > 1e-3))
def test_any_book_and_shock_match_the_oracle_in_count_and_bad_debt(
    world: Scenario, tmp_path: Path, seed: int, shock: float
) -> None:
    file = _write(_book(60, seed), tmp_path / f"h{seed}.parquet")
    row = stress(world, file, [shock], threads=1).table.iloc[0]
    snap = read_accounts(file, world.instruments)
    oracle, _, want = _oracle_after(world, snap, shock)
    assert row["accounts_liquidated"] == len(np.unique(want["account"][want["kind"] != 4]))
    assert row["bad_debt"] == pytest.approx(oracle.bad_debt, rel=1e-12, abs=1e-9)


def test_a_forced_seller_bracket_is_confirmed_by_runs_of_its_own() -> None:
    from deleverage.data.stress import forced_trader
    from deleverage.simulate import build

    world = load_preset("default-hour").replace(targets=(), quiet_window=())
    found = forced_trader(world, 1880.0, seed=1, over=300.0, tolerance=0.0)
    assert found.lots is not None
    assert found.side == "sell"
    assert found.lots == found.below + 1  # tolerance 0: down to one lot
    step = world.clock.steps // 4

    def lowest(lots: int) -> float:
        # The same world and seed, the sale sent by hand: 300 orders, lots split evenly.
        sim, _ = build(world, seed=1)
        size, extra = divmod(lots, 300)
        for k in range(300):
            part = size + (1 if k < extra else 0)
            if part:
                sim.schedule_forced_order(step + k, 0, -part)
        sim.run()
        assert sim.conservation_error() < 1e-9
        last = sim.records.reshape(-1, 1)[step:, 0]["last"] * world.instruments[0].tick_size
        return float(last.min())

    assert lowest(found.lots) <= 1880.0 < lowest(found.below)
    assert lowest(found.lots) == found.reached


def test_forced_orders_are_checked() -> None:
    from deleverage.simulate import build

    sim, _ = build(load_preset("default-hour"), seed=0)
    with pytest.raises(ValueError, match="step: must be a step of the run"):
        sim.schedule_forced_order(10**6, 0, -5)
    with pytest.raises(ValueError, match="lots: must be non-zero"):
        sim.schedule_forced_order(5, 0, 0)
    with pytest.raises(ValueError, match="instrument: unknown instrument 3"):
        sim.schedule_forced_order(5, 3, 1)
    # A run stopped at a step takes orders from that step on, not before it.
    sim.run(until=100)
    with pytest.raises(ValueError, match=r"step: must not be before .* reached \(100\)"):
        sim.schedule_forced_order(99, 0, -5)
    sim.schedule_forced_order(100, 0, -5)
