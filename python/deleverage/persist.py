"""Saving a ``Result`` to a folder and loading it back, exactly.

A run at a million accounts takes seconds, but its tables are what a person
studies for hours: saving them lets a report be rebuilt, or a result be
compared with another, without running again. The folder holds plain,
widely readable files, so a result can also be opened without this package:

    result.json         format marker and version, the scalars, the table list
    scenario.toml       the scenario (``deleverage.scenario`` TOML, exact round trip)
    series.parquet      Result.series, columns flattened to "<instrument>/<field>"
                        (indexed by seconds, or by UTC date-times for a dated run)
    liquidations.parquet
    accounts.parquet
    leverage.parquet
    exposure.parquet    Result.exposure, columns flattened to "<population>/<quantity>"
    trades.parquet      only for a run that kept a trade log
    data/               copies of the files the scenario reads (recorded paths,
                        an accounts snapshot), named relative to the folder
    account_states.parquet  only for a run that kept its accounts' final states

Tables are written by pandas through pyarrow with pandas' own metadata, so
dtypes (``uint32``, ``str``, ``bool``), index names and values come back as
they were; floats are stored as IEEE doubles, bit for bit. The series'
``(instrument, field)`` column pairs are joined with ``/`` and split again at
the last ``/``: field names never hold one, so an instrument called
``XAU/USD`` survives too.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

from deleverage.data.files import copied, resolved

if TYPE_CHECKING:
    from deleverage.scenario import Scenario

PathLike = str | os.PathLike[str]

#: The marker of a saved result: its ``result.json`` says ``"format": FORMAT``.
FORMAT = "deleverage-result"
#: The layout version written now; loading accepts exactly these.
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)

META_FILE = "result.json"
SCENARIO_FILE = "scenario.toml"
#: Result attribute -> file, in the order they are written.
TABLE_FILES = {
    "series": "series.parquet",
    "liquidations": "liquidations.parquet",
    "accounts": "accounts.parquet",
    "leverage": "leverage.parquet",
    "trades": "trades.parquet",
    "exposure": "exposure.parquet",
    "account_states": "account_states.parquet",
}
SCALARS = ("seed", "steps_done", "wall_seconds", "messages", "decisions", "conservation_error")
#: Joins an instrument and a field in the flattened series' column names.
SERIES_SEPARATOR = "/"
SERIES_LEVELS = ("instrument", "field")


class ResultFormatError(ValueError):
    """A folder that is not a saved result, or one this version cannot read."""


@runtime_checkable
class SavedResult(Protocol):
    """What this format stores of a result (``deleverage.result.Result`` has it all)."""

    @property
    def scenario(self) -> Scenario: ...

    @property
    def seed(self) -> int: ...

    @property
    def series(self) -> pd.DataFrame: ...

    @property
    def liquidations(self) -> pd.DataFrame: ...

    @property
    def accounts(self) -> pd.DataFrame: ...

    @property
    def leverage(self) -> pd.DataFrame: ...

    @property
    def steps_done(self) -> int: ...

    @property
    def wall_seconds(self) -> float: ...

    @property
    def messages(self) -> int: ...

    @property
    def decisions(self) -> int: ...

    @property
    def conservation_error(self) -> float: ...

    @property
    def info(self) -> dict[str, Any]: ...

    @property
    def trades(self) -> pd.DataFrame | None: ...

    @property
    def exposure(self) -> pd.DataFrame | None: ...

    @property
    def account_states(self) -> pd.DataFrame | None: ...


def save_result(result: SavedResult, path: PathLike) -> Path:
    """Write ``result`` (a ``Result``) into the folder ``path`` (created if missing); return it.

    Only this format's own files are written (an existing saved result there
    is replaced, other files are left alone), so a report can share the folder.
    """
    from deleverage.scenario import to_toml_str

    if not isinstance(result, SavedResult):
        raise TypeError(f"result: must be a Result, got {type(result).__name__}")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"path: {str(folder)!r} exists and is not a folder")
    try:
        info_text = json.dumps(result.info, allow_nan=True)
    except TypeError as err:
        raise ValueError(
            f"info: must hold only JSON values (numbers, text, lists, dicts): {err}"
        ) from None
    if json.loads(info_text) != result.info:
        raise ValueError(
            "info: must survive JSON unchanged (string keys; lists, not tuples), "
            f"got {result.info!r}"
        )
    tables: dict[str, pd.DataFrame] = {
        "series": flatten_series(result.series),
        "liquidations": result.liquidations,
        "accounts": result.accounts,
        "leverage": result.leverage,
    }
    if result.trades is not None:
        tables["trades"] = result.trades
    if result.exposure is not None:
        tables["exposure"] = flatten_series(result.exposure)
    if result.account_states is not None:
        tables["account_states"] = result.account_states
    folder.mkdir(parents=True, exist_ok=True)
    # The marker goes last and is removed first: a folder whose writing was cut
    # short has no result.json and is not taken for a result.
    (folder / META_FILE).unlink(missing_ok=True)
    for optional in ("trades", "exposure", "account_states"):
        (folder / TABLE_FILES[optional]).unlink(missing_ok=True)
    # Files the scenario reads (recorded paths, accounts) are copied into the folder.
    (folder / SCENARIO_FILE).write_text(
        to_toml_str(copied(result.scenario, folder)), encoding="utf-8", newline="\n"
    )
    for name, frame in tables.items():
        frame.to_parquet(folder / TABLE_FILES[name], engine="pyarrow")
    meta: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        **{name: getattr(result, name) for name in SCALARS},
        "info": result.info,
        "tables": list(tables),
    }
    (folder / META_FILE).write_text(
        json.dumps(meta, indent=2, allow_nan=True) + "\n", encoding="utf-8", newline="\n"
    )
    return folder


def read_result(path: PathLike) -> dict[str, Any]:
    """The fields of the ``Result`` saved in the folder ``path`` by ``save_result``
    (``Result.save``), by name: ``Result(**read_result(path))`` is ``Result.load(path)``."""
    from deleverage.scenario import from_toml_str

    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"path: no such folder {str(folder)!r}")
    if not folder.is_dir():
        raise ResultFormatError(f"path: {str(folder)!r} is a file, not a saved result's folder")
    meta = read_meta(folder)
    tables: dict[str, pd.DataFrame] = {}
    for name in meta["tables"]:
        file = folder / TABLE_FILES[name]
        if not file.is_file():
            raise FileNotFoundError(
                f"path: {str(folder)!r} lacks {TABLE_FILES[name]} (listed in {META_FILE})"
            )
        tables[name] = pd.read_parquet(file, engine="pyarrow")
    scenario_file = folder / SCENARIO_FILE
    if not scenario_file.is_file():
        raise FileNotFoundError(f"path: {str(folder)!r} lacks {SCENARIO_FILE}")
    scenario = resolved(from_toml_str(scenario_file.read_text(encoding="utf-8")), folder)
    return dict(
        scenario=scenario,
        seed=int(meta["seed"]),
        series=unflatten_series(tables["series"]),
        liquidations=tables["liquidations"],
        accounts=tables["accounts"],
        leverage=tables["leverage"],
        steps_done=int(meta["steps_done"]),
        wall_seconds=float(meta["wall_seconds"]),
        messages=int(meta["messages"]),
        decisions=int(meta["decisions"]),
        conservation_error=float(meta["conservation_error"]),
        info=meta["info"],
        trades=tables.get("trades"),
        exposure=_exposure(tables.get("exposure")),
        account_states=tables.get("account_states"),
    )


def _exposure(flat: pd.DataFrame | None) -> pd.DataFrame | None:
    if flat is None:
        return None
    exposure = unflatten_series(flat)
    exposure.columns = exposure.columns.set_names(["population", "quantity"])
    return exposure


def is_saved_result(path: PathLike) -> bool:
    """Whether ``path`` is a folder holding a saved result's marker file."""
    file = Path(path) / META_FILE
    if not file.is_file():
        return False
    try:
        return bool(json.loads(file.read_text(encoding="utf-8")).get("format") == FORMAT)
    except (ValueError, AttributeError):
        return False


