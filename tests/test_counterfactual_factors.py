"""The counterfactual factors one by one: each sets the fields it documents and
leaves the rest of the world untouched."""

from __future__ import annotations

import dataclasses as dc
import math

import numpy as np
import pytest

from deleverage import MarginRule
from deleverage.counterfactuals import (
    FACTORS,
    cap_leverage,
    isolate_cross_margin,
    no_dealer_budgets,
    no_margin_hikes,
    no_news,
    no_population_changes,
    resolve_factors,
    steady_arbitrage,
    steady_dealers,
    steady_dealers_in_crash,
)
from deleverage.counterfactuals.factors import crash_step, divide_distribution
from deleverage.scenario import (
    Distribution,
    Fundamental,
    HolderParams,
    InstrumentSpec,
    MarginChange,
    MarketMakerParams,
    Policy,
    Population,
    PopulationChange,
    Scenario,
    Shock,
    SpeculatorParams,
    ValueParams,
    VolatilityTrigger,
    Waypoint,
)
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

NAMES = ("GOLD", "INDEX", "BTC")
RULE = MarginRule(initial_rate=0.04, maintenance_rate=0.02)


@pytest.fixture(scope="module")
def base() -> Scenario:
    return load_preset("default-hour")


def _by_name(s: Scenario) -> dict[str, Population]:
    return {p.name: p for p in s.populations}


def _others_equal(a: Scenario, b: Scenario, strategy: str) -> None:
    """Everything but the populations of ``strategy`` is the same."""
    assert a.instruments == b.instruments
    assert a.policy == b.policy
    assert a.clock == b.clock
    assert [p.name for p in a.populations] == [p.name for p in b.populations]
    for p, q in zip(a.populations, b.populations, strict=True):
        if p.strategy == strategy:
            assert dc.replace(p, params=None) == dc.replace(q, params=None)
        else:
            assert p == q


def _multi_asset_world() -> Scenario:
    """Three instruments; speculators trade all three on one cross account, the
    other populations one instrument each (as tests/test_multi_asset.py)."""
    base = load_preset("default-hour")
    instruments = (
        dc.replace(base.instruments[0], margin=RULE, mark="last"),
        InstrumentSpec("INDEX", 5000.0, tick_size=0.25, lot_size=0.4, margin=RULE, mark="last"),
        InstrumentSpec("BTC", 60000.0, tick_size=5.0, lot_size=1 / 30, margin=RULE, mark="last"),
    )
    by = _by_name(base)
    spec = dc.replace(
        by["speculators"],
        cash=Distribution.lognormal(1e5, 0.5),
        also=NAMES[1:],
        margin_mode="cross",
        params=SpeculatorParams(target_leverage=Distribution.uniform(10.0, 25.0)),
    )
    pops = [spec]
    for p in base.populations:
        if p.strategy != "speculator":
            pops.extend(dc.replace(p, name=f"{p.name}_{n}", instrument=n) for n in NAMES)
    return base.replace(instruments=instruments, populations=tuple(pops), policy=Policy())


def test_leverage_caps_every_population_at_one(base: Scenario) -> None:
    world = base.replace(
        populations=tuple(
            dc.replace(p, params=ValueParams(leverage=3.0, vol_exit=3.0, vol_reference=1.0))
            if p.strategy == "value"
            else dc.replace(p, params=HolderParams(dip=0.02, leverage=8.0))
            if p.strategy == "holder"
            else p
            for p in base.populations
        )
    )
    capped = cap_leverage(world)
    spec = _by_name(capped)["speculators"].params
    assert isinstance(spec, SpeculatorParams)
    assert spec.target_leverage == Distribution.fixed(1.0)
    assert spec.max_leverage == 1.0
    before = _by_name(world)["speculators"].params
    assert dc.replace(spec, target_leverage=before.target_leverage, max_leverage=50.0) == before
    value = _by_name(capped)["value"].params
    assert value == ValueParams(leverage=1.0, vol_exit=3.0, vol_reference=1.0)
    assert _by_name(capped)["holders"].params == HolderParams(dip=0.02, leverage=1.0)
    assert capped.instruments == world.instruments  # margin rules unchanged
    for p, q in zip(world.populations, capped.populations, strict=True):
        assert dc.replace(p, params=None) == dc.replace(q, params=None)
        if p.strategy not in ("speculator", "value", "holder"):
            assert p == q


