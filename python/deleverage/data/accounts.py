"""A snapshot of real accounts: one row per account, read batch by batch (pyarrow to
numpy; a Parquet file by its row groups, never whole).

Columns (CSV or Parquet; docs/data.md):

- ``id``: the account's own id (integers, unique); kept through to the
  liquidation log and the final-state table so results join back to it.
- ``cash``: its collateral (money, in [0, 1e15]).
- ``position.<INSTRUMENT>``: its position in lots (an integer, + long, - short;
  missing or empty: 0), and ``entry_price.<INSTRUMENT>``: the price (price
  units, > 0) it was entered at, needed where the position is open. One pair
  per instrument it holds; instruments it never holds may be left out.
- ``mode`` (optional): ``isolated`` (the default) or ``cross``. An isolated
  account holds at most one instrument.
- ``population`` (optional): the name of a scenario population whose
  strategy the account follows from then on; empty: none (it only holds, and
  is liquidated when its margin falls short).
- ``leverage`` (optional, > 0): the account's target leverage when it follows
  a leveraged strategy; empty: drawn as its population's.

Any other column is an error (a misspelt column would otherwise be dropped in
silence). Rows count from 1, the header not included; each batch is checked as it
is read, and an error names the column and the row in the whole file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deleverage.data.tables import DataFileError, PathLike, TableBatches, first_row
from deleverage.margin import MarginEngine
from deleverage.scenario import InstrumentSpec

__all__ = ["AccountRows", "AccountSnapshot", "AccountsFile", "read_accounts"]

#: The largest cash of one account, and the largest position (the engine's limits).
MAX_CASH = 1e15
MAX_LOTS = 2**40
MODES = ("isolated", "cross")
#: Rows read and checked at a time: the memory a file takes beyond the arrays it
#: fills is a few of its batches.
BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class AccountSnapshot:
    """Accounts as the engine takes them (row k of every array is the file's row k+1).

    ``position`` and ``entry_price`` are (accounts, instruments); entry prices in
    price units, 0 where the account is flat. ``population``: the index of the
    population followed, -1 for none. ``leverage``: NaN where not given.
    """

    ids: np.ndarray
    cash: np.ndarray
    instrument: np.ndarray
    position: np.ndarray
    entry_price: np.ndarray
    mode: np.ndarray
    population: np.ndarray
    leverage: np.ndarray
    instruments: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def entry_ticks(self, tick_sizes: Sequence[float]) -> np.ndarray:
        """Entry prices in ticks (the engine's unit)."""
        return self.entry_price / np.asarray(tick_sizes, dtype=np.float64)

    def load_into(self, engine: MarginEngine, tick_sizes: Sequence[float]) -> np.ndarray:
        """Append the accounts to ``engine`` (instruments in this snapshot's order);
        returns their engine ids."""
        return engine.add_accounts(
            self.cash,
            instrument=self.instrument,
            position=self.position,
            entry_price=self.entry_ticks(tick_sizes),
            mode=self.mode,
            population=0,
        )


@dataclass(frozen=True)
class AccountRows:
    """One checked batch of an accounts file: the file's rows ``first`` + 1 .. ``first``
    + len, as ``AccountSnapshot`` holds them."""

    first: int
    ids: np.ndarray
    cash: np.ndarray
    instrument: np.ndarray
    position: np.ndarray
    entry_price: np.ndarray
    mode: np.ndarray
    population: np.ndarray
    leverage: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.shape[0])


def _where(path: PathLike) -> str:
    return f"accounts {str(path)!r}"


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t))


def _is_text(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_null(t)
        or pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_dictionary(t)
    )


def _floats(batch: pa.RecordBatch, name: str) -> np.ndarray:
    col = batch.column(name)
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)  # nulls: NaN


