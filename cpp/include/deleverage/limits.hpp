// The engine's input limits, written once. The engine checks its inputs
// against them (MarginRule::validate_and_prepare, Simulation), the bindings
// export them as _core.LIMITS ("MarginRule.initial_rate" -> (lo, hi, lo_open,
// hi_open)), and the Python dataclasses validate against that table, naming the
// field's path; so a range is changed here, and only here.
#pragma once

#include <array>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace deleverage {

struct Limit {
  const char* owner;  // the spec the field belongs to
  const char* field;
  double lo;
  double hi;
  bool lo_open;
  bool hi_open;
  const char* unit = "";  // follows the range in messages

  bool holds(double x) const noexcept {
    return std::isfinite(x) && (lo_open ? x > lo : x >= lo) && (hi_open ? x < hi : x <= hi);
  }

  // Throws std::invalid_argument "<field>: must be in [lo, hi], got x" unless x is within.
  void check(double x, const std::string& where) const {
    if (holds(x)) return;
    std::ostringstream out;
    out << where << ": must be in " << (lo_open ? "(" : "[") << lo << ", " << hi << (hi_open ? ")" : "]");
    if (*unit != '\0') out << " " << unit;
    out << ", got " << x;
    throw std::invalid_argument(out.str());
  }
  void check(double x) const { check(x, field); }
};

