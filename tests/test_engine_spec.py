"""Every field of every scenario dataclass reaches the engine.

The scenario tree is walked generically (dataclasses.fields, recursively): each
leaf field is changed to other valid values in turn, and the engine's input
(``deleverage.engine_spec.engine_input``: the bound specs read back through their
properties, and the account columns) must change. A field that never reaches
the engine must be listed in PYTHON_ONLY with the reason; a listed field that
does reach it fails too, so the list stays true. A renamed field can no longer
fall back silently to an engine default.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from deleverage import _core
from deleverage.engine_spec import engine_input, margin_rule, simulation
from deleverage.margin_rules import MarginRule
from deleverage.scenario import (
    AllocatorParams,
    Clock,
    Distribution,
    Episode,
    Fundamental,
    HolderParams,
    InstrumentSpec,
    MarginChange,
    MarketMakerParams,
    NoiseParams,
    Policy,
    Population,
    PopulationChange,
    Scenario,
    Shock,
    SpeculatorParams,
    Target,
    ValueParams,
    VolatilityTrigger,
    Waypoint,
)

#: (class, field) -> why the engine never sees it.
PYTHON_ONLY: dict[tuple[str, str], str] = {
    ("Scenario", "name"): "a label for results, files and reports",
    ("Scenario", "description"): "text for people",
    ("Scenario", "episode"): "the calendar the analysis reads a run with",
    ("Scenario", "quiet_window"): "the analysis's calm reference window",
    ("Scenario", "targets"): "the calibration's market facts",
    ("Clock", "start"): "dates the result's index; the engine counts steps",
    ("InstrumentSpec", "name"): "a key: the engine knows instruments by index",
    ("InstrumentSpec", "asset_class"): "names headline figures",
    ("Population", "name"): "a label for results",
    ("PopulationChange", "note"): "text for people",
    # Data files: read by build(), not by the spec (each has its own engine test).
    ("Scenario", "accounts_file"): "joins as blocks in build() (tests/test_accounts_file.py)",
    ("Fundamental", "path"): "laid on the clock by build() (tests/test_price_path.py)",
    ("Fundamental", "index_path"): "laid on the clock by build() (tests/test_price_path.py)",
}
#: Classes the engine never sees at all (reached only through a Python-only field).
PYTHON_ONLY_CLASSES = {Episode, Target}

#: Fields that change only together with others (their validation couples them).
COUPLED: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("Fundamental", "kind"): [{"kind": "lognormal", "reversion": 0.0, "anchor": None}],
    ("Distribution", "kind"): [
        {"kind": "fixed", "value": 3.0, "low": 0.0, "high": 0.0},
        {"kind": "fixed", "value": 3.0, "median": 1.0, "sigma": 0.0},
        {"kind": "fixed", "value": 3.0, "values": (), "weights": ()},
    ],
    ("Scenario", "correlation"): [{"correlation": ((1.0, 0.3), (0.3, 1.0))}],
    ("MarginRule", "maintenance"): [{"maintenance": "percent", "partial_liquidation": False}],
    ("Population", "strategy"): [{"strategy": "holder", "params": None, "changes": ()}],
    # One share per instrument traded: only the population trading two takes it.
    ("Population", "budget_shares"): [{"budget_shares": (0.7, 0.3)}],
    ("PopulationChange", "params"): [{"params": {"levels": 4}}],
}

TIERED = MarginRule(
    maintenance="tiered",
    tiers=((0.0, 0.01), (1e6, 0.02)),
    partial_liquidation=True,
    initial_rate=0.05,
)


def _world() -> Scenario:
    """A small world that uses every dataclass and every optional structure."""
    gold = InstrumentSpec(
        name="gold",
        start_price=2000.0,
        tick_size=0.1,
        margin=MarginRule(
            maintenance="closeout", closeout_share=0.5, basis="entry", taker_fee_rate=0.001
        ),
        mark="mid",
        fundamental=Fundamental(
            drift=0.05,
            volatility=0.2,
            vol_of_vol=0.5,
            shocks=(Shock(100, "jump", -0.05), Shock(150, "volatility", 0.4)),
            waypoints=(Waypoint(50, 2050.0), Waypoint(120, 1990.0)),
        ),
        liquidity=2.0,
    )
    btc = InstrumentSpec(
        name="btc",
        start_price=60000.0,
        tick_size=1.0,
        lot_size=0.01,
        margin=TIERED,
        fundamental=Fundamental(
            kind="mean_reverting",
            reversion=2.0,
            anchor=61000.0,
            shocks=(Shock(80, "drift", 0.3),),
        ),
    )
    pops = (
        Population(
            "spec",
            "speculator",
            3,
            "gold",
            Distribution.uniform(1e4, 2e4),
            activity=60.0,
            margin_mode="cross",
            params=SpeculatorParams(target_leverage=Distribution.lognormal(5.0, 0.3)),
            also=("btc",),
        ),
        Population(
            "noise",
            "noise",
            3,
            "gold",
            Distribution.discrete([1e4, 2e4], [1.0, 3.0]),
            params=NoiseParams(sentiment_persistence=0.9, sentiment_volatility=0.1),
        ),
        Population("value", "value", 2, "btc", Distribution.fixed(5e4)),
        Population(
            "makers",
            "market_maker",
            2,
            "gold",
            Distribution.fixed(1e6),
            # One-sided, so that covers can be switched on alone.
            params=MarketMakerParams(
                basis_horizon=600.0,
                max_basis=0.05,
                stress_instruments=("btc",),
                sides="asks",
                offset=0.01,
                cover_offset=0.005,
            ),
            changes=(PopulationChange(60, {"levels": 3}, activity=1800.0, note="relief"),),
        ),
        Population("holders", "holder", 2, "btc", Distribution.fixed(1e5)),
        Population(
            "funds",
            "allocator",
            2,
            "btc",
            Distribution.fixed(1e6),
            margin_mode="cross",
            params=AllocatorParams(vol_target=0.3),
            also=("gold",),
        ),
    )
    return Scenario(
        name="every-field",
        instruments=(gold, btc),
        populations=pops,
        clock=Clock(dt=2.0, steps=200),
        policy=Policy(
            margin_changes=(MarginChange(30, "gold", MarginRule(initial_rate=0.2)),),
            volatility_triggers=(VolatilityTrigger("btc", 20, 0.8, TIERED),),
            max_liquidation_notional_per_step=1e7,
            fund_unwind_half_life=600.0,
        ),
        insurance_fund=1e5,
        adl=False,
        correlation=((1.0, 0.5), (0.5, 1.0)),
        close_order="most_liquid",
        liquidation_orders="market",
    )


def _flat(x: object) -> object:
    """The engine input as plain values, read through the bound specs' properties."""
    fields = getattr(type(x), "fields", None)
    if isinstance(fields, tuple):
        return (type(x).__name__, tuple((f, _flat(getattr(x, f))) for f in fields))
    if hasattr(type(x), "__members__"):  # a bound enum
        return (type(x).__name__, int(x))  # type: ignore[call-overload]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return tuple((f.name, _flat(getattr(x, f.name))) for f in dataclasses.fields(x))
    if isinstance(x, (list, tuple)):
        return tuple(_flat(v) for v in x)
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    if x is None:  # EngineInput.blocks without a snapshot
        return x
    assert isinstance(x, (int, float, bool)), type(x)
    return x


