"""Markets measured against their targets (``validate``) and fitted to them (``calibrate``)."""

from __future__ import annotations

from deleverage.calibration.evaluate import FactsOutput, FactsTask, evaluate, target_values
from deleverage.calibration.validate import Validation, validate

__all__ = [
    "FactsOutput",
    "FactsTask",
    "Validation",
    "evaluate",
    "target_values",
    "validate",
]
