#include "deleverage/populations/holder.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

DELEVERAGE_DISPATCH
void holders(const HolderParams& p, const MarketView& m, double slow_average, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  // Patient money comes back when the storm is over, not into it.
  const bool calm = p.max_volatility <= 0.0 || m.volatility <= p.max_volatility;
  const double anchor = p.anchor_fair ? m.fair : slow_average;
  const bool dip = calm && m.last <= anchor * (1.0 - p.dip);
  const double unit = m.last * m.tick_value;
  const double* cash = b.cash.data();
  const Qty* current = b.current.data();
  Qty* target = b.target.data();
  for (std::size_t k = 0; k < n; ++k) {
    const double lots = std::floor(p.budget_fraction * cash[k] / unit);
    const bool buy = dip && cash[k] > 0.0;
    target[k] = current[k] + (buy ? to_lots(lots) : 0);
  }
}

}  // namespace deleverage::populations
