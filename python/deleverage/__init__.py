"""deleverage: a simulator of leveraged markets and their forced-deleveraging cascades."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from deleverage import _core
from deleverage._core import Execution, OrderBook, OrderView
from deleverage.codes import (
    DEFAULT_MAX_LADDER_LEVELS,
    MAX_PRICE,
    MAX_QTY,
    FillKind,
    MsgType,
    Reject,
    Side,
    StpMode,
)
from deleverage.counterfactuals import counterfactual, shapley
from deleverage.data import reverse_stress, stress
from deleverage.dtypes import DEPTH_DTYPE, FILL_DTYPE, MESSAGE_DTYPE, ORDER_DTYPE, RESULT_DTYPE
from deleverage.margin import CROSS, ISOLATED, LIQUIDATION_DTYPE, MarginEngine
from deleverage.margin_rules import Instrument, MarginRule
from deleverage.messages import make_messages
from deleverage.result import load_result
from deleverage.shared_steps import simulate_worlds
from deleverage.sweeps import sweep

__version__ = "0.1.0"

# What the package says goes through this logger; an application (the command line)
# decides where it goes. Without one, nothing is printed.
logging.getLogger("deleverage").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from deleverage.calibration import calibrate, validate


def __getattr__(name: str) -> Any:
    # validate and calibrate load on first use: ``import deleverage`` stays as quick.
    if name in ("calibrate", "validate"):
        from deleverage import calibration

        return getattr(calibration, name)
    raise AttributeError(f"module 'deleverage' has no attribute {name!r}")


# The records' layouts are fixed in C++; refuse to run if Python disagrees.
for _name in ("MESSAGE_DTYPE", "RESULT_DTYPE", "FILL_DTYPE", "DEPTH_DTYPE", "ORDER_DTYPE"):
    if getattr(_core, _name) != globals()[_name]:
        raise ImportError(f"deleverage: {_name} differs between Python and the compiled engine")

__all__ = [
    "CROSS",
    "DEFAULT_MAX_LADDER_LEVELS",
    "DEPTH_DTYPE",
    "FILL_DTYPE",
    "ISOLATED",
    "LIQUIDATION_DTYPE",
    "MAX_PRICE",
    "MAX_QTY",
    "MESSAGE_DTYPE",
    "ORDER_DTYPE",
    "RESULT_DTYPE",
    "Execution",
    "FillKind",
    "Instrument",
    "MarginEngine",
    "MarginRule",
    "MsgType",
    "OrderBook",
    "OrderView",
    "Reject",
    "Side",
    "StpMode",
    "__version__",
    "calibrate",
    "counterfactual",
    "load_result",
    "make_messages",
    "reverse_stress",
    "shapley",
    "simulate_worlds",
    "stress",
    "sweep",
    "validate",
]
