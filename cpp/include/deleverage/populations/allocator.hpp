// Leveraged allocators (risk-parity and volatility-targeting funds): they hold
// a long portfolio at a target leverage whatever the trend, and cut it when
// the portfolio's volatility rises past their target. `param` is the
// account's target leverage in calm markets.
// volatility: the highest annualised realized volatility among the
// population's instruments (one risk budget for the whole portfolio).
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage::populations {

// Fills b.target (and b.price) for every account of the batch.
void allocators(const PopulationSpec& p, const MarketView& m, double volatility, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