def _text(batch: pa.RecordBatch, name: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the batch's distinct values of a column (-1 where empty), and the values."""
    col = batch.column(name)
    if pa.types.is_null(col.type):
        return np.full(len(col), -1, dtype=np.int32), []
    encoded: Any = pc.dictionary_encode(col)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = (
        np.where(np.isnan(codes), -1, codes).astype(np.int32)
        if codes.dtype.kind == "f"
        else codes.astype(np.int32)
    )
    values = [str(v) for v in encoded.dictionary.to_pylist()]
    if "" in values:
        codes = np.where(codes == values.index(""), -1, codes)
    return codes, values


def _first_repeat(ids: np.ndarray, where: str) -> DataFileError:
    """The error for the first id (ids in file order) that repeats an earlier row's."""
    order = np.argsort(ids, kind="stable")
    repeated = ids[order][1:] == ids[order][:-1]
    k = int(np.flatnonzero(repeated)[0])
    first, again = sorted((int(order[k]), int(order[k + 1])))
    return DataFileError(
        f"{where}: column 'id', row {again + 1}: id {ids[again]} repeats row {first + 1}"
    )


class AccountsFile:
    """An accounts table for a world of ``instruments``, its columns checked on opening
    (``populations`` are the names a row may follow). ``layout()`` reads its population
    column (the size of each block), ``rows()`` reads and checks every column batch by
    batch, ``positions()`` reads the position columns again."""

    def __init__(
        self,
        path: PathLike,
        instruments: Sequence[InstrumentSpec],
        populations: Sequence[str] = (),
    ) -> None:
        where = _where(path)
        self.where = where
        self.source = TableBatches.open(path, "accounts")
        self.populations = list(populations)
        names = [inst.name for inst in instruments]
        self.instruments = tuple(names)
        columns = self.source.column_names
        per_instrument = {f"position.{x}" for x in names} | {f"entry_price.{x}" for x in names}
        known = {"id", "cash", "mode", "population", "leverage"} | per_instrument
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise DataFileError(
                f"{where}: unknown columns {unknown}; expected id, cash, position.<instrument>, "
                f"entry_price.<instrument>, mode, population, leverage (instruments: {names})"
            )
        if self.source.num_rows == 0:
            raise DataFileError(f"{where}: the table has no rows")
        id_type = self.source.type_of("id", where)
        if not pa.types.is_integer(id_type):
            raise DataFileError(f"{where}: column 'id' must hold integers, got {id_type}")
        self._number("cash")
        #: (instrument index, position column, entry price column) of each held instrument.
        self.held: list[tuple[int, str, str]] = []
        for i, name in enumerate(names):
            pos_name, entry_name = f"position.{name}", f"entry_price.{name}"
            has_pos, has_entry = pos_name in columns, entry_name in columns
            if has_pos != has_entry:
                missing = entry_name if has_pos else pos_name
                raise DataFileError(
                    f"{where}: column {missing!r} is missing (positions come with entry prices)"
                )
            if has_pos:
                self._number(pos_name)
                self._number(entry_name)
                self.held.append((i, pos_name, entry_name))
        for name in ("mode", "population"):
            t = self.source.type_of(name, where) if name in columns else pa.string()
            if not _is_text(t):
                raise DataFileError(f"{where}: column {name!r} must hold text, got {t}")
        if "leverage" in columns:
            self._number("leverage")

    def _number(self, name: str) -> None:
        t = self.source.type_of(name, self.where)
        if not _is_number(t):
            raise DataFileError(f"{self.where}: column {name!r} must hold numbers, got {t}")

    def __len__(self) -> int:
        return self.source.num_rows

    def _population(self, batch: pa.RecordBatch, first: int) -> np.ndarray:
        """The population each row follows (its index, -1 for none)."""
        population = np.full(batch.num_rows, -1, dtype=np.int16)
        if "population" not in batch.schema.names:
            return population
        codes, values = _text(batch, "population")
        for k, value in enumerate(values):
            if not value:
                continue
            if value not in self.populations:
                row = first + first_row(codes == k)
                raise DataFileError(
                    f"{self.where}: column 'population', row {row}: no population {value!r} "
                    f"(the scenario has {self.populations}; empty: the account only holds)"
                )
            population[codes == k] = self.populations.index(value)
        return population

    def key(self, population: np.ndarray) -> np.ndarray:
        """The block of each row: the index of the population it follows, or (after the
        last) none."""
        return np.where(population < 0, len(self.populations), population).astype(np.int64)

    def layout(self) -> tuple[np.ndarray, bool]:
        """How many rows follow each population and (last) how many follow none, and
        whether the file lists them in that order (each block's rows together, the
        blocks in order); reads only the population column."""
        counts = np.zeros(len(self.populations) + 1, dtype=np.int64)
        if "population" not in self.source.column_names:
            counts[-1] = len(self)
            return counts, True
        ordered = True
        last = 0
        for first, batch in self.source.batches(BATCH_ROWS, ["population"]):
            key = self.key(self._population(batch, first))
            if len(key):
                ordered = ordered and key[0] >= last and bool((key[1:] >= key[:-1]).all())
                last = int(key[-1])
            counts += np.bincount(key, minlength=len(counts))
        return counts, ordered

    def rows(self) -> Iterator[AccountRows]:
        """The table's rows, checked, a batch at a time."""
        for first, batch in self.source.batches(BATCH_ROWS):
            yield self._rows(first, batch)
        # The batches' buffers go back to the system: arrow's pool keeps freed memory otherwise.
        pa.default_memory_pool().release_unused()

    def positions(self) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """The rows' positions again, a batch at a time, reading only the columns they
        need: (the batch's first row from 0, each row's block as ``key``, positions in
        lots and entry prices in price units as ``AccountRows`` holds them)."""
        columns = [c for _, *pair in self.held for c in pair]
        if "population" in self.source.column_names:
            columns.append("population")
        for first, batch in self.source.batches(BATCH_ROWS, columns):
            position, entry = self._positions(first, batch)
            yield first, self.key(self._population(batch, first)), position, entry
        pa.default_memory_pool().release_unused()

    def keep_positions(self) -> None:
        """Let go of every column but those ``positions()`` reads (a CSV table is held)."""
        columns = [c for _, *pair in self.held for c in pair]
        if "population" in self.source.column_names:
            columns.append("population")
        self.source = self.source.narrowed(columns)

    def _positions(self, first: int, batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
        """A batch's positions (lots) and entry prices (price units, 0 where flat), checked."""
        where = self.where
        n = batch.num_rows
        ni = len(self.instruments)
        position = np.zeros((n, ni), dtype=np.int64)
        entry = np.zeros((n, ni), dtype=np.float64)
        for i, pos_name, entry_name in self.held:
            q = _floats(batch, pos_name)
            q = np.where(np.isnan(q), 0.0, q)
            bad = ~((q == np.round(q)) & (np.abs(q) <= MAX_LOTS))
            if bad.any():
                k = first_row(bad)
                raise DataFileError(
                    f"{where}: column {pos_name!r}, row {first + k}: must be a whole number of "
                    f"lots within +-2^40, got {q[k - 1]}"
                )
            e = _floats(batch, entry_name)
            open_ = q != 0
            bad = open_ & ~((e > 0) & (e <= 1e15))
            if bad.any():
                k = first_row(bad)
                raise DataFileError(
                    f"{where}: column {entry_name!r}, row {first + k}: an open position needs an "
                    f"entry price in (0, 1e15], got {e[k - 1]}"
                )
            position[:, i] = q.astype(np.int64)
            entry[:, i] = np.where(open_, e, 0.0)
        return position, entry

    def _rows(self, first: int, batch: pa.RecordBatch) -> AccountRows:
        where = self.where
        n = batch.num_rows
        id_col = batch.column("id")
        if id_col.null_count:
            row = first + first_row(pc.is_null(id_col).to_numpy(zero_copy_only=False))
            raise DataFileError(f"{where}: column 'id', row {row}: missing id")
        ids = np.asarray(id_col.to_numpy(zero_copy_only=False), dtype=np.int64)

        cash = _floats(batch, "cash")
        bad = ~((cash >= 0) & (cash <= MAX_CASH))
        if bad.any():
            k = first_row(bad)
            raise DataFileError(
                f"{where}: column 'cash', row {first + k}: must be money in [0, {MAX_CASH:g}], "
                f"got {cash[k - 1]}"
            )
        position, entry = self._positions(first, batch)

        mode = np.zeros(n, dtype=np.uint8)
        if "mode" in batch.schema.names:
            codes, values = _text(batch, "mode")
            for k, value in enumerate(values):
                if value and value not in MODES:
                    row = first + first_row(codes == k)
                    raise DataFileError(
                        f"{where}: column 'mode', row {row}: must be isolated or cross, "
                        f"got {value!r}"
                    )
            if "cross" in values:
                mode[codes == values.index("cross")] = 1

        open_count = np.count_nonzero(position, axis=1)
        bad = (mode == 0) & (open_count > 1)
        if bad.any():
            k = first_row(bad)
            raise DataFileError(
                f"{where}: column 'mode', row {first + k}: an isolated account holds one "
                f"instrument, this one holds {int(open_count[k - 1])} (make it cross)"
            )
        instrument = np.where(open_count > 0, np.argmax(position != 0, axis=1), 0).astype(np.uint16)
        population = self._population(batch, first)

        leverage = np.full(n, np.nan)
        if "leverage" in batch.schema.names:
            leverage = _floats(batch, "leverage")
            bad = ~(np.isnan(leverage) | ((leverage > 0) & (leverage <= 1000)))
            if bad.any():
                k = first_row(bad)
                raise DataFileError(
                    f"{where}: column 'leverage', row {first + k}: must be in (0, 1000] or "
                    f"empty, got {leverage[k - 1]}"
                )
        return AccountRows(
            first=first,
            ids=ids,
            cash=cash,
            instrument=instrument,
            position=position,
            entry_price=entry,
            mode=mode,
            population=population,
            leverage=leverage,
        )

    def check_unique(self, ids: np.ndarray) -> None:
        """Raise the error for a repeated id if ``ids`` (the file's, in any order) has one,
        naming the rows (read again from the file)."""
        ids = np.sort(ids)
        if not (ids[1:] == ids[:-1]).any():
            return
        del ids
        in_file = np.empty(len(self), dtype=np.int64)
        for first, batch in self.source.batches(BATCH_ROWS, ["id"]):
            in_file[first : first + batch.num_rows] = batch.column("id").to_numpy(
                zero_copy_only=False
            )
        raise _first_repeat(in_file, self.where)


def read_accounts(
    path: PathLike,
    instruments: Sequence[InstrumentSpec],
    populations: Sequence[str] = (),
) -> AccountSnapshot:
    """Read and check an accounts table for a world of ``instruments``; ``populations``
    are the names a row may follow."""
    book = AccountsFile(path, instruments, populations)
    n, ni = len(book), len(book.instruments)
    ids = np.empty(n, dtype=np.int64)
    cash = np.empty(n)
    instrument = np.empty(n, dtype=np.uint16)
    position = np.empty((n, ni), dtype=np.int64)
    entry = np.empty((n, ni))
    mode = np.empty(n, dtype=np.uint8)
    population = np.empty(n, dtype=np.int16)
    leverage = np.empty(n)
    for rows in book.rows():
        at = slice(rows.first, rows.first + len(rows))
        ids[at] = rows.ids
        cash[at] = rows.cash
        instrument[at] = rows.instrument
        position[at] = rows.position
        entry[at] = rows.entry_price
        mode[at] = rows.mode
        population[at] = rows.population
        leverage[at] = rows.leverage
    book.check_unique(ids)
    return AccountSnapshot(
        ids=ids,
        cash=cash,
        instrument=instrument,
        position=position,
        entry_price=entry,
        mode=mode,
        population=population,
        leverage=leverage,
        instruments=book.instruments,
    )
