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

DELEVERAGE_DISPATCH
void noise(const NoiseParams& p, const MarketView& m, double buy_probability, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double unit = m.last * m.tick_value;
  const double limit_share = p.limit_share;
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
    const double sign = u0[k] < buy_probability ? 1.0 : -1.0;  // buy or sell
    const double size = std::max(1.0, round_half_up(2.0 * mean_size[k] * u1[k]));
    const auto now = static_cast<double>(current[k]);
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
