"""Distributions of per-account parameters, and the validation helpers of the scenario.

Every error is a ValueError or TypeError whose message starts with the field
name, then says what is allowed, then shows the bad value (the style of
`deleverage.margin_rules`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal

import numpy as np

from deleverage.margin_rules import _check_choice

DistributionKind = Literal["fixed", "uniform", "lognormal", "discrete"]
DISTRIBUTION_KINDS: tuple[str, ...] = ("fixed", "uniform", "lognormal", "discrete")

#: Largest sigma of a lognormal (log units); exp(10 * 8) is still a finite double.
MAX_SIGMA = 10.0


# ---------------------------------------------------------------- validation helpers


def _bound(x: float) -> str:
    return "inf" if x == math.inf else "-inf" if x == -math.inf else repr(x)


def check_float(
    field: str,
    value: object,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    allow_inf: bool = False,
) -> float:
    """A real number in the range; returns it as a float. NaN is always rejected,
    +-inf unless `allow_inf` (and the range contains it)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{field}: must be a number, got {type(value).__name__}")
    x = float(value)
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        raise ValueError(f"{field}: must be finite, got {x}")
    below = x <= lo if lo_open else x < lo
    above = x >= hi if hi_open else x > hi
    if below or above:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        raise ValueError(f"{field}: must be in {left}{_bound(lo)}, {_bound(hi)}{right}, got {x}")
    return x