namespace limits {

inline constexpr Limit kInitialRate{"MarginRule", "initial_rate", 0.0, 1.0, true, false};
inline constexpr Limit kMaintenanceRate{"MarginRule", "maintenance_rate", 0.0, 1.0, false, false};
inline constexpr Limit kAmountPerLot{"MarginRule", "amount_per_lot", 0.0, 1e15, false, false};
inline constexpr Limit kCloseoutShare{"MarginRule", "closeout_share", 0.0, 1.0, true, false};
inline constexpr Limit kLiquidationFeeRate{"MarginRule", "liquidation_fee_rate", 0.0, 0.1, false, false};
inline constexpr Limit kMakerFeeRate{"MarginRule", "maker_fee_rate", -0.01, 0.01, false, false};
inline constexpr Limit kTakerFeeRate{"MarginRule", "taker_fee_rate", -0.01, 0.01, false, false};
inline constexpr Limit kTierFloor{"MarginRule", "tiers.floor", 0.0, 1e18, false, false};
inline constexpr Limit kTierRate{"MarginRule", "tiers.rate", 0.0, 1.0, false, true};
// The clock's step (seconds): buffers sized in steps of five minutes stay below 300,000 entries.
inline constexpr Limit kDt{"Simulation", "dt", 1e-3, 86400.0, false, false, "seconds"};
// A population's per-step probability that an account acts.
inline constexpr Limit kActivity{"Population", "activity", 0.0, 1.0, true, false};
// Lots a noise trader holds per unit of mood.
inline constexpr Limit kSentimentPosition{"NoiseSpec", "sentiment_position", 0.0, 1e9, false, false};
// A dealer's quote move at its inventory limit, relative to price: never a quote at or below zero.
inline constexpr Limit kInventorySkew{"MarketMakerSpec", "inventory_skew", 0.0, 0.5, false, false};
// The annualised volatility up to which a dealer's whole inventory limit fits its value-at-risk budget (0: off).
inline constexpr Limit kVarVolatility{"MarketMakerSpec", "var_volatility", 0.0, 100.0, false, false};
// Per-step weight of the dealers' own volatility average for that budget (0: the realized volatility).
inline constexpr Limit kVarAlpha{"MarketMakerSpec", "var_alpha", 0.0, 1.0, false, false};
// The sides a dealer quotes: 0 both, 1 bids only, 2 asks only.
inline constexpr Limit kQuoteSides{"MarketMakerSpec", "sides", 0.0, 2.0, false, false};
// How far a dealer's innermost quote stands from its centre, relative to it: never at or below zero.
inline constexpr Limit kQuoteOffset{"MarketMakerSpec", "offset", 0.0, 0.5, false, false};
// The distance between a dealer's levels, relative to its centre (a 100-level ladder stays above zero).
inline constexpr Limit kLevelSpacing{"MarketMakerSpec", "level_spacing", 0.0, 0.005, false, false};
// Where a covering one-sided dealer closes its inventory, relative to its centre (signed): the closing
// price stays at least half the centre.
inline constexpr Limit kCoverOffset{"MarketMakerSpec", "cover_offset", -0.5, 0.5, false, false};
// The annualised volatility above which a covering dealer holds (0: it covers in any market).
inline constexpr Limit kCoverMaxVolatility{"MarketMakerSpec", "cover_max_volatility", 0.0, 100.0, false, false};
// Per-step weight of a dealer's average of the lots traded on its book (0: depth does not follow the flow).
inline constexpr Limit kFlowAlpha{"MarketMakerSpec", "flow_alpha", 0.0, 1.0, false, false};
// Per-step weight of the dealers' basis average while all of them are out (0: the book's own basis each step).
inline constexpr Limit kBasisOutAlpha{"MarketMakerSpec", "basis_out_alpha", 0.0, 1.0, false, false};
// Lots a dealer quotes a level per lot traded a step on average.
inline constexpr Limit kFlowDepth{"MarketMakerSpec", "flow_depth", 0.0, 1e6, false, false};
// Per-step weight of value traders' own volatility average (0: the realized volatility).
inline constexpr Limit kValueVolAlpha{"ValueSpec", "vol_alpha", 0.0, 1.0, false, false};
// How far from the last price, relative to it, value traders' standing orders reach at most (0: none).
inline constexpr Limit kValueSchedule{"ValueSpec", "schedule", 0.0, 0.5, false, false};
// The share of a fair value's variance that arrives as news jumps (0: none); the diffusion keeps the rest.
inline constexpr Limit kNewsShare{"FundamentalSpec", "news_share", 0.0, 0.95, false, false};
// News items a day at a fair value's mean volatility.
inline constexpr Limit kNewsRate{"FundamentalSpec", "news_rate", 0.0, 1e4, true, false, "a day"};

// The share of the gap to its target position a speculator trades a decision (1: all of it at once).
inline constexpr Limit kTradeFraction{"SpeculatorSpec", "trade_fraction", 0.0, 1.0, true, false};
// The annualised volatility above which speculators scale their leverage down (0: never).
inline constexpr Limit kSpeculatorVolTarget{"SpeculatorSpec", "vol_target", 0.0, 100.0, false, false};
// Per-step weight of speculators' own volatility average (0: the realized volatility).
inline constexpr Limit kSpeculatorVolAlpha{"SpeculatorSpec", "vol_alpha", 0.0, 1.0, false, false};

// The annualised volatility above which holders wait for calm (0: they buy in any market).
inline constexpr Limit kHolderMaxVolatility{"HolderSpec", "max_volatility", 0.0, 100.0, false, false};

inline constexpr std::array<const Limit*, 30> kAll{&kInitialRate,
                                                   &kMaintenanceRate,
                                                   &kAmountPerLot,
                                                   &kCloseoutShare,
                                                   &kLiquidationFeeRate,
                                                   &kMakerFeeRate,
                                                   &kTakerFeeRate,
                                                   &kTierFloor,
                                                   &kTierRate,
                                                   &kDt,
                                                   &kActivity,
                                                   &kSentimentPosition,
                                                   &kInventorySkew,
                                                   &kVarVolatility,
                                                   &kVarAlpha,
                                                   &kHolderMaxVolatility,
                                                   &kValueVolAlpha,
                                                   &kQuoteSides,
                                                   &kQuoteOffset,
                                                   &kLevelSpacing,
                                                   &kCoverOffset,
                                                   &kCoverMaxVolatility,
                                                   &kFlowAlpha,
                                                   &kFlowDepth,
                                                   &kNewsShare,
                                                   &kNewsRate,
                                                   &kTradeFraction,
                                                   &kValueSchedule,
                                                   &kSpeculatorVolTarget,
                                                   &kSpeculatorVolAlpha};

}  // namespace limits
}  // namespace deleverage
