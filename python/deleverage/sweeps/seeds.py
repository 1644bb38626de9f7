"""Per-run seeds: run ``k`` of a sweep with seed ``s`` simulates with ``run_seed(s, k)``.

The seed is the state of ``numpy.random.SeedSequence(s).spawn(...)[k]``, computed
directly (a spawned child is ``SeedSequence(s, spawn_key=(k,))``) so it depends
only on the sweep's seed and the run id: not on the executor, the number of
workers, the order runs finish in, or which runs a resumed sweep skips. Every
row of a sweep can therefore be re-run alone with ``simulate(scenario, seed)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import numpy as np

__all__ = ["MAX_SEED", "SeedPlan", "check_seed", "run_seed"]

#: ``simulate`` takes seeds in 0..MAX_SEED.
MAX_SEED = 2**63 - 1


def check_seed(field: str, value: object) -> int:
    """An integer in 0..2**63-1 (not a bool); the error names ``field``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{field}: must be an integer in 0..2**63-1, got {type(value).__name__}")
    n = int(value)
    if not 0 <= n <= MAX_SEED:
        raise ValueError(f"{field}: must be in 0..2**63-1, got {n}")
    return n


def run_seed(sweep_seed: int, run: int) -> int:
    """The simulation seed of run ``run`` (>= 0) of the sweep seeded ``sweep_seed``."""
    sweep_seed = check_seed("seed", sweep_seed)
    run = check_seed("run", run)
    child = np.random.SeedSequence(sweep_seed, spawn_key=(run,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


class SeedPlan:
    """How many seeds each parameter point gets, and which.

    ``seeds`` an int n >= 1: n runs per point, run k simulating with
    ``run_seed(sweep_seed, k)`` (a fresh stream for every run). ``seeds`` a
    sequence of ints: one run per listed seed at every point, the same list at
    each point (common random numbers: points differ only by their parameters).
    """

    def __init__(self, seeds: int | Sequence[int], sweep_seed: int = 0) -> None:
        self.sweep_seed = check_seed("seed", sweep_seed)
        self.explicit: tuple[int, ...] | None
        if isinstance(seeds, Integral) and not isinstance(seeds, bool):
            if int(seeds) < 1:
                raise ValueError(f"seeds: must be >= 1 seeds per point, got {int(seeds)}")
            self.per_point = int(seeds)
            self.explicit = None
        elif isinstance(seeds, (Sequence, np.ndarray)) and not isinstance(seeds, (str, bytes)):
            items = tuple(check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds))
            if not items:
                raise ValueError("seeds: the list of seeds must be non-empty, got []")
            self.per_point = len(items)
            self.explicit = items
        else:
            raise TypeError(
                f"seeds: must be a count >= 1 or a list of ints, got {type(seeds).__name__}"
            )

    def seed(self, run: int) -> int:
        """The simulation seed of run ``run``."""
        if self.explicit is not None:
            return self.explicit[run % self.per_point]
        return run_seed(self.sweep_seed, run)

    def describe(self) -> dict[str, object]:
        """What a stored sweep records, to refuse resuming with other seeds."""
        return {
            "seeds": list(self.explicit) if self.explicit is not None else self.per_point,
            "seed": self.sweep_seed,
        }
