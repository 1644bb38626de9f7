"""A brute-force reference model of the margin engine (docs/margin.md), without books.

``ReferenceMargin`` is deliberately simple: plain Python and numpy, full scans
of every account, no liquidation index, no incremental state. It models the
*no-book* configuration: steps 1 (cancel resting orders) and 3 (liquidation
order into a book) of the liquidation procedure never apply, so every lot a
liquidation closes goes to the insurance fund or to auto-deleveraging.

The floating-point expressions follow docs/margin.md literally, operation by
operation, so that a C++ implementation of the same rules gives the same bits:

- ``upnl = float(q) * float(P) * v - cost``
- ``equity = cash + upnl_0 + upnl_1 + ...`` (open positions, instrument order)
- notional: ``float(abs(q)) * float(P) * v`` (mark basis) or ``abs(cost)`` (entry)
- percent ``rate * notional``; fixed ``amount * float(abs(q))``;
  tiered ``notional * rate_k - deduction_k``; closeout ``share * (initial_rate * notional)``
- ``MM = 0.0 + mm_0 + mm_1 + ...`` (open positions, instrument order)

Readings of the docs where they leave a choice (each is a documented decision):

- Every close of a liquidated account's lots (the partial close of step 2 and
  the rest in steps 4-5) is made at that moment's bankruptcy price
  ``B = float(P) - E / (float(q) * v)``, with ``E`` and ``q`` the account's
  equity and position just before it (so ``B`` is recomputed after a partial
  close). The fund takes the lots when its cash covers the loss it takes on
  at the mark, ``insurance_fund >= max(0, -E_rest)``; otherwise (ADL on) the
  ranked opposite positions absorb them and the fund takes what is left.
  With ``fund_equity`` the fund's cash is replaced in that test by its equity
  at the round's marks, ``insurance_fund + upnl_0 + upnl_1 + ...`` over the
  positions it holds (instrument order, the account formula).
  ``instrument_funds`` (one value or None per instrument): an instrument
  with a value has a fund of its own with that starting cash; every cash
  movement of the fund in that instrument (a close it realizes, a
  liquidation fee on a close of that instrument) moves that fund's cash, and
  the test above uses that fund's cash (or its equity over the positions in
  the instruments it serves). Instruments with None share the venue's
  (``insurance_fund``). ``insurance_fund`` reads every fund's cash together.
  Lots the fund takes are logged ``kind=0`` for a partial close, ``kind=2``
  otherwise. ``k = abs(q)`` is still a partial close (``kind=0``).
- ADL: one ``kind=3`` record for the lots the victims absorb, written before
  the victims' ``kind=4`` records (in rank order); the fund's share comes
  after. Victims get no status bits, pay no fee and get no negative-balance
  protection. The score uses the victim's position in that instrument
  (upnl and mark notional) and the victim's whole equity.
- A round's accounts are those liquidatable when it starts (ascending id);
  each is checked again when its turn comes and skipped if no longer
  liquidatable. Accounts that become liquidatable during a round wait for the
  next round.
- The liquidation fee is charged once per closed position, after steps 2-5
  (also when a partial close ends the procedure): ``rate * sum(lots * price
  * v)`` over its closes, ADL included, capped to ``[0, equity after]``. It
  goes to the fund's cash and the account's ``fees_paid`` (not to
  ``realized_pnl``, not to ``fees_collected``: money would not be conserved).
- Negative-balance protection follows the rule of the position just closed,
  once the account holds no open position.
- Status bit 1 (bankrupt): the account's equity at the round's marks, when its
  liquidation procedure starts, is negative.
- The liquidated-notional cap counts the notional at the mark,
  ``qty * float(P) * v``, of every lot a liquidated account closes (kinds
  0-3); it is tested before each account's procedure, and once it is used up
  the check ends (the rest waits for the next check).
- ``liquidation_capacity`` (one number per instrument, > 0, ``inf`` for none):
  the same count per instrument (the notional of the closes in that
  instrument); before each account's procedure, an account holding a
  position in an instrument whose capacity is used up is skipped and waits
  for the next round or check. A round in which no account acted ends the
  check.
- ``liquidation_priority="margin_ratio"``: a round takes its accounts by ``equity / MM`` at the
  round's marks ascending (``-inf`` when ``MM <= 0``), ties by ascending id,
  instead of by id.
- ``(N, I)`` positions: an isolated account may hold a position only in its
  own ``instrument``; other columns must be zero.
- The fund trading against its own position closes it first (realizing into
  its cash), then opens the rest.
- Close order of an account with several positions (``close_order``):
  ``instrument`` (instrument order), ``most_liquid`` (``liquidity`` descending,
  ties in instrument order; equal values give instrument order),
  ``largest_loss`` (unrealized PnL at the round's mark ascending, ties in
  instrument order; taken once, when the procedure starts), each position then
  closed by steps 2-7 as above; or ``pro_rata``: up to four steps, each first
  checking that the account is still liquidatable, then closing in instrument
  order each position down to ``abs(q0) - ceil(abs(q0) * j / 4)`` lots (``q0``
  the position when the procedure started) as ``kind=2`` closes (no partial
  step), with the fee and negative-balance protection of steps 6-7 after each
  close.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from deleverage.margin_rules import CLOSE_ORDERS, Instrument, MarginRule

__all__ = ["CLOSE_ORDERS", "LIQUIDATION_DTYPE", "ReferenceMargin"]

PRO_RATA_STEPS = 4

LIQUIDATION_DTYPE = np.dtype(
    [
        ("check", "<u4"),
        ("round", "<u2"),
        ("kind", "u1"),
        ("side", "u1"),
        ("account", "<u4"),
        ("instrument", "<u4"),
        ("qty", "<i8"),
        ("price", "<f8"),
        ("mark", "<i8"),
        ("equity", "<f8"),
    ],
    align=False,
)

PARTIAL, BOOK, TAKEOVER, ADL, ADL_VICTIM = 0, 1, 2, 3, 4
LIQUIDATED, BANKRUPT = 1, 2


def _sign(q: int) -> int:
    return 1 if q > 0 else -1


def _is_int_array(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "iu" or (
        arr.dtype.kind == "f"
        and bool(np.all(np.isfinite(arr)))
        and bool(np.all(arr == np.round(arr)))
    )


class ReferenceMargin:
    """Accounts, margin rules and an insurance fund; liquidation by full scans."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        insurance_fund: float = 0.0,
        adl: bool = True,
        max_rounds: int = 64,
        max_liquidation_notional: float = math.inf,
        close_order: str = "instrument",
        liquidity: Sequence[float] | None = None,
        fund_equity: bool = False,
        liquidation_capacity: Sequence[float] | None = None,
        liquidation_priority: str = "account",
        margin_call_checks: int = 0,
        close_out_ratio: float = 0.0,
        instrument_funds: Sequence[float | None] | None = None,
    ) -> None:
        specs = list(instruments)
        if not specs:
            raise ValueError("instruments: need at least one Instrument")
        for k, inst in enumerate(specs):
            if not isinstance(inst, Instrument):
                raise TypeError(
                    f"instruments[{k}]: must be an Instrument, got {type(inst).__name__}"
                )
        fund = float(insurance_fund)
        if not math.isfinite(fund) or fund < 0.0:
            raise ValueError(f"insurance_fund: must be finite and >= 0, got {insurance_fund}")
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
            raise ValueError(f"max_rounds: must be an integer >= 1, got {max_rounds!r}")
        cap = float(max_liquidation_notional)
        if not cap > 0.0:
            raise ValueError(
                f"max_liquidation_notional: must be > 0, got {max_liquidation_notional}"
            )
        if not isinstance(close_order, str) or close_order not in CLOSE_ORDERS:
            raise ValueError(
                f"close_order: must be one of {', '.join(CLOSE_ORDERS)}; got {close_order!r}"
            )
        ranks = [0.0] * len(specs) if liquidity is None else [float(x) for x in liquidity]
        if len(ranks) != len(specs):
            raise ValueError(
                f"liquidity: need one value per instrument ({len(specs)}), got {len(ranks)}"
            )
        if not all(math.isfinite(x) for x in ranks):
            raise ValueError(f"liquidity: must be finite, got {ranks}")
        caps = (
            [math.inf] * len(specs)
            if liquidation_capacity is None
            else [float(x) for x in liquidation_capacity]
        )
        if len(caps) != len(specs):
            raise ValueError(
                f"liquidation_capacity: need one value per instrument ({len(specs)}), "
                f"got {len(caps)}"
            )
        if not all(c > 0.0 for c in caps):
            raise ValueError(f"liquidation_capacity: must be > 0 (inf for no cap), got {caps}")
        self.liquidation_capacity = caps
        own = [None] * len(specs) if instrument_funds is None else list(instrument_funds)
        if len(own) != len(specs):
            raise ValueError(
                f"instrument_funds: need one value (or None) per instrument ({len(specs)}), "
                f"got {len(own)}"
            )
        # Each instrument's fund: 0 the venue's, k + 1 instrument k's own.
        self.fund_of = [0 if f is None else k + 1 for k, f in enumerate(own)]
        self.funds = [fund] + [0.0 if f is None else float(f) for f in own]
        for k, f in enumerate(own):
            if f is not None and not (math.isfinite(float(f)) and float(f) >= 0.0):
                raise ValueError(f"instrument_funds[{k}]: must be finite and >= 0, got {f}")
        if liquidation_priority not in ("account", "margin_ratio"):
            raise ValueError(
                "liquidation_priority: must be one of account, margin_ratio; "
                f"got {liquidation_priority!r}"
            )
        self.margin_ratio_order = liquidation_priority == "margin_ratio"
        if isinstance(margin_call_checks, bool) or not isinstance(margin_call_checks, int):
            raise TypeError("margin_call_checks: must be an int")
        if not 0 <= margin_call_checks < 2**32:
            raise ValueError(f"margin_call_checks: must be in 0..2**32-1, got {margin_call_checks}")
        if not 0.0 <= float(close_out_ratio) <= 1.0:
            raise ValueError(f"close_out_ratio: must be in [0, 1], got {close_out_ratio}")
        self.margin_call_checks = margin_call_checks
        self.close_out_ratio = float(close_out_ratio)
        # Open margin calls: account -> the check that made the call.
        self.calls: dict[int, int] = {}
        self.close_order = close_order
        self.liquidity = ranks
        self.instrument_specs: list[Instrument] = specs
        self.rules: list[MarginRule] = [inst.rule for inst in specs]
        self.tick_values: list[float] = [float(inst.tick_value) for inst in specs]
        self.adl = bool(adl)
        self.fund_equity = bool(fund_equity)
        self.max_rounds = max_rounds
        self.max_liquidation_notional = cap
        ni = len(specs)
        self.cash = np.zeros(0, dtype=np.float64)
        self.position = np.zeros((0, ni), dtype=np.int64)
        self.cost = np.zeros((0, ni), dtype=np.float64)
        self.realized_pnl = np.zeros(0, dtype=np.float64)
        self.fees_paid = np.zeros(0, dtype=np.float64)
        self.status = np.zeros(0, dtype=np.uint8)
        self.mode = np.zeros(0, dtype=np.uint8)
        self.population = np.zeros(0, dtype=np.uint16)
        self.instrument = np.zeros(0, dtype=np.uint16)
        self.insurance_fund = fund
        for f in own:
            if f is not None:
                self.insurance_fund = self.insurance_fund + float(f)
        self.fund_position = np.zeros(ni, dtype=np.int64)
        self.fund_cost = np.zeros(ni, dtype=np.float64)
        self.fees_collected = 0.0
        self.bad_debt = 0.0
        self.bad_debt_by_instrument = np.zeros(ni, dtype=np.float64)
        self.checks = 0
        self.log = np.zeros(0, dtype=LIQUIDATION_DTYPE)

    # -- configuration ------------------------------------------------------------------------
    @property
    def accounts(self) -> int:
        return int(self.cash.shape[0])

    @property
    def instruments(self) -> int:
        return len(self.rules)

    def set_rule(self, instrument: int, rule: MarginRule) -> None:
        """Replace an instrument's margin rule; it applies from the next check."""
        self._check_instrument(instrument)
        if not isinstance(rule, MarginRule):
            raise TypeError(f"rule: must be a MarginRule, got {type(rule).__name__}")
        self.rules[int(instrument)] = rule

    def apply_trade(
        self, account: int, instrument: int, lots: int, price: float, fee: float = 0.0
    ) -> None:
        """One trade side: `account` buys (lots > 0) or sells at `price` ticks, paying `fee`.

        It closes against its position first (realizing), then opens the rest.
        """
        self._check_instrument(instrument)
        a, i = int(account), int(instrument)
        if not 0 <= a < self.accounts:
            raise ValueError(f"account: must be in 0..{self.accounts - 1}, got {account}")
        if self.mode[a] == 0 and int(self.instrument[a]) != i and self._open(a):
            raise ValueError(f"instrument: isolated account {a} trades only its own instrument")
        if lots == 0 or abs(lots) > 2**40:
            raise ValueError(f"lots: must be non-zero and within +-2^40, got {lots}")
        if not math.isfinite(price) or price <= 0.0:
            raise ValueError(f"price: must be finite and > 0, got {price}")
        q = int(self.position[a, i])
        rest = int(lots)
        if q != 0 and _sign(q) != _sign(rest):
            k = min(abs(rest), abs(q))
            self._close(a, i, k, float(price))
            rest = rest - _sign(rest) * k
        if rest != 0:
            self.position[a, i] = int(self.position[a, i]) + rest
            self.cost[a, i] = (
                float(self.cost[a, i]) + float(rest) * float(price) * self.tick_values[i]
            )
        self.cash[a] = float(self.cash[a]) - fee
        self.fees_paid[a] = float(self.fees_paid[a]) + fee
        self.fees_collected = self.fees_collected + fee
        if self.mode[a] == 0:
            self.instrument[a] = i

    def add_accounts(
        self,
        cash: npt.ArrayLike,
        *,
        instrument: npt.ArrayLike = 0,
        position: npt.ArrayLike = 0,
        entry_price: npt.ArrayLike = 0.0,
        mode: npt.ArrayLike = 0,
        population: npt.ArrayLike = 0,
    ) -> np.ndarray:
        """Append accounts; returns their (consecutive) ids. Nothing changes on bad input."""
        ni = self.instruments
        cash_arr = np.asarray(cash)
        if cash_arr.ndim != 1:
            raise ValueError(f"cash: must be one-dimensional, got shape {cash_arr.shape}")
        if cash_arr.dtype.kind not in "iuf":
            raise TypeError(f"cash: must be numeric, got dtype {cash_arr.dtype}")
        n = cash_arr.shape[0]
        cash_f = cash_arr.astype(np.float64)
        if not np.all(np.isfinite(cash_f)):
            raise ValueError("cash: must be finite (no NaN or inf)")
        if np.any(cash_f < 0.0):
            raise ValueError("cash: must be >= 0")
        inst = self._int_column("instrument", instrument, n, 0, ni - 1)
        mode_c = self._int_column("mode", mode, n, 0, 1)
        pop = self._int_column("population", population, n, 0, 65535)
        pos = self._per_instrument("position", position, inst, n, integer=True)
        entry = self._per_instrument("entry_price", entry_price, inst, n, integer=False)
        isolated = mode_c == 0
        if isolated.any():
            other = np.ones((n, ni), dtype=bool)
            other[np.arange(n), inst] = False
            if np.any((pos != 0) & other & isolated[:, None]):
                raise ValueError(
                    "position: an isolated account (mode 0) can hold only its own instrument"
                )
        if np.any((pos != 0) & ~(entry > 0.0)):
            raise ValueError("entry_price: must be > 0 for every open position")
        cost = np.zeros((n, ni), dtype=np.float64)
        for a in range(n):
            for i in range(ni):
                if pos[a, i] != 0:
                    cost[a, i] = float(pos[a, i]) * float(entry[a, i]) * self.tick_values[i]
        first = self.accounts
        self.cash = np.concatenate([self.cash, cash_f])
        self.position = np.concatenate([self.position, pos])
        self.cost = np.concatenate([self.cost, cost])
        self.realized_pnl = np.concatenate([self.realized_pnl, np.zeros(n)])
        self.fees_paid = np.concatenate([self.fees_paid, np.zeros(n)])
        self.status = np.concatenate([self.status, np.zeros(n, dtype=np.uint8)])
        self.mode = np.concatenate([self.mode, mode_c.astype(np.uint8)])
        self.population = np.concatenate([self.population, pop.astype(np.uint16)])
        self.instrument = np.concatenate([self.instrument, inst.astype(np.uint16)])
        return np.arange(first, first + n, dtype=np.int64)

    # -- valuation (vectorised, the same expressions as the scalar versions below) ------------
    def equity(self, marks: npt.ArrayLike) -> np.ndarray:
        """Each account's equity at integer marks."""
        return self._equity_all(self._marks(marks).astype(np.float64))

    def maintenance_margin(self, marks: npt.ArrayLike) -> np.ndarray:
        """Each account's maintenance margin at integer marks."""
        return self._mm_all(self._marks(marks).astype(np.float64))

    def equity_at(self, prices: npt.ArrayLike) -> np.ndarray:
        """Equity at real-valued prices (an oracle helper: e.g. at a liquidation price)."""
        return self._equity_all(self._prices(prices))

    def maintenance_margin_at(self, prices: npt.ArrayLike) -> np.ndarray:
        """Maintenance margin at real-valued prices (an oracle helper)."""
        return self._mm_all(self._prices(prices))

    def _prices(self, prices: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(prices, dtype=np.float64)
        if arr.shape != (self.instruments,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"prices: need {self.instruments} finite prices, got {arr.tolist()}")
        return arr

    def liquidatable(self, marks: npt.ArrayLike) -> np.ndarray:
        """Mask of accounts with an open position and equity <= MM."""
        p = self._marks(marks).astype(np.float64)
        mask: np.ndarray = (self.position != 0).any(axis=1) & (
            self._equity_all(p) <= self._mm_all(p)
        )
        return mask

    def count_liquidatable(self, marks: npt.ArrayLike) -> int:
        return int(self.liquidatable(marks).sum())

    def _equity_all(self, prices: np.ndarray) -> np.ndarray:
        e = self.cash.copy()
        for i, v in enumerate(self.tick_values):
            q = self.position[:, i]
            upnl = q.astype(np.float64) * prices[i] * v - self.cost[:, i]
            e = np.where(q != 0, e + upnl, e)
        return e

    def _mm_all(self, prices: np.ndarray) -> np.ndarray:
        mm = np.zeros(self.accounts, dtype=np.float64)
        for i in range(self.instruments):
            q = self.position[:, i]
            term = self._mm_terms(i, q, self.cost[:, i], prices[i])
            mm = np.where(q != 0, mm + term, mm)
        return mm

    def _mm_terms(self, i: int, q: np.ndarray, cost: np.ndarray, price: float) -> np.ndarray:
        rule = self.rules[i]
        v = self.tick_values[i]
        absq = np.abs(q).astype(np.float64)
        if rule.maintenance == "fixed":
            fixed: np.ndarray = rule.amount_per_lot * absq
            return fixed
        notional = absq * price * v if rule.basis == "mark" else np.abs(cost)
        if rule.maintenance == "percent":
            percent: np.ndarray = rule.maintenance_rate * notional
            return percent
        if rule.maintenance == "closeout":
            closeout: np.ndarray = rule.closeout_share * (rule.initial_rate * notional)
            return closeout
        floors = np.array([f for f, _ in rule.tiers])
        rates = np.array([r for _, r in rule.tiers])
        ded = np.array(rule.deductions())
        k = np.searchsorted(floors, notional, side="right") - 1
        k = np.maximum(k, 0)
        tiered: np.ndarray = notional * rates[k] - ded[k]
        return tiered

    # -- valuation of one account (scalar, used inside the procedure) -------------------------
    def _upnl_one(self, a: int, i: int, price: float) -> float:
        return float(self.position[a, i]) * price * self.tick_values[i] - float(self.cost[a, i])

    def _equity_one(self, a: int, prices: Sequence[float]) -> float:
        e = float(self.cash[a])
        for i in range(self.instruments):
            if self.position[a, i] != 0:
                e = e + self._upnl_one(a, i, prices[i])
        return e

    def _notional_one(self, a: int, i: int, price: float) -> float:
        if self.rules[i].basis == "mark":
            return float(abs(int(self.position[a, i]))) * price * self.tick_values[i]
        return abs(float(self.cost[a, i]))

    def _bracket(self, rule: MarginRule, notional: float) -> int:
        k = 0
        for j, (floor, _) in enumerate(rule.tiers):
            if floor <= notional:
                k = j
        return k

    def _mm_position(self, a: int, i: int, price: float) -> float:
        rule = self.rules[i]
        q = int(self.position[a, i])
        if rule.maintenance == "fixed":
            return rule.amount_per_lot * float(abs(q))
        notional = self._notional_one(a, i, price)
        if rule.maintenance == "percent":
            return rule.maintenance_rate * notional
        if rule.maintenance == "closeout":
            return rule.closeout_share * (rule.initial_rate * notional)
        k = self._bracket(rule, notional)
        return notional * rule.tiers[k][1] - rule.deductions()[k]

    def _mm_one(self, a: int, prices: Sequence[float]) -> float:
        mm = 0.0
        for i in range(self.instruments):
            if self.position[a, i] != 0:
                mm = mm + self._mm_position(a, i, prices[i])
        return mm

    def _open(self, a: int) -> bool:
        return any(int(x) != 0 for x in self.position[a])

    def _liquidatable_one(self, a: int, prices: Sequence[float]) -> bool:
        return self._open(a) and self._equity_one(a, prices) <= self._mm_one(a, prices)

    # -- closed-form liquidation prices -------------------------------------------------------
    def liquidation_prices(self) -> np.ndarray:
        """Closed-form liquidation price of each account with exactly one open position.

        NaN for accounts with no open position or with more than one. A long
        triggers at marks ``<= L``, a short at marks ``>= L``. ``L`` is returned
        as computed: a long that no mark can liquidate gets ``L <= 0`` (possibly
        negative), and a short with negative ``A - m0`` gets a negative ``L``
        (it is liquidatable at every mark). Tiered rules use the bracket that
        holds the solution (found from the sign of ``equity - MM`` at the
        bracket floors, since ``equity - MM`` is monotone in the price).
        """
        out = np.full(self.accounts, np.nan)
        for a in range(self.accounts):
            held = np.flatnonzero(self.position[a] != 0)
            if held.size == 1:
                out[a] = self._liquidation_price_one(a, int(held[0]))
        return out

    def _linear_mm(self, a: int, i: int, bracket: int) -> tuple[float, float]:
        """MM of position (a, i) as m0 + m1 * P inside one tier bracket."""
        rule = self.rules[i]
        q = int(self.position[a, i])
        v = self.tick_values[i]
        absq = float(abs(q))
        if rule.maintenance == "fixed":
            return rule.amount_per_lot * absq, 0.0
        if rule.maintenance == "percent":
            rate = rule.maintenance_rate
            ded = 0.0
        elif rule.maintenance == "closeout":
            rate = rule.closeout_share * rule.initial_rate
            ded = 0.0
        else:
            rate = rule.tiers[bracket][1]
            ded = rule.deductions()[bracket]
        if rule.basis == "entry":
            return abs(float(self.cost[a, i])) * rate - ded, 0.0
        return -ded, rate * absq * v

    def _liquidation_price_one(self, a: int, i: int) -> float:
        rule = self.rules[i]
        q = int(self.position[a, i])
        v = self.tick_values[i]
        big_a = float(self.cash[a]) - float(self.cost[a, i])

        def solve(bracket: int) -> float:
            m0, m1 = self._linear_mm(a, i, bracket)
            if q > 0:
                return (m0 - big_a) / (float(q) * v - m1)
            return (big_a - m0) / (float(-q) * v + m1)

        if rule.maintenance != "tiered":
            return solve(0)
        if rule.basis == "entry":
            return solve(self._bracket(rule, abs(float(self.cost[a, i]))))
        bracket = 0
        for k in range(1, len(rule.tiers)):
            price = rule.tiers[k][0] / (float(abs(q)) * v)  # where the notional reaches floor_k
            m0, m1 = self._linear_mm(a, i, k)
            gap = big_a + float(q) * price * v - (m0 + m1 * price)  # equity - MM there
            # Longs: equity - MM rises with the price; shorts: it falls.
            if (q > 0 and gap <= 0.0) or (q < 0 and gap >= 0.0):
                bracket = k
        return solve(bracket)

    # -- conservation -------------------------------------------------------------------------
    def conserved(self) -> float:
        """sum(cash - cost) over accounts and fund + fees_collected - bad_debt."""
        parts = [*self.cash.tolist(), *(-self.cost).ravel().tolist()]
        parts += [self.insurance_fund, *(-self.fund_cost).tolist()]
        parts += [self.fees_collected, -self.bad_debt]
        return math.fsum(parts)

    # -- trades -------------------------------------------------------------------------------
    def _close(self, a: int, i: int, k: int, price: float) -> None:
        """Account `a` closes k lots of its position in instrument i at `price` (docs)."""
        q = int(self.position[a, i])
        assert 0 < k <= abs(q)
        cost = float(self.cost[a, i])
        removed = cost if k == abs(q) else cost * float(k) / float(abs(q))
        realized = float(_sign(q) * k) * price * self.tick_values[i] - removed
        self.cash[a] = float(self.cash[a]) + realized
        self.realized_pnl[a] = float(self.realized_pnl[a]) + realized
        self.cost[a, i] = cost - removed
        self.position[a, i] = q - _sign(q) * k

    def _fund_trade(self, i: int, lots: int, price: float) -> None:
        """The fund buys (lots > 0) or sells lots of instrument i at `price`."""
        v = self.tick_values[i]
        q = int(self.fund_position[i])
        if q != 0 and _sign(q) != _sign(lots):
            k = min(abs(lots), abs(q))
            cost = float(self.fund_cost[i])
            removed = cost if k == abs(q) else cost * float(k) / float(abs(q))
            realized = float(_sign(q) * k) * price * v - removed
            self._fund_receive(i, realized)
            self.fund_cost[i] = cost - removed
            q = q - _sign(q) * k
            self.fund_position[i] = q
            lots = lots - _sign(lots) * k
        if lots != 0:
            self.fund_cost[i] = float(self.fund_cost[i]) + float(lots) * price * v
            self.fund_position[i] = q + lots

    # -- the liquidation loop -----------------------------------------------------------------
    def check(self, marks: npt.ArrayLike) -> np.ndarray:
        """Mark every instrument, liquidate until calm; returns this check's records."""
        p_int = self._marks(marks)
        prices = [float(x) for x in p_int]
        marks_i = [int(x) for x in p_int]
        check = self.checks
        self.checks += 1
        records: list[tuple[Any, ...]] = []
        # Liquidated notional of this check: in all, then per instrument.
        used = [0.0] * (1 + self.instruments)
        capped = False
        for rnd in range(self.max_rounds):
            candidates = np.flatnonzero(self._liquidatable_mask(prices)).tolist()
            if rnd == 0:
                # A check that finds an account above its maintenance margin answers its call.
                under = set(candidates)
                self.calls = {a: c for a, c in self.calls.items() if a in under}
            if self.margin_ratio_order:
                candidates.sort(key=lambda a: (self._margin_ratio(a, prices), a))
            acted = False
            for a in candidates:
                if used[0] >= self.max_liquidation_notional:
                    capped = True
                    break
                if any(
                    self.position[a, i] != 0 and used[1 + i] >= self.liquidation_capacity[i]
                    for i in range(self.instruments)
                ):
                    continue  # its instrument's liquidation engine is busy this check
                if (
                    self.margin_call_checks > 0
                    and self._liquidatable_one(a, prices)
                    and not self._call_ends(a, check, prices)
                ):
                    continue  # called, and the call still runs
                if self._procedure(a, prices, marks_i, check, rnd, records, used):
                    acted = True
            if capped or not acted:
                break
        out = np.array(records, dtype=LIQUIDATION_DTYPE)
        self.log = np.concatenate([self.log, out])
        return out

    def _call_ends(self, a: int, check: int, prices: Sequence[float]) -> bool:
        """Account a is under its maintenance margin: call it if it has no call;
        whether its call has run out or its equity is past the close-out."""
        made = self.calls.get(a)
        if made is None:
            self.calls[a] = check
        elif check - made >= self.margin_call_checks:
            return True
        return self._equity_one(a, prices) <= self.close_out_ratio * self._mm_one(a, prices)

    def _margin_ratio(self, a: int, prices: Sequence[float]) -> float:
        mm = self._mm_one(a, prices)
        return self._equity_one(a, prices) / mm if mm > 0.0 else -math.inf

    def _liquidatable_mask(self, prices: Sequence[float]) -> np.ndarray:
        p = np.asarray(prices, dtype=np.float64)
        mask: np.ndarray = (self.position != 0).any(axis=1) & (
            self._equity_all(p) <= self._mm_all(p)
        )
        return mask

    def _procedure(
        self,
        a: int,
        prices: list[float],
        marks: list[int],
        check: int,
        rnd: int,
        records: list[tuple[Any, ...]],
        used: list[float],
    ) -> bool:
        """Liquidate account `a` if it is (still) liquidatable; True when it acted."""
        if not self._liquidatable_one(a, prices):
            return False
        self.status[a] |= LIQUIDATED
        if self._equity_one(a, prices) < 0.0:
            self.status[a] |= BANKRUPT

        def record(kind: int, acct: int, i: int, side_q: int, qty: int, price: float) -> None:
            eq = self._equity_one(acct, prices)
            side = 0 if side_q > 0 else 1
            records.append((check, rnd, kind, side, acct, i, qty, price, marks[i], eq))
            if kind != ADL_VICTIM:
                notional = float(qty) * prices[i] * self.tick_values[i]
                used[0] = used[0] + notional
                used[1 + i] = used[1 + i] + notional

        if self.close_order == "pro_rata":
            self._pro_rata(a, prices, record)
            return True
        order = [i for i in range(self.instruments) if self.position[a, i] != 0]
        if self.close_order == "most_liquid":
            order.sort(key=lambda i: -self.liquidity[i])  # stable: ties in instrument order
        elif self.close_order == "largest_loss":
            order.sort(key=lambda i: self._upnl_one(a, i, prices[i]))
        for i in order:
            if self.position[a, i] == 0:
                continue
            if not self._liquidatable_one(a, prices):
                break
            rule = self.rules[i]
            p = prices[i]
            closed_notional = 0.0
            done = False
            # Step 2: partial liquidation down to the lower tier.
            if rule.partial_liquidation and rule.maintenance == "tiered":
                n = self._notional_one(a, i, p)
                j = self._bracket(rule, n)
                if j > 0:
                    q = int(self.position[a, i])
                    k = math.ceil((n - rule.tiers[j][0]) / (p * self.tick_values[i]))
                    k = max(1, min(abs(q), k))
                    closed_notional = self._close_lots(a, i, k, PARTIAL, prices, record)
                    done = not self._liquidatable_one(a, prices)
            # Steps 4-5: the rest, taken over by the fund at B or auto-deleveraged.
            q = int(self.position[a, i])
            if not done and q != 0:
                closed_notional = closed_notional + self._close_lots(
                    a, i, abs(q), TAKEOVER, prices, record
                )
            self._settle(a, i, closed_notional, prices)
            if done:
                break
        return True

    def _settle(self, a: int, i: int, closed_notional: float, prices: list[float]) -> None:
        """Steps 6-7 after the closes of position (a, i)."""
        rule = self.rules[i]
        # Step 6: the liquidation fee on the notional closed, capped at the equity left.
        fee = rule.liquidation_fee_rate * closed_notional
        if fee != 0.0:
            # Capped at the equity left; never negative (a close price B below
            # zero would otherwise make it a payment to the account).
            fee = max(0.0, min(fee, self._equity_one(a, prices)))
            self.cash[a] = float(self.cash[a]) - fee
            self.fees_paid[a] = float(self.fees_paid[a]) + fee
            self._fund_receive(i, fee)
        # Step 7: negative-balance protection.
        if rule.negative_balance_protection and not self._open(a) and self.cash[a] < 0.0:
            self.bad_debt = self.bad_debt + (-float(self.cash[a]))
            self.bad_debt_by_instrument[i] += -float(self.cash[a])
            self.cash[a] = 0.0

    def _pro_rata(self, a: int, prices: list[float], record: Any) -> None:
        """Close the same fraction of every position, a quarter per step, lots rounded up."""
        start = [abs(int(x)) for x in self.position[a]]
        for j in range(1, PRO_RATA_STEPS + 1):
            if not self._liquidatable_one(a, prices):
                break
            for i in range(self.instruments):
                left = abs(int(self.position[a, i]))
                if left == 0:
                    continue
                target = -(-start[i] * j // PRO_RATA_STEPS)  # ceil(|q0| * j / 4)
                lots = min(left, target - (start[i] - left))
                if lots > 0:
                    closed = self._close_lots(a, i, lots, TAKEOVER, prices, record)
                    self._settle(a, i, closed, prices)

    def _close_lots(
        self, a: int, i: int, lots: int, fund_kind: int, prices: list[float], record: Any
    ) -> float:
        """Close `lots` of account a's position i at its bankruptcy price B (no book).

        The fund takes them when its cash covers the loss it takes on at the
        mark; otherwise (ADL on) ranked opposite positions absorb them, and the
        fund takes whatever they cannot. Returns the notional closed.
        """
        v = self.tick_values[i]
        p = prices[i]
        q = int(self.position[a, i])
        e = self._equity_one(a, prices)
        b = p - e / (float(q) * v)
        e_rest = float(_sign(q) * lots) * v * (p - b)
        loss = max(0.0, -e_rest)
        notional = 0.0
        rest = lots
        have = self._fund_equity_at(i, prices) if self.fund_equity else self.funds[self.fund_of[i]]
        if have < loss and self.adl:
            taken = self._adl(a, i, lots, b, prices, record)
            notional = notional + float(taken) * b * v
            rest = lots - taken
        if rest > 0:
            record(fund_kind, a, i, q, rest, b)
            self._close(a, i, rest, b)
            self._fund_trade(i, _sign(q) * rest, b)
            notional = notional + float(rest) * b * v
        return notional

    def _fund_receive(self, i: int, money: float) -> None:
        """Money into (or out of) the fund that serves instrument i, and the total."""
        self.insurance_fund = self.insurance_fund + money
        self.funds[self.fund_of[i]] = self.funds[self.fund_of[i]] + money

    def fund_cash(self, i: int) -> float:
        """The cash of the fund that serves instrument i."""
        return self.funds[self.fund_of[i]]

    def _fund_equity_at(self, j: int, prices: list[float]) -> float:
        """The cash of the fund that serves instrument j plus its positions in
        the instruments it serves at `prices` (instrument order)."""
        f = self.fund_of[j]
        e = self.funds[f]
        for i, q in enumerate(self.fund_position.tolist()):
            if q != 0 and self.fund_of[i] == f:
                e = e + (float(q) * prices[i] * self.tick_values[i] - float(self.fund_cost[i]))
        return e

    def _adl(self, a: int, i: int, lots: int, b: float, prices: list[float], record: Any) -> int:
        """Close up to `lots` of account a's position i against ranked opposite positions at B.

        The ranking is taken once; returns the lots the victims absorbed.
        """
        q = int(self.position[a, i])
        victims: list[tuple[float, int]] = []
        for other in range(self.accounts):
            qo = int(self.position[other, i])
            if other == a or qo == 0 or _sign(qo) == _sign(q):
                continue
            victims.append((self._adl_score(other, i, prices), other))
        victims.sort(key=lambda s: (-s[0], s[1]))
        available = sum(abs(int(self.position[o, i])) for _, o in victims)
        take = min(lots, available)
        if take == 0:
            return 0
        record(ADL, a, i, q, take, b)
        self._close(a, i, take, b)
        remaining = take
        for _, other in victims:
            if remaining == 0:
                break
            qo = int(self.position[other, i])
            k = min(remaining, abs(qo))
            record(ADL_VICTIM, other, i, qo, k, b)
            self._close(other, i, k, b)
            remaining -= k
        return take

    def _adl_score(self, a: int, i: int, prices: list[float]) -> float:
        """score = (upnl / abs(cost)) * (notional / equity) at the mark; -inf if equity <= 0."""
        p = prices[i]
        eq = self._equity_one(a, prices)
        if eq <= 0.0:
            return -math.inf
        q = int(self.position[a, i])
        upnl = self._upnl_one(a, i, p)
        notional = float(abs(q)) * p * self.tick_values[i]
        return (upnl / abs(float(self.cost[a, i]))) * (notional / eq)

    # -- validation helpers -------------------------------------------------------------------
    def _check_instrument(self, instrument: object) -> None:
        if (
            isinstance(instrument, bool)
            or not isinstance(instrument, (int, np.integer))
            or not 0 <= int(instrument) < self.instruments
        ):
            raise ValueError(
                f"instrument: must be in 0..{self.instruments - 1}, got {instrument!r}"
            )

    def _marks(self, marks: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(marks)
        if arr.shape != (self.instruments,):
            raise ValueError(
                f"marks: need one price per instrument, shape ({self.instruments},);"
                f" got {arr.shape}"
            )
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"marks: must be integer ticks, got dtype {arr.dtype}")
        if not _is_int_array(arr):
            raise ValueError("marks: must be finite whole ticks")
        if np.any(arr < 1) or np.any(arr > 2**62):
            raise ValueError(f"marks: must be in 1..{2**62} ticks, got {arr.tolist()}")
        return arr.astype(np.int64)

    def _int_column(self, name: str, value: npt.ArrayLike, n: int, lo: int, hi: int) -> np.ndarray:
        arr = np.asarray(value)
        if arr.ndim == 0:
            arr = np.full(n, arr)
        if arr.shape != (n,):
            raise ValueError(f"{name}: must be a scalar or have shape ({n},), got {arr.shape}")
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name}: must be integers, got dtype {arr.dtype}")
        if not _is_int_array(arr):
            raise ValueError(f"{name}: must hold whole numbers")
        if n and (arr.min() < lo or arr.max() > hi):
            raise ValueError(f"{name}: must be in {lo}..{hi}")
        return arr.astype(np.int64)

    def _per_instrument(
        self, name: str, value: npt.ArrayLike, inst: np.ndarray, n: int, *, integer: bool
    ) -> np.ndarray:
        ni = self.instruments
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name}: must be numeric, got dtype {arr.dtype}")
        if integer and not _is_int_array(arr):
            raise ValueError(f"{name}: must hold whole lots")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: must be finite (no NaN or inf)")
        dtype = np.int64 if integer else np.float64
        out = np.zeros((n, ni), dtype=dtype)
        if arr.ndim == 0 or arr.shape == (n,):
            out[np.arange(n), inst] = arr
        elif arr.shape == (n, ni):
            out[...] = arr
        else:
            raise ValueError(
                f"{name}: must be a scalar, shape ({n},) or ({n}, {ni}); got {arr.shape}"
            )
        return out
