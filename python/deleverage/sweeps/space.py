"""Parameter spaces: which values each dotted path takes, one row per parameter point.

A space is a recipe that yields a DataFrame of parameter points (one column per
dotted path, one row per point); the sweep runs every point with every seed.
Four kinds:

- ``Grid({path: [values...]})``: every combination (the first path varies slowest);
- ``RandomSamples({path: (low, high)}, samples, seed)``: independent uniform draws;
- ``LatinHypercube({path: (low, high)}, samples, seed)``: a Latin-hypercube design
  (``scipy.stats.qmc``): each range cut into ``samples`` strata, each stratum hit once;
- ``Table(rows)``: an explicit DataFrame or list of dicts.

A range whose bounds are both integers draws integers in [low, high] (for
fields such as ``clock.steps``). Points are deterministic for a given space,
so a sweep can be resumed and its points compared with a stored one.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from deleverage.sweeps.paths import parse_path
from deleverage.sweeps.seeds import check_seed

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_POINTS",
    "Grid",
    "LatinHypercube",
    "RandomSamples",
    "Space",
    "Table",
    "as_space",
    "points_digest",
]

#: The most parameter points one space may hold (the runs are points x seeds).
MAX_POINTS = 100_000_000


@runtime_checkable
class Space(Protocol):
    """Anything with ``paths`` and ``points()`` is a space."""

    @property
    def paths(self) -> tuple[str, ...]: ...

    def points(self) -> pd.DataFrame: ...


def _check_path_key(field_name: str, key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"{field_name}: keys must be dotted-path strings, got {key!r}")
    try:
        parse_path(key)
    except ValueError as e:
        raise ValueError(f"{field_name}: {e}") from None
    return key


def _values(field_name: str, values: object) -> tuple[Any, ...]:
    import pandas as pd

    if isinstance(values, (str, bytes, Mapping)) or not isinstance(
        values, (Sequence, np.ndarray, pd.Series, pd.Index)
    ):
        raise TypeError(
            f"{field_name}: must be a non-empty list of values, got {type(values).__name__}"
        )
    items = tuple(values.tolist() if hasattr(values, "tolist") else values)
    if not items:
        raise ValueError(f"{field_name}: must be a non-empty list of values, got []")
    return items


@dataclass(frozen=True)
class Grid:
    """Every combination of the listed values: ``{path: [v1, v2, ...], ...}``.

    The number of points is the product of the list lengths; the first path
    varies slowest (``itertools.product`` order).
    """

    axes: Mapping[str, Sequence[Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.axes, Mapping):
            raise TypeError(
                f"space.grid: must be a mapping of dotted paths to lists, "
                f"got {type(self.axes).__name__}"
            )
        if not self.axes:
            raise ValueError("space.grid: must name at least one path, got {}")
        axes: dict[str, tuple[Any, ...]] = {}
        for key, values in self.axes.items():
            path = _check_path_key("space.grid", key)
            axes[path] = _values(f"space.grid[{path!r}]", values)
        size = math.prod(len(v) for v in axes.values())
        if size > MAX_POINTS:
            raise ValueError(f"space.grid: must hold <= {MAX_POINTS} points, got {size}")
        object.__setattr__(self, "axes", axes)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.axes)

    @property
    def size(self) -> int:
        """The number of points: the product of the list lengths."""
        return math.prod(len(v) for v in self.axes.values())

    def points(self) -> pd.DataFrame:
        import pandas as pd

        lengths = [len(v) for v in self.axes.values()]
        index = np.indices(lengths).reshape(len(lengths), -1)
        columns = {}
        for (path, values), idx in zip(self.axes.items(), index, strict=True):
            columns[path] = _column([values[i] for i in idx])
        return pd.DataFrame(columns)


def _column(values: list[Any]) -> Any:
    """A column keeping Python ints as int64 and floats as float64 (objects otherwise)."""
    if values and all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if values and all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if values and all(isinstance(v, Real) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    if values and all(isinstance(v, str) for v in values):
        return np.array(values, dtype=object)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _ranges(field_name: str, ranges: object) -> dict[str, tuple[float | int, float | int]]:
    if not isinstance(ranges, Mapping):
        raise TypeError(
            f"{field_name}: must be a mapping of dotted paths to [low, high], "
            f"got {type(ranges).__name__}"
        )
    if not ranges:
        raise ValueError(f"{field_name}: must name at least one path, got {{}}")
    out: dict[str, tuple[float | int, float | int]] = {}
    for key, bounds in ranges.items():
        path = _check_path_key(field_name, key)
        where = f"{field_name}[{path!r}]"
        if isinstance(bounds, (str, bytes, Mapping)) or not isinstance(
            bounds, (Sequence, np.ndarray)
        ):
            raise TypeError(f"{where}: must be [low, high], got {type(bounds).__name__}")
        pair = tuple(bounds.tolist() if isinstance(bounds, np.ndarray) else bounds)
        if len(pair) != 2:
            raise ValueError(f"{where}: must be [low, high] (two numbers), got {len(pair)} items")
        for name, x in zip(("low", "high"), pair, strict=True):
            if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(float(x)):
                raise ValueError(f"{where}: {name} must be a finite number, got {x!r}")
        low, high = pair
        if low > high:
            raise ValueError(f"{where}: low must be <= high, got low {low} > high {high}")
        if isinstance(low, Integral) and isinstance(high, Integral):
            out[path] = (int(low), int(high))
        else:
            out[path] = (float(low), float(high))
    return out


def _check_samples(field_name: str, samples: object) -> int:
    if isinstance(samples, bool) or not isinstance(samples, Integral):
        raise TypeError(f"{field_name}.samples: must be an integer >= 1, got {samples!r}")
    if not 1 <= int(samples) <= MAX_POINTS:
        raise ValueError(f"{field_name}.samples: must be in [1, {MAX_POINTS}], got {samples}")
    return int(samples)


def _scale(unit: np.ndarray, ranges: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Unit-cube samples (n x d) mapped onto the ranges: floats affinely, int ranges
    onto their high - low + 1 integers in equal strata."""
    import pandas as pd

    columns = {}
    for j, (path, (low, high)) in enumerate(ranges.items()):
        u = unit[:, j]
        if isinstance(low, int) and isinstance(high, int):
            k = np.floor(u * (high - low + 1)).astype(np.int64)
            columns[path] = low + np.minimum(k, high - low)
        else:
            columns[path] = np.minimum(low + u * (high - low), high)
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class RandomSamples:
    """``samples`` points drawn uniformly and independently from the box of ranges
    ``{path: (low, high)}`` with ``numpy.random.default_rng(seed)``."""

    ranges: Mapping[str, Sequence[float]]
    samples: int
    seed: int = 0
    kind: str = field(default="random", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranges", _ranges("space.random", self.ranges))
        object.__setattr__(self, "samples", _check_samples("space.random", self.samples))
        object.__setattr__(self, "seed", check_seed("space.random.seed", self.seed))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    def points(self) -> pd.DataFrame:
        rng = np.random.default_rng(self.seed)
        return _scale(rng.random((self.samples, len(self.ranges))), self.ranges)


@dataclass(frozen=True)
class LatinHypercube:
    """``samples`` points of a Latin-hypercube design over the ranges
    ``{path: (low, high)}`` (``scipy.stats.qmc.LatinHypercube`` seeded with ``seed``):
    every range is cut into ``samples`` equal strata and each stratum is used once,
    which covers each axis evenly with far fewer points than a grid."""

    ranges: Mapping[str, Sequence[float]]
    samples: int
    seed: int = 0
    kind: str = field(default="lhs", init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "ranges", _ranges("space.lhs", self.ranges))
        object.__setattr__(self, "samples", _check_samples("space.lhs", self.samples))
        object.__setattr__(self, "seed", check_seed("space.lhs.seed", self.seed))

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.ranges)

    def points(self) -> pd.DataFrame:
        from scipy.stats import qmc

        d = len(self.ranges)
        rng = np.random.default_rng(self.seed)
        try:
            sampler = qmc.LatinHypercube(d, rng=rng)
        except TypeError:  # scipy < 1.15 names it seed
            sampler = qmc.LatinHypercube(d, seed=rng)
        return _scale(sampler.random(self.samples), self.ranges)


