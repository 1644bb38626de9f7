"""Ctrl-C during a run: KeyboardInterrupt, or the partial result when asked."""

from __future__ import annotations

import _thread
import threading

import numpy as np
import pytest

from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

#: When Ctrl-C comes: well inside a run of about a second (the C++ loop checks for it
#: every 256 steps). A run of 0.3 s (20,000 accounts) was over before a 0.3 s timer on a
#: fast machine, and the interrupt then landed after the test.
INTERRUPT_AFTER = 0.1


@pytest.fixture(scope="module")
def long_run():
    # Long enough (a day of steps, 300,000 accounts) that the interrupt lands mid-run.
    return load_preset("default-day").with_accounts(300_000)


def _interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, _thread.interrupt_main)  # as if Ctrl-C were pressed
    timer.start()
    return timer


def test_ctrl_c_raises_keyboard_interrupt(long_run) -> None:
    timer = _interrupt_after(INTERRUPT_AFTER)
    try:
        with pytest.raises(KeyboardInterrupt):
            simulate(long_run, 0, progress=False)
    finally:
        timer.cancel()


def test_ctrl_c_with_keep_partial_returns_the_steps_done(long_run) -> None:
    timer = _interrupt_after(INTERRUPT_AFTER)
    try:
        partial = simulate(long_run, 0, progress=False, keep_partial=True)
    finally:
        timer.cancel()
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
