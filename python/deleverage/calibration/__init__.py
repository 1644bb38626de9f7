"""Markets measured against their targets (``validate``), two worlds side by side
against the same targets (``compare``), and fitted to them (``calibrate``)."""

from __future__ import annotations

from deleverage.calibration.calibrate import Calibration, calibrate
from deleverage.calibration.comparison import Comparison, compare
from deleverage.calibration.evaluate import FactsOutput, FactsTask, evaluate, target_values
from deleverage.calibration.spec import (
    CalibrationSpec,
    Parameter,
    load_calibration,
    parse_calibration,
)
from deleverage.calibration.validate import Validation, validate

__all__ = [
    "Calibration",
    "CalibrationSpec",
    "Comparison",
    "FactsOutput",
    "FactsTask",
    "Parameter",
    "Validation",
    "calibrate",
    "compare",
    "evaluate",
    "load_calibration",
    "parse_calibration",
    "target_values",
    "validate",
]