@dataclass(frozen=True)
class Table:
    """An explicit list of points: a DataFrame (columns are dotted paths) or a list
    of dicts that all name the same paths."""

    rows: pd.DataFrame | Sequence[Mapping[str, Any]]

    def __post_init__(self) -> None:
        import pandas as pd

        rows = self.rows
        if isinstance(rows, pd.DataFrame):
            frame = rows.reset_index(drop=True)
        elif isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Sequence):
            raise TypeError(
                f"space.table: must be a DataFrame or a list of dicts, got {type(rows).__name__}"
            )
        else:
            if not rows:
                raise ValueError("space.table: must hold at least one row, got []")
            first: list[str] | None = None
            for i, row in enumerate(rows):
                if not isinstance(row, Mapping):
                    raise TypeError(f"space.table[{i}]: must be a dict, got {type(row).__name__}")
                keys = list(row)
                if first is None:
                    first = keys
                elif set(keys) != set(first):
                    missing = sorted(set(first) - set(keys))
                    extra = sorted(set(keys) - set(first))
                    raise ValueError(
                        f"space.table[{i}]: must name the same paths as row 0 "
                        f"({', '.join(first)}); missing: {missing or 'none'}, "
                        f"extra: {extra or 'none'}"
                    )
            assert first is not None
            frame = pd.DataFrame(
                {k: _column([row[k] for row in rows]) for k in first}, columns=first
            )
        if frame.shape[1] == 0:
            raise ValueError("space.table: must name at least one path, got no columns")
        if len(frame) == 0:
            raise ValueError("space.table: must hold at least one row, got none")
        if len(frame) > MAX_POINTS:
            raise ValueError(f"space.table: must hold <= {MAX_POINTS} rows, got {len(frame)}")
        if frame.columns.duplicated().any():
            dup = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise ValueError(f"space.table: duplicate columns {dup}")
        for key in frame.columns:
            _check_path_key("space.table", key)
        object.__setattr__(self, "rows", frame)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.rows.columns)  # type: ignore[union-attr]

    def points(self) -> pd.DataFrame:
        return self.rows.copy()  # type: ignore[union-attr]


def as_space(space: object) -> Space:
    """A space from what ``sweep`` accepts: a Space, a dict of lists (a grid), or
    a DataFrame / list of dicts (a table)."""
    import pandas as pd

    if isinstance(space, (Grid, RandomSamples, LatinHypercube, Table)):
        return space
    if isinstance(space, Mapping):
        return Grid(space)
    if isinstance(space, pd.DataFrame) or (
        isinstance(space, Sequence) and not isinstance(space, (str, bytes))
    ):
        return Table(space)
    if isinstance(space, Space):
        return space
    raise TypeError(
        "space: must be a Grid, RandomSamples, LatinHypercube, Table, a dict of lists "
        f"(a grid) or a DataFrame / list of dicts (a table), got {type(space).__name__}"
    )


def points_digest(points: pd.DataFrame) -> str:
    """A stable fingerprint of a points table (to refuse resuming another sweep)."""
    payload = json.dumps(
        {"columns": list(points.columns), "data": points.to_numpy(dtype=object).tolist()},
        default=repr,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
