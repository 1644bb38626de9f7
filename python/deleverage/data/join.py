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

The file is read a batch at a time, never whole: its population column first
(the size of each block), then every column, each batch's rows checked and
written straight to their places in the engine's account columns; and once the
engine holds the accounts, their positions open block by block from the
position columns read again (in one pass when the file lists the blocks in
order, else one per block), so no copy of the positions waits beside the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from deleverage.data.accounts import AccountsFile
from deleverage.data.tables import DataFileError

if TYPE_CHECKING:
    from deleverage.engine_spec import Accounts
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
    """Every account of a run as the engine takes them: the generated ones, then the
    snapshot's in engine order (``accounts``); ``open(sim)`` opens the snapshot's
    positions in the built simulation."""

    accounts: Accounts
    specs: list[Any]  # the engine's PopulationSpec of each block
    follows: tuple[int | None, ...]  # the scenario population each block follows (None: holds)
    blocks: AccountBlocks
    book: AccountsFile
    first: int  # the snapshot's first engine account
    sizes: tuple[int, ...]  # rows of each block (the followers of each population, then none)
    ordered: bool  # the file lists the blocks' rows in engine order
    ticks: np.ndarray  # each instrument's tick size
    checksum: int  # of the positions and entry prices as first read (_checksum)

    def open(self, sim: Any) -> None:
        """Open the snapshot's positions in ``sim`` (a ``_core.Simulation`` built from
        ``accounts``, not yet run), account by account in engine order."""
        ni = len(self.ticks)
        if self.book.held:
            starts = [self.first + sum(self.sizes[:k]) for k in range(len(self.sizes))]
            cursor = list(starts)
            passes: list[int | None] = [None]
            if not self.ordered:
                passes = [k for k, n in enumerate(self.sizes) if n]
            checksum = 0
            for only in passes:
                for row, key, position, entry in self.book.positions():
                    at = self.first + row
                    if only is not None:
                        pick = np.flatnonzero(key == only)
                        position, entry = position[pick], entry[pick]
                        at = cursor[only]
                        cursor[only] += len(pick)
                    if len(position):
                        checksum += _checksum(position, entry)
                        sim.open_positions(at, position, entry / self.ticks, more=True)
            if checksum % 2**64 != self.checksum or (
                not self.ordered
                and cursor != [s + n for s, n in zip(starts, self.sizes, strict=True)]
            ):
                raise DataFileError(f"{self.book.where}: the file changed while it was read")
        # The last call takes the conserved money with every position open.
        empty = np.zeros((0, ni))
        sim.open_positions(self.first, empty.astype(np.int64), empty)


def _checksum(position: np.ndarray, entry: np.ndarray) -> int:
    """A sum of the positions and of the entry prices' bits (any order of the rows
    gives the same, modulo 2^64)."""
    return int(position.sum(dtype=np.int64)) + int(entry.view(np.int64).sum(dtype=np.int64))


def _row(first: int, pick: slice | np.ndarray, mask: np.ndarray) -> int:
    """The file row (from 1) of the first true entry of ``mask`` over a batch's rows
    ``pick`` (the batch's first row is the file's ``first`` + 1)."""
    j = int(np.flatnonzero(mask)[0])
    return first + 1 + (j if isinstance(pick, slice) else int(pick[j]))


