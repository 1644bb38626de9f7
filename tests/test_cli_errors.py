"""The command line when the system gets in the way: an output folder that cannot be
written, a full disk, Ctrl-C and a closed stdout end in one line and a known exit code,
never a traceback."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from deleverage.cli import main


def _never(*args: Any, **kwargs: Any) -> NoReturn:
    pytest.fail("ran although the output folder cannot be written")


def _one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deleverage: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def under_a_file(tmp_path: Path) -> Path:
    """A folder path under a regular file: not creatable, for root too."""
    (tmp_path / "file.txt").write_text("not a folder\n")
    return tmp_path / "file.txt" / "sub"


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A path in a folder without write permission (skipped where permissions are not
    enforced, as for root: under_a_file covers that case)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").mkdir()
        except PermissionError:
            pass
        else:
            pytest.skip("this user writes into a read-only folder (root)")
        yield folder / "out"
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("argv", [["run"], ["run", "--json"]])
def test_run_out_that_cannot_be_created_fails_before_simulating(
    under_a_file: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("deleverage.simulate.simulate", _never)
    assert main([*argv, "--out", str(under_a_file)]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert line.startswith(f"deleverage: error: --out: {str(under_a_file)!r}: "), line
    assert os.strerror(errno.ENOTDIR) in line
    assert captured.out == ""


def test_run_out_in_a_read_only_folder_fails_before_simulating(
    read_only: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("deleverage.simulate.simulate", _never)
    assert main(["run", "--out", str(read_only)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"--out: {str(read_only)!r}: {os.strerror(errno.EACCES)}" in line
    assert not read_only.exists()


def test_default_out_folder_is_checked_before_simulating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --out, `run` writes into ./deleverage-<scenario>-seed<S>: the current
    folder has to take it."""
    monkeypatch.setattr("deleverage.simulate.simulate", _never)
    (tmp_path / "deleverage-default-seed0").write_text("in the way\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    assert "--out: 'deleverage-default-seed0' exists and is not a folder" in (
        _one_error_line(capsys.readouterr().err)
    )


def test_default_out_folder_in_a_read_only_folder(
    read_only: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("deleverage.simulate.simulate", _never)
    monkeypatch.chdir(read_only.parent)
    assert main(["run"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"--out: 'deleverage-default-seed0': {os.strerror(errno.EACCES)}" in line


def test_a_writable_out_is_left_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check writes nothing that stays: a new folder it made is removed again when
    the command then fails."""

    def interrupted(*args: Any, **kwargs: Any) -> NoReturn:
        raise ValueError("scenario: stop here")

    monkeypatch.setattr("deleverage.simulate.simulate", interrupted)
    out = tmp_path / "new" / "deeper"
    assert main(["run", "--out", str(out)]) == 2
    assert "scenario: stop here" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "keep.txt").write_text("mine\n")
    assert main(["run", "--out", str(tmp_path / "old")]) == 2
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["keep.txt"]


def test_report_and_validate_check_out_first(
    under_a_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("deleverage.result.load_result", _never)
    assert main(["report", str(tmp_path), "--out", str(under_a_file)]) == 2
    assert f"--out: {str(under_a_file)!r}: " in _one_error_line(capsys.readouterr().err)
    monkeypatch.setattr("deleverage.calibration.validate", _never)
    assert main(["validate", "default", "--out", str(under_a_file)]) == 2
    assert f"--out: {str(under_a_file)!r}: " in _one_error_line(capsys.readouterr().err)


def _disk_full(result: Any, path: Any) -> NoReturn:
    target = Path(path) / "series.parquet"
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_disk_full_while_saving_is_one_line(
    tmp_path: Path,
    json_flag: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("deleverage.persist.save_result", _disk_full)
    out = tmp_path / "run"
    assert main(["run", "--accounts", "200", "--out", str(out), *json_flag]) == 2
    line = _one_error_line(capsys.readouterr().err)
    target = str(out / "series.parquet")
    assert line == f"deleverage: error: --out: {target!r}: {os.strerror(errno.ENOSPC)}"


def test_other_os_errors_name_their_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def unreadable(path: Any) -> NoReturn:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr("deleverage.scenario.load_toml", unreadable)
    world = tmp_path / "world.toml"
    world.write_text("")
    assert main(["run", str(world), "--no-report"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"deleverage: error: scenario: {str(world)!r}: {os.strerror(errno.EACCES)}"

    def device_error(*args: Any, **kwargs: Any) -> NoReturn:
        raise OSError(errno.EIO, os.strerror(errno.EIO), "/dev/sdz")

    monkeypatch.setattr("deleverage.simulate.simulate", device_error)
    assert main(["run", "--no-report"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"deleverage: error: '/dev/sdz': {os.strerror(errno.EIO)}"


def test_ctrl_c_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ctrl_c(*args: Any, **kwargs: Any) -> NoReturn:
        raise KeyboardInterrupt

    monkeypatch.setattr("deleverage.simulate.simulate", ctrl_c)
    assert main(["run", "--no-report"]) == 130
    assert capsys.readouterr().err == "deleverage: interrupted\n"
    monkeypatch.setattr("deleverage.sweeps.sweep", ctrl_c)
    spec = tmp_path / "s.toml"
    spec.write_text('scenario = "default"\n[space.grid]\n"clock.steps" = [100]\n')
    assert main(["sweep", str(spec)]) == 130
    assert capsys.readouterr().err.endswith("deleverage: interrupted\n")


def _cli(code: str, tmp_path: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (which calls the command line) in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


def test_ctrl_c_and_disk_full_leave_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    done = _cli(
        """
        import sys
        import deleverage.simulate
        from deleverage.cli import main

        def ctrl_c(*args, **kwargs):
            raise KeyboardInterrupt

        deleverage.simulate.simulate = ctrl_c
        sys.exit(main(["run"]))
        """,
        tmp_path,
    )
    assert (done.returncode, done.stderr, done.stdout) == (130, "deleverage: interrupted\n", "")
    done = _cli(
        """
        import errno, os, sys
        import deleverage.persist
        from deleverage.cli import main

        def full(result, path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(path, "x"))

        deleverage.persist.save_result = full
        sys.exit(main(["run", "--accounts", "200", "--json", "--out", "r"]))
        """,
        tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr == f"deleverage: error: --out: 'r/x': {os.strerror(errno.ENOSPC)}\n"


@pytest.mark.parametrize("argv", [["run", "--json"], ["run", "--no-report"]])
def test_a_closed_stdout_ends_quietly(tmp_path: Path, argv: list[str]) -> None:
    """`deleverage run | head -c 10`: the reader is gone before the figures are printed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "deleverage", *argv, "--accounts", "200"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == ""
