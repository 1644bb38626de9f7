"""``threads="auto"``: two threads for worlds whose steps have a few hundred
accounts due, one otherwise, and the same run bit for bit either way.

Oracle for the count it decides on (``accounts_due_per_step``): the engine's
own count of decisions over a run, less the market makers' one requote a step
each, divided by the steps.
"""

from __future__ import annotations

import json

import pytest

from deleverage import _core
from deleverage import simulate as simulate_module
from deleverage.cli import main
from deleverage.scenarios import load_preset
from deleverage.simulate import accounts_due_per_step, simulate, threads_for

#: The default-hour world at 70 times its size: about 280 accounts due a step.
LARGE = 70


def _makers(scenario) -> int:  # type: ignore[no-untyped-def]
    return sum(p.accounts for p in scenario.populations if p.strategy == "market_maker")


@pytest.mark.parametrize(
    ("preset", "scale"),
    [
        ("default-day", 1.0),
        ("default-hour", 1.0),
        ("crypto-cascade-2025", 0.05),
        ("gold-2026", 0.01),
    ],
)
def test_accounts_due_per_step_is_the_engines_count(preset: str, scale: float) -> None:
    world = load_preset(preset)
    world = (world if scale == 1.0 else world.scaled(scale)).replace(targets=())
    r = simulate(world, 3, progress=False)
    steps = world.clock.steps
    counted = (r.decisions - _makers(world) * steps) / steps
    expected = accounts_due_per_step(world)
    # A Poisson count per step: its mean over the run is within a few standard errors.
    assert counted == pytest.approx(expected, abs=5.0 * (expected / steps) ** 0.5 + 1e-9)


def test_threads_for_needs_accounts_due_and_a_second_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    small = load_preset("default-hour")
    large = small.scaled(LARGE)
    assert accounts_due_per_step(small) < _core.PARALLEL_GATHER <= accounts_due_per_step(large)
    for cpus, want in ((1, 1), (2, 2), (16, 2)):
        monkeypatch.setattr(simulate_module, "usable_cpus", lambda cpus=cpus: cpus)
        assert threads_for(small) == 1
        assert threads_for(large) == want


def test_gold_at_its_default_size_gets_two_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulate_module, "usable_cpus", lambda: 2)
    gold = load_preset("gold-2026")
    assert threads_for(gold) == 2  # about 1,330 accounts due a step
    assert threads_for(gold.scaled(0.05)) == 1  # about 66: a helper would only wait


def test_auto_is_the_same_run_as_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(simulate_module, "usable_cpus", lambda: 2)
    world = load_preset("default-hour").scaled(LARGE).replace(targets=())
    assert threads_for(world) == 2
    one = simulate(world, 6, progress=False, trade_log=True)
    auto = simulate(world, 6, progress=False, trade_log=True, threads="auto")
    assert one.series.equals(auto.series)
    assert one.liquidations.equals(auto.liquidations)
    assert one.trades is not None
    assert auto.trades is not None
    assert one.trades.equals(auto.trades)


def test_accounts_due_per_step_needs_a_scenario() -> None:
    with pytest.raises(TypeError, match="scenario: must be a Scenario, got str"):
        accounts_due_per_step("gold-2026")  # type: ignore[arg-type]


def test_run_defaults_to_auto(capsys: pytest.CaptureFixture[str]) -> None:
    # The default world has a few accounts due a step: one thread.
    assert main(["-v", "run", "--json", "--seed", "1"]) == 0
    out, err = capsys.readouterr()
    auto = json.loads(out)
    assert err.endswith("seed 1, on 1 thread\n")
    assert main(["run", "--json", "--seed", "1", "--threads", "1"]) == 0
    one = json.loads(capsys.readouterr().out)
    for figures in (auto, one):
        figures.pop("wall_seconds", None)
        figures.pop("run_seconds", None)
    assert auto == one


def test_run_says_how_many_threads_it_runs_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(simulate_module, "usable_cpus", lambda: 2)
    # default-hour with 50,000 noise traders: about 280 accounts due a step.
    args = ["-v", "run", "default-hour", "--json", "--set", "populations.noise.accounts=50000"]
    assert main(args) == 0
    assert capsys.readouterr().err.endswith(", on 2 threads\n")
    assert main([*args, "--threads", "1"]) == 0
    assert capsys.readouterr().err.endswith(", on 1 thread\n")
