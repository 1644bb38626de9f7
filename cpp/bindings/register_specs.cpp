// The engine's input specs, bound as classes with keyword constructors
// (spec_class.hpp) and its choices as enums: the one typed boundary between
// Python and the engine. deleverage.engine_spec builds them from the scenario's
// dataclasses; nothing crosses as a dict.
#include "pybind.hpp"

#include <cmath>
#include <cstdint>
#include <vector>

#include "deleverage/fundamental.hpp"
#include "deleverage/limits.hpp"
#include "deleverage/margin_engine.hpp"
#include "deleverage/margin_rule.hpp"
#include "deleverage/market_view.hpp"
#include "deleverage/population.hpp"
#include "deleverage/simulation.hpp"
#include "spec_class.hpp"

using namespace deleverage;
using namespace deleverage::populations;
using bindings::SpecClass;

namespace {

using Tiers = std::vector<std::vector<double>>;

void register_enums(py::module_& m) {
  py::enum_<Strategy>(m, "Strategy", "A population's strategy (the index of its parameter struct).")
      .value("speculator", Strategy::Speculator)
      .value("noise", Strategy::Noise)
      .value("value", Strategy::Value)
      .value("market_maker", Strategy::MarketMaker)
      .value("holder", Strategy::Holder)
      .value("allocator", Strategy::Allocator)
      .value("hold", Strategy::Hold);
  py::enum_<ShockKind>(m, "ShockKind", "A scheduled shock: a jump, a new drift or a new volatility.")
      .value("jump", ShockKind::Jump)
      .value("drift", ShockKind::Drift)
      .value("volatility", ShockKind::Volatility);
  py::enum_<MarkRule>(m, "MarkRule", "How an instrument's mark follows its book.")
      .value("last", MarkRule::Last)
      .value("mid", MarkRule::Mid)
      .value("median", MarkRule::Median);
  py::enum_<Maintenance>(m, "Maintenance", "A margin rule's maintenance kind.")
      .value("fixed", Maintenance::Fixed)
      .value("percent", Maintenance::Percent)
      .value("tiered", Maintenance::Tiered)
      .value("closeout", Maintenance::Closeout);
  py::enum_<MarginBasis>(m, "MarginBasis", "The notional margin is charged on.")
      .value("mark", MarginBasis::Mark)
      .value("entry", MarginBasis::Entry);
  py::enum_<CloseOrder>(m, "CloseOrder", "Which position a margin call on several closes first.")
      .value("instrument", CloseOrder::Instrument)
      .value("most_liquid", CloseOrder::MostLiquid)
      .value("largest_loss", CloseOrder::LargestLoss)
      .value("pro_rata", CloseOrder::ProRata);
}

void register_margin_specs(py::module_& m) {
  SpecClass<MarginRule>(m, "MarginRuleSpec", "An instrument's margin rule (docs/margin.md).")
      .field("initial_rate", &MarginRule::initial_rate, "Initial margin rate.")
      .field("maintenance", &MarginRule::maintenance, "Maintenance kind.")
      .field("maintenance_rate", &MarginRule::maintenance_rate, "Maintenance rate (percent).")
      .field("amount_per_lot", &MarginRule::amount_per_lot, "Maintenance money per lot (fixed).")
      .field_as<Tiers>(
          "tiers",
          [](const MarginRule& r) {
            py::list out;
            for (std::size_t k = 0; k < r.tier_floor.size(); ++k)
              out.append(py::make_tuple(r.tier_floor[k], r.tier_rate[k]));
            return out;
          },
          [](MarginRule& r, const Tiers& tiers) {
            r.tier_floor.clear();
            r.tier_rate.clear();
            for (std::size_t k = 0; k < tiers.size(); ++k) {
              if (tiers[k].size() != 2)
                throw py::type_error("MarginRuleSpec.tiers[" + std::to_string(k) + "]: must be a (floor, rate) pair");
              r.tier_floor.push_back(tiers[k][0]);
              r.tier_rate.push_back(tiers[k][1]);
            }
          },
          "(floor, rate) brackets (tiered).")
      .field("closeout_share", &MarginRule::closeout_share, "Share of the initial margin (closeout).")
      .field("basis", &MarginRule::basis, "The notional margin is charged on.")
      .field("liquidation_fee_rate", &MarginRule::liquidation_fee_rate, "Fee on liquidated notional.")
      .field("negative_balance_protection", &MarginRule::negative_balance_protection, "Losses stop at zero equity.")
      .field("partial_liquidation", &MarginRule::partial_liquidation, "Close down a bracket at a time (tiered).")
      .field("maker_fee_rate", &MarginRule::maker_fee_rate, "Maker fee on notional.")
      .field("taker_fee_rate", &MarginRule::taker_fee_rate, "Taker fee on notional.")
      .finish();
  SpecClass<EngineSettings>(m, "EngineSettings", "The margin engine's settings.")
      .field("insurance_fund", &EngineSettings::insurance_fund, "The fund's starting cash.")
      .field("instrument_funds", &EngineSettings::instrument_funds,
             "Per instrument, its own fund's starting cash, or None where it shares the venue's (empty: all share).")
      .field("adl", &EngineSettings::adl, "Auto-deleveraging when the fund runs dry.")
      .field("max_rounds", &EngineSettings::max_rounds, "Liquidation rounds per check.")
      .field("max_liquidation_notional", &EngineSettings::max_liquidation_notional,
             "Notional closed per step at most (inf: no cap).")
      .field("close_order", &EngineSettings::close_order, "Which position of several a call closes first.")
      .field("liquidity", &EngineSettings::liquidity, "Per instrument, for most_liquid (empty: all equal).")
      .field("liquidate_at_market", &EngineSettings::liquidate_at_market,
             "Liquidation orders are market orders (else IOCs at the bankruptcy price).")
      .field("fund_equity", &EngineSettings::fund_equity,
             "The fund covers a takeover out of its equity at the marks (else its cash).")
      .field("liquidation_capacity", &EngineSettings::liquidation_capacity,
             "Per instrument, notional closed per step at most (empty: no caps).")
      .field("margin_ratio_order", &EngineSettings::margin_ratio_order,
             "A round takes the most distressed accounts first (else account order).")
      .field("margin_call_checks", &EngineSettings::margin_call_checks,
             "Checks a margin call runs before the account is liquidated (0: at once).")
      .field("close_out_ratio", &EngineSettings::close_out_ratio,
             "During a call, equity at or under this share of maintenance closes the account at once.")
      .finish();
}

void register_strategy_specs(py::module_& m) {
  SpecClass<SpeculatorParams>(m, "SpeculatorSpec", "Leveraged momentum traders.")
      .field("fast_alpha", &SpeculatorParams::fast_alpha, "Per-step weight of the fast average.")
      .field("slow_alpha", &SpeculatorParams::slow_alpha, "Per-step weight of the slow average.")
      .field("threshold", &SpeculatorParams::threshold, "Relative gap of the averages that moves them.")
      .field("max_leverage", &SpeculatorParams::max_leverage, "Cap on each account's leverage.")
      .field("short_fraction", &SpeculatorParams::short_fraction, "Of the leverage taken short.")
      .field("trade_fraction", &SpeculatorParams::trade_fraction, "Of the gap to the target traded a decision.")
      .field("vol_target", &SpeculatorParams::vol_target,
             "Annualised volatility above which the leverage shrinks in proportion (0: never).")
      .field("vol_alpha", &SpeculatorParams::vol_alpha,
             "Per-step weight of their own average of squared returns (0: the market's volatility).")
      .finish();
  SpecClass<NoiseParams>(m, "NoiseSpec", "Uninformed traders.")
      .field("limit_share", &NoiseParams::limit_share, "Share of limit orders.")
      .field("limit_offset_ticks", &NoiseParams::limit_offset_ticks, "Span of limit prices from the mid.")
      .field("sentiment_persistence", &NoiseParams::sentiment_persistence, "AR(1) coefficient of the mood.")
      .field("sentiment_volatility", &NoiseParams::sentiment_volatility, "Std of the mood's innovation.")
      .field("sentiment_position", &NoiseParams::sentiment_position,
             "Lots each trader holds per unit of mood (0: the mood tilts the order flow).")
      .finish();
  SpecClass<ValueParams>(m, "ValueSpec", "Value investors.")
      .field("capital_fraction", &ValueParams::capital_fraction, "Of capital committed.")
      .field("aggressiveness", &ValueParams::aggressiveness, "Position per unit of mispricing.")
      .field("vol_reference", &ValueParams::vol_reference, "Volatility where risk halves.")
      .field("vol_exit", &ValueParams::vol_exit, "Volatility where they step out.")
      .field("leverage", &ValueParams::leverage, "Most leverage.")
      .field("reach", &ValueParams::reach, "How far toward fair value their limit goes.")
      .field("band", &ValueParams::band, "Relative mispricing they leave untraded (their costs).")
      .field("schedule", &ValueParams::schedule,
             "How far from the last price (relative) their standing orders of their demand schedule reach (0: off).")
      .field("stress_instruments", &ValueParams::stress_instruments,
             "Other instruments whose storm keeps them out too.")
      .field("hold_when_out", &ValueParams::hold_when_out, "Keep the position when out.")
      .field("hold_to_fair", &ValueParams::hold_to_fair, "Reduce a position only once the price crosses fair.")
      .field("hold_through_storm", &ValueParams::hold_through_storm,
             "After a storm, reduce a position only once the price crosses fair.")
      .field("calm_steps", &ValueParams::calm_steps, "Steps of calm before trading again after a storm.")
      .field("side", &ValueParams::side, "Sides they trade: 0 both, 1 long only, 2 short only.")
      .field("vol_alpha", &ValueParams::vol_alpha,
             "Per-step weight of their own volatility average (0: the market's realized volatility).")
      .finish();
  SpecClass<MarketMakerParams>(m, "MarketMakerSpec", "Market makers.")
      .field("levels", &MarketMakerParams::levels, "Price levels a side.")
      .field("base_spread_ticks", &MarketMakerParams::base_spread_ticks, "Innermost half spread.")
      .field("vol_spread_factor", &MarketMakerParams::vol_spread_factor, "Widening per step sigma.")
      .field("inventory_limit", &MarketMakerParams::inventory_limit, "Lots of inventory at most.")
      .field("vol_withdraw", &MarketMakerParams::vol_withdraw, "Volatility where they pull quotes.")
      .field("loss_withdraw", &MarketMakerParams::loss_withdraw, "Loss of capital where they pull quotes.")
      .field("calm_steps", &MarketMakerParams::calm_steps, "Steps out before coming back.")
      .field("fair_weight", &MarketMakerParams::fair_weight, "Weight of fair value in their anchor.")
      .field("basis_alpha", &MarketMakerParams::basis_alpha, "Per-step weight of their basis average (0: off).")
      .field("basis_out_alpha", &MarketMakerParams::basis_out_alpha,
             "Per-step weight of their basis average while all of them are out (0: the book's own each step).")
      .field("max_basis", &MarketMakerParams::max_basis, "Bound on the quoted basis (log).")
      .field("inventory_skew", &MarketMakerParams::inventory_skew,
             "Relative move of their quotes at the inventory limit (0: half their spread).")
      .field("stress_instruments", &MarketMakerParams::stress_instruments, "Instruments sharing their risk limit.")
      .field("var_volatility", &MarketMakerParams::var_volatility,
             "Volatility above which their value-at-risk budget shrinks the inventory limit (0: off).")
      .field("var_alpha", &MarketMakerParams::var_alpha,
             "Per-step weight of their value-at-risk volatility average (0: the realized volatility).")
      .field("sides", &MarketMakerParams::sides, "Sides they quote: 0 both, 1 bids only, 2 asks only.")
      .field("offset", &MarketMakerParams::offset,
             "Innermost quote's distance from their centre, relative (0: their half spread).")
      .field("level_spacing", &MarketMakerParams::level_spacing,
             "Distance between their levels, relative to their centre (0: one tick).")
      .field("covers", &MarketMakerParams::covers,
             "A one-sided dealer closes what it holds with one quote at cover_offset from its centre.")
      .field("cover_offset", &MarketMakerParams::cover_offset,
             "Where that closing quote stands, relative to their centre, toward their own side (below offset).")
      .field("cover_max_volatility", &MarketMakerParams::cover_max_volatility,
             "Annualised volatility of their instrument above which they hold what they have (0: no limit).")
      .field("cover_calm_steps", &MarketMakerParams::cover_calm_steps,
             "Steps of calm in a row (volatility at or below cover_max_volatility) before they cover again.")
      .field("flow_alpha", &MarketMakerParams::flow_alpha,
             "Per-step weight of their average of the lots traded on their book a step (0: fixed depth).")
      .field("flow_depth", &MarketMakerParams::flow_depth,
             "Lots a level quotes per lot traded a step on average, when more than its own size.")
      .field("robust_volatility", &MarketMakerParams::robust_volatility,
             "Withdraw, come back and widen by the bipower variation of returns (robust to a lone print).")
      .finish();
  SpecClass<HolderParams>(m, "HolderSpec", "Long-term holders.")
      .field("slow_alpha", &HolderParams::slow_alpha, "Per-step weight of the slow average.")
      .field("dip", &HolderParams::dip, "Relative dip below the average that makes them buy.")
      .field("budget_fraction", &HolderParams::budget_fraction,
             "Share of their cash (times their leverage) spent on a dip.")
      .field("anchor_fair", &HolderParams::anchor_fair, "The dip is measured from the fair value, not the average.")
      .field("max_volatility", &HolderParams::max_volatility, "Annualised volatility above which they wait (0: none).")
      .field("leverage", &HolderParams::leverage, "Gross position they may reach, in units of equity (1: unlevered).")
      .finish();
  SpecClass<AllocatorParams>(m, "AllocatorSpec", "Leveraged allocators.")
      .field("max_leverage", &AllocatorParams::max_leverage, "Cap on each account's leverage.")
      .field("slow_alpha", &AllocatorParams::slow_alpha, "Per-step weight of their volatility estimate.")
      .field("vol_target", &AllocatorParams::vol_target, "Annualised volatility target (0: none).")
      .field("rebalance_band", &AllocatorParams::rebalance_band, "Relative drift before they trade.")
      .finish();
  SpecClass<HoldParams>(m, "HoldSpec", "Accounts that only hold: never due, no decision, no parameters.").finish();
  SpecClass<PopulationSpec>(m, "PopulationSpec", "A block of accounts following one strategy.")
      .field("first", &PopulationSpec::first, "First account id.")
      .field("count", &PopulationSpec::count, "Accounts.")
      .field("instrument", &PopulationSpec::instrument, "Home instrument.")
      .field("instruments", &PopulationSpec::instruments, "Every instrument traded, home first.")
      .field("budget_shares", &PopulationSpec::budget_shares,
             "Each instrument's share of an account's budget, in instruments' order (empty: equal).")
      .field("activity", &PopulationSpec::activity, "Per-step probability an account acts.")
      .field("params", &PopulationSpec::params, "The strategy's parameters (its spec class).")
      .field("open_at_target", &PopulationSpec::open_at_target,
             "Its accounts start holding their first decision's target, at the start prices.")
      .def_property_readonly("strategy", &PopulationSpec::strategy, "The strategy, from the parameters' class.")
      .finish();
}

void register_simulation_specs(py::module_& m) {
  SpecClass<Shock>(m, "ShockSpec", "A scheduled change of the fair value's process.")
      .field("step", &Shock::step, "Step it lands at.")
      .field("kind", &Shock::kind, "Jump, drift or volatility.")
      .field("value", &Shock::value, "Log jump, or new annualised drift or volatility.")
      .finish();
  SpecClass<Waypoint>(m, "WaypointSpec", "A level the fair value reaches at a step.")
      .field("step", &Waypoint::step, "Step.")
      .field_as<double>(
          "price", [](const Waypoint& w) { return std::exp(w.log_value); },
          [](Waypoint& w, double price) { w.log_value = std::log(price); }, "Price units (stored as its log).")
      .finish();
  SpecClass<FundamentalSpec>(m, "FundamentalSpec", "An instrument's fair-value process.")
      .field("start", &FundamentalSpec::start, "Start price (price units).")
      .field("drift", &FundamentalSpec::drift, "Annualised drift.")
      .field("volatility", &FundamentalSpec::volatility, "Annualised volatility.")
      .field("mean_reverting", &FundamentalSpec::mean_reverting, "Reverts to the anchor.")
      .field("reversion", &FundamentalSpec::reversion, "Annualised reversion rate.")
      .field("anchor", &FundamentalSpec::anchor, "Level it reverts to (price units).")
      .field("vol_of_vol", &FundamentalSpec::vol_of_vol, "Stationary std of log volatility.")
      .field("vol_half_life", &FundamentalSpec::vol_half_life, "Half-life of log volatility (seconds).")
      .field("news_share", &FundamentalSpec::news_share, "Share of the variance arriving as news jumps.")
      .field("news_rate", &FundamentalSpec::news_rate, "News items a day at the mean volatility.")
      .field("shocks", &FundamentalSpec::shocks, "Scheduled shocks, by step.")
      .field("waypoints", &FundamentalSpec::waypoints, "Levels to pass through, by step.")
      .finish();
  SpecClass<ScheduledRule>(m, "MarginChangeSpec", "A scheduled margin change.")
      .field("step", &ScheduledRule::step, "Step it applies from.")
      .field("instrument", &ScheduledRule::instrument, "Instrument index.")
      .field("rule", &ScheduledRule::rule, "The new rule.")
      .finish();
  SpecClass<ScheduledParams>(m, "PopulationChangeSpec", "A scheduled change of a population's parameters.")
      .field("step", &ScheduledParams::step, "Step it applies from.")
      .field("population", &ScheduledParams::population, "Population index.")
      .field("activity", &ScheduledParams::activity, "Per-step probability an account acts, from then on.")
      .field("params", &ScheduledParams::params, "The strategy's parameters from then on (the population's class).")
      .finish();
  SpecClass<VolatilityTrigger>(m, "VolatilityTriggerSpec", "A margin hike on high realized volatility.")
      .field("instrument", &VolatilityTrigger::instrument, "Instrument index.")
      .field("window_steps", &VolatilityTrigger::window_steps, "Steps of its volatility average.")
      .field("threshold", &VolatilityTrigger::threshold, "Annualised volatility that fires it.")
      .field("rule", &VolatilityTrigger::rule, "The new rule.")
      .finish();
  SpecClass<SimulationSpec>(m, "SimulationSpec", "The clock's run: instruments, populations and policy.")
      .field("dt", &SimulationSpec::dt, "Seconds per step.")
      .field("steps", &SimulationSpec::steps, "Steps.")
      .field("seed", &SimulationSpec::seed, "Seed.")
      .field("leverage_every", &SimulationSpec::leverage_every, "Steps between leverage samples.")
      .field("volatility_window", &SimulationSpec::volatility_window, "Steps of the volatility average.")
      .field("fundamentals", &SimulationSpec::fundamentals, "Per instrument.")
      .field("tick_size", &SimulationSpec::tick_size, "Per instrument: price units per tick.")
      .field("start_ticks", &SimulationSpec::start_ticks, "Per instrument.")
      .field("mark_rules", &SimulationSpec::mark_rules, "Per instrument.")
      .field("populations", &SimulationSpec::populations, "Contiguous, in account order.")
      .field("margin_changes", &SimulationSpec::margin_changes, "Sorted by step.")
      .field("population_changes", &SimulationSpec::population_changes, "Sorted by step.")
      .field("triggers", &SimulationSpec::triggers, "Volatility triggers.")
      .field("trade_log", &SimulationSpec::trade_log, "Keep every trade.")
      .field("count_resting_fills", &SimulationSpec::count_resting_fills,
             "Size a due trader's order from its position plus what its resting orders traded this step.")
      .field("requote_together", &SimulationSpec::requote_together,
             "Cancel every market maker's ladder before posting any (no maker trades another's stale quote).")
      .field("fund_unwind_share", &SimulationSpec::fund_unwind_share, "Share of the fund's position sold a step.")
      .field("fund_unwind_band", &SimulationSpec::fund_unwind_band,
             "Relative band around the index the fund trades within (0: market orders).")
      .field("loadings", &SimulationSpec::loadings, "Correlation loadings, row-major (empty: independent).")
      .finish();
  SpecClass<MarketView>(m, "MarketView", "What a strategy sees of its market at a decision (ticks).")
      .field("last", &MarketView::last, "Last trade.")
      .field("reference", &MarketView::reference, "Short average of trade prices.")
      .field("mid", &MarketView::mid, "Mid (last when a side is empty).")
      .field("spread", &MarketView::spread, "Spread (inf when a side is empty).")
      .field("fair", &MarketView::fair, "Fair value.")
      .field("volatility", &MarketView::volatility, "Annualised realized volatility.")
      .field("step_sigma", &MarketView::step_sigma, "One step's std of log price.")
      .field("tick_value", &MarketView::tick_value, "Money per tick and lot.")
      .field("initial_rate", &MarketView::initial_rate, "Initial margin rate.")
      .finish();
}

}  // namespace

void register_specs(py::module_& m) {
  py::dict table;
  for (const Limit* l : limits::kAll)
    table[py::str(std::string(l->owner) + "." + l->field)] = py::make_tuple(l->lo, l->hi, l->lo_open, l->hi_open);
  m.attr("LIMITS") = table;
  register_enums(m);
  register_margin_specs(m);
  register_strategy_specs(m);
  register_simulation_specs(m);
}
