"""calibration.validate: a scenario's targets over seeds, checked against independent
runs of each seed, a plain recount of the passes, hand-made Validations with known
verdicts, the process-pool executor, failing runs and bad input."""

from __future__ import annotations

import dataclasses
import json
import math
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.analysis import crash_figures
from deleverage.calibration import Validation, target_values, validate
from deleverage.calibration.validate import needed_passes, seed_list
from deleverage.scenario import Scenario, Target
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate

INF = math.inf
NAN = math.nan
SEEDS = (0, 1, 2, 3)


def bare_hour() -> Scenario:
    """The default-hour preset (a 5% jump at step 1800 of 1 s) without its own quiet window
    and targets: these tests choose theirs."""
    return load_preset("default-hour").replace(quiet_window=(), targets=())


TARGETS = (
    Target("daily_vol", horizon=10, range=(0.0, 10.0)),  # quiet window: 0-1800 s
    Target("return_acf_1", horizon=5, window=(0, INF), range=(-0.9, 0.9), share=0.5),
    Target("spread_bps", range=(0.0, 1000.0)),
    Target("run.max_drawdown", range=(0.0, 1.0)),
    Target("crash.low_fall", range=(0.0, 1.0), share=0.75),
    Target("kurtosis", horizon=5, value=3.0),  # no range: never fails
    Target("spread_bps", window=(0, 600), range=(-2.0, -1.0)),  # excludes everything
)
IMPOSSIBLE = 6


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return bare_hour()


@pytest.fixture(scope="module")
def runs(scenario):
    """Each seed run on its own, outside validate."""
    return {seed: simulate(scenario, seed, progress=False) for seed in SEEDS}


@pytest.fixture(scope="module")
def oracle(runs) -> np.ndarray:
    """targets x seeds, from the separate runs."""
    return np.array([target_values(runs[seed], TARGETS) for seed in SEEDS]).T


@pytest.fixture(scope="module")
def validation(scenario) -> Validation:
    return validate(scenario, len(SEEDS), targets=TARGETS)


# ---------------------------------------------------------------- values


def test_values_equal_separate_runs(validation, oracle, scenario):
    assert validation.seeds == SEEDS
    assert validation.targets == TARGETS
    assert validation.scenario == scenario.replace(targets=TARGETS)
    assert validation.errors == (None,) * len(SEEDS)
    assert validation.values.shape == (len(TARGETS), len(SEEDS))
    np.testing.assert_array_equal(validation.values, oracle)
    assert np.all(np.isfinite(validation.values))
    assert validation.wall_seconds > 0


def test_target_values_against_direct_computation(runs):
    # the figures themselves, from the series and the run's metrics
    for seed, result in runs.items():
        got = target_values(result, TARGETS)
        gold = result.series["GOLD"]
        last = gold["last"].to_numpy()
        quiet = last[:1800]
        r = np.diff(np.log(quiet[::10]))
        assert got[0] == pytest.approx(np.std(r, ddof=1) * math.sqrt(86400 / 10), rel=1e-12)
        r5 = np.diff(np.log(last[::5]))
        d = r5 - r5.mean()
        assert got[1] == pytest.approx((d[:-1] @ d[1:]) / (d @ d), rel=1e-9, abs=1e-12)
        bps = (gold["spread"] / gold["mid"] * 1e4).to_numpy()[:1800]
        assert got[2] == pytest.approx(np.median(bps[np.isfinite(bps)]), rel=1e-12)
        assert got[3] == result.metrics("GOLD")["max_drawdown"]
        assert got[4] == crash_figures(result, instrument="GOLD").low_fall
        k = np.diff(np.log(last[:1800:5]))
        k = k - k.mean()
        assert got[5] == pytest.approx(np.mean(k**4) / np.mean(k**2) ** 2 - 3, rel=1e-9), seed


def test_scenario_targets_are_used_when_none_given(scenario, oracle):
    own = scenario.replace(targets=TARGETS[:4])
    v = validate(own, [2, 0])
    assert v.targets == TARGETS[:4]
    assert v.seeds == (2, 0)
    np.testing.assert_array_equal(v.values, oracle[:4][:, [2, 0]])


