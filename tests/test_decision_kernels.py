"""Each strategy's batch decision kernel (the loops the simulation runs, in
whichever version the CPU dispatches to) against a plain per-account Python
model of the documented rules, over random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import _core

FINITE = {"allow_nan": False, "allow_infinity": False}


def _llround(x: float) -> int:
    """C's llround (half away from zero)."""
    r = math.floor(abs(x) + 0.5)
    return int(math.copysign(r, x))


def _speculator(p: dict, m: dict, momentum: float, equity: float, leverage: float, current: int):
    direction = 1.0 if momentum > p["threshold"] else (-1.0 if momentum < -p["threshold"] else 0.0)
    if direction == 0.0 or not equity > 0.0:
        return current, 0
    cap = min(p["max_leverage"], 1.0 / m["initial_rate"])
    vt = p.get("vol_target", 0.0)
    risk = vt / m["volatility"] if vt > 0.0 and m["volatility"] > vt else 1.0
    scale = (p.get("short_fraction", 1.0) if direction < 0.0 else 1.0) * risk
    lots = math.floor(equity * (min(leverage, cap) * scale) / (m["last"] * m["tick_value"]))
    full = int(direction * lots)
    share = p.get("trade_fraction", 1.0)
    if share >= 1.0:
        return full, 0
    # A share of the gap, at least a lot, never past the full position.
    gap = full - current
    step = math.ceil(abs(gap) * share)
    return current + (step if gap > 0 else -step), 0


def _allocator(p: dict, m: dict, volatility: float, equity: float, leverage: float, current: int):
    cap = min(p["max_leverage"], 1.0 / m["initial_rate"])
    vt = p["vol_target"]
    scale = vt / volatility if vt > 0.0 and volatility > vt else 1.0
    lots = math.floor(equity * (min(leverage, cap) * scale) / (m["last"] * m["tick_value"]))
    act = equity > 0.0 and abs(lots - current) > p["rebalance_band"] * max(lots, 1.0)
    return (lots if act else current), 0


def _schedule_point(account: int) -> float:
    """An account's fixed place on its population's schedule, in [-1, 1)."""
    h = (account * 0x9E3779B97F4A7C15) % 2**64
    return 2.0 * (h >> 11) / 2.0**53 - 1.0


def _value(
    p: dict,
    m: dict,
    equity: float,
    current: int = 0,
    settling: bool = False,
    stormed: bool = False,
    account: int = 0,
):
    reach = p.get("reach", 1.0)
    towards = m["fair"] if reach == 1.0 else m["last"] + reach * (m["fair"] - m["last"])
    limit = max(1, _llround(towards))
    out = settling or m["volatility"] >= p["vol_exit"]

    def wanted_at(price: float, hold: bool) -> int:
        """The position the rule wants were the price `price`."""
        mispricing = (m["fair"] - price) / price
        if not hold and p.get("hold_when_out", False) and out:
            wanted = current
        elif not hold:
            wanted = 0
        else:
            # Only the mispricing beyond their costs' band is traded.
            beyond = math.copysign(max(abs(mispricing) - p.get("band", 0.0), 0.0), mispricing)
            conviction = min(max(p["aggressiveness"] * beyond, -1.0), 1.0)
            ratio = m["volatility"] / p["vol_reference"]
            risk = 1.0 / (1.0 + ratio * ratio)
            leverage = min(p["leverage"], 1.0 / m["initial_rate"])
            notional = p["capital_fraction"] * equity * leverage * conviction * risk
            wanted = int(notional / (price * m["tick_value"]))
        # One side only (1 long, 2 short): the other side's position is never taken.
        side = p.get("side", 0)
        if side == 1:
            wanted = max(wanted, 0)
        elif side == 2:
            wanted = min(wanted, 0)
        # Held to convergence: no trimming while the price is on the position's side of fair.
        converging = (current > 0 and mispricing > 0 and wanted < current) or (
            current < 0 and mispricing < 0 and wanted > current
        )
        to_fair = p.get("hold_to_fair", False) or (p.get("hold_through_storm", False) and stormed)
        return current if to_fair and converging else wanted

    hold = not out and equity > 0.0
    width = p.get("schedule", 0.0)
    if width > 0.0 and hold:
        # Its own point of the demand schedule: an order that would wait there
        # (a sale above the last price, a purchase below it) is sent there.
        s = _schedule_point(account)
        at = max(1, _llround(m["last"] * (1.0 + s * width)))
        there = wanted_at(float(at), True)
        if (s > 0.0 and there < current) or (s < 0.0 and there > current):
            return there, at
    return wanted_at(m["last"], hold), limit


