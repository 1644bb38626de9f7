"""``validate(..., out=, resume=)``: each seed's figures stored as its run finishes, and a
resumed validation that runs only the seeds its folder lacks."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deleverage import _core
from deleverage.calibration import validate
from deleverage.calibration.store import EvaluationStore
from deleverage.calibration.validate import Validation, run_digest
from deleverage.cli import main
from deleverage.scenario import Scenario, Target, save_toml
from deleverage.scenarios import load_preset

TARGETS = (
    Target("run.max_drawdown", range=(0.05, 0.1)),
    Target("spread_bps", window=(0.0, 1800.0), range=(0.0, 5.0)),
    Target("kurtosis", horizon=60, range=(3.0, math.inf)),
)
RUNS = "validation-runs.jsonl"


def _world() -> Scenario:
    return load_preset("default-hour").replace(targets=TARGETS)


def _same(a: Validation, b: Validation) -> None:
    """Bit for bit: every figure, every figure of the value's path, every error."""
    assert a.seeds == b.seeds
    assert np.array_equal(a.values, b.values, equal_nan=True)
    assert a.value_values is not None
    assert b.value_values is not None
    assert np.array_equal(a.value_values, b.value_values, equal_nan=True)
    assert a.errors == b.errors
    assert a.table().drop(columns=["mean"]).equals(b.table().drop(columns=["mean"]))


def _lines(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / RUNS).read_text().splitlines()]


def test_resumed_validation_runs_only_the_new_seeds_and_equals_a_fresh_one(
    tmp_path: Path,
) -> None:
    world = _world()
    first = validate(world, 4, out=tmp_path, progress=False)
    assert first.reused == 0
    assert sorted(int(row["seed"]) for row in _lines(tmp_path)) == [0, 1, 2, 3]
    more = validate(world, 8, out=tmp_path, resume=True, progress=False)
    assert more.reused == 4
    # Only seeds 4-7 ran: one line each, none written twice.
    assert sorted(int(row["seed"]) for row in _lines(tmp_path)) == list(range(8))
    _same(more, validate(world, 8, progress=False))  # the oracle: every seed run now
    assert more.to_dict()["reused"] == 4
    # Seeds the folder holds but the call does not ask for are left out.
    some = validate(world, [6, 2], out=tmp_path, resume=True, progress=False)
    assert some.reused == 2
    _same(some, validate(world, [6, 2], progress=False))


def test_a_line_cut_short_by_a_kill_is_run_again(tmp_path: Path) -> None:
    world = _world()
    validate(world, 3, out=tmp_path, progress=False)
    path = tmp_path / RUNS
    text = path.read_text()
    path.write_text(text[: len(text) - 20])  # the last run's line, half written
    resumed = validate(world, 3, out=tmp_path, resume=True, progress=False)
    assert resumed.reused == 2
    _same(resumed, validate(world, 3, progress=False))
    assert len(_lines(tmp_path)) == 3


def test_a_folder_holding_runs_needs_resume_and_the_same_world(tmp_path: Path) -> None:
    world = _world()
    validate(world, 2, out=tmp_path, progress=False)
    with pytest.raises(ValueError, match="already holds a validation's runs; pass resume=True"):
        validate(world, 2, out=tmp_path, progress=False)
    others = {
        "a scaled world": (world, {"scale": 0.5}),
        "other targets": (world.replace(targets=TARGETS[:2]), {}),
        "a changed parameter": (world.replace(insurance_fund=2e6), {}),
    }
    for name, (other, options) in others.items():
        with pytest.raises(ValueError, match="holds a different validation"):
            validate(other, 2, out=tmp_path, resume=True, progress=False, **options)
        assert len(_lines(tmp_path)) == 2, name  # nothing mixed in


