"""``clock.start``: the UTC date-time of a run's first step.

Given as a TOML date-time with its offset (``start = 2025-12-28T00:00:00Z``), an
ISO 8601 string with its offset (``"2025-12-28T00:00:00+01:00"``) or a
timezone-aware ``datetime`` (a ``pandas.Timestamp`` is one). Any offset is
converted to UTC and the start is kept, and saved, in UTC. A date-time without
an offset, or a bare date, is an error: it names no instant.
"""

from __future__ import annotations

import datetime as _dt

__all__ = ["check_start"]

_EXAMPLE = "e.g. 2025-12-28T00:00:00Z"


def check_start(value: object, name: str = "start") -> _dt.datetime | None:
    """``value`` as an aware ``datetime`` in UTC (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{name}: not an ISO 8601 date-time with a UTC offset ({_EXAMPLE}), got {value!r}"
            ) from None
        value = parsed
    if not isinstance(value, _dt.datetime):
        kind = "a date without a time" if isinstance(value, _dt.date) else type(value).__name__
        raise TypeError(
            f"{name}: must be a date-time with a UTC offset ({_EXAMPLE}), got {kind} {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"{name}: must give its UTC offset ({_EXAMPLE}; Z for UTC), "
            f"got the local date-time {value.isoformat()}"
        )
    to_pydatetime = getattr(value, "to_pydatetime", None)  # a pandas Timestamp
    if callable(to_pydatetime):
        value = to_pydatetime()
    assert isinstance(value, _dt.datetime)
    utc = value.astimezone(_dt.timezone.utc)
    return _dt.datetime(
        utc.year,
        utc.month,
        utc.day,
        utc.hour,
        utc.minute,
        utc.second,
        utc.microsecond,
        tzinfo=_dt.timezone.utc,
    )