def test_dealers_never_withdraw(base: Scenario) -> None:
    world = steady_dealers(base)
    makers = _by_name(world)["market_makers"].params
    before = _by_name(base)["market_makers"].params
    assert makers == dc.replace(before, vol_withdraw=100.0, loss_withdraw=1.0)
    _others_equal(base, world, "market_maker")


def test_dealers_in_crash_are_steady_from_the_crash_day_on() -> None:
    world = load_preset("gold-2026")
    step = crash_step(world)
    assert step == 33 * 1440  # the open of 30 January, one-minute steps
    # A dealer with changes before, at and after the crash (a relief, a later cut).
    dealers = next(p for p in world.populations if p.strategy == "market_maker")
    changes = (
        PopulationChange(step - 10, {"var_volatility": 0.2}),
        PopulationChange(step, {"calm_steps": 30}),
        PopulationChange(step + 60, {"vol_withdraw": 0.5, "var_volatility": 0.4}),
    )
    world = world.replace(
        populations=tuple(
            dc.replace(p, changes=changes) if p.name == dealers.name else p
            for p in world.populations
        )
    )
    steady = steady_dealers_in_crash(world)
    assert (steady.instruments, steady.policy, steady.clock) == (
        world.instruments,
        world.policy,
        world.clock,
    )
    for p, q in zip(world.populations, steady.populations, strict=True):
        if p.strategy != "market_maker":
            assert p == q
            continue
        assert dc.replace(q, changes=()) == dc.replace(p, changes=())  # its parameters stand
        assert [c for c in q.changes if c.step < step] == [c for c in p.changes if c.step < step]
        later = [c for c in q.changes if c.step >= step]
        assert later[0].step == step
        for c in later:
            assert c.params["vol_withdraw"] == 100.0
            assert c.params["loss_withdraw"] == 1.0
    mine = {p.name: p for p in steady.populations}[dealers.name].changes
    assert mine == (
        changes[0],
        PopulationChange(step, {"calm_steps": 30, "vol_withdraw": 100.0, "loss_withdraw": 1.0}),
        PopulationChange(
            step + 60, {"vol_withdraw": 100.0, "var_volatility": 0.4, "loss_withdraw": 1.0}
        ),
    )


def test_dealers_in_crash_change_the_run_from_the_news_only(base: Scenario) -> None:
    """Without an episode the crash starts at the first jump; the paired runs are
    the same bit for bit until then, and after it the dealers never leave."""
    step = crash_step(base)
    assert step == min(s.step for s in base.instruments[0].fundamental.shocks if s.kind == "jump")
    for seed in (0, 1):
        as_is = simulate(base, seed, progress=False).series["GOLD"]
        steady = simulate(steady_dealers_in_crash(base), seed, progress=False).series["GOLD"]
        before = as_is.iloc[:step]
        assert before.equals(steady.iloc[:step])
        assert not as_is.iloc[step:].equals(steady.iloc[step:])
        makers = steady["active_makers"].to_numpy()
        assert (makers[step:] == makers[step - 1]).all()
        assert as_is["active_makers"].to_numpy()[step:].min() < makers[step - 1]


def test_dealers_in_crash_need_a_crash(base: Scenario) -> None:
    with pytest.raises(ValueError, match="no crash to start from: it declares no episode"):
        steady_dealers_in_crash(no_news(base))


