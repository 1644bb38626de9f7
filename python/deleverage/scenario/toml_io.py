"""Scenarios to and from TOML, with an exact round trip: ``from_toml_str(to_toml_str(s)) == s``.

The mapping is generic over the dataclasses' fields and type hints:

- a dataclass is a table keyed by its field names; a field holding None is
  left out, and a missing key takes the field's default (classes marked
  ``__toml_omit_defaults__``, i.e. ``Distribution``, also leave out fields at
  their defaults);
- a tuple is an array (of tables for dataclasses; ``MarginRule.tiers`` is an
  array of ``[floor, rate]`` pairs);
- floats are written repr-exact by tomli-w (``inf`` included);
- ``Population.params`` is a table whose class is chosen by the population's
  ``strategy``.

Errors name the key path, e.g. ``populations[0].leverage: unknown field``;
the objects' own validation errors get the path of the table prefixed.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import os
import sys
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import tomli_w

from deleverage.scenario.populations import Population
from deleverage.scenario.scenario import Scenario

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["from_toml_str", "load_toml", "save_toml", "to_toml_str"]

PathLike = str | os.PathLike[str]

# Fields typed as a union of several dataclasses: how to pick the class from the
# enclosing table (already known to hold the discriminating key).
_UNION_CHOOSERS: dict[tuple[type, str], Callable[[Mapping[str, Any]], type]] = {
    (Population, "params"): lambda table: Population.params_class(table["strategy"]),
}


# ---------------------------------------------------------------- writing


def to_toml_str(scenario: Scenario) -> str:
    """The scenario as a TOML document."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    return tomli_w.dumps(_encode(scenario))


def save_toml(scenario: Scenario, path: PathLike) -> None:
    """Write the scenario to ``path`` as TOML (UTF-8)."""
    text = to_toml_str(scenario)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def _is_default(value: Any, default: Any) -> bool:
    # repr tells -0.0 from 0.0 (equal, but written so the round trip is bit-exact).
    return bool(value == default) and repr(value) == repr(default)


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        omit_defaults = getattr(type(value), "__toml_omit_defaults__", False)
        table: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if v is None or (omit_defaults and _is_default(v, f.default)):
                continue
            table[f.name] = _encode(v)
        return table
    if isinstance(value, Mapping):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_encode(v) for v in value]
    if isinstance(value, (bool, int, float, str, datetime.datetime)):
        return value  # a datetime (``clock.start``, aware, UTC) is a TOML offset date-time
    raise TypeError(f"cannot write a {type(value).__name__} to TOML")  # pragma: no cover


# ---------------------------------------------------------------- reading


def from_toml_str(text: str) -> Scenario:
    """Parse and validate a scenario from a TOML document."""
    scenario: Scenario = _decode_dataclass(Scenario, tomllib.loads(text), "")
    return scenario


def load_toml(path: PathLike) -> Scenario:
    """Read and validate a scenario from a TOML file.

    A TOML syntax error is a ValueError naming the file and the line; an error of a
    value names its dotted path (``populations[0].accounts: ...``). File names in it
    (recorded paths, an accounts snapshot) are taken relative to the file's folder."""
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{os.fsdecode(path)}: TOML syntax error: {e}") from None
    scenario: Scenario = _decode_dataclass(Scenario, data, "")
    from deleverage.data.files import resolved

    # Files it names (recorded paths, accounts) are relative to the TOML file's folder.
    return resolved(scenario, Path(path).resolve().parent)


def _suggest(key: str, valid: list[str]) -> str:
    """``valid: a, b; did you mean 'x'?`` (the guess only when one is close)."""
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    return f"valid: {', '.join(valid)}{guess}"


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(raw: object) -> str:
    return {dict: "table", list: "array", str: "string", bool: "boolean"}.get(
        type(raw), type(raw).__name__
    )


def _decode_dataclass(cls: type[Any], raw: Any, path: str) -> Any:
    if not isinstance(raw, dict):
        raise TypeError(f"{path or 'document'}: expected a table, got {_type_name(raw)}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise ValueError(f"{_join(path, key)}: unknown field; {_suggest(key, list(fields))}")
    for name, f in fields.items():
        no_default = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if no_default and name not in raw:
            raise ValueError(f"{_join(path, name)}: missing required field")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        sub = _join(path, key)
        chooser = _UNION_CHOOSERS.get((cls, key))
        if chooser is not None:
            try:
                chosen = chooser(raw)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{_join(path, str(e))}") from None
            kwargs[key] = _decode_dataclass(chosen, value, sub)
        else:
            kwargs[key] = _decode(hints[key], value, sub)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as e:
        raise type(e)(_join(path, str(e))) from None


def _decode(tp: Any, raw: Any, path: str) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _decode_dataclass(tp, raw, path)  # type: ignore[arg-type]
    if origin is Union or origin is types.UnionType:
        options = [a for a in get_args(tp) if a is not type(None)]
        if len(options) != 1:  # pragma: no cover - every such field has a chooser
            raise TypeError(f"{path}: no rule to choose among {options}")
        return _decode(options[0], raw, path)
    if origin is Literal:
        if not isinstance(raw, str):
            choices = ", ".join(map(str, get_args(tp)))
            raise TypeError(f"{path}: expected one of {choices} (a string), got {_type_name(raw)}")
        return raw  # the class checks the choice
    if origin is Mapping or origin is dict:
        # A table of field names and values a class checks (a population change's params).
        if not isinstance(raw, dict):
            raise TypeError(f"{path}: expected a table, got {_type_name(raw)}")
        out: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, dict) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)
            ):
                raise TypeError(
                    f"{_join(path, key)}: expected a number, a boolean, a string "
                    f"or an array of strings, got {_type_name(value)}"
                )
            out[key] = tuple(value) if isinstance(value, list) else value
        return out
    if origin is tuple:
        if not isinstance(raw, list):
            raise TypeError(f"{path}: expected an array, got {_type_name(raw)}")
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(raw))
        if len(raw) != len(args):
            raise ValueError(f"{path}: expected an array of {len(args)} items, got {len(raw)}")
        items = zip(args, raw, strict=True)
        return tuple(_decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(items))
    if tp is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise TypeError(f"{path}: expected a number, got {_type_name(raw)}")
        return float(raw)
    if tp is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise TypeError(f"{path}: expected an integer, got {_type_name(raw)}")
        return raw
    if tp is bool:
        if not isinstance(raw, bool):
            raise TypeError(f"{path}: expected a boolean, got {_type_name(raw)}")
        return raw
    if tp is str:
        if not isinstance(raw, str):
            raise TypeError(f"{path}: expected a string, got {_type_name(raw)}")
        return raw
    if tp is datetime.datetime:
        if not isinstance(raw, (datetime.date, datetime.time, str)):
            raise TypeError(
                f"{path}: expected a date-time (2025-12-28T00:00:00Z), got {_type_name(raw)}"
            )
        return raw  # the class checks it (an offset is required)
    raise TypeError(f"{path}: no TOML mapping for {tp!r}")  # pragma: no cover
