"""Reading a user's table (CSV or Parquet) through pyarrow, whole or batch by batch,
with errors that name the file, the column and the row."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PathLike = str | os.PathLike[str]

#: The suffixes read as each format (anything else is an error naming them).
CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")


class DataFileError(ValueError):
    """A table that cannot be used: the message names the file, and the column and
    row where there is one (rows count from 1, the header not included)."""


def _checked(path: PathLike, what: str) -> tuple[Path, str]:
    """The file at ``path`` and its suffix, or an error naming the formats."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise DataFileError(
            f"{what}: {str(p)!r} must end in .csv, .parquet or .pq (the format is taken from it)"
        )
    if not p.is_file():
        raise DataFileError(f"{what}: no file {str(p)!r}")
    return p, suffix


def read_table(path: PathLike, what: str) -> pa.Table:
    """The whole table at ``path`` (CSV or Parquet, by its suffix)."""
    p, suffix = _checked(path, what)
    try:
        if suffix in CSV_SUFFIXES:
            from pyarrow import csv

            return csv.read_csv(p)
        from pyarrow import parquet

        return parquet.read_table(p)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataFileError(f"{what}: {str(p)!r} could not be read as a table: {err}") from None


def first_row(mask: np.ndarray) -> int:
    """The 1-based row of the first true entry of ``mask``."""
    return int(np.flatnonzero(mask)[0]) + 1


def column(table: pa.Table, name: str, where: str) -> pa.ChunkedArray[Any]:
    """Column ``name``, or an error naming the columns the table has."""
    if name not in table.column_names:
        raise DataFileError(
            f"{where}: no column {name!r} (the table has {', '.join(table.column_names) or 'none'})"
        )
    return table.column(name)


def numbers(table: pa.Table, name: str, where: str, *, missing_ok: bool = False) -> np.ndarray:
    """A numeric column as float64 (nulls as NaN when ``missing_ok``, else an error)."""
    col = column(table, name, where)
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        if pa.types.is_null(col.type) and missing_ok:
            return np.full(len(col), np.nan)
        raise DataFileError(f"{where}: column {name!r} must hold numbers, got {col.type}")
    if col.null_count and not missing_ok:
        row = first_row(pc.is_null(col).to_numpy(zero_copy_only=False))
        raise DataFileError(f"{where}: column {name!r}, row {row}: missing value")
    return np.asarray(col.to_numpy(), dtype=np.float64)


@dataclass(frozen=True)
class TableBatches:
    """A table read batch by batch: a Parquet file by its row groups (never whole), a
    CSV file whole (pyarrow infers a CSV column's type from all of it) and then cut.

    ``batches()`` yields (the batch's first row, counting from 0, and the batch).
    """

    path: Path
    what: str
    schema: pa.Schema
    num_rows: int
    table: pa.Table | None  # a CSV file, read whole

    @classmethod
    def open(cls, path: PathLike, what: str) -> TableBatches:
        p, suffix = _checked(path, what)
        if suffix in CSV_SUFFIXES:
            table = read_table(p, what)
            return cls(p, what, table.schema, table.num_rows, table)
        from pyarrow import parquet

        try:
            meta = parquet.ParquetFile(p)
            schema = meta.schema_arrow
        except (pa.ArrowInvalid, OSError) as err:
            raise DataFileError(f"{what}: {str(p)!r} could not be read as a table: {err}") from None
        return cls(p, what, schema, int(meta.metadata.num_rows), None)

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    def type_of(self, name: str, where: str) -> pa.DataType:
        """Column ``name``'s type, or an error naming the columns the table has."""
        if name not in self.schema.names:
            names = ", ".join(self.schema.names) or "none"
            raise DataFileError(f"{where}: no column {name!r} (the table has {names})")
        t: pa.DataType = self.schema.field(name).type
        return t

    def narrowed(self, columns: Sequence[str]) -> TableBatches:
        """The same table with only ``columns`` (a CSV table held lets go of the rest)."""
        if self.table is None:
            return self
        # Into buffers of their own: the allocator can give back the others' only whole.
        table = self.table.select(list(columns)).combine_chunks()
        return dataclasses.replace(self, schema=table.schema, table=table)

    def batches(
        self, rows: int, columns: Sequence[str] | None = None
    ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """The table in batches of at most ``rows`` rows (only ``columns``, if given)."""
        at = 0
        if self.table is not None:
            table = self.table if columns is None else self.table.select(list(columns))
            for batch in table.to_batches(max_chunksize=rows):
                yield at, batch
                at += batch.num_rows
            return
        from pyarrow import parquet

        try:
            # Without pre-buffering a row group's column chunks are read as they are
            # decoded: half the memory.
            reader = parquet.ParquetFile(self.path, pre_buffer=False)
            for batch in reader.iter_batches(
                batch_size=rows, columns=None if columns is None else list(columns)
            ):
                yield at, batch
                at += batch.num_rows
        except (pa.ArrowInvalid, OSError) as err:
            raise DataFileError(
                f"{self.what}: {str(self.path)!r} could not be read as a table: {err}"
            ) from None
