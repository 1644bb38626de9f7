"""The causes a counterfactual removes: transformations ``Scenario -> Scenario``.

Each built-in factor is a plain function that returns the same world with one
cause taken out and everything else untouched. ``FACTORS`` maps their names
to them; ``resolve_factors`` turns what a caller passes (names, or a mapping
of names to built-in names or to their own callables) into ``Factor``\\ s.

Common random numbers: ``simulate`` draws each population's accounts from
``SeedSequence([seed, k])`` (``k`` the population's position, cash first, then
the strategy's parameter) and addresses every engine draw by seed, stream,
step and account. Factors that only change parameters (``leverage``,
``dealers``, ``arbitrage``, ``news``, ``margin_hikes``, ``dealer_budgets``) keep every population
and account where it was, so the paired runs share their accounts' cash, their
activation clocks, the fair value's diffusion and the order flow's randomness;
they differ only by what the factor changed and what follows from it.
``cross_margin`` adds populations, see its docstring for what stays paired.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from deleverage.scenario import (
    AllocatorParams,
    Distribution,
    HolderParams,
    MarketMakerParams,
    Policy,
    Population,
    Scenario,
    SpeculatorParams,
    StrategyParams,
    ValueParams,
)
from deleverage.scenario.population_change import PopulationChange
from deleverage.scenario.populations import MAX_VOL

__all__ = [
    "DEFAULT_FACTORS",
    "FACTORS",
    "Factor",
    "FactorFunction",
    "cap_leverage",
    "crash_step",
    "divide_distribution",
    "isolate_cross_margin",
    "no_dealer_budgets",
    "no_margin_hikes",
    "no_news",
    "no_population_changes",
    "resolve_factors",
    "steady_arbitrage",
    "steady_dealers",
    "steady_dealers_in_crash",
]

#: A transformation that removes one cause from a world.
FactorFunction = Callable[[Scenario], Scenario]

#: What value traders' risk limit is measured against under ``arbitrage``: at an
#: annualised realized volatility of 1.0 their risk limit keeps 0.9996 of its size.
STEADY_VOL_REFERENCE = MAX_VOL / 2.0


def _replace_params(scenario: Scenario, cls: type[StrategyParams], **changes: object) -> Scenario:
    """Every population whose parameters are a ``cls`` with them changed as given,
    for the whole run: its scheduled changes no longer set those fields (a change
    left with nothing to set is dropped)."""
    pops = tuple(
        dataclasses.replace(
            p,
            params=dataclasses.replace(cast(Any, p.params), **changes),
            changes=_without_fields(p.changes, changes),
        )
        if isinstance(p.params, cls)
        else p
        for p in scenario.populations
    )
    return scenario.replace(populations=pops)


def _without_fields(
    scheduled: tuple[PopulationChange, ...], fields: Mapping[str, object]
) -> tuple[PopulationChange, ...]:
    out = []
    for change in scheduled:
        kept = {k: v for k, v in change.params.items() if k not in fields}
        if kept or change.activity is not None:
            out.append(dataclasses.replace(change, params=kept))
    return tuple(out)


def cap_leverage(scenario: Scenario) -> Scenario:
    """``leverage``: every population capped at 1x.

    Speculators' and allocators' ``target_leverage`` becomes ``fixed(1.0)`` and
    their ``max_leverage`` 1.0; value traders' and holders' ``leverage`` 1.0.
    Noise traders are unlevered already; market makers keep their inventory limits.
    Margin rules, cash and everything else are unchanged (speculators draw
    their cash before their leverage, so their accounts keep the same cash).
    """
    capped = _replace_params(
        scenario, SpeculatorParams, target_leverage=Distribution.fixed(1.0), max_leverage=1.0
    )
    capped = _replace_params(
        capped, AllocatorParams, target_leverage=Distribution.fixed(1.0), max_leverage=1.0
    )
    capped = _replace_params(capped, ValueParams, leverage=1.0)
    return _replace_params(capped, HolderParams, leverage=1.0)


def steady_dealers(scenario: Scenario) -> Scenario:
    """``dealers``: market makers never withdraw.

    Their ``vol_withdraw`` goes to its maximum (100, annualised) and their
    ``loss_withdraw`` to 1.0 (the whole capital), so they keep quoting through
    the crash; they still widen their quotes with volatility and lean against
    inventory.
    """
    return _replace_params(scenario, MarketMakerParams, vol_withdraw=MAX_VOL, loss_withdraw=1.0)


def steady_dealers_in_crash(scenario: Scenario) -> Scenario:
    """``dealers_in_crash``: market makers never withdraw from the crash on.

    The world as it is until the crash, and as ``dealers`` from then: a
    scheduled change at the crash's step takes every market maker's
    ``vol_withdraw`` to its maximum and its ``loss_withdraw`` to 1.0, and any
    later change keeps them there. The crash starts at the open of the
    episode's crash day (``Scenario.episode``), or, in a world without an
    episode, at its first fair-value jump (the news); a world with neither is
    refused. With common random numbers the paired runs are bit for bit the
    same until that step, so what differs after it is what the dealers'
    leaving did in the crash, and not what dealers who never leave would have
    let the run-up build (which ``dealers`` measures as well). A dealer
    already out at that step comes back as it would (after its
    ``calm_steps``).
    """
    step = crash_step(scenario)
    steady = {"vol_withdraw": MAX_VOL, "loss_withdraw": 1.0}
    pops = []
    for p in scenario.populations:
        if not isinstance(p.params, MarketMakerParams):
            pops.append(p)
            continue
        before = [c for c in p.changes if c.step < step]
        # Later changes keep their other fields; the steady ones win over theirs.
        after = [
            dataclasses.replace(c, params={**c.params, **steady})
            for c in p.changes
            if c.step >= step
        ]
        if not after or after[0].step != step:
            after.insert(0, PopulationChange(step, steady, note="dealers never withdraw"))
        pops.append(dataclasses.replace(p, changes=(*before, *after)))
    return scenario.replace(populations=tuple(pops))


def crash_step(scenario: Scenario) -> int:
    """The step a crash starts at: the open of the episode's crash day, else the
    first fair-value jump of any instrument (ValueError when there is neither)."""
    episode = scenario.episode
    if episode is not None:
        step = round(episode.crash_day * episode.day / scenario.clock.dt)
        if step >= scenario.clock.steps:
            raise ValueError(
                f"episode.crash_day: the crash day starts at step {step}, past the run's "
                f"{scenario.clock.steps} steps"
            )
        return step
    jumps = [
        shock.step
        for spec in scenario.instruments
        for shock in spec.fundamental.shocks
        if shock.kind == "jump"
    ]
    if not jumps:
        raise ValueError(
            "the scenario has no crash to start from: it declares no episode and no fair-value jump"
        )
    return min(jumps)


def no_dealer_budgets(scenario: Scenario) -> Scenario:
    """``dealer_budgets``: market makers carry no value-at-risk budget.

    Their ``var_volatility`` goes to 0, so the inventory they may carry stays
    their ``inventory_limit`` however volatile the market; they still withdraw
    as before, widen their quotes with volatility and lean against inventory.
    Where ``dealers`` asks what the dealers' leaving did, this asks what their
    shrinking balance sheet did (a long dealer beyond its room quotes offers
    only, so it sells into a storm).
    """
    return _replace_params(scenario, MarketMakerParams, var_volatility=0.0)


def steady_arbitrage(scenario: Scenario) -> Scenario:
    """``arbitrage``: value traders never step back.

    Their ``vol_exit`` goes to its maximum (100, annualised) and their
    ``vol_reference`` to 50, so their risk limit barely shrinks as realized
    volatility rises (``1 / (1 + (vol / 50)^2)``: 0.9996 at a volatility of 1.0)
    and they keep buying below fair value through the crash.
    """
    return _replace_params(
        scenario, ValueParams, vol_exit=MAX_VOL, vol_reference=STEADY_VOL_REFERENCE
    )


def no_news(scenario: Scenario) -> Scenario:
    """``news``: no scheduled fair-value shocks of any kind.

    Every instrument's ``fundamental.shocks`` becomes empty: no jumps, and no
    scheduled change of drift or volatility. The fair value's diffusion keeps
    its draws (they are addressed by seed and step), and so do its ordinary news
    items (``news_share``), so the paired fair values differ exactly by the
    shocks. Waypoints placed after a jump carry it (a story's level after the
    news): each is divided by the jumps that landed before it, so the path
    without the news is the same bridge, undisturbed.
    """
    instruments = []
    for i in scenario.instruments:
        f = i.fundamental
        jumps = [s for s in f.shocks if s.kind == "jump"]
        waypoints = tuple(
            dataclasses.replace(
                w, price=w.price * math.exp(-sum(s.value for s in jumps if s.step < w.step))
            )
            for w in f.waypoints
        )
        fundamental = dataclasses.replace(f, shocks=(), waypoints=waypoints)
        instruments.append(dataclasses.replace(i, fundamental=fundamental))
    return scenario.replace(instruments=tuple(instruments))


def no_margin_hikes(scenario: Scenario) -> Scenario:
    """``margin_hikes``: no scheduled margin changes and no volatility triggers.

    ``policy.margin_changes`` and ``policy.volatility_triggers`` become empty
    (scheduled cuts go too: the instruments keep their starting margin rules
    throughout); the per-step cap on liquidated notional stays.
    """
    policy: Policy = dataclasses.replace(scenario.policy, margin_changes=(), volatility_triggers=())
    return scenario.replace(policy=policy)


def no_population_changes(
    scenario: Scenario,
    populations: Collection[str] | None = None,
    *,
    steps: Collection[int] | None = None,
) -> Scenario:
    """``population_changes``: no scheduled changes of behaviour.

    Every population's ``changes`` (or, with ``populations``, only those named
    populations') become empty, so each keeps the parameters and activity it
    starts with for the whole run: a central bank's relief of the dealers'
    balance sheets, funds that come back on a given day, a broker's leverage
    cut do not happen. With ``steps``, only the changes at those steps go and
    the others stay (one policy day out of several); each step must be that
    of a change of a chosen population. Margin changes are ``margin_hikes``;
    everything else is unchanged. A world without scheduled changes comes
    back unchanged.
    """
    known = {p.name for p in scenario.populations}
    if populations is not None:
        if isinstance(populations, str) or not isinstance(populations, Collection):
            raise TypeError(
                "populations: must be a collection of population names, "
                f"got {type(populations).__name__}"
            )
        unknown = sorted(set(populations) - known)
        if unknown:
            raise ValueError(
                f"populations: unknown population(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
    chosen = known if populations is None else set(populations)
    scheduled = {c.step for p in scenario.populations if p.name in chosen for c in p.changes}
    if steps is not None:
        if isinstance(steps, str) or not isinstance(steps, Collection):
            raise TypeError(f"steps: must be a collection of steps, got {type(steps).__name__}")
        if not all(isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in steps):
            raise TypeError(f"steps: must be integers, got {sorted(map(repr, steps))}")
        steps = {int(k) for k in steps}
        missing = sorted(steps - scheduled)
        if missing:
            raise ValueError(
                f"steps: no change of the chosen populations at step(s) {missing}; "
                f"their changes are at {sorted(scheduled) or 'no step'}"
            )
    if not scheduled:
        return scenario
    gone = scheduled if steps is None else steps
    pops = tuple(
        dataclasses.replace(p, changes=tuple(c for c in p.changes if c.step not in gone))
        if p.name in chosen
        else p
        for p in scenario.populations
    )
    return scenario.replace(populations=pops)


def divide_distribution(dist: Distribution, parts: int) -> Distribution:
    """``dist`` with every sample divided by ``parts`` (>= 1); the mean is divided too."""
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValueError(f"parts: must be an integer >= 1, got {parts!r}")
    if dist.kind == "fixed":
        return Distribution.fixed(dist.value / parts)
    if dist.kind == "uniform":
        return Distribution.uniform(dist.low / parts, dist.high / parts)
    if dist.kind == "lognormal":
        return Distribution.lognormal(dist.median / parts, dist.sigma)
    return Distribution.discrete([v / parts for v in dist.values], dist.weights)


def isolate_cross_margin(scenario: Scenario) -> Scenario:
    """``cross_margin``: every population trading several instruments is split
    into one isolated population per instrument.

    A population with ``also`` (n instruments in all) becomes n populations
    named ``{name}_{instrument}``, each with the same number of accounts, the
    same strategy, parameters and activity, ``margin_mode = "isolated"``, one
    instrument, and cash drawn from the original distribution scaled by the
    instrument's budget share (1/n when the population gives none: the engine
    sizes a cross account's decision on each instrument on that share of its
    budget, so the money per instrument is the same in expectation, and so is
    the total). Populations on one instrument, even cross-margined ones, are left
    alone; a scenario without populations trading several instruments comes
    back unchanged.

    Common random numbers hold only for the untouched populations: the piece on
    the home instrument takes the original population's place (same position,
    same accounts, each with exactly 1/n of the cash it had), and the other
    pieces are appended after every existing population, so no other account
    moves; but the appended pieces draw new accounts and new activation
    clocks, and the home piece's orders are no longer those of a portfolio.
    """
    names = {p.name for p in scenario.populations}
    kept: list[Population] = []
    appended: list[Population] = []
    for pop in scenario.populations:
        if not pop.also:
            kept.append(pop)
            continue
        for j, instrument in enumerate(pop.traded):
            cash = (
                pop.cash.scaled(pop.budget_shares[j])
                if pop.budget_shares
                else divide_distribution(pop.cash, len(pop.traded))
            )
            name = f"{pop.name}_{instrument}"
            while name in names:
                name += "_isolated"
            names.add(name)
            piece = dataclasses.replace(
                pop,
                name=name,
                instrument=instrument,
                also=(),
                margin_mode="isolated",
                cash=cash,
                budget_shares=(),
            )
            (kept if j == 0 else appended).append(piece)
    if not appended:
        return scenario
    return scenario.replace(populations=(*kept, *appended))


#: The built-in factors by name.
FACTORS: dict[str, FactorFunction] = {
    "leverage": cap_leverage,
    "dealers": steady_dealers,
    "dealers_in_crash": steady_dealers_in_crash,
    "arbitrage": steady_arbitrage,
    "news": no_news,
    "margin_hikes": no_margin_hikes,
    "cross_margin": isolate_cross_margin,
    "dealer_budgets": no_dealer_budgets,
    "population_changes": no_population_changes,
}

#: The factors ``counterfactual`` removes unless told otherwise.
DEFAULT_FACTORS: tuple[str, ...] = ("leverage", "dealers", "news", "margin_hikes", "cross_margin")


@dataclass(frozen=True)
class Factor:
    """A named cause and the transformation that removes it from a world."""

    name: str
    remove: FactorFunction

    def apply(self, scenario: Scenario) -> Scenario:
        """The world without this cause; a callable that does not return a
        Scenario is refused with the factor's name."""
        try:
            world = self.remove(scenario)
        except (ValueError, TypeError) as e:
            raise type(e)(f"factors[{self.name!r}]: {e}") from None
        if not isinstance(world, Scenario):
            raise TypeError(
                f"factors[{self.name!r}]: must return a Scenario, got {type(world).__name__}"
            )
        return world


