"""The ``deleverage`` command line.

Exit codes: 0 done; 1 ``validate`` ran and a target failed; 2 an error, reported in one
line ``deleverage: error: ...`` (a bad argument or spec, a file that cannot be read or
written, a full disk, a Dask scheduler that cannot be reached); 130 interrupted (Ctrl-C;
``run --keep-partial`` first saves and prints what the run had done); 141 stdout was
closed before the command finished (``deleverage run | head``), which ends it quietly.

What the package says (notes, warnings) goes through the ``deleverage`` logger, which
the command line sends to stderr: warnings by default, notes with ``-v``, details with
``-vv``, only warnings and errors (and no progress bars) with ``-q``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import re
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deleverage.data.fund_needed import FundNeeded

log = logging.getLogger("deleverage")

#: Exit codes (see the module's docstring).
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141


class CommandError(Exception):
    """An error reported as one line, its message naming the option and the path."""


def _os_error_text(err: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """``'<file>': <reason>`` for an OSError (``path`` when it names no file)."""
    name = err.filename if err.filename is not None else path
    reason = err.strerror or (os.strerror(err.errno) if err.errno else "") or str(err)
    reason = reason or type(err).__name__
    if name is None:
        return reason
    text = f"{os.fsdecode(name)!r}: {reason}"
    if err.filename2 is not None:
        text += f" ({os.fsdecode(err.filename2)!r})"
    return text


@contextlib.contextmanager
def _writing(flag: str, folder: str | os.PathLike[str]) -> Iterator[None]:
    """Report an OSError raised while writing into ``folder`` as ``flag: 'file': reason``."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as err:
        raise CommandError(f"{flag}: {_os_error_text(err, folder)}") from err


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _int_at_least(text, 1)


def _run_threads(text: str) -> int | str:
    """``--threads``: "auto" or a number of threads, 1.._core.MAX_THREADS."""
    if text == "auto":
        return text
    from deleverage import _core

    try:
        value = int(text)
    except ValueError:
        message = f'must be "auto" or an integer in 1..{_core.MAX_THREADS}, got {text!r}'
        raise argparse.ArgumentTypeError(message) from None
    if not 1 <= value <= _core.MAX_THREADS:
        message = f'must be "auto" or an integer in 1..{_core.MAX_THREADS}, got {value}'
        raise argparse.ArgumentTypeError(message)
    return value


def _count(text: str) -> int:
    return _int_at_least(text, 0)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        message = f"must be an integer in 0..2**63-1, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..2**63-1, got {value}")
    return value


