// Value (arbitrage) traders: hold a position proportional to the mispricing
// (fair - price) / price, sized by capital and leverage, and shrunk by a risk
// limit as realized volatility rises; above `vol_exit` they step out entirely,
// which is exactly when they are most needed.
#pragma once

#include <algorithm>
#include <cmath>

#include "deleverage/population.hpp"

namespace deleverage::populations {

inline Qty value_target(const PopulationSpec& p, const MarketView& m, double equity) noexcept {
  if (equity <= 0 || m.volatility >= p.vol_exit) return 0;
  const double mispricing = (m.fair - m.last) / m.last;
  const double conviction = std::clamp(p.aggressiveness * mispricing, -1.0, 1.0);
  const double risk = 1.0 / (1.0 + (m.volatility / p.vol_reference) * (m.volatility / p.vol_reference));
  const double leverage = std::min(p.leverage, 1.0 / m.initial_rate);
  const double notional = p.capital_fraction * equity * leverage * conviction * risk;
  return static_cast<Qty>(std::trunc(notional / (m.last * m.tick_value)));
}

}  // namespace deleverage::populations
