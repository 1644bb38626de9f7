"""The sweep's progress bar: runs done (resumed ones counted from the start),
runs failed, and tqdm's estimate of the time left.

Shown on a terminal by default and silent otherwise (logs and CI stay clean),
unless asked for explicitly.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["Progress"]


class Progress:
    def __init__(self, total: int, done: int, show: bool | None, desc: str = "sweep") -> None:
        self.failed = 0
        self.bar: Any = None
        if show if show is not None else sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, unit="run", desc=desc, dynamic_ncols=True)
            self.bar.set_postfix(failed=0, refresh=False)

    def update(self, failed: bool) -> None:
        if failed:
            self.failed += 1
        if self.bar is not None:
            if failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
