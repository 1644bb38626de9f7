"""A scheduled change of a population's behaviour during a run.

A central bank that relieves dealers' balance sheets, a broker that cuts the
leverage it grants, value funds that get new money: from a step on, a
population decides with some of its parameters changed (and acts as often as
``activity`` says). The population checks the fields against its strategy's
parameter class; the engine receives the whole parameter struct from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from deleverage.scenario.distributions import (
    check_float,
    check_int,
    check_str,
    set_field,
)
from deleverage.scenario.fundamental import MAX_STEPS

#: A parameter's new value: a number, a flag, a choice, or a list of names.
ParamValue = float | int | bool | str | tuple[str, ...]


@dataclass(frozen=True)
class PopulationChange:
    """From ``step`` (>= 0, < clock.steps) on, the population decides with
    ``params`` (field name -> new value, over its parameters as they stand
    then: earlier changes included) and acts ``activity`` times an hour per
    account (None: as before; the gaps already drawn stand). A change sets at
    least one of the two. ``note``: why (the event it stands for).

    Per-account parameters drawn from a distribution at the start (a dealer's
    depth, a speculator's leverage) are not redrawn, so they cannot change.
    """

    step: int
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    activity: float | None = None
    note: str = ""

    def __post_init__(self) -> None:
        set_field(self, "step", check_int("step", self.step, 0, MAX_STEPS - 1))
        if not isinstance(self.params, Mapping):
            raise TypeError(
                f"params: must be a table of field names and values, "
                f"got {type(self.params).__name__}"
            )
        params: dict[str, Any] = {}
        for name, value in self.params.items():
            check_str("params", name)
            # A list of names (stress_instruments) is stored as a tuple, as the classes do.
            params[name] = tuple(value) if isinstance(value, list) else value
        set_field(self, "params", params)
        if self.activity is not None:
            set_field(
                self,
                "activity",
                check_float("activity", self.activity, 0.0, 3600.0, lo_open=True),
            )
        check_str("note", self.note, nonempty=False)
        if not params and self.activity is None:
            raise ValueError("params: a change sets at least one parameter or the activity")
