// Long-term holders (central banks, funds): unlevered, low-frequency buyers of
// dips below a slow average of the price.
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
};

// Fills b.target (and b.price) for every account of the batch.
void holders(const HolderParams& p, const MarketView& m, double slow_average, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
