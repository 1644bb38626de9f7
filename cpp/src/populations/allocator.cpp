#include "deleverage/populations/allocator.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

DELEVERAGE_DISPATCH
void allocators(const AllocatorParams& p, const MarketView& m, double volatility, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double cap = std::min(p.max_leverage, 1.0 / m.initial_rate);
  // Volatility targeting: above vol_target the whole book shrinks in proportion.
  const double scale = p.vol_target > 0.0 && volatility > p.vol_target ? p.vol_target / volatility : 1.0;
  const double unit = m.last * m.tick_value;  // money per lot
  const double* equity = b.equity.data();
  const double* leverage = b.param.data();
  const Qty* current = b.current.data();
  Qty* target = b.target.data();
  for (std::size_t k = 0; k < n; ++k) {
    const double lots = std::floor(equity[k] * (std::min(leverage[k], cap) * scale) / unit);
    const double gap = std::fabs(lots - static_cast<double>(current[k]));
    // Rebalance only when the position has drifted past the band (trading costs).
    const bool act = equity[k] > 0.0 && gap > p.rebalance_band * std::max(lots, 1.0);
    target[k] = act ? to_lots(lots) : current[k];
  }
}

}  // namespace deleverage::populations