def test_scale_runs_the_scaled_scenario(scenario):
    targets = TARGETS[:4]
    v = validate(scenario, [1], scale=0.5, targets=targets)
    small = scenario.scaled(0.5)
    assert v.scenario.total_accounts == small.total_accounts < scenario.total_accounts
    want = target_values(simulate(small, 1, progress=False), targets)
    np.testing.assert_array_equal(v.values[:, 0], want)


def test_scale_can_keep_the_small_populations_whole(scenario):
    targets = TARGETS[:4]
    v = validate(scenario, [1], scale=0.5, keep_accounts_below=100, targets=targets)
    small = scenario.scaled(0.5, keep_accounts_below=100)
    assert small != scenario.scaled(0.5)  # the 50 value traders keep their number
    assert v.scenario.populations == small.populations
    want = target_values(simulate(small, 1, progress=False), targets)
    np.testing.assert_array_equal(v.values[:, 0], want)
    with pytest.raises(ValueError, match=r"^keep_accounts_below: only applies with scale"):
        validate(scenario, [1], keep_accounts_below=100, targets=targets)


def test_process_pool_gives_the_same_values_as_threads(scenario, oracle):
    seeds = [3, 1]  # columns follow the seeds given, not the order runs finish
    targets = TARGETS[:5]
    with ProcessPoolExecutor(2) as pool:
        v = validate(scenario, seeds, targets=targets, executor=pool)
    threads = validate(scenario, seeds, targets=targets, workers=2)
    assert v.errors == (None, None)
    np.testing.assert_array_equal(v.values, threads.values)
    np.testing.assert_array_equal(v.values, oracle[:5][:, seeds])
    # the fair value's own figures cross the process boundary too
    assert v.value_values is not None
    assert threads.value_values is not None
    np.testing.assert_array_equal(v.value_values, threads.value_values)
    assert np.isfinite(v.value_values[:2]).all()  # daily_vol and return_acf_1 of the value


# ---------------------------------------------------------------- verdicts


def recount(values: np.ndarray, targets) -> list[tuple[int, int, bool | None]]:
    """(passed, needed, ok) per target, by a loop: needed = ceil(share * seeds)."""
    out = []
    for row, target in zip(values, targets, strict=True):
        n = len(row)
        needed = max(1, math.ceil(Fraction(str(target.share)) * n))
        if not target.range:
            out.append((0, needed, None))
            continue
        low, high = target.range
        passed = 0
        for x in row:
            if not math.isnan(x) and low <= x <= high:
                passed += 1
        out.append((passed, needed, passed >= needed))
    return out


def test_pass_counting_against_a_recount(validation):
    table = validation.table()
    want = recount(validation.values, TARGETS)
    assert list(zip(table["passed"], table["needed"], table["ok"], strict=True)) == want
    passes = validation.passes()
    assert passes.shape == validation.values.shape
    assert passes.dtype == bool
    assert passes.sum(axis=1).tolist() == [w[0] for w in want]
    # 4 seeds: 0.875 needs 4, 0.75 needs 3, 0.5 needs 2
    assert table["needed"].tolist() == [4, 2, 4, 4, 3, 4, 4]


def test_table_columns_and_rows(validation):
    table = validation.table()
    assert list(table.columns) == [
        "target",
        "fact",
        "instrument",
        "horizon",
        "returns",
        "low",
        "high",
        *(f"seed {s}" for s in SEEDS),
        "mean",
        "passed",
        "needed",
        "ok",
        "below",
        "above",
        "missing",
        "value_passed",
    ]
    assert table["target"].tolist() == [t.label("GOLD") for t in TARGETS]
    assert table["instrument"].tolist() == ["GOLD"] * len(TARGETS)
    assert table.loc[0, "horizon"] == 10.0
    assert math.isnan(table.loc[3, "horizon"])  # a figure of the run: no horizon
    assert math.isnan(table.loc[5, "low"])
    assert math.isnan(table.loc[5, "high"])
    for i in range(len(TARGETS)):
        for k, s in enumerate(SEEDS):
            assert table.loc[i, f"seed {s}"] == validation.values[i, k]
        assert table.loc[i, "mean"] == pytest.approx(np.mean(validation.values[i]))