def _engine(sc: Scenario) -> object:
    return _flat(engine_input(sc, 3))


def _leaves(obj: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(path, class name, field name) of every leaf field under `obj`."""
    assert dataclasses.is_dataclass(obj)
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        here = (*path, f.name)
        if type(obj) in PYTHON_ONLY_CLASSES:
            continue
        inner = typing.get_args(hints[f.name])
        if value == () and inner and dataclasses.is_dataclass(inner[0]):
            continue  # an empty sequence of dataclasses: its elements are walked where present
        if dataclasses.is_dataclass(value):
            if type(value) in PYTHON_ONLY_CLASSES:
                yield here, type(obj).__name__, f.name
            else:
                yield from _leaves(value, here)
        elif isinstance(value, tuple) and value and all(dataclasses.is_dataclass(v) for v in value):
            if (type(obj).__name__, f.name) in PYTHON_ONLY:
                yield here, type(obj).__name__, f.name
            else:
                for k, v in enumerate(value):
                    yield from _leaves(v, (*here, k))
        else:
            yield here, type(obj).__name__, f.name


def _replace(obj: Any, path: tuple[Any, ...], changes: dict[str, Any]) -> Any:
    """`obj` with the dataclass at `path` (a field path, tuple indices included) changed."""
    if not path:
        return dataclasses.replace(obj, **changes)
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(obj)
        items[head] = _replace(items[head], rest, changes)
        return tuple(items)
    return dataclasses.replace(obj, **{head: _replace(getattr(obj, head), rest, changes)})


def _candidates(owner: object, name: str, value: object, names: tuple[str, ...]) -> list[object]:
    """Other values to try for a field (the dataclass validates them)."""
    hint = typing.get_type_hints(type(owner))[name]
    args = typing.get_args(hint)
    choices = [c for c in args if isinstance(c, str)]
    choices += [c for a in args for c in typing.get_args(a) if isinstance(c, str)]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, value - 1, value * 2, 1, 0]
    if isinstance(value, float):
        if math.isinf(value):
            return [1.0, 1e6]
        # 1e-3: a relative ladder step (level_spacing) is at most 0.005.
        return [
            value * 1.25,
            value * 0.8,
            value + 1.0,
            value - 0.01,
            0.5,
            0.05,
            1.0,
            2.0,
            0.0,
            1e-3,
        ]
    if isinstance(value, str):
        return [c for c in choices if c != value] + [n for n in names if n != value] + ["other"]
    if isinstance(value, tuple):
        if all(isinstance(v, str) for v in value):
            return [(), *((n,) for n in names)]
        if all(isinstance(v, (int, float)) for v in value):
            more = (*value, value[-1] * 2 if value else 1.0)
            return [tuple(v * 1.5 for v in value), value[::-1], value[:-1], more]
        if all(isinstance(v, tuple) for v in value):  # (floor, rate) pairs
            return [tuple((f, r * 1.5) for f, r in value), value[:1]]
    if value is None:
        return [1.5, 100.0]
    return []


def test_every_scenario_field_reaches_the_engine() -> None:
    world = _world()
    base = _engine(world)
    names = tuple(i.name for i in world.instruments)
    reached: dict[tuple[str, str], bool] = {}
    for path, cls, name in _leaves(world):
        key = (cls, name)
        owner: Any = world
        for p in path[:-1]:
            owner = owner[p] if isinstance(p, int) else getattr(owner, p)
        if key in COUPLED:
            tries = COUPLED[key]
        else:
            tries = [{name: v} for v in _candidates(owner, name, getattr(owner, name), names)]
        for changes in tries:
            if all(getattr(owner, k) == v for k, v in changes.items()):
                continue
            try:
                changed = _replace(world, path[:-1], changes)
            except (ValueError, TypeError):
                continue  # not a valid value here
            reached.setdefault(key, False)
            if _engine(changed) != base:
                reached[key] = True
                break
    walked = {(c, n) for _, c, n in _leaves(world)}
    missing = sorted(k for k in walked if not reached.get(k) and k not in PYTHON_ONLY)
    assert not missing, f"fields that never reach the engine (and are not listed): {missing}"
    listed_but_reach = sorted(k for k in PYTHON_ONLY if reached.get(k))
    assert not listed_but_reach, f"listed as Python-only but reach the engine: {listed_but_reach}"
    # The walk saw every dataclass the engine is built from.
    seen = {c for c, _ in walked}
    for cls in (
        Scenario, Clock, Policy, InstrumentSpec, MarginRule, Fundamental, Shock, Waypoint,
        MarginChange, VolatilityTrigger, Population, PopulationChange, Distribution,
        SpeculatorParams, NoiseParams, ValueParams, MarketMakerParams, HolderParams,
        AllocatorParams,
    ):  # fmt: skip
        assert cls.__name__ in seen


def test_a_field_not_passed_is_caught() -> None:
    """The walk catches a converter that drops a field: the engine would see its default."""
    world = _world()
    rule = world.instruments[0].margin
    spec = margin_rule(rule)
    assert spec.taker_fee_rate == rule.taker_fee_rate == 0.001
    changed = dataclasses.replace(rule, taker_fee_rate=0.002)
    assert _flat(margin_rule(changed)) != _flat(spec)
    dropped = _core.MarginRuleSpec(
        **{f: getattr(spec, f) for f in _core.MarginRuleSpec.fields if f != "taker_fee_rate"}
    )
    assert _flat(dropped) != _flat(spec)  # the engine's default is not the scenario's value


def test_specs_refuse_unknown_fields_and_wrong_types() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'initial_margin'"):
        _core.MarginRuleSpec(initial_margin=0.1)
    with pytest.raises(TypeError, match=r"^ShockSpec\.kind: must be a"):
        _core.ShockSpec(step=1, kind="jump", value=0.1)
    with pytest.raises(ValueError, match=r"^PopulationSpec\.count: must be in 0\.\.4294967295"):
        _core.PopulationSpec(count=-1)
    with pytest.raises(TypeError, match=r"^SimulationSpec\.populations\[0\]: must be a"):
        _core.SimulationSpec(populations=[{"strategy": "noise"}])
    with pytest.raises(
        TypeError, match=r"^PopulationSpec\.params: must be one of .*SpeculatorSpec"
    ):
        _core.PopulationSpec(params=None)
    with pytest.raises(
        TypeError, match=r"^MarginChangeSpec\.rule: must be a .*MarginRuleSpec, got"
    ):
        _core.MarginChangeSpec(rule=None)
    spec = _core.WaypointSpec(step=3, price=2.5)
    assert spec.price == pytest.approx(2.5, rel=1e-15)
    assert "WaypointSpec(step=3" in repr(spec)


@pytest.mark.parametrize(
    "name",
    sorted(
        k.split(".", 1)[1] for k in _core.LIMITS if k.startswith("MarginRule.") and "tiers" not in k
    ),
)
def test_python_and_engine_share_the_margin_limits(name: str) -> None:
    """One table of limits (_core.LIMITS): the dataclass and the engine accept and
    refuse the same values, each naming the field."""
    lo, hi, lo_open, hi_open = _core.LIMITS[f"MarginRule.{name}"]
    inside = [x for x, open_ in ((lo, lo_open), (hi, hi_open)) if not open_]
    span = hi - lo
    outside = [lo - 1e-3 * span if not lo_open else lo, hi + 1e-3 * span if not hi_open else hi]
    # Rules of a kind that leaves the field's whole range open.
    base: dict[str, Any] = {
        "closeout_share": {"initial_rate": 0.5},
        "maintenance_rate": {"maintenance": "fixed"},
    }.get(name, {})
    for x in inside:
        rule = MarginRule(**{**base, name: x})
        _core.MarginEngine([1.0], [margin_rule(rule)])
    for x in outside:
        with pytest.raises(ValueError, match=rf"^{name}: must be in"):
            MarginRule(**{**base, name: x})
        valid = margin_rule(MarginRule(**base))
        fields = {f: getattr(valid, f) for f in valid.fields}
        spec = _core.MarginRuleSpec(**{**fields, name: x})
        with pytest.raises(ValueError, match=rf"^{name}: must be in"):
            _core.MarginEngine([1.0], [spec])


def _sim(data: Any, **changes: object) -> _core.Simulation:
    spec = data.spec
    fields = {f: getattr(spec, f) for f in spec.fields}
    return simulation(dataclasses.replace(data, spec=_core.SimulationSpec(**{**fields, **changes})))


def test_the_engine_checks_indices_a_spec_built_by_hand_may_get_wrong() -> None:
    """Specs built without the dataclasses get the engine's own checks, naming the field."""
    data = engine_input(_world(), 0)
    _sim(data).run()
    rule = data.rules[0]
    with pytest.raises(ValueError, match=r"^triggers\[0\]\.instrument: unknown instrument"):
        _sim(
            data,
            triggers=[
                _core.VolatilityTriggerSpec(
                    instrument=5, window_steps=10.0, threshold=1.0, rule=rule
                )
            ],
        )
    with pytest.raises(ValueError, match=r"^margin_changes\[1\]\.step: must be sorted"):
        _sim(
            data,
            margin_changes=[
                _core.MarginChangeSpec(step=9, instrument=0, rule=rule),
                _core.MarginChangeSpec(step=3, instrument=0, rule=rule),
            ],
        )
    pops = data.spec.populations
    k = next(i for i, p in enumerate(pops) if p.strategy == _core.Strategy.market_maker)
    maker = pops[k]
    fields = {f: getattr(maker, f) for f in maker.fields}
    pops[k] = _core.PopulationSpec(
        **{**fields, "params": _core.MarketMakerSpec(stress_instruments=[7])}
    )
    with pytest.raises(
        ValueError, match=rf"^populations\[{k}\]\.params\.stress_instruments: unknown"
    ):
        _sim(data, populations=pops)
    # Quotes priced from an infinite or NaN skew, or a holding from an infinite mood
    # scale, would be nonsense prices: refused, naming the field.
    for bad in (math.inf, math.nan, -0.1, 0.6):
        pops[k] = _core.PopulationSpec(
            **{**fields, "params": _core.MarketMakerSpec(inventory_skew=bad)}
        )
        with pytest.raises(
            ValueError, match=rf"^populations\[{k}\]\.params\.inventory_skew: must be in"
        ):
            _sim(data, populations=pops)
    pops[k] = maker
    n = next(i for i, p in enumerate(pops) if p.strategy == _core.Strategy.noise)
    noise = pops[n]
    noise_fields = {f: getattr(noise, f) for f in noise.fields}
    for bad in (math.inf, math.nan, -1.0):
        pops[n] = _core.PopulationSpec(
            **{**noise_fields, "params": _core.NoiseSpec(sentiment_position=bad)}
        )
        with pytest.raises(
            ValueError, match=rf"^populations\[{n}\]\.params\.sentiment_position: must be in"
        ):
            _sim(data, populations=pops)
    # A holder's calm gate and a value trader's side, on the noise traders' accounts.
    for bad in (math.inf, math.nan, -0.1, 101.0):
        pops[n] = _core.PopulationSpec(
            **{**noise_fields, "params": _core.HolderSpec(max_volatility=bad)}
        )
        with pytest.raises(
            ValueError, match=rf"^populations\[{n}\]\.params\.max_volatility: must be in"
        ):
            _sim(data, populations=pops)
    # A speculator's share of its gap traded a decision: a share in (0, 1].
    for bad in (0.0, -0.5, 1.5, math.nan, math.inf):
        pops[n] = _core.PopulationSpec(
            **{**noise_fields, "params": _core.SpeculatorSpec(trade_fraction=bad)}
        )
        with pytest.raises(
            ValueError, match=rf"^populations\[{n}\]\.params\.trade_fraction: must be in \(0, 1\]"
        ):
            _sim(data, populations=pops)
    pops[n] = _core.PopulationSpec(**{**noise_fields, "params": _core.ValueSpec(side=3)})
    with pytest.raises(ValueError, match=rf"^populations\[{n}\]\.params\.side: must be 0"):
        _sim(data, populations=pops)
    pops[n] = noise
    with pytest.raises(ValueError, match=r"^dt: must be in \[0\.001, 86400\] seconds, got 0\.0001"):
        _sim(data, dt=1e-4)
    # The fund's unwinding: a share of a position and a relative price band.
    for bad in (math.nan, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"^fund_unwind_share: must be in \[0, 1\]"):
            _sim(data, fund_unwind_share=bad)
    for bad in (math.nan, -0.1, 1.0):
        with pytest.raises(ValueError, match=r"^fund_unwind_band: must be in \[0, 1\)"):
            _sim(data, fund_unwind_band=bad)
    # A fair value's news: a share of its variance and a rate a day.
    fundamental = data.spec.fundamentals[0]
    fundamental_fields = {f: getattr(fundamental, f) for f in fundamental.fields}
    bad_news = [("news_share", x) for x in (-0.1, 0.96, math.nan)]
    bad_news += [("news_rate", x) for x in (0.0, 2e4, math.inf)]
    for field, bad in bad_news:
        changed = _core.FundamentalSpec(**{**fundamental_fields, field: bad})
        with pytest.raises(ValueError, match=rf"^fundamentals\[0\]\.{field}: must be in"):
            _sim(data, fundamentals=[changed, *data.spec.fundamentals[1:]])
