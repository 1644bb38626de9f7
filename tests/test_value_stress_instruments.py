"""``ValueParams.stress_instruments``: value traders whom another market's storm keeps out.

Oracle: the recorded realized volatility of each instrument. A step's decisions
see the volatility after the step before, and the value traders step out at
the highest of their own instrument's and their stress instruments'. With
``hold_when_out`` a trader that is out keeps its position and sends nothing,
so every trade a value trader takes (the aggressor) must come at a step where
both were under ``vol_exit``. The same world without the field takes trades
while only the index is stormy, so the check can fail. Without the field
every scenario runs as before (the presets' fingerprints, not repeated here).
"""

from __future__ import annotations

import numpy as np
import pytest

from deleverage import _core, engine_spec
from deleverage.counterfactuals import no_population_changes
from deleverage.result import Result
from deleverage.scenario import Scenario, from_toml_str, to_toml_str
from deleverage.scenario.populations import ValueParams
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths
from trade_takers import taker_steps

EXIT = 0.8
FRACTION = 0.02
SEEDS = range(2)


def _world(stress: tuple[str, ...]) -> Scenario:
    s = load_preset("dash-for-cash-2020").scaled(FRACTION).replace(targets=())
    # Their limits as set here for the whole run: without the preset's changes of March.
    s = no_population_changes(s, ["gold_value"])
    base = "populations.gold_value.params."
    return apply_paths(
        s,
        {
            base + "hold_when_out": True,
            base + "vol_reference": 0.3,
            base + "vol_exit": EXIT,
            base + "stress_instruments": stress,
        },
    )


def _seen(r: Result, name: str) -> np.ndarray:
    """The realized volatility of ``name`` that each step's decisions see."""
    v = r.series[(name, "volatility")].to_numpy()
    return np.concatenate([[np.nan], v[:-1]])  # step 0 sees the start: not judged


def test_value_traders_stay_out_while_the_index_storms() -> None:
    taken = in_storm = free_in_storm = 0
    for seed in SEEDS:
        r = simulate(_world(("INDEX",)), seed, trade_log=True, progress=False)
        gold, index = _seen(r, "GOLD"), _seen(r, "INDEX")
        watched = np.fmax(gold, index)
        steps = taker_steps(r, "gold_value", "GOLD")
        steps = steps[steps > 0]
        near = np.abs(watched[steps] - EXIT) < 1e-9 * EXIT  # a tie decided by the last bit
        taken += len(steps)
        in_storm += int((watched[steps][~near] >= EXIT).sum())
        assert ((index >= EXIT) & (gold < EXIT)).any()  # a storm only the index has
        assert r.conservation_error < 1e-12
        free = simulate(_world(()), seed, trade_log=True, progress=False)
        fsteps = taker_steps(free, "gold_value", "GOLD")
        fsteps = fsteps[fsteps > 0]
        fg, fi = _seen(free, "GOLD"), _seen(free, "INDEX")
        free_in_storm += int(((fi[fsteps] >= EXIT) & (fg[fsteps] < EXIT)).sum())
    assert taken > 0  # they trade
    assert in_storm == 0
    assert free_in_storm > 0  # without the field they trade through the index's storms


def test_stress_instruments_round_trip_and_threads() -> None:
    world = _world(("INDEX",))
    assert from_toml_str(to_toml_str(world)) == world
    short = world.with_steps(600)
    one = simulate(short, 1, threads=1, progress=False)
    two = simulate(short, 1, threads=2, progress=False)
    assert one.series.equals(two.series)


@pytest.mark.parametrize(
    ("stress", "error", "match"),
    [
        (("OIL",), ValueError, r"populations\[\d+\]\.params\.stress_instruments\[0\]: unknown"),
        (("GOLD",), ValueError, r"stress_instruments\[0\]: their own instrument 'GOLD'"),
        (("INDEX", "INDEX"), ValueError, r"stress_instruments\[1\]: instrument 'INDEX' is listed"),
        ((3,), TypeError, r"stress_instruments\[0\]"),
        ("INDEX", TypeError, r"stress_instruments"),
    ],
)
def test_bad_stress_instruments_name_the_field(stress: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        _world(stress)  # type: ignore[arg-type]


def test_the_engine_refuses_an_unknown_stress_instrument(monkeypatch: pytest.MonkeyPatch) -> None:
    def convert(p: object, dt: float, names: object) -> _core.ValueSpec:
        return _core.ValueSpec(stress_instruments=[7])

    bad = engine_spec.StrategyEntry(convert, None)
    monkeypatch.setitem(engine_spec.STRATEGIES, ValueParams, bad)
    with pytest.raises(ValueError, match=r"params\.stress_instruments: unknown instrument 7"):
        simulate(_world(()).with_steps(2), 0, progress=False)
