"""Where a run's time goes: ``simulate(..., time_phases=True)`` times each phase
of the steps (``Result.phase_seconds``, ``Simulation.phase_seconds``) and
changes nothing a run records."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from deleverage import _core
from deleverage.bench.simulate import bench_simulate, measure
from deleverage.result import Result
from deleverage.run_summary import phase_text
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate

#: The phases in the order a step runs them (docs/simulation.md).
PHASES = (
    "fair_values",
    "policy",
    "shuffle",
    "requotes",
    "gathering",
    "decisions",
    "orders",
    "calendar",
    "fills",
    "liquidations",
    "signals",
    "record",
    "leverage_samples",
)


@pytest.fixture(scope="module")
def hour():
    return load_preset("default-hour")


def test_the_phases_are_named_in_the_order_a_step_runs_them() -> None:
    assert _core.STEP_PHASES == PHASES


def _same(a: Result, b: Result) -> None:
    for name in ("series", "liquidations", "accounts", "leverage", "exposure"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert (a.messages, a.decisions) == (b.messages, b.decisions)


@pytest.mark.parametrize("threads", [1, 2])
def test_timing_the_phases_changes_nothing_a_run_records(hour, threads: int) -> None:
    plain = simulate(hour, seed=3, threads=threads)
    timed = simulate(hour, seed=3, threads=threads, time_phases=True)
    _same(plain, timed)
    assert plain.phase_seconds is None
    assert list(timed.phase_seconds.index) == list(PHASES)


def test_the_phases_add_up_to_the_run_less_its_pauses(hour) -> None:
    # The phases are consecutive stretches of each step on one monotonic clock:
    # together never more than the run, and all of it but the loop between steps.
    sim, _ = build(hour, 1)
    start = time.perf_counter()
    sim.run(threads=1, time_phases=True)
    wall = time.perf_counter() - start
    seconds = sim.phase_seconds
    assert tuple(seconds) == PHASES
    assert all(v >= 0.0 for v in seconds.values())
    total = sum(seconds.values())
    assert 0.5 * wall <= total <= wall
    # The steps' own work is timed: every step requotes, orders and records.
    for name in ("requotes", "orders", "record", "fills"):
        assert seconds[name] > 0.0, name


def test_an_untimed_run_leaves_every_phase_at_zero(hour) -> None:
    sim, _ = build(hour, 1)
    sim.run()
    assert sim.phase_seconds == dict.fromkeys(PHASES, 0.0)


def test_phase_seconds_survive_saving(hour, tmp_path) -> None:
    timed = simulate(hour, seed=2, time_phases=True)
    loaded = Result.load(timed.save(tmp_path / "run"))
    pd.testing.assert_series_equal(loaded.phase_seconds, timed.phase_seconds, check_exact=True)
    assert loaded.phase_seconds.index.name == "phase"


def test_phase_text_lists_the_phases_largest_first(hour) -> None:
    assert phase_text(simulate(hour, seed=2)) is None
    timed = simulate(hour, seed=2, time_phases=True)
    lines = phase_text(timed).splitlines()
    assert [line.split()[0] for line in lines[:-1]] == list(
        timed.phase_seconds.sort_values(ascending=False, kind="stable").index
    )
    shown = [float(line.split()[1]) for line in lines[:-1]]
    assert shown == sorted(shown, reverse=True)
    assert lines[-1].startswith("the steps in all")
    assert float(lines[-1].split()[-2]) == pytest.approx(timed.phase_seconds.sum(), abs=1e-3)


@pytest.mark.parametrize("bad", [1, "yes", None, np.bool_(True)])
def test_time_phases_must_be_a_bool(hour, bad) -> None:
    with pytest.raises(TypeError, match=r"^time_phases: must be a bool, got "):
        simulate(hour, time_phases=bad)


def test_the_bench_times_phases_only_when_asked() -> None:
    with pytest.raises(TypeError, match=r"^phases: must be a bool, got str"):
        bench_simulate(phases="yes")
    timed = measure("default-hour", 500, 120, 0, time_phases=True)
    assert timed.phase_seconds is not None
    assert tuple(timed.phase_seconds) == PHASES
    assert measure("default-hour", 500, 120, 0).phase_seconds is None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deleverage", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_run_prints_where_the_time_went() -> None:
    done = _cli("run", "default-hour", "--phases", "--no-report")
    assert done.returncode == 0, done.stderr
    text = done.stdout.split("where the run's time went", 1)[1]
    for name in PHASES:
        assert f"\n{name} " in text, name
    assert "the steps in all" in text


def test_run_json_has_the_phase_seconds_only_when_asked() -> None:
    timed = _cli("run", "default-hour", "--phases", "--json")
    assert timed.returncode == 0, timed.stderr
    seconds = json.loads(timed.stdout)["phase_seconds"]
    assert list(seconds) == list(PHASES)
    plain = _cli("run", "default-hour", "--json")
    assert "phase_seconds" not in json.loads(plain.stdout)
