// Noise traders: random side and size, a market order or a limit order near the
// mid, within what their equity allows unlevered. `param` is the mean size in lots.
// u: three uniforms in (0, 1). Returns false when the trader sits out.
// Needs the batch's uniforms u0 (side), u1 (size), u2 (market or limit, and
// how far from the mid). A limit order stands until the trader's next decision.
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage::populations {

// Fills b.target (and b.price) for every account of the batch.
// buy_probability: the chance each order is a buy (the population's mood).
void noise(const PopulationSpec& p, const MarketView& m, double buy_probability, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
