"""Integer codes shared by the engine and Python: message types, sides, rejects.

The C++ engine defines the same values (``cpp/include/deleverage/codes.hpp``);
``tests/test_codes.py`` checks that both agree.
"""

from __future__ import annotations

from enum import IntEnum


class Side(IntEnum):
    BUY = 0
    SELL = 1


class MsgType(IntEnum):
    LIMIT = 0
    MARKET = 1
    IOC = 2
    FOK = 3
    CANCEL = 4
    REDUCE = 5
    REPLACE = 6


class Reject(IntEnum):
    NONE = 0
    BAD_TYPE = 1
    BAD_SIDE = 2
    BAD_QUANTITY = 3
    BAD_PRICE = 4
    PRICE_OFF_LADDER = 5
    UNKNOWN_ORDER = 6


class StpMode(IntEnum):
    """Self-trade prevention: what happens when an order meets its owner's own."""

    NONE = 0
    CANCEL_RESTING = 1
    CANCEL_INCOMING = 2


class FillKind(IntEnum):
    TRADE = 0
    STP_CANCEL = 1


MAX_QTY = 1 << 40
MAX_PRICE = 1 << 62
DEFAULT_MAX_LADDER_LEVELS = 1 << 22

__all__ = [
    "DEFAULT_MAX_LADDER_LEVELS",
    "MAX_PRICE",
    "MAX_QTY",
    "FillKind",
    "MsgType",
    "Reject",
    "Side",
    "StpMode",
]
