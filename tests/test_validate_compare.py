"""Two worlds side by side against the same targets (``deleverage.calibration.compare``,
``deleverage validate --before``).

Oracle: each side is ``validate`` of that world alone on the same seeds with the
after world's targets; the comparison's counts, spans and verdicts are those
runs' figures, recomputed here by a plain scan.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from deleverage.calibration import Comparison, compare, validate
from deleverage.cli import main
from deleverage.scenario import Scenario, Target
from deleverage.scenarios import load_preset
from deleverage.sweeps.paths import apply_paths

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def worlds() -> tuple[Scenario, Scenario]:
    after = load_preset("default-hour")
    # Before: dealers eight ticks wide, and none of its own targets (the after
    # world's are what both are judged by).
    before = apply_paths(after, {"populations.market_makers.params.base_spread_ticks": 8})
    return before.replace(targets=()), after


@pytest.fixture(scope="module")
def comparison(worlds: tuple[Scenario, Scenario]) -> Comparison:
    before, after = worlds
    return compare(before, after, SEEDS, workers=2, progress=False)


def test_each_side_is_its_world_validated_alone(
    worlds: tuple[Scenario, Scenario], comparison: Comparison
) -> None:
    before, after = worlds
    alone = {
        "before": validate(before, SEEDS, targets=after.targets, workers=1, progress=False),
        "after": validate(after, SEEDS, workers=1, progress=False),
    }
    table = comparison.table()
    assert list(table["target"]) == [t.label(t.instrument or "GOLD") for t in after.targets]
    for side, v in alone.items():
        assert np.array_equal(getattr(comparison, side).values, v.values, equal_nan=True)
        for i, target in enumerate(after.targets):
            figures = [x for x in v.values[i] if not math.isnan(x)]
            low, high = target.range
            inside = sum(low <= x <= high for x in figures)
            row = table.iloc[i]
            assert row[f"{side}_passed"] == inside
            assert row[f"{side}_min"] == min(figures)
            assert row[f"{side}_max"] == max(figures)
            assert row[f"{side}_ok"] is (inside >= row["needed"])
            assert row[f"{side}_below"] == sum(x < low for x in figures)
            assert row[f"{side}_above"] == sum(x > high for x in figures)
    before_met, after_met, ranged = comparison.met()
    assert ranged == len(after.targets)
    assert before_met == sum(table["before_ok"] == True)  # noqa: E712
    assert after_met == sum(table["after_ok"] == True)  # noqa: E712
    # Eight ticks wide is past the spread target in every seed, one tick is inside.
    spread = table[table["target"] == "GOLD spread_bps"].iloc[0]
    assert (spread["before_passed"], spread["after_passed"]) == (0, len(SEEDS))
    assert (spread["before_below"], spread["before_above"]) == (0, len(SEEDS))  # too wide


def test_the_markdown_table_marks_each_failing_cell(comparison: Comparison) -> None:
    text = comparison.markdown()
    lines = text.splitlines()
    assert lines[0] == (
        "| target | range | before: seeds passing (min to max) | after | seeds gained / lost (p) |"
    )
    rows = [line for line in lines[2:] if line.startswith("| ")]
    table = comparison.table()
    assert len(rows) == len(table)
    for line, (_, row) in zip(rows, table.iterrows(), strict=True):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == row["target"]
        for cell, side in zip(cells[2:4], ("before", "after"), strict=True):
            assert cell.startswith(f"{row[f'{side}_passed']}/{row['needed']}")
            assert ("✗" in cell) is (row[f"{side}_ok"] is False)
            # A miss says where its seeds fall: under a finite low bound, over a finite high.
            sides = [
                f"; {row[f'{side}_below']} under" if math.isfinite(row["low"]) else "",
                f"; {row[f'{side}_above']} over" if math.isfinite(row["high"]) else "",
            ]
            if row[f"{side}_ok"] is False:
                assert cell.endswith("".join(sides) + ")")
            else:
                assert "under" not in cell
                assert "over" not in cell
        assert cells[4].startswith(f"+{row['after_only']} / -{row['before_only']} (p ")
        # The passes each world gained are the difference of the two counts.
        assert row["after_only"] - row["before_only"] == row["after_passed"] - row["before_passed"]
    before, after, ranged = comparison.met()
    assert lines[-1] == f"Targets met: {before} of {ranged} before, {after} of {ranged} after."
    summary = comparison.to_dict()
    assert summary["met"] == {"before": before, "after": after, "of": ranged}
    json.dumps(summary)  # strict JSON: NaN and inf are null


def test_a_target_without_a_range_is_shown_and_not_counted(
    worlds: tuple[Scenario, Scenario],
) -> None:
    before, after = worlds
    aim = Target("spread_bps", value=1.0)  # a calibration's aim: no range, no verdict
    after = after.replace(targets=(*after.targets[-2:], aim))
    c = compare(before, after, (0,), workers=1, progress=False)
    assert c.met()[2] == 2
    row = c.markdown().splitlines()[4]
    assert row.startswith("| GOLD spread_bps | - | 0/1 (")
    assert "✗" not in row


def test_bad_worlds_are_named(worlds: tuple[Scenario, Scenario]) -> None:
    before, after = worlds
    with pytest.raises(TypeError, match="before: must be a Scenario, got str"):
        compare("default", after, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="after: must be a Scenario, got NoneType"):
        compare(before, None, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="after: scenario 'default-hour' declares no"):
        compare(after, before, 1)
    # Targets on an instrument the before world does not trade are refused by name.
    with pytest.raises(
        ValueError,
        match=r"before: the targets of 'default-hour' do not fit 'leverage-cycle': "
        r"targets\[0\]\.instrument: unknown instrument 'GOLD'; known: ASSET",
    ):
        compare(load_preset("leverage-cycle"), after, 1)


def test_the_command_line_prints_both_and_writes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["validate", "default", "--seeds", "2", "--workers", "2", "--before", "default"]
    code = main([*argv, "--out", str(out), "-q"])
    text = capsys.readouterr().out
    assert "| target | range | before: seeds passing (min to max) | after | seeds gained" in text
    # The same world twice: both columns alike, and the exit code is the after's verdict.
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["met"]["before"] == summary["met"]["after"]
    assert code == (0 if summary["after"]["passed"] else 1)
    assert (out / "comparison.md").read_text().startswith("| target |")
    assert (out / "comparison.csv").exists()
    assert main([*argv, "--json"]) == code
    assert json.loads(capsys.readouterr().out)["met"] == summary["met"]
    assert main(["validate", "default", "--seeds", "1", "--before", "no-such-world"]) == 2
    assert "--before: 'no-such-world' is neither a .toml file nor a preset" in (
        capsys.readouterr().err
    )
