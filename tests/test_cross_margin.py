"""Cross margin: the engine's safe-distance detector and close-order rules against the oracle.

Portfolios across 2-4 instruments (cross accounts beside isolated ones) are
marked along random paths with large jumps, margin-rule changes and trades
between checks. After every check the engine's liquidation records and state
must be the brute-force oracle's (every portfolio revalued at every round),
the full scan (``count_liquidatable``) must agree with the oracle, and money
and lots per instrument are conserved. The full scan is also held to the last
bit: accounts one rounding step either side of their margin, against the
documented expressions summed in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage import Instrument, MarginEngine, MarginRule, _core
from deleverage.margin import CROSS
from deleverage.margin_rules import CLOSE_ORDERS
from deleverage.reference_margin import ReferenceMargin

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EXACT_FIELDS = ("check", "round", "kind", "side", "account", "instrument", "qty", "mark")
KINDS = ("percent", "fixed", "closeout", "tiered")


@st.composite
def rules(draw: st.DrawFn, lot_notional: float) -> MarginRule:
    kind = draw(st.sampled_from(KINDS))
    leverage = draw(st.sampled_from([2.0, 5.0, 10.0, 20.0, 50.0]))
    common = {
        "initial_rate": 1.0 / leverage,
        "basis": draw(st.sampled_from(["mark", "mark", "entry"])),
        "liquidation_fee_rate": draw(st.sampled_from([0.0, 0.0005, 0.01])),
        "negative_balance_protection": draw(st.booleans()),
    }
    mmr = draw(st.sampled_from([0.3, 0.5, 0.8])) / leverage
    if kind == "percent":
        return MarginRule(maintenance="percent", maintenance_rate=mmr, **common)
    if kind == "fixed":
        return MarginRule(maintenance="fixed", amount_per_lot=mmr * lot_notional, **common)
    if kind == "closeout":
        return MarginRule(maintenance="closeout", closeout_share=0.5, **common)
    tiers = tuple(
        (f * lot_notional, min(r * mmr, 0.9))
        for f, r in zip((0.0, 5.0, 15.0, 40.0), (0.5, 1.0, 1.5, 2.5), strict=True)
    )
    partial = draw(st.booleans())
    return MarginRule(maintenance="tiered", tiers=tiers, partial_liquidation=partial, **common)


@dataclass
class Trade:
    buyer: int
    seller: int
    instrument: int
    lots: int
    offset: float  # price relative to the mark
    fee: float


@dataclass
class World:
    instruments: list[Instrument]
    fund: float
    adl: bool
    close_order: str
    liquidity: list[float]
    cash: np.ndarray
    position: np.ndarray
    entry: np.ndarray
    mode: np.ndarray
    home: np.ndarray
    marks: np.ndarray  # (steps, instruments)
    hikes: dict[int, tuple[int, MarginRule]] = field(default_factory=dict)
    trades: dict[int, list[Trade]] = field(default_factory=dict)

    def build(
        self, cls: type[ReferenceMargin] | type[MarginEngine]
    ) -> ReferenceMargin | MarginEngine:
        model = cls(
            self.instruments,
            insurance_fund=self.fund,
            adl=self.adl,
            close_order=self.close_order,
            liquidity=self.liquidity,
        )
        model.add_accounts(
            self.cash, position=self.position, entry_price=self.entry, mode=self.mode,
            instrument=self.home,
        )  # fmt: skip
        return model

    def scale(self) -> float:
        tv = np.array([inst.tick_value for inst in self.instruments])
        return float(self.cash.sum() + (np.abs(self.position) * self.entry * tv).sum() + self.fund)


@st.composite
def worlds(draw: st.DrawFn, *, max_accounts: int = 120) -> World:
    ni = draw(st.integers(2, 4))
    n = draw(st.integers(1, max_accounts))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tick_values = [draw(st.sampled_from([0.1, 1.0, 10.0])) for _ in range(ni)]
    starts = [draw(st.integers(50, 50_000)) for _ in range(ni)]
    lot_notional = [s * v for s, v in zip(starts, tick_values, strict=True)]
    instruments = [
        Instrument(f"I{k}", tick_values[k], draw(rules(lot_notional[k]))) for k in range(ni)
    ]
    cross_share = draw(st.sampled_from([0.5, 0.9, 1.0]))
    mode = (rng.random(n) < cross_share).astype(np.int64)
    home = rng.integers(0, ni, n)
    lots = rng.integers(1, 40, (n, ni)) * rng.choice([-1, 1], (n, ni))
    held = (rng.random((n, ni)) < 0.7) & (mode[:, None] == 1)
    held[np.arange(n), home] = True
    lots = np.where(held, lots, 0)
    start = np.array(starts, dtype=np.float64)
    entry = start * (1 + rng.normal(0, 0.02, (n, ni)))
    leverage = np.exp(rng.uniform(0.0, math.log(60.0), n))
    cash = (np.abs(lots) * entry * np.array(tick_values)).sum(axis=1) / leverage
    money = float(np.mean(lot_notional)) * 20 * n
    steps = draw(st.integers(15, 45))
    vol = draw(st.sampled_from([0.001, 0.005, 0.02]))
    moves = rng.normal(0, vol, (steps, ni))
    jumps = rng.random((steps, ni)) < draw(st.sampled_from([0.0, 0.05, 0.15]))
    moves += np.where(jumps, rng.normal(0, 0.2, (steps, ni)), 0.0)
    marks = np.maximum(np.round(start * np.exp(np.cumsum(moves, axis=0))), 1).astype(np.int64)
    world = World(
        instruments,
        fund=draw(st.sampled_from([0.0, 1e-3, 1e12])) * money,
        adl=draw(st.booleans()),
        close_order=draw(st.sampled_from(CLOSE_ORDERS)),
        liquidity=[float(x) for x in rng.integers(0, 3, ni)],
        cash=cash, position=lots, entry=entry, mode=mode, home=home, marks=marks,
    )  # fmt: skip
    for _ in range(draw(st.integers(0, 2))):
        k = draw(st.integers(0, ni - 1))
        world.hikes[draw(st.integers(0, steps - 1))] = (k, draw(rules(lot_notional[k])))
    # Trades between checks, both sides inside the engine: money and lots stay put.
    # Some are large or far off the mark, so a trade alone can make an account
    # liquidatable at unchanged marks (it must be re-keyed).
    for t in range(steps):
        if rng.random() < 0.4:
            world.trades[t] = [
                Trade(
                    int(rng.integers(0, n)),
                    int(rng.integers(0, n)),
                    int(rng.integers(0, ni)),
                    int(rng.integers(1, 30 if rng.random() < 0.7 else 300)),
                    float(rng.normal(0, 0.01) if rng.random() < 0.7 else rng.uniform(-0.3, 0.3)),
                    float(rng.choice([0.0, 1.0])),
                )
                for _ in range(int(rng.integers(1, 6)))
            ]
    return world


def _may_trade(model: ReferenceMargin, a: int, i: int) -> bool:
    return bool(model.mode[a] == 1 or model.instrument[a] == i or not model.position[a].any())


def assert_same(
    ref: ReferenceMargin, eng: MarginEngine, r: np.ndarray, e: np.ndarray, scale: float
) -> None:
    assert len(r) == len(e), f"oracle {len(r)} records, engine {len(e)}:\n{r}\n{e}"
    for k in range(len(r)):
        same = all(r[f][k] == e[f][k] for f in EXACT_FIELDS)
        same = same and math.isclose(r["price"][k], e["price"][k], rel_tol=1e-12, abs_tol=1e-9)
        same = same and math.isclose(
            r["equity"][k], e["equity"][k], rel_tol=1e-12, abs_tol=1e-12 * scale
        )
        assert same, f"record {k}: oracle {r[k].tolist()}, engine {e[k].tolist()}"
    np.testing.assert_array_equal(eng.position, ref.position, err_msg="position")
    np.testing.assert_array_equal(eng.fund_position, ref.fund_position, err_msg="fund_position")
    np.testing.assert_array_equal(eng.status, ref.status, err_msg="status")
    atol = 1e-12 * scale
    for name in ("cash", "realized_pnl", "fees_paid", "cost"):
        np.testing.assert_allclose(getattr(eng, name), getattr(ref, name), rtol=1e-9, atol=atol)
    for name in ("insurance_fund", "fees_collected", "bad_debt"):
        assert math.isclose(getattr(eng, name), getattr(ref, name), rel_tol=1e-9, abs_tol=atol), (
            name
        )


def run_both(world: World) -> tuple[ReferenceMargin, MarginEngine]:
    ref = world.build(ReferenceMargin)
    eng = world.build(MarginEngine)
    assert isinstance(ref, ReferenceMargin)
    assert isinstance(eng, MarginEngine)
    scale = world.scale()
    start = {"oracle": ref.conserved(), "engine": eng.conserved()}
    lots = ref.position.sum(axis=0) + ref.fund_position
    for t, marks in enumerate(world.marks):
        if t in world.hikes:
            k, rule = world.hikes[t]
            ref.set_rule(k, rule)
            eng.set_rule(k, rule)
        for tr in world.trades.get(t, []):
            if tr.buyer == tr.seller or not (
                _may_trade(ref, tr.buyer, tr.instrument)
                and _may_trade(ref, tr.seller, tr.instrument)
            ):
                continue
            price = float(marks[tr.instrument]) * (1.0 + tr.offset)
            for model in (ref, eng):
                model.apply_trade(tr.buyer, tr.instrument, tr.lots, price, tr.fee)
                model.apply_trade(tr.seller, tr.instrument, -tr.lots, price, tr.fee)
        # The full scan and the oracle agree on who is liquidatable before the check...
        expected = int(np.count_nonzero(ref._liquidatable_mask([float(x) for x in marks])))
        assert eng.count_liquidatable(marks) == expected, f"count_liquidatable at step {t}"
        r, e = ref.check(marks), eng.check(marks)
        try:
            assert_same(ref, eng, r, e, scale)
        except AssertionError as exc:
            raise AssertionError(f"check {t} at marks {marks.tolist()}: {exc}") from None
        # ...and after it (a round cap may leave some).
        expected = int(np.count_nonzero(ref._liquidatable_mask([float(x) for x in marks])))
        assert eng.count_liquidatable(marks) == expected
        for name, model in (("oracle", ref), ("engine", eng)):
            drift = abs(model.conserved() - start[name])
            assert drift <= 1e-9 * scale, f"{name}: money drifted by {drift} at step {t}"
            held = model.position.sum(axis=0) + model.fund_position
            np.testing.assert_array_equal(held, lots, err_msg=f"{name}: lots at step {t}")
    return ref, eng


@SETTINGS
@given(world=worlds())
def test_cross_engine_matches_the_oracle(world: World) -> None:
    run_both(world)


# -- the detector -------------------------------------------------------------------------------


def _cross_book(n: int, seed: int, leverage_lo: float = 1.0) -> dict[str, np.ndarray]:
    """Three-instrument portfolios, long/short mixes at 1-20x gross leverage."""
    rng = np.random.default_rng(seed)
    lots = rng.integers(1, 20, (n, 3)) * rng.choice([-1, 1], (n, 3))
    entry = 1_000.0 * (1 + rng.normal(0, 0.001, (n, 3)))
    cash = (np.abs(lots) * entry).sum(axis=1) / rng.uniform(leverage_lo, 20.0, n)
    return {"cash": cash, "position": lots, "entry_price": entry}


RULE = MarginRule(initial_rate=0.05, maintenance="percent", maintenance_rate=0.01)


def test_calm_marks_skip_far_accounts_and_drift_rebases() -> None:
    n = 3_000
    book = _cross_book(n, 3)
    eng = MarginEngine([Instrument(f"I{k}", 1.0, RULE) for k in range(3)], insurance_fund=1e12)
    eng.add_accounts(book["cash"], mode=1, **{k: v for k, v in book.items() if k != "cash"})
    calm = 1_000 + np.arange(200)[:, None] % 3 * np.array([1, -1, 2])
    assert len(eng.check_path(calm)) == 0
    stats = eng.cross_stats
    assert stats["accounts"] == n
    assert stats["calls"] == 200
    assert stats["rebases"] == 1  # the first check only
    assert stats["candidates"] < n  # far fewer exact revaluations than 200 full scans
    # A slow drift towards the triggers moves the epoch and finds every liquidation.
    ref = ReferenceMargin([Instrument(f"I{k}", 1.0, RULE) for k in range(3)], insurance_fund=1e12)
    ref.add_accounts(book["cash"], mode=1, **{k: v for k, v in book.items() if k != "cash"})
    for m in calm:
        ref.check(m)
    drift = np.round(1_000 * np.exp(np.cumsum(np.full((60, 3), 0.004) * [1, -1, 0.5], axis=0)))
    for marks in drift.astype(np.int64):
        r, e = ref.check(marks), eng.check(marks)
        assert r["account"].tolist() == e["account"].tolist()
        assert eng.count_liquidatable(marks) == 0
    assert len(eng.log) > 0
    assert eng.cross_stats["rebases"] > 1


def test_thresholds_are_conservative() -> None:
    # Inside its threshold an account's equity stays above its maintenance margin.
    book = _cross_book(2_000, 5)
    eng = MarginEngine([Instrument(f"I{k}", 1.0, RULE) for k in range(3)])
    eng.add_accounts(book["cash"], mode=1, **{k: v for k, v in book.items() if k != "cash"})
    epoch = np.array([1_000, 1_000, 1_000])
    eng.check(epoch)
    theta = eng.cross_thresholds.astype(np.float64)
    assert np.all(theta > 0)
    rng = np.random.default_rng(0)
    for _ in range(50):
        signs = rng.choice([-1.0, 1.0], 3)
        # The worst marks inside each account's threshold (a hair inside).
        for a in rng.integers(0, 2_000, 40).tolist():
            target = epoch * (1 + signs * min(theta[a], 0.999) * (1 - 1e-9))
            marks = np.where(signs > 0, np.floor(target), np.ceil(target)).astype(np.int64)
            assert eng.equity(marks)[a] > eng.maintenance_margin(marks)[a]


@pytest.mark.parametrize("close_order", CLOSE_ORDERS)
def test_isolated_and_cross_side_by_side(close_order: str) -> None:
    rng = np.random.default_rng(9)
    n = 400
    book = _cross_book(n, 9, leverage_lo=5.0)
    mode = (rng.random(n) < 0.5).astype(np.int64)
    home = rng.integers(0, 3, n)
    position = np.where((mode[:, None] == 1) | (np.arange(3) == home[:, None]), book["position"], 0)
    path = np.round(1_000 * np.exp(np.cumsum(rng.normal(0, 0.02, (40, 3)), axis=0)))
    world = World(
        [Instrument(f"I{k}", 1.0, RULE) for k in range(3)], 1e4, True, close_order,
        [1.0, 3.0, 2.0], book["cash"], position, book["entry_price"], mode, home,
        path.astype(np.int64),
    )  # fmt: skip
    _, eng = run_both(world)
    assert len(eng.log) > 0


def test_a_trade_alone_can_make_an_account_liquidatable() -> None:
    # Far from its trigger at the epoch; then it buys far above the mark (the seller
    # gains what it loses) and more lots: at unchanged marks it must be found.
    insts = [Instrument(f"I{k}", 1.0, RULE) for k in range(3)]
    models = [cls(insts, insurance_fund=1e9) for cls in (ReferenceMargin, MarginEngine)]
    marks = np.array([1_000, 1_000, 1_000])
    for model in models:
        model.add_accounts(
            [2_000.0, 50_000.0], mode=1, position=[[5, -5, 5], [-5, 5, -5]],
            entry_price=np.full((2, 3), 1_000.0),
        )  # fmt: skip
        assert len(model.check(marks)) == 0
        model.apply_trade(0, 1, 20, 1_150.0)
        model.apply_trade(1, 1, -20, 1_150.0)
    ref, eng = models
    assert isinstance(ref, ReferenceMargin)
    assert isinstance(eng, MarginEngine)
    r, e = ref.check(marks), eng.check(marks)
    assert r["account"].tolist() == e["account"].tolist()
    assert 0 in e["account"].tolist()


# -- close order --------------------------------------------------------------------------------


def _one_account(close_order: str, liquidity: list[float] | None = None) -> MarginEngine:
    """A cross account: long 10 I0 (losing 20), short 10 I1 (losing 50), long 10 I2 (up 10)."""
    eng = MarginEngine(
        [Instrument(f"I{k}", 1.0, RULE) for k in range(3)],
        insurance_fund=1e9, close_order=close_order, liquidity=liquidity,
    )  # fmt: skip
    eng.add_accounts(
        [300.0], mode=1, position=[[10, -10, 10]], entry_price=[[1_000.0, 1_000.0, 1_000.0]]
    )
    return eng


def test_close_order_rules_pick_the_first_position() -> None:
    marks = np.array([998, 1_005, 1_001])  # equity 300 - 20 - 50 + 10 = 240 <= MM ~300
    first = {
        "instrument": 0,
        "most_liquid": 2,
        "largest_loss": 1,
    }
    for order, instrument in first.items():
        eng = _one_account(order, [1.0, 2.0, 3.0])
        log = eng.check(marks)
        assert log["instrument"][0] == instrument, order
        assert eng.count_liquidatable(marks) == 0
    # Equal liquidity: most_liquid degenerates to instrument order.
    assert _one_account("most_liquid").check(marks)["instrument"][0] == 0


def test_pro_rata_closes_quarters_of_every_position() -> None:
    eng = _one_account("pro_rata")
    log = eng.check(np.array([998, 1_005, 1_001]))
    # A quarter of 10 lots, rounded up, of every position, until it is safe.
    assert log["instrument"][:3].tolist() == [0, 1, 2]
    assert log["qty"][:3].tolist() == [3, 3, 3]
    assert np.all(np.abs(eng.position[0]) < 10)


# -- bad input ----------------------------------------------------------------------------------


def test_bad_input_is_rejected() -> None:
    insts = [Instrument(f"I{k}", 1.0, RULE) for k in range(3)]
    for cls in (MarginEngine, ReferenceMargin):
        with pytest.raises(
            ValueError, match=r"close_order: must be one of instrument, most_liquid"
        ):
            cls(insts, close_order="biggest_first")
        with pytest.raises(ValueError, match=r"liquidity: need one value per instrument \(3\)"):
            cls(insts, close_order="most_liquid", liquidity=[1.0, 2.0])
        with pytest.raises(ValueError, match=r"liquidity: must be finite"):
            cls(insts, liquidity=[1.0, math.nan, 2.0])
        model = cls(insts)
        with pytest.raises(
            ValueError, match=r"position: must be a scalar, shape \(2,\) or \(2, 3\)"
        ):
            model.add_accounts([1.0, 1.0], mode=1, position=np.ones((2, 4)), entry_price=1.0)
        with pytest.raises(
            ValueError, match=r"entry_price: must be a scalar, shape \(2,\) or \(2, 3\)"
        ):
            model.add_accounts(
                [1.0, 1.0], mode=1, position=np.ones((2, 3)), entry_price=np.ones((3, 3))
            )
        with pytest.raises(ValueError, match=r"instrument: must be in (0\.\.2|\[0, 2\])"):
            model.add_accounts([1.0], instrument=3, position=1, entry_price=1.0)
        model.add_accounts([1e4], mode=1, position=[[1, 1, 0]], entry_price=[[1.0, 1.0, 1.0]])
        with pytest.raises(ValueError, match=r"instrument: must be in 0..2, got 3"):
            model.apply_trade(0, 3, 1, 1.0)
        with pytest.raises(ValueError, match=r"instrument: must be in 0..2, got 5"):
            model.set_rule(5, RULE)
    with pytest.raises(ValueError, match=r"close_order: must be one of"):
        MarginEngine([Instrument("X")], close_order="fifo")
    with pytest.raises(TypeError, match=r"^close_order: must be a deleverage\._core\.CloseOrder"):
        _core.MarginEngine([1.0], [], close_order="fifo")


def _equity_in_order(
    cash: float, lots: np.ndarray, cost: np.ndarray, marks: np.ndarray, ticks: list[float]
) -> float:
    """docs/margin.md's equity: cash, then each held position's q P v - cost, in order."""
    e = cash
    for q, c, p, v in zip(lots.tolist(), cost.tolist(), marks.tolist(), ticks, strict=True):
        if q:
            e = e + (float(q) * float(p) * v - c)
    return e


@SETTINGS
@given(data=st.data())
def test_the_full_scan_decides_at_the_last_bit(data: st.DataObject) -> None:
    """Accounts one rounding step either side of their maintenance margin: the
    vectorized revaluation (count_liquidatable over cross accounts) must count
    exactly the accounts whose equity, summed as the documented expressions sum
    it, is at or under the margin the engine's own per-account rule gives."""
    ticks = [0.1, 1.0, 10.0]
    starts = [data.draw(st.integers(50, 50_000)) for _ in ticks]
    instruments = [
        Instrument(f"I{k}", ticks[k], data.draw(rules(starts[k] * ticks[k]))) for k in range(3)
    ]
    n = 64
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    lots = rng.integers(1, 40, (n, 3)) * rng.choice([-1, 1], (n, 3))
    lots = np.where(rng.random((n, 3)) < 0.8, lots, 0)
    lots[:, 0] = np.where((lots == 0).all(axis=1), 1, lots[:, 0])  # each account holds something
    entry = np.array(starts) * (1 + rng.normal(0, 0.02, (n, 3)))
    moved = np.round(np.array(starts) * (1 + rng.normal(0, 0.03, 3)))
    marks = np.maximum(moved, 1).astype(np.int64)
    # The engine's own costs and per-account margins (its scalar rule), from a first table.
    probe = MarginEngine(instruments)
    probe.add_accounts(np.zeros(n), mode=CROSS, position=lots, entry_price=entry)
    cost = np.asarray(probe.cost)
    margin = np.asarray(probe.maintenance_margin(marks))

    def equity(a: int, cash: float) -> float:
        return _equity_in_order(cash, lots[a], cost[a], marks, ticks)

    assert np.array_equal(probe.equity(marks), [equity(a, 0.0) for a in range(n)])
    # Even accounts: the largest cash whose equity is at or under the margin; odd: the next one up.
    cash = np.empty(n)
    for a in range(n):
        c = margin[a] - equity(a, 0.0)
        while equity(a, c) > margin[a]:
            c = math.nextafter(c, -math.inf)
        while equity(a, math.nextafter(c, math.inf)) <= margin[a]:
            c = math.nextafter(c, math.inf)
        cash[a] = c if a % 2 == 0 else math.nextafter(c, math.inf)
    cash = np.maximum(cash, 0.0)
    engine = MarginEngine(instruments)
    engine.add_accounts(cash, mode=CROSS, position=lots, entry_price=entry)
    expected = np.array([equity(a, cash[a]) for a in range(n)])
    assert np.array_equal(engine.equity(marks), expected)
    liquidatable = int(np.count_nonzero(expected <= margin))
    assert engine.count_liquidatable(marks) == liquidatable
    if (cash > 0).all():
        assert liquidatable == n // 2
