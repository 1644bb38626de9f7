#include "deleverage/populations/value.hpp"

#include <algorithm>
#include <cmath>

#include "deleverage/dispatch.hpp"

namespace deleverage::populations {

DELEVERAGE_DISPATCH
void value(const ValueParams& p, const MarketView& m, int memory, DecisionBatch& b) noexcept {
  const std::size_t n = b.size();
  const double mispricing = (m.fair - m.last) / m.last;
  const double ratio = m.volatility / p.vol_reference;
  const double risk = 1.0 / (1.0 + ratio * ratio);
  const double leverage = std::min(p.leverage, 1.0 / m.initial_rate);
  // Their conviction at a relative mispricing: only the part beyond their costs
  // is worth trading (exactly the mispricing with no band).
  const auto conviction_at = [&](double mis) {
    const double beyond = std::copysign(std::max(std::fabs(mis) - p.band, 0.0), mis);
    return std::clamp(p.aggressiveness * beyond, -1.0, 1.0);
  };
  const double conviction = conviction_at(mispricing);
  // They step out entirely, and stay out while the market settles after a storm.
  const bool out = (memory & kValueSettling) != 0 || m.volatility >= p.vol_exit;
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
  // Convergence trades are held to fair value always, or since the last storm:
  // a position carried through a storm is not cut on the way back to value.
  const bool to_fair = p.hold_to_fair || (p.hold_through_storm && (memory & kValueStormed) != 0);
  // The position wanted of equity `e` with conviction `conv` at `lots_unit` a
  // lot, the price `mis` from fair value: one side only, held to convergence.
  const auto position = [&](double e, double conv, double lots_unit, double mis, bool hold, Qty c) {
    const double notional = p.capital_fraction * e * leverage * conv * risk;
    Qty wanted = hold ? to_lots(std::trunc(notional / lots_unit)) : (keep ? c : 0);
    if (p.side == kValueLongOnly) wanted = std::max<Qty>(wanted, 0);
    if (p.side == kValueShortOnly) wanted = std::min<Qty>(wanted, 0);
    // A convergence trade is closed at fair value, not before: while the price
    // is still on the side it was opened on, they only add to it.
    const bool converging = to_fair && ((c > 0 && mis > 0.0 && wanted < c) || (c < 0 && mis < 0.0 && wanted > c));
    return converging ? c : wanted;
  };
  Qty* target = b.target.data();
  Price* price = b.price.data();
  for (std::size_t k = 0; k < n; ++k) {
    const bool hold = !out && equity[k] > 0.0;
    const Qty c = current[k];
    if (p.schedule > 0.0 && hold) {
      // Their own point of the schedule: the position wanted were the price
      // there, ordered there when the order would wait (a sale above the last
      // price, a purchase below it).
      const double s = schedule_point(b.account[k]);
      const Price at = std::max<Price>(1, static_cast<Price>(std::llround(m.last * (1.0 + s * p.schedule))));
      const double there = static_cast<double>(at);
      const double mis = (m.fair - there) / there;
      const Qty w = position(equity[k], conviction_at(mis), there * m.tick_value, mis, true, c);
      if ((s > 0.0 && w < c) || (s < 0.0 && w > c)) {
        target[k] = w;
        price[k] = at;
        continue;
      }
    }
    target[k] = position(equity[k], conviction, unit, mispricing, hold, c);
    price[k] = limit;
  }
}

}  // namespace deleverage::populations
