"""Targets measured against a counterfactual (``Target.against``): the figure is the
run's less the same figure of the same seed's world without that cause.

Oracle: the two runs made by hand (the scenario, and the built-in factor applied
to it), their figures from ``target_values`` and subtracted; the validation's
values must equal that exactly, seed by seed, and so must its passes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deleverage.calibration import target_values, validate
from deleverage.counterfactuals import FACTORS, cap_leverage, steady_dealers
from deleverage.scenario import COUNTERFACTUAL_CAUSES, Target, from_toml_str, to_toml_str
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

SEEDS = (0, 1, 2)
TARGETS = (
    Target("run.max_drawdown", range=(0.0, 1.0)),
    # how much deeper the drop is for the leverage: its drawdown less the unlevered one's
    Target("run.max_drawdown", range=(-1.0, 1.0), against="leverage"),
    Target("crash.low_fall", window=(1800.0, math.inf), range=(-1.0, 1.0), against="dealers"),
    Target("run.liquidations", range=(-math.inf, -1.0), against="leverage"),  # never: fails
)


def test_the_causes_are_the_counterfactual_factors() -> None:
    assert tuple(FACTORS) == COUNTERFACTUAL_CAUSES


def test_a_figure_against_a_cause_is_the_difference_of_two_runs() -> None:
    world = load_preset("default-hour").replace(targets=())
    v = validate(world, len(SEEDS), targets=TARGETS, workers=2, progress=False)
    assert v.errors == (None,) * len(SEEDS)
    for k, seed in enumerate(SEEDS):
        run = target_values(simulate(world, seed, progress=False), TARGETS)
        unlevered = target_values(simulate(cap_leverage(world), seed, progress=False), TARGETS)
        steady = target_values(simulate(steady_dealers(world), seed, progress=False), TARGETS)
        expected = [run[0], run[1] - unlevered[1], run[2] - steady[2], run[3] - unlevered[3]]
        np.testing.assert_array_equal(v.values[:, k], expected)
        # the unlevered world liquidates no one, so the last figure is the run's own count
        assert unlevered[3] == 0.0
    table = v.table()
    assert table["target"].tolist()[1] == "GOLD run.max_drawdown vs no leverage"
    assert table["ok"].tolist() == [True, True, True, False]


def test_against_round_trips_through_toml() -> None:
    world = load_preset("default-hour").replace(targets=TARGETS)
    assert from_toml_str(to_toml_str(world)).targets == TARGETS
    assert "against" not in to_toml_str(world.replace(targets=TARGETS[:1]))


@pytest.mark.parametrize("cause", COUNTERFACTUAL_CAUSES)
def test_every_cause_names_a_factor_validate_can_run(cause: str) -> None:
    world = load_preset("default-hour").replace(targets=())
    target = Target("run.max_drawdown", range=(-1.0, 1.0), against=cause)
    v = validate(world, 1, targets=[target], workers=1, progress=False)
    assert v.errors == (None,)
    assert math.isfinite(float(v.values[0, 0]))


def test_the_calibration_bench_times_one_run_a_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """gold-2026 measures its overshoot against two causes; the bench leaves those out."""
    import deleverage.simulate
    from deleverage.bench.calibration_batch import bench_calibration_batch

    assert any(t.against for t in load_preset("gold-2026").targets)
    calls = []
    real = deleverage.simulate.build_joined

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(deleverage.simulate, "build_joined", counted)
    result = bench_calibration_batch(1, preset="gold-2026", scale=0.01)
    # a warm-up run on 1 and on 2 threads, then the batch of one on each
    assert len(calls) == 4
    assert result.same_values