def test_impossible_target_fails_and_one_without_range_does_not(validation):
    table = validation.table()
    assert table.loc[IMPOSSIBLE, "ok"] is False
    assert table.loc[IMPOSSIBLE, "passed"] == 0
    assert table.loc[5, "ok"] is None
    assert validation.passed is False
    assert validation.failures() == [TARGETS[IMPOSSIBLE].label("GOLD")]
    assert validation.failures() == ["GOLD spread_bps [0, 600]"]
    # the same seeds without the impossible target: everything passes
    keep = [i for i in range(len(TARGETS)) if i != IMPOSSIBLE]
    clean = dataclasses.replace(
        validation,
        targets=tuple(TARGETS[i] for i in keep),
        values=validation.values[keep],
        value_values=validation.value_values[keep],
    )
    assert clean.failures() == []
    assert clean.passed is True
    assert clean.table()["ok"].tolist() == [True, True, True, True, True, None]


def test_misses_by_side_against_a_recount(validation):
    table = validation.table()
    for i, target in enumerate(TARGETS):
        row = table.loc[i]
        assert row["missing"] == sum(math.isnan(x) for x in validation.values[i])
        if not target.range:
            assert row["below"] is None
            assert row["above"] is None
            continue
        low, high = target.range
        assert row["below"] == sum(x < low for x in validation.values[i])
        assert row["above"] == sum(x > high for x in validation.values[i])
        # every seed is in range, under it, over it or without a figure
        assert row["passed"] + row["below"] + row["above"] + row["missing"] == len(SEEDS)
    assert table.loc[IMPOSSIBLE, "above"] == len(SEEDS)  # every spread is over -1 bp


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from([(0.0, 1.0), (-INF, 0.0), (0.0, INF), (1.0, 1.0)]),
)
def test_misses_by_side_partition_the_seeds(figures, bounds):
    """Under, in, over and without a figure split the seeds, bounds included in the
    range, NaN on no side, +-inf on its side."""
    target = Target("run.max_drawdown", range=bounds, share=0.5)
    row = made([figures], [target]).table().loc[0]
    low, high = bounds
    assert row["below"] == sum(1 for x in figures if x < low)
    assert row["above"] == sum(1 for x in figures if x > high)
    assert row["missing"] == sum(1 for x in figures if math.isnan(x))
    assert row["passed"] + row["below"] + row["above"] + row["missing"] == len(figures)


def made(values, targets, errors=None) -> Validation:
    values = np.asarray(values, dtype=float)
    seeds = tuple(range(values.shape[1]))
    errors = tuple(errors) if errors is not None else (None,) * len(seeds)
    return Validation(bare_hour(), seeds, tuple(targets), values, errors, 0.0)


def test_verdicts_on_known_values():
    share = Target("run.max_drawdown", range=(0.0, 0.1), share=0.875)
    values = [[0.05] * 7 + [0.2]]  # 7 of 8 in range: enough for 0.875
    assert made(values, [share]).passed is True
    values = [[0.05] * 6 + [0.2, NAN]]  # 6 of 8, and a NaN never lies in a range
    v = made(values, [share])
    assert v.table()["passed"].tolist() == [6]
    assert v.table()["needed"].tolist() == [7]
    assert v.passed is False
    assert v.failures() == ["GOLD run.max_drawdown"]
    assert v.table()["mean"].tolist() == [pytest.approx((6 * 0.05 + 0.2) / 7)]
    # the bounds are inside the range; infinite bounds work
    edges = Target("kurtosis", horizon=60, range=(1.0, INF), share=1.0)
    assert made([[1.0, 1e300, INF]], [edges]).passed is True
    assert made([[0.999999, 2.0, 3.0]], [edges]).passed is False
    # a target without a range never fails, even on NaN
    free = Target("kurtosis", value=3.0)
    assert made([[NAN, NAN]], [free]).passed is True
    # every figure NaN: the mean is NaN too
    assert math.isnan(made([[NAN, NAN]], [free]).table().loc[0, "mean"])
    # a run that failed fails the validation even when its targets pass
    v = made([[0.05, 0.05]], [Target("run.max_drawdown", range=(0, 0.1), share=0.5)])
    assert v.passed is True
    v = dataclasses.replace(v, errors=(None, "RuntimeError: boom"))
    assert v.passed is False
    assert v.failures() == []  # no target failed: the error says why


