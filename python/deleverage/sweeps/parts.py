"""One part file of a sweep's rows: how it is written, and the checks it passes
before its rows are trusted.

A part ``rows/part-000123.parquet`` is written with its checksum beside it,
``rows/part-000123.parquet.sha256``: the SHA-256 of the part's bytes, in the
format of ``sha256sum`` (so ``sha256sum -c`` checks it by hand too). The order
of the writes makes a kill at any moment safe:

1. the part's bytes go to a hidden temporary ``.part-000123.parquet.tmp``;
2. the checksum goes to a hidden temporary, renamed to ``part-000123.parquet.sha256``;
3. the part's temporary is renamed to ``part-000123.parquet``.

So a part in ``rows/`` always appeared after its checksum. A kill before step 2
leaves only hidden temporaries, which readers ignore. A kill between steps 2
and 3 leaves a checksum without its part: that batch never reached the store,
its runs are not done, readers ignore the checksum and the next resume removes
it. A part without its checksum was not written this way: it predates
checksums (see ``deleverage.sweeps.store``) or its checksum was removed, and
then its rows are refused.

Before its rows are used, a part is checked: its checksum, that it reads as
Parquet, its columns (names, order and types) against the sweep's, and its run
ids (present, within ``0..runs-1``, each once). Every error is a ``ValueError``
naming the file, what is wrong, and what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CHECKSUM_SUFFIX",
    "RowsListing",
    "checksum_path",
    "label",
    "list_rows",
    "part_path",
    "read_part",
    "write_part",
]

CHECKSUM_SUFFIX = ".sha256"
_PART = re.compile(r"part-(\d{6,})\.parquet")
_CHECKSUM = re.compile(r"part-(\d{6,})\.parquet\.sha256")
_DIGEST = re.compile(r"[0-9a-f]{64}")
_REMEDY = "remove it to re-run its runs"


def label(path: Path) -> str:
    """The prefix of an error about ``path``."""
    return f"out: {str(path)!r}"


def part_path(rows_dir: Path, number: int) -> Path:
    """The file of part ``number``."""
    return rows_dir / f"part-{number:06d}.parquet"


def checksum_path(part: Path) -> Path:
    """The file holding ``part``'s SHA-256."""
    return part.with_name(part.name + CHECKSUM_SUFFIX)


@dataclass(frozen=True)
class RowsListing:
    """What ``rows/`` holds: parts by number, and checksums left without their part."""

    parts: dict[int, Path]
    orphans: list[Path]


def list_rows(rows_dir: Path) -> RowsListing:
    """The parts in ``rows_dir`` (sorted by number); anything else not hidden is an error.

    Hidden entries are the temporaries of writes in progress (or killed): never
    read, so never refused.
    """
    parts: dict[int, Path] = {}
    checksums: dict[int, Path] = {}
    if not rows_dir.exists():
        return RowsListing(parts, [])
    for entry in sorted(rows_dir.iterdir()):
        if entry.name.startswith("."):
            continue
        part = _PART.fullmatch(entry.name)
        checksum = _CHECKSUM.fullmatch(entry.name)
        if part is not None and entry.is_file():
            parts[int(part.group(1))] = entry
        elif checksum is not None and entry.is_file():
            checksums[int(checksum.group(1))] = entry
        else:
            raise ValueError(
                f"{label(entry)}: not a part of the sweep's rows (rows/ holds only "
                "part-NNNNNN.parquet files and their .sha256 checksums); move it out of rows/"
            )
    parts = dict(sorted(parts.items()))
    orphans = [c for n, c in sorted(checksums.items()) if n not in parts]
    return RowsListing(parts, orphans)


