"""``CounterfactualResult``: the shares table, the per-seed runs, and their plain forms."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from deleverage.scenario import Scenario

__all__ = ["LABELS", "CounterfactualResult"]

#: The metrics shares are computed for, and the prefix of their columns.
LABELS: dict[str, str] = {
    "max_drawdown": "drawdown",
    "liquidated_notional": "liquidation",
    "liquidations": "liquidations",
}


def _plain(value: object) -> object:
    """A JSON-ready value: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        x = float(value)
        return x if math.isfinite(x) else None
    return value


def _records(frame: pd.DataFrame, index: str | None) -> list[dict[str, object]]:
    table = frame.reset_index() if index is not None else frame
    return [{str(k): _plain(v) for k, v in row.items()} for row in table.to_dict(orient="records")]


@dataclass(frozen=True)
class CounterfactualResult:
    """What removing each cause did to a scenario's crash, over paired seeds.

    shares: one row per factor (index ``factor``, in the order asked), then
        ``joint`` (every factor removed at once), ``interaction`` (the joint
        share minus the sum of the factors' shares) and ``remainder`` (1 minus
        the sum of the factors' shares). Columns: ``kind`` (factor, joint,
        interaction, remainder), ``changed`` (False for a factor that left the
        scenario as it was: it is not run and its shares are NaN, never a
        silent 0), ``seeds``, and for each metric with prefix ``L``
        (``drawdown`` for max_drawdown, ``liquidation`` for liquidated_notional,
        ``liquidations`` for the count): ``L_share`` (ratio of means),
        ``L_low`` and ``L_high`` (its bootstrap interval), ``L_seed_share``
        (mean of the per-seed shares, seeds with a zero baseline left out),
        ``L_lowered`` (seeds where the counterfactual's metric was lower),
        ``L_baseline`` and ``L_counterfactual`` (the means over seeds).
    runs: one row per world and seed: ``world`` (baseline, a factor, or
        joint), ``seed_index``, ``seed``, each metric, and each metric's
        per-seed share ``L_share`` (NaN on baseline rows).
    worlds: the scenario of each world run (baseline, changed factors, joint).
    """

    scenario: str
    instrument: str
    metrics: tuple[str, ...]
    factors: tuple[str, ...]
    seeds: tuple[int, ...]
    seed: int
    confidence: float | None
    resamples: int
    shares: pd.DataFrame
    runs: pd.DataFrame
    wall_seconds: float
    worlds: dict[str, Scenario] = field(default_factory=dict, repr=False, compare=False)

    def share(self, factor: str, metric: str = "max_drawdown") -> tuple[float, float, float]:
        """``(share, low, high)`` of ``metric`` for one row of ``shares``."""
        if factor not in self.shares.index:
            known = ", ".join(map(str, self.shares.index))
            raise KeyError(f"factor: unknown row {factor!r}; known: {known}")
        if metric not in self.metrics:
            raise KeyError(f"metric: must be one of {', '.join(self.metrics)}, got {metric!r}")
        label = LABELS[metric]
        shares = self.shares
        return (
            float(shares[f"{label}_share"][factor]),
            float(shares[f"{label}_low"][factor]),
            float(shares[f"{label}_high"][factor]),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain Python (JSON-ready: NaN as None) of everything but the worlds."""
        return {
            "scenario": self.scenario,
            "instrument": self.instrument,
            "metrics": list(self.metrics),
            "factors": list(self.factors),
            "seeds": list(self.seeds),
            "seed": self.seed,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "wall_seconds": self.wall_seconds,
            "shares": _records(self.shares, "factor"),
            "runs": _records(self.runs, None),
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = None) -> str:
        """``to_dict()`` as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def table(self) -> str:
        """The shares as a text table: share [low, high] per metric, seeds lowered."""
        lines = []
        labels = [LABELS[m] for m in self.metrics]
        ci = "" if self.confidence is None else f" [{self.confidence:.0%} interval]"
        header = f"{'':<14}" + "".join(f"{label + ' share' + ci:>34}" for label in labels)
        lines.append(header)
        n = len(self.seeds)
        for name, row in self.shares.iterrows():
            cells = []
            for label in labels:
                share = row[f"{label}_share"]
                if not row["changed"]:
                    cells.append(f"{'unchanged':>34}")
                    continue
                text = _pct(share)
                if self.confidence is not None:
                    text += f" [{_pct(row[f'{label}_low'])}, {_pct(row[f'{label}_high'])}]"
                if row["kind"] in ("factor", "joint"):
                    text += f" {int(row[f'{label}_lowered'])}/{n}"
                cells.append(f"{text:>34}")
            lines.append(f"{name!s:<14}" + "".join(cells))
        return "\n".join(lines)


def _pct(x: object) -> str:
    value = float(x)  # type: ignore[arg-type]
    return "n/a" if not math.isfinite(value) else f"{value:.0%}"
