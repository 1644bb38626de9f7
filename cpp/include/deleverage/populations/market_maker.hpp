// Market makers: quote a ladder around a reference price. The spread widens
// with realized volatility and the quotes lean against inventory; they pull
// every quote when volatility or losses pass their limits, and come back after
// a calm period. `param` is the lots quoted per level.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "deleverage/population.hpp"
#include "deleverage/records.hpp"

namespace deleverage::populations {

struct MakerState {
  bool withdrawn = false;
  std::int64_t calm = 0;
  double capital = 0.0;  // equity when it last (re-)entered
};

// Update the withdraw / re-enter state; returns true when the maker quotes this step.
inline bool maker_active(const PopulationSpec& p, const MarketView& m, double equity, MakerState& s) noexcept {
  if (s.capital <= 0) s.capital = equity;
  const double loss = s.capital > 0 ? (s.capital - equity) / s.capital : 1.0;
  if (!s.withdrawn && (m.volatility > p.vol_withdraw || loss > p.loss_withdraw)) {
    s.withdrawn = true;
    s.calm = 0;
  } else if (s.withdrawn) {
    s.calm = m.volatility <= p.vol_withdraw ? s.calm + 1 : 0;
    if (s.calm >= p.calm_steps && equity > 0) {
      s.withdrawn = false;
      s.capital = equity;
    }
  }
  return !s.withdrawn;
}

// The ladder: `levels` bids and asks of `size` lots around the reference price.
inline void maker_quotes(const PopulationSpec& p, const MarketView& m, Qty inventory, Qty size, AccountId owner,
                         std::vector<Message>& out) {
  const double half = static_cast<double>(p.base_spread_ticks) + p.vol_spread_factor * m.step_sigma * m.reference;
  const double lean = -static_cast<double>(inventory) / static_cast<double>(std::max<std::int64_t>(p.inventory_limit, 1));
  const double centre = m.reference + lean * half;
  const bool bids = inventory < p.inventory_limit;
  const bool asks = inventory > -p.inventory_limit;
  for (std::int64_t level = 0; level < p.levels; ++level) {
    const double away = std::max(1.0, half) + static_cast<double>(level);
    if (bids)
      out.push_back(Message{0, std::max<Price>(1, static_cast<Price>(std::floor(centre - away))), size, owner,
                            static_cast<std::uint8_t>(MsgType::Limit), static_cast<std::uint8_t>(Side::Buy), {}});
    if (asks)
      out.push_back(Message{0, std::max<Price>(2, static_cast<Price>(std::ceil(centre + away))), size, owner,
                            static_cast<std::uint8_t>(MsgType::Limit), static_cast<std::uint8_t>(Side::Sell), {}});
  }
}

}  // namespace deleverage::populations
