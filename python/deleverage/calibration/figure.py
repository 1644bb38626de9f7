"""The figures of validation and calibration: facts against their ranges, and the search."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from deleverage.calibration.calibrate import Calibration
    from deleverage.calibration.validate import Validation

__all__ = ["search_figure", "validation_figure"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(plt: Any, fig: Any, path: str | Path) -> Path:
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def search_figure(result: Calibration, path: str | Path) -> Path:
    """Loss over trials (each trial and the best so far, the base as a line) and each
    free parameter over trials, coloured by loss, the best marked."""
    plt = _pyplot()
    trials = result.trials
    params = [p.name for p in result.spec.parameters]
    fig, axes = plt.subplots(1, 1 + len(params), figsize=(4.2 * (1 + len(params)), 3.6))
    axes = np.atleast_1d(axes)
    loss = trials["loss"].to_numpy(dtype=float)
    shown = np.maximum(loss, 1e-12)
    ax = axes[0]
    ax.scatter(trials["trial"], shown, s=12, color="tab:blue", label="trial")
    ax.plot(trials["trial"], np.minimum.accumulate(shown), color="black", label="best so far")
    ax.axhline(max(result.base_loss, 1e-12), color="tab:red", ls="--", label="base")
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("loss")
    ax.set_title("search")
    ax.legend(fontsize=7)
    colour = np.log10(shown)
    for ax, name in zip(axes[1:], params, strict=True):
        ax.scatter(trials["trial"], trials[name], c=colour, cmap="viridis_r", s=12)
        ax.scatter([result.best_trial], [result.best_params[name]], marker="*", s=120, color="red")
        ax.set_xlabel("trial")
        ax.set_title(name)
        p = next(q for q in result.spec.parameters if q.name == name)
        if p.log:
            ax.set_yscale("log")
    fig.suptitle(
        f"{result.spec.scenario.name}: loss {result.base_loss:.3g} (base) -> "
        f"{result.best_loss:.3g} (trial {result.best_trial})",
        fontsize=9,
    )
    return _save(plt, fig, path)


def validation_figure(validation: Validation, path: str | Path) -> Path:
    """One panel per target: its range shaded, each seed's figure a dot (green inside,
    red outside), the fair value's own figure a grey ring where it has one, the panel
    titled with the passes against those needed (and the value's)."""
    plt = _pyplot()
    table = validation.table()
    n = len(table)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.3 * rows), squeeze=False)
    passes = validation.passes()
    for i, row in enumerate(table.to_dict("records")):
        ax = axes[i // cols][i % cols]
        values = validation.values[i]
        x = np.arange(len(values))
        target = validation.targets[i]
        own = None
        if validation.value_values is not None and row["value_passed"] is not None:
            own = validation.value_values[i]
        if target.range:
            low, high = target.range
            shown = values if own is None else np.concatenate([values, own])
            finite = shown[np.isfinite(shown)]
            pad = [v for v in (low, high) if math.isfinite(v)] + finite.tolist()
            span = (max(pad) - min(pad)) or 1.0
            lo = low if math.isfinite(low) else min(pad) - span
            hi = high if math.isfinite(high) else max(pad) + span
            ax.axhspan(lo, hi, color="tab:green", alpha=0.15)
        colours = ["tab:green" if ok else "tab:red" for ok in passes[i]]
        if not target.range:
            colours = ["tab:blue"] * len(values)
        ax.scatter(x, np.where(np.isfinite(values), values, np.nan), c=colours, s=18)
        if own is not None:
            ax.scatter(
                x, np.where(np.isfinite(own), own, np.nan), s=30, facecolors="none",
                edgecolors="tab:gray", linewidths=0.8,
            )  # fmt: skip
        nan = ~np.isfinite(values)
        if nan.any():
            ax.text(0.02, 0.9, f"{int(nan.sum())} NaN", transform=ax.transAxes, fontsize=7)
        verdict = {True: "pass", False: "FAIL", None: "-"}[row["ok"]]
        value = "" if own is None else f", value {row['value_passed']}/{row['needed']}"
        title = f"{row['target']}\n{row['passed']}/{row['needed']} {verdict}{value}"
        ax.set_title(title, fontsize=7)
        ax.set_xticks(x, [str(s) for s in validation.seeds], fontsize=6)
        ax.tick_params(axis="y", labelsize=6)
    for j in range(n, rows * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle(
        f"{validation.scenario.name}: {'passes' if validation.passed else 'fails'} "
        f"({len(validation.seeds)} seeds)",
        fontsize=9,
    )
    return _save(plt, fig, path)
