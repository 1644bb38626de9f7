"""``deleverage sweep SPEC.toml`` and ``deleverage bench sweep``: the JSON they promise,
the spec format, resume, and clear errors for bad specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deleverage.bench.sweep import short_scenario
from deleverage.cli import main
from deleverage.scenario import save_toml
from deleverage.scenarios import load_preset
from deleverage.sweeps import read_sweep
from deleverage.sweeps.spec import load_spec

GRID_SPEC = """
scenario = "world.toml"
out = "runs"
seeds = 2
seed = 5

[set]
"populations.noise.accounts" = 40

[space.grid]
populations.speculators.params.max_leverage = [5.0, 20.0]
"policy.max_liquidation_notional_per_step" = [1e5, inf]
"""


@pytest.fixture
def spec_dir(tmp_path: Path) -> Path:
    world = short_scenario(load_preset("default-hour"), steps=150, accounts=150)
    save_toml(world, tmp_path / "world.toml")
    (tmp_path / "grid.toml").write_text(GRID_SPEC)
    return tmp_path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_sweep_json_and_resume(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["sweep", str(spec_dir / "grid.toml"), "--workers", "2", "--json"])
    assert set(out) >= {"runs", "failed", "wall_seconds", "runs_per_s", "out"}
    assert out["runs"] == 8
    assert out["failed"] == 0
    assert out["out"] == str(spec_dir / "runs")
    table = read_sweep(spec_dir / "runs")
    assert len(table) == 8
    world = load_spec(spec_dir / "grid.toml").scenario  # [set] applied to the base
    assert world.populations[1].accounts == 40
    assert (table["accounts"] == world.total_accounts).all()
    assert list(table.columns[2:4]) == [
        "populations.speculators.params.max_leverage",
        "policy.max_liquidation_notional_per_step",
    ]
    again = _json(capsys, ["sweep", str(spec_dir / "grid.toml"), "--resume", "--json"])
    assert again["runs"] == 8
    assert again["executed"] == 0
    assert again["skipped"] == 8
    assert main(["sweep", str(spec_dir / "grid.toml")]) == 2
    assert "pass resume=True (--resume)" in capsys.readouterr().err
    # A part changed on disk: resume names it and runs nothing.
    part = sorted((spec_dir / "runs" / "rows").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:-1] + b"\0")
    assert main(["sweep", str(spec_dir / "grid.toml"), "--resume"]) == 2
    assert f"{str(part)!r}: checksum mismatch" in capsys.readouterr().err


def test_sweep_text_output_and_out_override(
    spec_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", str(spec_dir / "grid.toml"), "--out", str(spec_dir / "other")]) == 0
    text = capsys.readouterr().out
    assert "8 runs" in text
    assert "mean over seeds" in text
    assert (spec_dir / "other" / "rows").is_dir()


def test_lhs_random_and_table_specs(spec_dir: Path) -> None:
    (spec_dir / "lhs.toml").write_text(
        'scenario = "default"\n[space.lhs]\nsamples = 5\nseed = 3\n'
        '[space.lhs.ranges]\n"clock.dt" = [0.5, 2.0]\nclock.steps = [3000, 3600]\n'
    )
    spec = load_spec(spec_dir / "lhs.toml")
    assert spec.space.paths == ("clock.dt", "clock.steps")
    assert len(spec.space.points()) == 5
    assert spec.out == spec_dir / "lhs.sweep"
    (spec_dir / "table.toml").write_text(
        'scenario = "default"\nseeds = [1, 2]\n'
        '[[space.table]]\n"clock.dt" = 1.0\n[[space.table]]\n"clock.dt" = 2.0\n'
    )
    spec = load_spec(spec_dir / "table.toml")
    assert spec.space.points()["clock.dt"].tolist() == [1.0, 2.0]
    assert spec.seeds == (1, 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('scenario = "default"\n', "space: missing required key"),
        ('scenario = "nope"\n[space.grid]\n"clock.dt" = [1.0]\n', "scenario: 'nope' is neither"),
        ('scenario = "default"\n[space]\n', "space: must hold exactly one of grid"),
        ('scenario = "default"\n[space.cube]\n', "space.cube: unknown kind of space"),
        ('scenario = "default"\n[space.grid]\n"clock.dt" = []\n', "space.grid['clock.dt']"),
        (
            'scenario = "default"\n[space.lhs]\nsamples = 0\n'
            '[space.lhs.ranges]\n"clock.dt" = [1, 2]\n',
            "space.lhs.samples: must be in [1,",
        ),
        (
            'scenario = "default"\n[space.random]\nsamples = 3\n'
            '[space.random.ranges]\n"clock.dt" = [2.0, 1.0]\n',
            "low must be <= high",
        ),
        ('scenario = "default"\n[space.lhs]\nsamples = 3\n', "space.lhs.ranges: missing required"),
        (
            'scenario = "default"\n[[space.table]]\n"clock.dt" = 1.0\n'
            '[[space.table]]\n"clock.steps" = 5\n',
            "space.table[1]: must name the same paths",
        ),
        (
            'scenario = "default"\n[space.grid]\n"clock.speed" = [1.0]\n',
            "clock.speed: unknown field 'speed' at 'clock'; valid: dt, steps",
        ),
        (
            'scenario = "default"\n[space.grid]\n"clock.dt" = [-1.0]\n',
            "space point 0: clock.dt: must be in [0.001, 86400.0], got -1.0",
        ),
        ('scenario = "default"\nseeds = 0\n[space.grid]\n"clock.dt" = [1.0]\n', "seeds: must be"),
        ('scenario = "default"\ncolour = 1\n', "colour: unknown key"),
        (
            'scenario = "default"\n[set]\n"clock.steps" = "x"\n[space.grid]\n"clock.dt" = [1.0]\n',
            "set: clock.steps: must be an integer",
        ),
    ],
)
def test_bad_specs_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    (tmp_path / "bad.toml").write_text(body)
    assert main(["sweep", str(tmp_path / "bad.toml"), "--json"]) == 2
    assert message in capsys.readouterr().err


def test_workers_do_not_go_with_dask(spec_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sweep", str(spec_dir / "grid.toml"), "--dask", "tcp://x:1", "--workers", "2"]
    assert main(argv) == 2
    assert "--workers" in capsys.readouterr().err


def test_bench_sweep_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "sweep", "--runs", "4", "--steps", "100", "--repeat", "1", "--no-dask"]
    out = _json(capsys, [*argv, "--json"])
    assert set(out) >= {"runs", "runs_per_s_1", "runs_per_s_2", "scaling", "dask_overhead"}
    assert out["runs"] == 4
    assert out["dask_overhead"] is None
    assert out["scaling"] == pytest.approx(out["runs_per_s_2"] / out["runs_per_s_1"])


def test_spec_paths_are_taken_from_its_folder_and_said(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run from another folder: the spec's scenario and out are beside the spec, and the
    log says both in full; --out is taken from the current folder."""
    elsewhere = spec_dir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["sweep", str(Path("..") / "grid.toml"), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["out"] == str(spec_dir / "runs")
    assert summary["scenario"] == str(spec_dir / "world.toml")
    assert f"scenario {spec_dir / 'world.toml'}" in captured.err
    assert f"rows in {spec_dir / 'runs'}" in captured.err
    assert (spec_dir / "runs" / "rows").is_dir()
    assert list(elsewhere.iterdir()) == []
    assert main(["sweep", str(Path("..") / "grid.toml"), "--out", "here", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["out"] == str(elsewhere / "here")
    assert f"rows in {elsewhere / 'here'}" in captured.err
    assert (elsewhere / "here" / "rows").is_dir()
    (spec_dir / "preset.toml").write_text(
        'scenario = "default"\nout = "p"\n[space.grid]\n'
        '"populations.speculators.params.max_leverage" = [5.0]\n'
    )
    assert main(["sweep", str(Path("..") / "preset.toml"), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["scenario"] == "default"
    assert "scenario preset 'default'" in captured.err
    assert f"rows in {spec_dir / 'p'}" in captured.err


def test_sweep_out_that_cannot_be_written_fails_before_running(
    spec_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        pytest.fail("ran although --out cannot be written")

    monkeypatch.setattr("deleverage.sweeps.sweep", never)
    (spec_dir / "file.txt").write_text("x\n")
    bad = spec_dir / "file.txt" / "sub"
    assert main(["sweep", str(spec_dir / "grid.toml"), "--out", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"deleverage: error: --out: {str(bad)!r}: " in err
    assert "Traceback" not in err
