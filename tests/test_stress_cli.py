"""`deleverage stress` and `deleverage bench stress` on small books."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deleverage.cli import main


@pytest.fixture
def book(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 500
    lots = rng.integers(-30, 31, n)
    frame = pd.DataFrame(
        {
            "id": np.arange(n) * 3 + 11,
            "cash": np.abs(lots) * 2000.0 / rng.uniform(2, 18, n) + 1.0,
            "position.GOLD": lots,
            "entry_price.GOLD": np.where(lots != 0, 2000.0, np.nan),
        }
    )
    path = tmp_path / "book.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_stress_prints_one_column_per_shock_and_writes_its_files(
    book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "stress",
            str(book),
            "--scenario",
            "default",
            "--shock",
            "-5%",
            "-0.1",
            "-20%",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "-5.0%" in text
    assert "-10.0%" in text
    assert "-20.0%" in text
    table = pd.read_parquet(out / "stress.parquet")
    np.testing.assert_allclose(table["shock"], [-0.05, -0.1, -0.2])
    assert (out / "stress.png").stat().st_size > 0
    log = pd.read_parquet(out / "stress.log.parquet")
    assert set(log["id"]) <= set(pd.read_parquet(book)["id"])


def test_stress_json_agrees_with_the_function(
    book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deleverage.data import stress

    assert main(["stress", str(book), "--scenario", "default", "--shock", "-8%", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    want = stress("default", book, [-0.08]).table.to_dict("records")
    assert rows == json.loads(json.dumps(want))


def test_reverse_stress_from_the_command_line(
    book: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stress", str(book), "--scenario", "default", "--reverse", "fund", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["target"] == "fund"
    assert found["shock"] is None or found["shock"] < found["below"]


@pytest.mark.parametrize("target", ["adl", "fund"])
def test_the_fund_needed_from_the_command_line(
    book: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    from deleverage.data import fund_needed

    argv = ["stress", str(book), "--scenario", "default", "--fund-for", "-20%", "--target", target]
    assert main([*argv, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    want = fund_needed("default", book, -0.2, target)  # type: ignore[arg-type]
    assert found["fund"] == want.fund
    assert found["below"] == want.below
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == want.describe()
    assert main([*argv, "--reverse", "adl"]) != 0
    assert "--fund-for: give it or --reverse, not both" in capsys.readouterr().err


def test_the_fund_a_run_needs_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deleverage.data import fund_needed_in_run
    from deleverage.scenario import save_toml
    from deleverage.scenarios import load_preset

    world = tmp_path / "venue.toml"
    save_toml(load_preset("crypto-cascade-2025").with_accounts(3000), world)
    argv = ["stress", str(world), "--with-agents", "--fund-needed", "--instrument", "ALT"]
    assert main([*argv, "--seed", "1", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    want = fund_needed_in_run(world, instrument="ALT", seed=1)
    assert (found["fund"], found["below"]) == (want.fund, want.below)
    assert main(["stress", str(world), "--fund-needed"]) != 0
    assert "--fund-needed: needs --with-agents" in capsys.readouterr().err


def test_errors_are_one_line(book: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress", str(book)]) != 0
    assert "--scenario: an accounts file needs a scenario" in capsys.readouterr().err
    assert main(["stress", "default"]) != 0
    assert "--accounts: stressing a scenario without agents" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["stress", str(book), "--scenario", "default", "--shock", "-5x"])
    assert "must be a relative move such as -5%" in capsys.readouterr().err


def test_with_agents_runs_the_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stress", "default", "--with-agents", "--shock", "-5%", "-15%", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["shock"] for r in rows] == [-0.05, -0.15]
    assert rows[1]["lowest_mark"] < rows[0]["lowest_mark"]


def test_bench_stress_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "stress", "--accounts", "20000", "--shocks", "4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["accounts"] == 20000
    assert r["shocks"] == 4
    assert r["grid_seconds"] > 0
    assert r["liquidated_at_worst"] > 0


def test_a_forced_seller_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "stress",
        "default-hour",
        "--with-agents",
        "--forced-to",
        "1880",
        "--seed",
        "1",
        "--json",
    ]
    assert main(args) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["side"] == "sell"
    assert found["lots"] > found["below"]
    assert found["reached"] <= 1880 < found["before"]
    assert main(["stress", "default", "--forced-to", "1880"]) != 0
    assert "--forced-to: needs --with-agents" in capsys.readouterr().err


def test_a_scenario_with_an_accounts_file_is_stressed_on_it(
    book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deleverage.scenario import save_toml
    from deleverage.scenarios import load_preset

    save_toml(load_preset("default-hour").replace(accounts_file=book.name), book.parent / "s.toml")
    assert main(["stress", str(book.parent / "s.toml"), "--shock", "-8%", "--json"]) == 0
    from_scenario = json.loads(capsys.readouterr().out)["rows"]
    assert main(["stress", str(book), "--scenario", "default", "--shock", "-8%", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == from_scenario
