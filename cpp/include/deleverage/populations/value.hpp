// Value (arbitrage) traders: hold a position proportional to the mispricing
// (fair - price) / price, sized by capital and leverage, and shrunk by a risk
// limit as realized volatility rises; above `vol_exit` they step out entirely,
// which is exactly when they are most needed, and come back only once the
// market has been calm for `calm_steps`.
// Each due trader cancels what it left standing and sends a limit order at fair
// value toward its target: it takes what is better than fair and leaves the
// rest standing at fair until its next decision (or, with a schedule, rests
// its order at its own point of its demand curve).
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/decision_batch.hpp"
#include "deleverage/market_view.hpp"

namespace deleverage::populations {

struct ValueParams {
  double capital_fraction = 0.5;
  double aggressiveness = 5.0;
  double vol_reference = 0.3;
  double vol_exit = 1.0;
  double leverage = 1.0;
  double reach = 1.0;  // how far toward fair value their limit price goes (1: at fair)
  // The relative mispricing they leave untraded (their costs: shipping, storage,
  // financing): they trade only what lies beyond it (0: all of it).
  double band = 0.0;
  // Their demand schedule in the book (relative to the last price; 0: off).
  // Each trader stands at its own point of it, a fixed share of this width
  // above or below the last price (by its account), and rests there the order
  // that takes it to the position it wants at that price, when that order
  // would wait there (a sale above, a purchase below); otherwise it trades as
  // without it. So a value population keeps supply above the price and demand
  // under it, as much at each price as its rule wants there.
  double schedule = 0.0;
  bool hold_when_out = false;       // above vol_exit: keep the position (true) or close it (false)
  bool hold_to_fair = false;        // reduce a position only once the price has crossed fair value
  bool hold_through_storm = false;  // after a storm, hold to fair value until the price crosses it
  std::int64_t calm_steps = 0;      // steps under vol_exit in a row before they trade again (0: none)
  std::uint8_t side = 0;            // kValueBoth, kValueLongOnly or kValueShortOnly
  // Per-step weight of their own average of squared returns, the volatility
  // they size, step out and wait by (0: the market's realized volatility).
  double vol_alpha = 0.0;
  // Other instruments whose storm keeps them out too: the volatility they step
  // out and wait by is the highest of theirs and these markets' (one risk limit
  // across a portfolio).
  std::vector<std::uint16_t> stress_instruments;

  bool operator==(const ValueParams&) const = default;
};

// The sides of the mispricing they trade: both, or one (a producers' book only sells forward).
inline constexpr std::uint8_t kValueBoth = 0;
inline constexpr std::uint8_t kValueLongOnly = 1;
inline constexpr std::uint8_t kValueShortOnly = 2;

// What a value population remembers of storms, as its kernel's signal: bit 0,
// the storm is over but they are still waiting out `calm_steps` of calm (out);
// bit 1, a storm came since the price last crossed fair value, so (with
// `hold_through_storm`) they hold their convergence trades to fair value.
inline constexpr int kValueSettling = 1;
inline constexpr int kValueStormed = 2;

// Where account a stands on a schedule: a fixed share of its width in [-1, 1),
// spread evenly over consecutive accounts (a golden-ratio sequence).
inline double schedule_point(std::uint32_t a) noexcept {
  const std::uint64_t h = std::uint64_t{a} * 0x9E3779B97F4A7C15ull;
  return 2.0 * static_cast<double>(h >> 11) * 0x1.0p-53 - 1.0;
}

// Fills b.target (and b.price) for every account of the batch; `memory`: the
// bits above.
void value(const ValueParams& p, const MarketView& m, int memory, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
