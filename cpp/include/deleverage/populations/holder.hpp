// Long-term holders (central banks, funds): unlevered, low-frequency buyers of
// dips below a slow average of the price.
// Lots to buy now (0 if no dip or no cash to spare).
// slow_average: the population's slow average of the price (ticks).
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage::populations {

// Fills b.target (and b.price) for every account of the batch.
void holders(const PopulationSpec& p, const MarketView& m, double slow_average, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