def _holder(p: dict, m: dict, slow: float, equity: float, cash: float, current: int):
    anchor = m["fair"] if p.get("anchor_fair", False) else slow
    calm = p.get("max_volatility", 0.0) <= 0.0 or m["volatility"] <= p["max_volatility"]
    # A share of what their cash carries at their leverage, up to a gross
    # position of leverage x equity.
    leverage = min(p.get("leverage", 1.0), 1.0 / m["initial_rate"])
    unit = m["last"] * m["tick_value"]
    room = leverage * equity - abs(current) * unit
    spend = min(p["budget_fraction"] * (leverage * cash), room)
    if calm and m["last"] <= anchor * (1.0 - p["dip"]) and spend > 0.0:
        return current + math.floor(spend / unit), 0
    return current, 0


def _noise(
    p: dict, m: dict, mood: float, equity: float, mean: float, current: int, u: tuple[float, ...]
):
    position = p.get("sentiment_position", 0.0)
    if position > 0.0:
        # The mood sets a holding: lean toward it, two-sided beyond it.
        lean = min(0.5, max(-0.5, (position * mood - current) / (2.0 * mean)))
        buy = 0.5 + lean
    else:
        buy = 1.0 / (1.0 + math.exp(-2.0 * mood))
    sign = 1 if u[0] < buy else -1
    size = max(1, math.floor(2.0 * mean * u[1] + 0.5))
    after = current + sign * size
    unit = m["last"] * m["tick_value"]
    covered = abs(after) * unit <= max(0.0, equity) or abs(after) <= abs(current)
    offset = 1 + math.floor(u[2] / max(p["limit_share"], 1e-12) * max(p["limit_offset_ticks"], 1))
    limit = max(1, _llround(m["mid"]) - sign * offset)
    return (after if covered else current), (limit if u[2] < p["limit_share"] else 0)


def _market(**changes: float) -> dict[str, float]:
    m = {
        "last": 20_000.0,
        "reference": 20_000.0,
        "mid": 20_000.5,
        "spread": 1.0,
        "fair": 19_800.0,
        "volatility": 0.3,
        "step_sigma": 1e-4,
        "tick_value": 0.1,
        "initial_rate": 0.05,
    }
    m.update(changes)
    return m


SPECS = {
    "speculator": _core.SpeculatorSpec,
    "noise": _core.NoiseSpec,
    "value": _core.ValueSpec,
    "market_maker": _core.MarketMakerSpec,
    "holder": _core.HolderSpec,
    "allocator": _core.AllocatorSpec,
}


def _spec(strategy: str, **params: float | int) -> _core.PopulationSpec:
    return _core.PopulationSpec(
        first=0, count=1, instrument=0, activity=0.5, params=SPECS[strategy](**params)
    )


def _decide(spec: _core.PopulationSpec, m: dict[str, float], *args, **kwargs):
    """The kernel of the spec's strategy, on the market `m` (the oracle's dict)."""
    return _core.decide_batch(spec, _core.MarketView(**m), *args, **kwargs)


accounts = st.integers(1, 40)
prices = st.floats(100.0, 1e6, **FINITE)
equities = st.floats(-1e5, 1e7, **FINITE)


