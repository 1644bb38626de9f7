#include "deleverage/populations/value.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

DELEVERAGE_DISPATCH
void value(const ValueParams& p, const MarketView& m, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double mispricing = (m.fair - m.last) / m.last;
  const double conviction = std::clamp(p.aggressiveness * mispricing, -1.0, 1.0);
  const double ratio = m.volatility / p.vol_reference;
  const double risk = 1.0 / (1.0 + ratio * ratio);
  const double leverage = std::min(p.leverage, 1.0 / m.initial_rate);
  const bool out = m.volatility >= p.vol_exit;  // they step out entirely
  const double unit = m.last * m.tick_value;
  // Their limit reaches `reach` of the way from the last price to fair value: at
  // fair (1) a big clip sweeps a thin book all the way there; nearer the market
  // they trade the mispricing gradually and their leftover rests near the touch.
  const double towards = p.reach == 1.0 ? m.fair : m.last + p.reach * (m.fair - m.last);
  const Price limit = std::max<Price>(1, static_cast<Price>(std::llround(towards)));
  const double* equity = b.equity.data();
  const Qty* current = b.current.data();
  // Out of the market, a hedger that holds stops trading; others close out.
  const bool keep = out && p.hold_when_out;
  Qty* target = b.target.data();
  Price* price = b.price.data();
  for (std::size_t k = 0; k < n; ++k) {
    const double notional = p.capital_fraction * equity[k] * leverage * conviction * risk;
    const bool hold = !out && equity[k] > 0.0;
    const Qty idle = keep ? current[k] : 0;
    target[k] = hold ? to_lots(std::trunc(notional / unit)) : idle;
    price[k] = limit;
  }
}

}  // namespace deleverage::populations
