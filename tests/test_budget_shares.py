"""``Population.budget_shares``: each instrument's share of a cross account's
budget.

The sizing oracle (an allocator's first position on each instrument from its
share of the cash) is in test_opening_target.py; here: the checks on both sides
of the engine's boundary, equal shares given explicitly against none given
(bit for bit), the TOML round trip, and the cross-margin counterfactual that
splits a portfolio by its shares.
"""

from __future__ import annotations

import dataclasses as dc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deleverage import engine_spec
from deleverage.counterfactuals.factors import isolate_cross_margin
from deleverage.scenario import Distribution, Population, Scenario, from_toml_str, to_toml_str
from deleverage.scenarios import load_preset
from deleverage.simulate import build, simulate


def _with_shares(world: Scenario, name: str, shares: tuple[float, ...]) -> Scenario:
    pops = tuple(
        dc.replace(p, budget_shares=shares) if p.name == name else p for p in world.populations
    )
    return world.replace(populations=pops)


@pytest.fixture(scope="module")
def gold() -> Scenario:
    """gold-2026 at a hundredth, its first 5,000 minutes, with macro_accounts
    (gold, the index and bitcoin on one account) splitting their budget equally."""
    world = load_preset("gold-2026").scaled(0.01).with_steps(5000)
    return _with_shares(world, "macro_accounts", ())


def _replaced(spec: Any, **fields: object) -> Any:
    """An engine spec struct with some fields changed (they are read-only)."""
    return type(spec)(**{f: getattr(spec, f) for f in spec.fields} | fields)


def _macro(world: Scenario) -> Population:
    return next(p for p in world.populations if p.name == "macro_accounts")


def test_no_shares_split_the_budget_equally_bit_for_bit(gold: Scenario) -> None:
    assert _macro(gold).traded == ("GOLD", "INDEX", "BTC")
    assert _macro(gold).budget_shares == ()
    third = 1.0 / 3.0
    given_equal = _with_shares(gold, "macro_accounts", (third, third, third))
    a, b = simulate(gold, 4), simulate(given_equal, 4)
    assert np.array_equal(a.series.to_numpy(), b.series.to_numpy(), equal_nan=True)
    assert a.accounts.equals(b.accounts)
    # Not a run the macro book leaves alone: another split changes it.
    other = simulate(_with_shares(gold, "macro_accounts", (0.5, 0.25, 0.25)), 4)
    assert not other.accounts.equals(a.accounts)


def _macro_peaks(world: Scenario, seed: int) -> np.ndarray:
    """The largest position macro_accounts hold together in each instrument over a run."""
    sim, _ = build(world, seed)
    macro = _macro(world)
    first = sum(p.accounts for p in world.populations[: world.populations.index(macro)])
    peak = np.zeros(len(world.instruments), dtype=np.int64)

    def look(_: int) -> None:
        held = np.asarray(sim.position).reshape(-1, len(world.instruments))
        np.maximum(peak, held[first : first + macro.accounts].sum(axis=0), out=peak)

    sim.run(look)
    return peak


def test_shares_move_the_book_between_instruments() -> None:
    # A macro book nearly all in gold holds more gold and less of the index than
    # one split in three.
    world = _with_shares(load_preset("gold-2026").scaled(0.01), "macro_accounts", ())
    equal = _macro_peaks(world, 2)
    in_gold = _macro_peaks(_with_shares(world, "macro_accounts", (0.9, 0.05, 0.05)), 2)
    assert in_gold[0] > 2 * equal[0]
    assert in_gold[1] < equal[1] / 2


def test_bad_shares_are_rejected_with_the_field_and_range(gold: Scenario) -> None:
    macro = _macro(gold)
    need = r"^budget_shares: need one share per instrument traded"
    with pytest.raises(ValueError, match=need + r" \(3"):
        dc.replace(macro, budget_shares=(0.5, 0.5))
    with pytest.raises(ValueError, match=r"^budget_shares\[1\]: must be in \(0\.0, 1\.0\]"):
        dc.replace(macro, budget_shares=(0.5, 0.0, 0.5))
    with pytest.raises(ValueError, match=r"^budget_shares\[0\]: must be in \(0\.0, 1\.0\]"):
        dc.replace(macro, budget_shares=(1.5, -0.25, -0.25))
    with pytest.raises(ValueError, match=r"^budget_shares\[2\]: must be finite"):
        dc.replace(macro, budget_shares=(0.5, 0.5, float("nan")))
    with pytest.raises(ValueError, match=r"^budget_shares: must sum to 1, got 0\.9"):
        dc.replace(macro, budget_shares=(0.5, 0.3, 0.1))
    with pytest.raises(TypeError, match=r"^budget_shares\[0\]: must be a number"):
        dc.replace(macro, budget_shares=("half", 0.25, 0.25))
    single = next(p for p in gold.populations if p.name == "gold_noise")
    with pytest.raises(ValueError, match=need + r" \(1"):
        dc.replace(single, budget_shares=(0.5, 0.5))
    assert dc.replace(single, budget_shares=(1.0,)).budget_shares == (1.0,)


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([0.5, 0.5], r"budget_shares: need one share per instrument traded \(3\), got 2"),
        ([0.5, 0.0, 0.5], r"budget_shares\[1\]: must be in \(0, 1\]"),
        ([0.6, 0.3, 0.3], r"budget_shares: must sum to 1"),
    ],
)
def test_the_engine_checks_shares_it_is_given(
    gold: Scenario, shares: list[float], message: str
) -> None:
    data = engine_spec.engine_input(gold, 0)
    pops = list(data.spec.populations)
    k = next(i for i, p in enumerate(gold.populations) if p.name == "macro_accounts")
    pops[k] = _replaced(pops[k], budget_shares=shares)
    data = dc.replace(data, spec=_replaced(data.spec, populations=pops))
    with pytest.raises(ValueError, match=rf"^populations\[{k}\]\.{message}"):
        engine_spec.simulation(data)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.01, 1.0), min_size=3, max_size=3))
def test_shares_round_trip_through_toml(gold: Scenario, weights: list[float]) -> None:
    total = sum(weights)
    shares = tuple(w / total for w in weights)
    try:
        world = _with_shares(gold, "macro_accounts", shares)
    except ValueError:  # the normalised weights missed 1 by more than 1e-9: never
        pytest.fail(f"normalised shares {shares} rejected")
    again = from_toml_str(to_toml_str(world))
    assert _macro(again).budget_shares == shares
    assert again == world


def test_cross_margin_counterfactual_splits_the_cash_by_share(gold: Scenario) -> None:
    shares = (0.7, 0.2, 0.1)
    world = _with_shares(gold, "macro_accounts", shares)
    split = isolate_cross_margin(world)
    cash = _macro(gold).cash
    for instrument, share in zip(("GOLD", "INDEX", "BTC"), shares, strict=True):
        piece = next(p for p in split.populations if p.name == f"macro_accounts_{instrument}")
        assert piece.instrument == instrument
        assert piece.budget_shares == ()
        assert piece.cash == cash.scaled(share)
        assert piece.cash.mean() == pytest.approx(cash.mean() * share)


@pytest.mark.parametrize("share", [0.0, -0.5, float("nan")])
def test_scaling_a_distribution_needs_a_positive_factor(share: float) -> None:
    with pytest.raises(ValueError, match=r"^factor: "):
        Distribution.fixed(1.0).scaled(share)
