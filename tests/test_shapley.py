"""Shapley attribution: the arithmetic against brute force over every order of the
causes, a set function with known additive and interacting parts, and a small
simulation where the values add up to the whole move."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage.cli import main
from deleverage.counterfactuals import cap_leverage, no_news, shapley
from deleverage.counterfactuals.shapley_values import interaction_indices, shapley_values
from deleverage.scenarios import load_preset
from deleverage.simulate import simulate


def _v(values: list[float], k: int):  # type: ignore[no-untyped-def]
    """The set function over frozensets of causes 0..k-1 (bit i of the index: i in S)."""
    return {frozenset(i for i in range(k) if m >> i & 1): values[m] for m in range(1 << k)}


def _permutation_average(v: dict[frozenset[int], float], k: int) -> list[float]:
    """Each cause's marginal contribution averaged over every order of adding them."""
    total = [0.0] * k
    orders = list(itertools.permutations(range(k)))
    for order in orders:
        present: set[int] = set()
        for i in order:
            before = v[frozenset(present)]
            present.add(i)
            total[i] += v[frozenset(present)] - before
    return [t / len(orders) for t in total]


def _interaction_by_definition(v: dict[frozenset[int], float], k: int, i: int, j: int) -> float:
    rest = [x for x in range(k) if x not in (i, j)]
    out = 0.0
    for r in range(len(rest) + 1):
        for s in itertools.combinations(rest, r):
            S = frozenset(s)
            w = math.factorial(r) * math.factorial(k - r - 2) / math.factorial(k - 1)
            out += w * (v[S | {i, j}] - v[S | {i}] - v[S | {j}] + v[S])
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda k: st.tuples(
            st.just(k),
            st.lists(st.floats(-1e6, 1e6), min_size=1 << k, max_size=1 << k),
        )
    )
)
def test_shapley_values_against_every_order(case: tuple[int, list[float]]) -> None:
    k, values = case
    v = _v(values, k)
    phi = shapley_values(np.array(values))
    scale = 1.0 + max(abs(x) for x in values)
    np.testing.assert_allclose(phi, _permutation_average(v, k), rtol=0, atol=1e-9 * scale)
    # Efficiency: they add up to the whole move from no cause to every cause.
    assert phi.sum() == pytest.approx(values[-1] - values[0], abs=1e-9 * scale)
    inter = interaction_indices(np.array(values))
    for i, j in itertools.combinations(range(k), 2):
        assert inter[i, j] == pytest.approx(
            _interaction_by_definition(v, k, i, j), abs=1e-9 * scale
        )
        assert inter[j, i] == inter[i, j]


def test_known_additive_and_interacting_causes() -> None:
    """v(S) = c + sum a_i + sum b_ij over the causes present: each cause's value is its
    own part plus half of each interaction it takes part in; the indices are the b_ij."""
    rng = np.random.default_rng(5)
    k = 4
    c = 3.0
    a = rng.normal(size=k)
    b = np.triu(rng.normal(size=(k, k)), 1)
    b[0, 3] = 0.0  # two causes that simply add up
    values = []
    for m in range(1 << k):
        s = [i for i in range(k) if m >> i & 1]
        values.append(c + sum(a[i] for i in s) + sum(b[i, j] for i in s for j in s if i < j))
    phi = shapley_values(np.array(values))
    sym = b + b.T
    np.testing.assert_allclose(phi, a + sym.sum(axis=1) / 2, atol=1e-12)
    inter = interaction_indices(np.array(values))
    np.testing.assert_allclose(inter, sym, atol=1e-12)
    assert inter[0, 3] == pytest.approx(0.0, abs=1e-12)


def test_trailing_axes_are_seeds() -> None:
    v = np.random.default_rng(1).normal(size=(8, 5, 2))
    phi = shapley_values(v)
    assert phi.shape == (3, 5, 2)
    for s in range(5):
        np.testing.assert_allclose(phi[:, s, 1], shapley_values(v[:, s, 1]), atol=1e-15)
    with pytest.raises(ValueError, match=r"^v: needs 2\*\*k rows"):
        shapley_values(np.zeros(6))


@pytest.fixture(scope="module")
def small():  # type: ignore[no-untyped-def]
    return load_preset("default-hour").with_accounts(400)


def test_simulated_values_add_up_to_the_whole_move(small) -> None:  # type: ignore[no-untyped-def]
    r = shapley(small, ["leverage", "news"], seeds=[3, 11], workers=1, resamples=200)
    assert r.runs == 8
    for m, label in (("max_drawdown", "drawdown"), ("liquidated_notional", "liquidation")):
        base = [simulate(small, s).metrics()[m] for s in r.seeds]
        none = [simulate(no_news(cap_leverage(small)), s).metrics()[m] for s in r.seeds]
        only_leverage = [simulate(no_news(small), s).metrics()[m] for s in r.seeds]
        v = r.values
        assert v.loc["baseline", f"{label}_value"] == pytest.approx(np.mean(base), rel=1e-12)
        assert v.loc["none", f"{label}_value"] == pytest.approx(np.mean(none), rel=1e-12)
        worlds = r.worlds.set_index(["world", "seed"])[m]
        assert [worlds[("no news", s)] for s in r.seeds] == only_leverage
        # Efficiency, seed by seed and on average.
        phi = r.per_seed[m]
        np.testing.assert_allclose(
            phi.sum(axis=0), np.array(base) - np.array(none), rtol=1e-12, atol=1e-12
        )
        total = v.loc["total", f"{label}_value"]
        assert v.loc[["leverage", "news"], f"{label}_value"].sum() == pytest.approx(
            total, rel=1e-12, abs=1e-12
        )
        assert total == pytest.approx(np.mean(base) - np.mean(none), rel=1e-12, abs=1e-12)
        for f in ("leverage", "news"):
            row = v.loc[f]
            assert row[f"{label}_low"] <= row[f"{label}_value"] <= row[f"{label}_high"]
    assert set(r.interactions["metric"]) == {"max_drawdown", "liquidated_notional"}
    assert bool(r.values.loc["news", "changed"])


def test_limits_are_named(small) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"^factors: 3 factors make 8 worlds"):
        shapley(small, ["leverage", "news", "dealers"], seeds=2, max_factors=2)
    with pytest.raises(ValueError, match=r"^max_factors: must be in"):
        shapley(small, ["leverage"], seeds=2, max_factors=11)
    with pytest.raises(ValueError, match=r"^seeds: an interval needs at least 2"):
        shapley(small, ["leverage"], seeds=1)


def test_cli_shapley(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from deleverage.scenario import save_toml

    path = tmp_path / "w.toml"
    save_toml(load_preset("default-hour").with_accounts(300), path)
    out = tmp_path / "shap"
    argv = ["counterfactual", str(path), "--shapley", "--factor", "leverage", "news"]
    argv += ["--seeds", "2", "--workers", "1", "--json", "--out", str(out)]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["factor"]: row for row in data["values"]}
    assert rows["leverage"]["drawdown_value"] + rows["news"]["drawdown_value"] == pytest.approx(
        rows["total"]["drawdown_value"], rel=1e-12, abs=1e-12
    )
    for name in ("shapley.csv", "interactions.csv", "shapley_max_drawdown.png"):
        assert (out / name).is_file()
    assert main(["counterfactual", str(path), "--out", str(out)]) == 2
    assert "--out: writes the Shapley tables" in capsys.readouterr().err
