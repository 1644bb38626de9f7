"""Every account's final state: summed by population it is the populations' table,
it survives saving, and the command line writes it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deleverage.cli import main
from deleverage.result import load_result
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate


@pytest.fixture(scope="module")
def world():  # type: ignore[no-untyped-def]
    return load_preset("crypto-cascade-2025").with_accounts(2000)


def test_account_states_add_up_to_the_populations(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = simulate(world, 2, account_states=True)
    states = result.account_states
    assert states is not None
    assert len(states) == world.total_accounts
    sim, _ = build(world, 2)
    sim.run()
    np.testing.assert_array_equal(states["cash"].to_numpy(), sim.cash)
    for i, inst in enumerate(world.instruments):
        np.testing.assert_array_equal(
            states[f"position_{inst.name}"].to_numpy(), sim.position[:, i]
        )
    by = states.groupby("population", sort=False)
    table = result.accounts
    for name, group in by:
        row = table.loc[name]
        assert len(group) == row["accounts"]
        assert group["liquidated"].sum() == row["liquidated"]
        assert group["bankrupt"].sum() == row["bankrupt"]
        assert group["equity"].sum() == pytest.approx(row["equity"], rel=1e-9)
        assert group["notional"].sum() == pytest.approx(row["notional"], rel=1e-9)
        positions = group[[f"position_{i.name}" for i in world.instruments]].to_numpy()
        assert positions.clip(min=0).sum() == row["long_lots"]
    assert states["bankrupt"].sum() == result.risk().bankrupt_accounts
    lev = states["leverage"]
    positive = states["equity"] > 0
    np.testing.assert_allclose(
        lev[positive], states.loc[positive, "notional"] / states.loc[positive, "equity"]
    )
    assert lev[~positive].isna().all()
    assert simulate(world, 2).account_states is None
    with pytest.raises(TypeError, match=r"^account_states: must be a bool"):
        simulate(world, 2, account_states=1)  # type: ignore[arg-type]
    back = load_result(result.save(tmp_path / "saved"))
    pd.testing.assert_frame_equal(back.account_states, states)


def test_run_writes_the_account_states(world, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from deleverage.scenario import save_toml

    path = tmp_path / "w.toml"
    save_toml(world, path)
    out = tmp_path / "states.csv"
    assert main(["run", str(path), "--seed", "2", "--json", "--account-states", str(out)]) == 0
    capsys.readouterr()
    written = pd.read_csv(out, index_col="account")
    assert len(written) == world.total_accounts
    assert {"population", "cash", "equity", "leverage", "liquidated", "bankrupt"} <= set(
        written.columns
    )
    bad = ["run", str(path), "--json", "--account-states", str(tmp_path / "no" / "x.parquet")]
    assert main(bad) == 2
    assert "--account-states: no such folder" in capsys.readouterr().err
