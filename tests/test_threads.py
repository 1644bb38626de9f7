"""A run on several threads is the same run, bit for bit.

Oracle: the same scenario and seed on one thread. Helper threads gather the
due accounts' rows from a few hundred accounts due a step
(``Simulation.kParallelGather``, 256), sum the leverage samples by
population, and shuffle the next step's due accounts while the step's fills
settle; the world here is large enough that most steps take the first path.
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage import _core
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate

#: The default-hour world at 80 times its size: about 320 accounts due a step.
SCALE = 80


def _world():  # type: ignore[no-untyped-def]
    return load_preset("default-hour").scaled(SCALE).replace(targets=())


def _arrays(sim: _core.Simulation) -> list[np.ndarray]:
    return [
        np.asarray(a)
        for a in (
            sim.records,
            sim.trades,
            sim.liquidations,
            sim.cash,
            sim.position,
            sim.cost,
            sim.equity,
            sim.notional,
            sim.sample_steps,
        )
    ]


def _run(threads: int, seed: int) -> _core.Simulation:
    sim, _ = build(_world(), seed, trade_log=True)
    assert sim.run(threads=threads)
    return sim


@pytest.mark.parametrize(("threads", "seed"), [(2, 0), (3, 1)])
def test_threads_give_the_same_run_bit_for_bit(threads: int, seed: int) -> None:
    one = _run(1, seed)
    many = _run(threads, seed)
    assert many.decisions == one.decisions
    assert many.messages == one.messages
    # The parallel path is taken: enough accounts are due in a step.
    assert one.decisions / one.steps_done > _core.PARALLEL_GATHER
    for a, b in zip(_arrays(one), _arrays(many), strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    assert len(np.asarray(one.liquidations)) > 0  # the storm is in it


@pytest.mark.parametrize("resumed_on", [3, 1])
def test_a_run_resumed_on_other_threads_is_the_same(resumed_on: int) -> None:
    """Interrupted and resumed with a different number of threads: the helpers
    belong to each call of run, not to the simulation. The next step's order,
    shuffled by a helper before the interruption, is the one a single thread
    resuming there uses (taken off the calendar once, not twice)."""
    one = _run(1, 0)
    sim, _ = build(_world(), 0, trade_log=True)
    calls = 0

    def stop_once(done: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sim.run(stop_once, threads=2)
    assert 0 < sim.steps_done < one.steps_done
    assert sim.run(threads=resumed_on)
    for a, b in zip(_arrays(one), _arrays(sim), strict=True):
        assert a.tobytes() == b.tobytes()


#: Every preset's mechanisms (scheduled margin and population changes, the fund's
#: unwind, volatility triggers, cross margin) at a size that runs in a second.
PRESET_SCALES = [
    ("gold-2026", 0.002),
    ("crypto-cascade-2025", 0.02),
    ("dash-for-cash-2020", 0.01),
    ("leverage-cycle", 0.2),
    ("default-day", 0.1),
]


@pytest.mark.parametrize(("preset", "scale"), PRESET_SCALES)
def test_each_preset_on_two_threads_is_the_same(preset: str, scale: float) -> None:
    """Few accounts are due a step here, so the helper only shuffles the next
    step's accounts while the fills settle (every step), and resumes on one
    thread from where a run on two was interrupted."""
    world = load_preset(preset).scaled(scale).replace(targets=())

    def arrays(threads: int, stop_at: int = 0) -> list[np.ndarray]:
        sim, _ = build(world, 3, trade_log=True)
        if stop_at:
            calls = 0

            def stop(done: int) -> None:
                nonlocal calls
                calls += 1
                if calls == stop_at:
                    raise KeyboardInterrupt

            with pytest.raises(KeyboardInterrupt):
                sim.run(stop, threads=threads)
            threads = 1
        assert sim.run(threads=threads)
        return _arrays(sim)

    one = arrays(1)
    assert len(np.asarray(one[1])) > 0  # trades
    for other in (arrays(2), arrays(2, stop_at=5)):
        for a, b in zip(one, other, strict=True):
            assert a.tobytes() == b.tobytes()


def test_simulate_passes_threads_through() -> None:
    world = load_preset("default-hour").replace(targets=())
    a = simulate(world, 4, progress=False)
    b = simulate(world, 4, progress=False, threads=2)
    assert a.series.equals(b.series)
    assert a.liquidations.equals(b.liquidations)


@pytest.mark.parametrize("threads", [0, -1, 65])
def test_bad_threads_names_the_field(threads: int) -> None:
    world = load_preset("default-hour").replace(targets=())
    with pytest.raises(ValueError, match=r"threads: must be in \[1, 64\]"):
        simulate(world, 0, progress=False, threads=threads)
    sim, _ = build(world, 0)
    with pytest.raises(ValueError, match=r"^threads: must be in \[1, 64\], got"):
        sim.run(threads=threads)
    assert sim.steps_done == 0


def test_threads_must_be_an_integer() -> None:
    world = load_preset("default-hour").replace(targets=())
    for bad in (2.0, True, None):
        with pytest.raises(TypeError, match='threads: must be an integer or "auto"'):
            simulate(world, 0, progress=False, threads=bad)  # type: ignore[arg-type]
    for text in ("2", "two", "Auto"):
        allowed = r'^threads: must be "auto" or an integer in \[1, 64\], got'
        with pytest.raises(ValueError, match=allowed):
            simulate(world, 0, progress=False, threads=text)  # type: ignore[arg-type]
