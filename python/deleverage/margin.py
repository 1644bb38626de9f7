"""The margin engine: accounts marked to market and liquidated (docs/margin.md).

A thin typed layer over ``deleverage._core.MarginEngine``: inputs are checked
and shaped here (errors name the field), then handed to the engine in one
call; state comes back as zero-copy, read-only numpy views of the engine's
account table (valid while the engine lives; the table grows only while no
view is held). Every call takes the engine's lock, so an engine may be shared
between threads; a view shows the table as it is when read (docs/margin.md,
"Threads").
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from deleverage import _core
from deleverage.engine_spec import MAX_MARGIN_CALL_CHECKS, margin_rule, mark_rule
from deleverage.engine_spec import close_order as close_order_spec
from deleverage.margin_rules import CLOSE_ORDERS, LIQUIDATION_PRIORITIES, Instrument, MarginRule

LIQUIDATION_DTYPE: np.dtype[np.void] = _core.LIQUIDATION_DTYPE

ISOLATED = 0
CROSS = 1


def _number(field: str, value: object) -> float:
    """A real number (int or float, numpy's too; not a bool or a string) as a float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{field}: must be a number, got {type(value).__name__}")
    return float(value)


def _integer(field: str, value: object) -> int:
    """An int (numpy's too; not a bool, a float or a string)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{field}: must be an int, got {type(value).__name__}")
    return int(value)


def _asarray(field: str, value: object) -> np.ndarray:
    """np.asarray, with a ragged or otherwise unreadable input named by its field."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{field}: must be numeric, got {type(value).__name__}")
    try:
        return np.asarray(value)
    except (ValueError, TypeError, OverflowError) as err:
        raise TypeError(f"{field}: must be a numeric array ({err})") from None


def check_close_order(
    close_order: object, liquidity: Sequence[float] | None, ni: int
) -> list[float]:
    """Validate a close-order setting; returns the liquidity per instrument (zeros if none)."""
    if not isinstance(close_order, str) or close_order not in CLOSE_ORDERS:
        raise ValueError(
            f"close_order: must be one of {', '.join(CLOSE_ORDERS)}; got {close_order!r}"
        )
    if liquidity is None:
        return [0.0] * ni
    if isinstance(liquidity, (str, bytes)) or not isinstance(liquidity, (Sequence, np.ndarray)):
        raise TypeError(f"liquidity: must be a sequence of numbers, got {type(liquidity).__name__}")
    values = [_number(f"liquidity[{k}]", x) for k, x in enumerate(liquidity)]
    if len(values) != ni:
        raise ValueError(f"liquidity: need one value per instrument ({ni}), got {len(values)}")
    if not all(math.isfinite(x) for x in values):
        raise ValueError(f"liquidity: must be finite, got {values}")
    return values


def check_margin_calls(checks: object, close_out_ratio: object) -> tuple[int, float]:
    """``margin_call_checks`` (0..2^32-1) and ``close_out_ratio`` (0..1), checked."""
    n = _integer("margin_call_checks", checks)
    if not 0 <= n <= MAX_MARGIN_CALL_CHECKS:
        raise ValueError(
            f"margin_call_checks: must be an integer in 0..{MAX_MARGIN_CALL_CHECKS}, got {n}"
        )
    ratio = _number("close_out_ratio", close_out_ratio)
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"close_out_ratio: must be in [0, 1], got {ratio}")
    return n, ratio


def check_liquidation_capacity(capacity: Sequence[float] | None, ni: int) -> list[float] | None:
    """Validate a per-instrument liquidation capacity (None: no caps)."""
    if capacity is None:
        return None
    if isinstance(capacity, (str, bytes)) or not isinstance(capacity, (Sequence, np.ndarray)):
        raise TypeError(
            f"liquidation_capacity: must be a sequence of numbers, got {type(capacity).__name__}"
        )
    values = [_number(f"liquidation_capacity[{k}]", x) for k, x in enumerate(capacity)]
    if len(values) != ni:
        raise ValueError(
            f"liquidation_capacity: need one value per instrument ({ni}), got {len(values)}"
        )
    for k, x in enumerate(values):
        if not x > 0:
            raise ValueError(f"liquidation_capacity[{k}]: must be > 0 (inf for no cap), got {x}")
    return values