def _bench_book(args: argparse.Namespace) -> int:
    from deleverage.bench.book import bench_book

    result = bench_book(
        args.messages,
        batch=args.batch,
        seed=args.seed,
        repeat=args.repeat,
        reference_messages=args.reference_messages,
        deep_book_orders=args.deep_book_orders,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    r = result
    print(f"order book: {r.messages:,} messages in batches of {r.batch:,} (seed {r.seed})")
    print(
        f"  batch API        {r.messages_per_s / 1e6:8.2f} M messages/s "
        f"(median of {args.repeat}: {r.messages_per_s_median / 1e6:.2f} M/s)"
    )
    print(
        f"  Python reference {r.reference_messages_per_s / 1e6:8.3f} M messages/s "
        f"on the first {r.reference_messages:,}"
    )
    print(f"  ratio            {r.ratio:8.0f}x")
    print(
        f"  deep book ({r.deep_book_orders:,} orders): {r.ns_per_add:.1f} ns/add, "
        f"{r.ns_per_cancel:.1f} ns/cancel, {r.ns_per_market:.1f} ns/market order"
    )
    print(
        f"  memory           {r.bytes_per_resting_order:8.1f} bytes per resting order (deep book); "
        f"{r.bytes_per_resting_order_stream_end:.1f} at the stream's end "
        f"({r.resting_orders_end:,} resting)"
    )
    print(
        f"  fills {r.fills:,}; stream generated in {r.generate_seconds:.2f} s; "
        f"wall {r.wall_seconds:.1f} s"
    )
    return 0


def _bench_simulate(args: argparse.Namespace) -> int:
    from deleverage.bench.simulate import GOLD_LARGE_SCALE, GOLD_SCALES, bench_simulate

    if args.memory_accounts < 0:
        raise ValueError(f"memory_accounts: must be >= 0, got {args.memory_accounts}")
    gold_scales = (
        () if args.no_gold else GOLD_SCALES + ((GOLD_LARGE_SCALE,) if args.gold_10m else ())
    )
    r = bench_simulate(
        args.accounts,
        preset=args.preset,
        seed=args.seed,
        steps=args.steps,
        baseline_accounts=args.baseline_accounts,
        memory_accounts=args.memory_accounts,
        memory_steps=args.memory_steps,
        gold_scales=gold_scales,
        gold_threads=tuple(args.gold_threads),
        phases=args.phases,
    )
    if args.json:
        print(json.dumps(r.to_dict()))
        return 0
    gib = 2**30
    print(f"simulation ({args.preset}, seed {args.seed}, decision kernels: {r.isa})")
    for run in r.runs:
        print(
            f"  {run.accounts:>11,} accounts x {run.steps:,} steps: wall {run.wall_seconds:7.2f} s "
            f"(run {run.run_seconds:.2f} s); {run.messages_per_s / 1e6:6.2f} M messages/s, "
            f"{run.decisions_per_s / 1e6:6.2f} M decisions/s; "
            f"peak {run.peak_rss_bytes / gib:.2f} GiB"
        )
    print(
        f"  decisions/s at {r.accounts:,} over {r.baseline_accounts:,} accounts: "
        f"{r.decisions_per_s_ratio:.2f}"
    )
    if r.memory_accounts:
        verdict = "within" if r.memory_within_limit else "OVER"
        print(
            f"  {r.memory_accounts:,} accounts: peak {r.memory_peak_rss_bytes / gib:.2f} GiB, "
            f"{verdict} the {r.memory_limit_bytes / gib:.0f} GiB budget"
        )
    if r.gold_runs:
        print(f"gold-2026 (seed {args.seed}), decisions/s over the 1/20 market's:")
    for run, ratio in zip(r.gold_runs, r.gold_decisions_per_s_ratios, strict=True):
        print(
            f"  x{run.scale:<5g} {run.accounts:>11,} accounts x {run.steps:,} steps, "
            f"{run.threads} thread{'s' if run.threads > 1 else ''}: "
            f"wall {run.wall_seconds:7.2f} s (run {run.run_seconds:.2f} s); "
            f"{run.messages_per_s / 1e6:6.2f} M messages/s, "
            f"{run.decisions_per_s / 1e6:6.2f} M decisions/s ({ratio:.2f}); "
            f"peak {run.peak_rss_bytes / gib:.2f} GiB"
        )
        if run.phase_seconds is not None:
            print(f"{'':9}{_phase_shares(run.phase_seconds)}")
    return 0


def _phase_shares(seconds: dict[str, float], top: int = 6) -> str:
    """The largest phases of a run's steps as shares of their time: ``requotes 26%, ...``."""
    total = sum(seconds.values())
    largest = sorted(seconds.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{name} {value / total:.0%}" for name, value in largest) if total else ""


def _bench_margin(args: argparse.Namespace) -> int:
    from deleverage.bench.margin import bench_margin

    result = bench_margin(tuple(args.accounts), seed=args.seed)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"margin engine (seed {args.seed}); baseline: a full scan of every account per update")
    results = result["results"]
    assert isinstance(results, list)
    for r in results:
        print(
            f"  {r['accounts']:>11,} accounts: created in {r['create_seconds']:.2f} s, "
            f"{r['bytes_per_account']:.1f} bytes/account"
        )
        print(
            f"      mark updates (no liquidation) {r['mark_updates_per_s'] / 1e6:8.1f} M/s   "
            f"full scan: C++ {r['scan_updates_per_s']:,.0f}/s, "
            f"numpy {r['numpy_scan_updates_per_s']:,.0f}/s   "
            f"(index {r['index_over_scan']:,.0f}x the C++ scan)"
        )
        print(
            f"      cascade: {r['liquidations']:,} liquidations over {r['cascade_steps']:,} "
            f"one-tick steps, {r['liquidations_per_s'] / 1e6:.2f} M/s"
        )
    return 0


def _bench_calibrate(args: argparse.Namespace) -> int:
    from deleverage.bench.calibration_batch import bench_calibration_batch

    r = bench_calibration_batch(args.runs, preset=args.preset, scale=args.scale, repeat=args.repeat)
    if args.json:
        print(json.dumps(r.to_dict()))
        return 0
    print(
        f"calibration batch: {r.runs} runs of {r.preset} at {r.scale:g} of its size "
        f"({r.accounts:,} accounts, {r.steps:,} steps), best of {r.repeat}"
    )
    print(f"  1 thread   {r.runs_per_s_1:6.2f} runs/s ({r.seconds_per_run_1:.2f} s a run)")
    print(f"  2 threads  {r.runs_per_s_2:6.2f} runs/s (scaling {r.scaling:.2f}x)")
    print(f"  same figures on both: {r.same_values}; wall {r.wall_seconds:.1f} s")
    return 0


def _bench_cross(args: argparse.Namespace) -> int:
    from deleverage.bench.cross import bench_cross

    r = bench_cross(args.accounts, updates=args.updates, seed=args.seed)
    if args.json:
        from dataclasses import asdict

        print(json.dumps(asdict(r)))
        return 0
    print(
        f"cross margin (seed {r.seed}): {r.accounts:,} accounts x {r.instruments} instruments, "
        f"{r.bytes_per_account:.1f} bytes/account, created in {r.create_seconds:.2f} s"
    )
    print(
        f"  price updates with checks {r.updates_per_s:12,.0f}/s over {r.updates:,} updates "
        f"({r.revalued_per_update:,.1f} accounts revalued per update, {r.rebases} epochs)"
    )
    print(
        f"  full revaluation          {r.full_scan_updates_per_s:12,.1f}/s (C++ scan), "
        f"{r.oracle_updates_per_s:,.2f}/s (numpy oracle on {r.oracle_accounts:,}, scaled)"
    )
    print(f"  ratio                     {r.ratio:12,.0f}x")
    return 0


def _load_scenario(spec: str):  # type: ignore[no-untyped-def]
    """The scenario ``spec`` names: a preset, or a .toml file. Errors are one line naming
    the file (and the field, for a bad value), or the presets with a close match."""
    import difflib

    from deleverage.scenario import load_toml
    from deleverage.scenarios import PRESETS, load_preset

    if spec in PRESETS:
        return load_preset(spec)
    path = Path(spec)
    if path.is_dir():
        raise ValueError(
            f"scenario: {spec!r} is a directory; give a preset name or a scenario .toml file"
        )
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise ValueError(f"scenario: no such file {spec!r}")
        kind = _spec_kind(path)
        if kind is not None:
            raise ValueError(
                f"scenario: {spec!r} is a {kind} spec, not a scenario; "
                f"run it with `deleverage {kind} {spec}`"
            )
        try:
            return load_toml(path)
        except OSError as err:
            raise CommandError(f"scenario: {_os_error_text(err, spec)}") from err
        except (ValueError, TypeError) as err:
            message = str(err)
            prefix = f"{os.fsdecode(path)}: "
            raise ValueError(message if message.startswith(prefix) else prefix + message) from None
    close = difflib.get_close_matches(spec, PRESETS, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    raise ValueError(
        f"scenario: {spec!r} is neither a .toml file nor a preset; {guess}"
        f"presets: {', '.join(PRESETS)}"
    )


def _tomllib() -> types.ModuleType:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib


def _spec_kind(path: Path) -> str | None:
    """``sweep`` or ``calibrate`` when the TOML file at ``path`` is such a spec (its
    top-level keys say so), else None (also when it cannot be parsed: the scenario
    loader reports that)."""
    tomllib = _tomllib()
    try:
        with open(path, "rb") as f:
            keys = set(tomllib.load(f))
    except (OSError, ValueError):
        return None
    if "scenario" not in keys:  # a scenario has no such key: specs name theirs
        return None
    if "parameters" in keys:
        return "calibrate"
    return "sweep" if "space" in keys else None


@contextlib.contextmanager
def _spec_errors(command: str, spec: str) -> Iterator[None]:
    """A spec's errors name its file; a scenario given as a spec says what it is."""
    path = Path(spec)
    if path.is_dir():
        raise ValueError(f"spec: {spec!r} is a directory; give the {command} spec's .toml file")
    if path.is_file():
        try:
            with open(path, "rb") as f:
                keys = set(_tomllib().load(f))
        except (OSError, ValueError):
            keys = set()
        if "scenario" not in keys and {"instruments", "populations"} & keys:
            raise ValueError(
                f"spec: {spec!r} is a scenario, not a {command} spec; run it with "
                f"`deleverage run {spec}`, or name it in a spec's `scenario` key"
            )
    try:
        yield
    except (ValueError, TypeError) as err:
        message = str(err)
        if message.startswith("spec:") or spec in message:
            raise ValueError(message) from None
        raise ValueError(f"{spec}: {message}") from None


def _with_accounts(scenario, accounts: int | None):  # type: ignore[no-untyped-def]
    """``scenario.with_accounts(accounts)``, its errors said of --accounts."""
    if accounts is None:
        return scenario
    try:
        return scenario.with_accounts(accounts)
    except ValueError as err:
        raise ValueError("--accounts: " + str(err).removeprefix("n: ")) from None


def _parse_set(items: Sequence[str] | None) -> dict[str, object]:
    """``PATH=VALUE`` options as {path: value}; a value is read as a TOML value (a
    number, true/false, a quoted string, an array, an inline table), else taken as a
    bare string."""
    tomllib = _tomllib()
    values: dict[str, object] = {}
    for item in items or ():
        path, sep, text = item.partition("=")
        path = path.strip()
        if not sep or not path:
            raise ValueError(f"--set: expected PATH=VALUE (a dotted path), got {item!r}")
        text = text.strip()
        try:
            value: object = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        if path in values:
            raise ValueError(f"--set: {path!r} is set twice")
        values[path] = value
    return values


def _apply_set(scenario, items: Sequence[str] | None):  # type: ignore[no-untyped-def]
    """``scenario`` with the --set values applied (the dotted paths of sweeps)."""
    values = _parse_set(items)
    if not values:
        return scenario
    from deleverage.sweeps.paths import apply_paths

    try:
        return apply_paths(scenario, values)
    except (ValueError, TypeError) as err:
        raise ValueError(f"--set: {err}") from None


def _default_out(scenario_name: str, seed: int) -> str:
    """``deleverage-<scenario>-seed<S>`` in the current folder, the name made safe for paths."""
    import re

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", scenario_name).strip("-.") or "scenario"
    return f"deleverage-{safe}-seed{seed}"


def _check_out(flag: str, out: str | os.PathLike[str]) -> None:
    """Check, before any work, that the folder ``out`` can be created and written: make
    it (and its missing parents), write and remove a file in it, then remove the
    folders made here, so nothing stays behind when the command fails later."""
    import tempfile

    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag}: {str(out)!r} exists and is not a folder")
    made: list[Path] = []
    probe = folder
    while not os.path.lexists(probe) and probe.parent != probe:
        made.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".deleverage-write-check-", dir=folder)
        os.close(handle)
        os.unlink(name)
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        raise CommandError(f"{flag}: {str(out)!r}: {reason}") from err
    finally:
        for path in made:  # deepest first; a folder something else wrote into stays
            try:
                path.rmdir()
            except OSError:
                break


