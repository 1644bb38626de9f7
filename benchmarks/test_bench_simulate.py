"""Simulation benchmarks: an hour of the default-day world at 100k accounts, and
the same hour at 10k accounts as the baseline measured in the same session.

``deleverage bench simulate`` runs the full day at 1M accounts and the 10M
memory check; these stay short enough for a routine benchmark pass. Rates
land in ``extra_info``.
"""

from __future__ import annotations

import pytest

from deleverage.scenarios import load_preset
from deleverage.simulate import build

from .timing import best_seconds

STEPS = 3_600


def _run(accounts: int) -> tuple[int, int]:
    sim, _ = build(load_preset("default-day").with_accounts(accounts).with_steps(STEPS), 0)
    sim.run()
    return int(sim.messages), int(sim.decisions)


@pytest.mark.parametrize("accounts", [10_000, 100_000])
def test_simulate_one_hour(benchmark, accounts: int) -> None:
    messages, decisions = benchmark.pedantic(_run, args=(accounts,), rounds=3, iterations=1)
    best = best_seconds(benchmark)
    benchmark.extra_info["accounts"] = accounts
    benchmark.extra_info["steps"] = STEPS
    benchmark.extra_info["messages_per_s"] = messages / best
    benchmark.extra_info["decisions_per_s"] = decisions / best