def test_free_text_is_not_the_world(tmp_path: Path) -> None:
    # A description or a note changes no run: the folder's runs are reused.
    world = load_preset("dash-for-cash-2020").replace(targets=TARGETS[:1]).scaled(0.02)
    validate(world, 1, out=tmp_path, progress=False)
    funds = next(p for p in world.populations if p.changes)

    def with_funds_changes(changes: tuple[Any, ...]) -> Scenario:
        pops = tuple(
            dataclasses.replace(p, changes=changes) if p is funds else p for p in world.populations
        )
        return world.replace(populations=pops)

    reworded = with_funds_changes(
        tuple(dataclasses.replace(c, note="new") for c in funds.changes)
    ).replace(
        description="another description",
        targets=tuple(dataclasses.replace(t, note="another note") for t in world.targets),
    )
    assert run_digest(reworded, reworded.targets) == run_digest(world, world.targets)
    more = validate(reworded, 2, out=tmp_path, resume=True, progress=False)
    assert more.reused == 1
    _same(more, validate(world, 2, progress=False))
    # A change's parameters are the world's.
    first = funds.changes[0]
    params = {k: v * 2 if isinstance(v, float) else v for k, v in first.params.items()}
    moved = with_funds_changes((dataclasses.replace(first, params=params), *funds.changes[1:]))
    assert run_digest(moved, world.targets) != run_digest(world, world.targets)


def test_resume_bad_input(tmp_path: Path) -> None:
    world = _world()
    with pytest.raises(ValueError, match="resume: needs out"):
        validate(world, 2, resume=True)
    with pytest.raises(TypeError, match="resume: must be a bool, got int"):
        validate(world, 2, out=tmp_path, resume=1)  # type: ignore[arg-type]
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        validate(world, 2, out=tmp_path / "file")


def test_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    held = EvaluationStore(tmp_path, kind="validation")
    held.open("another validation", resume=False)
    try:
        with pytest.raises(ValueError, match="in use by another validation"):
            validate(_world(), 2, out=tmp_path, progress=False)
    finally:
        held.close()
    with pytest.raises(ValueError, match="kind: must be one of calibration, validation"):
        EvaluationStore(tmp_path, kind="sweep")


def test_the_digest_follows_the_engine_and_the_data_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _world()
    digest = run_digest(world, TARGETS)
    assert run_digest(world, TARGETS) == digest  # no clock, no randomness in it
    core = tmp_path / "core.so"
    core.write_bytes(Path(_core.__file__).read_bytes() + b"\0")
    monkeypatch.setattr(_core, "__file__", str(core))
    assert run_digest(world, TARGETS) != digest  # a rebuilt engine reuses nothing
    monkeypatch.undo()
    book = tmp_path / "accounts.csv"
    book.write_text("population,cash\nspeculators,1000\n")
    with_book = world.replace(accounts_file=str(book))
    before = run_digest(with_book, TARGETS)
    book.write_text("population,cash\nspeculators,2000\n")
    assert run_digest(with_book, TARGETS) != before


def test_cli_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    world = tmp_path / "world.toml"
    save_toml(_world(), world)
    out = tmp_path / "v"
    main(["validate", str(world), "--seeds", "2", "--out", str(out), "-q"])
    capsys.readouterr()
    main(["validate", str(world), "--seeds", "4", "--out", str(out), "--resume", "-q"])
    printed = capsys.readouterr().out
    assert "4 seeds (2 of them stored in --out)" in printed
    saved = json.loads((out / "validation.json").read_text())
    assert saved["seeds"] == [0, 1, 2, 3]
    assert saved["reused"] == 2
    assert saved["targets"] == validate(_world(), 4, progress=False).to_dict()["targets"]
    assert main(["validate", str(world), "--seeds", "4", "--out", str(out)]) == 2
    assert "pass resume=True (--resume)" in capsys.readouterr().err
    assert main(["validate", str(world), "--resume"]) == 2
    assert "--resume: needs --out" in capsys.readouterr().err
    assert main(["validate", str(world), "--out", str(out), "--resume", "--before", "default"]) == 2
    assert "--resume: applies to a validation alone" in capsys.readouterr().err