def check_int(field: str, value: object, lo: int, hi: int) -> int:
    """An integer (not a bool, not a float) in [lo, hi]; returns it as an int."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{field}: must be an integer, got {type(value).__name__}")
    n = int(value)
    if n < lo or n > hi:
        raise ValueError(f"{field}: must be in [{lo}, {hi}], got {n}")
    return n


def check_bool(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{field}: must be a bool, got {type(value).__name__}")
    return value


def check_str(field: str, value: object, *, nonempty: bool = True) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field}: must be a string, got {type(value).__name__}")
    if nonempty and not value:
        raise ValueError(f"{field}: must be a non-empty string, got ''")
    return value


def check_choice(field: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"{field}: must be one of {', '.join(choices)} (a string), got {type(value).__name__}"
        )
    _check_choice(field, value, choices)
    return value


def check_instance(field: str, value: object, cls: type) -> None:
    if not isinstance(value, cls):
        raise TypeError(f"{field}: must be a {cls.__name__}, got {type(value).__name__}")


def check_sequence(field: str, value: object) -> tuple[Any, ...]:
    """A list or tuple (not a string or a mapping), returned as a tuple."""
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{field}: must be a tuple, got {type(value).__name__}")
    return tuple(value)


def set_field(obj: object, name: str, value: object) -> None:
    """Store a normalised value on a frozen dataclass (inside __post_init__)."""
    object.__setattr__(obj, name, value)


# ---------------------------------------------------------------- Distribution

# The fields each kind uses; every other field must keep its default.
_USED: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "lognormal": ("median", "sigma"),
    "discrete": ("values", "weights"),
}
_DEFAULTS: dict[str, object] = {
    "value": 0.0,
    "low": 0.0,
    "high": 0.0,
    "median": 1.0,
    "sigma": 0.0,
    "values": (),
    "weights": (),
}


@dataclass(frozen=True)
class Distribution:
    """A distribution of a per-account parameter (units: those of the parameter).

    - ``fixed``: always ``value``.
    - ``uniform``: uniform on [``low``, ``high``] (``low <= high``).
    - ``lognormal``: ``median * exp(sigma * Z)``, Z standard normal
      (``median > 0``; ``sigma`` in log units, in [0, 10]).
    - ``discrete``: one of ``values`` with probabilities proportional to
      ``weights`` (stored as given, normalised when sampling).

    Fields a kind does not use must keep their defaults.
    """

    kind: DistributionKind
    value: float = 0.0
    low: float = 0.0
    high: float = 0.0
    median: float = 1.0
    sigma: float = 0.0
    values: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()

    # Written to TOML with only the fields its kind uses (the others are defaults).
    __toml_omit_defaults__ = True

    def __post_init__(self) -> None:
        kind = check_choice("kind", self.kind, DISTRIBUTION_KINDS)
        for name in ("value", "low", "high", "median", "sigma"):
            set_field(self, name, check_float(name, getattr(self, name)))
        for name in ("values", "weights"):
            items = check_sequence(name, getattr(self, name))
            set_field(
                self, name, tuple(check_float(f"{name}[{i}]", x) for i, x in enumerate(items))
            )
        for name, default in _DEFAULTS.items():
            if name not in _USED[kind] and getattr(self, name) != default:
                raise ValueError(
                    f"{name}: not used by a {kind} distribution (must stay {default!r}), "
                    f"got {getattr(self, name)!r}"
                )
        if kind == "uniform" and self.high < self.low:
            raise ValueError(f"high: must be >= low ({self.low}), got {self.high}")
        elif kind == "lognormal":
            check_float("median", self.median, 0.0, math.inf, lo_open=True)
            check_float("sigma", self.sigma, 0.0, MAX_SIGMA)
        elif kind == "discrete":
            if not self.values:
                raise ValueError("values: must be non-empty for a discrete distribution, got ()")
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"weights: must have one weight per value ({len(self.values)}), "
                    f"got {len(self.weights)}"
                )
            for i, w in enumerate(self.weights):
                check_float(f"weights[{i}]", w, 0.0)
            total = math.fsum(self.weights)
            if not total > 0.0 or not math.isfinite(total):
                raise ValueError(f"weights: must have a finite positive sum, got {total}")

    # ---- constructors

    @classmethod
    def fixed(cls, x: float) -> Distribution:
        """Always ``x``."""
        return cls("fixed", value=x)

    @classmethod
    def uniform(cls, a: float, b: float) -> Distribution:
        """Uniform on [a, b]."""
        return cls("uniform", low=a, high=b)

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Distribution:
        """``median * exp(sigma * Z)``."""
        return cls("lognormal", median=median, sigma=sigma)

    @classmethod
    def discrete(
        cls, values: Sequence[float], weights: Sequence[float] | None = None
    ) -> Distribution:
        """One of ``values``, with probabilities proportional to ``weights`` (equal if None)."""
        vals = check_sequence("values", values)
        ws = (1.0,) * len(vals) if weights is None else check_sequence("weights", weights)
        return cls("discrete", values=vals, weights=ws)

    def scaled(self, factor: float) -> Distribution:
        """The distribution of ``factor`` times a sample (``factor`` > 0)."""
        f = check_float("factor", factor, 0.0, math.inf, lo_open=True)
        if self.kind == "fixed":
            return Distribution.fixed(self.value * f)
        if self.kind == "uniform":
            return Distribution.uniform(self.low * f, self.high * f)
        if self.kind == "lognormal":
            return Distribution.lognormal(self.median * f, self.sigma)
        return Distribution.discrete([v * f for v in self.values], self.weights)

    # ---- properties

    def mean(self) -> float:
        """The exact mean."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "uniform":
            return 0.5 * (self.low + self.high)
        if self.kind == "lognormal":
            return self.median * math.exp(0.5 * self.sigma * self.sigma)
        total = math.fsum(self.weights)
        return math.fsum(v * w for v, w in zip(self.values, self.weights, strict=True)) / total

    def is_positive(self) -> bool:
        """True when every possible sample is > 0 (checked on the support, not by sampling)."""
        if self.kind == "fixed":
            return self.value > 0.0
        if self.kind == "uniform":
            return self.low > 0.0
        if self.kind == "lognormal":
            return self.median > 0.0
        return all(v > 0.0 for v in self.values)

    def describe(self) -> str:
        """A short human-readable form, e.g. ``uniform(2.0, 20.0)``."""
        args = ", ".join(repr(getattr(self, f)) for f in _USED[self.kind])
        return f"{self.kind}({args})"

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent samples (float64), drawn from ``rng``."""
        n = check_int("n", n, 0, 2**62)
        if self.kind == "fixed":
            return np.full(n, self.value, dtype=np.float64)
        if self.kind == "uniform":
            if self.low == self.high:
                return np.full(n, self.low, dtype=np.float64)
            return rng.uniform(self.low, self.high, n).astype(np.float64, copy=False)
        if self.kind == "lognormal":
            z = rng.standard_normal(n)
            return (self.median * np.exp(self.sigma * z)).astype(np.float64, copy=False)
        p = np.asarray(self.weights, dtype=np.float64)
        p = p / p.sum()
        idx = rng.choice(len(self.values), size=n, p=p)
        return np.asarray(self.values, dtype=np.float64)[idx]


def check_positive_distribution(field: str, value: object) -> None:
    """A Distribution whose support is > 0 (the error names ``field``)."""
    check_instance(field, value, Distribution)
    assert isinstance(value, Distribution)
    if not value.is_positive():
        raise ValueError(f"{field}: samples must be > 0, got {value.describe()}")
