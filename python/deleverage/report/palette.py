"""Colours that stay apart: one per population, distinct for at least 20 of them.

Matplotlib's default cycle has ten colours, so an eleventh population shares
the first one's. ``distinct_colors`` takes the 20 of the ``tab20`` palette, the
ten dark shades first and then their light partners, and beyond 20 repeats them
with a dashed line style (``line_styles``), so no two lines look alike.
"""

from __future__ import annotations

from matplotlib import colormaps

__all__ = ["PALETTE_SIZE", "distinct_colors", "line_styles"]

_TAB20 = colormaps["tab20"].colors  # type: ignore[attr-defined]
#: Dark shades first (0, 2, ..., 18), then the light ones (1, 3, ..., 19).
_ORDER = [*range(0, 20, 2), *range(1, 20, 2)]
PALETTE_SIZE = len(_ORDER)


def distinct_colors(n: int) -> list[tuple[float, float, float]]:
    """``n`` RGB colours; the first ``PALETTE_SIZE`` (20) are all different."""
    if n < 0:
        raise ValueError(f"n: must be >= 0, got {n}")
    return [tuple(_TAB20[_ORDER[k % PALETTE_SIZE]]) for k in range(n)]


def line_styles(n: int) -> list[str]:
    """Solid for the first ``PALETTE_SIZE`` lines, then dashed, dotted, dash-dotted."""
    styles = ["-", "--", ":", "-."]
    return [styles[(k // PALETTE_SIZE) % len(styles)] for k in range(n)]