def check_instrument_funds(
    funds: Sequence[float | None] | None, ni: int
) -> list[float | None] | None:
    """Validate per-instrument isolated funds: each instrument's own fund's
    starting cash, or None where it shares the venue's (None: all share)."""
    if funds is None:
        return None
    if isinstance(funds, (str, bytes)) or not isinstance(funds, (Sequence, np.ndarray)):
        raise TypeError(
            f"instrument_funds: must be a sequence of numbers or None, got {type(funds).__name__}"
        )
    values = [
        None if x is None else _number(f"instrument_funds[{k}]", x) for k, x in enumerate(funds)
    ]
    if len(values) != ni:
        raise ValueError(
            f"instrument_funds: need one value (or None) per instrument ({ni}), got {len(values)}"
        )
    for k, x in enumerate(values):
        if x is not None and not (math.isfinite(x) and x >= 0):
            raise ValueError(f"instrument_funds[{k}]: must be finite and >= 0 (or None), got {x}")
    return values


def _rule_spec(rule: MarginRule) -> _core.MarginRuleSpec:
    if not isinstance(rule, MarginRule):
        raise TypeError(f"rule: must be a MarginRule, got {type(rule).__name__}")
    return margin_rule(rule)


def _column(
    name: str, value: npt.ArrayLike, n: int, dtype: npt.DTypeLike, lo: float, hi: float
) -> np.ndarray:
    arr = _asarray(name, value)
    if arr.ndim == 0:
        arr = np.full(n, arr)
    if arr.shape != (n,):
        raise ValueError(f"{name}: must be a scalar or have shape ({n},), got {arr.shape}")
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name}: must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: must be finite (no NaN or inf)")
        if np.dtype(dtype).kind in "iu" and np.any(arr != np.round(arr)):
            raise ValueError(f"{name}: must hold whole numbers")
    if n and (arr.min() < lo or arr.max() > hi):
        raise ValueError(f"{name}: must be in [{lo}, {hi}]")
    return np.ascontiguousarray(arr, dtype=dtype)


def _per_instrument(
    name: str, value: npt.ArrayLike, instrument: np.ndarray, n: int, ni: int, dtype: npt.DTypeLike
) -> np.ndarray:
    arr = _asarray(name, value)
    if arr.dtype.kind not in "iufb":
        raise TypeError(f"{name}: must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: must be finite (no NaN or inf)")
    if np.dtype(dtype).kind == "i" and arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
        raise ValueError(f"{name}: must hold whole lots")
    if np.dtype(dtype).kind == "i" and arr.size and np.max(np.abs(arr.astype(np.float64))) > 2**40:
        # Checked before the cast, which would wrap a value past int64.
        raise ValueError(f"{name}: must be within +-2^40 lots")
    if ni == 1 and arr.shape == (n,):
        return np.ascontiguousarray(arr, dtype=dtype).reshape(n, 1)
    out = np.zeros((n, ni), dtype=dtype)
    if arr.ndim == 0 or arr.shape == (n,):
        out[np.arange(n), instrument] = arr
    elif arr.shape == (n, ni):
        out[...] = arr
    else:
        raise ValueError(f"{name}: must be a scalar, shape ({n},) or ({n}, {ni}); got {arr.shape}")
    return out


