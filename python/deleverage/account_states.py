"""The final state of every account, for joins with a user's own data.

``simulate(scenario, seed, account_states=True)`` keeps it as
``Result.account_states``; ``deleverage run --account-states FILE`` writes it
as Parquet (or CSV for a ``.csv`` name). One row per account (index
``account``, the engine's id), in the engine's own numbers at the run's last
marks:

- population, strategy: who the account is;
- cash: money (after fees, realized PnL, and negative-balance protection);
- ``position_<instrument>``: lots held in each instrument (longs > 0);
- equity: cash plus unrealized PnL at the marks; notional: gross exposure at
  the marks; leverage: notional over equity (NaN when equity <= 0);
- liquidated, bankrupt: whether a liquidation reached the account, and whether
  its equity was below zero when one did.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from deleverage import _core
    from deleverage.data.join import AccountBlocks
    from deleverage.scenario import Scenario

__all__ = ["account_states", "account_values", "write_account_states"]


def account_values(
    scenario: Scenario, sim: _core.Simulation
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per account at the run's last marks: cash, positions (lots), equity, gross
    notional and status bits (1 liquidated, 2 bankrupt)."""
    cash = sim.cash
    position = sim.position
    marks = sim.marks.astype(np.float64)
    tick_value = np.array([inst.tick_value for inst in scenario.instruments])
    value = position * marks * tick_value
    equity = cash + (value - sim.cost).sum(axis=1)
    notional = np.abs(value).sum(axis=1)
    return cash, position, equity, notional, sim.status


def account_states(
    scenario: Scenario, sim: _core.Simulation, blocks: AccountBlocks | None = None
) -> pd.DataFrame:
    """Every account's final state (see the module's docstring). ``blocks``: the
    engine's blocks of accounts (default: the scenario's populations alone); with a
    snapshot of accounts, an ``id`` column holds each snapshot account's own id."""
    from deleverage.data.join import AccountBlocks

    if blocks is None:
        blocks = AccountBlocks.generated(scenario)
    cash, position, equity, notional, status = account_values(scenario, sim)
    population = np.repeat(np.array(blocks.labels, dtype=object), blocks.counts)
    strategy = np.repeat(np.array(blocks.strategies, dtype=object), blocks.counts)
    frame = pd.DataFrame(
        {"population": population, "strategy": strategy, "cash": cash},
        index=pd.RangeIndex(len(cash), name="account"),
    )
    if blocks.ids is not None:
        ids = pd.Series(blocks.ids, index=frame.index, dtype="Int64").mask(blocks.ids < 0)
        frame.insert(0, "id", ids)
    for i, inst in enumerate(scenario.instruments):
        frame[f"position_{inst.name}"] = position[:, i]
    frame["equity"] = equity
    frame["notional"] = notional
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["leverage"] = np.where(equity > 0, notional / equity, np.nan)
    frame["liquidated"] = (status & 1) != 0
    frame["bankrupt"] = (status & 2) != 0
    return frame


def write_account_states(states: pd.DataFrame, path: str | Path) -> Path:
    """Write ``states`` to ``path``: CSV for a ``.csv`` name, else Parquet."""
    out = Path(path)
    if out.suffix.lower() == ".csv":
        states.to_csv(out)
    else:
        states.to_parquet(out, engine="pyarrow")
    return out
