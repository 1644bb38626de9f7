"""The Python enums and record layouts agree with the compiled engine."""

from __future__ import annotations

import pytest

import deleverage as dl
from deleverage import _core, codes, dtypes


@pytest.mark.parametrize("name", ["Side", "MsgType", "Reject", "StpMode", "FillKind"])
def test_enum_values_match_engine(name: str) -> None:
    enum = getattr(codes, name)
    assert {m.name: m.value for m in enum} == _core.CODES[name]


@pytest.mark.parametrize(
    "name", ["MESSAGE_DTYPE", "RESULT_DTYPE", "FILL_DTYPE", "DEPTH_DTYPE", "ORDER_DTYPE"]
)
def test_record_layouts_match_engine(name: str) -> None:
    assert getattr(dtypes, name) == getattr(_core, name)
    assert getattr(dtypes, name).itemsize == getattr(_core, name).itemsize


def test_limits_match_engine() -> None:
    assert codes.MAX_QTY == _core.MAX_QTY
    assert codes.MAX_PRICE == _core.MAX_PRICE
    assert codes.DEFAULT_MAX_LADDER_LEVELS == _core.DEFAULT_MAX_LADDER_LEVELS
    assert dl.OrderBook().max_ladder_levels == codes.DEFAULT_MAX_LADDER_LEVELS
