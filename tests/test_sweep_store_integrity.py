"""The sweep store checks every part before trusting it: a changed byte, a file that
is not a part, run ids outside the sweep, other columns, a missing checksum and a run
stored twice with other values are each refused with an error naming the file; a
kill between the writes of a part, and stores written before checksums, still resume
to the same table."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.scenarios import load_preset
from deleverage.sweeps import read_sweep, sweep

BASE = load_preset("default-hour").with_steps(40)
SPACE = {"populations.speculators.params.max_leverage": [5.0, 20.0]}
SEEDS = 3
RUNS = 2 * SEEDS
PARTS = 3  # batch_rows=2: two runs a part (which two depends on the order runs finish)


def _runs(part: Path) -> list[int]:
    return pq.read_table(part, columns=["run"]).column("run").to_pylist()


def _rows(table: pd.DataFrame, runs: list[int]) -> pd.DataFrame:
    return table[table["run"].isin(runs)].reset_index(drop=True)


def _sweep(out: Path, resume: bool = False, **kwargs: Any) -> pd.DataFrame:
    return sweep(
        BASE, SPACE, seeds=SEEDS, seed=7, out=str(out), resume=resume, workers=1,
        batch_rows=2, progress=False, **kwargs,
    )  # fmt: skip


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns="wall_seconds"), b.drop(columns="wall_seconds"))


def _part(out: Path, number: int) -> Path:
    return out / "rows" / f"part-{number:06d}.parquet"


def _checksum(part: Path) -> Path:
    return part.with_name(part.name + ".sha256")


def _named(path: Path, what: str) -> str:
    """The start of an error about ``path``: its full name, then what is wrong."""
    return re.escape(f"{str(path)!r}: {what}")


def _write_part(out: Path, number: int, table: pa.Table) -> Path:
    """A part as a writer would leave it: the file and its sha256sum line."""
    path = _part(out, number)
    pq.write_table(table, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    _checksum(path).write_text(f"{digest}  {path.name}\n")
    return path


def _with_runs(table: pa.Table, runs: list[int | None]) -> pa.Table:
    field = pa.field("run", pa.int64(), nullable=None in runs)
    return table.set_column(0, field, pa.array(runs, pa.int64()))


def _as_old_store(out: Path) -> None:
    """What a sweep wrote before parts had checksums."""
    for checksum in (out / "rows").glob("*.sha256"):
        checksum.unlink()
    manifest = json.loads((out / "sweep.json").read_text())
    manifest.pop("rows", None)
    (out / "sweep.json").write_text(json.dumps(manifest))


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    out = tmp_path_factory.mktemp("clean") / "sweep"
    table = _sweep(out)
    assert len(table) == RUNS
    return out, table


@pytest.fixture
def out(tmp_path: Path, stored: tuple[Path, pd.DataFrame]) -> Path:
    """A fresh copy of the clean sweep's store."""
    copy = tmp_path / "sweep"
    shutil.copytree(stored[0], copy)
    return copy


@pytest.fixture
def clean(stored: tuple[Path, pd.DataFrame]) -> pd.DataFrame:
    return stored[1]


def _refused(out: Path, pattern: str) -> None:
    """Resume and read both raise ``pattern``, before any run is executed."""
    ran: list[dict[str, Any]] = []
    with pytest.raises(ValueError, match=pattern):
        _sweep(out, resume=True, callback=ran.append)
    assert ran == []
    with pytest.raises(ValueError, match=pattern):
        read_sweep(out)


def _part_files(out: Path) -> list[str]:
    """What rows/ should hold: each part and its checksum, nothing else visible."""
    return sorted(
        name for k in range(PARTS) for name in (_part(out, k).name, _checksum(_part(out, k)).name)
    )


def test_the_checksum_is_the_sha256_of_the_part(out: Path) -> None:
    assert sorted(p.name for p in (out / "rows").iterdir()) == _part_files(out)
    for k in range(PARTS):
        part = _part(out, k)
        digest, name = _checksum(part).read_text().split()
        assert digest == hashlib.sha256(part.read_bytes()).hexdigest()
        assert name == part.name