@pytest.mark.parametrize(
    ("share", "seeds", "needed"),
    [(0.875, 8, 7), (0.875, 4, 4), (1.0, 8, 8), (0.5, 4, 2), (0.01, 8, 1), (0.3, 10, 3)],
)
def test_needed_passes_examples(share, seeds, needed):
    assert needed_passes(share, seeds) == needed


@settings(max_examples=300, deadline=None)
@given(percent=st.integers(1, 100), seeds=st.integers(1, 1000))
def test_needed_passes_against_exact_fractions(percent, seeds):
    exact = math.ceil(Fraction(percent, 100) * seeds)
    assert needed_passes(percent / 100, seeds) == max(1, exact)


def test_split_target_counts_seeds(scenario, oracle):
    # a range that three of the four seeds' daily volatility lies in
    vols = sorted(oracle[0])
    assert len(set(vols)) == 4
    low = vols[1]
    targets = (
        Target("daily_vol", horizon=10, range=(low, 10.0), share=0.75),  # 3 of 4
        Target("daily_vol", horizon=10, range=(low, 10.0), share=0.76),  # needs 4
        Target("daily_vol", horizon=10, range=(-INF, low), share=0.5),  # 2 of 4 (low in)
    )
    v = validate(scenario, SEEDS, targets=targets)
    table = v.table()
    assert table["passed"].tolist() == [3, 3, 2]
    assert table["needed"].tolist() == [3, 4, 2]
    assert table["ok"].tolist() == [True, False, True]
    assert v.failures() == [targets[1].label("GOLD")]
    assert v.passed is False


# ---------------------------------------------------------------- to_dict


def test_to_dict_is_strict_json(validation):
    d = validation.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["scenario"] == "default-hour"
    assert back["accounts"] == 1354
    assert back["seeds"] == list(SEEDS)
    assert back["passed"] is False
    assert back["failures"] == ["GOLD spread_bps [0, 600]"]
    assert back["errors"] == [None] * len(SEEDS)
    table = validation.table()
    assert len(back["targets"]) == len(TARGETS)
    for i, row in enumerate(back["targets"]):
        assert row["target"] == table.loc[i, "target"]
        assert row["values"] == pytest.approx(validation.values[i].tolist())
        assert row["passed"] == table.loc[i, "passed"]
        assert row["needed"] == table.loc[i, "needed"]
        assert row["share"] == TARGETS[i].share
        assert row["below"] == table.loc[i, "below"]
        assert row["above"] == table.loc[i, "above"]
        assert row["missing"] == table.loc[i, "missing"]
    assert back["targets"][5]["below"] is None
    assert back["targets"][5]["range"] is None
    assert back["targets"][5]["ok"] is None
    assert back["targets"][3]["horizon"] is None
    assert back["targets"][0]["range"] == [0.0, 10.0]


def test_to_dict_nan_values_are_null():
    target = Target("kurtosis", horizon=60, range=(0, 10))
    d = made([[NAN, 2.0], [NAN, NAN]], [target, target], errors=["ValueError: x", None]).to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["targets"][0]["values"] == [None, 2.0]
    assert back["targets"][1]["values"] == [None, None]
    assert back["targets"][1]["mean"] is None
    assert back["errors"] == ["ValueError: x", None]


