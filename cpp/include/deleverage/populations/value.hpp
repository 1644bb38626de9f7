// Value (arbitrage) traders: hold a position proportional to the mispricing
// (fair - price) / price, sized by capital and leverage, and shrunk by a risk
// limit as realized volatility rises; above `vol_exit` they step out entirely,
// which is exactly when they are most needed, and come back only once the
// market has been calm for `calm_steps`.
// Each due trader cancels what it left standing and sends a limit order at fair
// value toward its target: it takes what is better than fair and leaves the
// rest standing at fair until its next decision.
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage::populations {

// Fills b.target (and b.price) for every account of the batch. `settling`: the
// storm is over but they are still waiting out `calm_steps` of calm (out).
void value(const PopulationSpec& p, const MarketView& m, bool settling, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
