"""A calibration described in TOML, for ``deleverage calibrate SPEC.toml``.

::

    scenario = "default-day"    # a preset name, or a scenario .toml relative to this file
    out = "day.calibration"     # where evaluations are stored (default: <spec>.calibration)
    seeds = 4                   # every candidate runs on seeds 0..3 (or a list of seeds)
    trials = 48                 # candidates the optimiser proposes
    batch = 8                   # proposed at once, then evaluated in parallel
    sampler = "tpe"             # tpe (default), cmaes or random
    loss = "mean"               # mean (seed means against the targets) or seeds (each seed)
    seed = 0                    # the optimiser's seed
    scale = 0.25                # the search runs Scenario.scaled(scale) (default 1)
    final_scale = 1.0           # the best few are checked again at this scale
    keep_accounts_below = 0     # populations of fewer accounts keep them all when scaled
    final_best = 3              # how many
    select = "loss"             # the answer: the least loss, "met": the most targets met, or
                                # "likely": the most targets the world is likely to meet

    [set]                       # fixed changes to the base scenario
    "clock.steps" = 43200

    [parameters.vol]            # a free parameter, named for tied expressions and tables
    path = "instruments.GOLD.fundamental.volatility"
    low = 0.05
    high = 0.5
    log = true                  # search log(value) uniformly
    integer = false             # integer values only

    [tied]                      # fields computed from the free parameters
    "populations.speculators.params.aggressiveness" = "200 / vol"

    [[targets]]                 # as a scenario's [[targets]]; none: the scenario's own
    fact = "vol_ratio"
    range = [0.7, 1.5]
    weight = 2.0

Errors name the key, e.g. ``parameters.vol.low``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deleverage.calibration.evaluate import check_figures
from deleverage.calibration.expressions import Expression
from deleverage.calibration.validate import seed_list
from deleverage.scenario import Scenario, Target, to_toml_str
from deleverage.scenario.distributions import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_str,
    set_field,
)
from deleverage.sweeps.paths import apply_paths, check_path
from deleverage.sweeps.seeds import check_seed
from deleverage.sweeps.spec import _flatten, read_spec_file, spec_header, spec_out

__all__ = [
    "LOSSES",
    "SAMPLERS",
    "SELECTIONS",
    "CalibrationSpec",
    "Parameter",
    "load_calibration",
    "parse_calibration",
]

SAMPLERS: tuple[str, ...] = ("tpe", "cmaes", "random")
#: How a range target enters the loss: by its seed mean, or seed by seed.
LOSSES: tuple[str, ...] = ("mean", "seeds")
#: How the answer is chosen among the candidates: the least loss, the most targets
#: met in their share of the seeds (as ``validate`` counts them), or the most targets
#: the world is likely to meet given its seeds (``targets_likely``), ties by loss.
SELECTIONS: tuple[str, ...] = ("loss", "met", "likely")
#: The spec's scalar settings, passed to ``CalibrationSpec`` as they are.
OPTION_KEYS = (
    "trials",
    "batch",
    "sampler",
    "loss",
    "seed",
    "scale",
    "final_scale",
    "keep_accounts_below",
    "final_best",
    "select",
)
TOP_KEYS = ("scenario", "out", "seeds", *OPTION_KEYS, "set", "parameters", "tied", "targets")


@dataclass(frozen=True)
class Parameter:
    """A free parameter: the scenario field at ``path`` searched over [``low``, ``high``]
    (uniformly in log(value) if ``log``; whole numbers if ``integer``)."""

    name: str
    path: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    def __post_init__(self) -> None:
        name = check_str("name", self.name)
        if not name.isidentifier():
            raise ValueError(f"name: must be an identifier (letters, digits, _), got {name!r}")
        check_str("path", self.path)
        check_bool("log", self.log)
        check_bool("integer", self.integer)
        low = check_float("low", self.low)
        high = check_float("high", self.high)
        if not high > low:
            raise ValueError(f"high: must be > low ({low}), got {high}")
        if self.log and not low > 0:
            raise ValueError(f"low: must be > 0 on a log scale, got {low}")
        if self.integer and (low != round(low) or high != round(high)):
            raise ValueError(f"low: an integer parameter needs whole bounds, got [{low}, {high}]")
        set_field(self, "low", low)
        set_field(self, "high", high)

    def middle(self) -> float:
        """The middle of the range (geometric on a log scale)."""
        mid = math.sqrt(self.low * self.high) if self.log else 0.5 * (self.low + self.high)
        return float(round(mid)) if self.integer else mid


@dataclass(frozen=True)
class CalibrationSpec:
    """Everything ``calibrate`` needs but the executor: the base scenario (with any
    fixed changes applied), the free and tied parameters, the targets (the
    scenario's own if none), the seeds, the search's size and scales."""

    scenario: Scenario
    parameters: tuple[Parameter, ...]
    targets: tuple[Target, ...] = ()
    tied: Mapping[str, str] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    trials: int = 48
    batch: int = 8
    sampler: str = "tpe"
    loss: str = "mean"
    seed: int = 0
    scale: float = 1.0
    final_scale: float = 1.0
    keep_accounts_below: int = 0
    final_best: int = 3
    select: str = "loss"
    out: Path | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scenario, Scenario):
            raise TypeError(f"scenario: must be a Scenario, got {type(self.scenario).__name__}")
        params = tuple(self.parameters)
        if not params:
            raise ValueError("parameters: at least one free parameter is needed")
        names: list[str] = []
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(f"parameters: must be Parameter objects, got {type(p).__name__}")
            if p.name in names:
                raise ValueError(f"parameters.{p.name}: named twice")
            names.append(p.name)
            _check_path(self.scenario, f"parameters.{p.name}.path", p.path)
        set_field(self, "parameters", params)
        tied = dict(self.tied)
        paths = [p.path for p in params]
        for path, text in tied.items():
            _check_path(self.scenario, f"tied.{path}", path)
            if path in paths:
                raise ValueError(f"tied.{path}: is also a free parameter")
            Expression(text, names, f"tied.{path}")
        set_field(self, "tied", tied)
        targets = tuple(self.targets) or self.scenario.targets
        if not targets:
            raise ValueError(
                "targets: none given, and the scenario declares none ([[targets]]); "
                "name the facts to fit"
            )
        for i, t in enumerate(targets):
            if not isinstance(t, Target):
                raise TypeError(f"targets[{i}]: must be a Target, got {type(t).__name__}")
        if all(t.weight == 0 for t in targets):
            raise ValueError("targets: every weight is 0; nothing to fit")
        check_figures(self.scenario.replace(targets=targets), targets)
        set_field(self, "targets", targets)
        set_field(self, "seeds", seed_list(self.seeds))
        set_field(self, "trials", check_int("trials", self.trials, 1, 1_000_000))
        set_field(self, "batch", check_int("batch", self.batch, 1, 10_000))
        check_choice("sampler", self.sampler, SAMPLERS)
        check_choice("loss", self.loss, LOSSES)
        set_field(self, "seed", check_seed("seed", self.seed))
        set_field(self, "scale", check_float("scale", self.scale, 0.0, 1e3, lo_open=True))
        set_field(
            self,
            "final_scale",
            check_float("final_scale", self.final_scale, 0.0, 1e3, lo_open=True),
        )
        set_field(
            self,
            "keep_accounts_below",
            check_int("keep_accounts_below", self.keep_accounts_below, 0, 2**62),
        )
        set_field(self, "final_best", check_int("final_best", self.final_best, 0, 1000))
        check_choice("select", self.select, SELECTIONS)
        # Every corner of the box must give a valid scenario: refused now, not mid-search.
        for p in params:
            for bound in ("low", "high"):
                values = {q.name: q.middle() for q in params}
                values[p.name] = getattr(p, bound)
                try:
                    apply_paths(self.scenario, self.paths(values))
                except (ValueError, TypeError) as e:
                    raise type(e)(f"parameters.{p.name}.{bound}: {e}") from None

    def paths(self, values: Mapping[str, float]) -> dict[str, Any]:
        """The scenario fields (dotted paths) of a candidate: free and tied."""
        names = [p.name for p in self.parameters]
        out: dict[str, Any] = {}
        for p in self.parameters:
            v = values[p.name]
            out[p.path] = round(v) if p.integer else float(v)
        for path, text in self.tied.items():
            out[path] = Expression(text, names, f"tied.{path}")({n: values[n] for n in names})
        return out

    def digest(self) -> str:
        """What a stored calibration must match to be resumed (all but ``trials``
        and ``final_best``, which a resumed search may raise, and ``select``, which
        only chooses among the stored runs)."""
        description = {
            "scenario": to_toml_str(self.scenario),
            "parameters": [vars(p) for p in self.parameters],
            "tied": self.tied,
            "targets": [repr(t) for t in self.targets],
            "seeds": list(self.seeds),
            "batch": self.batch,
            "sampler": self.sampler,
            "loss": self.loss,
            "seed": self.seed,
            "scale": self.scale,
            "final_scale": self.final_scale,
        }
        if self.keep_accounts_below:  # absent from earlier specs: their digests stand
            description["keep_accounts_below"] = self.keep_accounts_below
        text = json.dumps(description, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _check_path(scenario: Scenario, key: str, path: object) -> None:
    if not isinstance(path, str) or not path:
        raise TypeError(f"{key}: must be a dotted path string, got {path!r}")
    try:
        check_path(scenario, path)
    except ValueError as e:
        raise ValueError(f"{key}: {e}") from None


def _parameters(raw: object) -> tuple[Parameter, ...]:
    if not isinstance(raw, Mapping):
        raise TypeError(f"parameters: must be a table of tables, got {type(raw).__name__}")
    out = []
    for name, body in raw.items():
        if not isinstance(body, Mapping):
            raise TypeError(f"parameters.{name}: must be a table, got {type(body).__name__}")
        allowed = ("path", "low", "high", "log", "integer")
        for key in body:
            if key not in allowed:
                raise ValueError(f"parameters.{name}.{key}: unknown key; one of {allowed}")
        for key in ("path", "low", "high"):
            if key not in body:
                raise ValueError(f"parameters.{name}.{key}: missing required key")
        try:
            out.append(Parameter(name, **body))
        except (ValueError, TypeError) as e:
            raise type(e)(f"parameters.{name}.{e}") from None
    return tuple(out)


def _targets(raw: object) -> tuple[Target, ...]:
    from deleverage.scenario.toml_io import _decode_dataclass

    if not isinstance(raw, list):
        raise TypeError(f"targets: must be an array of tables, got {type(raw).__name__}")
    if not raw:
        raise ValueError("targets: the array is empty; leave it out to fit the scenario's own")
    return tuple(_decode_dataclass(Target, t, f"targets[{i}]") for i, t in enumerate(raw))


def parse_calibration(
    raw: Mapping[str, Any], base: str | os.PathLike[str] = "."
) -> CalibrationSpec:
    """A spec from its parsed TOML; relative paths are taken from ``base`` (and made
    absolute)."""
    base = Path(os.path.abspath(base))
    scenario, _, _ = spec_header(raw, base, TOP_KEYS, ("scenario", "parameters"))
    tied = raw.get("tied", {})
    if not isinstance(tied, Mapping):
        raise TypeError(f"tied: must be a table, got {type(tied).__name__}")
    seeds = raw.get("seeds", 4)
    if isinstance(seeds, list):
        seeds = tuple(seeds)
    options = {k: raw[k] for k in OPTION_KEYS if k in raw}
    return CalibrationSpec(
        scenario=scenario,
        parameters=_parameters(raw["parameters"]),
        targets=_targets(raw["targets"]) if "targets" in raw else (),
        tied=_flatten(tied),
        seeds=seeds,
        out=spec_out(raw, base),
        **options,
    )


def load_calibration(path: str | os.PathLike[str]) -> CalibrationSpec:
    """Read a spec file; without ``out`` the evaluations go to ``<spec name>.calibration/``
    beside it."""
    import dataclasses

    path = Path(path)
    spec = parse_calibration(read_spec_file(path), path.parent)
    if spec.out is None:
        spec = dataclasses.replace(spec, out=path.with_suffix(".calibration"))
    return spec