# An infinite bound (range = [0.1, inf]) is written as null: the summary is strict JSON.
def test_to_dict_with_an_infinite_bound_is_strict_json():
    target = Target("abs_acf_1", horizon=60, range=(0.1, INF))
    d = made([[0.2, 0.3]], [target]).to_dict()
    assert json.loads(json.dumps(d, allow_nan=False))["targets"][0]["range"] == [0.1, None]


# An infinite figure (vol_ratio of a fair value that never moves) is null too.
def test_to_dict_with_an_infinite_figure_is_strict_json():
    target = Target("vol_ratio", horizon=60, range=(0.5, 2.0))
    d = made([[1.0, INF]], [target]).to_dict()
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["targets"][0]["values"] == [1.0, None]


# ---------------------------------------------------------------- failing runs


def test_a_run_that_raises_is_reported_per_seed(scenario, monkeypatch):
    """A run that fails (here seed 1's simulation raises) leaves NaN figures and its error
    for that seed only; the other seeds are judged as usual."""
    import deleverage.simulate as sim

    real = sim.build_joined

    def flaky(world, seed, **kw):
        if seed == 1:
            raise RuntimeError("engine stopped")
        return real(world, seed, **kw)

    monkeypatch.setattr(sim, "build_joined", flaky)
    targets = (Target("run.max_drawdown", range=(0.0, 1.0), share=0.5),)
    v = validate(scenario, [0, 1, 2], targets=targets, workers=1)
    assert v.errors == (None, "RuntimeError: engine stopped", None)
    assert np.isnan(v.values[0, 1])
    assert np.isfinite(v.values[0, [0, 2]]).all()
    assert v.table()["passed"].tolist() == [2]
    assert v.failures() == []
    assert v.passed is False  # a failed run fails the validation
    d = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert d["errors"] == list(v.errors)
    assert d["targets"][0]["values"][1] is None


def test_an_unknown_figure_is_refused_before_any_run(scenario):
    targets = (Target("run.max_drawdown", range=(0.0, 1.0)), Target("run.nonexistent", value=1))
    with pytest.raises(ValueError, match=r"targets\[1\]\.fact: 'run.nonexistent' is not a run"):
        validate(scenario, [0, 1], targets=targets)


def test_episode_figure_names_match_the_figures():
    from deleverage.analysis import episode_metrics
    from deleverage.analysis.episode import episode_metric_names

    world = load_preset("gold-2026").scaled(0.01)
    result = simulate(world, 0, progress=False)
    for instrument in ("GOLD", "INDEX"):
        names = episode_metric_names(world, instrument)
        assert names == list(episode_metrics(result, instrument))


def test_too_few_returns_is_nan_not_an_error(scenario):
    # the quiet window holds 1800 s: six 300 s returns, too few for a volatility
    targets = (Target("daily_vol", horizon=300, range=(0.0, 10.0)),)
    v = validate(scenario, [0], targets=targets)
    assert v.errors == (None,)
    assert math.isnan(v.values[0, 0])
    assert v.failures() == ["GOLD daily_vol @300s"]


# ---------------------------------------------------------------- bad input


def test_seed_list():
    assert seed_list(3) == (0, 1, 2)
    assert seed_list(np.int64(2)) == (0, 1)
    assert seed_list([5, 2]) == (5, 2)
    assert seed_list(np.array([7, 1])) == (7, 1)
    assert seed_list((2**63 - 1,)) == (2**63 - 1,)