def write_part(path: Path, table: pa.Table) -> None:
    """Write ``table`` as the part ``path``, its checksum first (see the module notes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue()
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(memoryview(data))
    checksum = checksum_path(path)
    checksum_tmp = checksum.with_name(f".{checksum.name}.tmp")
    digest = hashlib.sha256(memoryview(data)).hexdigest()
    checksum_tmp.write_text(f"{digest}  {path.name}\n", encoding="ascii")
    os.replace(checksum_tmp, checksum)
    os.replace(tmp, path)


def _stored_digest(checksum: Path, part: Path) -> str:
    try:
        text = checksum.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(
            f"{label(checksum)}: unreadable checksum ({e}); remove it and {part.name} "
            "to re-run the part's runs"
        ) from None
    fields = text.split()
    digest = fields[0].lower() if fields else ""
    if _DIGEST.fullmatch(digest) is None:
        raise ValueError(
            f"{label(checksum)}: not a SHA-256 checksum (64 hex digits expected); "
            f"remove it and {part.name} to re-run the part's runs"
        )
    return digest


def _verified_bytes(path: Path, number: int, checksums_from: int | None) -> bytes:
    """The part's bytes, once they match its checksum.

    A part without a checksum is accepted only below ``checksums_from`` (parts
    written before checksums; None: every part of a store that predates them).
    """
    data = path.read_bytes()
    checksum = checksum_path(path)
    # Looked up by path, not in a listing: a listing taken while a part is being
    # written may miss its checksum and still see the part renamed just after.
    if checksum.exists():
        if hashlib.sha256(data).hexdigest() != _stored_digest(checksum, path):
            raise ValueError(
                f"{label(path)}: checksum mismatch (the file changed after it was "
                f"written); {_REMEDY}"
            )
    elif checksums_from is not None and number >= checksums_from:
        raise ValueError(
            f"{label(path)}: no checksum ({checksum.name} is missing), so its rows cannot "
            f"be trusted; {_REMEDY}"
        )
    return data


def _check_schema(path: Path, schema: pa.Schema, expected: pa.Schema) -> None:
    if schema.names != expected.names:
        missing = [n for n in expected.names if n not in schema.names]
        extra = [n for n in schema.names if n not in expected.names]
        detail = (
            f"missing {missing}, unexpected {extra}" if missing or extra else "in another order"
        )
        raise ValueError(
            f"{label(path)}: columns differ from the sweep's ({detail}; expected "
            f"{expected.names}); {_REMEDY}"
        )
    for field, want in zip(schema, expected, strict=True):
        if not field.type.equals(want.type):
            raise ValueError(
                f"{label(path)}: column {field.name!r} is {field.type}, the sweep's is "
                f"{want.type}; {_REMEDY}"
            )


def _check_runs(path: Path, column: pa.ChunkedArray[Any], runs: int) -> None:
    if column.null_count:
        raise ValueError(f"{label(path)}: {column.null_count} row(s) have no run id; {_REMEDY}")
    ids = column.to_numpy()
    if len(ids) and (ids.min() < 0 or ids.max() >= runs):
        bad = ids[(ids < 0) | (ids >= runs)]
        raise ValueError(
            f"{label(path)}: run ids must be in 0..{runs - 1} (the sweep has {runs} runs), "
            f"got {len(bad)} outside it (e.g. {int(bad[0])}); {_REMEDY}"
        )


def read_part(
    path: Path,
    number: int,
    expected: pa.Schema,
    runs: int,
    checksums_from: int | None,
    columns: Sequence[str] | None = None,
) -> pa.Table:
    """The checked rows of one part (only ``columns`` when given; ``run`` is always read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = _verified_bytes(path, number, checksums_from)
    try:
        parquet = pq.ParquetFile(pa.BufferReader(data))
        _check_schema(path, parquet.schema_arrow, expected)
        wanted = None if columns is None else list(dict.fromkeys(["run", *columns]))
        table = parquet.read(columns=wanted)
    except (pa.ArrowException, OSError) as e:
        raise ValueError(f"{label(path)}: not a readable Parquet file ({e}); {_REMEDY}") from None
    _check_runs(path, table.column("run"), runs)
    return table
