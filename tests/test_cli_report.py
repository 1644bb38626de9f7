"""The command line around saved results and reports: `run` writes a result folder with
its report (or nothing, with --json or --no-report), `report` rebuilds one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deleverage.cli import main
from deleverage.result import Result

REPORT_FILES = {"dashboard.png", "index.html", "result.json", "scenario.toml", "series.parquet"}


def _files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A result and its report, written by `deleverage run --out` (stdout checked)."""
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["run", "--seed", "1", "--out", str(out)]) == 0
    return out


def test_run_out_writes_the_result_and_its_report(saved: Path) -> None:
    assert _files(saved) >= REPORT_FILES
    result = Result.load(saved)
    assert result.seed == 1
    assert result.scenario.name == "default"


def test_run_prints_a_table_and_where_the_report_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--seed", "2"]) == 0
    text = capsys.readouterr().out
    folder = tmp_path / "deleverage-default-seed2"
    assert _files(folder) >= REPORT_FILES
    assert _files(tmp_path) == {"deleverage-default-seed2"}
    for label in ("peak price", "max drawdown", "accounts liquidated", "widest spread"):
        assert label in text
    assert "GOLD" in text
    assert "speculators" in text  # the population table
    assert "deleverage-default-seed2/index.html" in text


def test_run_json_writes_nothing_without_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--json", "--accounts", "400"]) == 0
    assert json.loads(capsys.readouterr().out)["accounts"] == 400
    assert main(["run", "--no-report", "--accounts", "400"]) == 0
    assert "max drawdown" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_run_json_with_out_prints_only_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "json-run"
    assert main(["run", "--json", "--accounts", "400", "--out", str(out)]) == 0
    metrics = json.loads(capsys.readouterr().out)  # the whole of stdout is one object
    assert _files(out) >= REPORT_FILES
    assert Result.load(out).metrics()["liquidations"] == metrics["liquidations"]


def test_report_rebuilds_identical_tables(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = (saved / "index.html").read_text()
    assert main(["report", str(saved), "--out", str(tmp_path)]) == 0
    assert f"open {tmp_path / 'index.html'}" in capsys.readouterr().out
    assert _files(tmp_path) == {"dashboard.png", "index.html"}
    assert (tmp_path / "index.html").read_text() == original
    (saved / "index.html").unlink()
    assert main(["report", str(saved)]) == 0  # default: into the result's folder
    assert (saved / "index.html").read_text() == original


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "{tmp}/nowhere"], "result_dir: no such folder"),
        (["report", "{tmp}"], "result_dir: '{tmp}' is not a saved result"),
        (["run", "--out", "{tmp}/x", "--no-report"], "--out: saves the result and its report"),
        (["run", "--out", "{tmp}/file"], "--out: '{tmp}/file' exists and is not a folder"),
        (["report", "{saved}", "--out", "{tmp}/file"], "--out: '{tmp}/file' exists and is not"),
    ],
)
def test_bad_arguments_are_named(
    argv: list[str],
    message: str,
    saved: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "file").write_text("x")
    argv = [a.format(tmp=tmp_path, saved=saved) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.format(tmp=tmp_path) in err
    assert err.startswith("deleverage: error: ")


def test_report_of_another_format_version(
    saved: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(saved, copy)
    meta = json.loads((copy / "result.json").read_text())
    meta["version"] = 7
    (copy / "result.json").write_text(json.dumps(meta))
    assert main(["report", str(copy)]) == 2
    assert "result_dir: result.json: version must be one of 1" in capsys.readouterr().err
