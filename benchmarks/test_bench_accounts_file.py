"""Loading a snapshot of accounts: ``build()`` of the default-hour world joined by a 1M-row
Parquet book (``Scenario.accounts_file``), against the baseline in the same run, the
default-hour world with as many generated accounts.

Rates (rows/s of ``build()``) come from pytest-benchmark in this process; the peak
memory of each case from a fresh process (its resident high-water mark, VmHWM: the
peak of the whole process, the interpreter and its imports included, which
``import_mib`` gives; ``ru_maxrss`` would carry this process's own peak over into a
child it starts).
The book is the stress benchmark's (``deleverage.bench.stress.book``), a third of it
following the speculators, so its rows are laid out in two blocks.

Run with ``python -m pytest benchmarks/test_bench_accounts_file.py``; figures land in
``extra_info``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deleverage.bench.stress import book
from deleverage.scenario import Scenario
from deleverage.scenarios import load_preset
from deleverage.simulate import build

from .timing import best_seconds

ROWS = 1_000_000
peaks: dict[str, float] = {}

CHILD = """
import json, sys, time
from pathlib import Path
from deleverage.scenarios import load_preset
from deleverage.simulate import build

def peak_mib():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")

rows, path = int(sys.argv[1]), sys.argv[2]
world = load_preset("default-hour")
scenario = world.with_accounts(rows) if path == "-" else world.replace(accounts_file=path)
before = peak_mib()
start = time.perf_counter()
build(scenario, 0)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_mib": peak_mib(), "import_mib": before}))
"""


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    snap = book(ROWS)
    rng = np.random.default_rng(2)
    path = tmp_path_factory.mktemp("accounts") / "book.parquet"
    pd.DataFrame(
        {
            "id": snap.ids,
            "cash": snap.cash,
            "position.GOLD": snap.position[:, 0],
            "entry_price.GOLD": snap.entry_price[:, 0],
            "population": np.where(rng.random(ROWS) < 1 / 3, "speculators", ""),
        }
    ).to_parquet(path, index=False)
    return path


def _fresh_process(path: str) -> dict[str, float]:
    """``build()`` in a fresh process: its seconds, peak and the peak before it (MiB)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROWS), path],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def _report(benchmark, name: str, scenario: Scenario, path: str) -> None:
    benchmark.pedantic(build, args=(scenario, 0), rounds=2)
    benchmark.extra_info["rows_per_s"] = ROWS / best_seconds(benchmark)
    figures = _fresh_process(path)
    peaks[name] = figures["peak_mib"]
    benchmark.extra_info["peak_mib"] = figures["peak_mib"]
    benchmark.extra_info["import_mib"] = figures["import_mib"]
    benchmark.extra_info["fresh_process_build_seconds"] = figures["seconds"]
    if name != "generated" and "generated" in peaks:
        benchmark.extra_info["peak_over_generated"] = figures["peak_mib"] / peaks["generated"]


def test_generated_accounts_baseline(benchmark) -> None:
    _report(benchmark, "generated", load_preset("default-hour").with_accounts(ROWS), "-")


def test_snapshot_from_parquet(benchmark, book_file: Path) -> None:
    scenario = load_preset("default-hour").replace(accounts_file=str(book_file))
    _report(benchmark, "snapshot", scenario, str(book_file))
