// Leveraged speculators: they believe the price move. When the fast average of
// the price runs above the slow one by more than a threshold they go long at
// their target leverage (short when below), and hold otherwise; each decision
// trades `trade_fraction` of the gap to that position (a fund works a large
// order over hours instead of sending it at once). With a volatility target
// they scale that leverage down by vol_target / volatility while the
// volatility they watch is above it, as a trend-following fund does.
// momentum: (fast - slow) / slow of the population's price averages. `param`
// is each account's target leverage.
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/market_view.hpp"

namespace deleverage::populations {

struct SpeculatorParams {
  // Momentum of the last price: EMAs with these per-step weights.
  double fast_alpha = 0.01;
  double slow_alpha = 0.001;
  double threshold = 0.0005;
  double max_leverage = 50.0;
  double short_fraction = 1.0;  // of the target leverage taken short (0: long-only, flat instead)
  double trade_fraction = 1.0;  // of the gap to the target traded a decision (1: all of it)
  double vol_target = 0.0;      // annualised volatility above which the leverage shrinks in proportion (0: never)
  double vol_alpha = 0.0;       // per-step weight of their own average of squared returns (0: the market's)

  bool operator==(const SpeculatorParams&) const = default;
};

// Fills b.target (and b.price) for every account of the batch.
void speculators(const SpeculatorParams& p, const MarketView& m, double momentum, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
