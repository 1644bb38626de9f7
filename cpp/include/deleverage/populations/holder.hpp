// Long-term holders (central banks, funds): unlevered, low-frequency buyers of
// dips below a slow average of the price.
#pragma once

#include <cmath>

#include "deleverage/population.hpp"

namespace deleverage::populations {

// Lots to buy now (0 if no dip or no cash to spare).
inline Qty holder_buy(const PopulationSpec& p, const MarketView& m, double slow_average, double cash) noexcept {
  if (cash <= 0 || m.last > slow_average * (1.0 - p.dip)) return 0;
  return static_cast<Qty>(std::floor(p.budget_fraction * cash / (m.last * m.tick_value)));
}

}  // namespace deleverage::populations
