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
  // A dip buys budget_fraction of what their cash carries at their leverage,
  // up to a gross position of leverage x equity (at 1: unlevered; a futures
  // purchase does not spend cash, so without the cap every dip would buy again).
  // The venue's initial margin caps it, as every leveraged strategy's.
  const double leverage = std::min(p.leverage, 1.0 / m.initial_rate);
  const double* cash = b.cash.data();
  const double* equity = b.equity.data();
  const Qty* current = b.current.data();
  Qty* target = b.target.data();
  for (std::size_t k = 0; k < n; ++k) {
    const double held = static_cast<double>(current[k] < 0 ? -current[k] : current[k]) * unit;
    const double room = leverage * equity[k] - held;
    const double spend = std::min(p.budget_fraction * (leverage * cash[k]), room);
    const double lots = std::floor(spend / unit);
    const bool buy = dip && spend > 0.0;
    target[k] = current[k] + (buy ? to_lots(lots) : 0);
  }
}

}  // namespace deleverage::populations