def test_flipped_bytes_are_named_not_resumed(out: Path) -> None:
    part = _part(out, 1)
    data = bytearray(part.read_bytes())
    middle = len(data) // 2
    for i in range(middle - 100, middle + 100):
        data[i] ^= 0xFF
    part.write_bytes(bytes(data))
    _refused(out, _named(part, "checksum mismatch (the file changed after it was written)"))
    with pytest.raises(ValueError, match="remove it to re-run its runs"):
        read_sweep(out)


def test_a_removed_bad_part_is_re_run(out: Path, clean: pd.DataFrame) -> None:
    part = _part(out, 1)
    part.write_bytes(part.read_bytes()[:-8])
    with pytest.raises(ValueError, match="checksum mismatch"):
        read_sweep(out)
    part.unlink()  # as the error says; its checksum is left behind
    resumed = _sweep(out, resume=True)
    assert resumed.attrs["sweep"]["executed"] == 2
    _same(resumed, clean)
    _same(read_sweep(out), clean)
    # The re-run is a new part; the checksum left without its part is gone.
    assert not _checksum(_part(out, 1)).exists()
    assert _checksum(_part(out, PARTS)).exists()


@pytest.mark.parametrize("name", ["notes.txt", "part-extra.parquet", "part-1.parquet", "old"])
def test_a_foreign_file_in_rows_is_named(out: Path, name: str) -> None:
    foreign = out / "rows" / name
    if name == "old":
        foreign.mkdir()
    else:
        foreign.write_text("not rows")
    _refused(out, _named(foreign, "not a part of the sweep's rows"))
    # Also before a fresh sweep into that directory runs anything.
    for part in (out / "rows").glob("part-00000*"):
        part.unlink()
    with pytest.raises(ValueError, match=_named(foreign, "not a part")):
        _sweep(out)


def test_hidden_temporaries_are_ignored(out: Path, clean: pd.DataFrame) -> None:
    (out / "rows" / ".part-000003.parquet.tmp").write_bytes(b"half a batch")
    _same(_sweep(out, resume=True), clean)


OUTSIDE = f"run ids must be in 0..{RUNS - 1} (the sweep has {RUNS} runs), got "


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        ([RUNS, RUNS + 40], OUTSIDE + f"2 outside it (e.g. {RUNS})"),
        ([-1, 2], OUTSIDE + "1 outside it (e.g. -1)"),
        ([None, 2], "1 row(s) have no run id"),
    ],
)
def test_run_ids_outside_the_sweep_are_refused(
    out: Path, runs: list[int | None], message: str
) -> None:
    table = pq.read_table(_part(out, 0))
    part = _write_part(out, PARTS, _with_runs(table, runs))
    _refused(out, _named(part, message))


def test_a_part_with_other_columns_is_refused(out: Path) -> None:
    table = pq.read_table(_part(out, 0))
    retyped = table.set_column(
        table.schema.get_field_index("max_drawdown"),
        "max_drawdown",
        pa.array([str(v) for v in table.column("max_drawdown").to_pylist()]),
    )
    part = _write_part(out, PARTS, retyped)
    _refused(out, _named(part, "column 'max_drawdown' is string, the sweep's is double"))
    part.unlink()
    _checksum(part).unlink()
    part = _write_part(out, PARTS, table.drop_columns(["final_price"]))
    _refused(out, _named(part, "columns differ from the sweep's (missing ['final_price']"))


def test_a_part_without_its_checksum_is_refused(out: Path) -> None:
    part = _part(out, 2)
    _checksum(part).unlink()
    _refused(out, _named(part, "no checksum (part-000002.parquet.sha256 is missing)"))


def test_a_damaged_checksum_is_named(out: Path) -> None:
    checksum = _checksum(_part(out, 0))
    checksum.write_text("not a digest\n")
    _refused(out, _named(checksum, "not a SHA-256 checksum") + ".*part-000000.parquet")


def test_a_run_stored_twice(out: Path, clean: pd.DataFrame) -> None:
    table = pq.read_table(_part(out, 1))
    _write_part(out, PARTS, table)  # the same values again: kept once
    _same(_sweep(out, resume=True), clean)
    _same(read_sweep(out), clean)
    drawdown = table.schema.get_field_index("max_drawdown")
    changed = table.set_column(drawdown, "max_drawdown", pa.array([0.5, 0.25]))
    part = _write_part(out, PARTS + 1, changed)
    run = _runs(_part(out, 1))[0]  # the first row of both copies
    _refused(
        out,
        _named(part, f"run {run} is also stored in part-000001.parquet, with another max_drawdown"),
    )


