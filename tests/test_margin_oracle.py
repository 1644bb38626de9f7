"""The C++ margin engine against the brute-force oracle (deleverage.reference_margin).

Random account populations are marked along random price paths; after every
check the engine's liquidation records, account table, insurance fund and
totals must be the oracle's. Then the closed-form liquidation prices, margin
hikes, the liquidated-notional cap, bad input (on both), and one pinned case
for every behaviour of docs/margin.md a random mismatch once pointed at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage import LIQUIDATION_DTYPE, Instrument, MarginEngine, MarginRule
from deleverage.reference_margin import LIQUIDATION_DTYPE as REF_DTYPE
from deleverage.reference_margin import ReferenceMargin

Model = ReferenceMargin | MarginEngine
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EXACT_FIELDS = ("check", "round", "kind", "side", "account", "instrument", "qty", "mark")
MONEY = ("cash", "realized_pnl", "fees_paid")


# -- worlds ---------------------------------------------------------------------------------------


@dataclass
class World:
    instruments: list[Instrument]
    fund: float
    adl: bool
    max_rounds: int
    cap: float
    cash: np.ndarray
    position: np.ndarray
    entry: np.ndarray
    mode: np.ndarray
    home: np.ndarray
    marks: np.ndarray  # (steps, instruments)
    hike: tuple[int, int, MarginRule] | None = None  # (step, instrument, rule)
    fund_equity: bool = False  # the fund covers out of its equity at the marks
    capacity: list[float] | None = None  # per instrument, liquidated notional per check
    priority: str = "account"  # the order of a round's accounts
    margin_call_checks: int = 0  # checks a margin call runs (0: liquidated at once)
    close_out_ratio: float = 0.0  # during a call, equity over maintenance that closes at once
    funds: list[float | None] | None = None  # per instrument, its own fund (None: the venue's)

    def build(self, cls: type[Model]) -> Model:
        model = cls(
            self.instruments,
            insurance_fund=self.fund,
            adl=self.adl,
            max_rounds=self.max_rounds,
            max_liquidation_notional=self.cap,
            fund_equity=self.fund_equity,
            liquidation_capacity=self.capacity,
            liquidation_priority=self.priority,
            margin_call_checks=self.margin_call_checks,
            close_out_ratio=self.close_out_ratio,
            instrument_funds=self.funds,
        )
        model.add_accounts(
            self.cash,
            position=self.position,
            entry_price=self.entry,
            mode=self.mode,
            instrument=self.home,
        )
        return model

    def scale(self) -> float:
        """The money the accounts and the fund hold (the yardstick for tolerances)."""
        notional = np.abs(self.position) * self.entry * self.tick_values
        own = sum(f for f in self.funds or () if f is not None)
        return float(self.cash.sum() + notional.sum() + self.fund + own)

    @property
    def tick_values(self) -> np.ndarray:
        return np.array([inst.tick_value for inst in self.instruments])


KINDS = ("percent", "fixed", "closeout", "tiered")


@st.composite
def rules(draw: st.DrawFn, lot_notional: float, *, partial: bool = True) -> MarginRule:
    kind = draw(st.sampled_from(KINDS))
    leverage = draw(st.sampled_from([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]))
    common = {
        "initial_rate": 1.0 / leverage,
        "basis": draw(st.sampled_from(["mark", "entry"])),
        "liquidation_fee_rate": draw(st.sampled_from([0.0, 0.0, 0.0005, 0.005, 0.02])),
        "negative_balance_protection": draw(st.booleans()),
    }
    mmr = draw(st.sampled_from([0.3, 0.5, 0.8])) / leverage
    if kind == "percent":
        return MarginRule(maintenance="percent", maintenance_rate=mmr, **common)
    if kind == "fixed":
        return MarginRule(maintenance="fixed", amount_per_lot=mmr * lot_notional, **common)
    if kind == "closeout":
        share = draw(st.sampled_from([0.3, 0.5, 0.8]))
        return MarginRule(maintenance="closeout", closeout_share=share, **common)
    floors = (0.0, 5.0, 15.0, 40.0)
    rates = tuple(min(r * mmr, 0.9) for r in (0.5, 1.0, 1.5, 2.5))
    tiers = tuple((f * lot_notional, r) for f, r in zip(floors, rates, strict=True))
    use_partial = partial and draw(st.booleans())
    return MarginRule(maintenance="tiered", tiers=tiers, partial_liquidation=use_partial, **common)


@st.composite
def worlds(
    draw: st.DrawFn,
    *,
    max_accounts: int = 300,
    cross: bool = True,
    partial: bool = True,
    caps: bool = False,
    hike: bool = False,
    capacity: bool = False,
    calls: bool = False,
    isolated: bool = False,
) -> World:
    ni = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_accounts))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    tick_values = [draw(st.sampled_from([0.1, 1.0, 10.0])) for _ in range(ni)]
    starts = [draw(st.integers(50, 50_000)) for _ in range(ni)]
    instruments = [
        Instrument(
            f"I{k}", tick_values[k], draw(rules(starts[k] * tick_values[k], partial=partial))
        )
        for k in range(ni)
    ]
    money = float(np.mean([s * v for s, v in zip(starts, tick_values, strict=True)])) * 20 * n
    fund = draw(st.sampled_from([0.0, 1e-4, 1e-2, 1.0, 1e12])) * money
    # Accounts: isolated ones on their home instrument, cross ones anywhere.
    cross_share = draw(st.sampled_from([0.0, 0.3, 1.0])) if cross and ni > 1 else 0.0
    mode = (rng.random(n) < cross_share).astype(np.int64)
    home = rng.integers(0, ni, n)
    lots = rng.integers(1, 40, (n, ni)) * rng.choice([-1, 1], (n, ni))
    held = (rng.random((n, ni)) < 0.6) & (mode[:, None] == 1)
    held[np.arange(n), home] = True
    lots = np.where(held, lots, 0)
    start = np.array(starts, dtype=np.float64)
    entry = start * (1 + rng.normal(0, 0.02, (n, ni)))
    leverage = np.exp(rng.uniform(0.0, math.log(100.0), n))
    notional = (np.abs(lots) * entry * np.array(tick_values)).sum(axis=1)
    cash = notional / leverage
    # Marks: a random walk with occasional jumps, never below one tick.
    steps = draw(st.integers(20, 60))
    vol = draw(st.sampled_from([0.003, 0.01, 0.03]))
    jump = draw(st.sampled_from([0.0, 0.05]))
    moves = rng.normal(0, vol, (steps, ni))
    moves += np.where(rng.random((steps, ni)) < jump, rng.normal(0, 0.15, (steps, ni)), 0.0)
    marks = np.maximum(np.round(start * np.exp(np.cumsum(moves, axis=0))), 1).astype(np.int64)
    world = World(
        instruments,
        fund,
        adl=draw(st.booleans()),
        max_rounds=draw(st.sampled_from([1, 2, 64, 64])),
        cap=math.inf,
        cash=cash,
        position=lots,
        entry=entry,
        mode=mode,
        home=home,
        marks=marks,
        fund_equity=draw(st.booleans()),
        priority=draw(st.sampled_from(["account", "margin_ratio"])),
    )
    if capacity:
        shares = [math.inf, 1e-4, 1e-3, 0.05]
        world.capacity = [draw(st.sampled_from(shares)) * money / ni for _ in range(ni)]
    if isolated:
        shares = [None, 0.0, 1e-4, 1e-2, 1.0, 1e12]
        world.funds = [
            None if (x := draw(st.sampled_from(shares))) is None else x * money for _ in range(ni)
        ]
    if calls:
        world.margin_call_checks = draw(st.sampled_from([1, 2, 5, 1000]))
        world.close_out_ratio = draw(st.sampled_from([0.0, 0.5, 0.9, 1.0]))
    if caps:
        world.cap = draw(st.sampled_from([1e-3, 0.05, 0.3])) * money
    if hike:
        at = draw(st.integers(0, steps - 1))
        k = draw(st.integers(0, ni - 1))
        world.hike = (at, k, draw(rules(starts[k] * tick_values[k], partial=partial)))
    return world


# -- comparison -----------------------------------------------------------------------------------


def _describe(records: np.ndarray, k: int) -> str:
    return str(records[k].tolist()) if k < len(records) else "(none)"


def assert_same_records(ref: np.ndarray, eng: np.ndarray, scale: float) -> None:
    assert ref.dtype.names == eng.dtype.names
    n = min(len(ref), len(eng))
    for k in range(max(len(ref), len(eng))):
        same = k < n and all(ref[f][k] == eng[f][k] for f in EXACT_FIELDS)
        same = same and math.isclose(ref["price"][k], eng["price"][k], rel_tol=1e-12, abs_tol=1e-9)
        same = same and math.isclose(
            ref["equity"][k], eng["equity"][k], rel_tol=1e-12, abs_tol=1e-12 * scale
        )
        assert same, (
            f"record {k} differs (oracle {len(ref)} records, engine {len(eng)}):\n"
            f"  oracle {_describe(ref, k)}\n  engine {_describe(eng, k)}\n"
            f"  (check, round, kind, side, account, instrument, qty, price, mark, equity)"
        )


def assert_same_state(ref: ReferenceMargin, eng: MarginEngine, scale: float) -> None:
    atol = 1e-12 * scale
    np.testing.assert_array_equal(eng.position, ref.position, err_msg="position")
    np.testing.assert_array_equal(eng.fund_position, ref.fund_position, err_msg="fund_position")
    np.testing.assert_array_equal(eng.status, ref.status, err_msg="status")
    for name in MONEY:
        np.testing.assert_allclose(
            getattr(eng, name), getattr(ref, name), rtol=1e-9, atol=atol, err_msg=name
        )
    np.testing.assert_allclose(eng.cost, ref.cost, rtol=1e-9, atol=atol, err_msg="cost")
    np.testing.assert_allclose(eng.fund_cost, ref.fund_cost, rtol=1e-9, atol=atol)
    for i in range(len(ref.tick_values)):
        assert math.isclose(eng.fund_cash[i], ref.fund_cash(i), rel_tol=1e-9, abs_tol=atol), (
            f"fund_cash[{i}]: engine {eng.fund_cash[i]!r}, oracle {ref.fund_cash(i)!r}"
        )
    for name in ("insurance_fund", "fees_collected", "bad_debt"):
        assert math.isclose(getattr(eng, name), getattr(ref, name), rel_tol=1e-9, abs_tol=atol), (
            f"{name}: engine {getattr(eng, name)!r}, oracle {getattr(ref, name)!r}"
        )
    np.testing.assert_allclose(
        eng.bad_debt_by_instrument,
        ref.bad_debt_by_instrument,
        rtol=1e-9,
        atol=atol,
        err_msg="bad_debt_by_instrument",
    )
    assert eng.bankrupt_accounts == int(np.count_nonzero(ref.status & 2))


def run_both(world: World) -> tuple[ReferenceMargin, MarginEngine]:
    ref = world.build(ReferenceMargin)
    eng = world.build(MarginEngine)
    assert isinstance(ref, ReferenceMargin)
    assert isinstance(eng, MarginEngine)
    scale = world.scale()
    assert_same_state(ref, eng, scale)
    start = {"oracle": ref.conserved(), "engine": eng.conserved()}
    lots = ref.position.sum(axis=0) + ref.fund_position
    for t, marks in enumerate(world.marks):
        if world.hike is not None and world.hike[0] == t:
            _, k, rule = world.hike
            ref.set_rule(k, rule)
            eng.set_rule(k, rule)
        ref_records = ref.check(marks)
        eng_records = eng.check(marks)
        try:
            assert_same_records(ref_records, eng_records, scale)
            assert_same_state(ref, eng, scale)
        except AssertionError as exc:
            raise AssertionError(f"check {t} at marks {marks.tolist()}: {exc}") from None
        for name, model in (("oracle", ref), ("engine", eng)):
            drift = abs(model.conserved() - start[name])
            assert drift <= 1e-9 * scale, f"{name}: money drifted by {drift} at check {t}"
            held = model.position.sum(axis=0) + model.fund_position
            np.testing.assert_array_equal(held, lots, err_msg=f"{name}: lots per instrument")
    return ref, eng


# -- the engine against the oracle ----------------------------------------------------------------


def test_record_layouts_agree() -> None:
    assert LIQUIDATION_DTYPE.names == REF_DTYPE.names
    for name in REF_DTYPE.names:
        assert LIQUIDATION_DTYPE[name] == REF_DTYPE[name], name
    assert LIQUIDATION_DTYPE.itemsize == REF_DTYPE.itemsize


@SETTINGS
@given(world=worlds())
def test_engine_matches_the_oracle_along_random_paths(world: World) -> None:
    run_both(world)


@settings(SETTINGS, max_examples=50)
@given(world=worlds(max_accounts=150, hike=True))
def test_margin_hike_mid_path(world: World) -> None:
    run_both(world)


@settings(SETTINGS, max_examples=50)
@given(world=worlds(max_accounts=150, cross=False, partial=False, caps=True))
def test_liquidated_notional_cap(world: World) -> None:
    # Isolated single positions, no partial closes: every liquidation closes the whole
    # position, so the cap counts the same notional under any reading of it.
    run_both(world)


@settings(SETTINGS, max_examples=60)
@given(world=worlds(max_accounts=150, capacity=True))
def test_liquidation_capacity_per_instrument(world: World) -> None:
    # Cross and isolated accounts, partial closes, either priority: the engine's
    # queue of deferred accounts is the oracle's, record for record.
    run_both(world)


@settings(SETTINGS, max_examples=60)
@given(world=worlds(max_accounts=150, calls=True, capacity=True))
def test_margin_calls(world: World) -> None:
    # Calls that run one to a thousand checks, close-outs from a bankrupt equity
    # to every call closing at once, with per-instrument capacity deferring some:
    # who is called, who answers and who is closed is the oracle's, record for record.
    run_both(world)


@settings(SETTINGS, max_examples=40)
@given(world=worlds(max_accounts=150, calls=True, caps=True, cross=False, partial=False))
def test_margin_calls_under_the_notional_cap(world: World) -> None:
    run_both(world)


def _crash_world(adl: bool, fund_share: float) -> World:
    """300 accounts on two instruments; A falls 30% (with a gap) then rallies, B the reverse."""
    rng = np.random.default_rng(11)
    tiered = MarginRule(
        initial_rate=0.05, maintenance="tiered", partial_liquidation=True,
        tiers=((0.0, 0.005), (10_000.0, 0.01), (30_000.0, 0.02)),
        liquidation_fee_rate=0.005, negative_balance_protection=True,
    )  # fmt: skip
    percent = MarginRule(initial_rate=0.1, maintenance_rate=0.03, liquidation_fee_rate=0.001)
    n = 300
    mode = (rng.random(n) < 0.3).astype(np.int64)
    home = rng.integers(0, 2, n)
    lots = rng.integers(1, 50, (n, 2)) * rng.choice([-1, 1], (n, 2))
    lots = np.where((mode[:, None] == 1) | (np.arange(2) == home[:, None]), lots, 0)
    entry = 1_000.0 * (1 + rng.normal(0, 0.01, (n, 2)))
    cash = (np.abs(lots) * entry).sum(axis=1) / np.exp(rng.uniform(0, math.log(60), n))
    down = np.linspace(1_000, 700, 12)
    down[6] = 760
    path = np.round(np.concatenate([down, np.linspace(700, 1_300, 15)])).astype(np.int64)
    return World(
        [Instrument("A", 1.0, tiered), Instrument("B", 1.0, percent)],
        fund_share * float(cash.sum()), adl, 64, math.inf,
        cash=cash, position=lots, entry=entry, mode=mode, home=home,
        marks=np.column_stack([path, path[::-1]]),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("adl", "fund_share"), [(True, 0.01), (True, 0.0), (True, 1.0), (False, 0.0)]
)
def test_crash_and_rally(adl: bool, fund_share: float) -> None:
    _, eng = run_both(_crash_world(adl, fund_share))
    kinds = np.bincount(eng.log["kind"], minlength=5)
    assert kinds[0] > 0  # partial liquidations
    assert kinds[2] > 0  # takeovers
    assert (kinds[3] > 0) == (kinds[4] > 0) == (adl and fund_share < 1.0)
    assert np.count_nonzero(eng.status == 3) > 50  # bankrupt accounts
    if adl and fund_share == 0.01:
        # The fund covers until it cannot, then ADL; it ends below zero (realized losses).
        first_adl = int(np.argmax(eng.log["kind"] == 3))
        assert (eng.log["kind"][:first_adl] == 2).any()
        assert eng.insurance_fund < 0


@pytest.mark.parametrize("adl", [True, False])
def test_crash_and_rally_with_the_fund_at_its_equity(adl: bool) -> None:
    # A fund of a tenth of the accounts' cash covers every loss out of its cash; marked
    # to market, the positions it took over in the fall have lost more than it holds,
    # and ADL closes the rest (the oracle agrees on every record either way).
    world = _crash_world(adl, 0.1)
    world.fund_equity = True
    _, eng = run_both(world)
    _, cash = run_both(_crash_world(adl, 0.1))
    adl_lots = [int(e.log["qty"][e.log["kind"] == 3].sum()) for e in (eng, cash)]
    if adl:
        assert adl_lots[0] > 0
        assert adl_lots[1] == 0
    else:
        assert adl_lots == [0, 0]


@pytest.mark.parametrize("fund_equity", [False, True])
def test_fund_equity_counts_what_the_fund_holds(fund_equity: bool) -> None:
    # Account 0 (10 long at 100, cash 60) is bankrupt at 93: it owes 10, the fund's
    # cash of 50 covers it and the fund holds 10 lots bought at 94. At 80 account 2
    # (10 long, cash 150) owes 50: the fund's cash (50) still covers it, its equity
    # (50 + 10 * (80 - 94) = -90) does not, so with fund_equity the short (account 1)
    # takes the lots by ADL.
    rule = MarginRule(initial_rate=0.1, maintenance_rate=0.05)
    world = World(
        [Instrument("A", 1.0, rule)], 50.0, True, 64, math.inf,
        cash=np.array([60.0, 1e6, 150.0]), position=np.array([10, -10, 10]),
        entry=np.full(3, 100.0), mode=np.zeros(3, np.int64), home=np.zeros(3, np.int64),
        marks=np.array([[100], [93], [80]]), fund_equity=fund_equity,
    )  # fmt: skip
    _, eng = run_both(world)
    log = eng.log
    assert log["account"][0] == 0
    assert log["kind"][0] == 2
    assert log["price"][0] == 94.0
    late = log[log["check"] == 2]
    if fund_equity:
        assert late["kind"].tolist() == [3, 4]  # ADL, then its victim
        assert late["account"].tolist() == [2, 1]
        assert eng.fund_position.tolist() == [10]
        assert eng.position[:, 0].tolist() == [0, 0, 0]
    else:
        assert late["kind"].tolist() == [2]  # taken over
        assert eng.fund_position.tolist() == [20]
        assert eng.position[:, 0].tolist() == [0, -10, 0]


@pytest.mark.parametrize("isolated", [False, True])
def test_an_isolated_fund_is_not_drained_by_another_book(isolated: bool) -> None:
    # Accounts 0 and 2 are 10 long A and B at 100 with cash 60: each owes 10 at 93.
    # A falls first. The fund that serves A takes A's long over at 94, and its
    # equity falls by 10 (10 lots at 93 bought at 94). One fund of 15 then has 5
    # for B's loss of 10, and B's long goes to ADL against account 3. With 15 in
    # each book's own fund, B's fund still has 15 and takes it over.
    rule = MarginRule(initial_rate=0.1, maintenance_rate=0.05)
    world = World(
        [Instrument("A", 1.0, rule), Instrument("B", 1.0, rule)],
        0.0 if isolated else 15.0, True, 64, math.inf,
        cash=np.array([60.0, 1e6, 60.0, 1e6]),
        position=np.array([[10, 0], [-10, 0], [0, 10], [0, -10]]),
        entry=np.full((4, 2), 100.0), mode=np.zeros(4, np.int64), home=np.array([0, 0, 1, 1]),
        marks=np.array([[100, 100], [93, 100], [93, 93]]), fund_equity=True,
        funds=[15.0, 15.0] if isolated else None,
    )  # fmt: skip
    _, eng = run_both(world)
    log = eng.log
    assert log[log["check"] == 1]["kind"].tolist() == [2]  # A's long taken over
    late = log[log["check"] == 2]
    if isolated:
        assert late["kind"].tolist() == [2]
        assert eng.fund_position.tolist() == [10, 10]
        assert eng.fund_cash.tolist() == [15.0, 15.0]
    else:
        assert late["kind"].tolist() == [3, 4]  # ADL, then its victim (account 3)
        assert late["account"].tolist() == [2, 3]
        assert eng.fund_position.tolist() == [10, 0]
        assert eng.fund_cash.tolist() == [15.0, 15.0]  # one fund, read from either book


def test_margin_hike_liquidates_at_the_same_mark() -> None:
    low = MarginRule(initial_rate=0.1, maintenance_rate=0.06)
    high = MarginRule(initial_rate=0.1, maintenance_rate=0.08)
    world = World(
        [Instrument("GC", 10.0, low)], 1e9, True, 64, math.inf,
        cash=np.array([7_000.0, 20_000.0]), position=np.array([1, 1]),
        entry=np.array([10_000.0, 10_000.0]), mode=np.zeros(2, np.int64),
        home=np.zeros(2, np.int64), marks=np.full((3, 1), 10_000), hike=(1, 0, high),
    )  # fmt: skip
    _, eng = run_both(world)
    assert eng.log["account"].tolist() == [0]
    assert eng.log["check"].tolist() == [1]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("basis", ["mark", "entry"])
def test_liquidation_prices_match_the_closed_form(kind: str, basis: str) -> None:
    rng = np.random.default_rng(len(kind) * 7 + len(basis))
    lot = 5_000.0 * 0.5
    rule = {
        "percent": MarginRule(initial_rate=0.05, maintenance_rate=0.01, basis=basis),
        "fixed": MarginRule(initial_rate=0.05, maintenance="fixed", amount_per_lot=0.01 * lot),
        "closeout": MarginRule(initial_rate=0.05, maintenance="closeout", basis=basis),
        "tiered": MarginRule(
            initial_rate=0.05, maintenance="tiered", basis=basis,
            tiers=((0.0, 0.004), (5 * lot, 0.01), (15 * lot, 0.025), (40 * lot, 0.05)),
        ),
    }[kind]  # fmt: skip
    instruments = [Instrument("X", 0.5, rule), Instrument("Y", 2.0, MarginRule())]
    n = 400
    lots = rng.integers(1, 80, n) * rng.choice([-1, 1], n)
    entry = 5_000.0 * (1 + rng.normal(0, 0.02, n))
    cash = np.abs(lots) * entry * 0.5 / np.exp(rng.uniform(0, math.log(100.0), n))
    mode = rng.integers(0, 2, n)
    other = np.where((mode == 1) & (rng.random(n) < 0.2), 3, 0)  # a few hold two positions
    position = np.column_stack([lots, other])
    prices = np.column_stack([entry, np.full(n, 100.0)])
    models = []
    for cls in (ReferenceMargin, MarginEngine):
        model = cls(instruments)
        model.add_accounts(cash, position=position, entry_price=prices, mode=mode)
        models.append(model)
    ref, eng = models
    expected = ref.liquidation_prices()
    assert np.isnan(expected[other != 0]).all()
    assert np.isfinite(expected[other == 0]).all()
    np.testing.assert_allclose(eng.liquidation_prices(), expected, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(eng.equity([5_000, 100]), ref.equity([5_000, 100]))
    mm = ref.maintenance_margin([5_000, 100])
    np.testing.assert_array_equal(eng.maintenance_margin([5_000, 100]), mm)


# -- bad input ------------------------------------------------------------------------------------

BAD_CALLS: list[tuple[str, Callable[[Model], object], str]] = [
    ("nan cash", lambda m: m.add_accounts([np.nan]), "cash"),
    ("inf cash", lambda m: m.add_accounts([1.0, np.inf]), "cash"),
    ("negative cash", lambda m: m.add_accounts([-1.0]), "cash"),
    ("unknown instrument", lambda m: m.add_accounts([1.0], instrument=2), "instrument"),
    ("negative instrument", lambda m: m.add_accounts([1.0], instrument=-1), "instrument"),
    ("short position", lambda m: m.add_accounts([1.0, 2.0], position=[1, 2, 3]), "position"),
    ("short instrument", lambda m: m.add_accounts([1.0, 2.0], instrument=[0, 1, 1]), "instrument"),
    ("short mode", lambda m: m.add_accounts([1.0, 2.0], mode=[0]), "mode"),
    (
        "short entry",
        lambda m: m.add_accounts([1.0, 2.0], position=[1, 1], entry_price=[5.0]),
        "entry_price",
    ),
    (
        "(N, I) for isolated",
        lambda m: m.add_accounts([1.0], position=[[1, 1]], entry_price=[[5.0, 5.0]]),
        "position",
    ),
    (
        "(N, I) off home",
        lambda m: m.add_accounts([1.0], position=[[0, 2]], entry_price=[[0.0, 5.0]], mode=0),
        "position",
    ),
    ("no entry", lambda m: m.add_accounts([1.0], position=[1], entry_price=[0.0]), "entry_price"),
    (
        "nan entry",
        lambda m: m.add_accounts([1.0], position=[1], entry_price=[np.nan]),
        "entry_price",
    ),
    ("bad mode", lambda m: m.add_accounts([1.0], mode=3), "mode"),
    ("mark zero", lambda m: m.check([0, 10]), "marks"),
    ("mark negative", lambda m: m.check([10, -5]), "marks"),
    ("one mark", lambda m: m.check([10]), "marks"),
    ("three marks", lambda m: m.check([10, 10, 10]), "marks"),
    ("inf mark", lambda m: m.check([np.inf, 10]), "marks"),
    ("nan mark", lambda m: m.check([np.nan, 10]), "marks"),
    ("fractional mark", lambda m: m.check([10.5, 10]), "marks"),
    ("equity marks", lambda m: m.equity([0, 10]), "marks"),
    ("set_rule instrument", lambda m: m.set_rule(2, MarginRule()), "instrument"),
    ("set_rule not a rule", lambda m: m.set_rule(0, "strict"), "rule"),
]


def _snapshot(model: Model) -> dict[str, object]:
    return {
        "accounts": model.accounts,
        "log": len(model.log),
        **{name: np.array(getattr(model, name)) for name in ("cash", "position", "cost", "status")},
        "fund": (model.insurance_fund, np.array(model.fund_position)),
    }


@pytest.mark.parametrize("cls", [ReferenceMargin, MarginEngine], ids=["oracle", "engine"])
@pytest.mark.parametrize(("case", "call", "field"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_names_the_field_and_changes_nothing(
    cls: type[Model], case: str, call: Callable[[Model], object], field: str
) -> None:
    rule = MarginRule(maintenance_rate=0.05)
    model = cls([Instrument("A", 1.0, rule), Instrument("B", 1.0, rule)], insurance_fund=10.0)
    model.add_accounts(
        [100.0, 200.0], position=[10, -1], entry_price=[50.0, 50.0], instrument=[0, 1]
    )
    model.check([50, 50])
    before = _snapshot(model)
    with pytest.raises((ValueError, TypeError), match=rf"^{field}"):
        call(model)
    after = _snapshot(model)
    assert after["accounts"] == before["accounts"]
    assert after["log"] == before["log"]
    for name in ("cash", "position", "cost", "status"):
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    # The check counter did not move: the next check is still check 1.
    (record,) = model.check([1, 50])
    assert record["check"] == 1


@pytest.mark.parametrize("leverage", [0.0, -2.0, float("nan"), float("inf")])
def test_leverage_cap_rejects_non_positive_leverage(leverage: float) -> None:
    with pytest.raises(ValueError, match=r"^leverage"):
        MarginRule.leverage_cap(leverage)


# -- pinned cases (docs/margin.md, each once found by the random comparison) ----------------------


def _pinned(
    instruments: list[Instrument],
    cash: list[float],
    position: object,
    entry: object,
    marks: list[list[int]],
    **kwargs: object,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    out = []
    for cls in (ReferenceMargin, MarginEngine):
        model = cls(instruments, **kwargs)  # type: ignore[arg-type]
        mode = 1 if np.ndim(position) == 2 else 0
        model.add_accounts(cash, position=position, entry_price=entry, mode=mode)
        out.append([model.check(m) for m in marks])
    return out[0], out[1]


def _assert_pinned(ref: list[np.ndarray], eng: list[np.ndarray]) -> None:
    for r, e in zip(ref, eng, strict=True):
        assert_same_records(r, e, 1e6)


def test_a_round_liquidates_only_who_was_liquidatable_when_it_started() -> None:
    # Step 1 of the loop: the round's accounts are found first. Account 1 (cross) becomes
    # liquidatable only when deleveraged against account 0; it is next round's business.
    rule = MarginRule(maintenance_rate=0.01)
    ref, eng = _pinned(
        [Instrument("X", 1.0, rule), Instrument("Y", 1.0, rule)],
        [1_000.0, 500.0],
        [[10, 0], [-10, 100]],
        [[1_000.0, 0.0], [1_000.0, 120.0]],
        [[800, 100]],
    )
    assert ref[0]["round"].tolist() == [0, 0, 1]
    _assert_pinned(ref, eng)


def test_fee_is_charged_once_per_position_after_the_close() -> None:
    # Step 6: the fee on the notional of steps 2-5, capped at the equity after the close.
    # Partial close of 5 lots at B = 9,900, not enough; the rest at B = 9,900: equity ends
    # at zero and so does the fee. (A fee charged between the two closes moves B.)
    rule = MarginRule(
        initial_rate=0.05, maintenance="tiered", partial_liquidation=True,
        tiers=((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025)), liquidation_fee_rate=0.01,
    )  # fmt: skip
    ref, eng = _pinned([Instrument("X", 1.0, rule)], [3_000.0], [30], [10_000.0], [[9_955]])
    assert ref[0]["price"].tolist() == [9_900.0, 9_900.0]
    _assert_pinned(ref, eng)


def test_fund_record_after_adl_has_the_equity_before_it() -> None:
    # Records carry the account's equity before *their* action: the fund's takeover of
    # the 6 lots the one short could not absorb comes after the ADL of 4 (E: -1000 -> -600).
    rule = MarginRule(maintenance_rate=0.01)
    ref, eng = _pinned(
        [Instrument("X", 1.0, rule)], [1_000.0, 5_000.0], [10, -4], [1_000.0, 1_000.0], [[800]]
    )
    assert ref[0]["equity"].tolist() == [-1_000.0, 5_800.0, -600.0]
    _assert_pinned(ref, eng)


def test_partial_liquidation_of_every_lot() -> None:
    # Step 2: k is "at least 1, at most abs(q)"; k = abs(q) is still a partial close.
    rule = MarginRule(
        maintenance="tiered", tiers=((0.0, 0.01), (500.0, 0.02)), partial_liquidation=True
    )
    ref, eng = _pinned([Instrument("X", 1.0, rule)], [10.0], [1], [1_000.0], [[990]])
    assert ref[0]["kind"].tolist() == [0]
    _assert_pinned(ref, eng)


def test_cap_defers_accounts_to_the_next_check() -> None:
    # "The rest waits for the next check": account 2, still liquidatable, goes next check.
    rule = MarginRule(initial_rate=0.01, maintenance="fixed", amount_per_lot=50.0)
    ref, eng = _pinned(
        [Instrument("X", 1.0, rule)],
        [21_241.0, 13_317.0, 1_827.0],
        [-18, -33, -5],
        [16_883.5, 17_209.0, 16_658.8],
        [[18_013], [17_925]],
        insurance_fund=1e12,
        max_liquidation_notional=1e5,
    )
    assert [r["account"].tolist() for r in ref] == [[1], [2]]
    _assert_pinned(ref, eng)


def test_capacity_defers_only_the_busy_instruments_accounts() -> None:
    # X's capacity (500) is used up by account 0's 900: account 1 (X) waits for the next
    # check while account 2 (Y) is liquidated in this one.
    rule = MarginRule(maintenance_rate=0.05)
    instruments = [Instrument("X", 1.0, rule), Instrument("Y", 1.0, rule)]
    for cls in (ReferenceMargin, MarginEngine):
        model = cls(instruments, insurance_fund=1e12, liquidation_capacity=[500.0, math.inf])
        model.add_accounts(
            [100.0, 120.0, 100.0], position=[10, 10, 10], entry_price=100.0, instrument=[0, 0, 1]
        )
        logs = [model.check([90, 90]) for _ in range(3)]
        assert [r["account"].tolist() for r in logs] == [[0, 2], [1], []], cls.__name__
        assert [r["instrument"].tolist() for r in logs] == [[0, 1], [0], []], cls.__name__
    # Without capacities all three go in the first check, in account order.
    ref, eng = _pinned(instruments[:1], [100.0, 120.0, 50.0], [10, 10, 10], 100.0, [[90]],
                       insurance_fund=1e12)  # fmt: skip
    assert ref[0]["account"].tolist() == [0, 1, 2]
    _assert_pinned(ref, eng)


def test_margin_ratio_priority_takes_the_most_distressed_first() -> None:
    # At 90 the equities are 0, 20 and -50 against 45 of margin each: account 2 first,
    # then 0, then 1 (ratios -1.1, 0, 0.44).
    rule = MarginRule(maintenance_rate=0.05)
    ref, eng = _pinned(
        [Instrument("X", 1.0, rule)], [100.0, 120.0, 50.0], [10, 10, 10], 100.0, [[90]],
        insurance_fund=1e12, liquidation_priority="margin_ratio",
    )  # fmt: skip
    assert ref[0]["account"].tolist() == [2, 0, 1]
    _assert_pinned(ref, eng)


BAD_SETTINGS = [
    ({"liquidation_capacity": [1.0]}, "liquidation_capacity"),
    ({"liquidation_capacity": [1.0, 0.0]}, "liquidation_capacity"),
    ({"liquidation_capacity": [-5.0, 1.0]}, "liquidation_capacity"),
    ({"liquidation_capacity": [math.nan, 1.0]}, "liquidation_capacity"),
    ({"instrument_funds": [1.0]}, "instrument_funds"),
    ({"instrument_funds": [1.0, -1.0]}, "instrument_funds"),
    ({"instrument_funds": [None, math.nan]}, "instrument_funds"),
    ({"instrument_funds": [math.inf, None]}, "instrument_funds"),
    ({"liquidation_priority": "fifo"}, "liquidation_priority"),
    ({"margin_call_checks": -1}, "margin_call_checks"),
    ({"margin_call_checks": 2**32}, "margin_call_checks"),
    ({"close_out_ratio": -0.1}, "close_out_ratio"),
    ({"close_out_ratio": 1.5}, "close_out_ratio"),
    ({"close_out_ratio": math.nan}, "close_out_ratio"),
]


@pytest.mark.parametrize("cls", [ReferenceMargin, MarginEngine], ids=["oracle", "engine"])
@pytest.mark.parametrize(("kwargs", "field"), BAD_SETTINGS)
def test_bad_queue_settings_name_the_field(
    cls: type[Model], kwargs: dict[str, object], field: str
) -> None:
    rule = MarginRule(maintenance_rate=0.05)
    with pytest.raises(ValueError, match=rf"^{field}"):
        cls([Instrument("A", 1.0, rule), Instrument("B", 1.0, rule)], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [{"margin_call_checks": 1.5}, {"margin_call_checks": True}, {"close_out_ratio": "half"}],
)
def test_margin_call_settings_of_the_wrong_type_name_the_field(kwargs: dict[str, object]) -> None:
    (field,) = kwargs
    with pytest.raises(TypeError, match=rf"^{field}: must be"):
        MarginEngine([Instrument("A", 1.0, MarginRule(maintenance_rate=0.05))], **kwargs)  # type: ignore[arg-type]


def test_core_engine_checks_the_close_out_itself() -> None:
    from deleverage import _core
    from deleverage.engine_spec import margin_rule

    spec = margin_rule(MarginRule(maintenance_rate=0.05))
    for bad in (1.5, -0.5, math.nan):
        with pytest.raises(ValueError, match=r"^close_out_ratio: must be in \[0, 1\]"):
            _core.MarginEngine([1.0], [spec], close_out_ratio=bad)
    with pytest.raises(ValueError, match=r"^margin_call_checks"):
        _core.MarginEngine([1.0], [spec], margin_call_checks=-1)


def test_core_engine_checks_the_capacity_itself() -> None:
    from deleverage import _core
    from deleverage.engine_spec import margin_rule

    spec = margin_rule(MarginRule(maintenance_rate=0.05))
    with pytest.raises(ValueError, match=r"^liquidation_capacity: need one value per instrument"):
        _core.MarginEngine([1.0, 1.0], [spec, spec], liquidation_capacity=[1.0])
    with pytest.raises(ValueError, match=r"^liquidation_capacity: must be > 0"):
        _core.MarginEngine([1.0], [spec], liquidation_capacity=[0.0])
