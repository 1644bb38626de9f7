"""Where a calibration's (or a validation's) runs go: one JSON line per run, appended
as it finishes.

Layout of ``out`` for a calibration::

    out/calibration.json     what the calibration is (its digest), to refuse mixing two
    out/evaluations.jsonl    one line per (stage, trial, seed) run: params, figures, error

and for a validation (``validate(..., out=...)``), beside its table and figure::

    out/validation-runs.json   what the validation is (its digest)
    out/validation-runs.jsonl  one line per seed: figures, the value's figures, error

Each line is written whole and flushed to disk before the next run is
recorded, so a calibration or validation killed at any moment loses at most the
runs that were still executing; a line cut short by the kill is ignored on reading.
Reading it back gives ``resume`` every finished run, keyed by (stage, trial, seed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["EvaluationStore", "Key"]

MANIFEST = "calibration.json"
LOCK = ".lock"
EVALUATIONS = "evaluations.jsonl"
FORMAT = 1

#: Per kind of store: its manifest and its lines.
FILES = {
    "calibration": (MANIFEST, EVALUATIONS),
    "validation": ("validation-runs.json", "validation-runs.jsonl"),
}

#: What differs when a stored digest is not the one asked for.
DIFFERENT = {
    "calibration": "a different calibration (its scenario, parameters, targets, seeds, "
    "sampler or scales differ)",
    "validation": "a different validation (its scenario, scale, data files, targets or "
    "engine differ)",
}

#: (stage, trial, seed): stage is "base", "search" or "final"; the base is trial -1.
#: A validation's runs are ("validate", -1, seed).
Key = tuple[str, int, int]


class EvaluationStore:
    """The evaluations of one calibration (or, with ``kind="validation"``, of one
    validation) in ``out``."""

    def __init__(self, out: str | os.PathLike[str], kind: str = "calibration") -> None:
        if kind not in FILES:
            raise ValueError(f"kind: must be one of {', '.join(FILES)}, got {kind!r}")
        self.out = Path(out)
        self.kind = kind
        self.manifest = self.out / FILES[kind][0]
        self.path = self.out / FILES[kind][1]
        self._lock: int | None = None

    def _acquire(self) -> None:
        """Hold the folder for this calibration (or validation) alone: a second one
        (another process, or another thread of this one) is refused rather than
        interleaved. The operating system drops the lock with the process, so a killed
        run never leaves it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - no advisory locks on this platform
            return
        fd = os.open(self.out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ValueError(
                f"out: {str(self.out)!r} is in use by another {self.kind} running now"
            ) from None
        self._lock = fd

    def close(self) -> None:
        """Release the folder."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def open(self, digest: str, resume: bool) -> dict[Key, dict[str, Any]]:
        """Start (or, with ``resume``, continue) the calibration or validation ``digest`` here and
        return the runs already stored; the folder stays held until ``close``."""
        if self.out.exists() and not self.out.is_dir():
            raise ValueError(f"out: {str(self.out)!r} exists and is not a folder")
        self.out.mkdir(parents=True, exist_ok=True)
        self._acquire()
        try:
            return self._open(digest, resume)
        except BaseException:
            self.close()
            raise

    def _open(self, digest: str, resume: bool) -> dict[Key, dict[str, Any]]:
        manifest = self.manifest
        self._drop_partial_line()
        stored = self.read() if self.path.exists() else {}
        if stored and not resume:
            raise ValueError(
                f"out: {str(self.out)!r} already holds a {self.kind}'s runs; pass "
                "resume=True (--resume) to continue it, or choose another folder"
            )
        if stored and manifest.exists():
            before = json.loads(manifest.read_text(encoding="utf-8")).get("digest")
            if before != digest:
                raise ValueError(
                    f"out: {str(self.out)!r} holds {DIFFERENT[self.kind]}; cannot resume it"
                )
        tmp = manifest.with_name(f".{manifest.name}.tmp")
        tmp.write_text(json.dumps({"format": FORMAT, "digest": digest}), encoding="utf-8")
        os.replace(tmp, manifest)
        return stored

    def _drop_partial_line(self) -> None:
        """Cut a last line a kill left unfinished, so appends start on a line of their own."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def read(self) -> dict[Key, dict[str, Any]]:
        """Every complete line, keyed by (stage, trial, seed) (a repeated key keeps the last)."""
        rows: dict[Key, dict[str, Any]] = {}
        if not self.path.exists():
            return rows
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # cut short by a kill: that run is simply run again
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                rows[(row["stage"], int(row["trial"]), int(row["seed"]))] = row
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Write one run's line and flush it to disk."""
        line = json.dumps(row, allow_nan=True) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
