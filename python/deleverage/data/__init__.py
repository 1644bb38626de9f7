"""Data from outside: a recorded price path, a snapshot of real accounts, and
stress tests of a book of accounts (docs/data.md)."""

from __future__ import annotations

from deleverage.data.accounts import AccountSnapshot, read_accounts
from deleverage.data.fund_needed import (
    FundNeeded,
    fund_needed,
    fund_needed_in_run,
)
from deleverage.data.paths import path_on_clock, read_path
from deleverage.data.stress import Depth, ReverseStress, StressResult, reverse_stress, stress
from deleverage.data.tables import DataFileError

__all__ = [
    "AccountSnapshot",
    "DataFileError",
    "Depth",
    "FundNeeded",
    "ReverseStress",
    "StressResult",
    "fund_needed",
    "fund_needed_in_run",
    "path_on_clock",
    "read_accounts",
    "read_path",
    "reverse_stress",
    "stress",
]