def snapshot_part(
    scenario: Scenario,
    seed: int,
    first: int,
    account_param: Callable[[Any], str | None],
    population_spec: Callable[[Any, int, int], Any],
    hold_spec: Callable[[int, int], Any],
    generated: Callable[[int], Accounts],
) -> SnapshotPart | None:
    """The scenario's accounts file laid out after ``first`` generated accounts (None
    without one). ``account_param(params)`` names the distribution of a strategy's
    per-account parameter (None: none); ``population_spec(population, first, count)``
    and ``hold_spec(first, count)`` make the engine's spec of a block;
    ``generated(extra)`` the generated accounts' columns with room for ``extra`` more."""
    if scenario.accounts_file is None:
        return None
    pops = scenario.populations
    names = [inst.name for inst in scenario.instruments]
    book = AccountsFile(scenario.accounts_file, scenario.instruments, [p.name for p in pops])
    block_sizes, ordered = book.layout()
    sizes = [int(x) for x in block_sizes]
    n = len(book)
    drawn = generated(n)
    ids = np.full(first + n, -1, dtype=np.int64)

    specs: list[Any] = []
    follows: list[int | None] = []
    generated_blocks = AccountBlocks.generated(scenario)
    labels, strategies, counts = (
        list(generated_blocks.labels),
        list(generated_blocks.strategies),
        list(generated_blocks.counts),
    )
    # Block k (followers of population k, then holders) starts at starts[k].
    starts = [first + sum(sizes[:k]) for k in range(len(sizes))]
    for k, size in enumerate(sizes):
        if size == 0:
            continue
        start = starts[k]
        drawn.population[start : start + size] = len(labels)
        if k < len(pops):
            pop = pops[k]
            spec = population_spec(pop, start, size)
            field = account_param(pop.params)
            if field is not None:
                # Drawn as the population's, on a stream of their own; a row's leverage wins.
                rng = np.random.default_rng(np.random.SeedSequence([seed, k, 1]))
                drawn.param[start : start + size] = getattr(pop.params, field).sample(rng, size)
            labels.append(f"{HOLD_LABEL}:{pop.name}")
            strategies.append(pop.strategy)
        else:
            spec = hold_spec(start, size)
            labels.append(HOLD_LABEL)
            strategies.append("hold")
        specs.append(spec)
        follows.append(k if k < len(pops) else None)
        counts.append(size)

    homes = [names.index(pop.instrument) for pop in pops]
    leverage_wins = [account_param(pop.params) == "target_leverage" for pop in pops]
    cursor = list(starts)
    checksum = 0
    for rows in book.rows():
        checksum += _checksum(rows.position, rows.entry_price)
        key = book.key(rows.population)
        present = np.flatnonzero(np.bincount(key, minlength=len(sizes)))
        for k in (int(x) for x in present):
            # This batch's rows of block k, in file order, take its next places.
            pick: slice | np.ndarray = (
                slice(None) if len(present) == 1 else np.flatnonzero(key == k)
            )
            position_k = rows.position[pick]
            m = position_k.shape[0]
            at = slice(cursor[k], cursor[k] + m)
            if cursor[k] + m > starts[k] + sizes[k]:
                raise DataFileError(f"{book.where}: the file changed while it was read")
            cursor[k] += m
            instrument = rows.instrument[pick]
            mode = rows.mode[pick]
            if k < len(pops):
                if len(pops[k].traded) > 1 and (mode == 0).any():
                    raise DataFileError(
                        f"{book.where}: column 'mode', row {_row(rows.first, pick, mode == 0)}: "
                        f"an account following "
                        f"{pops[k].name!r} trades {', '.join(pops[k].traded)}: it needs 'cross'"
                    )
                home = homes[k]
                held = position_k != 0
                flat = ~held.any(axis=1)
                elsewhere = (mode == 0) & ~flat & ~held[:, home]
                if elsewhere.any():
                    row = _row(rows.first, pick, elsewhere)
                    raise DataFileError(
                        f"{book.where}: column 'population', row {row}: an isolated account "
                        f"following {pops[k].name!r} may hold only {pops[k].instrument}"
                    )
                instrument = np.where(flat, home, instrument).astype(np.uint16)
                if leverage_wins[k]:
                    given = rows.leverage[pick]
                    mine = ~np.isnan(given)
                    drawn.param[at][mine] = given[mine]
            drawn.cash[at] = rows.cash[pick]
            drawn.instrument[at] = instrument
            drawn.mode[at] = mode
            ids[at] = rows.ids[pick]
    if cursor != [s + size for s, size in zip(starts, sizes, strict=True)]:
        raise DataFileError(f"{book.where}: the file changed while it was read")
    book.check_unique(ids[first:])
    # A CSV file's table keeps only the columns the positions are read from again.
    book.keep_positions()
    pa.default_memory_pool().release_unused()
    return SnapshotPart(
        accounts=drawn,
        specs=specs,
        follows=tuple(follows),
        blocks=AccountBlocks(tuple(labels), tuple(strategies), tuple(counts), ids),
        book=book,
        first=first,
        sizes=tuple(sizes),
        ordered=ordered,
        ticks=np.asarray([inst.tick_size for inst in scenario.instruments], dtype=np.float64),
        checksum=checksum % 2**64,
    )
