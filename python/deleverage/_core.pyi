"""Typed interface of the compiled engine ``deleverage._core``."""

from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

MESSAGE_DTYPE: Final[np.dtype[np.void]]
RESULT_DTYPE: Final[np.dtype[np.void]]
FILL_DTYPE: Final[np.dtype[np.void]]
DEPTH_DTYPE: Final[np.dtype[np.void]]
ORDER_DTYPE: Final[np.dtype[np.void]]
MAX_QTY: Final[int]
MAX_PRICE: Final[int]
DEFAULT_MAX_LADDER_LEVELS: Final[int]
MAX_LADDER_LEVELS_LIMIT: Final[int]
CODES: Final[dict[str, dict[str, int]]]
LIQUIDATION_DTYPE: Final[np.dtype[np.void]]
STEP_DTYPE: Final[np.dtype[np.void]]
TRADE_DTYPE: Final[np.dtype[np.void]]
MIN_DT: Final[float]
MAX_DT: Final[float]
FUND_OWNER: Final[int]

Records = npt.NDArray[np.void]

def decide_batch(
    population: dict[str, Any],
    market: dict[str, float],
    signal: float,
    equity: F64,
    cash: F64,
    param: F64,
    current: npt.ArrayLike,
    u0: F64,
    u1: F64,
    u2: F64,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def dispatched_isa() -> str: ...

class Execution:
    @property
    def order_id(self) -> int: ...
    @property
    def filled(self) -> int: ...
    @property
    def resting(self) -> int: ...
    @property
    def cancelled(self) -> int: ...
    @property
    def fills(self) -> Records: ...

class OrderView:
    @property
    def order_id(self) -> int: ...
    @property
    def price(self) -> int: ...
    @property
    def qty(self) -> int: ...
    @property
    def owner(self) -> int: ...
    @property
    def side(self) -> int: ...

class OrderBook:
    def __init__(
        self, stp: int = 0, max_ladder_levels: int = ..., track_owners: bool = False
    ) -> None: ...
    def execute(
        self, messages: Records, results: Records | None = None
    ) -> tuple[Records, Records]: ...
    def cancel_owner(self, owner: int) -> int: ...
    @property
    def last_price(self) -> int | None: ...
    @property
    def tracks_owners(self) -> bool: ...
    def limit(self, side: int, price: int, qty: int, owner: int = 0) -> Execution: ...
    def market(self, side: int, qty: int, owner: int = 0) -> Execution: ...
    def ioc(self, side: int, price: int, qty: int, owner: int = 0) -> Execution: ...
    def fok(self, side: int, price: int, qty: int, owner: int = 0) -> Execution: ...
    def cancel(self, order_id: int) -> Execution: ...
    def reduce(self, order_id: int, qty: int) -> Execution: ...
    def replace(self, order_id: int, price: int, qty: int) -> Execution: ...
    @property
    def best_bid(self) -> int | None: ...
    @property
    def best_ask(self) -> int | None: ...
    @property
    def spread(self) -> int | None: ...
    def depth(self, levels: int) -> tuple[Records, Records]: ...
    def quantity_to(self, side: int, price: int) -> int: ...
    def order(self, order_id: int) -> OrderView | None: ...
    def snapshot(self) -> Records: ...
    @property
    def resting_orders(self) -> int: ...
    @property
    def memory_bytes(self) -> int: ...
    @property
    def stp(self) -> int: ...
    @property
    def max_ladder_levels(self) -> int: ...
    def __len__(self) -> int: ...

def generate_message_stream(
    messages: int,
    seed: int = 1,
    start_price: int = 1_000_000,
    half_width: int = 50,
    limit_share: float = 0.6,
    cancel_share: float = 0.3,
    cross_share: float = 0.2,
    target_resting: int = 20_000,
    max_qty: int = 100,
    owners: int = 1000,
) -> Records: ...

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

class MarginEngine:
    def __init__(
        self,
        tick_values: list[float],
        rules: list[dict[str, object]],
        insurance_fund: float = 0.0,
        adl: bool = True,
        max_rounds: int = 64,
        max_liquidation_notional: float = ...,
        close_order: str = "instrument",
        liquidity: list[float] | None = None,
    ) -> None: ...
    def add_accounts(
        self,
        cash: F64,
        instrument: npt.NDArray[np.uint16],
        position: I64,
        entry_price: F64,
        mode: npt.NDArray[np.uint8],
        population: npt.NDArray[np.uint16],
    ) -> None: ...
    def check(self, marks: I64) -> Records: ...
    def check_path(self, marks: I64) -> Records: ...
    def check_books(self, index_prices: I64) -> Records: ...
    def book_marks(self, index_prices: I64) -> I64: ...
    def attach_book(self, instrument: int, book: OrderBook | None, mark: str = "last") -> None: ...
    def apply_fills(self, instrument: int, fills: Records) -> None: ...
    def count_liquidatable(self, marks: I64) -> int: ...
    def set_rule(self, instrument: int, rule: dict[str, object]) -> None: ...
    def apply_trade(
        self, account: int, instrument: int, lots: int, price: float, fee: float = 0.0
    ) -> None: ...
    def equity(self, marks: I64) -> F64: ...
    def maintenance_margin(self, marks: I64) -> F64: ...
    def liquidation_prices(self) -> F64: ...
    def conserved(self) -> float: ...
    log: Records
    cash: F64
    realized_pnl: F64
    fees_paid: F64
    mode: npt.NDArray[np.uint8]
    status: npt.NDArray[np.uint8]
    population: npt.NDArray[np.uint16]
    instrument: npt.NDArray[np.uint16]
    position: I64
    cost: F64
    liquidation_trigger: F64
    insurance_fund: float
    fund_position: I64
    fund_cost: F64
    outside_cash: float
    outside_position: I64
    fees_collected: float
    bad_debt: float
    bad_debt_by_instrument: F64
    bankrupt_accounts: int
    money_moved: float
    accounts: int
    instruments: int
    checks: int
    memory_bytes: int
    close_order: str
    liquidity: list[float]
    cross_thresholds: npt.NDArray[np.float32]
    cross_stats: dict[str, int]

class PricePath:
    def __init__(self, values: F64) -> None: ...
    @property
    def values(self) -> F64: ...
    def __len__(self) -> int: ...

class DepthProfile:
    def __init__(self, *, levels: int, lots: int, spacing: float) -> None: ...
    @property
    def levels(self) -> int: ...
    @property
    def lots(self) -> int: ...
    @property
    def spacing(self) -> float: ...

class StressShock:
    def __init__(self, *, instrument: int, multipliers: list[float]) -> None: ...
    @property
    def instrument(self) -> int: ...
    @property
    def multipliers(self) -> list[float]: ...

STRESS_DTYPE: Final[np.dtype[np.void]]

def stress_grid(
    *,
    tick_values: list[float],
    rules: list[dict[str, Any]],
    insurance_fund: float,
    adl: bool,
    close_order: str,
    liquidity: list[float],
    liquidate_at_market: bool,
    max_liquidation_notional: float,
    start_ticks: list[int],
    mark_rules: list[str],
    depth: list[DepthProfile] | None,
    cash: F64,
    instrument: npt.NDArray[np.uint16],
    position: I64,
    entry: F64,
    mode: npt.NDArray[np.uint8],
    shocks: list[StressShock],
    threads: int,
    keep_logs: bool,
) -> tuple[Records, list[Records] | None]: ...

class Simulation:
    def __init__(
        self,
        spec: dict[str, object],
        tick_values: list[float],
        rules: list[dict[str, object]],
        insurance_fund: float,
        adl: bool,
        max_liquidation_notional: float,
        cash: F64,
        instrument: npt.NDArray[np.uint16],
        mode: npt.NDArray[np.uint8],
        population: npt.NDArray[np.uint16],
        param: F64,
    ) -> None: ...
    def run(self, progress: Callable[[int], None] | None = None) -> bool: ...
    def open_positions(self, first: int, position: I64, entry: F64) -> None: ...
    def schedule_forced_order(self, step: int, instrument: int, lots: int) -> None: ...
    def follow_paths(
        self, instrument: int, *, fair: PricePath | None = None, index: PricePath | None = None
    ) -> None: ...
    def conserved(self) -> float: ...
    def conservation_error(self) -> float: ...
    records: Records
    notional: F64
    equity: F64
    sample_steps: npt.NDArray[np.uint64]
    trigger_steps: I64
    trades: Records
    liquidations: Records
    cash: F64
    position: I64
    cost: F64
    status: npt.NDArray[np.uint8]
    marks: I64
    bad_debt: float
    bad_debt_by_instrument: F64
    bankrupt_accounts: int
    insurance_fund: float
    steps_done: int
    messages: int
    decisions: int
    memory_bytes: int
