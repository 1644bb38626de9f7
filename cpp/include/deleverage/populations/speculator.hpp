// Leveraged speculators: they believe the price move. When the fast average of
// the price runs above the slow one by more than a threshold they go long at
// their target leverage (short when below), and hold otherwise. `param` is the
// account's target leverage.
// momentum: (fast - slow) / slow of the population's price averages. `param`
// is each account's target leverage.
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage::populations {

// Fills b.target (and b.price) for every account of the batch.
void speculators(const PopulationSpec& p, const MarketView& m, double momentum, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
