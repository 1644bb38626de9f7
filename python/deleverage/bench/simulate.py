"""The simulation benchmark: a day of one-second steps at retail scale.

The default world over a day (the ``default-day`` preset) at 1M accounts:
wall time, messages through the book per second, account decisions per
second, and peak memory; the same world at 10k accounts in the same run as
the baseline (how the rates hold up as the crowd grows a hundredfold); and
10M accounts over a shorter run for the peak memory, which must stay within
4 GiB. Each run is a fresh child process, so each peak is its own.

Then ``gold-2026`` (three instruments, 59,040 one-minute steps) at the sizes
users wait for: a twentieth of the market (``Scenario.scaled(0.05)``, the size
a calibration searches at), the default 1.01M accounts, and on request the
whole market ten times over (10M accounts, minutes), each on one thread and
on two (``threads``: the same run, bit for bit). The twentieth on one thread
is the baseline of the others' decisions/s. With ``phases`` the gold runs also
time each phase of their steps (``simulate(..., time_phases=True)``), which
says where each size's time goes on any machine, with no symbols.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

#: The memory budget of a 10M-account run.
MEMORY_LIMIT_BYTES = 4 * 2**30


#: gold-2026's sizes, as fractions of its default market (``Scenario.scaled``).
GOLD_SCALES = (0.05, 1.0)
#: The opt-in size: ten times the default market, about 10M accounts.
GOLD_LARGE_SCALE = 10.0
#: The threads each gold-2026 size runs on.
GOLD_THREADS = (1, 2)


@dataclass(frozen=True)
class RunFigures:
    """One simulation run, measured in its own process."""

    preset: str
    scale: float | None  # Scenario.scaled's fraction (None: sized by with_accounts)
    accounts: int
    steps: int
    seed: int
    wall_seconds: float  # simulate(): drawing the accounts, the run, the Result
    build_seconds: float  # drawing the accounts and building the engine
    run_seconds: float  # the engine's run alone
    messages: int
    decisions: int
    messages_per_s: float  # over run_seconds
    decisions_per_s: float
    liquidations: int
    peak_rss_bytes: int
    threads: int = 1  # Simulation.run's threads
    # Wall seconds of each phase of the steps (Simulation.phase_seconds), when timed.
    phase_seconds: dict[str, float] | None = None


@dataclass(frozen=True)
class SimulateBenchResult:
    accounts: int
    steps: int
    wall_seconds: float
    run_seconds: float
    messages_per_s: float
    decisions_per_s: float
    peak_rss_bytes: int
    baseline_accounts: int
    baseline_decisions_per_s: float
    decisions_per_s_ratio: float  # main run over baseline
    memory_accounts: int
    memory_steps: int
    memory_peak_rss_bytes: int
    memory_limit_bytes: int
    memory_within_limit: bool
    isa: str
    runs: tuple[RunFigures, ...]
    # gold-2026 at GOLD_SCALES (and GOLD_LARGE_SCALE on request), smallest first, each
    # on GOLD_THREADS; empty when skipped.
    gold_runs: tuple[RunFigures, ...]
    # Each gold run's decisions/s over the first one's (the baseline), in gold_runs' order.
    gold_decisions_per_s_ratios: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def measure(
    preset: str,
    accounts: int | None,
    steps: int | None,
    seed: int,
    scale: float | None = None,
    threads: int = 1,
    time_phases: bool = False,
) -> RunFigures:
    """Run one simulation in this process and measure it (the child's side).

    The world is the preset with ``accounts`` in all, or, given ``scale``,
    ``Scenario.scaled(scale)`` of it (then ``accounts`` must be None), run on
    ``threads`` threads; ``time_phases`` times each phase of its steps.
    """
    import resource

    from deleverage.result import Result
    from deleverage.scenarios import load_preset
    from deleverage.simulate import build

    scenario = load_preset(preset)
    if accounts is not None and scale is None:
        scenario = scenario.with_accounts(accounts)
    elif scale is not None and accounts is None:
        scenario = scenario.scaled(scale)
    else:
        raise ValueError("accounts, scale: give exactly one")
    if steps is not None:
        scenario = scenario.with_steps(steps)
    start = time.perf_counter()
    sim, _ = build(scenario, seed)
    built = time.perf_counter()
    sim.run(threads=threads, time_phases=time_phases)
    ran = time.perf_counter()
    result = Result.from_simulation(scenario, seed, sim, 0.0)
    end = time.perf_counter()
    run_seconds = ran - built
    return RunFigures(
        preset=preset,
        scale=scale,
        accounts=scenario.total_accounts,
        steps=result.steps_done,
        seed=seed,
        wall_seconds=end - start,
        build_seconds=built - start,
        run_seconds=run_seconds,
        messages=result.messages,
        decisions=result.decisions,
        messages_per_s=result.messages / run_seconds,
        decisions_per_s=result.decisions / run_seconds,
        liquidations=int(result.metrics()["liquidations"]),
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        threads=threads,
        phase_seconds=sim.phase_seconds if time_phases else None,
    )


def measure_in_child(
    preset: str,
    accounts: int | None,
    steps: int | None,
    seed: int,
    scale: float | None = None,
    threads: int = 1,
    time_phases: bool = False,
) -> RunFigures:
    """`measure` in a fresh interpreter, so its peak memory is its own."""
    args = json.dumps(
        {
            "preset": preset,
            "accounts": accounts,
            "steps": steps,
            "seed": seed,
            "scale": scale,
            "threads": threads,
            "time_phases": time_phases,
        }
    )
    done = subprocess.run(
        [sys.executable, "-m", "deleverage.bench.simulate", args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark run {args} failed:\n{done.stderr.strip()}")
    return RunFigures(**json.loads(done.stdout.strip().splitlines()[-1]))


def bench_simulate(
    accounts: int = 1_000_000,
    *,
    preset: str = "default-day",
    seed: int = 0,
    steps: int | None = None,
    baseline_accounts: int = 10_000,
    memory_accounts: int = 10_000_000,
    memory_steps: int = 3_600,
    gold_scales: tuple[float, ...] = GOLD_SCALES,
    gold_threads: tuple[int, ...] = GOLD_THREADS,
    phases: bool = False,
) -> SimulateBenchResult:
    """Measure the main run, the baseline and the memory run (memory_accounts 0 skips it),
    then gold-2026 at each of ``gold_scales`` (empty: none), smallest first, each on
    each of ``gold_threads``, with each phase of their steps timed if ``phases``."""
    from deleverage import _core

    most = _core.MAX_THREADS
    if not gold_threads or any(isinstance(n, bool) or not 1 <= n <= most for n in gold_threads):
        raise ValueError(f"gold_threads: must be threads in [1, {most}], got {gold_threads!r}")
    if not isinstance(phases, bool):
        raise TypeError(f"phases: must be a bool, got {type(phases).__name__}")

    main = measure_in_child(preset, accounts, steps, seed)
    base = measure_in_child(preset, baseline_accounts, steps, seed)
    runs = [main, base]
    memory_peak = 0
    if memory_accounts > 0:
        big = measure_in_child(preset, memory_accounts, memory_steps, seed)
        runs.append(big)
        memory_peak = big.peak_rss_bytes
    gold = tuple(
        measure_in_child("gold-2026", None, None, seed, scale, threads, phases)
        for scale in sorted(gold_scales)
        for threads in gold_threads
    )
    return SimulateBenchResult(
        accounts=main.accounts,
        steps=main.steps,
        wall_seconds=main.wall_seconds,
        run_seconds=main.run_seconds,
        messages_per_s=main.messages_per_s,
        decisions_per_s=main.decisions_per_s,
        peak_rss_bytes=main.peak_rss_bytes,
        baseline_accounts=base.accounts,
        baseline_decisions_per_s=base.decisions_per_s,
        decisions_per_s_ratio=main.decisions_per_s / base.decisions_per_s,
        memory_accounts=memory_accounts,
        memory_steps=memory_steps if memory_accounts > 0 else 0,
        memory_peak_rss_bytes=memory_peak,
        memory_limit_bytes=MEMORY_LIMIT_BYTES,
        memory_within_limit=memory_accounts > 0 and memory_peak <= MEMORY_LIMIT_BYTES,
        isa=_core.dispatched_isa(),
        runs=tuple(runs),
        gold_runs=gold,
        gold_decisions_per_s_ratios=tuple(
            g.decisions_per_s / gold[0].decisions_per_s for g in gold
        ),
    )


if __name__ == "__main__":  # the child: one run, its figures as the last line of JSON
    spec = json.loads(sys.argv[1])
    figures = measure(
        spec["preset"],
        spec["accounts"],
        spec["steps"],
        spec["seed"],
        spec.get("scale"),
        spec.get("threads", 1),
        spec.get("time_phases", False),
    )
    print(json.dumps(asdict(figures)))
