"""The report a person reads after a run: a PNG dashboard and an HTML page around it.

``write_report(result, out_dir)`` writes ``dashboard.png`` (``dashboard``)
and ``index.html`` (``html``) into ``out_dir``; ``margin_timeline`` rebuilds
the margin an instrument required over the run. See docs/report.md.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from deleverage.report.margin_timeline import maintenance_level, margin_events, margin_timeline
from deleverage.report.tables import headline_text, metrics_table

if TYPE_CHECKING:
    from deleverage.result import Result

INDEX_FILE = "index.html"


def write_report(result: Result, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``dashboard.png`` and ``index.html`` of ``result`` into ``out_dir``
    (created if missing); return the path of ``index.html``."""
    from deleverage.report.dashboard import write_dashboard
    from deleverage.report.html import DASHBOARD_FILE, render_html
    from deleverage.result import Result

    if not isinstance(result, Result):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"out_dir: {str(folder)!r} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    write_dashboard(result, folder / DASHBOARD_FILE)
    index = folder / INDEX_FILE
    index.write_text(render_html(result, DASHBOARD_FILE), encoding="utf-8", newline="\n")
    return index


__all__ = [
    "INDEX_FILE",
    "headline_text",
    "maintenance_level",
    "margin_events",
    "margin_timeline",
    "metrics_table",
    "write_report",
]
