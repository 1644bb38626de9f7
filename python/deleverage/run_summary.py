"""What ``deleverage run`` prints of a result: one JSON object, or a few lines of text.

The JSON object keeps the first instrument's headline figures at its top level
(as it always had), and adds ``event`` (which window the crash figures
describe), ``instruments`` (every instrument's figures, by name) and ``venue``
(the insurance fund, bad debt by instrument, bankrupt accounts, and ADL over
every instrument). Values are plain JSON: NaN and infinities become null.
Times are seconds from the start; a dated run (``clock.start``) adds ``start``,
``event.date``, ``event.end_date`` and ``venue.insurance_fund_low_date`` as ISO
8601 UTC date-times.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deleverage.result import Result

__all__ = ["RUN_KEYS", "event_text", "plain", "risk_text", "run_summary"]

#: Figures of the run as a whole, kept at the top level only.
RUN_KEYS: tuple[str, ...] = ("wall_seconds", "accounts", "steps", "event_time")


def plain(value: Any) -> Any:
    """``value`` with numpy scalars made Python numbers and NaN/inf made None, recursively."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def run_summary(result: Result, *, at: float | str | None = None) -> dict[str, Any]:
    """The figures of ``result`` as one JSON-ready object (see the module's docstring)."""
    from deleverage.dates import run_start, time_label
    from deleverage.risk import VENUE_KEYS

    names = [inst.name for inst in result.scenario.instruments]
    per = {name: result.metrics(name, at=at) for name in names}
    event = result.event(at)
    risk = result.risk()
    venue: dict[str, Any] = {key: per[names[0]][key] for key in VENUE_KEYS}
    venue |= {
        "adl_events": risk.adl_events,
        "adl_accounts": risk.adl_accounts,
        "adl_notional": risk.adl_notional,
        "bad_debt_by_instrument": risk.bad_debt_by_instrument,
        "insurance_fund_low_time": risk.fund_low_time,
    }
    run_wide = {*VENUE_KEYS, *RUN_KEYS}
    instruments = {
        name: {k: v for k, v in m.items() if k not in run_wide} for name, m in per.items()
    }
    out: dict[str, Any] = dict(per[names[0]])
    out |= {
        "scenario": result.scenario.name,
        "seed": result.seed,
        "event": event.as_dict(),
        "instruments": instruments,
        "venue": venue,
    }
    start = run_start(result)
    if start is not None:  # a dated run: its start and the times above as UTC date-times
        out["start"] = start.isoformat()
        out["event"] |= {
            "date": time_label(event.time, start).isoformat(),
            "end_date": time_label(event.end_time, start).isoformat(),
        }
        venue["insurance_fund_low_date"] = time_label(risk.fund_low_time, start).isoformat()
    return plain(out)  # type: ignore[no-any-return]


def _clock(seconds: float, result: Result | None = None) -> str:
    """Seconds from the start as ``[day N ]HH:MM:SS``, or as a UTC date-time
    ``YYYY-MM-DD HH:MM:SS`` for a dated run."""
    from deleverage.dates import run_start, time_text

    return time_text(seconds, run_start(result))


SOURCES = {
    "at": "the time asked for",
    "episode": "the scenario's crash day",
    "drawdown": "the largest drawdown",
    "middle": "the run's middle (no fall)",
}


def event_text(result: Result, *, at: float | str | None = None) -> str:
    """One line: which window the crash figures describe."""
    event = result.event(at)
    where = f" of {event.instrument}" if event.instrument else ""
    return (
        f"crash figures measured from {_clock(event.time, result)} to "
        f"{_clock(event.end_time, result)} "
        f"({SOURCES[event.source]}{where}; depth and spread against the time before it)"
    )


def risk_text(result: Result) -> str:
    """The insurance fund, ADL, bad debt and bankrupt accounts as aligned lines."""
    r = result.risk()
    rows = [
        ("insurance fund at the start", f"{r.fund_start:,.2f}"),
        (
            "insurance fund lowest",
            f"{r.fund_low:,.2f}"
            + (f" at {_clock(r.fund_low_time, result)}" if r.fund_low_time else ""),
        ),
        ("insurance fund at the end", f"{r.fund_end:,.2f}"),
        ("insurance fund drawdown", f"{r.fund_drawdown:.2%}"),
        ("ADL events", f"{r.adl_events:,}"),
        ("accounts auto-deleveraged", f"{r.adl_accounts:,}"),
        ("ADL notional", f"{r.adl_notional:,.2f}"),
        ("bad debt", f"{r.bad_debt:,.2f}"),
        *(
            (f"  bad debt on {name}", f"{value:,.2f}")
            for name, value in r.bad_debt_by_instrument.items()
            if len(r.bad_debt_by_instrument) > 1
        ),
        ("bankrupt accounts", f"{r.bankrupt_accounts:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v:>18}" for k, v in rows)


def phase_text(result: Result) -> str | None:
    """Where the run's time went (``simulate(..., time_phases=True)``): each phase of
    the steps with its seconds and share, largest first; None for a run not timed."""
    seconds = result.phase_seconds
    if seconds is None:
        return None
    total = float(seconds.sum())
    rows = [
        (str(name), f"{value:.3f} s", f"{value / total:.1%}" if total > 0 else "")
        for name, value in seconds.sort_values(ascending=False, kind="stable").items()
    ]
    rows.append(("the steps in all", f"{total:.3f} s", ""))
    width = max(len(name) for name, _, _ in rows)
    return "\n".join(f"{n:<{width}}  {s:>10}  {p:>6}" for n, s, p in rows)
