"""A snapshot of real accounts: one row per account, read in bulk (pyarrow to numpy).

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
silence). Rows count from 1, the header not included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from deleverage.data.tables import DataFileError, PathLike, column, first_row, read_table
from deleverage.margin import MarginEngine
from deleverage.scenario import InstrumentSpec

__all__ = ["AccountSnapshot", "read_accounts"]

#: The largest cash of one account, and the largest position (the engine's limits).
MAX_CASH = 1e15
MAX_LOTS = 2**40
MODES = ("isolated", "cross")


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


def _where(path: PathLike) -> str:
    return f"accounts {str(path)!r}"


def _mask_row(mask: np.ndarray) -> int:
    return first_row(np.asarray(mask, dtype=bool))


def _float_column(table: pa.Table, name: str, where: str) -> np.ndarray:
    col = column(table, name, where)
    if not (
        pa.types.is_integer(col.type)
        or pa.types.is_floating(col.type)
        or pa.types.is_null(col.type)
    ):
        raise DataFileError(f"{where}: column {name!r} must hold numbers, got {col.type}")
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    return np.asarray(col.to_numpy(), dtype=np.float64)  # nulls: NaN


def _text_column(table: pa.Table, name: str, where: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the column's distinct values (-1 where empty), and the values."""
    col = column(table, name, where)
    if pa.types.is_null(col.type):
        return np.full(len(col), -1, dtype=np.int32), []
    if not (
        pa.types.is_string(col.type)
        or pa.types.is_large_string(col.type)
        or pa.types.is_dictionary(col.type)
    ):
        raise DataFileError(f"{where}: column {name!r} must hold text, got {col.type}")
    encoded: Any = pc.dictionary_encode(col).combine_chunks()
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


def read_accounts(
    path: PathLike,
    instruments: Sequence[InstrumentSpec],
    populations: Sequence[str] = (),
) -> AccountSnapshot:
    """Read and check an accounts table for a world of ``instruments``; ``populations``
    are the names a row may follow."""
    where = _where(path)
    table = read_table(path, "accounts")
    n = table.num_rows
    names = [inst.name for inst in instruments]
    per_instrument = {f"position.{x}" for x in names} | {f"entry_price.{x}" for x in names}
    known = {"id", "cash", "mode", "population", "leverage"} | per_instrument
    unknown = [c for c in table.column_names if c not in known]
    if unknown:
        raise DataFileError(
            f"{where}: unknown columns {unknown}; expected id, cash, position.<instrument>, "
            f"entry_price.<instrument>, mode, population, leverage (instruments: {names})"
        )
    if n == 0:
        raise DataFileError(f"{where}: the table has no rows")

    id_col = column(table, "id", where)
    if not pa.types.is_integer(id_col.type):
        raise DataFileError(f"{where}: column 'id' must hold integers, got {id_col.type}")
    if id_col.null_count:
        row = _mask_row(pc.is_null(id_col).to_numpy(zero_copy_only=False))
        raise DataFileError(f"{where}: column 'id', row {row}: missing id")
    ids = np.asarray(id_col.to_numpy(), dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    repeated = ids[order][1:] == ids[order][:-1]
    if repeated.any():
        k = int(np.flatnonzero(repeated)[0])
        first, again = sorted((int(order[k]), int(order[k + 1])))
        raise DataFileError(
            f"{where}: column 'id', row {again + 1}: id {ids[again]} repeats row {first + 1}"
        )

    cash = _float_column(table, "cash", where)
    bad = ~((cash >= 0) & (cash <= MAX_CASH))
    if bad.any():
        row = _mask_row(bad)
        raise DataFileError(
            f"{where}: column 'cash', row {row}: must be money in [0, {MAX_CASH:g}], "
            f"got {cash[row - 1]}"
        )

    ni = len(names)
    position = np.zeros((n, ni), dtype=np.int64)
    entry = np.zeros((n, ni), dtype=np.float64)
    for i, name in enumerate(names):
        pos_name, entry_name = f"position.{name}", f"entry_price.{name}"
        has_pos, has_entry = pos_name in table.column_names, entry_name in table.column_names
        if has_pos != has_entry:
            missing = entry_name if has_pos else pos_name
            raise DataFileError(
                f"{where}: column {missing!r} is missing (positions come with entry prices)"
            )
        if not has_pos:
            continue
        q = _float_column(table, pos_name, where)
        q = np.where(np.isnan(q), 0.0, q)
        bad = ~((q == np.round(q)) & (np.abs(q) <= MAX_LOTS))
        if bad.any():
            row = _mask_row(bad)
            raise DataFileError(
                f"{where}: column {pos_name!r}, row {row}: must be a whole number of lots "
                f"within +-2^40, got {q[row - 1]}"
            )
        e = _float_column(table, entry_name, where)
        open_ = q != 0
        bad = open_ & ~((e > 0) & (e <= 1e15))
        if bad.any():
            row = _mask_row(bad)
            raise DataFileError(
                f"{where}: column {entry_name!r}, row {row}: an open position needs an entry "
                f"price in (0, 1e15], got {e[row - 1]}"
            )
        position[:, i] = q.astype(np.int64)
        entry[:, i] = np.where(open_, e, 0.0)

    mode = np.zeros(n, dtype=np.uint8)
    if "mode" in table.column_names:
        codes, values = _text_column(table, "mode", where)
        for k, value in enumerate(values):
            if value and value not in MODES:
                row = _mask_row(codes == k)
                raise DataFileError(
                    f"{where}: column 'mode', row {row}: must be isolated or cross, got {value!r}"
                )
        if "cross" in values:
            mode[codes == values.index("cross")] = 1

    open_count = np.count_nonzero(position, axis=1)
    bad = (mode == 0) & (open_count > 1)
    if bad.any():
        row = _mask_row(bad)
        raise DataFileError(
            f"{where}: column 'mode', row {row}: an isolated account holds one instrument, "
            f"this one holds {int(open_count[row - 1])} (make it cross)"
        )
    instrument = np.where(open_count > 0, np.argmax(position != 0, axis=1), 0).astype(np.uint16)

    population = np.full(n, -1, dtype=np.int16)
    if "population" in table.column_names:
        codes, values = _text_column(table, "population", where)
        for k, value in enumerate(values):
            if not value:
                continue
            if value not in populations:
                row = _mask_row(codes == k)
                raise DataFileError(
                    f"{where}: column 'population', row {row}: no population {value!r} "
                    f"(the scenario has {list(populations)}; empty: the account only holds)"
                )
            population[codes == k] = populations.index(value)

    leverage = np.full(n, np.nan)
    if "leverage" in table.column_names:
        leverage = _float_column(table, "leverage", where)
        bad = ~(np.isnan(leverage) | ((leverage > 0) & (leverage <= 1000)))
        if bad.any():
            row = _mask_row(bad)
            raise DataFileError(
                f"{where}: column 'leverage', row {row}: must be in (0, 1000] or empty, "
                f"got {leverage[row - 1]}"
            )
    snapshot = AccountSnapshot(
        ids=ids,
        cash=cash,
        instrument=instrument,
        position=position,
        entry_price=entry,
        mode=mode,
        population=population,
        leverage=leverage,
        instruments=tuple(names),
    )
    # The table's buffers the columns were converted from go back to the system:
    # arrow's pool keeps freed memory (about 40 bytes an account) otherwise.
    del table
    pa.default_memory_pool().release_unused()
    return snapshot
