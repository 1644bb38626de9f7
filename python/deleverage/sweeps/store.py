"""Where a sweep's rows go: a Parquet dataset directory, appended to as runs finish.

Layout of ``out``::

    out/sweep.json                       what the sweep is (base scenario, points, seeds)
    out/rows/part-000000.parquet         one file per flushed batch of rows
    out/rows/part-000000.parquet.sha256  that file's checksum, written before it
    out/series/run-000123.parquet        per-run series (when asked for)

Rows are buffered in small batches and each batch is written as a part (see
``deleverage.sweeps.parts``): a hidden temporary renamed into place once its
checksum is in place, so a part in ``rows/`` is always complete, a sweep that
dies loses at most the batch it was filling, and memory holds one batch, never
the whole table. ``sweep.json`` lets ``resume`` refuse to resume a different sweep.

Every read (``resume``, ``read_sweep``, the table a sweep returns) checks each
part before using its rows: its checksum, its columns against the sweep's, its
run ids within the sweep. A run stored twice is kept once if both rows hold the
same values (wall time aside) and is an error naming both files otherwise;
anything in ``rows/`` but parts, their checksums and hidden temporaries is an
error naming it. ``resume`` reads each part's bytes (for the checksum) but
decodes only the ``run`` column; a flush writes its part and reads nothing back.

Stores written before parts had checksums stay readable and resumable.
``sweep.json`` records, under ``rows.checksums_from``, the number of the first
part written with a checksum: a part numbered below it may lack one (its
columns and run ids are still checked), a part at or above it without one is
refused, and a part with a checksum is always verified. A ``sweep.json``
without that record predates checksums, so none of its parts needs one;
resuming such a store records the next part number, from which every part the
resume adds is written, and checked, with its checksum.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deleverage.sweeps.parts import label, list_rows, part_path, read_part, write_part
from deleverage.sweeps.task import INT_METRICS, METRICS

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ROWS_DIR",
    "SERIES_DIR",
    "RowBuffer",
    "RowStore",
    "param_type",
    "read_sweep",
    "series_path",
]

ROWS_DIR = "rows"
SERIES_DIR = "series"
MANIFEST = "sweep.json"


def param_type(dtype: Any) -> pa.DataType:
    """The Parquet type of a parameter column (other than bool/int/float: a string)."""
    import pandas as pd
    import pyarrow as pa

    if pd.api.types.is_bool_dtype(dtype):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(dtype):
        return pa.int64()
    if pd.api.types.is_float_dtype(dtype):
        return pa.float64()
    return pa.string()


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, default=repr)


def series_path(out: Path, run: int) -> Path:
    """The file of run ``run``'s per-step series."""
    return Path(out) / SERIES_DIR / f"run-{run:06d}.parquet"


