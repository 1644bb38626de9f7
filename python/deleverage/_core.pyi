"""Typed interface of the compiled engine ``deleverage._core``."""

import enum
from collections.abc import Callable
from typing import ClassVar, Final, SupportsIndex

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
MAX_THREADS: Final[int]
STEP_PHASES: Final[tuple[str, ...]]
PARALLEL_GATHER: Final[int]
LIMITS: Final[dict[str, tuple[float, float, bool, bool]]]

Records = npt.NDArray[np.void]

class Strategy(enum.Enum):
    speculator = 0
    noise = 1
    value = 2
    market_maker = 3
    holder = 4
    allocator = 5
    hold = 6
    @property
    def name(self) -> str: ...

class ShockKind(enum.Enum):
    jump = 0
    drift = 1
    volatility = 2
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class MarkRule(enum.Enum):
    last = 0
    mid = 1
    median = 2
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class Maintenance(enum.Enum):
    fixed = 0
    percent = 1
    tiered = 2
    closeout = 3
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class MarginBasis(enum.Enum):
    mark = 0
    entry = 1
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class CloseOrder(enum.Enum):
    instrument = 0
    most_liquid = 1
    largest_loss = 2
    pro_rata = 3
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...

class MarginRuleSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        initial_rate: float = ...,
        maintenance: Maintenance = ...,
        maintenance_rate: float = ...,
        amount_per_lot: float = ...,
        tiers: list[tuple[float, float]] = ...,
        closeout_share: float = ...,
        basis: MarginBasis = ...,
        liquidation_fee_rate: float = ...,
        negative_balance_protection: bool = ...,
        partial_liquidation: bool = ...,
        maker_fee_rate: float = ...,
        taker_fee_rate: float = ...,
    ) -> None: ...
    @property
    def initial_rate(self) -> float: ...
    @property
    def maintenance(self) -> Maintenance: ...
    @property
    def maintenance_rate(self) -> float: ...
    @property
    def amount_per_lot(self) -> float: ...
    @property
    def tiers(self) -> list[tuple[float, float]]: ...
    @property
    def closeout_share(self) -> float: ...
    @property
    def basis(self) -> MarginBasis: ...
    @property
    def liquidation_fee_rate(self) -> float: ...
    @property
    def negative_balance_protection(self) -> bool: ...
    @property
    def partial_liquidation(self) -> bool: ...
    @property
    def maker_fee_rate(self) -> float: ...
    @property
    def taker_fee_rate(self) -> float: ...

class EngineSettings:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        insurance_fund: float = ...,
        instrument_funds: list[float | None] = ...,
        adl: bool = ...,
        max_rounds: int = ...,
        max_liquidation_notional: float = ...,
        close_order: CloseOrder = ...,
        liquidity: list[float] = ...,
        liquidate_at_market: bool = ...,
        fund_equity: bool = ...,
        liquidation_capacity: list[float] = ...,
        margin_ratio_order: bool = ...,
        margin_call_checks: int = ...,
        close_out_ratio: float = ...,
    ) -> None: ...
    @property
    def insurance_fund(self) -> float: ...
    @property
    def instrument_funds(self) -> list[float | None]: ...
    @property
    def adl(self) -> bool: ...
    @property
    def max_rounds(self) -> int: ...
    @property
    def max_liquidation_notional(self) -> float: ...
    @property
    def close_order(self) -> CloseOrder: ...
    @property
    def liquidity(self) -> list[float]: ...
    @property
    def liquidate_at_market(self) -> bool: ...
    @property
    def fund_equity(self) -> bool: ...
    @property
    def liquidation_capacity(self) -> list[float]: ...
    @property
    def margin_ratio_order(self) -> bool: ...
    @property
    def margin_call_checks(self) -> int: ...
    @property
    def close_out_ratio(self) -> float: ...

class SpeculatorSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        fast_alpha: float = ...,
        slow_alpha: float = ...,
        threshold: float = ...,
        max_leverage: float = ...,
        short_fraction: float = ...,
        trade_fraction: float = ...,
        vol_target: float = ...,
        vol_alpha: float = ...,
    ) -> None: ...
    @property
    def fast_alpha(self) -> float: ...
    @property
    def slow_alpha(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def max_leverage(self) -> float: ...
    @property
    def short_fraction(self) -> float: ...
    @property
    def trade_fraction(self) -> float: ...
    @property
    def vol_target(self) -> float: ...
    @property
    def vol_alpha(self) -> float: ...

class NoiseSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        limit_share: float = ...,
        limit_offset_ticks: int = ...,
        sentiment_persistence: float = ...,
        sentiment_volatility: float = ...,
        sentiment_position: float = ...,
    ) -> None: ...
    @property
    def limit_share(self) -> float: ...
    @property
    def limit_offset_ticks(self) -> int: ...
    @property
    def sentiment_persistence(self) -> float: ...
    @property
    def sentiment_volatility(self) -> float: ...
    @property
    def sentiment_position(self) -> float: ...

class ValueSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        capital_fraction: float = ...,
        aggressiveness: float = ...,
        vol_reference: float = ...,
        vol_exit: float = ...,
        leverage: float = ...,
        reach: float = ...,
        band: float = ...,
        schedule: float = ...,
        hold_when_out: bool = ...,
        hold_to_fair: bool = ...,
        hold_through_storm: bool = ...,
        calm_steps: int = ...,
        side: int = ...,
        vol_alpha: float = ...,
        stress_instruments: list[int] = ...,
    ) -> None: ...
    @property
    def capital_fraction(self) -> float: ...
    @property
    def aggressiveness(self) -> float: ...
    @property
    def vol_reference(self) -> float: ...
    @property
    def vol_exit(self) -> float: ...
    @property
    def leverage(self) -> float: ...
    @property
    def reach(self) -> float: ...
    @property
    def band(self) -> float: ...
    @property
    def schedule(self) -> float: ...
    @property
    def hold_when_out(self) -> bool: ...
    @property
    def hold_to_fair(self) -> bool: ...
    @property
    def hold_through_storm(self) -> bool: ...
    @property
    def calm_steps(self) -> int: ...
    @property
    def side(self) -> int: ...
    @property
    def vol_alpha(self) -> float: ...
    @property
    def stress_instruments(self) -> list[int]: ...

class MarketMakerSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        levels: int = ...,
        base_spread_ticks: int = ...,
        vol_spread_factor: float = ...,
        inventory_limit: int = ...,
        vol_withdraw: float = ...,
        loss_withdraw: float = ...,
        calm_steps: int = ...,
        fair_weight: float = ...,
        basis_alpha: float = ...,
        basis_out_alpha: float = ...,
        max_basis: float = ...,
        inventory_skew: float = ...,
        stress_instruments: list[int] = ...,
        var_volatility: float = ...,
        var_alpha: float = ...,
        sides: int = ...,
        offset: float = ...,
        level_spacing: float = ...,
        covers: bool = ...,
        cover_offset: float = ...,
        cover_max_volatility: float = ...,
        cover_calm_steps: int = ...,
        flow_alpha: float = ...,
        flow_depth: float = ...,
        robust_volatility: bool = ...,
    ) -> None: ...
    @property
    def levels(self) -> int: ...
    @property
    def base_spread_ticks(self) -> int: ...
    @property
    def vol_spread_factor(self) -> float: ...
    @property
    def inventory_limit(self) -> int: ...
    @property
    def vol_withdraw(self) -> float: ...
    @property
    def loss_withdraw(self) -> float: ...
    @property
    def calm_steps(self) -> int: ...
    @property
    def fair_weight(self) -> float: ...
    @property
    def basis_alpha(self) -> float: ...
    @property
    def basis_out_alpha(self) -> float: ...
    @property
    def max_basis(self) -> float: ...
    @property
    def inventory_skew(self) -> float: ...
    @property
    def stress_instruments(self) -> list[int]: ...
    @property
    def var_volatility(self) -> float: ...
    @property
    def var_alpha(self) -> float: ...
    @property
    def sides(self) -> int: ...
    @property
    def offset(self) -> float: ...
    @property
    def level_spacing(self) -> float: ...
    @property
    def covers(self) -> bool: ...
    @property
    def cover_offset(self) -> float: ...
    @property
    def cover_max_volatility(self) -> float: ...
    @property
    def cover_calm_steps(self) -> int: ...
    @property
    def flow_alpha(self) -> float: ...
    @property
    def flow_depth(self) -> float: ...
    @property
    def robust_volatility(self) -> bool: ...

class HolderSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        slow_alpha: float = ...,
        dip: float = ...,
        budget_fraction: float = ...,
        anchor_fair: bool = ...,
        max_volatility: float = ...,
        leverage: float = ...,
    ) -> None: ...
    @property
    def slow_alpha(self) -> float: ...
    @property
    def dip(self) -> float: ...
    @property
    def budget_fraction(self) -> float: ...
    @property
    def anchor_fair(self) -> bool: ...
    @property
    def max_volatility(self) -> float: ...
    @property
    def leverage(self) -> float: ...

class HoldSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(self) -> None: ...

class AllocatorSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        max_leverage: float = ...,
        slow_alpha: float = ...,
        vol_target: float = ...,
        rebalance_band: float = ...,
    ) -> None: ...
    @property
    def max_leverage(self) -> float: ...
    @property
    def slow_alpha(self) -> float: ...
    @property
    def vol_target(self) -> float: ...
    @property
    def rebalance_band(self) -> float: ...

class PopulationSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        first: int = ...,
        count: int = ...,
        instrument: int = ...,
        instruments: list[int] = ...,
        budget_shares: list[float] = ...,
        activity: float = ...,
        params: StrategySpec = ...,
        open_at_target: bool = ...,
    ) -> None: ...
    @property
    def first(self) -> int: ...
    @property
    def count(self) -> int: ...
    @property
    def instrument(self) -> int: ...
    @property
    def instruments(self) -> list[int]: ...
    @property
    def budget_shares(self) -> list[float]: ...
    @property
    def activity(self) -> float: ...
    @property
    def params(self) -> StrategySpec: ...
    @property
    def open_at_target(self) -> bool: ...
    @property
    def strategy(self) -> Strategy: ...

class ShockSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(self, *, step: int = ..., kind: ShockKind = ..., value: float = ...) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def kind(self) -> ShockKind: ...
    @property
    def value(self) -> float: ...

class WaypointSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(self, *, step: int = ..., price: float = ...) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def price(self) -> float: ...

class FundamentalSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        start: float = ...,
        drift: float = ...,
        volatility: float = ...,
        mean_reverting: bool = ...,
        reversion: float = ...,
        anchor: float = ...,
        vol_of_vol: float = ...,
        vol_half_life: float = ...,
        news_share: float = ...,
        news_rate: float = ...,
        shocks: list[ShockSpec] = ...,
        waypoints: list[WaypointSpec] = ...,
    ) -> None: ...
    @property
    def start(self) -> float: ...
    @property
    def drift(self) -> float: ...
    @property
    def volatility(self) -> float: ...
    @property
    def mean_reverting(self) -> bool: ...
    @property
    def reversion(self) -> float: ...
    @property
    def anchor(self) -> float: ...
    @property
    def vol_of_vol(self) -> float: ...
    @property
    def vol_half_life(self) -> float: ...
    @property
    def news_share(self) -> float: ...
    @property
    def news_rate(self) -> float: ...
    @property
    def shocks(self) -> list[ShockSpec]: ...
    @property
    def waypoints(self) -> list[WaypointSpec]: ...

class MarginChangeSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self, *, step: int = ..., instrument: int = ..., rule: MarginRuleSpec = ...
    ) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def instrument(self) -> int: ...
    @property
    def rule(self) -> MarginRuleSpec: ...

class PopulationChangeSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        step: int = ...,
        population: int = ...,
        activity: float = ...,
        params: StrategySpec = ...,
    ) -> None: ...
    @property
    def step(self) -> int: ...
    @property
    def population(self) -> int: ...
    @property
    def activity(self) -> float: ...
    @property
    def params(self) -> StrategySpec: ...

class VolatilityTriggerSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        instrument: int = ...,
        window_steps: float = ...,
        threshold: float = ...,
        rule: MarginRuleSpec = ...,
    ) -> None: ...
    @property
    def instrument(self) -> int: ...
    @property
    def window_steps(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def rule(self) -> MarginRuleSpec: ...

class SimulationSpec:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        dt: float = ...,
        steps: int = ...,
        seed: int = ...,
        leverage_every: int = ...,
        volatility_window: float = ...,
        fundamentals: list[FundamentalSpec] = ...,
        tick_size: list[float] = ...,
        start_ticks: list[int] = ...,
        mark_rules: list[MarkRule] = ...,
        populations: list[PopulationSpec] = ...,
        margin_changes: list[MarginChangeSpec] = ...,
        population_changes: list[PopulationChangeSpec] = ...,
        triggers: list[VolatilityTriggerSpec] = ...,
        trade_log: bool = ...,
        count_resting_fills: bool = ...,
        requote_together: bool = ...,
        fund_unwind_share: float = ...,
        fund_unwind_band: float = ...,
        loadings: list[float] = ...,
    ) -> None: ...
    @property
    def dt(self) -> float: ...
    @property
    def steps(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def leverage_every(self) -> int: ...
    @property
    def volatility_window(self) -> float: ...
    @property
    def fundamentals(self) -> list[FundamentalSpec]: ...
    @property
    def tick_size(self) -> list[float]: ...
    @property
    def start_ticks(self) -> list[int]: ...
    @property
    def mark_rules(self) -> list[MarkRule]: ...
    @property
    def populations(self) -> list[PopulationSpec]: ...
    @property
    def margin_changes(self) -> list[MarginChangeSpec]: ...
    @property
    def population_changes(self) -> list[PopulationChangeSpec]: ...
    @property
    def triggers(self) -> list[VolatilityTriggerSpec]: ...
    @property
    def trade_log(self) -> bool: ...
    @property
    def count_resting_fills(self) -> bool: ...
    @property
    def requote_together(self) -> bool: ...
    @property
    def fund_unwind_share(self) -> float: ...
    @property
    def fund_unwind_band(self) -> float: ...
    @property
    def loadings(self) -> list[float]: ...

class MarketView:
    fields: ClassVar[tuple[str, ...]]
    def __init__(
        self,
        *,
        last: float = ...,
        reference: float = ...,
        mid: float = ...,
        spread: float = ...,
        fair: float = ...,
        volatility: float = ...,
        step_sigma: float = ...,
        tick_value: float = ...,
        initial_rate: float = ...,
    ) -> None: ...
    @property
    def last(self) -> float: ...
    @property
    def reference(self) -> float: ...
    @property
    def mid(self) -> float: ...
    @property
    def spread(self) -> float: ...
    @property
    def fair(self) -> float: ...
    @property
    def volatility(self) -> float: ...
    @property
    def step_sigma(self) -> float: ...
    @property
    def tick_value(self) -> float: ...
    @property
    def initial_rate(self) -> float: ...

StrategySpec = (
    SpeculatorSpec | NoiseSpec | ValueSpec | MarketMakerSpec | HolderSpec | AllocatorSpec | HoldSpec
)

def first_difference(a: SimulationSpec, b: SimulationSpec) -> int: ...
def shuffle_sort(keys: npt.ArrayLike) -> npt.NDArray[np.uint64]: ...
def decide_batch(
    population: PopulationSpec,
    market: MarketView,
    signal: float,
    equity: F64,
    cash: F64,
    param: F64,
    current: npt.ArrayLike,
    u0: F64,
    u1: F64,
    u2: F64,
    *,
    account: npt.ArrayLike | None = ...,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def maker_quotes(
    maker: MarketMakerSpec,
    market: MarketView,
    inventory: int,
    size: int,
    volatility: float,
    calm: int = ...,
) -> list[tuple[int, int, int]]: ...
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
        rules: list[MarginRuleSpec],
        insurance_fund: float = 0.0,
        adl: bool = True,
        max_rounds: int = 64,
        max_liquidation_notional: float = ...,
        close_order: CloseOrder = ...,
        liquidity: list[float] | None = None,
        fund_equity: bool = False,
        liquidation_capacity: list[float] | None = None,
        margin_ratio_order: bool = False,
        margin_call_checks: int = 0,
        close_out_ratio: float = 0.0,
        instrument_funds: list[float | None] | None = None,
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
    def attach_book(
        self, instrument: int, book: OrderBook | None, mark: MarkRule = ...
    ) -> None: ...
    def apply_fills(self, instrument: int, fills: Records) -> None: ...
    def count_liquidatable(self, marks: I64) -> int: ...
    def set_rule(self, instrument: int, rule: MarginRuleSpec) -> None: ...
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
    fund_cash: list[float]
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
    close_order: CloseOrder
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
    rules: list[MarginRuleSpec],
    settings: EngineSettings,
    start_ticks: list[int],
    mark_rules: list[MarkRule],
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
        spec: SimulationSpec,
        settings: EngineSettings,
        tick_values: list[float],
        rules: list[MarginRuleSpec],
        *,
        cash: F64,
        instrument: npt.NDArray[np.uint16],
        mode: npt.NDArray[np.uint8],
        population: npt.NDArray[np.uint16],
        param: F64,
    ) -> None: ...
    def run(
        self,
        progress: Callable[[int], None] | None = None,
        *,
        threads: int = 1,
        time_phases: bool = False,
        until: SupportsIndex | None = None,
    ) -> bool: ...
    def fork(self, future: SimulationSpec) -> Simulation: ...
    def open_positions(
        self, first: int, position: I64, entry: F64, *, more: bool = False
    ) -> None: ...
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
    phase_seconds: dict[str, float]