@settings(max_examples=60, deadline=None)
@given(
    n=accounts,
    seed=st.integers(0, 2**32 - 1),
    last=prices,
    momentum=st.floats(-0.05, 0.05, **FINITE),
    threshold=st.floats(0.0, 0.02, **FINITE),
    max_leverage=st.floats(1.0, 100.0, **FINITE),
    short_fraction=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, **FINITE)),
    trade_fraction=st.one_of(st.just(1.0), st.floats(1e-6, 1.0, **FINITE)),
    volatility=st.floats(0.0, 5.0, **FINITE),
    vol_target=st.one_of(st.just(0.0), st.floats(0.01, 2.0, **FINITE)),
)
def test_speculators(
    n,
    seed,
    last,
    momentum,
    threshold,
    max_leverage,
    short_fraction,
    trade_fraction,
    volatility,
    vol_target,
) -> None:
    rng = np.random.default_rng(seed)
    p = {
        "threshold": threshold,
        "max_leverage": max_leverage,
        "short_fraction": short_fraction,
        "trade_fraction": trade_fraction,
        "vol_target": vol_target,
    }
    m = _market(last=last, volatility=volatility)
    equity = rng.uniform(-1e4, 1e6, n)
    leverage = rng.uniform(0.5, 60.0, n)
    current = rng.integers(-500, 500, n)
    target, price = _decide(
        _spec("speculator", **p), m, momentum, equity, np.zeros(n), leverage, current,
        np.zeros(0), np.zeros(0), np.zeros(0),
    )  # fmt: skip
    want = [_speculator(p, m, momentum, equity[k], leverage[k], int(current[k])) for k in range(n)]
    assert target.tolist() == [w[0] for w in want]
    assert price.tolist() == [w[1] for w in want]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    momentum=st.sampled_from([0.02, -0.02]),
    trade_fraction=st.floats(0.01, 1.0, **FINITE),
)
def test_speculators_work_an_order_to_its_end(seed, momentum, trade_fraction) -> None:
    """Decision after decision at fixed prices, a speculator trading a share of
    its gap moves toward its full position without passing it, and closes the
    gap within the decisions the geometric shrinking allows."""
    rng = np.random.default_rng(seed)
    n = 20
    p = {"threshold": 0.005, "max_leverage": 20.0, "trade_fraction": trade_fraction}
    m = _market(last=2_000.0)
    equity = rng.uniform(1e3, 1e6, n)
    leverage = rng.uniform(1.0, 20.0, n)
    spec = _spec("speculator", **p)
    full, _ = _decide(
        _spec("speculator", threshold=0.005, max_leverage=20.0), m, momentum, equity, np.zeros(n),
        leverage, np.zeros(n, dtype=np.int64), np.zeros(0), np.zeros(0), np.zeros(0),
    )  # fmt: skip
    held = rng.integers(-20_000, 20_000, n)
    gap0 = np.abs(full - held)
    # Each decision leaves at most (1 - share) of the gap: below one lot after `bound`.
    shrink = -math.log1p(-min(trade_fraction, 0.999999))
    bound = math.ceil(math.log(max(gap0.max(), 1)) / shrink)
    for _ in range(bound + 1):
        target, _ = _decide(
            spec, m, momentum, equity, np.zeros(n), leverage, held,
            np.zeros(0), np.zeros(0), np.zeros(0),
        )  # fmt: skip
        before, after = np.abs(full - held), np.abs(full - target)
        assert np.all(np.sign(full - target) * np.sign(full - held) >= 0)  # never past it
        assert np.all((after < before) | (before == 0))  # every open gap shrinks
        held = target
    assert held.tolist() == full.tolist()


@settings(max_examples=60, deadline=None)
@given(
    n=accounts,
    seed=st.integers(0, 2**32 - 1),
    last=prices,
    volatility=st.floats(0.0, 5.0, **FINITE),
    vol_target=st.one_of(st.just(0.0), st.floats(0.01, 3.0, **FINITE)),
    max_leverage=st.floats(1.0, 100.0, **FINITE),
    band=st.one_of(st.just(0.0), st.floats(0.0, 1.0, **FINITE)),
)
def test_allocators(n, seed, last, volatility, vol_target, max_leverage, band) -> None:
    rng = np.random.default_rng(seed)
    p = {"max_leverage": max_leverage, "vol_target": vol_target, "rebalance_band": band}
    m = _market(last=last)
    equity = rng.uniform(-1e4, 1e6, n)
    leverage = rng.uniform(0.5, 60.0, n)
    current = rng.integers(-50, 5_000, n)
    target, price = _decide(
        _spec("allocator", **p), m, volatility, equity, np.zeros(n), leverage, current,
        np.zeros(0), np.zeros(0), np.zeros(0),
    )  # fmt: skip
    want = [_allocator(p, m, volatility, equity[k], leverage[k], int(current[k])) for k in range(n)]
    assert target.tolist() == [w[0] for w in want]
    assert price.tolist() == [0] * n
    # Long only, and never more than the capped leverage.
    cap = min(max_leverage, 1.0 / m["initial_rate"])
    moved = target != current
    assert (target[moved] >= 0).all()
    assert (target[moved] * last * m["tick_value"] <= equity[moved] * cap * (1 + 1e-12)).all()


