"""A snapshot of accounts joined with the generated populations of a run.

The engine numbers accounts block by block: the scenario's populations first
(as generated), then the snapshot's accounts grouped by the population they
follow (in the scenario's order, each group in file order), then those that
only hold. Each snapshot group is a block of its own with its population's
strategy and parameters; holders are a block that never trades.
``AccountBlocks`` names the blocks for the result's tables
(``<population>`` for generated ones, ``snapshot:<population>`` and
``snapshot`` for the snapshot's) and maps every engine account back to the
snapshot's own id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from deleverage.data.accounts import AccountSnapshot, read_accounts
from deleverage.data.tables import DataFileError

if TYPE_CHECKING:
    from deleverage.scenario import Scenario

#: The label of the snapshot's accounts that follow no population.
HOLD_LABEL = "snapshot"


@dataclass(frozen=True)
class AccountBlocks:
    """The engine's blocks of accounts: label, strategy and size of each, and, with a
    snapshot, each engine account's id in it (-1 for generated accounts)."""

    labels: tuple[str, ...]
    strategies: tuple[str, ...]
    counts: tuple[int, ...]
    ids: np.ndarray | None = None

    @classmethod
    def generated(cls, scenario: Scenario) -> AccountBlocks:
        pops = scenario.populations
        return cls(
            tuple(p.name for p in pops),
            tuple(p.strategy for p in pops),
            tuple(p.accounts for p in pops),
        )

    def label_of(self, accounts: np.ndarray) -> np.ndarray:
        """The block label of each engine account id ("" past the last)."""
        names = np.array([*self.labels, ""], dtype=object)
        ends = np.cumsum(self.counts)
        return names[np.searchsorted(ends, np.asarray(accounts, dtype=np.int64), side="right")]

    def id_of(self, accounts: np.ndarray) -> np.ndarray:
        """The snapshot id of each engine account id (-1 for generated ones)."""
        assert self.ids is not None
        return self.ids[np.asarray(accounts, dtype=np.int64)]


@dataclass(frozen=True)
class SnapshotPart:
    """The snapshot's accounts as the engine takes them, in engine order."""

    snapshot: AccountSnapshot
    order: np.ndarray
    cash: np.ndarray
    param: np.ndarray
    instrument: np.ndarray
    mode: np.ndarray
    population: np.ndarray
    specs: list[Any]  # the engine's PopulationSpec of each block
    blocks: AccountBlocks

    def entry_ticks(self, scenario: Scenario) -> np.ndarray:
        ticks = [inst.tick_size for inst in scenario.instruments]
        return np.ascontiguousarray(self.snapshot.entry_ticks(ticks)[self.order])

    def position(self) -> np.ndarray:
        return np.ascontiguousarray(self.snapshot.position[self.order])


def snapshot_part(
    scenario: Scenario,
    seed: int,
    first: int,
    account_param: Callable[[Any], str | None],
    population_spec: Callable[[Any, int, int], Any],
    hold_spec: Callable[[int, int], Any],
) -> SnapshotPart | None:
    """The scenario's accounts file laid out after ``first`` generated accounts (None
    without one). ``account_param(params)`` names the distribution of a strategy's
    per-account parameter (None: none); ``population_spec(population, first, count)``
    and ``hold_spec(first, count)`` make the engine's spec of a block."""
    if scenario.accounts_file is None:
        return None
    pops = scenario.populations
    snap = read_accounts(scenario.accounts_file, scenario.instruments, [p.name for p in pops])
    names = [inst.name for inst in scenario.instruments]
    key = np.where(snap.population < 0, len(pops), snap.population).astype(np.int64)
    order = np.argsort(key, kind="stable")
    sizes = np.bincount(key, minlength=len(pops) + 1)
    param = np.zeros(len(snap))
    instrument = snap.instrument.copy()
    population = np.zeros(len(snap), dtype=np.uint16)
    specs: list[Any] = []
    generated = AccountBlocks.generated(scenario)
    labels, strategies, counts = (
        list(generated.labels),
        list(generated.strategies),
        list(generated.counts),
    )
    start = first
    at = 0
    for k in range(len(pops) + 1):
        n = int(sizes[k])
        if n == 0:
            continue
        rows = order[at : at + n]
        block = len(labels)
        population[at : at + n] = block
        if k < len(pops):
            pop = pops[k]
            home = names.index(pop.instrument)
            held = snap.position[rows] != 0
            flat = ~held.any(axis=1)
            elsewhere = (snap.mode[rows] == 0) & ~flat & ~held[:, home]
            if elsewhere.any():
                row = int(rows[np.flatnonzero(elsewhere)[0]]) + 1
                raise DataFileError(
                    f"accounts {scenario.accounts_file!r}: column 'population', row {row}: an "
                    f"isolated account following {pop.name!r} may hold only {pop.instrument}"
                )
            instrument[rows[flat]] = home
            spec = population_spec(pop, start, n)
            field = account_param(pop.params)
            if field is not None:
                # Drawn as the population's, on a stream of their own; a row's leverage wins.
                rng = np.random.default_rng(np.random.SeedSequence([seed, k, 1]))
                drawn = getattr(pop.params, field).sample(rng, n)
                given = snap.leverage[rows]
                param[at : at + n] = (
                    np.where(np.isnan(given), drawn, given) if field == "target_leverage" else drawn
                )
            labels.append(f"{HOLD_LABEL}:{pop.name}")
            strategies.append(pop.strategy)
        else:
            spec = hold_spec(start, n)
            labels.append(HOLD_LABEL)
            strategies.append("hold")
        specs.append(spec)
        counts.append(n)
        start += n
        at += n
    ids = np.concatenate([np.full(first, -1, dtype=np.int64), snap.ids[order]])
    return SnapshotPart(
        snapshot=snap,
        order=order,
        cash=snap.cash[order],
        param=param,
        instrument=instrument[order],
        mode=snap.mode[order],
        population=population,
        specs=specs,
        blocks=AccountBlocks(tuple(labels), tuple(strategies), tuple(counts), ids),
    )
