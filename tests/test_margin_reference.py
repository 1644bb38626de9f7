"""The brute-force margin oracle (deleverage.reference_margin) on hand-worked cases.

Every expected number here is worked out by hand from docs/margin.md; the
oracle is then trusted to judge the C++ engine (tests/test_margin_oracle.py).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deleverage.margin_rules import Instrument, MarginRule
from deleverage.reference_margin import LIQUIDATION_DTYPE, ReferenceMargin

TIERS = ((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025))


def _one(rule: MarginRule, tick_value: float = 1.0, **kwargs: object) -> ReferenceMargin:
    return ReferenceMargin([Instrument("X", tick_value, rule)], **kwargs)  # type: ignore[arg-type]


def _rows(records: np.ndarray) -> list[tuple[object, ...]]:
    return [tuple(r) for r in records.tolist()]


def test_dtype_matches_the_docs_table() -> None:
    assert LIQUIDATION_DTYPE.names == (
        "check", "round", "kind", "side", "account", "instrument", "qty", "price", "mark", "equity",
    )  # fmt: skip
    assert [LIQUIDATION_DTYPE[n].str for n in LIQUIDATION_DTYPE.names] == [
        "<u4", "<u2", "|u1", "|u1", "<u4", "<u4", "<i8", "<f8", "<i8", "<f8",
    ]  # fmt: skip
    assert LIQUIDATION_DTYPE.itemsize == 48


# -- worked examples ----------------------------------------------------------------------------


@pytest.mark.parametrize(("basis", "expected"), [("entry", 19_700.0), ("mark", 19_600.0 / 0.995)])
def test_worked_examples(basis: str, expected: float) -> None:
    # Isolated 1 lot long at 20,000, v = 1, 50x (cash 400), MMR 0.5%.
    rule = MarginRule.leverage_cap(50, maintenance_rate=0.005, basis=basis)
    ref = _one(rule)
    ref.add_accounts([400.0], position=[1], entry_price=[20_000.0])
    (price,) = ref.liquidation_prices()
    assert price == pytest.approx(expected, rel=1e-15)
    if basis == "entry":
        assert price == 19_700.0
        assert ref.maintenance_margin([19_000]).tolist() == [100.0]  # fixed while the position is
    else:
        assert 19_698.49 < price < 19_698.50
    first = math.floor(price)
    assert ref.count_liquidatable([first + 1]) == 0
    assert ref.count_liquidatable([first]) == 1


def test_worked_example_takeover_at_the_bankruptcy_price() -> None:
    ref = _one(MarginRule.leverage_cap(50, maintenance_rate=0.005, basis="entry"))
    ref.add_accounts([400.0], position=[1], entry_price=[20_000.0])
    assert len(ref.check([19_701])) == 0
    records = ref.check([19_700])
    # E = 400 - 300 = 100, B = 19,700 - 100 / 1 = 19,600: the fund takes the lot there.
    assert _rows(records) == [(1, 0, 2, 0, 0, 0, 1, 19_600.0, 19_700, 100.0)]
    assert ref.position.tolist() == [[0]]
    assert ref.cash.tolist() == [0.0]
    assert ref.realized_pnl.tolist() == [-400.0]
    assert ref.fund_position.tolist() == [1]
    assert ref.fund_cost.tolist() == [19_600.0]
    assert ref.status.tolist() == [1]
    assert ref.checks == 2


# -- valuation ------------------------------------------------------------------------------------


def test_equity_and_maintenance_formulas() -> None:
    rules = [
        MarginRule(maintenance="percent", maintenance_rate=0.05),
        MarginRule(maintenance="percent", maintenance_rate=0.05, basis="entry"),
        MarginRule(maintenance="fixed", amount_per_lot=7.0),
        MarginRule(initial_rate=0.2, maintenance="closeout", closeout_share=0.5),
        MarginRule(maintenance="tiered", tiers=TIERS),
    ]
    ref = ReferenceMargin([Instrument(f"I{k}", 2.0, r) for k, r in enumerate(rules)])
    # One cross account holding all five: long 3 at 100 in each, short in the tiered one.
    ref.add_accounts([1_000.0], position=[[3, 3, 3, 3, -300]], entry_price=[[100.0] * 5], mode=1)
    marks = [110, 110, 110, 110, 90]
    upnl = [3 * 110 * 2.0 - 600.0] * 4 + [-300 * 90 * 2.0 + 60_000.0]
    assert ref.equity(marks)[0] == 1_000.0 + sum(upnl)
    tier_n = 300 * 90 * 2.0  # 54,000: bracket 1
    expected = [0.05 * 660.0, 0.05 * 600.0, 7.0 * 3, 0.5 * (0.2 * 660.0), tier_n * 0.01 - 300.0]
    assert ref.maintenance_margin(marks)[0] == pytest.approx(sum(expected), rel=1e-15)
    assert ref.liquidation_prices().tolist() == [pytest.approx(np.nan, nan_ok=True)]


def test_tier_deductions_make_maintenance_continuous() -> None:
    rule = MarginRule(
        maintenance="tiered",
        tiers=((0.0, 0.004), (50_000.0, 0.01), (250_000.0, 0.025), (1_000_000.0, 0.05)),
    )
    assert rule.deductions() == pytest.approx((0.0, 300.0, 4_050.0, 29_050.0))
    ded = rule.deductions()
    for k in range(1, len(rule.tiers)):
        floor = rule.tiers[k][0]
        below = floor * rule.tiers[k - 1][1] - ded[k - 1]
        at = floor * rule.tiers[k][1] - ded[k]
        assert at == pytest.approx(below, rel=1e-12)
    # Through the oracle: a long of 1 lot at v = 1 makes the notional the price.
    ref = _one(rule)
    ref.add_accounts([1e9], position=[1], entry_price=[100.0])
    for floor, _ in rule.tiers[1:]:
        lo = ref.maintenance_margin_at([floor - 1e-6])[0]
        hi = ref.maintenance_margin_at([floor])[0]
        assert hi - lo == pytest.approx(0.0, abs=1e-6)
        assert hi >= lo


def _kind_rules() -> dict[str, MarginRule]:
    return {
        "percent-mark": MarginRule(initial_rate=0.05, maintenance_rate=0.01),
        "percent-entry": MarginRule(initial_rate=0.05, maintenance_rate=0.01, basis="entry"),
        "fixed": MarginRule(initial_rate=0.1, maintenance="fixed", amount_per_lot=30.0),
        "closeout-mark": MarginRule(initial_rate=0.05, maintenance="closeout"),
        "closeout-entry": MarginRule(initial_rate=0.05, maintenance="closeout", basis="entry"),
        "tiered-mark": MarginRule(
            initial_rate=0.05, maintenance="tiered", tiers=((0.0, 0.004), *TIERS[1:], (1e6, 0.05))
        ),
        "tiered-entry": MarginRule(
            initial_rate=0.05, maintenance="tiered", tiers=TIERS, basis="entry"
        ),
    }


@pytest.mark.parametrize("kind", sorted(_kind_rules()))
@pytest.mark.parametrize("side", [1, -1])
def test_liquidation_price_is_where_equity_meets_maintenance(kind: str, side: int) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{kind}{side}".encode()))
    ref = _one(_kind_rules()[kind], tick_value=0.5)
    n = 300
    lots = side * rng.integers(1, 200, n)
    entry = 10_000 * (1 + rng.normal(0, 0.02, n))
    cash = np.abs(lots) * entry * 0.5 / rng.uniform(1.2, 100.0, n)
    ref.add_accounts(cash, position=lots, entry_price=entry, mode=rng.integers(0, 2, n))
    prices = ref.liquidation_prices()
    assert np.all(np.isfinite(prices))
    checked = 0
    for a in range(n):
        lp = prices[a]
        if lp <= 2.0:
            continue
        one = ReferenceMargin([Instrument("X", 0.5, _kind_rules()[kind])])
        one.add_accounts([cash[a]], position=[lots[a]], entry_price=[entry[a]])
        scale = abs(lots[a]) * entry[a] * 0.5
        gap = one.equity_at([lp])[0] - one.maintenance_margin_at([lp])[0]
        assert abs(gap) <= 1e-9 * scale
        # Just past the trigger the account is liquidatable, just before it is not.
        inside = math.floor(lp * (1 - 1e-9)) if side > 0 else math.ceil(lp * (1 + 1e-9))
        outside = math.ceil(lp * (1 + 1e-9)) if side > 0 else math.floor(lp * (1 - 1e-9))
        assert one.count_liquidatable([inside]) == 1
        assert one.count_liquidatable([outside]) == 0
        checked += 1
    assert checked > 250


def test_liquidation_price_conventions() -> None:
    ref = ReferenceMargin([Instrument("A"), Instrument("B")])
    ref.add_accounts(
        [100.0, 100.0, 1e9, 100.0],
        position=[[0, 0], [1, 1], [1, 0], [0, -1]],
        entry_price=[[0.0, 0.0], [50.0, 50.0], [50.0, 0.0], [0.0, 50.0]],
        mode=1,
    )
    prices = ref.liquidation_prices()
    assert np.isnan(prices[0])  # no open position
    assert np.isnan(prices[1])  # several
    assert prices[2] < 0  # a long no mark can liquidate: L returned as computed
    # Short: A = 100 + 50 = 150, MM = 0.05 * P  ->  L = 150 / 1.05.
    assert prices[3] == pytest.approx(150.0 / 1.05, rel=1e-15)


# -- the procedure --------------------------------------------------------------------------------


def test_takeover_accounting_and_the_fund_flipping_sides() -> None:
    ref = _one(MarginRule(maintenance_rate=0.05), tick_value=2.0, insurance_fund=1_000.0)
    ref.add_accounts([150.0, 300.0], position=[10, -15], entry_price=[100.0, 90.0])
    start = ref.conserved()
    # Long: E = 150 + (1840 - 2000) = -10 <= MM = 92; B = 92 + 10 / 20 = 92.5.
    assert _rows(ref.check([92])) == [(0, 0, 2, 0, 0, 0, 10, 92.5, 92, -10.0)]
    assert ref.cash.tolist() == [0.0, 300.0]
    assert ref.realized_pnl.tolist() == [-150.0, 0.0]
    assert ref.cost[:, 0].tolist() == [0.0, -2_700.0]
    assert ref.fund_position.tolist() == [10]
    assert ref.fund_cost.tolist() == [1_850.0]
    assert ref.insurance_fund == 1_000.0  # the loss at the mark is unrealized
    assert ref.status.tolist() == [3, 0]  # liquidated and bankrupt
    assert ref.conserved() == start
    # Short: E = 300 + (2700 - 2880) = 120 <= MM = 144; B = 96 + 120 / 30 = 100.
    assert _rows(ref.check([96])) == [(1, 0, 2, 1, 1, 0, 15, 100.0, 96, 120.0)]
    # The fund sells 15: closes its long 10 (realizing 2000 - 1850) and opens 5 short.
    assert ref.insurance_fund == 1_150.0
    assert ref.fund_position.tolist() == [-5]
    assert ref.fund_cost.tolist() == [-1_000.0]
    assert ref.cash.tolist() == [0.0, 0.0]
    assert ref.status.tolist() == [3, 1]
    assert ref.conserved() == start


def test_adl_ranking_and_the_fund_taking_what_is_left() -> None:
    ref = _one(MarginRule(maintenance_rate=0.01), insurance_fund=0.0)
    ref.add_accounts(
        [1_000.0, 5_000.0, 5_000.0, 300.0, 0.0, 5_000.0],
        position=[20, -4, -6, -3, -2, -4],
        entry_price=[1_000.0, 1_000.0, 1_200.0, 1_000.0, 500.0, 1_000.0],
    )
    start = ref.conserved()
    # The long: E = 1000 - 4000 = -3000, B = 800 + 3000 / 20 = 950; the empty fund cannot
    # cover 3000, so opposite positions are ranked by (upnl / |cost|) * (notional / equity):
    # 3: 0.2 * 2400/900, 2: (2400/7200) * 4800/7400, 1 and 5: 0.2 * 3200/5800 (a tie, by id),
    # 4: equity -600 -> -inf. They hold 19 lots; the fund takes the 20th anyway.
    records = ref.check([800])
    assert _rows(records) == [
        (0, 0, 3, 0, 0, 0, 19, 950.0, 800, -3_000.0),
        (0, 0, 4, 1, 3, 0, 3, 950.0, 800, 900.0),
        (0, 0, 4, 1, 2, 0, 6, 950.0, 800, 7_400.0),
        (0, 0, 4, 1, 1, 0, 4, 950.0, 800, 5_800.0),
        (0, 0, 4, 1, 5, 0, 4, 950.0, 800, 5_800.0),
        (0, 0, 4, 1, 4, 0, 2, 950.0, 800, -600.0),
        (0, 0, 2, 0, 0, 0, 1, 950.0, 800, -150.0),
    ]
    assert ref.position[:, 0].tolist() == [0] * 6
    # Victims buy back at 950: a profit against their entry, a loss against the mark.
    assert ref.cash.tolist() == [0.0, 5_200.0, 6_500.0, 450.0, -900.0, 5_200.0]
    assert ref.status.tolist() == [3, 0, 0, 0, 0, 0]  # victims get no status bits
    assert ref.fund_position.tolist() == [1]
    assert ref.fund_cost.tolist() == [950.0]
    assert ref.insurance_fund == 0.0
    assert ref.conserved() == pytest.approx(start, rel=1e-15)


def test_adl_disabled_the_fund_takes_everything() -> None:
    ref = _one(MarginRule(maintenance_rate=0.01), insurance_fund=0.0, adl=False)
    ref.add_accounts([1_000.0, 5_000.0], position=[10, -4], entry_price=[1_000.0, 1_000.0])
    assert _rows(ref.check([800])) == [(0, 0, 2, 0, 0, 0, 10, 900.0, 800, -1_000.0)]
    assert ref.fund_position.tolist() == [10]
    assert ref.position[:, 0].tolist() == [0, -4]


def test_fund_covers_until_it_is_exhausted_then_adl() -> None:
    ref = _one(MarginRule(maintenance_rate=0.01), insurance_fund=150.0)
    ref.add_accounts([900.0, 800.0, 1e5], position=[10, 10, -50], entry_price=[1_000.0] * 3)
    # At 900 the longs' equity is -100 and -200: the fund's cash (150) covers the first
    # loss (it stays 150: the loss is unrealized), not the second, which is deleveraged.
    records = ref.check([900])
    assert records["kind"].tolist() == [2, 3, 4]
    assert records["account"].tolist() == [0, 1, 2]
    assert ref.fund_position.tolist() == [10]
    assert ref.position[:, 0].tolist() == [0, 0, -40]


def test_partial_liquidation_to_the_lower_tier() -> None:
    rule = MarginRule(
        initial_rate=0.05, maintenance="tiered", tiers=TIERS, partial_liquidation=True
    )
    ref = _one(rule, insurance_fund=1e6)
    ref.add_accounts([3_000.0], position=[30], entry_price=[10_000.0])
    # At 9,990: N = 299,700 (bracket 2), MM = 7,492.5 - 4,050 = 3,442.5 >= E = 2,700.
    # k = ceil(49,700 / 9,990) = 5 lots at B = 9,990 - 2,700 / 30 = 9,900.
    records = ref.check([9_990])
    assert _rows(records) == [(0, 0, 0, 0, 0, 0, 5, 9_900.0, 9_990, 2_700.0)]
    # Now N = 249,750 (bracket 1): MM = 2,197.5 < E = 2,250: safe, with 25 lots left.
    assert ref.position.tolist() == [[25]]
    assert ref.cash.tolist() == [2_500.0]
    assert ref.equity([9_990]).tolist() == [2_250.0]
    assert ref.maintenance_margin([9_990]).tolist() == [pytest.approx(2_197.5, rel=1e-15)]
    assert ref.fund_position.tolist() == [5]
    assert ref.fund_cost.tolist() == [49_500.0]
    assert ref.status.tolist() == [1]


def test_partial_liquidation_that_is_not_enough() -> None:
    rule = MarginRule(
        initial_rate=0.05, maintenance="tiered", tiers=TIERS, partial_liquidation=True,
        liquidation_fee_rate=0.002,
    )  # fmt: skip
    ref = _one(rule, insurance_fund=1e6)
    ref.add_accounts([3_000.0], position=[30], entry_price=[10_000.0])
    # At 9,955: E = 1,650, B = 9,900; 5 lots leave E = 1,375 <= MM = 2,188.75, so the other
    # 25 go too (at B = 9,955 - 1,375 / 25 = 9,900). The fee is capped at the equity left: 0.
    records = ref.check([9_955])
    assert _rows(records) == [
        (0, 0, 0, 0, 0, 0, 5, 9_900.0, 9_955, 1_650.0),
        (0, 0, 2, 0, 0, 0, 25, 9_900.0, 9_955, 1_375.0),
    ]
    assert ref.fees_paid.tolist() == [0.0]
    assert ref.insurance_fund == 1e6
    assert ref.fund_position.tolist() == [30]


def test_partial_of_every_lot_is_a_partial_record() -> None:
    # One lot's notional is above floor_1: k = ceil((990 - 500) / 990) = 1 = abs(q).
    rule = MarginRule(
        maintenance="tiered", tiers=((0.0, 0.01), (500.0, 0.02)), partial_liquidation=True
    )
    ref = _one(rule, insurance_fund=1e6)
    ref.add_accounts([10.0], position=[1], entry_price=[1_000.0])
    assert _rows(ref.check([990])) == [(0, 0, 0, 0, 0, 0, 1, 990.0, 990, 0.0)]


def test_fee_is_charged_and_capped_at_the_equity_left() -> None:
    def world(fee: float, rounds: int) -> ReferenceMargin:
        rule = MarginRule(
            initial_rate=0.05, maintenance="tiered", tiers=TIERS, partial_liquidation=True,
            liquidation_fee_rate=fee,
        )  # fmt: skip
        ref = _one(rule, insurance_fund=1e6, max_rounds=rounds)
        ref.add_accounts([3_000.0], position=[30], entry_price=[10_000.0])
        return ref

    # The partial close of 5 lots at 9,900 leaves E = 2,250: a fee of 0.2% of 49,500 is paid.
    ref = world(0.002, 1)
    ref.check([9_990])
    assert ref.fees_paid.tolist() == [99.0]
    assert ref.cash.tolist() == [2_401.0]
    assert ref.insurance_fund == 1e6 + 99.0
    # 10% would be 4,950: capped at the 2,250 of equity left, which ends at zero.
    ref = world(0.1, 1)
    start = ref.conserved()
    ref.check([9_990])
    assert ref.fees_paid.tolist() == [2_250.0]
    assert ref.equity([9_990]).tolist() == [0.0]
    assert ref.conserved() == start
    assert ref.fees_collected == 0.0  # liquidation fees go to the fund, not to trading fees


def test_fee_can_make_the_account_liquidatable_again_next_round() -> None:
    rule = MarginRule(
        initial_rate=0.05, maintenance="tiered", tiers=TIERS, partial_liquidation=True,
        liquidation_fee_rate=0.002,
    )  # fmt: skip
    ref = _one(rule, insurance_fund=1e6)
    ref.add_accounts([3_000.0], position=[30], entry_price=[10_000.0])
    start = ref.conserved()
    records = ref.check([9_990])
    # Round 0: 5 lots (fee 99 -> E = 2,151 < MM 2,197.5); round 1: 20 lots down to bracket 0
    # at B = 9,990 - 2,151 / 25; the fee drops E below MM again; round 2: the last 5.
    assert records["round"].tolist() == [0, 1, 2]
    assert records["kind"].tolist() == [0, 0, 2]
    assert records["qty"].tolist() == [5, 20, 5]
    assert records["price"][1] == pytest.approx(9_990 - 2_151 / 25, rel=1e-14)
    assert ref.position.tolist() == [[0]]
    assert ref.fees_paid[0] == pytest.approx(99.0 + 0.002 * 20 * (9_990 - 2_151 / 25), rel=1e-12)
    assert ref.conserved() == pytest.approx(start, rel=1e-14)
    # With one round per check the rest waits for the next check.
    ref = _one(rule, insurance_fund=1e6, max_rounds=1)
    ref.add_accounts([3_000.0], position=[30], entry_price=[10_000.0])
    assert [len(ref.check([9_990])) for _ in range(4)] == [1, 1, 1, 0]
    assert ref.log["check"].tolist() == [0, 1, 2]
    assert ref.log["round"].tolist() == [0, 0, 0]


def test_negative_balance_protection_resets_a_negative_cash() -> None:
    # Closing at B leaves a cash of -5.7e-14 (rounding): protection books it as bad debt.
    for nbp in (False, True):
        rule = MarginRule(maintenance_rate=0.05, negative_balance_protection=nbp)
        ref = _one(rule, insurance_fund=1e6)
        ref.add_accounts([167.94], position=[15], entry_price=[91.3])
        start = ref.conserved()
        assert ref.check([73])["kind"].tolist() == [2]
        if nbp:
            assert ref.cash.tolist() == [0.0]
            assert ref.bad_debt == pytest.approx(5.684341886080802e-14, rel=1e-12)
        else:
            assert ref.cash[0] == pytest.approx(-5.684341886080802e-14, rel=1e-12)
            assert ref.bad_debt == 0.0
        assert ref.conserved() == pytest.approx(start, rel=1e-15)


def test_cross_account_closes_positions_in_instrument_order() -> None:
    ref = ReferenceMargin(
        [
            Instrument("A", 1.0, MarginRule(maintenance_rate=0.1)),
            Instrument("B", 1.0, MarginRule(maintenance_rate=0.01)),
        ],
        insurance_fund=1_000.0,
    )
    ref.add_accounts([50.0], position=[[10, 10]], entry_price=[[100.0, 100.0]], mode=1)
    # E = 50 - 100 = -50 <= MM = 90 + 10. A first at B = 90 + 50 / 10 = 95: E = 0 then,
    # still <= MM = 10, so B goes too, at its mark.
    assert _rows(ref.check([90, 100])) == [
        (0, 0, 2, 0, 0, 0, 10, 95.0, 90, -50.0),
        (0, 0, 2, 0, 0, 1, 10, 100.0, 100, 0.0),
    ]
    assert ref.fund_position.tolist() == [10, 10]


def test_accounts_that_become_liquidatable_wait_for_the_next_round() -> None:
    rule = MarginRule(maintenance_rate=0.01)
    ref = ReferenceMargin([Instrument("X", 1.0, rule), Instrument("Y", 1.0, rule)])
    # Account 1 (cross) is safe at the round's start; deleveraged against account 0 at
    # B = 900 (100 above the mark) its equity drops from 500 to -500.
    ref.add_accounts(
        [1_000.0, 500.0],
        position=[[10, 0], [-10, 100]],
        entry_price=[[1_000.0, 0.0], [1_000.0, 120.0]],
        mode=[0, 1],
    )
    assert ref.liquidatable([800, 100]).tolist() == [True, False]
    assert _rows(ref.check([800, 100])) == [
        (0, 0, 3, 0, 0, 0, 10, 900.0, 800, -1_000.0),
        (0, 0, 4, 1, 1, 0, 10, 900.0, 800, 500.0),
        (0, 1, 2, 0, 1, 1, 100, 105.0, 100, -500.0),
    ]


def test_liquidated_notional_cap_defers_the_rest() -> None:
    ref = _one(
        MarginRule(maintenance_rate=0.05), insurance_fund=1e9, max_liquidation_notional=500.0
    )
    ref.add_accounts([100.0] * 3, position=[10] * 3, entry_price=[100.0] * 3)
    # Each liquidation closes 10 lots x 94 = 940 >= 500 of notional: one per check.
    assert [ref.check([94])["account"].tolist() for _ in range(4)] == [[0], [1], [2], []]
    # The cap is tested before each account: 940 < 1,000 lets the second one through.
    ref = _one(MarginRule(maintenance_rate=0.05), max_liquidation_notional=1_000.0)
    ref.add_accounts([100.0] * 3, position=[10] * 3, entry_price=[100.0] * 3)
    assert ref.check([94])["account"].tolist() == [0, 1]
    assert ref.check([94])["account"].tolist() == [2]


def test_margin_calls_wait_and_are_answered() -> None:
    # Cash 100, 10 lots long at 100: equity 10p - 900 against a maintenance margin
    # of 0.5p, so the account is under its maintenance at 94 (40 against 47) and
    # above it at 96 (60 against 48).
    marks = [96, 94, 94, 96, 94, 94, 94, 94]
    under = [94, 94, 96, 94]
    ref = _one(MarginRule(maintenance_rate=0.05), insurance_fund=1e9)
    ref.add_accounts([100.0], position=[10], entry_price=[100.0])
    assert [bool(ref.liquidatable([m])[0]) for m in under] == [True, True, False, True]
    # Without calls it is closed at the first check that finds it under.
    assert [len(ref.check([m])) for m in marks[:3]] == [0, 1, 0]

    ref = _one(MarginRule(maintenance_rate=0.05), insurance_fund=1e9, margin_call_checks=2)
    ref.add_accounts([100.0], position=[10], entry_price=[100.0])
    closed = [t for t, m in enumerate(marks) if len(ref.check([m]))]
    # Called at check 1, answered at 3 (96), called again at 4, closed two checks later.
    assert closed == [6]
    assert ref.position.tolist() == [[0]]


def test_a_close_out_does_not_wait_for_the_call() -> None:
    ref = _one(
        MarginRule(maintenance_rate=0.05),
        insurance_fund=1e9,
        margin_call_checks=5,
        close_out_ratio=0.5,
    )
    ref.add_accounts([100.0], position=[10], entry_price=[100.0])
    # At 93 equity 30 is over half the maintenance margin (46.5): called, it waits.
    # At 92 equity 20 is at or under half of 46: closed at once.
    assert [len(ref.check([m])) for m in (93, 92)] == [0, 1]
    # With no close-out the same call waits while the equity lasts ...
    ref = _one(MarginRule(maintenance_rate=0.05), insurance_fund=1e9, margin_call_checks=5)
    ref.add_accounts([100.0], position=[10], entry_price=[100.0])
    assert [len(ref.check([m])) for m in (93, 92)] == [0, 0]
    # ... and not once it is gone (equity -10 at 89).
    assert len(ref.check([89])) == 1


def test_status_bits() -> None:
    ref = _one(MarginRule(maintenance_rate=0.05), insurance_fund=1e6)
    ref.add_accounts(
        [60.0, 10.0, 1_000.0], position=[10, 10, 10], entry_price=[100.0, 100.0, 100.0]
    )
    # At 95: E = 10 <= MM 47.5 (liquidated); E = -40 (also bankrupt); E = 950 (safe).
    ref.check([95])
    assert ref.status.tolist() == [1, 3, 0]


# -- properties -----------------------------------------------------------------------------------


def _random_world(seed: int, n: int, fund: float, adl: bool) -> tuple[ReferenceMargin, np.ndarray]:
    rng = np.random.default_rng(seed)
    rules = [
        MarginRule(initial_rate=0.05, maintenance_rate=0.01, liquidation_fee_rate=0.001),
        MarginRule(
            initial_rate=0.02, maintenance="tiered", tiers=((0.0, 0.004), (20_000.0, 0.01)),
            partial_liquidation=True, liquidation_fee_rate=0.005, negative_balance_protection=True,
        ),
        MarginRule(initial_rate=0.1, maintenance="fixed", amount_per_lot=20.0, basis="entry"),
    ]  # fmt: skip
    tv = np.array([1.0, 0.1, 10.0])
    ref = ReferenceMargin(
        [Instrument(f"I{k}", tv[k], r) for k, r in enumerate(rules)], insurance_fund=fund, adl=adl
    )
    start = np.array([1_000.0, 20_000.0, 300.0])
    mode = rng.integers(0, 2, n)
    home = rng.integers(0, 3, n)
    lots = rng.integers(-30, 31, (n, 3))
    lots[mode == 0] = 0
    lots[mode == 0, home[mode == 0]] = rng.integers(1, 30, (mode == 0).sum()) * rng.choice(
        [-1, 1], (mode == 0).sum()
    )
    entry = start * (1 + rng.normal(0, 0.02, (n, 3)))
    cash = (np.abs(lots) * entry * tv).sum(axis=1) / rng.uniform(1, 80, n)
    ref.add_accounts(cash, position=lots, entry_price=entry, mode=mode, instrument=home)
    steps = rng.normal(0, 0.01, (40, 3)) + np.where(
        rng.random((40, 3)) < 0.05, rng.normal(0, 0.1, (40, 3)), 0
    )
    marks = np.maximum(np.round(start * np.exp(np.cumsum(steps, axis=0))), 1).astype(np.int64)
    return ref, marks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    fund=st.sampled_from([0.0, 2_000.0, 1e12]),
    adl=st.booleans(),
)
def test_money_and_lots_are_conserved_after_every_check(seed: int, fund: float, adl: bool) -> None:
    ref, marks = _random_world(seed, 60, fund, adl)
    start = ref.conserved()
    scale = float(np.abs(ref.cash).sum() + np.abs(ref.cost).sum() + fund)
    lots = ref.position.sum(axis=0) + ref.fund_position
    for t, mk in enumerate(marks):
        records = ref.check(mk)
        assert abs(ref.conserved() - start) <= 1e-9 * scale
        np.testing.assert_array_equal(ref.position.sum(axis=0) + ref.fund_position, lots)
        assert np.all(records["check"] == t)
        if len(np.unique(records["round"])) < ref.max_rounds:
            assert ref.count_liquidatable(mk) == 0  # calm
        # The scalar valuation inside the procedure is the vectorised one, bit for bit.
        p = [float(x) for x in mk]
        eq, mm = ref.equity(mk), ref.maintenance_margin(mk)
        for a in range(0, ref.accounts, 7):
            assert ref._equity_one(a, p) == eq[a]
            assert ref._mm_one(a, p) == mm[a]
    assert np.all((ref.status & 2 == 0) | (ref.status & 1 == 1))  # bankrupt => liquidated


def test_bad_input_names_the_field_and_changes_nothing() -> None:
    ref = ReferenceMargin([Instrument("A"), Instrument("B")])
    ref.add_accounts([100.0], position=[1], entry_price=[50.0])
    calls = [
        (lambda: ref.add_accounts([np.nan]), "cash"),
        (lambda: ref.add_accounts([-1.0]), "cash"),
        (lambda: ref.add_accounts([1.0], instrument=2), "instrument"),
        (lambda: ref.add_accounts([1.0, 2.0], position=[1, 2, 3]), "position"),
        (lambda: ref.add_accounts([1.0], position=[[1, 1]], entry_price=[[5.0, 5.0]]), "position"),
        (lambda: ref.add_accounts([1.0], position=[1], entry_price=[0.0]), "entry_price"),
        (lambda: ref.check([0, 10]), "marks"),
        (lambda: ref.check([10]), "marks"),
        (lambda: ref.set_rule(2, MarginRule()), "instrument"),
    ]
    for call, field in calls:
        with pytest.raises((ValueError, TypeError), match=rf"^{field}"):
            call()
    assert ref.accounts == 1
    assert ref.checks == 0