@settings(max_examples=60, deadline=None)
@given(
    n=accounts,
    seed=st.integers(0, 2**32 - 1),
    last=prices,
    fair_ratio=st.floats(0.5, 1.5, **FINITE),
    volatility=st.floats(0.0, 5.0, **FINITE),
    vol_reference=st.floats(0.05, 2.0, **FINITE),
    vol_exit_over=st.floats(0.01, 5.0, **FINITE),
    reach=st.one_of(st.just(1.0), st.just(0.0), st.floats(0.0, 1.0, **FINITE)),
    band=st.one_of(st.just(0.0), st.floats(0.0, 0.5, **FINITE)),
    schedule=st.one_of(st.just(0.0), st.just(0.5), st.floats(0.0, 0.5, **FINITE)),
    hold_when_out=st.booleans(),
    hold_to_fair=st.booleans(),
    hold_through_storm=st.booleans(),
    settling=st.booleans(),
    stormed=st.booleans(),
    side=st.sampled_from([0, 1, 2]),
)
def test_value_traders(
    n,
    seed,
    last,
    fair_ratio,
    volatility,
    vol_reference,
    vol_exit_over,
    reach,
    band,
    schedule,
    hold_when_out,
    hold_to_fair,
    hold_through_storm,
    settling,
    stormed,
    side,
) -> None:
    rng = np.random.default_rng(seed)
    p = {
        "side": side,
        "capital_fraction": float(rng.uniform(0.05, 1.0)),
        "aggressiveness": float(rng.uniform(0.1, 50.0)),
        "vol_reference": vol_reference,
        "vol_exit": vol_reference + vol_exit_over,
        "leverage": float(rng.uniform(1.0, 30.0)),
        "reach": reach,
        "band": band,
        "schedule": schedule,
        "hold_when_out": hold_when_out,
        "hold_to_fair": hold_to_fair,
        "hold_through_storm": hold_through_storm,
    }
    m = _market(last=last, fair=last * fair_ratio, volatility=volatility)
    equity = rng.uniform(-1e4, 1e7, n)
    current = rng.integers(-500, 500, n)
    account = rng.integers(0, 2**32, n, dtype=np.uint32)
    target, price = _decide(
        # The signal's bits: 1 still settling after a storm, 2 a storm since the last crossing.
        _spec("value", **p), m, float(settling) + 2.0 * stormed, equity,
        np.zeros(n), np.zeros(n), current, np.zeros(0), np.zeros(0), np.zeros(0),
        account=account,
    )  # fmt: skip
    want = [
        _value(p, m, equity[k], int(current[k]), settling, stormed, int(account[k]))
        for k in range(n)
    ]
    assert target.tolist() == [w[0] for w in want]
    assert price.tolist() == [w[1] for w in want]


