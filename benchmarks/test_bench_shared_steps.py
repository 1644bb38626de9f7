"""Worlds that share steps: gold-2026 at a twentieth of its market, the world as
it is and three worlds that part from it at a scheduled step (without the crash
day's news, with dealers that stay in from the crash day's open, without the
margin notices), each run alone (the baseline) and run once up to where each
parts (``simulate_worlds``); then a sweep of the crash day's margin notice over
six rates and two common seeds, each run alone and sharing steps.

Run with ``python -m pytest benchmarks/test_bench_shared_steps.py``; worlds/s and
the ratio to the baseline land in ``extra_info``; nothing asserts a time.
"""

from __future__ import annotations

from typing import Any

import pytest

from deleverage.counterfactuals import FACTORS
from deleverage.scenarios import load_preset
from deleverage.shared_steps import simulate_worlds
from deleverage.simulate import simulate
from deleverage.sweeps import sweep

from .timing import best_seconds

GOLD = load_preset("gold-2026").scaled(0.05)
WORLDS = [GOLD, *(FACTORS[f](GOLD) for f in ("news", "dealers_in_crash", "margin_hikes"))]
NOTICE = {"policy.margin_changes.2.margin.maintenance_rate": [0.06, 0.07, 0.08, 0.1, 0.12, 0.15]}
rates: dict[str, float] = {}


def _alone() -> None:
    for world in WORLDS:
        simulate(world, 0, progress=False)


def test_worlds_alone(benchmark: Any) -> None:
    benchmark.pedantic(_alone, rounds=2, iterations=1, warmup_rounds=1)
    rates["alone"] = len(WORLDS) / best_seconds(benchmark)
    benchmark.extra_info["worlds_per_s"] = rates["alone"]


def test_worlds_sharing_steps(benchmark: Any) -> None:
    benchmark.pedantic(simulate_worlds, args=(WORLDS, 0), rounds=2, iterations=1, warmup_rounds=1)
    rate = len(WORLDS) / best_seconds(benchmark)
    benchmark.extra_info["worlds_per_s"] = rate
    if "alone" in rates:
        benchmark.extra_info["over_alone"] = rate / rates["alone"]


@pytest.mark.parametrize("share_steps", [False, True])
def test_sweep_of_the_crash_day_notice(benchmark: Any, share_steps: bool) -> None:
    kwargs = {"seeds": [0, 1], "workers": 2, "progress": False, "share_steps": share_steps}
    benchmark.pedantic(
        sweep, args=(GOLD, NOTICE), kwargs=kwargs, rounds=2, iterations=1, warmup_rounds=0
    )
    runs = 2 * len(NOTICE["policy.margin_changes.2.margin.maintenance_rate"])
    rate = runs / best_seconds(benchmark)
    rates[f"sweep_{share_steps}"] = rate
    benchmark.extra_info["runs_per_s"] = rate
    if share_steps and "sweep_False" in rates:
        benchmark.extra_info["over_alone"] = rate / rates["sweep_False"]
