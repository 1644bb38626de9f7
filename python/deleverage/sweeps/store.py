"""Where a sweep's rows go: a Parquet dataset directory, appended to as runs finish.

Layout of ``out``::

    out/sweep.json              what the sweep is (base scenario, points, seeds)
    out/rows/part-000000.parquet  one file per flushed batch of rows
    out/series/run-000123.parquet per-run series (when asked for)

Rows are buffered in small batches and each batch is written to a hidden
temporary file then renamed, so a file in ``rows/`` is always complete: a sweep
that dies loses at most the batch it was filling, and memory holds one batch,
never the whole table. ``resume`` reads only the ``run`` column back to skip
the runs already stored; ``sweep.json`` lets it refuse to resume a different sweep.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

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
    """The Parquet dataset of one sweep's rows."""

    def __init__(self, out: str | os.PathLike[str], params: Mapping[str, pa.DataType]) -> None:
        import pyarrow as pa

        self.out = Path(out)
        self.rows_dir = self.out / ROWS_DIR
        fields = [pa.field("run", pa.int64(), nullable=False)]
        fields.append(pa.field("point", pa.int64(), nullable=False))
        fields += [pa.field(name, t) for name, t in params.items()]
        fields.append(pa.field("seed", pa.int64(), nullable=False))
        fields += [pa.field(m, pa.int64() if m in INT_METRICS else pa.float64()) for m in METRICS]
        fields.append(pa.field("error", pa.string()))
        fields.append(pa.field("wall_seconds", pa.float64()))
        self.schema = pa.schema(fields)
        self._text_columns = [n for n, t in params.items() if t == pa.string()]
        self._next = 0

    # ---- the sweep's identity

    def check_manifest(self, manifest: dict[str, Any], resume: bool) -> None:
        """Create ``out`` for this sweep, or check it holds the same sweep.

        Without ``resume`` the directory must not already hold rows (a sweep is
        never silently mixed with another); with it, the stored description must
        match field by field.
        """
        path = self.out / MANIFEST
        stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
        has_rows = self.rows_dir.exists() and any(self._files())
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
        self.rows_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{MANIFEST}.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)

    # ---- reading

    def _files(self) -> list[Path]:
        if not self.rows_dir.exists():
            return []
        return sorted(p for p in self.rows_dir.glob("part-*.parquet"))

    def done_runs(self) -> np.ndarray:
        """The run ids already stored (sorted, unique), reading only that column."""
        import pyarrow.parquet as pq

        ids = [pq.read_table(f, columns=["run"]).column("run").to_numpy() for f in self._files()]
        return np.unique(np.concatenate(ids)) if ids else np.empty(0, dtype=np.int64)

    def read(self) -> pd.DataFrame:
        """All stored rows as one DataFrame sorted by run id (counts as nullable Int64)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        files = self._files()
        tables = [pq.read_table(f, schema=self.schema) for f in files]
        table = pa.concat_tables(tables) if tables else self.schema.empty_table()
        frame = table.to_pandas()
        frame = frame.sort_values("run", kind="stable").drop_duplicates("run")
        for m in INT_METRICS:
            frame[m] = frame[m].astype("Int64")
        return frame.reset_index(drop=True)

    # ---- writing

    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Write ``rows`` as one new complete file of the dataset."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows:
            return None
        columns: dict[str, list[Any]] = {name: [] for name in self.schema.names}
        for row in rows:
            for name in self.schema.names:
                columns[name].append(row.get(name))
        for name in self._text_columns:
            columns[name] = [_as_text(v) for v in columns[name]]
        table = pa.Table.from_pydict(columns, schema=self.schema)
        if self._next == 0:
            existing = [int(p.stem.split("-")[1]) for p in self._files()]
            self._next = max(existing, default=-1) + 1
        path = self.rows_dir / f"part-{self._next:06d}.parquet"
        self._next += 1
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        return path

    def write_series(self, run: int, series: pd.DataFrame) -> Path:
        """Store one run's per-step series apart from the rows."""
        path = series_path(self.out, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        series.to_parquet(tmp, index=False)
        os.replace(tmp, path)
        return path


def read_sweep(out: str | os.PathLike[str]) -> pd.DataFrame:
    """The rows a sweep stored in ``out`` (finished or not), sorted by run id."""
    import pyarrow.parquet as pq

    path = Path(out) / MANIFEST
    if not path.exists():
        raise ValueError(f"out: {str(out)!r} holds no sweep (no {MANIFEST})")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    store = RowStore(out, {})
    files = store._files()
    if files:
        schema = pq.read_schema(files[0])
        store = RowStore(out, {n: schema.field(n).type for n in manifest["paths"]})
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
