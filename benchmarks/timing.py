"""The best time of a benchmark, or a skip when timing is off.

With ``--benchmark-disable`` pytest-benchmark runs each benchmarked function
once, as a test, and keeps no timings: the code and its checks have run, but
there is no rate to report, so the test stops there as skipped."""

from __future__ import annotations

from typing import Any

import pytest


def best_seconds(benchmark: Any) -> float:
    """The fastest round's seconds; skips the test when the run kept no timings."""
    stats = getattr(benchmark, "stats", None)
    if stats is None or getattr(benchmark, "disabled", False):
        pytest.skip("timing is off (--benchmark-disable): the code ran once, no rate to report")
    return float(stats.stats.min)
