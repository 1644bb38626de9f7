"""The searches recorded under tools/calibration/ still load against the
scenarios they name: every parameter's path resolves, every corner of the box
gives a valid scenario and every target can be measured (``load_calibration``
checks all of it), so a preset change that breaks a documented search fails
here rather than when someone reruns it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deleverage.calibration.spec import load_calibration

TOOLS = Path(__file__).resolve().parents[1] / "tools" / "calibration"
#: A search spec names its trials at the top level; the worlds beside them do not.
SPECS = sorted(
    p
    for p in TOOLS.glob("*.toml")
    if re.search(r"^trials\s*=", p.read_text(encoding="utf-8"), re.MULTILINE)
)


def test_the_recorded_searches_are_found() -> None:
    names = {p.name for p in SPECS}
    assert {"dash_2020_discount.toml", "gold_2026_patient.toml"} <= names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_a_recorded_search_loads_against_its_scenario(path: Path) -> None:
    spec = load_calibration(path)
    assert spec.trials > 0
    assert spec.parameters
