// Long-term holders (central banks, funds, physical buyers): unlevered,
// low-frequency buyers of dips below a slow average of the price, or below its
// fair value (anchor_fair), and only while the market is calm (max_volatility).
// Lots to buy now (0 if no dip or no cash to spare).
// slow_average: the population's slow average of the price (ticks).
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/market_view.hpp"

namespace deleverage::populations {

struct HolderParams {
  double slow_alpha = 1e-5;  // per-step weight of their slow average of the price
  double dip = 0.03;
  double budget_fraction = 0.1;
  bool anchor_fair = false;     // the dip is measured from the fair value, not the slow average
  double max_volatility = 0.0;  // annualised; above it they wait (0: they buy in any market)
};

// Fills b.target (and b.price) for every account of the batch.
void holders(const HolderParams& p, const MarketView& m, double slow_average, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