def _builtin(name: object, field: str) -> FactorFunction:
    if not isinstance(name, str) or name not in FACTORS:
        raise ValueError(
            f"{field}: unknown factor {name!r}; known: {', '.join(FACTORS)} "
            "(or pass a mapping of names to callables)"
        )
    return FACTORS[name]


def resolve_factors(
    factors: Sequence[str] | Mapping[str, str | FactorFunction],
) -> tuple[Factor, ...]:
    """The factors to remove, in order.

    factors: names of built-in factors (see ``FACTORS``), or a mapping from a
    name to a built-in factor's name or to a callable ``Scenario -> Scenario``.
    Names must be unique and non-empty.
    """
    resolved: list[Factor] = []
    if isinstance(factors, Mapping):
        for name, value in factors.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"factors: names must be non-empty strings, got {name!r}")
            field = f"factors[{name!r}]"
            if isinstance(value, str):
                resolved.append(Factor(name, _builtin(value, field)))
            elif callable(value):
                resolved.append(Factor(name, value))
            else:
                raise TypeError(
                    f"{field}: must be a built-in factor's name or a callable "
                    f"Scenario -> Scenario, got {type(value).__name__}"
                )
    elif isinstance(factors, (str, bytes)) or not isinstance(factors, Sequence):
        raise TypeError(
            "factors: must be a list of factor names or a mapping of names to callables, "
            f"got {type(factors).__name__}"
        )
    else:
        for k, name in enumerate(factors):
            if callable(name) and not isinstance(name, str):
                raise TypeError(
                    f"factors[{k}]: a custom factor needs a name; pass a mapping {{name: callable}}"
                )
            resolved.append(Factor(str(name), _builtin(name, f"factors[{k}]")))
    if not resolved:
        raise ValueError(f"factors: at least one factor is needed; known: {', '.join(FACTORS)}")
    seen: set[str] = set()
    for f in resolved:
        if f.name in seen:
            raise ValueError(f"factors: {f.name!r} is listed twice")
        if f.name in RESERVED:
            raise ValueError(f"factors: {f.name!r} is reserved for a row of the result")
        seen.add(f.name)
    return tuple(resolved)


#: Names of the result's rows that are not factors.
RESERVED: frozenset[str] = frozenset({"baseline", "joint", "remainder"})
