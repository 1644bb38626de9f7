#include "deleverage/populations/noise.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

namespace {

// Nearest integer, halves up: exact for these sizes and free of library calls,
// so the loop vectorizes.
inline double round_half_up(double x) noexcept { return std::floor(x + 0.5); }

}  // namespace

double buy_probability(double mood) noexcept { return 1.0 / (1.0 + std::exp(-2.0 * mood)); }

DELEVERAGE_DISPATCH
void noise(const NoiseParams& p, const MarketView& m, double mood, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double unit = m.last * m.tick_value;
  const double limit_share = p.limit_share;
  // Computed once, outside the loop: no transcendental in the vector loop, so
  // every instruction set gives the same bits.
  const bool holds = p.sentiment_position > 0.0;
  const double flow_buy = holds ? 0.5 : buy_probability(mood);
  const double wanted = holds ? p.sentiment_position * mood : 0.0;
  const double share = std::max(limit_share, 1e-12);
  const auto span = static_cast<double>(std::max<std::int64_t>(p.limit_offset_ticks, 1));
  const auto mid = static_cast<double>(std::llround(m.mid));
  const double* equity = b.equity.data();
  const double* mean_size = b.param.data();
  const Qty* current = b.current.data();
  const double* u0 = b.u0.data();
  const double* u1 = b.u1.data();
  const double* u2 = b.u2.data();
  Qty* target = b.target.data();
  Price* price = b.price.data();
  // Integer-valued doubles throughout (exact below 2^53): one element type, so
  // the loop vectorizes.
  for (std::size_t k = 0; k < n; ++k) {
    const auto now = static_cast<double>(current[k]);
    // On average an order closes the gap to the wanted holding (up to the mean size).
    const double lean = std::clamp((wanted - now) / (2.0 * mean_size[k]), -0.5, 0.5);
    const double buy = holds ? 0.5 + lean : flow_buy;
    const double sign = u0[k] < buy ? 1.0 : -1.0;  // buy or sell
    const double size = std::max(1.0, round_half_up(2.0 * mean_size[k] * u1[k]));
    const double after = now + sign * size;
    // Unlevered: a position that grows must stay covered by equity.
    const bool covered = (std::fabs(after) * unit <= std::max(0.0, equity[k])) | (std::fabs(after) <= std::fabs(now));
    const double offset = 1.0 + std::floor(u2[k] / share * span);
    const double limit = std::max(1.0, mid - sign * offset);
    target[k] = to_lots(covered ? after : now);
    price[k] = static_cast<Price>(u2[k] < limit_share ? limit : 0.0);
  }
}

}  // namespace deleverage::populations
