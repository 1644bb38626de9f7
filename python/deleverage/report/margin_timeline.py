"""The margin an instrument required over a run, rebuilt from the scenario and the run's record.

The engine does not record its margin rule each step: the rule only changes
at known moments. It starts as ``InstrumentSpec.margin``; each scheduled
``policy.margin_changes`` entry replaces it from its step on; each volatility
trigger that fired (``Result.info["trigger_times"]``, None if it never did)
replaces it from that time on. Within one step the engine applies the
scheduled changes first, then the triggers in their listed order, so the
same order breaks ties here.

What a rule "is" depends on its kind, and the timeline says which:

- ``percent``: the maintenance rate, a fraction of notional;
- ``tiered``: the first bracket's rate, a fraction of notional (the rate of
  the smallest positions; larger ones pay more);
- ``closeout``: equity must stay above ``closeout_share`` of the initial
  margin, i.e. ``initial_rate * closeout_share`` of notional;
- ``fixed``: the maintenance amount per lot, in money.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from deleverage.margin_rules import MarginRule

if TYPE_CHECKING:
    from deleverage.result import Result
    from deleverage.scenario import Scenario

#: The unit of a rule's maintenance level, by its kind.
LEVEL_UNITS = {
    "percent": "fraction of notional",
    "tiered": "fraction of notional",
    "closeout": "fraction of notional",
    "fixed": "money per lot",
}


@dataclass(frozen=True)
class MarginEvent:
    """From ``time`` (seconds) on, ``rule`` holds; ``source`` says why."""

    time: float
    rule: MarginRule
    source: str  # "initial", "scheduled" or "trigger"


def maintenance_level(rule: MarginRule) -> float:
    """The one number a rule's maintenance comes down to (see the module's note)."""
    if rule.maintenance == "percent":
        return rule.maintenance_rate
    if rule.maintenance == "tiered":
        return rule.tiers[0][1]
    if rule.maintenance == "closeout":
        return rule.initial_rate * rule.closeout_share
    return rule.amount_per_lot


def margin_events(
    scenario: Scenario, instrument: str, trigger_times: Sequence[float | None] = ()
) -> list[MarginEvent]:
    """Every change of ``instrument``'s margin rule in a run, in the order applied.

    trigger_times: when each of ``scenario.policy.volatility_triggers`` fired
    (seconds; None for never), as ``Result.info["trigger_times"]`` holds them.
    """
    spec = scenario.instrument(instrument)
    triggers = scenario.policy.volatility_triggers
    if len(trigger_times) != len(triggers):
        raise ValueError(
            f"trigger_times: must have one entry per volatility trigger ({len(triggers)}), "
            f"got {len(trigger_times)}"
        )
    dt = scenario.clock.dt
    # (time, 0 for scheduled / 1 for triggers, position in its list): the engine's order.
    keyed: list[tuple[float, int, int, MarginEvent]] = []
    for k, change in enumerate(scenario.policy.margin_changes):
        if change.instrument == instrument:
            t = change.step * dt
            keyed.append((t, 0, k, MarginEvent(t, change.margin, "scheduled")))
    for k, (trigger, fired) in enumerate(zip(triggers, trigger_times, strict=True)):
        if trigger.instrument == instrument and fired is not None:
            t = float(fired)
            keyed.append((t, 1, k, MarginEvent(t, trigger.margin, "trigger")))
    keyed.sort(key=lambda x: x[:3])
    return [MarginEvent(0.0, spec.margin, "initial"), *(e for *_, e in keyed)]


def margin_timeline(result: Result, instrument: str | None = None) -> pd.DataFrame:
    """The step function of ``instrument``'s margin (the first instrument by default).

    One row per rule change (the initial rule at time 0 first), indexed by
    time in seconds: ``maintenance`` (the rule's kind), ``level`` (see
    ``maintenance_level``), ``unit`` (``LEVEL_UNITS``), ``initial_rate`` and
    ``source`` (initial, scheduled or trigger). A change that leaves the
    rule as it was keeps its row, so every notice shows.
    """
    scenario = result.scenario
    name = instrument if instrument is not None else scenario.instruments[0].name
    names = [inst.name for inst in scenario.instruments]
    if name not in names:
        raise ValueError(f"instrument: must be one of {names}, got {name!r}")
    fired = result.info.get("trigger_times", [None] * len(scenario.policy.volatility_triggers))
    events = margin_events(scenario, name, fired)
    frame = pd.DataFrame(
        {
            "maintenance": [e.rule.maintenance for e in events],
            "level": [maintenance_level(e.rule) for e in events],
            "unit": [LEVEL_UNITS[e.rule.maintenance] for e in events],
            "initial_rate": [e.rule.initial_rate for e in events],
            "source": [e.source for e in events],
        },
        index=pd.Index([e.time for e in events], dtype="float64", name="time"),
    )
    return frame


def level_at(timeline: pd.DataFrame, times: Sequence[float]) -> list[float]:
    """The timeline's ``level`` in force at each of ``times`` (seconds): the last
    change at or before it (several at one time: the last applied)."""
    index = timeline.index.to_numpy()
    levels = timeline["level"].to_numpy()
    out = []
    for t in times:
        k = int((index <= t).sum()) - 1
        out.append(float(levels[max(k, 0)]))
    return out