def test_dealer_budgets_go_and_nothing_else_changes() -> None:
    world = load_preset("dash-for-cash-2020")
    unbudgeted = no_dealer_budgets(world)
    before = _by_name(world)["gold_dealers"].params
    after = _by_name(unbudgeted)["gold_dealers"].params
    assert isinstance(before, MarketMakerParams)
    assert before.var_volatility > 0
    assert after == dc.replace(before, var_volatility=0.0)
    for p, q in zip(world.populations, unbudgeted.populations, strict=True):
        if isinstance(p.params, MarketMakerParams):
            assert dc.replace(p, params=None, changes=()) == dc.replace(q, params=None, changes=())
            assert q.params.var_volatility == 0.0  # type: ignore[union-attr]
            # For the whole run: a scheduled change of the budget goes too (the
            # gold dealers' relief of 19 March sets nothing else, so it is gone).
            assert all("var_volatility" not in c.params for c in q.changes)
        else:
            assert p == q
    relief = _by_name(world)["gold_dealers"].changes
    assert [c.params for c in relief] == [{"var_volatility": 0.4}]
    assert _by_name(unbudgeted)["gold_dealers"].changes == ()
    assert unbudgeted.replace(populations=world.populations) == world
    # A world whose makers have no budget comes back as it was.
    assert no_dealer_budgets(unbudgeted) == unbudgeted


def test_population_changes_go_and_nothing_else_changes() -> None:
    world = load_preset("dash-for-cash-2020")
    scheduled = {p.name for p in world.populations if p.changes}
    assert scheduled == {"gold_dealers", "gold_value", "patient_funds"}
    unchanged = no_population_changes(world)
    for p, q in zip(world.populations, unchanged.populations, strict=True):
        assert q.changes == ()
        assert dc.replace(p, changes=()) == q
    assert unchanged.replace(populations=world.populations) == world
    # One population's changes only: the other keeps its own.
    one = no_population_changes(world, ["gold_dealers"])
    assert _by_name(one)["gold_dealers"].changes == ()
    assert _by_name(one)["patient_funds"].changes == _by_name(world)["patient_funds"].changes
    assert no_population_changes(one, ["gold_value", "patient_funds"]) == unchanged
    # A world without scheduled changes comes back as it was (the same object).
    assert no_population_changes(unchanged) is unchanged
    with pytest.raises(ValueError, match=r"populations: unknown population\(s\) 'nope'; known: "):
        no_population_changes(world, ["nope", "gold_dealers"])
    for bad in ("gold_dealers", 3, 2.5):
        with pytest.raises(
            TypeError, match="populations: must be a collection of population names"
        ):
            no_population_changes(world, bad)  # type: ignore[arg-type]


def test_population_changes_go_at_the_steps_named_only() -> None:
    world = load_preset("dash-for-cash-2020")
    return_day = _by_name(world)["patient_funds"].changes[0].step
    relief_day = _by_name(world)["gold_dealers"].changes[0].step
    # One policy day out: the changes at that step go, in every chosen population.
    kept = no_population_changes(world, steps=[relief_day])
    for p, q in zip(world.populations, kept.populations, strict=True):
        assert q.changes == tuple(c for c in p.changes if c.step != relief_day)
        assert dc.replace(p, changes=q.changes) == q
    assert _by_name(kept)["patient_funds"].changes == _by_name(world)["patient_funds"].changes
    assert _by_name(kept)["gold_dealers"].changes == ()
    # Both days named (numpy integers too): the same world as without any change
    # of these populations.
    named = ["gold_dealers", "patient_funds"]
    assert no_population_changes(world, named, steps=np.array([relief_day, return_day])) == (
        no_population_changes(world, named)
    )
    with pytest.raises(ValueError, match=r"steps: no change of the chosen populations at step"):
        no_population_changes(world, ["patient_funds"], steps=[relief_day])
    with pytest.raises(ValueError, match=r"at step\(s\) \[5\]; their changes are at \["):
        no_population_changes(world, steps=[5, relief_day])
    with pytest.raises(TypeError, match="steps: must be a collection of steps"):
        no_population_changes(world, steps=relief_day)  # type: ignore[arg-type]
    for bad in ([1.5], [True], ["9"]):
        with pytest.raises(TypeError, match="steps: must be integers"):
            no_population_changes(world, steps=bad)  # type: ignore[list-item]


