"""Monte Carlo sweeps: many runs of a scenario over a parameter space and seeds.

``deleverage.sweep(scenario, space, seeds=...)`` is the entry point; this package
also holds the spaces (``Grid``, ``RandomSamples``, ``LatinHypercube``, ``Table``),
dotted paths into a scenario (``apply_paths``), per-run seeds (``run_seed``) and
the Parquet store of rows (``read_sweep``).
"""

from __future__ import annotations

from deleverage.sweeps.paths import apply_paths, check_path
from deleverage.sweeps.seeds import run_seed
from deleverage.sweeps.space import Grid, LatinHypercube, RandomSamples, Space, Table, as_space
from deleverage.sweeps.store import read_sweep, series_path
from deleverage.sweeps.sweep import sweep
from deleverage.sweeps.task import METRICS

__all__ = [
    "METRICS",
    "Grid",
    "LatinHypercube",
    "RandomSamples",
    "Space",
    "Table",
    "apply_paths",
    "as_space",
    "check_path",
    "read_sweep",
    "run_seed",
    "series_path",
    "sweep",
]
