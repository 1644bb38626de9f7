"""Build message batches for ``OrderBook.execute`` from columns."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from deleverage.dtypes import MESSAGE_DTYPE


def make_messages(
    type: npt.ArrayLike,
    side: npt.ArrayLike = 0,
    price: npt.ArrayLike = 0,
    qty: npt.ArrayLike = 0,
    owner: npt.ArrayLike = 0,
    order_id: npt.ArrayLike = 0,
) -> np.ndarray:
    """A MESSAGE_DTYPE array from columns (scalars broadcast).

    Values are range-checked here so a wrong column fails loudly instead of
    wrapping around when it is narrowed to the record's field type.
    """
    columns = {
        "type": np.asarray(type),
        "side": np.asarray(side),
        "price": np.asarray(price),
        "qty": np.asarray(qty),
        "owner": np.asarray(owner),
        "order_id": np.asarray(order_id),
    }
    try:
        shape = np.broadcast_shapes(*(c.shape for c in columns.values()))
    except ValueError as err:
        raise ValueError(f"make_messages: columns do not broadcast together ({err})") from None
    if len(shape) > 1:
        raise ValueError(f"make_messages: columns must be one-dimensional, got shape {shape}")
    out = np.zeros(shape, dtype=MESSAGE_DTYPE)
    for name, column in columns.items():
        if column.dtype.kind not in "iub":
            raise TypeError(f"{name}: must be integers, got dtype {column.dtype}")
        info = np.iinfo(MESSAGE_DTYPE[name])
        if column.size and (column.min() < info.min or column.max() > info.max):
            raise ValueError(f"{name}: must be in {info.min}..{info.max}")
        out[name] = column
    return out
