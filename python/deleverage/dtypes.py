"""numpy record layouts of the records that cross between Python and the engine.

Each matches a C++ struct byte for byte (``cpp/include/deleverage/records.hpp``);
the extension checks the layouts when it is imported.
"""

from __future__ import annotations

import numpy as np

MESSAGE_DTYPE = np.dtype(
    {
        "names": ["order_id", "price", "qty", "owner", "type", "side"],
        "formats": ["<u8", "<i8", "<i8", "<u4", "u1", "u1"],
        "offsets": [0, 8, 16, 24, 28, 29],
        "itemsize": 32,
    }
)

RESULT_DTYPE = np.dtype(
    {
        "names": ["order_id", "filled", "resting", "cancelled", "code"],
        "formats": ["<u8", "<i8", "<i8", "<i8", "u1"],
        "offsets": [0, 8, 16, 24, 32],
        "itemsize": 40,
    }
)

FILL_DTYPE = np.dtype(
    {
        "names": [
            "taker_order",
            "maker_order",
            "price",
            "qty",
            "taker_owner",
            "maker_owner",
            "message",
            "taker_side",
            "kind",
        ],
        "formats": ["<u8", "<u8", "<i8", "<i8", "<u4", "<u4", "<u4", "u1", "u1"],
        "offsets": [0, 8, 16, 24, 32, 36, 40, 44, 45],
        "itemsize": 48,
    }
)

DEPTH_DTYPE = np.dtype([("price", "<i8"), ("qty", "<i8"), ("orders", "<i8")])

ORDER_DTYPE = np.dtype(
    {
        "names": ["order_id", "price", "qty", "owner", "side"],
        "formats": ["<u8", "<i8", "<i8", "<u4", "u1"],
        "offsets": [0, 8, 16, 24, 28],
        "itemsize": 32,
    }
)

__all__ = ["DEPTH_DTYPE", "FILL_DTYPE", "MESSAGE_DTYPE", "ORDER_DTYPE", "RESULT_DTYPE"]
