"""The command line: the JSON each command promises, help, and clear errors."""

from __future__ import annotations

import json

import pytest

from deleverage.cli import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_run_json_has_the_headline_metrics(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["run", "--json", "--seed", "2"])
    for key in (
        "max_drawdown",
        "liquidated_notional",
        "liquidations",
        "min_depth_ratio",
        "max_spread_ratio",
        "final_price",
        "peak_price",
        "wall_seconds",
        "accounts",
        "steps",
    ):
        assert key in out
    assert out["steps"] == 32_400
    again = _json(capsys, ["run", "--json", "--seed", "2"])
    assert {k: v for k, v in again.items() if k != "wall_seconds"} == {
        k: v for k, v in out.items() if k != "wall_seconds"
    }


def test_run_scales_accounts_and_reads_toml(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    from deleverage.scenario import save_toml
    from deleverage.scenarios import load_preset

    path = tmp_path / "world.toml"
    save_toml(load_preset("default-hour"), path)
    out = _json(capsys, ["run", str(path), "--accounts", "500", "--json"])
    assert out["accounts"] == 500


def test_bench_book_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(
        capsys,
        [
            "bench",
            "book",
            "--messages",
            "20000",
            "--reference-messages",
            "2000",
            "--deep-book-orders",
            "5000",
            "--repeat",
            "1",
            "--json",
        ],
    )
    for key in (
        "messages_per_s",
        "reference_messages_per_s",
        "ratio",
        "messages",
        "bytes_per_resting_order",
    ):
        assert key in out
    assert out["messages"] == 20000
    assert out["ratio"] > 1


def test_bench_margin_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["bench", "margin", "--accounts", "2000", "--json"])
    (row,) = out["results"]  # type: ignore[misc]
    for key in (
        "accounts",
        "mark_updates_per_s",
        "scan_updates_per_s",
        "liquidations_per_s",
        "bytes_per_account",
    ):
        assert key in row
    assert row["accounts"] == 2000


def test_bench_simulate_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["bench", "simulate", "--accounts", "3000", "--steps", "600", "--json"]
    args += ["--baseline-accounts", "1500", "--memory-accounts", "4000", "--memory-steps", "300"]
    out = _json(capsys, [*args, "--no-gold"])
    for key in (
        "accounts",
        "steps",
        "wall_seconds",
        "messages_per_s",
        "decisions_per_s",
        "peak_rss_bytes",
        "memory_peak_rss_bytes",
        "memory_within_limit",
        "isa",
    ):
        assert key in out
    assert out["accounts"] == 3000
    assert out["steps"] == 600
    assert out["memory_accounts"] == 4000
    assert out["gold_runs"] == []
    assert out["memory_within_limit"] is True
    assert 0 < out["peak_rss_bytes"] < 2**32
    assert out["isa"] in ("x86-64-v4", "x86-64-v3", "baseline")
    runs = out["runs"]
    assert [r["accounts"] for r in runs] == [3000, 1500, 4000]  # type: ignore[index]
    assert [r["steps"] for r in runs] == [600, 600, 300]  # type: ignore[index]


def test_bench_cross_json_keys(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["bench", "cross", "--accounts", "2000", "--updates", "500", "--json"])
    for key in (
        "accounts",
        "instruments",
        "updates_per_s",
        "full_scan_updates_per_s",
        "bytes_per_account",
        "ratio",
        "revalued_per_update",
    ):
        assert key in out
    assert out["accounts"] == 2000
    assert out["instruments"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "no-such-preset"], "scenario: 'no-such-preset' is neither"),
        (["run", "missing.toml"], "scenario: no such file"),
    ],
)
def test_bad_scenario_is_a_clear_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_numbers_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["bench", "book", "--messages", "0"])
    assert stop.value.code == 2
    assert "must be an integer >= 1" in capsys.readouterr().err


def test_bench_calibrate_times_one_batch_on_one_and_two_threads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from deleverage.scenarios import load_preset

    argv = ["bench", "calibrate", "--runs", "3", "--preset", "default-hour", "--scale", "0.3"]
    out = _json(capsys, [*argv, "--json"])
    world = load_preset("default-hour").scaled(0.3)
    assert out["runs"] == 3
    assert out["accounts"] == world.total_accounts
    assert out["steps"] == world.clock.steps
    assert out["same_values"] is True
    assert out["runs_per_s_1"] == pytest.approx(1.0 / out["seconds_per_run_1"])  # type: ignore[operator]
    assert out["scaling"] == pytest.approx(out["runs_per_s_2"] / out["runs_per_s_1"])  # type: ignore[operator]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scale", "0"], "scale: must be a number in (0, 1], got 0.0"),
        (["--scale", "1.5"], "scale: must be a number in (0, 1], got 1.5"),
    ],
)
def test_bench_calibrate_rejects_a_bad_scale(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "calibrate", "--runs", "1", "--preset", "default", *argv]) == 2
    assert message in capsys.readouterr().err


