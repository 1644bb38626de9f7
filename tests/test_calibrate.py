"""calibrate: identification at known parameters, resume after a kill, executors, bad specs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deleverage.calibration import (
    CalibrationSpec,
    Parameter,
    calibrate,
    load_calibration,
    parse_calibration,
    target_values,
    validate,
)
from deleverage.calibration.calibrate import (
    FAILED_LOSS,
    NAN_DISTANCE,
    _scaled,
    loss_of,
    spreads_of,
)
from deleverage.calibration.expressions import Expression
from deleverage.calibration.store import EvaluationStore
from deleverage.scenario import Scenario, Target
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate
from deleverage.sweeps.paths import apply_paths

FAIR = "instruments.GOLD.fundamental"
VOL = f"{FAIR}.volatility"
MAKERS = "populations.market_makers.params"
SPREAD = f"{MAKERS}.vol_spread_factor"
QUIET = (0.0, 1800.0)


def _base():  # type: ignore[no-untyped-def]
    """The default-hour world at a constant fair volatility (no clustered news, no waypoints:
    half an hour of four seeds cannot pin a stochastic volatility's level to 20%), with
    dealers who quote two ticks wide around a blend of fair value and trades, so that
    the quiet spread answers smoothly to their spread factor, and value traders out at
    80% volatility (the world this test was measured in)."""
    fixed = {
        "populations.value.params.vol_exit": 0.8,
        f"{FAIR}.vol_of_vol": 0.0,
        f"{FAIR}.waypoints": (),
        f"{MAKERS}.base_spread_ticks": 2,
        f"{MAKERS}.fair_weight": 0.5,
        f"{MAKERS}.basis_horizon": 0.0,
        VOL: 0.5,
        SPREAD: 40.0,
    }
    return apply_paths(load_preset("default-hour").replace(targets=()), fixed)


def _facts() -> list[Target]:
    return [
        Target("fair_daily_vol", horizon=30, window=QUIET, value=1.0),
        Target("spread_bps", window=QUIET, value=1.0),
    ]


def _spec(targets: tuple[Target, ...], **kw: object) -> CalibrationSpec:
    options: dict[str, object] = {"seeds": (0, 1, 2, 3), "trials": 16, "batch": 8}
    options.update(kw)
    return CalibrationSpec(
        scenario=_base(),
        parameters=(
            Parameter("vol", VOL, 0.02, 2.0, log=True),
            Parameter("spread", SPREAD, 0.5, 200.0, log=True),
        ),
        targets=targets,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def truth_targets() -> tuple[Target, ...]:
    """The seed-mean figures of the world at vol 0.16, spread factor 10, as targets."""
    world = apply_paths(_base(), {VOL: 0.16, SPREAD: 10.0})
    facts = _facts()
    values = np.array(
        [target_values(simulate(world, s, progress=False), facts) for s in (0, 1, 2, 3)]
    ).mean(axis=0)
    return tuple(
        Target(t.fact, horizon=t.horizon, window=t.window, value=float(v))
        for t, v in zip(facts, values, strict=True)
    )


def test_identification_recovers_known_parameters(truth_targets: tuple[Target, ...]) -> None:
    """From a base at 3x and 4x the truth, within wide bounds, 64 TPE trials find both
    parameters within 20%."""
    result = calibrate(_spec(truth_targets, trials=64), progress=False)
    assert result.best_params["vol"] == pytest.approx(0.16, rel=0.2)
    assert result.best_params["spread"] == pytest.approx(10.0, rel=0.2)
    assert result.best_loss < result.base_loss / 100
    # The best scenario carries the parameters; the fit table its figures.
    assert result.best_scenario.instrument("GOLD").fundamental.volatility == pytest.approx(
        result.best_params["vol"]
    )
    assert list(result.fit["aim"]) == pytest.approx([t.value for t in truth_targets])
    assert len(result.trials) == 64
    assert result.executed == 4 * 65


def test_loss_against_plain_formula() -> None:
    targets = (
        Target("vol_ratio", range=(0.7, 1.5), weight=2.0),
        Target("spread_bps", value=3.0),
        Target("kurtosis", range=(3.0, math.inf)),
    )
    spec = _spec(targets)
    base = np.array([[1.0, 1.2, 0.8, 1.0], [2.0, 4.0, 3.0, 3.0], [1.0, 2.0, np.nan, 3.0]])
    spreads = spreads_of(base, spec)

    def plain_spread(r: np.ndarray) -> float:
        r = r[np.isfinite(r)]
        mad = 1.4826 * np.median(np.abs(r - np.median(r)))
        return float(min(np.std(r, ddof=1), mad)) if mad > 0 else float(np.std(r, ddof=1))

    assert spreads == pytest.approx([plain_spread(r) for r in base])
    cand = np.array([[2.0, 2.0, 2.0, 2.0], [3.5, 3.5, 3.5, 3.5], [np.nan] * 4])
    d = [(2.0 - 1.5) / spreads[0], 0.5 / spreads[1], NAN_DISTANCE]
    expected = (2 * d[0] ** 2 + d[1] ** 2 + d[2] ** 2) / 4
    assert loss_of(cand, spreads, spec) == pytest.approx(expected)
    inside = np.array([[1.0] * 4, [3.0] * 4, [5.0] * 4])
    assert loss_of(inside, spreads, spec) == 0.0
    # One wild seed does not set the spread: the median absolute deviation does.
    wild = np.array([[1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0, 40.0], [3.0] * 8, [4.0] * 8])
    assert spreads_of(wild, spec)[0] == pytest.approx(1.4826 * 0.05)
    assert np.std(wild[0], ddof=1) > 100 * spreads_of(wild, spec)[0]
    # A spread of 0 across seeds falls back to a tenth of the aim's size.
    flat = np.array([[1.0] * 4, [3.0] * 4, [4.0] * 4])
    assert spreads_of(flat, spec) == pytest.approx([0.11, 0.3, 0.3])


def test_seeds_loss_pulls_every_seed_into_the_range() -> None:
    targets = (Target("vol_ratio", range=(0.7, 1.5)), Target("spread_bps", value=3.0))
    spec = _spec(targets, loss="seeds")
    spreads = np.array([0.5, 1.0])
    # Seed mean 1.0 is inside the range, but two seeds are out by 0.5 and 0.3.
    cand = np.array([[0.2, 1.8, 1.0, 1.0], [3.5, 2.5, 3.0, 3.0]])
    seed_terms = [(0.5 / 0.5) ** 2, (0.3 / 0.5) ** 2, 0.0, 0.0]
    assert loss_of(cand, spreads, spec) == pytest.approx((np.mean(seed_terms) + 0.0) / 2)
    assert loss_of(cand, spreads, _spec(targets)) == 0.0  # the mean loss sees nothing
    inf_seed = np.array([[np.inf, 1.0, 1.0, 1.0], [3.0] * 4])
    assert loss_of(inf_seed, spreads, spec) == pytest.approx(NAN_DISTANCE**2 / 4 / 2)
    with pytest.raises(ValueError, match="loss: must be one of mean, seeds"):
        _spec(targets, loss="median")


def _met_by_validate(world: Scenario, seeds: tuple[int, ...], targets: tuple[Target, ...]) -> int:
    table = validate(world, seeds, targets=targets, progress=False).table()
    return int(sum(ok is True for ok in table["ok"]))


def _likely_by_validate(
    world: Scenario, seeds: tuple[int, ...], targets: tuple[Target, ...]
) -> float:
    """The targets the world is likely to meet, from validate's counts, exactly: for a
    uniform prior, P(rate >= s | k of n in range) = P(Binomial(n + 1, s) <= k)."""
    table = validate(world, seeds, targets=targets, progress=False).table()
    n = len(seeds)
    total = Fraction(0)
    for t, k in zip(targets, table["passed"], strict=True):
        if not t.range:
            continue
        s = Fraction(t.share)
        total += sum(
            (math.comb(n + 1, i) * s**i * (1 - s) ** (n + 1 - i) for i in range(int(k) + 1)),
            Fraction(0),
        )
    return float(total)


def test_targets_met_as_validate_counts_them_and_select_by_them(tmp_path: Path) -> None:
    """Each trial's ``met`` is what ``validate`` finds for its scenario on the same seeds
    (the oracle: a separate run of every trial); ``select = "met"`` answers with the
    trial meeting the most, ties by loss, from the same stored runs."""
    targets = (
        Target("spread_bps", window=QUIET, range=(0.0, 1.6)),
        Target("fair_daily_vol", horizon=30, window=QUIET, range=(0.004, 0.012)),
        Target("vol_ratio", horizon=30, window=QUIET, range=(0.7, 1.5)),
        Target("return_acf_1", horizon=30, window=QUIET, range=(-0.2, 0.2), share=0.75),
        Target("spread_bps", window=QUIET, value=1.0),  # no range: never counted
    )
    spec = _spec(targets, trials=12, batch=6, sampler="random", loss="mean")
    by_loss = calibrate(spec, out=tmp_path / "c", progress=False)
    assert by_loss.ranged == 4
    for row in by_loss.trials.itertuples():
        world = apply_paths(spec.scenario, spec.paths({"vol": row.vol, "spread": row.spread}))
        assert row.met == _met_by_validate(world, spec.seeds, targets)
        assert row.likely == pytest.approx(_likely_by_validate(world, spec.seeds, targets))
    table = by_loss.trials
    assert by_loss.best_trial == int(table.sort_values(["loss", "trial"]).iloc[0]["trial"])
    by_met = calibrate(
        _spec(targets, trials=12, batch=6, sampler="random", loss="mean", select="met"),
        out=tmp_path / "c",
        resume=True,
        progress=False,
    )
    assert by_met.executed == 0  # the choice reads the stored runs
    ranked = table.assign(neg=-table["met"]).sort_values(["neg", "loss", "trial"])
    assert by_met.best_trial == int(ranked.iloc[0]["trial"])
    assert by_met.best_met == table["met"].max() > by_loss.best_met  # here the two differ
    assert by_met.to_dict()["best_met"] == by_met.best_met
    assert by_met.base_met == _met_by_validate(spec.scenario, spec.seeds, targets)
    by_likely = calibrate(
        _spec(targets, trials=12, batch=6, sampler="random", loss="mean", select="likely"),
        out=tmp_path / "c",
        resume=True,
        progress=False,
    )
    assert by_likely.executed == 0
    ranked = table.assign(neg=-table["likely"]).sort_values(["neg", "loss", "trial"])
    assert by_likely.best_trial == int(ranked.iloc[0]["trial"])


def _store_keys(folder: Path) -> list[tuple[str, int, int]]:
    lines = (folder / "evaluations.jsonl").read_text().splitlines()
    return [(r["stage"], r["trial"], r["seed"]) for r in map(json.loads, lines)]


def test_resume_after_interrupt_loses_nothing_and_repeats_nothing(
    tmp_path: Path, truth_targets: tuple[Target, ...]
) -> None:
    spec = _spec(truth_targets, trials=16, final_scale=0.5, final_best=2)
    whole = calibrate(spec, out=tmp_path / "whole", progress=False)

    class Stop(Exception):
        pass

    def stop_after(trial: int, loss: float) -> None:
        if trial == 9:
            raise Stop

    with pytest.raises(Stop):
        calibrate(spec, out=tmp_path / "cut", progress=False, callback=stop_after, workers=2)
    before = len(_store_keys(tmp_path / "cut"))
    assert before >= 4 * (1 + 10)
    with pytest.raises(ValueError, match="already holds a calibration"):
        calibrate(spec, out=tmp_path / "cut", progress=False)
    resumed = calibrate(spec, out=tmp_path / "cut", resume=True, progress=False)
    keys = _store_keys(tmp_path / "cut")
    assert len(keys) == len(set(keys)) == len(_store_keys(tmp_path / "whole"))
    assert resumed.reused == before
    assert resumed.executed == len(keys) - before
    pd.testing.assert_frame_equal(
        resumed.trials.drop(columns="wall_seconds"), whole.trials.drop(columns="wall_seconds")
    )
    assert resumed.best_params == whole.best_params
    pd.testing.assert_frame_equal(resumed.fit, whole.fit)
    # A different calibration is refused in the same folder.
    other = _spec(truth_targets, trials=16, seed=1, final_scale=0.5, final_best=2)
    with pytest.raises(ValueError, match="different calibration"):
        calibrate(other, out=tmp_path / "cut", resume=True, progress=False)


def _write_spec(folder: Path, trials: int) -> Path:
    spec = folder / "spec.toml"
    spec.write_text(
        textwrap.dedent(
            f"""
            scenario = "default"
            seeds = 3
            trials = {trials}
            batch = 4
            [set]
            "{VOL}" = 0.5
            [parameters.vol]
            path = "{VOL}"
            low = 0.02
            high = 2.0
            log = true
            [[targets]]
            fact = "fair_daily_vol"
            horizon = 30
            window = [0, 1800]
            value = 0.008
            """
        )
    )
    return spec


def test_killed_process_resumes(tmp_path: Path) -> None:
    """SIGKILL mid-search, then --resume: the store ends with every run once, and the
    trials are those of an uninterrupted calibration."""
    spec = _write_spec(tmp_path, trials=48)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "deleverage", "calibrate", str(spec), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = out / "evaluations.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if store.exists() and store.read_text().count("\n") >= 30:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = store.read_text().count("\n")
    assert 30 <= killed_at < 3 * 49, "the kill came after the end: make the search longer"
    result = calibrate(spec, out=out, resume=True, progress=False)
    keys = _store_keys(out)
    assert len(keys) == len(set(keys)) == 3 * 49
    assert result.reused + result.executed == len(keys)
    assert result.reused >= killed_at - 1  # a line cut by the kill is run again
    fresh = calibrate(spec, out=tmp_path / "fresh", progress=False)
    pd.testing.assert_frame_equal(
        result.trials.drop(columns="wall_seconds"), fresh.trials.drop(columns="wall_seconds")
    )


def test_one_folder_one_calibration_at_a_time(
    tmp_path: Path, truth_targets: tuple[Target, ...]
) -> None:
    """A second calibration (here from another thread) into a folder in use is refused,
    and the folder is free again once the first ends."""
    import threading

    spec = _spec(truth_targets, trials=4, batch=2)
    started, release = threading.Event(), threading.Event()

    def hold(trial: int, loss: float) -> None:
        started.set()
        release.wait(30)

    first = threading.Thread(
        target=calibrate,
        args=(spec,),
        kwargs={"out": tmp_path, "progress": False, "callback": hold},
    )
    first.start()
    try:
        assert started.wait(30)
        with pytest.raises(ValueError, match="in use by another calibration"):
            calibrate(spec, out=tmp_path, resume=True, progress=False)
    finally:
        release.set()
        first.join(60)
    again = calibrate(spec, out=tmp_path, resume=True, progress=False)
    assert again.executed == 0


def test_cut_line_is_dropped(tmp_path: Path) -> None:
    store = EvaluationStore(tmp_path)
    store.open("d", resume=False)
    store.close()
    store.append({"stage": "base", "trial": -1, "seed": 0, "params": {}, "values": [1.0]})
    with open(store.path, "a") as f:
        f.write('{"stage": "search", "tr')
    assert list(store.read()) == [("base", -1, 0)]
    stored = store.open("d", resume=True)
    store.close()
    assert list(stored) == [("base", -1, 0)]
    store.append({"stage": "search", "trial": 0, "seed": 0, "params": {}, "values": [math.nan]})
    rows = store.read()
    assert list(rows) == [("base", -1, 0), ("search", 0, 0)]
    assert math.isnan(rows[("search", 0, 0)]["values"][0])


def test_threads_processes_and_dask_give_the_same_trials(
    truth_targets: tuple[Target, ...],
) -> None:
    from concurrent.futures import ProcessPoolExecutor

    distributed = pytest.importorskip("distributed")
    spec = _spec(truth_targets, trials=8, batch=4)
    one = calibrate(spec, workers=1, progress=False)
    two = calibrate(spec, workers=2, progress=False)
    with ProcessPoolExecutor(2) as pool:
        procs = calibrate(spec, executor=pool, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dask = calibrate(spec, executor=client, progress=False)
    for other in (two, procs, dask):
        pd.testing.assert_frame_equal(
            one.trials.drop(columns="wall_seconds"), other.trials.drop(columns="wall_seconds")
        )


def test_spec_file_round_trip_and_outputs(tmp_path: Path) -> None:
    spec_path = _write_spec(tmp_path, trials=8)
    spec = load_calibration(spec_path)
    assert spec.out == tmp_path / "spec.calibration"
    assert spec.seeds == (0, 1, 2)
    assert spec.scenario.instrument("GOLD").fundamental.volatility == 0.5
    result = calibrate(spec, progress=False)
    for name in ("best.toml", "trials.csv", "fit.csv", "summary.json", "search.png"):
        assert (tmp_path / "spec.calibration" / name).stat().st_size > 0
    from deleverage.scenario import load_toml

    best = load_toml(tmp_path / "spec.calibration" / "best.toml")
    assert best == result.best_scenario
    summary = json.loads((tmp_path / "spec.calibration" / "summary.json").read_text())
    assert summary["best_trial"] == result.best_trial
    trials = pd.read_csv(tmp_path / "spec.calibration" / "trials.csv")
    assert list(trials["trial"]) == list(range(8))


def test_tied_parameters_follow_the_free_ones() -> None:
    spec = CalibrationSpec(
        scenario=load_preset("default-hour").replace(targets=()),
        parameters=(Parameter("vol", VOL, 0.05, 1.0),),
        tied={"populations.market_makers.params.vol_withdraw": "max(1.0, 6 * vol)"},
        targets=(Target("spread_bps", value=2.0),),
    )
    assert spec.paths({"vol": 0.1}) == {
        VOL: 0.1,
        "populations.market_makers.params.vol_withdraw": 1.0,
    }
    assert spec.paths({"vol": 0.5})["populations.market_makers.params.vol_withdraw"] == 3.0


def test_expressions() -> None:
    e = Expression("200 / lev + sqrt(x) - min(1, x) ** 2", ["lev", "x"], "tied.a")
    assert e({"lev": 4.0, "x": 4.0}) == pytest.approx(50 + 2 - 1)
    assert e.names == {"lev", "x"}
    for bad, match in [
        ("__import__('os')", "not allowed"),
        ("lev.real", "not allowed"),
        ("y + 1", "unknown name 'y'"),
        ("'a'", "only numbers"),
        ("1 +", "not an expression"),
    ]:
        with pytest.raises(ValueError, match=match):
            Expression(bad, ["lev"], "tied.a")
    with pytest.raises(ValueError, match=r"tied\.a: '1 / lev' fails"):
        Expression("1 / lev", ["lev"], "tied.a")({"lev": 0.0})
    with pytest.raises(TypeError, match="expression string"):
        Expression("", ["lev"], "tied.a")


BASE_SPEC = {
    "scenario": "default",
    "parameters": {"vol": {"path": VOL, "low": 0.05, "high": 1.0}},
    "targets": [{"fact": "spread_bps", "value": 2.0}],
}


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"bogus": 1}, ValueError, "bogus: unknown key"),
        (
            {"parameters": {"vol": {"path": "instruments.GOLD.nope", "low": 0, "high": 1}}},
            ValueError,
            r"parameters\.vol\.path: .*unknown field 'nope'",
        ),
        (
            {"parameters": {"vol": {"path": VOL, "low": 1.0, "high": 0.5}}},
            ValueError,
            r"parameters\.vol\.high: must be > low",
        ),
        (
            {"parameters": {"vol": {"path": VOL, "low": 0.0, "high": 0.5, "log": True}}},
            ValueError,
            r"parameters\.vol\.low: must be > 0 on a log scale",
        ),
        (
            {"parameters": {"vol": {"path": VOL, "low": 0.1, "high": 50.0}}},
            ValueError,
            r"parameters\.vol\.high: .*volatility",
        ),
        (
            {"parameters": {"vol": {"path": VOL, "high": 1.0}}},
            ValueError,
            r"parameters\.vol\.low: missing required key",
        ),
        ({"parameters": {}}, ValueError, "parameters: at least one"),
        ({"targets": [{"fact": "nonsense", "value": 1.0}]}, ValueError, r"targets\[0\]\.fact"),
        ({"targets": []}, ValueError, "targets: the array is empty"),
        (
            {"targets": [{"fact": "spread_bps", "value": 1.0, "instrument": "OIL"}]},
            ValueError,
            r"targets\[0\]\.instrument: unknown instrument 'OIL'",
        ),
        ({"tied": {"populations.noise.activity": "2 * lev"}}, ValueError, "unknown name 'lev'"),
        ({"seeds": 0}, ValueError, "seeds"),
        ({"trials": 0}, ValueError, r"trials: must be in \[1"),
        ({"sampler": "grid"}, ValueError, "sampler"),
        ({"select": "best"}, ValueError, "select: must be one of loss, met, likely"),
        ({"scale": -1.0}, ValueError, "scale"),
        (
            {"keep_accounts_below": -1},
            ValueError,
            r"keep_accounts_below: must be in \[0, ",
        ),
        ({"scenario": "nowhere"}, ValueError, "scenario"),
    ],
)
def test_bad_specs_name_the_field(change: dict, error: type, match: str) -> None:
    raw = {**BASE_SPEC, **change}
    with pytest.raises(error, match=match):
        parse_calibration(raw)


def test_keeping_small_populations_whole_runs_that_world_and_keys_the_store() -> None:
    plain = _spec(_facts_as_targets(), scale=0.5)
    kept = _spec(_facts_as_targets(), scale=0.5, keep_accounts_below=100)
    assert plain.keep_accounts_below == 0
    # Stores of searches without it keep their key; with it, it is part of the key.
    assert plain.digest() == _spec(_facts_as_targets(), scale=0.5, keep_accounts_below=0).digest()
    assert kept.digest() != plain.digest()
    spec = parse_calibration({**BASE_SPEC, "scale": 0.5, "keep_accounts_below": 100})
    assert spec.keep_accounts_below == 100
    # The search's world and the final check's are both scaled that way.
    world = spec.scenario.scaled(0.5, keep_accounts_below=100)
    assert _scaled(spec.scenario, 0.5, 100) == world
    assert _scaled(spec.scenario, 1.0, 100) == spec.scenario


def _facts_as_targets() -> tuple[Target, ...]:
    return tuple(Target(t.fact, horizon=t.horizon, window=t.window, value=1.0) for t in _facts())


def test_no_targets_anywhere_is_refused() -> None:
    with pytest.raises(ValueError, match="targets: none given, and the scenario declares none"):
        CalibrationSpec(
            scenario=load_preset("default-hour").replace(targets=()),
            parameters=(Parameter("vol", VOL, 0.05, 1.0),),
        )


def test_a_tied_expression_failing_inside_the_box_fails_the_candidate() -> None:
    """1 / (k - 4) is defined at the box's corners (k = 3, 5) but not at k = 4: that
    candidate fails without a run, and the search goes on."""
    spec = CalibrationSpec(
        scenario=load_preset("default-hour").replace(targets=()),
        parameters=(Parameter("k", "populations.market_makers.params.levels", 3, 5, integer=True),),
        tied={"populations.market_makers.params.vol_withdraw": "2 + 1 / (k - 4)"},
        targets=(Target("spread_bps", window=QUIET, value=2.0),),
        seeds=(0, 1),
        trials=10,
        batch=5,
        sampler="random",
    )
    result = calibrate(spec, progress=False)
    at_four = result.trials[result.trials["k"] == 4]
    assert len(at_four) > 0
    assert (at_four["loss"] == FAILED_LOSS).all()
    assert (result.trials.loc[result.trials["k"] != 4, "loss"] < FAILED_LOSS).all()


def test_unknown_figure_is_refused_before_any_run() -> None:
    with pytest.raises(ValueError, match=r"targets\[0\]\.fact: 'run.no_such_figure' is not a run"):
        _spec((Target("run.no_such_figure", value=1.0),))


def test_failed_candidates_get_the_failure_loss() -> None:
    """A candidate whose runs raise (here: dealers' vol_withdraw tied to 0 at k = 2, which
    the scenario refuses) gets FAILED_LOSS, and the search goes on around it."""
    spec = CalibrationSpec(
        scenario=load_preset("default-hour").replace(targets=()),
        parameters=(Parameter("k", "populations.market_makers.params.levels", 1, 3, integer=True),),
        tied={"populations.market_makers.params.vol_withdraw": "abs(k - 2)"},
        targets=(Target("spread_bps", window=QUIET, value=2.0),),
        seeds=(0, 1),
        trials=12,
        batch=4,
        sampler="random",
    )
    result = calibrate(spec, progress=False)
    trials = result.trials
    failed = trials[trials["k"] == 2]
    assert len(failed) > 0
    assert (failed["loss"] == FAILED_LOSS).all()
    assert (failed["failed_runs"] == 2).all()
    assert (trials.loc[trials["k"] != 2, "loss"] < FAILED_LOSS).all()
    assert result.best_params["k"] != 2
    assert FAILED_LOSS > NAN_DISTANCE**2
