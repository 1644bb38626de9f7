"""The command line as a newcomer meets it: --version, presets, show, run --set and
--keep-partial, one-line errors naming the file and the field, help texts, -q/-v."""

from __future__ import annotations

import _thread
import argparse
import dataclasses
import importlib.metadata
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import deleverage
import deleverage.simulate as simulate_module
from deleverage.cli import build_parser, main
from deleverage.result import load_result
from deleverage.scenario import Distribution, from_toml_str
from deleverage.scenarios import PRESETS, load_preset
from deleverage.simulate import simulate

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESET_DIR = Path(deleverage.__file__).parent / "scenarios"


def _error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deleverage: error: "), err
    return lines[0].removeprefix("deleverage: error: ")


def _json_out(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- --version, presets, show


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"deleverage {importlib.metadata.version('deleverage')}\n"


def test_presets_lists_each_presets_size_from_its_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["presets", "--json"]) == 0
    rows = {row["preset"]: row for row in _json_out(capsys)}
    files = sorted(p.stem for p in PRESET_DIR.glob("*.toml"))
    assert sorted(rows) == files
    for name in files:
        # The oracle: the TOML itself, read without the package's loader.
        raw = tomllib.loads((PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8"))
        clock = raw.get("clock", {})
        assert rows[name]["accounts"] == sum(p["accounts"] for p in raw["populations"])
        assert rows[name]["instruments"] == len(raw["instruments"])
        assert rows[name]["steps"] == clock.get("steps", 3600)
        assert rows[name]["dt_seconds"] == clock.get("dt", 1.0)
        assert rows[name]["description"] == raw.get("description", "")
    assert main(["presets"]) == 0
    text = capsys.readouterr().out
    assert "default: 1,354 accounts, 1 instrument, 32,400 steps of 1 s (9 h simulated)" in text
    assert "default-hour: 1,354 accounts, 1 instrument, 3,600 steps of 1 s (1 h simulated)" in text
    assert "typical wall times" in text


def test_show_prints_the_presets_file(capsys: pytest.CaptureFixture[str]) -> None:
    for name in PRESETS:
        assert main(["show", name]) == 0
        out = capsys.readouterr().out
        assert out == (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert from_toml_str(out) == load_preset(name)


def test_show_an_unknown_preset_suggests_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "defualt"]) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith("preset: unknown preset 'defualt'; did you mean 'default'? presets: ")


# ---------------------------------------------------------------- run --set


def test_run_set_changes_the_fields_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = [
        "run",
        "default-hour",
        "--out",
        str(out),
        "--json",
        "--set",
        "populations.speculators.params.max_leverage=3",
        "--set",
        "insurance_fund=0.0",
        "--set",
        'populations.noise.cash={kind = "fixed", value = 7000.0}',
        "--set",
        "name=capped",
    ]
    assert main(args) == 0
    metrics = _json_out(capsys)
    # The oracle: the same world built by hand.
    base = load_preset("default-hour")
    pops = list(base.populations)
    spec = pops[0]
    assert spec.name == "speculators"
    pops[0] = dataclasses.replace(spec, params=dataclasses.replace(spec.params, max_leverage=3.0))
    noise = next(i for i, p in enumerate(pops) if p.name == "noise")
    pops[noise] = dataclasses.replace(pops[noise], cash=Distribution.fixed(7000.0))
    world = base.replace(name="capped", populations=tuple(pops), insurance_fund=0.0)
    expected = simulate(world, 0, progress=False).metrics()
    expected.pop("wall_seconds")
    # --json also carries the event, every instrument and the venue: compare the headline.
    assert {k: metrics[k] for k in expected} == pytest.approx(expected, rel=0, abs=0)
    assert load_result(out).scenario == world


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("clock.steps", "--set: expected PATH=VALUE (a dotted path), got 'clock.steps'"),
        ("=3", "--set: expected PATH=VALUE (a dotted path), got '=3'"),
        (
            "populations.speculators.params.max_leverag=3",
            "--set: populations.speculators.params.max_leverag: unknown field 'max_leverag' at "
            "'populations.speculators.params'; valid: fast_horizon, slow_horizon, threshold, "
            "target_leverage, max_leverage, short_fraction, trade_fraction, vol_target, "
            "vol_horizon; did you mean 'max_leverage'?",
        ),
        (
            "populations.speculators.params.max_leverage=0.5",
            "--set: populations.speculators.params.max_leverage: must be in [1.0, 10000.0], "
            "got 0.5",
        ),
        (
            "clock.steps=ten",
            "--set: clock.steps: must be an integer, got str",
        ),
    ],
)
def test_run_set_errors_name_the_path(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--no-report", "--set", value]) == 2
    assert _error_line(capsys.readouterr().err) == message


# ---------------------------------------------------------------- --keep-partial


def test_keep_partial_saves_the_steps_done_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build = simulate_module.build

    def build_then_interrupt(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        # Ctrl-C once the engine runs (the C++ loop checks for it every 256 steps): a
        # tenth of a second into a run of about a second, so it lands inside the loop
        # however loaded the machine (a run of 0.3 s was over before a 0.3 s timer).
        threading.Timer(0.1, _thread.interrupt_main).start()
        return built

    monkeypatch.setattr(simulate_module, "build", build_then_interrupt)
    out = tmp_path / "partial"
    code = main(
        ["run", "default-day", "--accounts", "300000", "--keep-partial", "--out", str(out), "-q"]
    )
    captured = capsys.readouterr()
    assert code == 130
    saved = load_result(out)
    steps = saved.scenario.clock.steps
    assert 0 < saved.steps_done < steps
    assert (out / "index.html").is_file()
    assert f"{saved.steps_done:,} of {steps:,} steps; the partial result is kept" in captured.err
    assert "partial result and its report saved in" in captured.out
    # The kept steps are the full run's prefix, bit for bit.
    monkeypatch.setattr(simulate_module, "build", build)
    short = simulate(saved.scenario.with_steps(saved.steps_done), 0, progress=False)
    assert np.array_equal(saved.series.to_numpy(), short.series.to_numpy(), equal_nan=True)


# ---------------------------------------------------------------- one-line errors


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_scenario_errors_name_the_file_and_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    default = (PRESET_DIR / "default.toml").read_text(encoding="utf-8")
    cases = {
        # A directory, a sweep spec and a calibration spec say what they are.
        str(tmp_path): f"scenario: {str(tmp_path)!r} is a directory; give a preset name "
        "or a scenario .toml file",
        _write(
            tmp_path / "sweep.toml", 'scenario = "default"\n[space.grid]\n"clock.dt" = [1.0]\n'
        ): f"scenario: {str(tmp_path / 'sweep.toml')!r} is a sweep spec, not a scenario; "
        f"run it with `deleverage sweep {tmp_path / 'sweep.toml'}`",
        _write(
            tmp_path / "cal.toml",
            'scenario = "default"\n[parameters.a]\npath = "clock.dt"\nlow = 1\nhigh = 2\n',
        ): f"scenario: {str(tmp_path / 'cal.toml')!r} is a calibrate spec, not a scenario; "
        f"run it with `deleverage calibrate {tmp_path / 'cal.toml'}`",
        # TOML syntax: the file and the line.
        _write(tmp_path / "syntax.toml", 'name = "x"\nclock = {\n'): (
            f"{tmp_path / 'syntax.toml'}: TOML syntax error: "
        ),
        # An unknown key: the file, its path, the valid names and a close match.
        _write(tmp_path / "typo.toml", default.replace("[clock]", "[clok]", 1)): (
            f"{tmp_path / 'typo.toml'}: clok: unknown field; valid: name, instruments, "
            "populations, clock, policy, insurance_fund, adl, description, correlation, "
            "close_order, liquidation_orders, episode, quiet_window, targets, accounts_file, "
            "fund_covers, liquidation_priority, order_from, requote; "
            "did you mean 'clock'?"
        ),
        # A bad value: the file and the dotted path of the field.
        _write(tmp_path / "value.toml", default.replace("steps = 32_400", "steps = 0", 1)): (
            f"{tmp_path / 'value.toml'}: clock.steps: must be in [1, 100000000], got 0"
        ),
        "defualt": "scenario: 'defualt' is neither a .toml file nor a preset; did you mean "
        f"'default'? presets: {', '.join(PRESETS)}",
    }
    for scenario, message in cases.items():
        assert main(["run", scenario, "--no-report"]) == 2, scenario
        line = _error_line(capsys.readouterr().err)
        assert line.startswith(message), (line, message)
    assert "line 2" in _syntax_line(tmp_path / "syntax.toml", capsys)


def _syntax_line(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["run", str(path), "--no-report"]) == 2
    return _error_line(capsys.readouterr().err)


def test_accounts_errors_name_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--accounts", "3", "--no-report"]) == 2
    assert _error_line(capsys.readouterr().err) == (
        "--accounts: must be >= 8 (4 market makers and one account for each of 4 other "
        "populations), got 3"
    )
    assert main(["counterfactual", "default", "--accounts", "3"]) == 2
    assert _error_line(capsys.readouterr().err).startswith("--accounts: must be >= 8")


# ---------------------------------------------------------------- help


def _parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_option_is_explained_and_help_renders_cleanly() -> None:
    parsers = _parsers(build_parser())
    assert {"deleverage presets", "deleverage show", "deleverage bench book"} <= {
        prog for prog, _ in parsers
    }
    for prog, parser in parsers:
        text = parser.format_help()
        assert "%%" not in text, prog
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{prog}: {action.option_strings or action.dest} has no help"


def test_counterfactual_help_names_every_builtin_factor() -> None:
    from deleverage.counterfactuals import FACTORS

    parser = dict(_parsers(build_parser()))["deleverage counterfactual"]
    text = " ".join(parser.format_help().split())
    for name in FACTORS:
        assert name in text, name


# ---------------------------------------------------------------- -q / -v and the logger


def test_the_library_logger_is_silent_by_default() -> None:
    logger = logging.getLogger("deleverage")
    assert any(isinstance(h, logging.NullHandler) for h in logger.handlers)


def test_verbose_says_what_runs_and_quiet_says_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["-v", "run", "--json", "--set", "clock.steps=30000"]) == 0
    err = capsys.readouterr().err
    said = "deleverage: running default: 1,354 accounts, 30,000 steps of 1 s, seed 0, on 1 thread"
    assert err == said + "\n"
    assert main(["run", "-vv", "--json", "--set", "clock.steps=30000"]) == 0
    err = capsys.readouterr().err
    assert "deleverage: default: built 1354 accounts in" in err
    assert main(["run", "--json", "--set", "clock.steps=30000"]) == 0
    assert capsys.readouterr().err == ""
    assert main(["-q", "run", "--json", "--set", "clock.steps=30000"]) == 0
    assert capsys.readouterr().err == ""
    with pytest.raises(SystemExit):
        main(["-q", "-v", "run"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_spec_errors_name_the_spec_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _write(tmp_path / "s.toml", 'scenario = "default"\nseds = 3\n')
    assert main(["sweep", spec]) == 2
    assert _error_line(capsys.readouterr().err) == (
        f"{spec}: seds: unknown key; expected one of scenario, out, seeds, seed, series, set, "
        "space; did you mean 'seeds'?"
    )
    world = str(PRESET_DIR / "default.toml")
    for command in ("sweep", "calibrate"):
        assert main([command, world]) == 2
        assert _error_line(capsys.readouterr().err) == (
            f"spec: {world!r} is a scenario, not a {command} spec; run it with "
            f"`deleverage run {world}`, or name it in a spec's `scenario` key"
        )
    assert main(["sweep", str(tmp_path)]) == 2
    assert _error_line(capsys.readouterr().err) == (
        f"spec: {str(tmp_path)!r} is a directory; give the sweep spec's .toml file"
    )


@pytest.mark.parametrize("command", ["validate", "counterfactual"])
def test_set_applies_to_validate_and_counterfactual_too(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "default", "--set", "insurance_fund=-1"]) == 2
    assert _error_line(capsys.readouterr().err) == (
        "--set: insurance_fund: must be in [0.0, 1e+18], got -1.0"
    )
