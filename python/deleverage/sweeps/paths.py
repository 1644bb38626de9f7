"""Dotted paths into a Scenario: ``policy.max_liquidation_notional_per_step``,
``populations.speculators.params.max_leverage``, ``instruments.GOLD.fundamental.volatility``,
``populations.dealers.changes.0.params.var_volatility``.

A sweep names its parameters this way so that any field of the scenario can vary
without a hand-written setter per field. A path walks dataclass fields by name;
a tuple of named things (instruments, populations) is addressed by ``name`` or
by integer index (``populations.0`` or ``populations[0]``), any other tuple by
index (``instruments.GOLD.fundamental.shocks.0.value``); a table of set fields (a
population change's ``params``) by its keys, or by a key it does not set yet, which
the change then sets too (checked against the population's strategy).

Values are applied by rebuilding every dataclass on the way with
``dataclasses.replace``, so each value passes the same validation as a
hand-built scenario; all the paths of one row are applied together, so a row
may move two fields that constrain each other (a uniform's ``low`` and ``high``)
without an invalid state in between.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from deleverage.scenario import Scenario

__all__ = ["apply_paths", "check_path", "parse_path", "plain_value"]

Token = str | int

_INDEXED = re.compile(r"^([^\[\]]*)((?:\[\d+\])+)$")


def parse_path(path: str) -> tuple[Token, ...]:
    """The tokens of a dotted path: field names (str) and indices (int).

    ``populations[0].params`` and ``populations.0.params`` give the same tokens.
    """
    if not isinstance(path, str) or not path:
        raise ValueError(f"path: must be a non-empty dotted string, got {path!r}")
    tokens: list[Token] = []
    for part in path.split("."):
        if not part:
            raise ValueError(f"{path}: empty component in the dotted path")
        m = _INDEXED.match(part)
        if m:
            if m.group(1):
                tokens.append(m.group(1))
            tokens.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
        elif part.isdigit():
            tokens.append(int(part))
        elif "[" in part or "]" in part:
            raise ValueError(f"{path}: malformed index in {part!r}")
        else:
            tokens.append(part)
    return tuple(tokens)


def plain_value(value: Any) -> Any:
    """A numpy scalar as the Python scalar the dataclasses validate (np.bool_ -> bool, ...)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return tuple(plain_value(v) for v in value.tolist())
    if isinstance(value, list):
        return tuple(plain_value(v) for v in value)
    return value


def _join(prefix: str, token: Token) -> str:
    return f"{prefix}.{token}" if prefix else str(token)


def _tuple_index(items: tuple[Any, ...], token: Token, prefix: str, full: str) -> int:
    """The index of ``token`` (a name or an index) in a tuple field."""
    names = [getattr(x, "name", None) for x in items]
    named = all(isinstance(n, str) for n in names) and bool(items)
    if isinstance(token, int):
        if 0 <= token < len(items):
            return token
    elif named and token in names:
        return names.index(token)
    allowed = f"an index 0..{len(items) - 1}" if items else "nothing (the tuple is empty)"
    if named:
        allowed = f"{', '.join(map(str, names))} or {allowed}"
    raise ValueError(f"{full}: unknown item {token!r} at {prefix!r}; valid: {allowed}")


def _field_names(obj: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(obj)]


def _walk(obj: Any, tokens: tuple[Token, ...], full: str) -> Any:
    """The value at ``tokens`` below ``obj`` (ValueError naming ``full`` if none)."""
    prefix = ""
    owner: Any = None  # the nearest population on the way: its strategy's parameters
    for position, token in enumerate(tokens):
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            params = getattr(obj, "params", None)
            if dataclasses.is_dataclass(params) and not isinstance(params, type):
                owner = obj
            names = _field_names(obj)
            if not isinstance(token, str) or token not in names:
                where = repr(prefix) if prefix else "the scenario"
                close = difflib.get_close_matches(str(token), names, n=1, cutoff=0.6)
                guess = f"; did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"{full}: unknown field {token!r} at {where}; valid: {', '.join(names)}{guess}"
                )
            obj = getattr(obj, token)
        elif isinstance(obj, tuple):
            obj = obj[_tuple_index(obj, token, prefix, full)]
        elif isinstance(obj, Mapping):
            # A table of set fields (a population change's params): a key it sets, or, as
            # the path's last step, a field of the population's strategy it does not set
            # yet (the population checks the value as it checks the change's own).
            if token not in obj:
                fields = _field_names(owner.params) if owner is not None else []
                if position == len(tokens) - 1 and token in fields:
                    return None
                valid = ", ".join(map(str, obj)) or "nothing (the table is empty)"
                unset = [f for f in fields if f not in obj]
                more = (
                    f"; or, to end the path, one it does not set yet: {', '.join(unset)}"
                    if unset
                    else ""
                )
                raise ValueError(
                    f"{full}: unknown key {token!r} at {prefix!r}; valid: {valid}{more}"
                )
            obj = obj[token]
        else:
            raise ValueError(
                f"{full}: {prefix!r} is a {type(obj).__name__} value, it has no field {token!r}"
            )
        prefix = _join(prefix, token)
    return obj


