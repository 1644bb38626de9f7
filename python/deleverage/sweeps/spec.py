"""A sweep described in TOML, for ``deleverage sweep SPEC.toml``.

::

    scenario = "default"        # a preset name, or a scenario .toml relative to this file
    out = "leverage-sweep"      # the Parquet dataset directory, relative to this file
    seeds = 4                   # runs per point, or a list of seeds used at every point
    seed = 0                    # the sweep's seed (per-run seeds are spawned from it)
    series = false              # also store each run's per-step series

    [set]                       # fixed for every run (applied to the base scenario)
    "clock.steps" = 1800

    [space.grid]                # exactly one of grid, lhs, random, table
    "populations.speculators.params.max_leverage" = [5.0, 10.0, 20.0]

Relative paths (``scenario``, ``out``) are taken from the spec file's folder, not
from the current one. Keys are dotted paths; quoted or not (TOML turns an unquoted dotted key into
nested tables, which are flattened back into the same path). ``[space.lhs]``
and ``[space.random]`` take ``samples``, an optional ``seed`` and a
``[space.lhs.ranges]`` table of ``[low, high]`` pairs; ``[[space.table]]`` is a
list of rows naming the same paths. Errors name the key, e.g. ``space.lhs.samples``.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from deleverage.scenario import Scenario
from deleverage.sweeps.paths import apply_paths
from deleverage.sweeps.seeds import SeedPlan
from deleverage.sweeps.space import Grid, LatinHypercube, RandomSamples, Space, Table

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["SweepSpec", "load_spec", "parse_spec", "read_spec_file", "spec_header", "spec_out"]

TOP_KEYS = ("scenario", "out", "seeds", "seed", "series", "set", "space")
SPACE_KINDS = ("grid", "lhs", "random", "table")


@dataclass(frozen=True)
class SweepSpec:
    """A parsed spec: everything ``sweep`` needs but the executor.

    ``out`` is an absolute path; ``source`` says where the scenario came from: a
    preset's name, or the absolute path of its .toml file."""

    scenario: Scenario
    space: Space
    seeds: int | tuple[int, ...] = 1
    seed: int = 0
    out: Path | None = None
    series: bool = False
    fixed: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (arrays and scalars end a path)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key}: must be a table, got {type(value).__name__}")
    return value


def _scenario(ref: object, base: Path) -> tuple[Scenario, str]:
    """The scenario ``ref`` names and where it came from (a preset's name or the
    absolute path of its file)."""
    from deleverage.scenario import load_toml
    from deleverage.scenarios import PRESETS, load_preset

    if not isinstance(ref, str) or not ref:
        raise TypeError(f"scenario: must be a preset name or a .toml path, got {ref!r}")
    if ref in PRESETS:
        return load_preset(ref), ref
    path = Path(os.path.abspath(base / ref))
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ValueError(f"scenario: no such file {str(path)!r}")
        try:
            return load_toml(path), str(path)
        except OSError as err:
            raise ValueError(f"scenario: {str(path)!r}: {err.strerror or err}") from None
    raise ValueError(
        f"scenario: {ref!r} is neither a .toml file nor a preset; presets: {', '.join(PRESETS)}"
    )