def test_bench_simulate_gold_sizes() -> None:
    from deleverage.bench.simulate import bench_simulate, measure
    from deleverage.scenarios import load_preset

    r = bench_simulate(
        3000,
        steps=300,
        baseline_accounts=1500,
        memory_accounts=0,
        gold_scales=(0.004, 0.002),
        gold_threads=(1, 2),
    )
    gold = load_preset("gold-2026")
    # The smallest on one thread, the baseline, first; each size on one thread and two.
    assert [(g.scale, g.threads) for g in r.gold_runs] == [
        (0.002, 1),
        (0.002, 2),
        (0.004, 1),
        (0.004, 2),
    ]
    for one, two in zip(r.gold_runs[::2], r.gold_runs[1::2], strict=True):
        assert (one.decisions, one.messages, one.liquidations) == (
            two.decisions,
            two.messages,
            two.liquidations,
        )
    for run in r.gold_runs:
        assert run.preset == "gold-2026"
        assert run.accounts == gold.scaled(run.scale).total_accounts
        assert run.steps == gold.clock.steps
        assert run.decisions > 0
    base = r.gold_runs[0].decisions_per_s
    assert r.gold_decisions_per_s_ratios == tuple(g.decisions_per_s / base for g in r.gold_runs)
    with pytest.raises(ValueError, match="accounts, scale: give exactly one"):
        measure("gold-2026", 1000, None, 0, 0.01)
    with pytest.raises(ValueError, match="gold_threads: must be threads in"):
        bench_simulate(3000, memory_accounts=0, gold_scales=(0.002,), gold_threads=(0,))


def test_bench_simulate_rejects_bad_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "simulate", "--memory-accounts", "-1"]) == 2
    assert "memory_accounts: must be >= 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["bench", "simulate", "--accounts", "0"])
    assert stop.value.code == 2
    assert "must be an integer >= 1" in capsys.readouterr().err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "run" in text
    assert "bench" in text


GOLD_2026_KEYS = (
    "january_return",
    "crash_day_return",
    "crash_day_low_return",
    "close_vs_10d_earlier",
    "liquidated_notional",
    "long_share",
    "max_spread_ratio",
    "min_depth_ratio",
    "equity_index_crash_day_return",
    "crypto_crash_day_return",
    "leverage_after_over_peak",
    "open_interest_after_over_peak",
)


def test_run_json_carries_the_crash_day_figures(tmp_path, capsys) -> None:
    from deleverage.analysis import episode_metrics
    from deleverage.scenario import save_toml
    from deleverage.scenarios import load_preset
    from deleverage.simulate import simulate

    small = load_preset("gold-2026").scaled(0.02)
    path = tmp_path / "gold.toml"
    save_toml(small, path)
    out = _json(capsys, ["run", str(path), "--seed", "1", "--json"])
    figures = episode_metrics(simulate(small, 1))
    for key in GOLD_2026_KEYS:
        assert out[key] == pytest.approx(figures[key], rel=1e-12, nan_ok=True), key
    assert out["steps"] == 59_040
    assert main(["run", str(path), "--seed", "1", "--no-report"]) == 0
    text = capsys.readouterr().out
    assert "the crash day (day 33 of the run):" in text
    assert "january_return" in text


def test_run_on_two_threads_prints_the_same_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--json", "--seed", "2"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["run", "--json", "--seed", "2", "--threads", "2"]) == 0
    two = json.loads(capsys.readouterr().out)
    for key in ("wall_seconds", "run_seconds"):
        one.pop(key, None)
        two.pop(key, None)
    assert one == two


@pytest.mark.parametrize(("text", "shown"), [("65", "65"), ("0", "0"), ("two", "'two'")])
def test_run_rejects_bad_threads(text: str, shown: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--json", "--threads", text])
    err = capsys.readouterr().err
    assert f'--threads: must be "auto" or an integer in 1..64, got {shown}' in err
