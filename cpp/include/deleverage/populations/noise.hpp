// Noise traders: random side and size, a market order or a limit order near the
// mid, within what their equity allows unlevered. `param` is the mean size in lots.
// u: three uniforms in (0, 1). Returns false when the trader sits out.
// Needs the batch's uniforms u0 (side), u1 (size), u2 (market or limit, and
// how far from the mid). A limit order stands until the trader's next decision.
#pragma once

#include <cstdint>
#include "deleverage/decision_batch.hpp"

#include "deleverage/market_view.hpp"

namespace deleverage::populations {

struct NoiseParams {
  double limit_share = 0.5;
  std::int64_t limit_offset_ticks = 20;
  double sentiment_persistence = 0.0;  // AR(1) coefficient of the mood, per step
  double sentiment_volatility = 0.0;   // its innovation's standard deviation
  // Lots each trader wants to hold per unit of mood; 0: the mood tilts the
  // order flow instead (each order a buy with probability 1 / (1 + exp(-2 mood))).
  double sentiment_position = 0.0;

  bool operator==(const NoiseParams&) const = default;
};

// Fills b.target (and b.price) for every account of the batch. `mood`: the
// population's sentiment. With sentiment_position > 0 it sets the position
// each trader steers to (sentiment_position * mood lots): an order is a buy
// with probability 1/2 + (wanted - held) / (2 * mean size), within [0, 1],
// so holdings follow the mood in ordinary-sized orders and the rest of the
// trading is two-sided. Otherwise it tilts the order flow: each order is a
// buy with probability 1 / (1 + exp(-2 mood)) and adds to the position.
void noise(const NoiseParams& p, const MarketView& m, double mood, DecisionBatch& b) noexcept;

// The chance each order of the flow-tilting mood is a buy.
double buy_probability(double mood) noexcept;

}  // namespace deleverage::populations