def test_arbitrage_value_traders_never_step_back(base: Scenario) -> None:
    world = steady_arbitrage(base)
    value = _by_name(world)["value"].params
    before = _by_name(base)["value"].params
    assert value == dc.replace(before, vol_exit=100.0, vol_reference=50.0)
    _others_equal(base, world, "value")


def test_news_removes_every_scheduled_shock(base: Scenario) -> None:
    inst = base.instruments[0]
    shocks = (Shock(10, "jump", 0.02), Shock(20, "drift", 0.5), Shock(30, "volatility", 0.4))
    # no waypoints here: a jump before a waypoint is carried by it (the next test)
    plain = dc.replace(inst.fundamental, shocks=shocks, waypoints=())
    world = base.replace(instruments=(dc.replace(inst, fundamental=plain),))
    calm = no_news(world)
    assert calm.instruments[0].fundamental.shocks == ()
    assert (
        dc.replace(calm.instruments[0].fundamental, shocks=shocks)
        == world.instruments[0].fundamental
    )
    assert calm.replace(instruments=world.instruments) == world
    assert no_news(calm) == calm  # nothing left to remove


def test_news_leaves_waypoints_without_the_jumps_before_them(base: Scenario) -> None:
    """A waypoint is a level after the news that came before it: without the news
    it is that level divided by those jumps (and by no later one)."""
    inst = base.instruments[0]
    points = (Waypoint(900, 2000.0), Waypoint(1799, 2004.0))
    shocks = (Shock(10, "jump", 0.02), Shock(1000, "jump", -0.03), Shock(2000, "jump", 0.5))
    fundamental = dc.replace(inst.fundamental, shocks=shocks, waypoints=points)
    world = base.replace(instruments=(dc.replace(inst, fundamental=fundamental),))
    calm = no_news(world).instruments[0].fundamental
    assert calm.shocks == ()
    assert [w.step for w in calm.waypoints] == [900, 1799]
    assert calm.waypoints[0].price == pytest.approx(2000.0 / math.exp(0.02), rel=1e-12)
    assert calm.waypoints[1].price == pytest.approx(2004.0 / math.exp(0.02 - 0.03), rel=1e-12)


def test_margin_hikes_removes_changes_and_triggers(base: Scenario) -> None:
    trigger = VolatilityTrigger("GOLD", 300, 0.8, MarginRule(initial_rate=0.2))
    change = MarginChange(100, "GOLD", MarginRule(initial_rate=0.15))
    policy = Policy(
        margin_changes=(change,),
        volatility_triggers=(trigger,),
        max_liquidation_notional_per_step=1e6,
    )
    world = base.replace(policy=policy)
    quiet = no_margin_hikes(world)
    assert quiet.policy == Policy(max_liquidation_notional_per_step=1e6)
    assert quiet.replace(policy=policy) == world
    assert no_margin_hikes(quiet) == quiet
    only_trigger = base.replace(policy=Policy(volatility_triggers=(trigger,)))
    assert no_margin_hikes(only_trigger) != only_trigger


def test_cross_margin_splits_portfolios_into_isolated_accounts() -> None:
    world = _multi_asset_world()
    split = isolate_cross_margin(world)
    spec = world.populations[0]
    names = [p.name for p in split.populations]
    # The home piece keeps the original's place; the other pieces come last.
    assert names[0] == "speculators_GOLD"
    assert names[1:-2] == [p.name for p in world.populations[1:]]
    assert names[-2:] == ["speculators_INDEX", "speculators_BTC"]
    assert split.populations[1:-2] == world.populations[1:]
    pieces = [p for p in split.populations if p.name.startswith("speculators_")]
    assert [p.instrument for p in pieces] == list(NAMES)
    for p in pieces:
        assert p.also == ()
        assert p.margin_mode == "isolated"
        assert p.accounts == spec.accounts
        assert p.strategy == spec.strategy
        assert p.params == spec.params
        assert p.activity == spec.activity
        assert p.cash == Distribution.lognormal(1e5 / 3, 0.5)
    # Money totals: the same expected cash in all, and the same per instrument.
    total = sum(p.accounts * p.cash.mean() for p in world.populations)
    assert sum(p.accounts * p.cash.mean() for p in split.populations) == pytest.approx(total)
    assert split.total_accounts == world.total_accounts + 2 * spec.accounts
    # Nothing else moves, and a world without portfolios comes back unchanged.
    assert split.instruments == world.instruments
    assert split.policy == world.policy
    assert isolate_cross_margin(split) is split
    base = load_preset("default-hour")
    assert isolate_cross_margin(base) is base  # its makers are cross but on one instrument
    # The split world runs, and conserves money.
    result = simulate(split.with_steps(300), 1)
    assert result.conservation_error < 1e-9