@pytest.mark.parametrize(
    ("seeds", "error", "pattern"),
    [
        (0, ValueError, r"seeds: must be a count in 1\.\.100000 or a list, got 0"),
        (-2, ValueError, r"seeds: must be a count in 1\.\.100000 or a list, got -2"),
        (100_001, ValueError, r"seeds: must be a count in 1\.\.100000"),
        ([], ValueError, r"seeds: the list must not be empty"),
        ([1, 2, 1], ValueError, r"seeds: must not repeat a seed, got \[1, 2, 1\]"),
        ([0, -1], ValueError, r"seeds\[1\]: must be in 0\.\.2\*\*63-1, got -1"),
        ([2**63], ValueError, r"seeds\[0\]: must be in 0\.\.2\*\*63-1"),
        ([1.0], TypeError, r"seeds\[0\]: must be an integer in 0\.\.2\*\*63-1, got float"),
        ([True], TypeError, r"seeds\[0\]: must be an integer"),
        (True, TypeError, r"seeds: must be a count or a list of ints, got bool"),
        ("3", TypeError, r"seeds: must be a count or a list of ints, got str"),
        (2.0, TypeError, r"seeds: must be a count or a list of ints, got float"),
    ],
)
def test_bad_seeds(scenario, seeds, error, pattern):
    with pytest.raises(error, match=pattern):
        seed_list(seeds)
    with pytest.raises(error, match=pattern):
        validate(scenario, seeds, targets=TARGETS[:1])


def test_validate_bad_input(scenario):
    one = TARGETS[:1]
    for scale in (0, -0.5):
        with pytest.raises(ValueError, match=r"scale: must be in \(0\.0, 1000\.0\]"):
            validate(scenario, 1, scale=scale, targets=one)
    with pytest.raises(ValueError, match=r"scale: must be finite, got nan"):
        validate(scenario, 1, scale=NAN, targets=one)
    with pytest.raises(TypeError, match=r"scale: must be a number, got str"):
        validate(scenario, 1, scale="1", targets=one)
    with pytest.raises(
        ValueError, match=r"targets: scenario 'default-hour' declares no \[\[targets\]\] and none"
    ):
        validate(scenario, 1)
    with pytest.raises(ValueError, match=r"targets: scenario 'default-hour' declares no"):
        validate(scenario.replace(targets=TARGETS[:1]), 1, targets=[])
    with pytest.raises(TypeError, match=r"scenario: must be a Scenario, got dict"):
        validate({"name": "default"}, 1, targets=one)
    with pytest.raises(TypeError, match=r"scenario: must be a Scenario, got str"):
        validate("default", 1, targets=one)
    # targets given are checked against the scenario
    with pytest.raises(ValueError, match=r"targets\[0\]\.instrument: unknown instrument 'SILVER'"):
        validate(scenario, 1, targets=[Target("kurtosis", instrument="SILVER", range=(0, 1))])
    with pytest.raises(ValueError, match=r"targets\[0\]\.horizon: must be a whole number"):
        validate(scenario, 1, targets=[Target("kurtosis", horizon=2.5, range=(0, 1))])
    with pytest.raises(TypeError, match=r"targets\[0\]: must be a Target, got str"):
        validate(scenario, 1, targets=["kurtosis"])
    with pytest.raises(ValueError, match=r"workers: must be an integer >= 1, got 0"):
        validate(scenario, 1, targets=one, workers=0)


def test_returns_in_the_window_are_counted(scenario):
    """The count of horizon returns a market target's window holds, against a plain
    count of the non-overlapping returns of the series inside it."""
    targets = (
        Target("return_acf_1", horizon=60, range=(-0.1, 0.1)),
        Target("kurtosis", horizon=30, window=(100.0, 1000.0), range=(3.0, math.inf)),
        Target("spread_bps", range=(0.0, 5.0)),
        Target("run.max_drawdown", range=(0.0, 1.0)),
    )
    v = validate(scenario, [0], targets=targets)
    result = simulate(scenario.replace(targets=targets), 0, progress=False)
    t = result.series.index.to_numpy()
    for target, (start, end) in [(targets[0], (0.0, 1800.0)), (targets[1], (100.0, 1000.0))]:
        inside = result.series[("GOLD", "last")].to_numpy()[(t >= start) & (t < end)]
        expected = len(np.diff(inside[:: round(target.horizon)]))
        assert v.returns(target) == expected
    assert v.returns(targets[2]) is None
    assert v.returns(targets[3]) is None
    d = json.loads(json.dumps(v.to_dict(), allow_nan=False))
    assert [x["returns"] for x in d["targets"]] == [29, 29, None, None]
