"""docs/scenario.md is the generated reference, and its ranges are the ones enforced."""

from __future__ import annotations

import dataclasses
import math
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import pytest

from deleverage.margin_rules import MarginRule
from deleverage.scenario import (
    Clock,
    Distribution,
    Episode,
    InstrumentSpec,
    MarginChange,
    Population,
    PopulationChange,
    Scenario,
    Shock,
    Target,
    VolatilityTrigger,
    Waypoint,
)
from deleverage.scenario.reference import FIELDS, SECTIONS, Range, main, reference_text
from deleverage.scenarios import load_preset

ROOT = Path(__file__).resolve().parent.parent

# A valid instance of each class with required fields (or where the defaults would
# make a bound refused for another reason, e.g. a rate of 1 under percent maintenance).
BASE: dict[type, dict[str, Any]] = {
    InstrumentSpec: {"name": "X", "start_price": 100.0},
    Population: {
        "name": "p",
        "strategy": "noise",
        "accounts": 1,
        "instrument": "X",
        "cash": Distribution.fixed(1.0),
    },
    Shock: {"step": 0, "kind": "jump", "value": 0.0},
    Waypoint: {"step": 0, "price": 1.0},
    MarginChange: {"step": 0, "instrument": "X", "margin": MarginRule()},
    PopulationChange: {"step": 0, "params": {"levels": 2}},
    VolatilityTrigger: {
        "instrument": "X",
        "window_steps": 10,
        "threshold": 1.0,
        "margin": MarginRule(),
    },
    Episode: {"crash_day": 10},
    Target: {"fact": "kurtosis", "range": (0.0, 1.0)},
    Distribution: {"kind": "lognormal", "median": 1.0},
    MarginRule: {"maintenance": "fixed"},
}


def _build(cls: type, name: str, value: Any) -> None:
    if cls is Scenario:
        load_preset("default-hour").replace(**{name: value})
    else:
        cls(**{**BASE.get(cls, {}), name: value})


def _ranges() -> list[tuple[type, str, Range]]:
    return [
        (cls, name, allowed)
        for cls, fields in FIELDS.items()
        for name, (allowed, _) in fields.items()
        if isinstance(allowed, Range)
    ]


def test_the_page_is_the_generated_text() -> None:
    committed = (ROOT / "docs" / "scenario.md").read_text(encoding="utf-8")
    assert committed == reference_text(), (
        "docs/scenario.md is out of date: python -m deleverage.scenario.reference "
        "--write docs/scenario.md"
    )


def test_main_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "scenario.md"
    assert main(["--write", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == reference_text()


def _dataclasses_below(cls: type, seen: set[type]) -> set[type]:
    """Every dataclass a scenario file can hold, found from the type hints."""
    if cls in seen:
        return seen
    seen.add(cls)

    def visit(tp: Any) -> None:
        if dataclasses.is_dataclass(tp):
            _dataclasses_below(tp, seen)  # type: ignore[arg-type]
        for arg in get_args(tp):
            visit(arg)

    for tp in get_type_hints(cls).values():
        visit(tp)
    return seen


def test_every_table_and_field_is_documented() -> None:
    tables = _dataclasses_below(Scenario, set())
    # Population.params is a union of the strategies' classes.
    hint = get_type_hints(Population)["params"]
    assert get_origin(hint) in (Union, types.UnionType)
    documented = {cls for _, _, cls, _ in SECTIONS}
    assert tables <= documented, tables - documented
    assert len(documented) == len(SECTIONS)
    text = reference_text()
    for cls in documented:
        for f in dataclasses.fields(cls):
            assert f"| `{f.name}` |" in text, (cls.__name__, f.name)


def test_a_field_without_an_entry_fails_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = dict(FIELDS[Clock])
    del entries["dt"]
    monkeypatch.setitem(FIELDS, Clock, entries)
    with pytest.raises(KeyError, match=r"FIELDS\[Clock\]: undocumented fields \['dt'\]"):
        reference_text()


def test_defaults_are_the_dataclasses_defaults() -> None:
    text = reference_text()
    assert "| `steps` | integer | `3600` |" in text
    assert "| `max_leverage` | number | `50.0` |" in text
    assert '| `target_leverage` | table | `{ kind = "uniform", low = 2.0, high = 20.0 }` |' in text
    assert "| `max_liquidation_notional_per_step` | number | `inf` | (0, inf] |" in text
    assert "| `name` | string | required |" in text


def _outside(r: Range) -> list[float | int]:
    values: list[float | int] = []
    if math.isfinite(r.lo):
        if r.integer:
            values.append(int(r.lo) - 1)
        else:
            values.append(r.lo if r.lo_open else math.nextafter(r.lo, -math.inf))
    if math.isfinite(r.hi):
        if r.integer:
            values.append(int(r.hi) + 1)
        else:
            values.append(r.hi if r.hi_open else math.nextafter(r.hi, math.inf))
    return values


def _inside(r: Range) -> list[float | int]:
    """The closed ends (a range with a note has another constraint: not probed)."""
    if r.note:
        return []
    values: list[float | int] = []
    for end, is_open in ((r.lo, r.lo_open), (r.hi, r.hi_open)):
        if not is_open and (math.isfinite(end) or end > 0):
            values.append(int(end) if r.integer else float(end))
    return values


@pytest.mark.parametrize(
    ("cls", "name", "allowed"),
    _ranges(),
    ids=[f"{c.__name__}.{n}" for c, n, _ in _ranges()],
)
def test_documented_ranges_are_enforced(cls: type, name: str, allowed: Range) -> None:
    """Just past each end of a documented range is refused with an error naming the
    field; a closed end itself is accepted (or refused only for another field)."""
    for value in _outside(allowed):
        with pytest.raises((ValueError, TypeError)) as info:
            _build(cls, name, value)
        assert str(info.value).startswith(f"{name}:"), (value, str(info.value))
    for value in _inside(allowed):
        refused = ""
        try:
            _build(cls, name, value)
        except (ValueError, TypeError) as e:
            refused = str(e)
        assert not refused.startswith(f"{name}:"), (value, refused)
