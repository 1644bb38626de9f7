#include "deleverage/populations/speculator.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

DELEVERAGE_DISPATCH
void speculators(const SpeculatorParams& p, const MarketView& m, double momentum, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double direction = momentum > p.threshold ? 1.0 : (momentum < -p.threshold ? -1.0 : 0.0);
  const double cap = std::min(p.max_leverage, 1.0 / m.initial_rate);
  // A long-only crowd (short_fraction 0) goes flat on a down-trend instead of short.
  // Volatility targeting: above vol_target the position shrinks in proportion.
  const double risk = p.vol_target > 0.0 && m.volatility > p.vol_target ? p.vol_target / m.volatility : 1.0;
  const double scale = (direction < 0.0 ? p.short_fraction : 1.0) * risk;
  const double unit = m.last * m.tick_value;  // money per lot
  const double* equity = b.equity.data();
  const double* leverage = b.param.data();
  const Qty* current = b.current.data();
  Qty* target = b.target.data();
  // A share of the gap, rounded up to a whole lot so that every gap closes; at 1
  // the whole gap, exactly (positions are whole numbers of lots, below 2^53).
  const double share = p.trade_fraction;
  for (std::size_t k = 0; k < n; ++k) {
    const double lots = std::floor(equity[k] * (std::min(leverage[k], cap) * scale) / unit);
    const bool act = direction != 0.0 && equity[k] > 0.0;
    const double held = static_cast<double>(current[k]);
    const double gap = direction * lots - held;
    const double slice = std::copysign(std::ceil(std::fabs(gap) * share), gap);
    target[k] = act ? to_lots(held + slice) : current[k];
  }
}

}  // namespace deleverage::populations