class RowStore:
    """The Parquet dataset of one sweep's rows.

    ``runs`` is the sweep's size (run ids are ``0..runs-1``); ``checksums_from``
    the first part number that must have a checksum (None: none must, a store
    written before checksums). ``check_manifest`` sets it when a sweep opens the store.
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        params: Mapping[str, pa.DataType],
        runs: int,
        checksums_from: int | None = 0,
    ) -> None:
        import pyarrow as pa

        self.out = Path(out)
        self.rows_dir = self.out / ROWS_DIR
        self.runs = runs
        self.checksums_from = checksums_from
        fields: list[pa.Field[Any]] = [pa.field("run", pa.int64(), nullable=False)]
        fields.append(pa.field("point", pa.int64(), nullable=False))
        fields += [pa.field(name, t) for name, t in params.items()]
        fields.append(pa.field("seed", pa.int64(), nullable=False))
        fields += [pa.field(m, pa.int64() if m in INT_METRICS else pa.float64()) for m in METRICS]
        fields.append(pa.field("error", pa.string()))
        fields.append(pa.field("wall_seconds", pa.float64()))
        self.schema = pa.schema(fields)
        self._types = {name: str(t) for name, t in params.items()}
        self._text_columns = [n for n, t in params.items() if t == pa.string()]
        self._next: int | None = None

    # ---- the sweep's identity

    def check_manifest(self, manifest: dict[str, Any], resume: bool) -> None:
        """Create ``out`` for this sweep, or check it holds the same sweep.

        Without ``resume`` the directory must not already hold rows (a sweep is
        never silently mixed with another); with it, the stored description must
        match field by field. Files in ``rows/`` that are not parts are refused
        here, before any run starts.
        """
        path = self.out / MANIFEST
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        listing = list_rows(self.rows_dir)
        has_rows = bool(listing.parts)
        if has_rows and not resume:
            raise ValueError(
                f"out: {str(self.out)!r} already holds a sweep's rows; pass resume=True "
                "(--resume) to finish it, or choose another directory"
            )
        if stored is not None and has_rows:
            for key, value in manifest.items():
                if stored.get(key) != value:
                    raise ValueError(
                        f"out: {str(self.out)!r} holds a different sweep ({key} differs: "
                        f"stored {stored.get(key)!r}, now {value!r}); cannot resume it"
                    )
        self.checksums_from = 0
        if has_rows:
            recorded = _checksums_from(stored, path)
            # A store from before checksums: the parts this resume adds have them.
            self.checksums_from = max(listing.parts) + 1 if recorded is None else recorded
        self.rows_dir.mkdir(parents=True, exist_ok=True)
        # Checksums whose part never arrived: batches killed mid-write, not done.
        for orphan in listing.orphans:
            orphan.unlink(missing_ok=True)
        record = {**manifest, "rows": {"checksums_from": self.checksums_from, "types": self._types}}
        tmp = path.with_name(f".{MANIFEST}.tmp")
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    # ---- reading

    def _parts(self, columns: Sequence[str] | None) -> list[tuple[Path, int, pa.Table]]:
        """Every part, checked, with ``columns`` (None: all)."""
        listing = list_rows(self.rows_dir)
        return [
            (p, n, read_part(p, n, self.schema, self.runs, self.checksums_from, columns))
            for n, p in listing.parts.items()
        ]

    def _check_duplicates(self, parts: list[tuple[Path, int, pa.Table]]) -> None:
        """A run stored twice must hold the same values both times (wall time aside)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not parts:
            return
        ids = np.concatenate([t.column("run").to_numpy() for _, _, t in parts])
        values, counts = np.unique(ids, return_counts=True)
        twice = pa.array(values[counts > 1])
        if len(twice) == 0:
            return
        # Rare: only then are the full rows of the parts involved decoded.
        seen: dict[int, tuple[Path, dict[str, Any]]] = {}
        for path, number, table in parts:
            mask = pc.is_in(table.column("run"), value_set=twice)
            if not pc.any(mask).as_py():
                continue
            if table.num_columns < len(self.schema):
                table = read_part(path, number, self.schema, self.runs, self.checksums_from)
            for row in table.filter(pc.is_in(table.column("run"), value_set=twice)).to_pylist():
                if row["run"] not in seen:
                    seen[row["run"]] = (path, row)
                    continue
                first_path, first = seen[row["run"]]
                column = _differing_column(first, row)
                if column is not None:
                    raise ValueError(
                        f"{label(path)}: run {row['run']} is also stored in "
                        f"{first_path.name}, with another {column} ({first[column]!r} there, "
                        f"{row[column]!r} here); remove the wrong file to re-run its runs"
                    )

    def done_runs(self) -> np.ndarray:
        """The run ids already stored (sorted, unique), every part checked."""
        parts = self._parts(["run"])
        self._check_duplicates(parts)
        ids = [t.column("run").to_numpy() for _, _, t in parts]
        return np.unique(np.concatenate(ids)) if ids else np.empty(0, dtype=np.int64)

    def read(self) -> pd.DataFrame:
        """All stored rows as one DataFrame sorted by run id (counts as nullable Int64)."""
        import pyarrow as pa

        parts = self._parts(None)
        self._check_duplicates(parts)
        # The sweep's schema on every part (a part's own may differ in nullability).
        tables = [pa.Table.from_arrays(t.columns, schema=self.schema) for _, _, t in parts]
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        frame = table.to_pandas()
        frame = frame.sort_values("run", kind="stable").drop_duplicates("run")
        for m in INT_METRICS:
            frame[m] = frame[m].astype("Int64")
        return frame.reset_index(drop=True)

    # ---- writing

    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Write ``rows`` as one new complete part of the dataset, with its checksum."""
        import pyarrow as pa

        if not rows:
            return None
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for row in rows:
            for name in self.schema.names:
                columns[name].append(row.get(name))
        for name in self._text_columns:
            columns[name] = [_as_text(v) for v in columns[name]]
        table = pa.Table.from_pydict(columns, schema=self.schema)
        if self._next is None:
            last = max(list_rows(self.rows_dir).parts, default=-1)
            self._next = max(last + 1, self.checksums_from or 0)
        path = part_path(self.rows_dir, self._next)
        self._next += 1
        write_part(path, table)
        return path

    def write_series(self, run: int, series: pd.DataFrame) -> Path:
        """Store one run's per-step series apart from the rows."""
        path = series_path(self.out, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        series.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path


def _differing_column(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first column (wall time aside) where two rows of one run differ."""
    for key, value in a.items():
        other = b[key]
        both_nan = isinstance(value, float) and isinstance(other, float)
        both_nan = both_nan and math.isnan(value) and math.isnan(other)
        if key != "wall_seconds" and value != other and not both_nan:
            return key
    return None


def _checksums_from(stored: dict[str, Any] | None, path: Path) -> int | None:
    """``rows.checksums_from`` of a stored ``sweep.json`` (None: it predates checksums)."""
    rows = stored.get("rows") if stored is not None else None
    if rows is None:
        return None
    value = rows.get("checksums_from") if isinstance(rows, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{label(path)}: rows.checksums_from must be an integer >= 0, got {value!r}"
        )
    return value


def _manifest_runs(manifest: dict[str, Any], path: Path) -> int:
    """The number of runs a stored sweep has: points x seeds per point."""
    seeds = manifest.get("seeds")
    counts: dict[str, int] = {}
    for key, value in (
        ("points", manifest.get("points")),
        ("seeds", len(seeds) if isinstance(seeds, list) else seeds),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(
                f"{label(path)}: {key} must be a count >= 0 (seeds: or a list of seeds), "
                f"got {manifest.get(key)!r}"
            )
        counts[key] = value
    return counts["points"] * counts["seeds"]


def _param_types(
    manifest: dict[str, Any], path: Path, parts: dict[int, Path]
) -> dict[str, pa.DataType]:
    """The Parquet types of the parameter columns: as recorded, or (a store from
    before they were recorded) as the first part holds them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(manifest.get("paths", []))
    rows = manifest.get("rows")
    recorded = rows.get("types") if isinstance(rows, dict) else None
    if isinstance(recorded, dict):
        types: dict[str, pa.DataType] = {}
        for name in names:
            try:
                # The stubs accept only literal aliases; this one is read from the sweep's record.
                types[name] = pa.type_for_alias(str(recorded.get(name)))  # type: ignore[call-overload]
            except ValueError:
                raise ValueError(
                    f"{label(path)}: rows.types[{name!r}] must be one of bool, int64, "
                    f"double, string, got {recorded.get(name)!r}"
                ) from None
        return types
    if not parts:
        return dict.fromkeys(names, pa.string())
    first = next(iter(parts.values()))
    try:
        schema = pq.read_schema(first)
    except (pa.ArrowException, OSError) as e:
        raise ValueError(
            f"{label(first)}: not a readable Parquet file ({e}); remove it to re-run its runs"
        ) from None
    # A column the part lacks is named by the part's own check.
    return {n: schema.field(n).type if n in schema.names else pa.string() for n in names}


def read_sweep(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The rows a sweep stored in ``out`` (finished or not), sorted by run id.

    Every part is checked first (see the module notes): a ValueError names the
    file that is wrong and what is wrong with it.
    """
    path = Path(out) / MANIFEST
    if not path.exists():
        raise ValueError(f"out: {str(out)!r} holds no sweep (no {MANIFEST})")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    runs = _manifest_runs(manifest, path)
    parts = list_rows(Path(out) / ROWS_DIR).parts
    params = _param_types(manifest, path, parts)
    store = RowStore(out, params, runs, _checksums_from(manifest, path))
    return store.read()


class RowBuffer:
    """Rows waiting to be written: flushed every ``batch_rows`` rows or
    ``flush_seconds`` seconds, whichever comes first, so memory holds one batch
    and a finished run reaches disk within a bounded delay."""

    def __init__(self, store: RowStore, batch_rows: int, flush_seconds: float) -> None:
        if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
            raise ValueError(f"batch_rows: must be an integer >= 1, got {batch_rows!r}")
        if not flush_seconds > 0:
            raise ValueError(f"flush_seconds: must be > 0, got {flush_seconds!r}")
        self.store = store
        self.batch_rows = batch_rows
        self.flush_seconds = flush_seconds
        self.rows: list[dict[str, Any]] = []
        self._since = time.monotonic()

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if (
            len(self.rows) >= self.batch_rows
            or time.monotonic() - self._since >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.store.append(self.rows)
            self.rows = []
        self._since = time.monotonic()
