"""Reading a user's table (CSV or Parquet) once, through pyarrow, with errors that
name the file, the column and the row."""

from __future__ import annotations

import os
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


def read_table(path: PathLike, what: str) -> pa.Table:
    """The whole table at ``path`` (CSV or Parquet, by its suffix)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise DataFileError(
            f"{what}: {str(p)!r} must end in .csv, .parquet or .pq (the format is taken from it)"
        )
    if not p.is_file():
        raise DataFileError(f"{what}: no file {str(p)!r}")
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
