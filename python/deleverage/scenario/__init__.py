"""The typed description of a simulated world: instruments, populations, clock and policy,
validated on construction and saved to / loaded from TOML with an exact round trip."""

from __future__ import annotations

from deleverage.margin_rules import MarginRule
from deleverage.scenario.distributions import DISTRIBUTION_KINDS, Distribution
from deleverage.scenario.episode import Episode
from deleverage.scenario.fundamental import SHOCK_KINDS, YEAR, Fundamental, Shock, Waypoint
from deleverage.scenario.policy import MarginChange, Policy, VolatilityTrigger
from deleverage.scenario.population_change import PopulationChange
from deleverage.scenario.populations import (
    HOLDER_ANCHORS,
    MARGIN_MODES,
    MAX_ACCOUNTS,
    PARAMS_CLASSES,
    QUOTE_SIDES,
    STRATEGIES,
    VALUE_SIDES,
    AllocatorParams,
    HolderParams,
    MarketMakerParams,
    NoiseParams,
    Population,
    SpeculatorParams,
    StrategyParams,
    ValueParams,
)
from deleverage.scenario.scenario import Clock, InstrumentSpec, Scenario
from deleverage.scenario.targets import COUNTERFACTUAL_CAUSES, MARKET_FACTS, Target
from deleverage.scenario.toml_io import from_toml_str, load_toml, save_toml, to_toml_str

__all__ = [
    "COUNTERFACTUAL_CAUSES",
    "DISTRIBUTION_KINDS",
    "HOLDER_ANCHORS",
    "MARGIN_MODES",
    "MARKET_FACTS",
    "MAX_ACCOUNTS",
    "PARAMS_CLASSES",
    "QUOTE_SIDES",
    "SHOCK_KINDS",
    "STRATEGIES",
    "VALUE_SIDES",
    "YEAR",
    "AllocatorParams",
    "Clock",
    "Distribution",
    "Episode",
    "Fundamental",
    "HolderParams",
    "InstrumentSpec",
    "MarginChange",
    "MarginRule",
    "MarketMakerParams",
    "NoiseParams",
    "Policy",
    "Population",
    "PopulationChange",
    "Scenario",
    "Shock",
    "SpeculatorParams",
    "StrategyParams",
    "Target",
    "ValueParams",
    "VolatilityTrigger",
    "Waypoint",
    "from_toml_str",
    "load_toml",
    "save_toml",
    "to_toml_str",
]
