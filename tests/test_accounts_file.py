"""A snapshot of accounts joined with the generated populations of a run (accounts_file)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deleverage.data.accounts as accounts_module
from deleverage import _core
from deleverage.data import DataFileError, read_accounts
from deleverage.persist import save_result
from deleverage.result import load_result
from deleverage.scenario import PopulationChange, Scenario, load_toml, save_toml
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate


@pytest.fixture(scope="module")
def world() -> Scenario:
    base = load_preset("default-hour").replace(targets=(), quiet_window=()).with_accounts(200)
    return base.with_steps(2400)


def _snapshot(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lots = rng.integers(-20, 21, n)
    follows = rng.choice(["", "speculators", "holders"], n, p=[0.5, 0.3, 0.2])
    lots = np.where(follows == "holders", np.abs(lots), lots)
    return pd.DataFrame(
        {
            "id": rng.permutation(n).astype(np.int64) + 9_000_000,
            "cash": np.round(np.abs(lots) * 2000.0 / rng.uniform(2, 15, n) + 100.0, 2),
            "position.GOLD": lots,
            "entry_price.GOLD": np.where(lots != 0, np.round(rng.normal(2000, 10, n), 1), np.nan),
            "population": follows,
            "leverage": np.where(rng.random(n) < 0.5, 4.0, np.nan),
        }
    )


@pytest.mark.parametrize(
    ("batch_rows", "row_group", "layout"),
    [
        (None, None, "parquet"),
        (7, 50, "parquet"),
        (64, 13, "parquet"),
        (9, 20, "ordered"),
        (11, None, "csv"),
    ],
    ids=["whole", "small-batches", "small-row-groups", "ordered-by-block", "csv"],
)
def test_the_snapshot_joins_after_the_generated_accounts_in_the_state_it_describes(
    world: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch_rows: int | None,
    row_group: int | None,
    layout: str,
) -> None:
    """Read in batches of any size (across Parquet row groups of any size), each row
    lands where the file's order and its population put it, in the state it describes;
    so too when the file lists the blocks in order (their positions then open in one
    pass) and from a CSV file."""
    if batch_rows is not None:
        monkeypatch.setattr(accounts_module, "BATCH_ROWS", batch_rows)
    frame = _snapshot(300, 1)
    if layout == "ordered":
        block = frame["population"].map({"speculators": 0, "holders": 1, "": 2})
        frame = frame.iloc[np.argsort(block.to_numpy(), kind="stable")].reset_index(drop=True)
    path = tmp_path / ("book.csv" if layout == "csv" else "book.parquet")
    if layout == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False, row_group_size=row_group)
    scenario = world.replace(accounts_file=str(path))
    sim, spec = build(scenario, seed=3)
    blocks = spec.blocks
    generated = world.total_accounts
    assert sim.cash.shape[0] == generated + len(frame)
    # Engine order: generated, then followers by population order, then holders.
    order = {"speculators": 0, "holders": 1, "": 2}
    want = frame.assign(key=frame["population"].map(order)).sort_values("key", kind="stable")
    np.testing.assert_array_equal(blocks.ids[generated:], want["id"].to_numpy())
    tick = world.instruments[0].tick_size
    # Brute force, account by account: the state the file describes.
    cash = want["cash"].to_numpy()
    lots = want["position.GOLD"].to_numpy()
    entry = want["entry_price.GOLD"].to_numpy()
    leverage = want["leverage"].to_numpy()
    follows = want["population"].to_numpy()
    value = world.instruments[0].tick_value
    for k in range(len(want)):
        a = generated + k
        assert sim.cash[a] == cash[k]
        assert sim.position[a, 0] == lots[k]
        expected = 0.0 if lots[k] == 0 else lots[k] * (entry[k] / tick) * value
        assert sim.cost[a, 0] == pytest.approx(expected, rel=1e-15, abs=0.0)
        # A speculator's own parameter is its target leverage: the row's, where given.
        if follows[k] == "speculators" and not np.isnan(leverage[k]):
            assert spec.accounts.param[a] == leverage[k]
        elif follows[k] != "speculators":
            assert spec.accounts.param[a] == 0.0  # holders and holding accounts read none
    # The generated accounts start flat, as without a snapshot.
    assert not sim.position[:generated].any()
    assert blocks.labels[-3:] == ("snapshot:speculators", "snapshot:holders", "snapshot")
    assert blocks.counts[-3:] == tuple(int((frame["population"] == x).sum()) for x in order)


def test_reading_in_batches_gives_the_table_itself(tmp_path: Path) -> None:
    """``read_accounts`` returns the file's rows in its order, whatever the batch size."""
    world = load_preset("default-hour")
    frame = _snapshot(500, 5)
    frame.to_parquet(tmp_path / "book.parquet", index=False, row_group_size=60)
    pops = [p.name for p in world.populations]
    for rows in (3, 100, 1 << 17):
        with mock.patch.object(accounts_module, "BATCH_ROWS", rows):
            book = read_accounts(tmp_path / "book.parquet", world.instruments, pops)
        np.testing.assert_array_equal(book.ids, frame["id"])
        np.testing.assert_array_equal(book.cash, frame["cash"])
        np.testing.assert_array_equal(book.position[:, 0], frame["position.GOLD"])
        np.testing.assert_array_equal(
            book.entry_price[:, 0], frame["entry_price.GOLD"].fillna(0.0).to_numpy()
        )
        names = np.array([*pops, ""], dtype=object)
        np.testing.assert_array_equal(names[book.population], frame["population"])
        np.testing.assert_array_equal(book.leverage, frame["leverage"])


