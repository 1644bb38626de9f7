// Long-term holders (central banks, funds, physical buyers): low-frequency
// buyers of dips below a slow average of the price, or below its fair value
// (anchor_fair), and only while the market is calm (max_volatility). A dip
// buys budget_fraction of their cash times their leverage, and never takes
// their gross position beyond leverage x equity: unlevered at 1 (the default),
// on margin above it (retail buying the dip).
// Lots to buy now (0 if no dip or no room left).
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
  double leverage = 1.0;        // gross position they may reach, in units of equity

  bool operator==(const HolderParams&) const = default;
};

// Fills b.target (and b.price) for every account of the batch.
void holders(const HolderParams& p, const MarketView& m, double slow_average, DecisionBatch& b) noexcept;

}  // namespace deleverage::populations
