"""Ctrl-C during a run: KeyboardInterrupt, or the partial result when asked."""

from __future__ import annotations

import _thread
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import deleverage.simulate as simulate_module
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

#: When Ctrl-C comes after the run's engine is built: well inside a run of about a
#: second (the C++ loop checks for it every 256 steps). A run of 0.3 s (20,000 accounts)
#: was over before a 0.3 s timer on a fast machine, and the interrupt then landed after
#: the test.
INTERRUPT_AFTER = 0.1


@pytest.fixture(scope="module")
def long_run():
    # Long enough (a day of steps, 300,000 accounts) that the interrupt lands mid-run.
    return load_preset("default-day").with_accounts(300_000)


@pytest.fixture
def ctrl_c_in_run(monkeypatch) -> Iterator[None]:
    """Ctrl-C INTERRUPT_AFTER seconds into the next run, counted from the end of its
    build: on a loaded machine building 300,000 accounts can take longer than the
    delay, and a timer started before ``simulate`` would land in the build."""
    real_build = simulate_module.build
    timers: list[threading.Timer] = []

    def build_then_arm(*args, **kwargs):
        built = real_build(*args, **kwargs)
        if not timers:  # the first run only
            timers.append(threading.Timer(INTERRUPT_AFTER, _thread.interrupt_main))
            timers[0].start()  # as if Ctrl-C were pressed
        return built

    monkeypatch.setattr(simulate_module, "build", build_then_arm)
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()


def test_ctrl_c_raises_keyboard_interrupt(long_run, ctrl_c_in_run) -> None:
    with pytest.raises(KeyboardInterrupt):
        simulate(long_run, 0, progress=False)


def test_ctrl_c_with_keep_partial_returns_the_steps_done(long_run, ctrl_c_in_run) -> None:
    partial = simulate(long_run, 0, progress=False, keep_partial=True)
    steps = long_run.clock.steps
    assert not partial.complete
    assert 0 < partial.steps_done < steps
    assert partial.steps_done % 256 == 0  # it stops between steps, where it checks
    assert len(partial.series) == partial.steps_done
    assert partial.conservation_error < 1e-9
    # The partial run is the full run's prefix, bit for bit.
    short = simulate(long_run.with_steps(partial.steps_done), 0, progress=False)
    a = partial.series.to_numpy()
    b = short.series.to_numpy()
    assert np.array_equal(a, b, equal_nan=True)
