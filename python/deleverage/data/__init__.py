"""Data from outside: a recorded price path, a snapshot of real accounts (docs/data.md)."""

from __future__ import annotations

from deleverage.data.paths import path_on_clock, read_path
from deleverage.data.tables import DataFileError

__all__ = ["DataFileError", "path_on_clock", "read_path"]