def check_path(scenario: Scenario, path: str) -> None:
    """Raise ValueError (naming ``path`` and the valid names at the failing level)
    unless ``path`` addresses a field of ``scenario``."""
    tokens = parse_path(path)
    _walk(scenario, tokens, path)


# A tree of changes: token -> subtree, or token -> _Leaf(value).
@dataclasses.dataclass(frozen=True)
class _Leaf:
    value: Any
    path: str


def _tree(scenario: Scenario, values: Mapping[str, Any]) -> dict[Token, Any]:
    root: dict[Token, Any] = {}
    for path, value in values.items():
        tokens = parse_path(path)
        _walk(scenario, tokens, path)
        node = root
        for token in tokens[:-1]:
            sub = node.setdefault(token, {})
            if isinstance(sub, _Leaf):
                raise ValueError(f"{path}: overlaps the path {sub.path!r} set in the same row")
            node = sub
        if tokens[-1] in node:
            raise ValueError(f"{path}: set twice (or overlaps another path) in the same row")
        node[tokens[-1]] = _Leaf(plain_value(value), path)
    return root


def _leaf_value(current: Any, leaf: _Leaf) -> Any:
    """A mapping given for a dataclass field builds a new one of the same class,
    e.g. ``{"kind": "fixed", "value": 5.0}`` for a Distribution."""
    value = leaf.value
    if isinstance(value, Mapping) and dataclasses.is_dataclass(current):
        from deleverage.scenario.toml_io import _decode_dataclass

        return _decode_dataclass(type(current), dict(value), leaf.path)
    return value


def _rebuild(obj: Any, tree: dict[Token, Any], prefix: str) -> Any:
    if isinstance(obj, Mapping):
        table = dict(obj)
        for token, sub in tree.items():
            where = _join(prefix, token)
            table[str(token)] = (
                sub.value if isinstance(sub, _Leaf) else _rebuild(obj[token], sub, where)
            )
        return table
    if isinstance(obj, tuple):
        items = list(obj)
        for token, sub in tree.items():
            i = _tuple_index(obj, token, prefix, _join(prefix, token))
            where = _join(prefix, token)
            items[i] = (
                _leaf_value(items[i], sub)
                if isinstance(sub, _Leaf)
                else _rebuild(items[i], sub, where)
            )
        return tuple(items)
    changes: dict[str, Any] = {}
    for token, sub in tree.items():
        assert isinstance(token, str)
        current = getattr(obj, token)
        if isinstance(sub, _Leaf):
            changes[token] = _leaf_value(current, sub)
        else:
            changes[token] = _rebuild(current, sub, _join(prefix, token))
    try:
        return dataclasses.replace(obj, **changes)
    except (ValueError, TypeError) as e:
        raise type(e)(f"{prefix}.{e}" if prefix else str(e)) from None


def apply_paths(scenario: Scenario, values: Mapping[str, Any]) -> Scenario:
    """``scenario`` with each dotted path in ``values`` set to its value, validated.

    Errors: ValueError for a path that does not exist (naming the path and the
    valid names where it fails); the dataclasses' own ValueError or TypeError
    for a bad value, prefixed with the dotted path of the field; an error the
    whole scenario raises (a shock step past a shortened clock) is told which
    values were being set.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario: must be a Scenario, got {type(scenario).__name__}")
    if not values:
        return scenario
    tree = _tree(scenario, values)
    try:
        out = _rebuild(scenario, tree, "")
    except (ValueError, TypeError) as e:
        message = str(e)
        if not any(message.startswith(p) for p in values):
            setting = ", ".join(f"{p}={plain_value(v)!r}" for p, v in values.items())
            message = f"{message} (setting {setting})"
        raise type(e)(message) from None
    assert isinstance(out, Scenario)
    return out