def _space(raw: Mapping[str, Any]) -> Space:
    kinds = [k for k in raw if k in SPACE_KINDS]
    unknown = [k for k in raw if k not in SPACE_KINDS]
    if unknown:
        raise ValueError(
            f"space.{unknown[0]}: unknown kind of space; one of {', '.join(SPACE_KINDS)}"
        )
    if len(kinds) != 1:
        raise ValueError(
            f"space: must hold exactly one of {', '.join(SPACE_KINDS)}, got "
            f"{', '.join(kinds) if kinds else 'none'}"
        )
    kind = kinds[0]
    body = raw[kind]
    if kind == "grid":
        if not isinstance(body, Mapping):
            raise TypeError(f"space.grid: must be a table, got {type(body).__name__}")
        return Grid(_flatten(body))
    if kind == "table":
        if not isinstance(body, list):
            raise TypeError(f"space.table: must be an array of tables, got {type(body).__name__}")
        rows = [_flatten(r) if isinstance(r, Mapping) else r for r in body]
        return Table(rows)
    if not isinstance(body, Mapping):
        raise TypeError(f"space.{kind}: must be a table, got {type(body).__name__}")
    extra = [k for k in body if k not in ("samples", "seed", "ranges")]
    if extra:
        raise ValueError(f"space.{kind}.{extra[0]}: unknown key; expected samples, seed, ranges")
    for key in ("samples", "ranges"):
        if key not in body:
            raise ValueError(f"space.{kind}.{key}: missing required key")
    ranges = body["ranges"]
    if not isinstance(ranges, Mapping):
        raise TypeError(f"space.{kind}.ranges: must be a table, got {type(ranges).__name__}")
    cls = LatinHypercube if kind == "lhs" else RandomSamples
    return cls(_flatten(ranges), body["samples"], body.get("seed", 0))


def spec_header(
    raw: Mapping[str, Any], base: Path, allowed: tuple[str, ...], required: tuple[str, ...]
) -> tuple[Scenario, str, dict[str, Any]]:
    """What every spec file shares: its keys checked, its ``scenario`` loaded (relative to
    ``base``) with its ``[set]`` applied; returns (scenario, where it came from, the set)."""
    for key in raw:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            guess = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"{key}: unknown key; expected one of {', '.join(allowed)}{guess}")
    for key in required:
        if key not in raw:
            raise ValueError(f"{key}: missing required key")
    scenario, source = _scenario(raw["scenario"], base)
    fixed = _flatten(_table(raw, "set")) if "set" in raw else {}
    if fixed:
        try:
            scenario = apply_paths(scenario, fixed)
        except (ValueError, TypeError) as e:
            raise type(e)(f"set: {e}") from None
    return scenario, source, fixed


def spec_out(raw: Mapping[str, Any], base: Path) -> Path | None:
    """The spec's ``out`` folder, absolute (None without one)."""
    out = raw.get("out")
    if out is None:
        return None
    if not isinstance(out, str) or not out:
        raise TypeError(f"out: must be a directory path (a string), got {out!r}")
    return Path(os.path.abspath(base / out))


def parse_spec(raw: Mapping[str, Any], base: str | os.PathLike[str] = ".") -> SweepSpec:
    """A spec from its parsed TOML; relative paths are taken from ``base`` (and made
    absolute)."""
    base = Path(os.path.abspath(base))
    scenario, source, fixed = spec_header(raw, base, TOP_KEYS, ("scenario", "space"))
    space = _space(_table(raw, "space"))
    seeds = raw.get("seeds", 1)
    if isinstance(seeds, list):
        seeds = tuple(seeds)
    seed = raw.get("seed", 0)
    SeedPlan(seeds, seed)  # checks seeds and seed now, naming the key
    series = raw.get("series", False)
    if not isinstance(series, bool):
        raise TypeError(f"series: must be a boolean, got {type(series).__name__}")
    return SweepSpec(
        scenario=scenario,
        space=space,
        seeds=seeds,
        seed=seed,
        out=spec_out(raw, base),
        series=series,
        fixed=fixed,
        source=source,
    )


def read_spec_file(path: Path) -> dict[str, Any]:
    """A spec file's TOML; a missing file or bad syntax is a ValueError naming ``spec``."""
    if not path.is_file():
        raise ValueError(f"spec: no such file {str(path)!r}")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"spec: {path}: {e}") from None
    except OSError as err:
        raise ValueError(f"spec: {str(path)!r}: {err.strerror or err}") from None


def load_spec(path: str | os.PathLike[str]) -> SweepSpec:
    """Read a spec file; its relative paths are taken from its folder, and without an
    ``out`` key the rows go to ``<spec name>.sweep/`` beside it."""
    path = Path(os.path.abspath(path))
    spec = parse_spec(read_spec_file(path), path.parent)
    if spec.out is None:
        spec = replace(spec, out=path.with_suffix(".sweep"))
    return spec
