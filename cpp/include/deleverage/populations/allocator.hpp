// Leveraged allocators (risk-parity and volatility-targeting funds): they hold
// a long portfolio at a target leverage whatever the trend, and cut it when
// the portfolio's volatility rises past their target. `param` is the
// account's target leverage in calm markets.
// volatility: the highest annualised realized volatility among the
// population's instruments (one risk budget for the whole portfolio).
#pragma once

#include "deleverage/decision_batch.hpp"
#include "deleverage/market_view.hpp"

namespace deleverage::populations {

struct AllocatorParams {
  double max_leverage = 10.0;
  double slow_alpha = 0.001;    // per-step weight of their volatility estimate
  double vol_target = 0.0;      // annualised; 0: no volatility targeting
  double rebalance_band = 0.1;  // relative drift from target before they trade

  bool operator==(const AllocatorParams&) const = default;
};

// Fills b.target (and b.price) for every account of the batch.
void allocators(const AllocatorParams& p, const MarketView& m, double volatility, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