def test_cross_margin_names_never_clash() -> None:
    world = _multi_asset_world()
    taken = dc.replace(world.populations[1], name="speculators_INDEX")
    world = world.replace(populations=(world.populations[0], taken, *world.populations[2:]))
    split = isolate_cross_margin(world)
    names = [p.name for p in split.populations]
    assert len(set(names)) == len(names)
    assert "speculators_INDEX_isolated" in names


@pytest.mark.parametrize(
    "dist",
    [
        Distribution.fixed(9.0),
        Distribution.uniform(3.0, 6.0),
        Distribution.lognormal(3.0, 0.4),
        Distribution.discrete([3.0, 6.0], [1.0, 2.0]),
    ],
)
def test_divided_distributions_divide_their_mean(dist: Distribution) -> None:
    scaled = divide_distribution(dist, 3)
    assert scaled.kind == dist.kind
    assert scaled.mean() == pytest.approx(dist.mean() / 3)


def test_builtin_names_and_resolution() -> None:
    assert set(FACTORS) == {
        "leverage",
        "dealers",
        "dealers_in_crash",
        "arbitrage",
        "news",
        "margin_hikes",
        "cross_margin",
        "dealer_budgets",
        "population_changes",
    }
    for name, fn in FACTORS.items():
        assert fn.__doc__
        assert fn.__doc__.startswith(f"``{name}``")
    resolved = resolve_factors({"cap": "leverage", "mine": no_news})
    assert [(f.name, f.remove) for f in resolved] == [("cap", cap_leverage), ("mine", no_news)]


@pytest.mark.parametrize(
    ("factors", "error", "match"),
    [
        (["leverage", "nope"], ValueError, r"factors\[1\]: unknown factor 'nope'; known: leverage"),
        ({"x": 3}, TypeError, r"factors\['x'\]: must be a built-in factor's name or a callable"),
        ({"x": "nope"}, ValueError, r"factors\['x'\]: unknown factor 'nope'; known: "),
        ([no_news], TypeError, r"factors\[0\]: a custom factor needs a name"),
        ("leverage", TypeError, "factors: must be a list of factor names or a mapping"),
        ([], ValueError, "factors: at least one factor is needed"),
        (["news", "news"], ValueError, "'news' is listed twice"),
        ({"joint": no_news}, ValueError, "'joint' is reserved"),
    ],
)
def test_bad_factors_are_refused(factors: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        resolve_factors(factors)  # type: ignore[arg-type]


def test_a_custom_factor_must_return_a_scenario(base: Scenario) -> None:
    (factor,) = resolve_factors({"broken": lambda s: None})
    with pytest.raises(TypeError, match=r"factors\['broken'\]: must return a Scenario, got"):
        factor.apply(base)
    (factor,) = resolve_factors({"bad": lambda s: s.replace(insurance_fund=-1.0)})
    with pytest.raises(ValueError, match=r"factors\['bad'\]: insurance_fund: must be in"):
        factor.apply(base)


def test_default_world_factors_change_what_they_say(base: Scenario) -> None:
    assert Fundamental().shocks == ()
    for name in ("leverage", "dealers", "arbitrage", "news", "margin_hikes"):
        assert FACTORS[name](base) != base, name