@settings(max_examples=60, deadline=None)
@given(
    n=accounts,
    seed=st.integers(0, 2**32 - 1),
    last=prices,
    slow_ratio=st.floats(0.8, 1.3, **FINITE),
    fair_ratio=st.floats(0.8, 1.3, **FINITE),
    dip=st.floats(0.0, 0.3, **FINITE),
    anchor_fair=st.booleans(),
    volatility=st.floats(0.0, 3.0, **FINITE),
    max_volatility=st.one_of(st.just(0.0), st.floats(0.1, 2.0, **FINITE)),
    leverage=st.one_of(st.just(1.0), st.floats(1.0, 20.0, **FINITE)),
)
def test_holders(
    n, seed, last, slow_ratio, fair_ratio, dip, anchor_fair, volatility, max_volatility, leverage
) -> None:
    rng = np.random.default_rng(seed)
    p = {
        "dip": dip,
        "budget_fraction": float(rng.uniform(0.01, 1.0)),
        "anchor_fair": anchor_fair,
        "max_volatility": max_volatility,
        "leverage": leverage,
    }
    m = _market(
        last=last,
        fair=last * fair_ratio,
        volatility=volatility,
        initial_rate=float(rng.choice([0.05, 0.2, 1.0])),
    )
    # Cash above or below equity (a position's gain or loss); positions whose
    # value is often beyond equity, so that the cap binds.
    equity = rng.uniform(-1e4, 1e7, n)
    cash = equity - rng.uniform(-1e6, 2e6, n)
    current = rng.integers(0, 1000, n)
    slow = last * slow_ratio
    target, price = _decide(
        _spec("holder", **p), m, slow, equity, cash, np.zeros(n), current,
        np.zeros(0), np.zeros(0), np.zeros(0),
    )  # fmt: skip
    want = [_holder(p, m, slow, equity[k], cash[k], int(current[k])) for k in range(n)]
    assert target.tolist() == [w[0] for w in want]
    assert price.tolist() == [w[1] for w in want]


@settings(max_examples=60, deadline=None)
@given(
    n=accounts,
    seed=st.integers(0, 2**32 - 1),
    mid=st.floats(100.0, 1e6, **FINITE),
    limit_share=st.floats(0.0, 1.0, **FINITE),
    offset=st.integers(0, 1000),
    mood=st.floats(-5.0, 5.0, **FINITE),
    position=st.one_of(st.just(0.0), st.floats(1e-3, 1e4, **FINITE)),
)
def test_noise_traders(n, seed, mid, limit_share, offset, mood, position) -> None:
    rng = np.random.default_rng(seed)
    p = {"limit_share": limit_share, "limit_offset_ticks": offset, "sentiment_position": position}
    m = _market(mid=mid, last=mid)
    equity = rng.uniform(-1e3, 1e6, n)
    mean = rng.uniform(1.0, 50.0, n)
    current = rng.integers(-200, 200, n)
    u = rng.uniform(1e-9, 1.0, (3, n))
    target, price = _decide(
        _spec("noise", **p), m, mood, equity, np.zeros(n), mean, current, u[0], u[1], u[2]
    )
    want = [
        _noise(p, m, mood, equity[k], mean[k], int(current[k]), tuple(u[:, k])) for k in range(n)
    ]
    assert target.tolist() == [w[0] for w in want]
    assert price.tolist() == [w[1] for w in want]


def test_bad_batches_are_rejected() -> None:
    m = _market()
    z = np.zeros(0)
    with pytest.raises(ValueError, match=r"^current: "):
        _decide(_spec("speculator"), m, 0.0, np.ones(2), np.ones(2), np.ones(2),
                np.zeros(3, np.int64), z, z, z)  # fmt: skip
    with pytest.raises(ValueError, match=r"^u0: "):
        _decide(_spec("noise"), m, 0.0, np.ones(2), np.ones(2), np.ones(2),
                           np.zeros(2, np.int64), z, z, z)  # fmt: skip
    with pytest.raises(ValueError, match=r"^strategy: market makers"):
        _decide(_spec("market_maker"), m, 0.0, np.ones(1), np.ones(1), np.ones(1),
                           np.zeros(1, np.int64), z, z, z)  # fmt: skip


def test_each_strategy_spec_is_its_own_class() -> None:
    """A population's strategy is the class of its parameters: no field of another
    strategy can be set on it, and an unknown keyword is refused."""
    for name, cls in SPECS.items():
        spec = _spec(name)
        assert spec.strategy == _core.Strategy.__members__[name]
        assert isinstance(spec.params, cls)
    with pytest.raises(TypeError, match="unexpected keyword argument 'threshold'"):
        _core.NoiseSpec(threshold=0.1)
    with pytest.raises(TypeError, match=r"^SpeculatorSpec\.threshold: must be a number"):
        _core.SpeculatorSpec(threshold="high")
    with pytest.raises(TypeError):
        _core.SpeculatorSpec(0.1)  # keywords only
