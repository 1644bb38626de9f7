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
};

// Fills b.target (and b.price) for every account of the batch.
// buy_probability: the chance each order is a buy (the population's mood).
void noise(const NoiseParams& p, const MarketView& m, double buy_probability, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