def _check_file(flag: str, path: str) -> None:
    """The folder of ``path`` exists, so writing the file later can succeed."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"{flag}: no such folder {folder!r} for {path!r}")
    if os.path.isdir(path):
        raise ValueError(f"{flag}: {path!r} is a folder; give a file name (.parquet or .csv)")


def _save_with_report(result, out: str) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """Save ``result`` into ``out`` and write its report there: (index.html, seconds)."""
    import time

    from deleverage.report import write_report

    start = time.perf_counter()
    with _writing("--out", out):
        result.save(out)
        index = write_report(result, out)
    return str(index), time.perf_counter() - start


def _run(args: argparse.Namespace) -> int:
    from deleverage.report import headline_text
    from deleverage.report.tables import episode_text
    from deleverage.run_summary import event_text, phase_text, plain, risk_text, run_summary
    from deleverage.simulate import simulate, threads_for

    if args.no_report and args.out is not None:
        raise ValueError("--out: saves the result and its report, so it cannot go with --no-report")
    if args.out is not None:
        _check_out("--out", args.out)
    scenario = _apply_set(_with_accounts(_load_scenario(args.scenario), args.accounts), args.set)
    out = args.out
    if out is None and not args.json and not args.no_report:
        out = _default_out(scenario.name, args.seed)
        _check_out("--out", out)
    if args.account_states is not None:
        _check_file("--account-states", args.account_states)
    at: float | None = None
    if args.at is not None:
        from deleverage.dates import run_start, time_seconds

        try:
            at = time_seconds(args.at, run_start(scenario), "at")
        except ValueError as err:
            raise ValueError(f"--{err}") from None
        if not 0.0 < at < scenario.clock.duration:
            raise ValueError(
                f"--at: must be inside the run, in (0, {scenario.clock.duration:g}) seconds, "
                f"got {args.at!r}"
            )
    threads = threads_for(scenario) if args.threads == "auto" else args.threads
    log.info(
        "running %s: %s accounts, %s steps of %g s, seed %d, on %d thread%s",
        scenario.name,
        f"{scenario.total_accounts:,}",
        f"{scenario.clock.steps:,}",
        scenario.clock.dt,
        args.seed,
        threads,
        "" if threads == 1 else "s",
    )
    result = simulate(
        scenario,
        args.seed,
        progress=None if not args.json and not args.quiet else False,
        keep_partial=args.keep_partial,
        account_states=args.account_states is not None,
        threads=threads,
        time_phases=args.phases,
    )
    if not result.complete:
        log.warning(
            "interrupted after %s of %s steps; the partial result is kept",
            f"{result.steps_done:,}",
            f"{scenario.clock.steps:,}",
        )
    metrics: dict[str, Any] = dict(run_summary(result, at=at))
    if scenario.episode is not None:
        from deleverage.analysis import episode_metrics

        metrics |= plain(episode_metrics(result))
    if result.phase_seconds is not None:
        metrics["phase_seconds"] = result.phase_seconds.to_dict()
    # Saved before anything is printed: a reader that goes away (| head) loses no result.
    saved = _save_with_report(result, out) if out is not None else None
    done = 0 if result.complete else EXIT_INTERRUPTED
    if args.account_states is not None and result.account_states is not None:
        from deleverage.account_states import write_account_states

        with _writing("--account-states", os.path.dirname(args.account_states) or "."):
            write_account_states(result.account_states, args.account_states)
    if args.json:
        print(json.dumps(metrics))
        return done
    print(
        f"{scenario.name}: {metrics['accounts']:,} accounts, {metrics['steps']:,} steps "
        + ("" if result.complete else f"(interrupted; of {scenario.clock.steps:,}) ")
        + f"of {scenario.clock.dt:g} s, seed {args.seed}, {metrics['wall_seconds']:.2f} s wall"
    )
    print(event_text(result, at=at))
    print(headline_text(result, at=at))
    print("\nthe venue: insurance fund, auto-deleveraging, bad debt")
    print(risk_text(result))
    crash_day = episode_text(result)
    if crash_day is not None:
        print(f"\nthe crash day (day {scenario.episode.crash_day} of the run):")
        print(crash_day)
    print()
    print(result.accounts.to_string(float_format=lambda x: f"{x:,.2f}"))
    phases = phase_text(result)
    if phases is not None:
        print("\nwhere the run's time went (the steps' phases, wall seconds):")
        print(phases)
    if saved is not None:
        index, seconds = saved
        what = "result and report" if result.complete else "partial result and its report"
        print(f"\n{what} saved in {out} ({seconds:.2f} s); open {index}")
    return done


def _duration_text(seconds: float) -> str:
    """A simulated duration in its largest whole unit: ``1 h``, ``30 d``, ``90 s``."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _presets(args: argparse.Namespace) -> int:
    import pandas as pd

    from deleverage.scenarios import PRESETS, TYPICAL_WALL_SECONDS, load_preset

    rows: list[dict[str, Any]] = []
    for name in PRESETS:
        scenario = load_preset(name)
        wall = TYPICAL_WALL_SECONDS.get(name)
        rows.append(
            {
                "preset": name,
                "accounts": scenario.total_accounts,
                "instruments": len(scenario.instruments),
                "steps": scenario.clock.steps,
                "dt_seconds": scenario.clock.dt,
                "simulated": _duration_text(scenario.clock.duration),
                "typical_wall_seconds": wall,
                "description": scenario.description,
            }
        )
    table = pd.DataFrame(rows)
    if args.json:
        print(table.to_json(orient="records"))
        return 0
    for row in rows:
        wall = row["typical_wall_seconds"]
        print(
            f"{row['preset']}: {row['accounts']:,} accounts, {row['instruments']} instrument"
            f"{'s' if row['instruments'] > 1 else ''}, {row['steps']:,} steps of "
            f"{row['dt_seconds']:g} s ({row['simulated']} simulated)"
            + (f", about {wall:g} s to run" if wall is not None else "")
        )
        if row["description"]:
            print(f"    {row['description']}")
    print(
        "\nAccounts, steps and duration are the preset's own; run times are typical wall times "
        "on 2 cores, measured once, not now. `deleverage show NAME` prints a preset's TOML."
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    import difflib
    from importlib.resources import files

    from deleverage.scenarios import PRESETS

    if args.preset not in PRESETS:
        close = difflib.get_close_matches(args.preset, PRESETS, n=1, cutoff=0.6)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise ValueError(
            f"preset: unknown preset {args.preset!r}; {guess}presets: {', '.join(PRESETS)}"
        )
    text = files("deleverage.scenarios").joinpath(f"{args.preset}.toml").read_text("utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _report(args: argparse.Namespace) -> int:
    import time

    from deleverage.report import write_report
    from deleverage.result import load_result

    out = args.out if args.out is not None else args.result_dir
    flag = "--out" if args.out is not None else "result_dir"
    _check_out(flag, out)
    start = time.perf_counter()
    try:
        result = load_result(args.result_dir)
    except (OSError, ValueError) as err:
        message = str(err).removeprefix("path: ")
        raise ValueError(f"result_dir: {message}") from None
    with _writing(flag, out):
        index = write_report(result, out)
    print(
        f"report of {result.scenario.name} (seed {result.seed}) written in "
        f"{time.perf_counter() - start:.2f} s; open {index}"
    )
    return 0


def _counterfactual(args: argparse.Namespace) -> int:
    from deleverage.counterfactuals import DEFAULT_FACTORS, counterfactual

    if args.out is not None and not args.shapley:
        raise ValueError("--out: writes the Shapley tables and figures; it needs --shapley")
    executor, security = _executor(args)
    scenario = _apply_set(_with_accounts(_load_scenario(args.scenario), args.accounts), args.set)
    factors = tuple(args.factor) if args.factor else DEFAULT_FACTORS
    if args.shapley:
        return _shapley(args, scenario, factors, executor, security)
    with _dask_errors(args):
        result = counterfactual(
            scenario,
            factors,
            seeds=args.seeds,
            seed=args.seed,
            executor=executor,
            workers=args.workers,
            security=security,
        )
    if args.json:
        print(json.dumps(result.to_dict()["shares"]))
        return 0
    print(
        f"{scenario.name}: {scenario.total_accounts:,} accounts, {len(result.seeds)} paired "
        f"seeds, {result.instrument}; {result.wall_seconds:.1f} s wall"
    )
    print("share of the baseline explained by removing each cause (ratio of means over seeds,")
    print("bootstrap interval, seeds where removing it lowered the metric):")
    print(result.table())
    return 0


def _shapley(args: argparse.Namespace, scenario, factors, executor, security) -> int:  # type: ignore[no-untyped-def]
    from deleverage.counterfactuals import shapley

    if args.out is not None:
        _check_out("--out", args.out)
    with _dask_errors(args):
        result = shapley(
            scenario,
            factors,
            seeds=args.seeds,
            seed=args.seed,
            executor=executor,
            workers=args.workers,
            security=security,
        )
    if args.out is not None:
        with _writing("--out", args.out):
            result.save(args.out)
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(
        f"{scenario.name}: {scenario.total_accounts:,} accounts, {len(result.seeds)} paired "
        f"seeds, {result.instrument}; {2 ** len(result.factors)} worlds, {result.runs} runs, "
        f"{result.wall_seconds:.1f} s wall"
    )
    print("each cause's Shapley value (mean over seeds, bootstrap interval, share of the total);")
    print("the values add up to the total, seed by seed:")
    print(result.table())
    if args.out is not None:
        print(f"\ntables and waterfalls written in {args.out}")
    return 0


def _bench_sweep(args: argparse.Namespace) -> int:
    from deleverage.bench.sweep import bench_sweep

    r = bench_sweep(args.runs, steps=args.steps, repeat=args.repeat, dask=not args.no_dask)
    if args.json:
        print(json.dumps(r.to_dict()))
        return 0
    print(
        f"sweep: {r.runs} runs of the default-hour preset ({r.steps:,} steps, {r.accounts:,} "
        f"accounts), best of {r.repeat}"
    )
    print(f"  1 thread   {r.runs_per_s_1:8.1f} runs/s ({r.seconds_per_run_1 * 1e3:.1f} ms a run)")
    print(f"  2 threads  {r.runs_per_s_2:8.1f} runs/s (scaling {r.scaling:.2f}x)")
    if r.runs_per_s_dask is not None and r.dask_overhead is not None:
        print(
            f"  Dask, 2 worker processes {r.runs_per_s_dask:8.1f} runs/s "
            f"(overhead per run against 2 threads {r.dask_overhead:+.1%}; "
            f"same table: {r.same_table})"
        )
    print(f"  wall {r.wall_seconds:.1f} s")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    try:
        return _run_sweep(args)
    except TypeError as e:  # a spec value of the wrong type: reported like a bad value
        raise ValueError(str(e)) from None


def _run_sweep(args: argparse.Namespace) -> int:
    import time

    from deleverage.sweeps import sweep
    from deleverage.sweeps.spec import load_spec

    start = time.perf_counter()
    executor, security = _executor(args)
    with _spec_errors("sweep", args.spec):
        spec = load_spec(args.spec)
    # The spec's paths are taken from its folder; --out from the current one.
    out = os.path.abspath(args.out) if args.out is not None else str(spec.out)
    _check_out("--out" if args.out is not None else "out", out)
    said = spec.source if os.path.isabs(spec.source) else f"preset {spec.source!r}"
    if not args.quiet:
        print(f"sweep: scenario {said}; rows in {out}", file=sys.stderr, flush=True)
    with _dask_errors(args):
        table = sweep(
            spec.scenario,
            spec.space,
            seeds=spec.seeds,
            executor=executor,
            out=out,
            resume=args.resume,
            workers=args.workers,
            progress=False if args.json or args.quiet else None,
            series=spec.series,
            seed=spec.seed,
            security=security,
        )
    wall = time.perf_counter() - start
    info = table.attrs["sweep"]
    summary = {
        "runs": int(info["runs"]),
        "executed": int(info["executed"]),
        "skipped": int(info["skipped"]),
        "failed": int(info["failed"]),
        "wall_seconds": wall,
        "runs_per_s": info["executed"] / wall if wall > 0 else 0.0,
        "scenario": spec.source,
        "out": out,
    }
    if args.json:
        print(json.dumps(summary))
        return 0
    print(
        f"sweep: {summary['runs']:,} runs ({summary['executed']:,} run now, "
        f"{summary['skipped']:,} already stored), {summary['failed']:,} failed, "
        f"{wall:.1f} s wall, {summary['runs_per_s']:.1f} runs/s"
    )
    print(f"  rows in {out}/rows (read with deleverage.sweeps.read_sweep)")
    paths = list(spec.space.paths)
    ok = table[table["error"].isna()]
    if len(ok):
        by = ok.groupby(paths, sort=True, dropna=False)[["max_drawdown", "liquidations"]].mean()
        print("  mean over seeds:")
        print(by.head(30).to_string(float_format=lambda x: f"{x:,.4f}"))
    return 0


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def _miss_sides(row: dict[Any, Any]) -> str:
    """A failing target's misses by side, from its ``Validation.table`` row: the seeds
    under a finite low bound, over a finite high one, and without a figure."""
    parts = []
    if math.isfinite(row["low"]):
        parts.append(f"{row['below']} under {row['low']:.4g}")
    if math.isfinite(row["high"]):
        parts.append(f"{row['above']} over {row['high']:.4g}")
    if row["missing"]:
        parts.append(f"{row['missing']} without a figure")
    return f"{row['target']}: " + ", ".join(parts)


def _validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from deleverage.calibration import validate

    executor, security = _executor(args)
    if args.out is not None:
        _check_out("--out", args.out)
    scenario = _apply_set(_load_scenario(args.scenario), args.set)
    if args.resume and args.out is None:
        raise ValueError("--resume: needs --out, the folder of the stored runs")
    if args.before is not None:
        if args.resume:
            raise ValueError("--resume: applies to a validation alone, not with --before")
        return _validate_against(args, scenario, executor, security)
    with _dask_errors(args):
        validation = validate(
            scenario,
            args.seeds,
            out=args.out,
            resume=args.resume,
            **_validate_options(args, executor, security),
        )
    if args.out is not None:
        from deleverage.calibration.figure import validation_figure

        with _writing("--out", args.out):
            Path(args.out).mkdir(parents=True, exist_ok=True)
            validation.table().to_csv(Path(args.out) / "validation.csv", index=False)
            text = json.dumps(validation.to_dict(), indent=2)
            (Path(args.out) / "validation.json").write_text(text + "\n", encoding="utf-8")
            validation_figure(validation, Path(args.out) / "validation.png")
    if args.json:
        print(json.dumps(validation.to_dict()))
        return 0 if validation.passed else 1
    size = f", scale {args.scale:g}" if args.scale is not None else ""
    if args.keep_accounts_below:
        size += f" (populations under {args.keep_accounts_below:,} accounts kept whole)"
    stored = f" ({validation.reused} of them stored in --out)" if validation.reused else ""
    print(
        f"{validation.scenario.name}: {validation.scenario.total_accounts:,} accounts{size}, "
        f"{len(validation.seeds)} seeds{stored}, {validation.wall_seconds:.1f} s wall"
    )
    table = validation.table()

    def rng(low: float, high: float) -> str:
        if math.isnan(low):
            return "-"
        return f"[{low:.4g}, {high:.4g}]"

    seeds = [c for c in table.columns if c.startswith("seed ")]
    shown = pd.DataFrame(
        {
            "target": table["target"],
            "n": ["" if n is None or n != n else str(int(n)) for n in table["returns"]],
            "range": [rng(lo, hi) for lo, hi in zip(table["low"], table["high"], strict=True)],
            **{c.removeprefix("seed "): table[c] for c in seeds},
            "pass": [
                f"{p}/{n}" + {True: "", False: " FAIL", None: " -"}[ok]
                for p, n, ok in zip(table["passed"], table["needed"], table["ok"], strict=True)
            ],
            "value": [
                "" if v is None else f"{v}/{n}"
                for v, n in zip(table["value_passed"], table["needed"], strict=True)
            ],
        }
    )
    if all(v is None for v in table["value_passed"]):
        shown = shown.drop(columns="value")  # no fact of returns among the targets
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if "value" in shown.columns:
        print(
            "(pass: seeds in range / seeds needed; value: the same of the fair value's own "
            "path, in the same window at the same horizon)"
        )
    for seed, error in zip(validation.seeds, validation.errors, strict=True):
        if error is not None:
            print(f"seed {seed} failed: {error}")
    failures = validation.failures()
    verdict = "passes" if validation.passed else f"FAILS {len(failures)} of {len(table)} targets"
    print(f"\n{validation.scenario.name} {verdict}")
    if failures:
        within = set(validation.failures_within_chance())
        luck = [
            row
            for row in validation.pass_rates().to_dict("records")
            if row["ok"] is False and row["target"] in within
        ]
        print(
            f"{len(luck)} of them could be the seeds' luck (a world passing in exactly the "
            "share asked for would pass this rarely at least 5% of the time; more seeds "
            "decide them)"
            + (": " if luck else "")
            + ", ".join(f"{row['target']} (p {row['p_short']:.2g})" for row in luck)
        )
    driven = validation.drivers(top=1)
    if len(driven):
        print(
            "what their figures over the seeds move with (Pearson's r, Bonferroni p; the "
            "driver's values at which the line puts the target in range):"
        )
        for row in driven.to_dict("records"):
            print(
                f"  {row['target']}: {row['driver']} (r {row['r']:+.2f} over {row['seeds']} "
                f"seeds, p {row['p']:.2g}; in range at {row['driver_low']:.4g} to "
                f"{row['driver_high']:.4g})"
            )
    sides = [_miss_sides(row) for row in table.to_dict("records") if row["ok"] is False]
    if sides:
        print("where their misses fall (seeds under the range, over it):")
        for line in sides:
            print(f"  {line}")
    shared = validation.value_failures()
    if shared:
        print(
            f"{len(shared)} of them the fair value's own path misses too (a window too "
            f"short to judge them, or a value without that fact): {', '.join(shared)}"
        )
    if args.out is not None:
        print(f"table, JSON and figure in {args.out}")
    return 0 if validation.passed else 1


def _validate_options(args: argparse.Namespace, executor: Any, security: Any) -> dict[str, Any]:
    """What ``validate`` and ``compare`` take from the command line besides the seeds."""
    return {
        "scale": args.scale,
        "keep_accounts_below": args.keep_accounts_below,
        "executor": executor,
        "workers": args.workers,
        "progress": False if args.json or args.quiet else None,
        "security": security,
    }


def _validate_against(args: argparse.Namespace, after: Any, executor: Any, security: Any) -> int:
    """``validate --before``: both worlds on the same seeds against the scenario's targets."""
    from deleverage.calibration import compare

    try:
        before = _load_scenario(args.before)
    except ValueError as e:
        raise ValueError(f"--before: {str(e).removeprefix('scenario: ')}") from None
    with _dask_errors(args):
        comparison = compare(
            before, after, args.seeds, **_validate_options(args, executor, security)
        )
    if args.out is not None:
        with _writing("--out", args.out):
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            comparison.table().to_csv(out / "comparison.csv", index=False)
            (out / "comparison.md").write_text(comparison.markdown() + "\n", encoding="utf-8")
            text = json.dumps(comparison.to_dict(), indent=2)
            (out / "comparison.json").write_text(text + "\n", encoding="utf-8")
    passed = comparison.after.passed
    if args.json:
        print(json.dumps(comparison.to_dict()))
        return 0 if passed else 1
    size = f", scale {args.scale:g}" if args.scale is not None else ""
    if args.keep_accounts_below:
        size += f" (populations under {args.keep_accounts_below:,} accounts kept whole)"
    wall = comparison.before.wall_seconds + comparison.after.wall_seconds
    print(
        f"before: {args.before}, after: {args.scenario}: {after.total_accounts:,} accounts{size}, "
        f"{len(comparison.after.seeds)} seeds, {wall:.1f} s wall\n"
    )
    print(comparison.markdown())
    if args.out is not None:
        print(f"comparison (Markdown, CSV, JSON) in {args.out}")
    return 0 if passed else 1


def _calibrate(args: argparse.Namespace) -> int:
    from deleverage.calibration import calibrate, load_calibration

    executor, security = _executor(args)
    with _spec_errors("calibrate", args.spec):
        spec = load_calibration(args.spec)
    out = args.out if args.out is not None else spec.out
    if out is not None:
        _check_out("--out" if args.out is not None else "out", out)
    with _dask_errors(args):
        result = calibrate(
            spec,
            out=args.out,
            resume=args.resume,
            executor=executor,
            workers=args.workers,
            progress=False if args.json or args.quiet else None,
            security=security,
        )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(
        f"{spec.scenario.name}: {len(result.trials)} trials x {len(spec.seeds)} seeds at "
        f"scale {spec.scale:g} ({result.executed:,} runs now, {result.reused:,} stored), "
        f"{result.wall_seconds:.1f} s wall"
    )
    print(
        f"loss {result.base_loss:.4g} (base) -> {result.best_loss:.4g} (trial "
        f"{result.best_trial}); at scale {spec.final_scale:g}: {result.base_final_loss:.4g} -> "
        f"{result.best_final_loss:.4g}"
    )
    print(
        f"targets met in their share of the seeds: {result.base_met} (base) -> "
        f"{result.best_met} of {result.ranged}; at scale {spec.final_scale:g}: "
        f"{result.base_final_met} -> {result.best_final_met} (chosen by {spec.select})"
    )
    for name, value in result.best_params.items():
        print(f"  {name} = {value:.6g}")
    print(result.fit.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"best scenario, trials, fit and figure in {result.out}")
    return 0


#: The TLS options of --dask and the ``distributed.security.Security`` argument each sets.
TLS_OPTIONS = {
    "--dask-tls-ca-file": "tls_ca_file",
    "--dask-tls-cert": "tls_client_cert",
    "--dask-tls-key": "tls_client_key",
}


def _executor_arguments(parser: argparse.ArgumentParser) -> None:
    """--workers, --dask and its TLS files: where the runs of a command go."""
    parser.add_argument(
        "--workers", type=_positive_int, default=None, help="threads (default: the usable CPUs)"
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        default=None,
        help="run on the Dask scheduler at ADDRESS (tcp://HOST:PORT, or tls://HOST:PORT "
        "with the --dask-tls-* files)",
    )
    parser.add_argument(
        "--dask-tls-ca-file",
        metavar="FILE",
        default=None,
        help="the CA certificate (PEM) the scheduler's certificate is checked against",
    )
    parser.add_argument(
        "--dask-tls-cert", metavar="FILE", default=None, help="this client's certificate (PEM)"
    )
    parser.add_argument(
        "--dask-tls-key",
        metavar="FILE",
        default=None,
        help="this client's private key (PEM; not needed when it is in the --dask-tls-cert file)",
    )


def _executor(args: argparse.Namespace) -> tuple[str | None, dict[str, str] | None]:
    """(executor, security) from --workers, --dask and the --dask-tls-* files; a tls://
    address needs the files, or TLS settings in Dask's own configuration."""
    if args.dask is not None and args.workers is not None:
        raise ValueError("--workers: sizes the local thread pool; it cannot go with --dask")
    given = {flag: getattr(args, flag[2:].replace("-", "_")) for flag in TLS_OPTIONS}
    given = {flag: path for flag, path in given.items() if path is not None}
    address = args.dask
    if not given:
        if address is not None and address.startswith("tls://"):
            from deleverage.sweeps.executors import tls_configured

            with _dask_errors(args):
                configured = tls_configured()
            if not configured:
                raise ValueError(
                    f"--dask: {address!r} is a tls:// address; give --dask-tls-ca-file, "
                    "--dask-tls-cert and --dask-tls-key (the key only when it is not in the "
                    "certificate file), or set distributed.comm.tls in Dask's configuration"
                )
        return address, None
    first = next(iter(given))
    if address is None:
        raise ValueError(f"{first}: only applies with --dask")
    if not address.startswith("tls://"):
        raise ValueError(f"{first}: TLS needs a tls:// address in --dask, got {address!r}")
    for needed in ("--dask-tls-ca-file", "--dask-tls-cert"):
        if needed not in given:
            raise ValueError(f"{needed}: needed with {first}")
    for flag, path in given.items():
        if not os.path.isfile(path):
            raise ValueError(f"{flag}: no such file {path!r}")
    return address, {TLS_OPTIONS[flag]: path for flag, path in given.items()}


@contextlib.contextmanager
def _dask_errors(args: argparse.Namespace) -> Iterator[None]:
    """A scheduler that cannot be reached, or Dask not installed, said of --dask."""
    from deleverage.sweeps.executors import SchedulerConnectionError

    try:
        yield
    except SchedulerConnectionError as err:
        raise CommandError(
            f"--dask: cannot connect to the Dask scheduler at {err.address!r}: {err.reason}"
        ) from err
    except ImportError as err:
        if args.dask is None:
            raise
        raise CommandError(
            "--dask: needs dask.distributed; install it with pip install 'deleverage[dask]'"
        ) from err


def _verbosity_parser(default: object) -> argparse.ArgumentParser:
    """-q and -v, accepted before the command and after it (where ``default`` is
    SUPPRESS, so that a flag given before the command is not reset)."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="say only warnings and errors (no progress bar, no notes on stderr)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="say more on stderr: what runs (-v), and details for debugging (-vv)",
    )
    return common


def _set_argument(parser: argparse.ArgumentParser) -> None:
    """--set PATH=VALUE, repeatable: a field of the scenario changed by its dotted path."""
    parser.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        default=None,
        help="change one field of the scenario by its dotted path, as in sweeps "
        "(populations.speculators.params.max_leverage=5, insurance_fund=0); repeatable; "
        'VALUE is read as TOML (5, 0.5, true, "text", [1, 2], {kind="fixed", value=1.0})',
    )


def build_parser() -> argparse.ArgumentParser:
    from deleverage import __version__

    parser = argparse.ArgumentParser(
        prog="deleverage",
        description="Simulator of leveraged markets and their forced-deleveraging cascades. "
        "Start with `deleverage presets`, then `deleverage run NAME`; every command has "
        "--help.",
        parents=[_verbosity_parser(None)],
    )
    parser.add_argument(
        "--version", action="version", version=f"deleverage {__version__}", help="print the version"
    )
    parser.set_defaults(quiet=False, verbose=0)
    common = _verbosity_parser(argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: object) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = commands.add_parser(
            name,
            parents=[common],
            **kwargs,  # type: ignore[arg-type]
        )
        return sub

    presets = command(
        "presets",
        help="list the built-in scenarios: what each shows, its size and run time",
        description="List the built-in scenarios with their accounts, steps and simulated "
        "duration (computed from each preset) and a typical wall time (measured once on "
        "2 cores).",
    )
    presets.add_argument("--json", action="store_true", help="print the list as JSON records")
    presets.set_defaults(handler=_presets)

    show = command(
        "show",
        help="print a preset's TOML, to copy and edit",
        description="Print the TOML file of a built-in scenario, with its comments: "
        "`deleverage show default > mine.toml`, edit, then `deleverage run mine.toml`.",
    )
    show.add_argument("preset", metavar="PRESET", help="a preset name (see `deleverage presets`)")
    show.set_defaults(handler=_show)

    run = command(
        "run",
        help="run a scenario (a preset name or a .toml file) and print its headline figures",
        description="Run a scenario once and print its headline figures; save the result "
        "and its report (dashboard.png, index.html) in a folder.",
    )
    run.add_argument(
        "scenario",
        nargs="?",
        default="default",
        help="preset name or scenario .toml file (default: the built-in 'default')",
    )
    run.add_argument(
        "--accounts",
        type=_positive_int,
        default=None,
        help="scale the populations to this many accounts in total",
    )
    run.add_argument(
        "--seed", type=_seed, default=0, help="the run's seed, 0..2**63-1 (default: 0)"
    )
    _set_argument(run)
    run.add_argument(
        "--threads",
        type=_run_threads,
        default="auto",
        help="threads that share each step's work, or auto (the default: 2 where a step has "
        "a few hundred accounts due, e.g. gold-2026, and the machine 2 CPUs, else 1); "
        "the same result whatever their number",
    )
    run.add_argument(
        "--keep-partial",
        action="store_true",
        help="on Ctrl-C, keep the steps done: save and print the partial result (then exit 130)",
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print only one JSON object of headline metrics (saves nothing unless --out)",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="save the result and write its report here "
        "(default without --json: ./deleverage-<scenario>-seed<S>)",
    )
    run.add_argument(
        "--no-report", action="store_true", help="only print the figures: save nothing"
    )
    run.add_argument(
        "--account-states",
        metavar="FILE",
        default=None,
        help="also write every account's final state (cash, positions, equity, leverage, "
        "status) to FILE: Parquet, or CSV for a .csv name",
    )
    run.add_argument(
        "--at",
        metavar="TIME",
        default=None,
        help="measure the crash from TIME (seconds from the start, or a duration such as "
        "21h; for a scenario with clock.start also a UTC date-time such as "
        "'2025-10-10 21:00'); default: the scenario's crash day, else the largest drawdown",
    )
    run.add_argument(
        "--phases",
        action="store_true",
        help="time each phase of the steps and print where the run's time went (the same "
        "result; in --json as phase_seconds)",
    )
    run.set_defaults(handler=_run)

    report = command(
        "report",
        help="rebuild the report (dashboard.png, index.html) of a saved result",
        description="Load a result saved by `deleverage run` (or Result.save) and write its "
        "dashboard and HTML page.",
    )
    report.add_argument("result_dir", metavar="RESULT_DIR", help="the saved result's folder")
    report.add_argument(
        "--out", metavar="DIR", default=None, help="where to write the report (default: RESULT_DIR)"
    )
    report.set_defaults(handler=_report)

    sweep = command(
        "sweep",
        help="run a sweep described in a TOML spec (see docs/sweep.md)",
        description="Run every point of the spec's space with its seeds; rows are appended "
        "to a Parquet dataset as runs finish.",
    )
    sweep.add_argument("spec", help="the sweep's .toml spec")
    _executor_arguments(sweep)
    sweep.add_argument(
        "--resume", action="store_true", help="finish the sweep in --out, skipping stored runs"
    )
    sweep.add_argument("--out", default=None, help="dataset directory (overrides the spec's)")
    sweep.add_argument("--json", action="store_true", help="print one JSON summary object")
    sweep.set_defaults(handler=_sweep)

    cf = command(
        "counterfactual",
        help="how much of a crash each cause explains (paired runs, common random numbers)",
        description="Run a scenario and, with the same seeds, the same world with one cause "
        "removed (leverage, dealers, dealers_in_crash, arbitrage, news, margin_hikes, "
        "cross_margin, dealer_budgets, population_changes); print each cause's share of the "
        "drawdown and of the liquidated notional with 95% intervals.",
    )
    cf.add_argument("scenario", help="preset name or scenario .toml file")
    cf.add_argument("--seeds", type=_positive_int, default=20, help="paired seeds (default: 20)")
    cf.add_argument(
        "--seed", type=_seed, default=0, help="seed the runs' seeds are spawned from (default: 0)"
    )
    cf.add_argument(
        "--factor",
        action="extend",
        nargs="+",
        metavar="NAME",
        default=None,
        help="causes to remove (default: leverage dealers news margin_hikes cross_margin)",
    )
    _executor_arguments(cf)
    cf.add_argument(
        "--accounts",
        type=_positive_int,
        default=None,
        help="scale the populations to this many accounts in total",
    )
    _set_argument(cf)
    cf.add_argument("--json", action="store_true", help="print the shares as a JSON list")
    cf.add_argument(
        "--shapley",
        action="store_true",
        help="exact Shapley attribution: every subset of the factors removed (2^k worlds, "
        "k <= 6), values that add up to the whole move, with pairwise interactions",
    )
    cf.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="with --shapley: write its tables (CSV, JSON) and waterfall figures here",
    )
    cf.set_defaults(handler=_counterfactual)

    validate = command(
        "validate",
        help="check a scenario's market against its [[targets]] over seeds",
        description="Run the scenario on seeds 0..N-1 and check every target it declares "
        "(the stylized facts of its quiet window, its episode figures): a target passes when "
        "its figure lies in its range in its share of the seeds. Exits 1 when one fails.",
    )
    validate.add_argument("scenario", help="preset name or scenario .toml file")
    validate.add_argument(
        "--seeds", type=_positive_int, default=8, help="seeds 0..N-1 (default: 8)"
    )
    validate.add_argument(
        "--scale",
        type=_positive_float,
        default=None,
        help="run the whole market at this fraction of its size (Scenario.scaled)",
    )
    validate.add_argument(
        "--keep-accounts-below",
        type=_count,
        default=0,
        metavar="N",
        help="with --scale: populations of fewer than N accounts keep them all and scale their"
        " cash instead (Scenario.scaled)",
    )
    _executor_arguments(validate)
    validate.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="also write the table, JSON and a figure here, and store each seed's figures as "
        "its run finishes",
    )
    validate.add_argument(
        "--resume",
        action="store_true",
        help="reuse the runs stored in --out by a validation of the same world (scenario, scale,"
        " targets, engine) and run only the seeds they lack: --seeds 64 after --seeds 32 runs "
        "32 more",
    )
    _set_argument(validate)
    validate.add_argument(
        "--before",
        metavar="SCENARIO",
        default=None,
        help="also run this world (preset or .toml) on the same seeds against the scenario's "
        "targets, and print both side by side (a Markdown table; exit 1 if the scenario fails)",
    )
    validate.add_argument("--json", action="store_true", help="print one JSON object")
    validate.set_defaults(handler=_validate)

    calibrate = command(
        "calibrate",
        help="fit a scenario's parameters to its targets (see docs/calibration.md)",
        description="Simulated method of moments: the optimiser proposes parameters, every "
        "candidate runs on the same seeds, and the one whose figures best match the targets "
        "wins; evaluations are stored as they finish and --resume continues a stopped search.",
    )
    calibrate.add_argument("spec", help="the calibration's .toml spec")
    _executor_arguments(calibrate)
    calibrate.add_argument(
        "--resume", action="store_true", help="continue the calibration stored in --out"
    )
    calibrate.add_argument("--out", default=None, help="output folder (overrides the spec's)")
    calibrate.add_argument("--json", action="store_true", help="print one JSON summary object")
    calibrate.set_defaults(handler=_calibrate)

    bench = command(
        "bench",
        help="run a built-in benchmark",
        description="Measure the engine's rates (see the README's Benchmarks).",
    )
    suites = bench.add_subparsers(dest="suite", required=True)
    book = suites.add_parser(
        "book",
        help="order book: the standard message stream through the batch API",
        description="Replay the standard seeded message stream (60% limits within +-50 ticks "
        "of the mid, 30% cancels of live orders, 10% market orders) through the batch "
        "API, against the plain-Python reference book on a prefix.",
    )
    book.add_argument(
        "--messages", type=_positive_int, default=10_000_000, help="messages in the stream"
    )
    book.add_argument(
        "--batch", type=_positive_int, default=1 << 16, help="messages per execute() call"
    )
    book.add_argument("--seed", type=_positive_int, default=1, help="the stream's seed")
    book.add_argument(
        "--repeat", type=_positive_int, default=3, help="replays; the best and the median count"
    )
    book.add_argument(
        "--reference-messages",
        type=_positive_int,
        default=200_000,
        help="the prefix replayed through the plain-Python reference book",
    )
    book.add_argument(
        "--deep-book-orders",
        type=_positive_int,
        default=1_000_000,
        help="resting orders of the deep book timed per add, cancel and market order",
    )
    book.add_argument("--json", action="store_true", help="print one JSON object")
    book.set_defaults(handler=_bench_book)

    margin = suites.add_parser(
        "margin",
        help="margin engine: mark updates with liquidation checks, cascades",
        description="Mark updates with liquidation checks at 1M and 10M accounts, a liquidation "
        "cascade, and a full scan of every account per update as the baseline.",
    )
    margin.add_argument(
        "--accounts",
        type=_positive_int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="account counts to measure (default: 1000000 10000000)",
    )
    margin.add_argument("--seed", type=_positive_int, default=1, help="the accounts' seed")
    margin.add_argument("--json", action="store_true", help="print one JSON object")
    margin.set_defaults(handler=_bench_margin)

    simulate = suites.add_parser(
        "simulate",
        help="simulation: a day of one-second steps at 1M accounts; peak memory at 10M; "
        "gold-2026 at 1/20 and default size",
        description="The default-day world at --accounts (1M) for a day, the same world at "
        "--baseline-accounts (10k) as the baseline, and --memory-accounts (10M) over "
        "--memory-steps (an hour) for the peak memory; then gold-2026 at 1/20 of its "
        "market (the baseline) and at its default size (--gold-10m adds 10x: 10M accounts); "
        "each in its own process.",
    )
    simulate.add_argument(
        "--accounts", type=_positive_int, default=1_000_000, help="accounts of the timed run"
    )
    simulate.add_argument("--preset", default="default-day", help="the world that runs")
    simulate.add_argument("--steps", type=_positive_int, default=None, help="default: the preset's")
    simulate.add_argument("--seed", type=_seed, default=0, help="the runs' seed")
    simulate.add_argument(
        "--baseline-accounts",
        type=_positive_int,
        default=10_000,
        help="accounts of the baseline run",
    )
    simulate.add_argument(
        "--memory-accounts", type=int, default=10_000_000, help="0 skips the memory run"
    )
    simulate.add_argument(
        "--memory-steps", type=_positive_int, default=3_600, help="steps of the memory run"
    )
    simulate.add_argument(
        "--no-gold", action="store_true", help="skip the gold-2026 runs (1/20 and default size)"
    )
    simulate.add_argument(
        "--gold-threads",
        type=_positive_int,
        nargs="+",
        default=[1, 2],
        metavar="N",
        help="threads each gold-2026 size runs on (default: 1 2)",
    )
    simulate.add_argument(
        "--gold-10m",
        action="store_true",
        help="add gold-2026 at 10x its default size (10M accounts; minutes)",
    )
    simulate.add_argument(
        "--phases",
        action="store_true",
        help="time each phase of the gold-2026 runs' steps and print the largest shares "
        "(the clock reads add about 1%% at 1/20)",
    )
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    simulate.set_defaults(handler=_bench_simulate)

    sweep_bench = suites.add_parser(
        "sweep",
        help="sweeps: runs/s with 1 and 2 threads, Dask's overhead per run",
        description="A sweep of small runs of the default-hour preset with 1 and 2 worker threads, "
        "and through a Dask LocalCluster of 2 worker processes (1 thread each).",
    )
    sweep_bench.add_argument("--runs", type=_positive_int, default=192, help="runs of each sweep")
    sweep_bench.add_argument("--steps", type=_positive_int, default=3600, help="steps of each run")
    sweep_bench.add_argument(
        "--repeat", type=_positive_int, default=5, help="repeats; the best counts"
    )
    sweep_bench.add_argument("--no-dask", action="store_true", help="skip the Dask measurement")
    sweep_bench.add_argument("--json", action="store_true", help="print one JSON object")
    sweep_bench.set_defaults(handler=_bench_sweep)

    calibrate_bench = suites.add_parser(
        "calibrate",
        help="calibration: a batch of gold-2026 runs at 1/20 on 1 and 2 threads",
        description="A calibration-shaped batch: --runs seeds of --preset at --scale of its "
        "size, each a whole run with every target's figure (as deleverage validate runs "
        "them), on 1 and on 2 worker threads; runs/s and the 2-thread scaling.",
    )
    calibrate_bench.add_argument(
        "--runs", type=_positive_int, default=64, help="runs (seeds) of the batch"
    )
    calibrate_bench.add_argument("--preset", default="gold-2026", help="the world that runs")
    calibrate_bench.add_argument(
        "--scale", type=float, default=0.05, help="fraction of its size, in (0, 1]"
    )
    calibrate_bench.add_argument(
        "--repeat", type=_positive_int, default=1, help="repeats; the best counts"
    )
    calibrate_bench.add_argument("--json", action="store_true", help="print one JSON object")
    calibrate_bench.set_defaults(handler=_bench_calibrate)

    cross = suites.add_parser(
        "cross",
        help="cross margin: price updates with liquidation checks over portfolios",
        description="Price updates (a new mark for each of 3 instruments, then a liquidation "
        "check) over cross-margined portfolios on a calm path, against a full revaluation of "
        "every account per update.",
    )
    cross.add_argument(
        "--accounts", type=_positive_int, default=1_000_000, help="cross-margined accounts"
    )
    cross.add_argument("--updates", type=_positive_int, default=200_000, help="price updates timed")
    cross.add_argument("--seed", type=_positive_int, default=1, help="the accounts' seed")
    cross.add_argument("--json", action="store_true", help="print one JSON object")
    cross.set_defaults(handler=_bench_cross)
    _stress_parser(command, suites)
    return parser


# ---------------------------------------------------------------- stress

_SHOCK = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)%?$")
_BOOK_SUFFIXES = (".csv", ".parquet", ".pq")


def _shock(text: str) -> float:
    """A shock: -5% or -0.05 (a relative move)."""
    raw = text.strip()
    if not _SHOCK.match(raw):
        raise argparse.ArgumentTypeError(
            f"must be a relative move such as -5% or -0.05, got {raw!r}"
        )
    value = float(raw.rstrip("%")) / (100.0 if raw.endswith("%") else 1.0)
    if not -1.0 < value <= 10.0:
        raise argparse.ArgumentTypeError(f"must be a move in (-100%, +1000%], got {raw!r}")
    return value


def _protect_shocks(argv: Sequence[str]) -> list[str]:
    """Shocks such as -5% after --shock (or --fund-for) would read as options: a
    leading space keeps them arguments (``_shock`` strips it)."""
    out: list[str] = []
    taking = False
    for token in argv:
        if token in ("--shock", "--fund-for"):
            taking = True
        elif taking and re.match(r"-[\d.]", token):
            token = " " + token
        elif token.startswith("-"):
            taking = False
        out.append(token)
    return out


def _print_fund_needed(found: FundNeeded, *, as_json: bool) -> None:
    print(json.dumps(dataclasses.asdict(found)) if as_json else found.describe())


def _stress(args: argparse.Namespace) -> int:
    from deleverage.data.fund_needed import fund_needed, fund_needed_in_run
    from deleverage.data.stress import (
        Depth,
        describe,
        forced_trader,
        reverse_stress,
        stress,
        stress_with_agents,
    )

    is_book = Path(args.book).suffix.lower() in _BOOK_SUFFIXES
    if is_book:
        if args.scenario is None:
            raise CommandError(
                "--scenario: an accounts file needs a scenario (preset or .toml) for its "
                "instruments, margin rules and insurance fund"
            )
        world, accounts = _load_scenario(args.scenario), args.book
    else:
        world = _load_scenario(args.book)
        accounts = args.accounts if args.accounts is not None else world.accounts_file
    depth = (
        None if args.depth is None else Depth(int(args.depth[0]), int(args.depth[1]), args.depth[2])
    )
    if args.forced_to is not None and not args.with_agents:
        raise CommandError("--forced-to: needs --with-agents (the scenario's traders answer it)")
    if args.fund_needed and not args.with_agents:
        raise CommandError(
            "--fund-needed: needs --with-agents (the scenario's own run); for a book of "
            "accounts and a move, use --fund-for"
        )
    if args.with_agents:
        if accounts is not None:
            raise CommandError(
                "--with-agents: runs the scenario's own populations; an accounts file "
                "is stressed without agents (leave out --with-agents)"
            )
        if (
            args.reverse
            or args.fund_for is not None
            or args.path
            or depth is not None
            or args.over != 1
        ):
            raise CommandError(
                "--with-agents: takes --shock or --forced-to, --instrument, --at, --for and --seed"
            )
        if args.fund_needed:
            if args.forced_to is not None:
                raise CommandError("--fund-needed: give it or --forced-to, not both")
            run = fund_needed_in_run(
                world,
                instrument=args.instrument,
                target=args.target,
                seed=args.seed,
                threads=args.threads,
            )
            _print_fund_needed(run, as_json=args.json)
            return 0
        if args.forced_to is not None:
            forced = forced_trader(
                world,
                args.forced_to,
                instrument=args.instrument,
                at=args.at,
                over=args.for_seconds,
                seed=args.seed,
            )
            if args.json:
                print(json.dumps(dataclasses.asdict(forced)))
            elif forced.lots is None:
                print(
                    f"No forced {forced.side}er up to {forced.below:,} lots takes the price to "
                    f"{forced.level:g} (it reached {forced.before:g})."
                )
            else:
                print(
                    f"A forced {forced.side}er of {forced.lots:,} lots takes the price to "
                    f"{forced.reached:g} (level {forced.level:g}); {forced.below:,} lots reach "
                    f"{forced.before:g} ({forced.evaluations} runs on seed {args.seed})."
                )
            return 0
        result = stress_with_agents(
            world,
            args.shock,
            instrument=args.instrument,
            at=args.at,
            seed=args.seed,
            threads=args.threads,
        )
    else:
        if accounts is None:
            raise CommandError(
                "--accounts: stressing a scenario without agents needs its book of accounts "
                "(a .csv or .parquet file), or --with-agents for its populations"
            )
        if args.fund_for is not None:
            if args.reverse:
                raise CommandError("--fund-for: give it or --reverse, not both")
            needed = fund_needed(
                world,
                accounts,
                args.fund_for,
                args.target,
                instrument=args.instrument,
                depth=depth,
            )
            _print_fund_needed(needed, as_json=args.json)
            return 0
        if args.reverse:
            found = reverse_stress(
                world,
                accounts,
                args.reverse,
                instrument=args.instrument,
                direction="up" if args.up else "down",
                depth=depth,
                threads=args.threads,
            )
            if args.json:
                print(json.dumps(dataclasses.asdict(found)))
            else:
                print(describe(found))
            return 0
        result = stress(
            world,
            accounts,
            args.shock,
            instrument=args.instrument,
            over=args.over,
            path=args.path,
            depth=depth,
            threads=args.threads,
            keep_logs=args.out is not None,
        )
    import pandas as pd

    table = result.table
    if args.out is not None:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        result.to_parquet(out / "stress.parquet")
        import matplotlib

        matplotlib.use("Agg")
        result.plot().savefig(out / "stress.png", dpi=110)
    if args.json:
        print(json.dumps({"instrument": result.instrument, "rows": table.to_dict("records")}))
        return 0
    shown = table.assign(shock=[f"{s:+.1%}" for s in table["shock"]]).set_index("shock")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(f"stress of {result.instrument}:")
        print(shown.T.to_string(float_format=lambda x: f"{x:,.4g}"))
    if args.out is not None:
        print(f"wrote {args.out}/stress.parquet and stress.png")
    return 0


def _bench_stress(args: argparse.Namespace) -> int:
    from deleverage.bench.stress import bench_stress

    r = bench_stress(args.accounts, shocks=args.shocks, threads=args.threads, read=args.read)
    if args.json:
        print(json.dumps(dataclasses.asdict(r)))
        return 0
    print(
        f"stress grid: {r.shocks} shocks over {r.accounts:,} accounts without agents, "
        f"{r.threads} threads"
    )
    if r.read_seconds is not None:
        print(f"  read the book from Parquet   {r.read_seconds:8.2f} s")
    print(
        f"  the grid                     {r.grid_seconds:8.2f} s ({r.shocks_per_s:.2f} shocks/s, "
        f"{r.account_shocks_per_s / 1e6:.1f} M account-shocks/s)"
    )
    print(
        f"  baseline: one shock, 1 thread {r.one_shock_seconds:7.2f} s "
        f"(serial grid ~{r.one_shock_seconds * r.shocks:.1f} s; speed-up {r.speedup:.2f}x)"
    )
    print(f"  accounts liquidated at the worst shock: {r.liquidated_at_worst:,}")
    return 0


def _stress_parser(command: Any, suites: Any) -> None:
    stress = command(
        "stress",
        help="stress a book of accounts: liquidations, fund, ADL and bad debt per shock",
        description="For each shock to an instrument (at once, over --over checks, or along a "
        "recorded --path), a fresh engine holding the book: accounts liquidated and their "
        "notional, slippage of forced sales against the mark, the insurance fund's low, ADL "
        "and bad debt (docs/data.md). Without agents the book is the venue's --depth as given "
        "(none: the fund and ADL take every close); --with-agents runs the scenario's own "
        "populations around the shock. --reverse finds the smallest move that empties the fund "
        "or triggers ADL; --fund-for the smallest fund that rides out a move without either, "
        "--fund-needed (with agents) the one the scenario's own run needs.",
    )
    stress.add_argument(
        "book", help="an accounts file (.csv, .parquet), or a scenario (preset or .toml)"
    )
    stress.add_argument(
        "--scenario", default=None, help="the world of an accounts file (preset or .toml)"
    )
    stress.add_argument(
        "--accounts",
        default=None,
        help="the book of accounts of a scenario given first (default: its accounts_file)",
    )
    stress.add_argument(
        "--shock",
        nargs="+",
        type=_shock,
        default=[-0.05, -0.10, -0.20],
        help="relative moves, e.g. -5%% -10%% -20%% (default)",
    )
    stress.add_argument(
        "--instrument", default=None, help="the instrument shocked (default: the first)"
    )
    stress.add_argument(
        "--over", type=_positive_int, default=1, help="spread each move over N checks"
    )
    stress.add_argument(
        "--path", default=None, help="a recorded path (time, price) each shock follows, scaled"
    )
    stress.add_argument(
        "--depth",
        nargs=3,
        type=float,
        metavar=("LEVELS", "LOTS", "SPACING"),
        default=None,
        help="the venue's depth per instrument: levels each side, lots each, spacing (fraction)",
    )
    stress.add_argument(
        "--reverse",
        choices=("fund", "adl"),
        default=None,
        help="find the smallest move that empties the fund or triggers ADL",
    )
    stress.add_argument(
        "--up", action="store_true", help="with --reverse: moves up (default: down)"
    )
    stress.add_argument(
        "--fund-for",
        type=_shock,
        metavar="SHOCK",
        default=None,
        help="find the smallest starting fund (of the instrument's fund, its own or the "
        "venue's) with which the move SHOCK, e.g. -20%%, triggers no ADL (--target)",
    )
    stress.add_argument(
        "--target",
        choices=("adl", "fund"),
        default="adl",
        help="with --fund-for or --fund-needed: avoid ADL (default) or the fund's equity "
        "reaching zero",
    )
    stress.add_argument(
        "--fund-needed",
        action="store_true",
        help="with --with-agents: the smallest starting fund (the instrument's own or the "
        "venue's) with which the scenario's own run of --seed brings no ADL on that book",
    )
    stress.add_argument("--with-agents", action="store_true", help="run the scenario's populations")
    stress.add_argument(
        "--at", type=float, default=None, help="with --with-agents: the shock's time (s)"
    )
    stress.add_argument("--seed", type=_seed, default=0, help="with --with-agents: the runs' seed")
    stress.add_argument(
        "--forced-to",
        type=_positive_float,
        metavar="PRICE",
        default=None,
        help="with --with-agents: the size of a new forced seller (buyer) that takes the "
        "last price to PRICE",
    )
    stress.add_argument(
        "--for",
        dest="for_seconds",
        type=_positive_float,
        default=300.0,
        help="with --forced-to: seconds the forced trader sells over (default: 300)",
    )
    stress.add_argument(
        "--threads", type=_positive_int, default=2, help="shocks run at once (default: 2)"
    )
    stress.add_argument("--json", action="store_true", help="print one JSON object")
    stress.add_argument(
        "--out", metavar="DIR", default=None, help="write stress.parquet (+ log) and stress.png"
    )
    stress.set_defaults(handler=_stress)

    bench = suites.add_parser(
        "stress",
        help="stress grid: shocks over a book of accounts without agents",
        description="A grid of instantaneous shocks (-1% to -20%) over a generated book of "
        "isolated positions, each on a fresh engine, against one shock on one thread.",
    )
    bench.add_argument(
        "--accounts", type=_positive_int, default=10_000_000, help="accounts in the book"
    )
    bench.add_argument("--shocks", type=_positive_int, default=20, help="shocks in the grid")
    bench.add_argument("--threads", type=_positive_int, default=2, help="threads")
    bench.add_argument(
        "--read", action="store_true", help="also time reading the book from Parquet"
    )
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(handler=_bench_stress)


def _error(text: str) -> int:
    print(f"deleverage: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def _stdout_to_devnull() -> None:
    """Point stdout at the null device, so that the interpreter's last flush of what is
    still buffered for a closed pipe neither fails nor complains."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (captured, or closed)
        pass


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record comes (not when it was made)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _configure_logging(quiet: bool, verbose: int) -> None:
    """What the package says goes to stderr as ``deleverage: message``: warnings by
    default, also notes with -v, details with -vv, warnings only with -q."""
    level = logging.WARNING if quiet or not verbose else logging.INFO
    if verbose >= 2:
        level = logging.DEBUG
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("deleverage: %(message)s"))
    for old in [h for h in log.handlers if isinstance(h, _StderrHandler)]:
        log.removeHandler(old)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` (default: the process's arguments); return its exit code
    (see the module's docstring). Errors are one line on stderr, never a traceback."""
    args = build_parser().parse_args(_protect_shocks(sys.argv[1:] if argv is None else argv))
    _configure_logging(bool(args.quiet), int(args.verbose or 0))
    try:
        code = int(args.handler(args))
        sys.stdout.flush()  # a closed pipe is found here, not at the interpreter's exit
        return code
    except KeyboardInterrupt:
        print("deleverage: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except (ValueError, CommandError) as err:
        return _error(str(err))
    except OSError as err:  # an OSError no step handled itself: name its file
        return _error(_os_error_text(err))


if __name__ == "__main__":
    sys.exit(main())
