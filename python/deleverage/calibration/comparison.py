"""Two worlds against the same targets on the same seeds: a change's before and after.

``compare(before, after)`` validates both worlds on the same seeds against the
after world's targets (what a change is judged by is the world it makes), and
gives each target's seeds in range and span over seeds side by side, as the
preset pages tabulate a calibration, with how many seeds changed verdict each
way and how likely so lopsided a split would be if the change did nothing
(``pass_rate.change_p_value``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from deleverage.calibration.pass_rate import change_p_value
from deleverage.calibration.validate import Validation, validate
from deleverage.scenario import Scenario

__all__ = ["Comparison", "compare"]

_SIDES = ("before", "after")


@dataclass(frozen=True)
class Comparison:
    """The after world's targets on the same seeds in two worlds (each a ``Validation``)."""

    before: Validation
    after: Validation

    def table(self) -> pd.DataFrame:
        """One row per target: target, low, high, needed (seeds), then for ``before``
        and ``after``: passed (seeds in range), min and max over the seeds' figures
        (NaN figures left out), ok (True, False, or None for a target without a range),
        below and above (the seeds under the range and over it, ``Validation.table``);
        then before_only and after_only (the seeds in range in that world alone) and
        p_change (the exact McNemar test of the two: small when the change moved the
        target, 1.0 when no seed's verdict differs)."""
        sides = {"before": self.before.table(), "after": self.after.table()}
        out: pd.DataFrame = sides["after"][["target", "low", "high", "needed"]].copy()
        for side, table in sides.items():
            figures = table[[c for c in table.columns if c.startswith("seed ")]].to_numpy(float)
            spans = [row[~np.isnan(row)] for row in figures]
            out[f"{side}_passed"] = table["passed"].to_numpy()
            out[f"{side}_min"] = [float(v.min()) if len(v) else math.nan for v in spans]
            out[f"{side}_max"] = [float(v.max()) if len(v) else math.nan for v in spans]
            out[f"{side}_ok"] = table["ok"].to_numpy()
            out[f"{side}_below"] = table["below"].to_numpy()
            out[f"{side}_above"] = table["above"].to_numpy()
        before, after = self.before.passes(), self.after.passes()
        out["before_only"] = (before & ~after).sum(axis=1)
        out["after_only"] = (after & ~before).sum(axis=1)
        out["p_change"] = [
            change_p_value(int(b), int(a))
            for b, a in zip(out["before_only"], out["after_only"], strict=True)
        ]
        return out

    def met(self) -> tuple[int, int, int]:
        """Targets with a range met before, met after, and how many have a range."""
        table = self.table()
        # ``ok`` is True, False or None (no range); numpy's bools compare equal to True.
        return (
            sum(ok is not None and bool(ok) for ok in table["before_ok"]),
            sum(ok is not None and bool(ok) for ok in table["after_ok"]),
            sum(ok is not None for ok in table["after_ok"]),
        )

    def markdown(self) -> str:
        """The table as a Markdown table (a failing cell marked ✗, with its seeds under
        and over the range; the last column the seeds in range only after and only
        before the change, and the McNemar p), then the count of targets met before and
        after."""
        header = "| target | range | before: seeds passing (min to max) | after |"
        lines = [f"{header} seeds gained / lost (p) |", "|---|---|---|---|---|"]
        for row in self.table().to_dict("records"):
            span = "-" if math.isnan(row["low"]) else f"[{row['low']:.3g}, {row['high']:.3g}]"
            cells = [_cell(row, side) for side in _SIDES]
            moved = f"+{row['after_only']} / -{row['before_only']} (p {row['p_change']:.2g})"
            lines.append(f"| {row['target']} | {span} | {cells[0]} | {cells[1]} | {moved} |")
        before, after, ranged = self.met()
        lines += ["", f"Targets met: {before} of {ranged} before, {after} of {ranged} after."]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: each world's ``Validation.to_dict``, the counts met, and
        per target the seeds in range in one world only and the McNemar p (``changes``)."""
        before, after, ranged = self.met()
        table = self.table()
        changes = [
            {
                "target": str(row["target"]),
                "before_only": int(row["before_only"]),
                "after_only": int(row["after_only"]),
                "p_change": float(row["p_change"]),
            }
            for row in table.to_dict("records")
        ]
        return {
            "before": self.before.to_dict(),
            "after": self.after.to_dict(),
            "met": {"before": before, "after": after, "of": ranged},
            "changes": changes,
        }


def _cell(row: Mapping[Any, Any], side: str) -> str:
    passed, low, high, ok = (row[f"{side}_{k}"] for k in ("passed", "min", "max", "ok"))
    span = "no figure" if math.isnan(low) else f"{low:.3g} to {high:.3g}"
    if ok is False:
        # A miss says which side it falls on (a side with an infinite bound has none).
        if math.isfinite(row["low"]):
            span += f"; {row[f'{side}_below']} under"
        if math.isfinite(row["high"]):
            span += f"; {row[f'{side}_above']} over"
    return f"{passed}/{row['needed']}{' ✗' if ok is False else ''} ({span})"


def compare(
    before: Scenario,
    after: Scenario,
    seeds: int | Sequence[int] = 8,
    *,
    scale: float | None = None,
    keep_accounts_below: int = 0,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | None = None,
    security: Any = None,
) -> Comparison:
    """Validate ``before`` and ``after`` on the same ``seeds`` against ``after``'s targets.

    scale, keep_accounts_below, executor, workers, progress, security: as for
    ``validate``, for both worlds (the before world's own targets, if any, are
    not used).
    """
    for name, world in (("before", before), ("after", after)):
        if not isinstance(world, Scenario):
            raise TypeError(f"{name}: must be a Scenario, got {type(world).__name__}")
    if not after.targets:
        raise ValueError(
            f"after: scenario {after.name!r} declares no [[targets]] to judge both worlds by"
        )
    try:
        before.replace(targets=after.targets)  # checks them against the before world
    except ValueError as e:
        raise ValueError(
            f"before: the targets of {after.name!r} do not fit {before.name!r}: {e}"
        ) from None
    options: dict[str, Any] = {
        "scale": scale,
        "keep_accounts_below": keep_accounts_below,
        "executor": executor,
        "workers": workers,
        "progress": progress,
        "security": security,
    }
    judged = validate(after, seeds, **options)
    return Comparison(validate(before, seeds, targets=judged.targets, **options), judged)