#: Each kind of bad row: the column its error names, and how a clean row is spoilt.
SPOILT = {
    "missing id": ("id", {"id": None}),
    "repeated id": ("id", {}),  # the id of an earlier row
    "cash": ("cash", {"cash": -1.0}),
    "lots": ("position.GOLD", {"position.GOLD": 1.5}),
    "entry": ("entry_price.GOLD", {"entry_price.GOLD": float("nan")}),
    "mode": ("mode", {"mode": "portfolio"}),
    "two held": ("mode", {"position.INDEX": 2.0, "entry_price.INDEX": 100.0}),
    "population": ("population", {"population": "whales"}),
    "leverage": ("leverage", {"leverage": 0.0}),
    "held elsewhere": (
        "population",
        {
            "population": "cfd_retail",
            "position.GOLD": 0.0,
            "position.INDEX": 3.0,
            "entry_price.INDEX": 100.0,
        },
    ),
    "needs cross": ("mode", {"population": "macro_accounts"}),
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(2, 90),
    batch_rows=st.integers(1, 40),
    row_group=st.integers(1, 90),
    kind=st.sampled_from(sorted(SPOILT)),
    where=st.floats(0.0, 1.0),
)
def test_a_bad_row_in_any_batch_is_named_by_its_row_in_the_file(
    tmp_path: Path, n: int, batch_rows: int, row_group: int, kind: str, where: float
) -> None:
    base = load_preset("gold-2026").replace(targets=(), quiet_window=(), episode=None)
    world = base.with_accounts(200)
    row = 2 + min(n - 2, int(where * (n - 1)))  # 2..n: a repeat needs an earlier row
    frame = pd.DataFrame(
        {
            "id": pd.array(np.arange(n) * 7 + 100, dtype="Int64"),
            "cash": np.full(n, 1e4),
            "position.GOLD": np.ones(n),
            "entry_price.GOLD": np.full(n, 2000.0),
            "position.INDEX": np.zeros(n),
            "entry_price.INDEX": np.full(n, np.nan),
            "mode": np.full(n, "isolated", dtype=object),
            "population": np.where(np.arange(n) % 3 == 0, "cfd_retail", ""),
            "leverage": np.full(n, np.nan),
        }
    )
    column, changes = SPOILT[kind]
    for name, value in changes.items():
        frame.loc[row - 1, name] = value
    earlier = (row - 1) // 2 + 1
    if kind == "repeated id":
        frame.loc[row - 1, "id"] = frame.loc[earlier - 1, "id"]
    path = tmp_path / f"book-{kind.replace(' ', '-')}.parquet"
    frame.to_parquet(path, index=False, row_group_size=row_group)
    spoilt = world.replace(accounts_file=str(path))
    with (
        mock.patch.object(accounts_module, "BATCH_ROWS", batch_rows),
        pytest.raises(DataFileError, match=rf"column '{column}', row {row}: ") as err,
    ):
        build(spoilt, seed=0)
    if kind == "repeated id":
        assert f"repeats row {earlier}" in str(err.value)