class MarginEngine:
    """Accounts, margin rules, an insurance fund, and the liquidation loop."""

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
        """``insurance_fund``: the venue's fund's starting cash.
        ``instrument_funds``: per instrument, the starting cash of a fund of its
        own (None where it shares the venue's; None for the whole: every
        instrument shares it). An instrument's fund alone takes over its
        liquidations, receives its liquidation fees and decides when its book is
        auto-deleveraged (docs/margin.md, "Isolated funds").
        ``close_order``: instrument, most_liquid (by ``liquidity``, one number per
        instrument, highest first), largest_loss or pro_rata (docs/margin.md).
        ``fund_equity``: the fund covers a takeover's loss out of its equity (its
        cash plus the positions it holds at the round's marks) instead of its cash
        alone; ADL closes what it cannot cover.
        ``liquidation_capacity``: per instrument, the notional a check closes at
        most (> 0, ``inf`` for no cap; None: no caps); an account holding an
        instrument whose capacity is used up waits for the next check.
        ``liquidation_priority``: ``account`` (ascending id) or ``margin_ratio`` (the
        lowest equity over maintenance margin first).
        ``margin_call_checks``: an account under its maintenance margin is called
        and liquidated only if a check this many checks later still finds it under
        (0: at once); a check that finds it healthy answers the call. During the
        call, equity at or under ``close_out_ratio`` (0..1) times the maintenance
        margin closes it at once (docs/margin.md, "Margin calls")."""
        if isinstance(instruments, (str, bytes)) or not isinstance(instruments, Sequence):
            raise TypeError(
                f"instruments: must be a sequence of Instrument, got {type(instruments).__name__}"
            )
        instruments = list(instruments)
        if not instruments:
            raise ValueError("instruments: need at least one Instrument")
        for k, inst in enumerate(instruments):
            if not isinstance(inst, Instrument):
                raise TypeError(
                    f"instruments[{k}]: must be an Instrument, got {type(inst).__name__}"
                )
        insurance_fund = _number("insurance_fund", insurance_fund)
        if not math.isfinite(insurance_fund) or insurance_fund < 0:
            raise ValueError(f"insurance_fund: must be finite and >= 0, got {insurance_fund}")
        if not isinstance(adl, (bool, np.bool_)):
            # "no" is truthy: only a real bool turns auto-deleveraging on or off.
            raise TypeError(f"adl: must be a bool (True or False), got {type(adl).__name__}")
        if not isinstance(fund_equity, (bool, np.bool_)):
            raise TypeError(
                f"fund_equity: must be a bool (True or False), got {type(fund_equity).__name__}"
            )
        max_rounds = _integer("max_rounds", max_rounds)
        if not 1 <= max_rounds <= 65535:
            raise ValueError(f"max_rounds: must be an integer in 1..65535, got {max_rounds!r}")
        max_liquidation_notional = _number("max_liquidation_notional", max_liquidation_notional)
        if not max_liquidation_notional > 0:
            raise ValueError(
                "max_liquidation_notional: must be > 0 (inf for no cap), "
                f"got {max_liquidation_notional}"
            )
        ranks = check_close_order(close_order, liquidity, len(instruments))
        capacity = check_liquidation_capacity(liquidation_capacity, len(instruments))
        funds = check_instrument_funds(instrument_funds, len(instruments))
        if liquidation_priority not in LIQUIDATION_PRIORITIES:
            raise ValueError(
                f"liquidation_priority: must be one of {', '.join(LIQUIDATION_PRIORITIES)}; "
                f"got {liquidation_priority!r}"
            )
        calls = check_margin_calls(margin_call_checks, close_out_ratio)
        margin_call_checks, close_out_ratio = calls
        self.instrument_specs: tuple[Instrument, ...] = tuple(instruments)
        self._core = _core.MarginEngine(
            [inst.tick_value for inst in instruments],
            [_rule_spec(inst.rule) for inst in instruments],
            insurance_fund=insurance_fund,
            adl=bool(adl),
            max_rounds=max_rounds,
            max_liquidation_notional=max_liquidation_notional,
            close_order=close_order_spec(close_order),
            liquidity=ranks,
            fund_equity=bool(fund_equity),
            liquidation_capacity=capacity,
            margin_ratio_order=liquidation_priority == "margin_ratio",
            margin_call_checks=margin_call_checks,
            close_out_ratio=close_out_ratio,
            instrument_funds=funds,
        )

    # -- accounts -----------------------------------------------------------------------------
    def add_accounts(
        self,
        cash: npt.ArrayLike,
        *,
        instrument: npt.ArrayLike = 0,
        position: npt.ArrayLike = 0,
        entry_price: npt.ArrayLike = 0.0,
        mode: npt.ArrayLike = ISOLATED,
        population: npt.ArrayLike = 0,
    ) -> np.ndarray:
        """Append accounts in bulk; returns their ids (consecutive)."""
        cash_arr = _asarray("cash", cash)
        if cash_arr.ndim != 1:
            raise ValueError(f"cash: must be one-dimensional, got shape {cash_arr.shape}")
        n = cash_arr.shape[0]
        ni = self.instruments
        cash_c = _column("cash", cash_arr, n, np.float64, 0.0, math.inf)
        inst = _column("instrument", instrument, n, np.uint16, 0, ni - 1)
        mode_c = _column("mode", mode, n, np.uint8, 0, 1)
        pop = _column("population", population, n, np.uint16, 0, 65535)
        pos = _per_instrument("position", position, inst, n, ni, np.int64)
        entry = _per_instrument("entry_price", entry_price, inst, n, ni, np.float64)
        if np.any((pos != 0) & ~(entry > 0)):
            raise ValueError("entry_price: must be > 0 for every open position")
        first = self.accounts
        self._core.add_accounts(cash_c, inst, pos, entry, mode_c, pop)
        return np.arange(first, first + n, dtype=np.int64)

    def set_rule(self, instrument: int, rule: MarginRule) -> None:
        """Change an instrument's margin rule (a margin hike); every holder is re-evaluated."""
        self._check_instrument(instrument)
        self._core.set_rule(instrument, _rule_spec(rule))
        specs = list(self.instrument_specs)
        inst = specs[instrument]
        specs[instrument] = Instrument(inst.name, inst.tick_value, rule, inst.mark)
        self.instrument_specs = tuple(specs)

    def apply_trade(
        self, account: int, instrument: int, lots: int, price: float, fee: float = 0.0
    ) -> None:
        """One trade side: `account` buys (lots > 0) or sells at `price` ticks, paying `fee`."""
        self._check_instrument(instrument)
        account = _integer("account", account)
        if not 0 <= account < self.accounts:
            raise ValueError(f"account: must be in 0..{self.accounts - 1}, got {account}")
        lots = _integer("lots", lots)
        if lots == 0 or abs(lots) > 2**40:
            raise ValueError(f"lots: must be non-zero and within +-2^40, got {lots}")
        price = _number("price", price)
        if not math.isfinite(price) or price <= 0:
            raise ValueError(f"price: must be finite and > 0, got {price}")
        fee = _number("fee", fee)
        if not math.isfinite(fee):
            raise ValueError(f"fee: must be finite, got {fee}")
        self._core.apply_trade(account, instrument, lots, price, fee)

    # -- books --------------------------------------------------------------------------------
    def attach_book(self, instrument: int, book: _core.OrderBook | None) -> None:
        """Trade `instrument` through `book` (made with ``track_owners=True``).

        Liquidations then cancel the account's resting orders and send an IOC,
        bounded at the bankruptcy price, into the book before the insurance fund
        takes over what it could not absorb; ``check_books`` marks each round
        from the book by the instrument's mark rule. Owners in the book that are
        not accounts of this engine trade against the *outside* ledger.
        """
        self._check_instrument(instrument)
        if book is not None and not isinstance(book, _core.OrderBook):
            raise TypeError(f"book: must be a deleverage.OrderBook, got {type(book).__name__}")
        self._core.attach_book(instrument, book, mark_rule(self.instrument_specs[instrument].mark))

    def check_books(self, index_prices: npt.ArrayLike) -> np.ndarray:
        """``check`` with each round's marks taken from the attached books."""
        return self._core.check_books(self._marks(index_prices, "index_prices"))

    def book_marks(self, index_prices: npt.ArrayLike) -> np.ndarray:
        """The marks the attached books give now, by each instrument's mark rule."""
        return self._core.book_marks(self._marks(index_prices, "index_prices"))

    def apply_fills(self, instrument: int, fills: np.ndarray) -> None:
        """Apply an instrument's book fills to both sides, with maker and taker fees."""
        self._check_instrument(instrument)
        self._core.apply_fills(instrument, fills)

    @property
    def outside_cash(self) -> float:
        """Cash of book participants that are not accounts (money that left the accounts)."""
        return float(self._core.outside_cash)

    @property
    def outside_position(self) -> np.ndarray:
        return self._core.outside_position

    # -- checks -------------------------------------------------------------------------------
    def check(self, marks: npt.ArrayLike) -> np.ndarray:
        """Mark every instrument and liquidate until calm; returns this check's log records."""
        return self._core.check(self._marks(marks))

    def check_path(self, marks: npt.ArrayLike) -> np.ndarray:
        """``check`` at every row of a (steps, instruments) path, in one call without the GIL."""
        arr = _asarray("marks", marks)
        if arr.ndim != 2 or arr.shape[1] != self.instruments:
            raise ValueError(f"marks: must have shape (steps, {self.instruments}), got {arr.shape}")
        if arr.dtype.kind not in "iu":
            raise TypeError(f"marks: must be integer ticks, got dtype {arr.dtype}")
        return self._core.check_path(np.ascontiguousarray(arr, dtype=np.int64))

    def count_liquidatable(self, marks: npt.ArrayLike) -> int:
        """Liquidatable accounts right now, by a full scan of the table (no index)."""
        return int(self._core.count_liquidatable(self._marks(marks)))

    def equity(self, marks: npt.ArrayLike) -> np.ndarray:
        return self._core.equity(self._marks(marks))

    def maintenance_margin(self, marks: npt.ArrayLike) -> np.ndarray:
        return self._core.maintenance_margin(self._marks(marks))

    def liquidation_prices(self) -> np.ndarray:
        """Closed-form liquidation price of each account with one open position (else NaN)."""
        return self._core.liquidation_prices()

    def conserved(self) -> float:
        """sum(cash - cost) of accounts, fund and outside + fees - bad debt: a constant."""
        return self._core.conserved()

    # -- state --------------------------------------------------------------------------------
    @property
    def accounts(self) -> int:
        return int(self._core.accounts)

    @property
    def instruments(self) -> int:
        return int(self._core.instruments)

    @property
    def cash(self) -> np.ndarray:
        return self._core.cash

    @property
    def position(self) -> np.ndarray:
        return self._core.position

    @property
    def cost(self) -> np.ndarray:
        return self._core.cost

    @property
    def realized_pnl(self) -> np.ndarray:
        return self._core.realized_pnl

    @property
    def fees_paid(self) -> np.ndarray:
        return self._core.fees_paid

    @property
    def status(self) -> np.ndarray:
        return self._core.status

    @property
    def mode(self) -> np.ndarray:
        return self._core.mode

    @property
    def population(self) -> np.ndarray:
        return self._core.population

    @property
    def instrument(self) -> np.ndarray:
        return self._core.instrument

    @property
    def insurance_fund(self) -> float:
        """Every fund's cash together (the venue's and the instruments' own)."""
        return float(self._core.insurance_fund)

    @property
    def fund_cash(self) -> np.ndarray:
        """Per instrument, the cash of the fund that serves it."""
        return np.array(self._core.fund_cash, dtype=np.float64)

    @property
    def fund_position(self) -> np.ndarray:
        return self._core.fund_position

    @property
    def fund_cost(self) -> np.ndarray:
        return self._core.fund_cost

    @property
    def fees_collected(self) -> float:
        return float(self._core.fees_collected)

    @property
    def bad_debt(self) -> float:
        return float(self._core.bad_debt)

    @property
    def bad_debt_by_instrument(self) -> np.ndarray:
        """The bad debt of the closes of each instrument's positions (they sum to bad_debt)."""
        return self._core.bad_debt_by_instrument

    @property
    def bankrupt_accounts(self) -> int:
        """Accounts whose equity was below zero when a liquidation reached them."""
        return int(self._core.bankrupt_accounts)

    @property
    def money_moved(self) -> float:
        """Gross money that changed hands in trades (lots x price x tick value, every side):
        the scale conservation is measured against."""
        return float(self._core.money_moved)

    @property
    def log(self) -> np.ndarray:
        """Every liquidation record so far (LIQUIDATION_DTYPE)."""
        return self._core.log

    @property
    def memory_bytes(self) -> int:
        return int(self._core.memory_bytes)

    @property
    def close_order(self) -> str:
        return str(self._core.close_order.name)

    @property
    def liquidity(self) -> list[float]:
        return list(self._core.liquidity)

    @property
    def cross_stats(self) -> dict[str, int]:
        """Work of the cross-margin detector so far: ``accounts`` tracked (several open
        positions), ``calls`` (one per round), ``visited`` thresholds, ``candidates``
        revalued exactly, ``rebases`` and ``rebase_revalued`` (accounts revalued by them)."""
        return dict(self._core.cross_stats)

    @property
    def cross_thresholds(self) -> np.ndarray:
        """Per account, the relative mark move its bound allows from the detector's epoch
        (float32, rounded down); meaningful for accounts with several open positions."""
        return self._core.cross_thresholds

    def _check_instrument(self, instrument: int) -> None:
        if isinstance(instrument, (bool, np.bool_)) or not isinstance(
            instrument, (int, np.integer)
        ):
            raise TypeError(f"instrument: must be an int, got {type(instrument).__name__}")
        if not 0 <= instrument < self.instruments:
            raise ValueError(
                f"instrument: must be in 0..{self.instruments - 1}, got {instrument!r}"
            )

    def _marks(self, marks: npt.ArrayLike, name: str = "marks") -> np.ndarray:
        arr = _asarray(name, marks)
        if arr.shape != (self.instruments,):
            raise ValueError(
                f"{name}: need one price per instrument, shape ({self.instruments},); "
                f"got {arr.shape}"
            )
        if arr.dtype.kind not in "iuf" or (arr.dtype.kind == "f" and not np.all(np.isfinite(arr))):
            raise ValueError(f"{name}: must be finite integer ticks")
        if np.any(arr != np.round(arr)):
            raise ValueError(f"{name}: must be whole ticks")
        if np.any(arr < 1) or np.any(arr > 2**62):
            raise ValueError(f"{name}: must be in 1..{2**62} ticks, got {arr.tolist()}")
        return np.ascontiguousarray(arr, dtype=np.int64)