class Killed(BaseException):
    """The process dying at a rename: nothing after it reaches the disk."""


@pytest.mark.parametrize("at", range(2 * PARTS))
def test_a_kill_between_the_writes_of_a_part(
    out: Path, clean: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    shutil.rmtree(out)
    real = os.replace
    calls: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).parent.name == "rows":  # each part: its checksum, then itself
            calls.append(Path(dst).name)
            if len(calls) > at:
                raise Killed
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        _sweep(out)
    monkeypatch.undo()
    done = read_sweep(out)  # what reached the disk reads back as it was
    assert len(done) == 2 * (at // 2)
    _same(done, _rows(clean, done["run"].tolist()))
    orphans = [c for c in (out / "rows").glob("*.sha256") if not c.with_suffix("").exists()]
    assert len(orphans) == at % 2  # killed between a checksum and its part
    resumed = _sweep(out, resume=True)
    assert resumed.attrs["sweep"]["skipped"] == len(done)
    _same(resumed, clean)
    names = sorted(p.name for p in (out / "rows").iterdir() if not p.name.startswith("."))
    assert names == _part_files(out)


def test_an_old_store_without_checksums_resumes(out: Path, clean: pd.DataFrame) -> None:
    lost = _runs(_part(out, 2))
    _part(out, 2).unlink()
    _as_old_store(out)
    kept = [r for r in range(RUNS) if r not in lost]
    _same(read_sweep(out), _rows(clean, kept))
    resumed = _sweep(out, resume=True)
    assert resumed.attrs["sweep"]["executed"] == 2
    _same(resumed, clean)
    _same(read_sweep(out), clean)
    # The resume's own part has its checksum, and from it on one is required.
    assert _checksum(_part(out, 2)).exists()
    assert not _checksum(_part(out, 1)).exists()
    assert json.loads((out / "sweep.json").read_text())["rows"]["checksums_from"] == 2
    _checksum(_part(out, 2)).unlink()
    _refused(out, _named(_part(out, 2), "no checksum"))


def test_an_old_store_still_checks_columns_and_run_ids(out: Path) -> None:
    table = pq.read_table(_part(out, 0))
    _as_old_store(out)
    part = _part(out, PARTS)
    pq.write_table(_with_runs(table, [RUNS, RUNS + 1]), part)
    _refused(out, _named(part, f"run ids must be in 0..{RUNS - 1}"))
    pq.write_table(table.drop_columns(["seed"]), part)
    _refused(out, _named(part, "columns differ from the sweep's (missing ['seed']"))
    part.write_bytes(b"PAR1 not really")
    _refused(out, _named(part, "not a readable Parquet file"))


@settings(max_examples=100, deadline=None)
@given(
    number=st.integers(0, PARTS - 1),
    where=st.floats(0, 1, exclude_max=True),
    length=st.integers(1, 300),
    how=st.sampled_from(["xor", "overwrite", "truncate"]),
    noise=st.binary(min_size=300, max_size=300),
)
def test_any_damage_to_a_part_is_named_never_read(
    stored: tuple[Path, pd.DataFrame],
    number: int,
    where: float,
    length: int,
    how: str,
    noise: bytes,
) -> None:
    clean = stored[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep"
        shutil.copytree(stored[0], out)
        part = _part(out, number)
        data = bytearray(part.read_bytes())
        start = int(where * len(data))
        end = min(len(data), start + length)
        if how == "truncate":
            del data[start:]
        elif how == "xor":
            flips = noise[: end - start]
            data[start:end] = bytes(
                a ^ (b | 1) for a, b in zip(data[start:end], flips, strict=True)
            )
        else:
            data[start:end] = noise[: end - start]
        part.write_bytes(bytes(data))
        for read in (lambda: _sweep(out, resume=True), lambda: read_sweep(out)):
            try:
                table = read()
            except ValueError as e:
                message = str(e)
                assert str(part) in message, message
            else:
                _same(table, clean)
