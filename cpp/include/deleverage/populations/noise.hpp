// Noise traders: random side and size, a market order or a limit order near the
// mid, within what their equity allows unlevered. `param` is the mean size in lots.
#pragma once

#include <algorithm>
#include <cmath>

#include "deleverage/population.hpp"
#include "deleverage/records.hpp"

namespace deleverage::populations {

// u: three uniforms in (0, 1). Returns false when the trader sits out.
inline bool noise_order(const PopulationSpec& p, const MarketView& m, double equity, Qty current, double mean_size,
                        const double u[3], Message& out) noexcept {
  const bool buy = u[0] < 0.5;
  const Qty size = std::max<Qty>(1, static_cast<Qty>(std::lround(2.0 * mean_size * u[1])));
  const Qty after = current + (buy ? size : -size);
  // Unlevered: the position after the order must be covered by equity.
  if (static_cast<double>(std::llabs(after)) * m.last * m.tick_value > std::max(0.0, equity) &&
      std::llabs(after) > std::llabs(current))
    return false;
  out.side = static_cast<std::uint8_t>(buy ? Side::Buy : Side::Sell);
  out.qty = size;
  if (u[2] < p.limit_share) {
    const auto offset = 1 + static_cast<Price>(u[2] / std::max(p.limit_share, 1e-12) *
                                               static_cast<double>(std::max<std::int64_t>(p.limit_offset_ticks, 1)));
    const auto mid = static_cast<Price>(std::llround(m.mid));
    out.type = static_cast<std::uint8_t>(MsgType::Limit);
    out.price = std::max<Price>(1, buy ? mid - offset : mid + offset);
  } else {
    out.type = static_cast<std::uint8_t>(MsgType::Market);
  }
  return true;
}

}  // namespace deleverage::populations
