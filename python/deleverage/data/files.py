"""The files a scenario names (recorded paths, an accounts snapshot): resolved
against a folder, and copied beside a saved result so the run reproduces from it."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deleverage.scenario import Scenario

PathLike = str | os.PathLike[str]

#: The folder, inside a saved result, the scenario's files are copied to.
DATA_FOLDER = "data"


def _mapped(scenario: Scenario, change: Callable[[str], str]) -> Scenario:
    """``scenario`` with every file name it holds replaced by ``change(name)``."""
    instruments = []
    for inst in scenario.instruments:
        f = inst.fundamental
        if f.path is not None or f.index_path is not None:
            f = dataclasses.replace(
                f,
                path=None if f.path is None else change(f.path),
                index_path=None if f.index_path is None else change(f.index_path),
            )
            inst = dataclasses.replace(inst, fundamental=f)
        instruments.append(inst)
    changes: dict[str, object] = {"instruments": tuple(instruments)}
    accounts_file = getattr(scenario, "accounts_file", None)
    if accounts_file is not None:
        changes["accounts_file"] = change(accounts_file)
    return scenario.replace(**changes)


def data_files(scenario: Scenario) -> list[str]:
    """The file names the scenario holds, each once, in order."""
    seen: list[str] = []

    def note(name: str) -> str:
        if name not in seen:
            seen.append(name)
        return name

    _mapped(scenario, note)
    return seen


def resolved(scenario: Scenario, folder: PathLike) -> Scenario:
    """``scenario`` with its relative file names taken relative to ``folder``."""
    if not data_files(scenario):
        return scenario
    root = Path(folder)
    return _mapped(scenario, lambda name: name if os.path.isabs(name) else str(root / name))


def copied(scenario: Scenario, folder: PathLike) -> Scenario:
    """Copy the scenario's files into ``folder``/data and return the scenario naming
    the copies relative to ``folder`` (a file named twice is copied once)."""
    names = data_files(scenario)
    if not names:
        return scenario
    target = Path(folder) / DATA_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    copies: dict[str, str] = {}
    for k, name in enumerate(names):
        source = Path(name)
        if not source.is_file():
            raise FileNotFoundError(f"{name!r}: the scenario names it, but there is no such file")
        local = f"{k}-{source.name}"
        if source.resolve() != (target / local).resolve():
            shutil.copyfile(source, target / local)
        copies[name] = f"{DATA_FOLDER}/{local}"
    return _mapped(scenario, copies.__getitem__)