def read_meta(folder: Path) -> dict[str, Any]:
    """The checked contents of a saved result's ``result.json``."""
    file = folder / META_FILE
    if not file.is_file():
        raise ResultFormatError(
            f"path: {str(folder)!r} is not a saved result (no {META_FILE}; "
            "save one with Result.save or `deleverage run --out`)"
        )
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ResultFormatError(f"{META_FILE}: not valid JSON ({err})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ResultFormatError(
            f"{META_FILE}: format must be {FORMAT!r}, got "
            f"{meta.get('format') if isinstance(meta, dict) else meta!r}"
        )
    version = meta.get("version")
    if version not in SUPPORTED_VERSIONS:
        allowed = ", ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise ResultFormatError(
            f"{META_FILE}: version must be one of {allowed} (this deleverage reads those), "
            f"got {version!r}"
        )
    missing = [k for k in (*SCALARS, "info", "tables") if k not in meta]
    if missing:
        raise ResultFormatError(f"{META_FILE}: missing keys {', '.join(missing)}")
    tables = meta["tables"]
    required = ("series", "liquidations", "accounts", "leverage")
    if (
        not isinstance(tables, list)
        or any(t not in TABLE_FILES for t in tables)
        or any(t not in tables for t in required)
    ):
        raise ResultFormatError(
            f"{META_FILE}: tables must list {', '.join(required)} "
            "(and optionally trades, exposure, account_states), "
            f"got {tables!r}"
        )
    for name in ("wall_seconds", "conservation_error"):
        value = meta[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ResultFormatError(f"{META_FILE}: {name} must be a number, got {value!r}")
    for name in ("seed", "steps_done", "messages", "decisions"):
        value = meta[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ResultFormatError(f"{META_FILE}: {name} must be an integer, got {value!r}")
    if not isinstance(meta["info"], dict):
        raise ResultFormatError(f"{META_FILE}: info must be an object, got {meta['info']!r}")
    return meta


def flatten_series(series: pd.DataFrame) -> pd.DataFrame:
    """``Result.series`` with its (instrument, field) columns joined as "instrument/field"."""
    columns = series.columns
    if not isinstance(columns, pd.MultiIndex) or columns.nlevels != 2:
        raise ValueError("series: must have (instrument, field) MultiIndex columns")
    names = []
    for instrument, field in columns:
        if SERIES_SEPARATOR in str(field):
            raise ValueError(
                f"series: field names must not hold {SERIES_SEPARATOR!r}, got {field!r}"
            )
        names.append(f"{instrument}{SERIES_SEPARATOR}{field}")
    flat = series.copy(deep=False)
    flat.columns = pd.Index(names)
    return flat


def unflatten_series(flat: pd.DataFrame) -> pd.DataFrame:
    """The inverse of ``flatten_series``: split each column at its last "/"."""
    pairs = []
    for name in flat.columns:
        instrument, sep, field = str(name).rpartition(SERIES_SEPARATOR)
        if not sep or not instrument:
            raise ResultFormatError(
                f"series: column names must be 'instrument{SERIES_SEPARATOR}field', got {name!r}"
            )
        pairs.append((instrument, field))
    series = flat.copy(deep=False)
    series.columns = pd.MultiIndex.from_tuples(pairs, names=list(SERIES_LEVELS))
    return series