@pytest.mark.parametrize("batch_rows", [None, 16])
def test_a_run_with_a_snapshot_keeps_its_ids_and_conserves_money(
    world: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_rows: int | None
) -> None:
    if batch_rows is not None:  # the positions open over many calls
        monkeypatch.setattr(accounts_module, "BATCH_ROWS", batch_rows)
    frame = _snapshot(400, 2)
    frame["cash"] = np.round(frame["cash"] / 3, 2)  # leveraged: some will be liquidated
    frame.to_csv(tmp_path / "book.csv", index=False)
    scenario = world.replace(accounts_file=str(tmp_path / "book.csv"))
    result = simulate(scenario, seed=1, account_states=True)
    assert result.conservation_error < 1e-9
    states = result.account_states
    assert states is not None
    snap_rows = states[states["id"].notna()]
    assert sorted(snap_rows["id"].astype(np.int64)) == sorted(frame["id"])
    assert set(snap_rows["population"]) == {"snapshot", "snapshot:speculators", "snapshot:holders"}
    log = result.liquidations
    mine = log[log["population"].str.startswith("snapshot")]
    assert len(mine) > 0
    assert mine["id"].notna().all()
    assert set(mine["id"].astype(np.int64)) <= set(frame["id"])
    assert log.loc[~log["population"].str.startswith("snapshot"), "id"].isna().all()
    # Accounts that only hold never trade: their position changes only by liquidation.
    holds = states[states["population"] == "snapshot"]
    start = frame.set_index("id").loc[holds["id"].astype(np.int64), "position.GOLD"].to_numpy()
    end = holds["position_GOLD"].to_numpy()
    liquidated = holds["liquidated"].to_numpy()
    np.testing.assert_array_equal(end[~liquidated], start[~liquidated])
    assert {"snapshot", "snapshot:speculators"} <= set(result.leverage.columns)
    assert result.accounts.loc["snapshot", "accounts"] == int((frame["population"] == "").sum())


def test_the_same_snapshot_and_seed_give_the_same_run_and_it_reproduces_from_its_folder(
    world: Scenario, tmp_path: Path
) -> None:
    _snapshot(200, 3).to_parquet(tmp_path / "book.parquet", index=False)
    scenario = world.replace(accounts_file=str(tmp_path / "book.parquet"))
    a = simulate(scenario, seed=5)
    b = simulate(scenario, seed=5)
    pd.testing.assert_frame_equal(a.series, b.series)
    folder = save_result(a, tmp_path / "run")
    (tmp_path / "book.parquet").unlink()
    again = simulate(load_result(folder).scenario, seed=5)
    pd.testing.assert_frame_equal(again.series, a.series)
    pd.testing.assert_frame_equal(again.liquidations, a.liquidations)


