// Leveraged speculators: they believe the price move. When the fast average of
// the price runs above the slow one by more than a threshold they go long at
// their target leverage (short when below), and hold otherwise. `param` is the
// account's target leverage.
#pragma once

#include <algorithm>
#include <cmath>

#include "deleverage/population.hpp"

namespace deleverage::populations {

inline Qty speculator_target(const PopulationSpec& p, const MarketView& m, double momentum, double equity,
                             double target_leverage, Qty current) noexcept {
  int direction = 0;
  if (momentum > p.threshold) direction = 1;
  if (momentum < -p.threshold) direction = -1;
  if (direction == 0 || equity <= 0) return current;
  const double leverage = std::min({target_leverage, p.max_leverage, 1.0 / m.initial_rate});
  const double lots = std::floor(equity * leverage / (m.last * m.tick_value));
  return direction * static_cast<Qty>(lots);
}

}  // namespace deleverage::populations
