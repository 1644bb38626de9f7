"""``deleverage validate`` and ``deleverage calibrate`` on the command line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from deleverage.calibration import validate
from deleverage.cli import main
from deleverage.scenario import Target, save_toml
from deleverage.scenarios import load_preset

QUIET = (0.0, 1800.0)


def _world(tmp_path: Path, *targets: Target) -> Path:
    path = tmp_path / "world.toml"
    save_toml(load_preset("default-hour").replace(targets=targets), path)
    return path


def test_validate_exit_codes_follow_the_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    passing = _world(tmp_path, Target("run.max_drawdown", range=(0.0, 1.0)))
    assert main(["validate", str(passing), "--seeds", "3"]) == 0
    out = capsys.readouterr().out
    assert "passes" in out
    assert "3/3" in out
    failing = _world(
        tmp_path,
        Target("run.max_drawdown", range=(0.0, 1.0)),
        Target("spread_bps", range=(0.0, 1e-6), note="no real book is this tight"),
    )
    assert main(["validate", str(failing), "--seeds", "3"]) == 1
    out = capsys.readouterr().out
    assert "FAILS 1 of 2 targets" in out
    assert "0/3 FAIL" in out
    # None of 3 seeds: a world at 7 of 8 does that 0.2% of the time, no luck.
    assert "0 of them could be the seeds' luck" in out
    # Every seed's spread is wider than 1e-6 bp: all three misses are over the range.
    assert "where their misses fall" in out
    assert "GOLD spread_bps: 0 under 0, 3 over 1e-06" in out


def test_validate_json_matches_the_python_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = (
        Target("spread_bps", window=QUIET, range=(0.0, 50.0)),
        Target("abs_acf_1", horizon=60, range=(0.1, math.inf)),
    )
    world = _world(tmp_path, *targets)
    code = main(["validate", str(world), "--seeds", "2", "--json", "--out", str(tmp_path / "v")])
    printed = json.loads(capsys.readouterr().out)
    expected = validate(load_preset("default-hour").replace(targets=targets), 2).to_dict()
    assert code == (0 if expected["passed"] else 1)
    assert printed["targets"] == expected["targets"]
    assert printed["targets"][1]["range"] == [0.1, None]
    for name in ("validation.csv", "validation.json", "validation.png"):
        assert (tmp_path / "v" / name).stat().st_size > 0


def test_validate_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_world(tmp_path))]) == 2
    assert "targets: scenario 'default-hour' declares no [[targets]]" in capsys.readouterr().err
    assert main(["validate", "nowhere"]) == 2
    assert "neither a .toml file nor a preset" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["validate", "default", "--seeds", "0"])
    assert "must be an integer >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["validate", "default", "--scale", "-1"])
    assert "must be a finite number > 0" in capsys.readouterr().err
    assert main(["validate", "default", "--workers", "2", "--dask", "tcp://x:1"]) == 2
    assert "--workers" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["validate", "default", "--scale", "0.5", "--keep-accounts-below", "-1"])
    assert "must be an integer >= 0, got -1" in capsys.readouterr().err
    assert main(["validate", "default", "--keep-accounts-below", "100"]) == 2
    assert "keep_accounts_below: only applies with scale" in capsys.readouterr().err


def test_validate_keeps_small_populations_whole_when_scaled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = (Target("run.max_drawdown", range=(0.0, 1.0)),)
    world = _world(tmp_path, *targets)
    argv = ["validate", str(world), "--seeds", "2", "--scale", "0.5", "--json"]
    main([*argv, "--keep-accounts-below", "100"])
    printed = json.loads(capsys.readouterr().out)
    base = load_preset("default-hour").replace(targets=targets)
    expected = validate(base, 2, scale=0.5, keep_accounts_below=100).to_dict()
    assert printed["targets"] == expected["targets"]
    # The 50 value traders keep their number: more accounts than the plain twentieth.
    assert printed["accounts"] == base.scaled(0.5, keep_accounts_below=100).total_accounts
    assert printed["accounts"] == base.scaled(0.5).total_accounts + 25


def test_calibrate_json_and_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "fit.toml"
    spec.write_text(
        """
scenario = "default"
seeds = 2
trials = 6
batch = 3
[parameters.vol]
path = "instruments.GOLD.fundamental.volatility"
low = 0.05
high = 1.0
log = true
[[targets]]
fact = "fair_daily_vol"
horizon = 30
window = [0, 1800]
value = 0.02
"""
    )
    assert main(["calibrate", str(spec), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["trials"] == 6
    assert first["executed"] == 2 * 7
    assert first["best_loss"] <= first["base_loss"]
    assert Path(first["out"]) == tmp_path / "fit.calibration"
    assert main(["calibrate", str(spec)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["calibrate", str(spec), "--resume", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["executed"] == 0
    assert again["reused"] == 14
    assert again["best_params"] == first["best_params"]
    assert main(["calibrate", str(tmp_path / "missing.toml")]) == 2
    assert "spec: no such file" in capsys.readouterr().err