def test_money_is_counted_once_every_position_is_open(world: Scenario) -> None:
    """Positions opened over several calls: the conserved money is taken at the last."""
    sim, _ = build(world, seed=0)
    generated = world.total_accounts
    lots = np.array([[5], [-3]], dtype=np.int64)
    entry = np.full((2, 1), 20000.0)  # ticks
    sim.open_positions(generated - 2, lots[:1], entry[:1], more=True)
    assert sim.conservation_error() > 0  # not yet taken: the open position moved the count
    sim.open_positions(generated - 1, lots[1:], entry[1:])
    assert sim.conservation_error() == 0.0
    assert sim.position[generated - 2 :, 0].tolist() == [5, -3]


@pytest.mark.parametrize("ordered", [True, False])
def test_a_file_that_changes_while_it_is_read_is_refused(
    world: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ordered: bool
) -> None:
    """The positions are read again once the engine holds the accounts: a file
    rewritten in between is an error, not a state it never described."""
    import deleverage.simulate as simulate_module

    frame = _snapshot(120, 6)
    if ordered:
        frame["population"] = ""
    path = tmp_path / "book.parquet"
    frame.to_parquet(path, index=False)
    build_engine = simulate_module.simulation

    def rewritten(data: Any) -> Any:
        changed = frame.copy()
        changed.loc[5, "position.GOLD"] = frame.loc[5, "position.GOLD"] + 1
        changed.loc[5, "entry_price.GOLD"] = 2000.0
        changed.to_parquet(path, index=False)
        return build_engine(data)

    monkeypatch.setattr(simulate_module, "simulation", rewritten)
    with pytest.raises(DataFileError, match="the file changed while it was read"):
        build(world.replace(accounts_file=str(path)), seed=0)


def test_a_toml_names_its_accounts_file_relative_to_itself(world: Scenario, tmp_path: Path) -> None:
    _snapshot(50, 4).to_parquet(tmp_path / "book.parquet", index=False)
    save_toml(world.replace(accounts_file="book.parquet"), tmp_path / "s.toml")
    loaded = load_toml(tmp_path / "s.toml")
    assert loaded.accounts_file == str(tmp_path / "book.parquet")
    assert simulate(loaded, seed=0).steps_done == world.clock.steps


def test_a_follower_of_another_instrument_is_refused(tmp_path: Path) -> None:
    base = load_preset("gold-2026").replace(targets=(), quiet_window=())
    pop = base.populations[0]
    other = next(i.name for i in base.instruments if i.name != pop.instrument)
    pd.DataFrame(
        {
            "id": [1, 2],
            "cash": [1e4, 1e4],
            f"position.{other}": [0, 3],
            f"entry_price.{other}": [None, 100.0],
            "population": ["", pop.name],
        }
    ).to_parquet(tmp_path / "book.parquet", index=False)
    with pytest.raises(DataFileError, match=rf"row 2: an isolated account following '{pop.name}'"):
        build(base.replace(accounts_file=str(tmp_path / "book.parquet")), seed=0)


def test_followers_change_with_the_population_they_follow(world: Scenario, tmp_path: Path) -> None:
    """A population's scheduled change reaches the snapshot's block that follows it
    (and no other block), with the same parameters from the same step."""
    _snapshot(300, 4).to_csv(tmp_path / "book.csv", index=False)
    k = next(i for i, p in enumerate(world.populations) if p.name == "speculators")
    change = PopulationChange(600, {"threshold": 0.002}, activity=3.0)
    pops = list(world.populations)
    pops[k] = dataclasses.replace(pops[k], changes=(change,))
    scenario = world.replace(populations=tuple(pops), accounts_file=str(tmp_path / "book.csv"))
    _, data = build(scenario, seed=0)
    specs = data.spec.populations
    followers = [
        len(world.populations) + j
        for j, spec in enumerate(specs[len(world.populations) :])
        if spec.strategy == _core.Strategy.speculator
    ]
    assert len(followers) == 1
    changes = data.spec.population_changes
    assert [(c.step, c.population) for c in changes] == [(600, k), (600, followers[0])]
    for c in changes:
        assert c.params.threshold == 0.002
        assert c.activity == pytest.approx(3.0 * world.clock.dt / 3600.0)
