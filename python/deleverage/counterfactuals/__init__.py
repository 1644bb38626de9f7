"""Cause attribution: how much of a crash each cause explains.

``counterfactual(scenario, factors, seeds)`` runs the scenario and, with the
same seeds (common random numbers), the same world with one cause removed
(leverage capped at 1x, dealers that never withdraw, value traders that never
step back, no news, no margin hikes, no cross margin), and reports each
cause's share of the drawdown and of the liquidated notional with bootstrap
intervals over seeds, plus the world with every cause removed at once.

``shapley(scenario, factors, seeds)`` runs every subset of the factors removed
and splits the crash exactly between its causes (Shapley values, which add up
to the whole), with their pairwise interactions.

One concept per module: ``factors`` (the transformations), ``shares`` (shares
and their intervals), ``paired`` (the runs), ``result`` (the tables),
``shapley_values`` (the arithmetic), ``shapley`` (its runs and result).
"""

from __future__ import annotations

from deleverage.counterfactuals.factors import (
    DEFAULT_FACTORS,
    FACTORS,
    Factor,
    FactorFunction,
    cap_leverage,
    isolate_cross_margin,
    no_dealer_budgets,
    no_margin_hikes,
    no_news,
    no_population_changes,
    resolve_factors,
    steady_arbitrage,
    steady_dealers,
    steady_dealers_in_crash,
)
from deleverage.counterfactuals.paired import DEFAULT_METRICS, counterfactual
from deleverage.counterfactuals.result import LABELS, CounterfactualResult
from deleverage.counterfactuals.shapley import MAX_SHAPLEY_FACTORS, ShapleyResult, shapley
from deleverage.counterfactuals.shapley_values import interaction_indices, shapley_values

__all__ = [
    "DEFAULT_FACTORS",
    "DEFAULT_METRICS",
    "FACTORS",
    "LABELS",
    "MAX_SHAPLEY_FACTORS",
    "CounterfactualResult",
    "Factor",
    "FactorFunction",
    "ShapleyResult",
    "cap_leverage",
    "counterfactual",
    "interaction_indices",
    "isolate_cross_margin",
    "no_dealer_budgets",
    "no_margin_hikes",
    "no_news",
    "no_population_changes",
    "resolve_factors",
    "shapley",
    "shapley_values",
    "steady_arbitrage",
    "steady_dealers",
    "steady_dealers_in_crash",
]
