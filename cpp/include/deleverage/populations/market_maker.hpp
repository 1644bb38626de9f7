// Market makers: quote a ladder around a reference price. The spread widens
// with realized volatility and the quotes lean against inventory; they pull
// every quote when volatility or losses pass their limits, and come back after
// a calm period. A value-at-risk budget (var_volatility) shrinks the inventory
// they may carry as volatility rises. `param` is the lots quoted per level.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <cstdint>

#include "deleverage/codes.hpp"
#include "deleverage/limits.hpp"
#include "deleverage/market_view.hpp"
#include "deleverage/records.hpp"

namespace deleverage::populations {

struct MarketMakerParams {
  std::int64_t levels = 5;
  std::int64_t base_spread_ticks = 2;
  double vol_spread_factor = 10.0;
  std::int64_t inventory_limit = 1000;
  double vol_withdraw = 1.0;
  double loss_withdraw = 0.2;
  std::int64_t calm_steps = 600;
  double fair_weight = 0.5;  // of fair value in the price they quote around
  // Per-step weight of their average of log(last / fair), the basis this book
  // trades at: they quote around fair value times exp(basis). 0: no basis.
  // While every dealer of the population is out, the basis is the book's own.
  double basis_alpha = 0.0;
  // Per-step weight of that average while every dealer of the population is out:
  // dealers who watch the tape from outside come back quoting where it has
  // traded lately, not at its last print. 0: the book's own basis each step.
  double basis_out_alpha = 0.0;
  double max_basis = 1e300;  // the basis they quote is held within +-max_basis (log)
  // How far their quotes move against inventory at the limit, relative to the
  // price they quote around; 0: half their spread. A dealer who prices
  // inventory moves the price as far as the flow it absorbs, at once.
  double inventory_skew = 0.0;
  // Other instruments whose realized volatility counts against vol_withdraw too
  // (one risk limit across a bank's desks).
  std::vector<std::uint16_t> stress_instruments;
  // A value-at-risk budget: inventory_limit is what they may carry up to this
  // annualised volatility, and above it the room shrinks in proportion
  // (inventory_limit * var_volatility / volatility: lots times volatility held
  // constant). The volatility is the highest among their own instrument and
  // stress_instruments. 0: off, the room is inventory_limit at any volatility.
  double var_volatility = 0.0;
  // Per-step weight of their own exponential average of squared returns, the
  // volatility their budget is measured on (a risk desk's window of days);
  // 0: the realized volatility vol_withdraw meets.
  double var_alpha = 0.0;
  // The sides they quote (kQuoteBoth, kQuoteBids or kQuoteAsks): a producer's
  // forward sales or a physical arbitrage only ever offer.
  std::uint8_t sides = 0;
  // How far their innermost quote stands from the price they quote around,
  // relative to it (0: their half spread): a seller of a premium offers only
  // that far above value.
  double offset = 0.0;
  // The distance between their levels, relative to the price (0: one tick): a
  // ladder of premiums, more offered the richer the price.
  double level_spacing = 0.0;
  // One-sided dealers who close what they took on: with `covers`, a seller
  // (asks only) holding a short bids for all of it at cover_offset above the
  // price they quote around, relative to it (below it when negative), and a
  // buyer (bids only) holding a long offers it at cover_offset below. A seller
  // of a premium buys back once the premium is down to cover_offset, and has
  // its room again for the next spike. cover_offset < offset, so the closing
  // quote never meets their own. Above cover_max_volatility (annualised
  // realized volatility of their instrument; 0: no limit) they hold what they
  // have: a hedged desk buys back in a calm market, not in a storm; and
  // after one, only once it has been calm for cover_calm_steps steps in a row.
  bool covers = false;
  double cover_offset = 0.0;
  double cover_max_volatility = 0.0;
  std::int64_t cover_calm_steps = 0;
  // Depth in proportion to the flow they face (Kyle 1985: a dealer's depth
  // grows with the uninformed volume it expects): with flow_alpha > 0 each
  // level quotes at least flow_depth times their average of the lots traded
  // on their book a step (an exponential average of per-step weight
  // flow_alpha), and never less than its own size. 0: the size alone.
  double flow_alpha = 0.0;
  double flow_depth = 0.0;
  // The volatility they withdraw, come back and widen by: jump-robust (true),
  // the bipower variation of the same returns (Barndorff-Nielsen and Shephard
  // 2004), in which one stray print in a thin book counts little; or the
  // squared returns (false, the default), in which it counts squared.
  bool robust_volatility = false;

  bool operator==(const MarketMakerParams&) const = default;
};

inline constexpr std::uint8_t kQuoteBoth = 0;
inline constexpr std::uint8_t kQuoteBids = 1;
inline constexpr std::uint8_t kQuoteAsks = 2;

struct MakerState {
  bool withdrawn = false;
  std::int64_t out = 0;  // steps since it withdrew
  double capital = 0.0;  // equity when it last (re-)entered
  double limit = 0.0;    // the volatility it withdraws above (raised on a re-entry into a storm)
  // Steps in a row at or below cover_max_volatility (the run starts calm).
  std::int64_t calm = std::numeric_limits<std::int64_t>::max() / 2;
};

// Throws std::invalid_argument naming `where`.<field> for a ladder the limits do not allow.
inline void check_maker_quotes(const MarketMakerParams& p, const std::string& where) {
  limits::kInventorySkew.check(p.inventory_skew, where + "inventory_skew");
  limits::kVarVolatility.check(p.var_volatility, where + "var_volatility");
  limits::kVarAlpha.check(p.var_alpha, where + "var_alpha");
  limits::kQuoteSides.check(p.sides, where + "sides");
  limits::kQuoteOffset.check(p.offset, where + "offset");
  limits::kLevelSpacing.check(p.level_spacing, where + "level_spacing");
  limits::kCoverOffset.check(p.cover_offset, where + "cover_offset");
  limits::kCoverMaxVolatility.check(p.cover_max_volatility, where + "cover_max_volatility");
  limits::kFlowAlpha.check(p.flow_alpha, where + "flow_alpha");
  limits::kBasisOutAlpha.check(p.basis_out_alpha, where + "basis_out_alpha");
  limits::kFlowDepth.check(p.flow_depth, where + "flow_depth");
  if (p.cover_calm_steps < 0)
    throw std::invalid_argument(where + "cover_calm_steps: must be >= 0, got " + std::to_string(p.cover_calm_steps));
  if (!p.covers) return;
  if (p.sides == kQuoteBoth)
    throw std::invalid_argument(where + "covers: only a one-sided dealer (sides 1 or 2) covers, got sides 0");
  if (!(p.cover_offset < p.offset))
    throw std::invalid_argument(where + "cover_offset: must be below offset (" + std::to_string(p.offset) +
                                ") for a covering dealer, got " + std::to_string(p.cover_offset));
}

// Whether a covering dealer closes what it holds this step, counting its steps
// of calm: volatility at or below cover_max_volatility (0: any) for more than
// cover_calm_steps steps in a row. Called once a step for each dealer.
inline bool maker_covers(const MarketMakerParams& p, double volatility, MakerState& s) noexcept {
  if (!p.covers) return false;
  if (p.cover_max_volatility > 0.0 && volatility > p.cover_max_volatility) {
    s.calm = 0;
    return false;
  }
  ++s.calm;
  return s.calm > p.cover_calm_steps;
}

// The lots a level quotes: `size`, or flow_depth times `flow` (their average
// of the lots traded a step) when that is more; at most the largest order.
inline Qty maker_level_size(const MarketMakerParams& p, Qty size, double flow) noexcept {
  if (!(p.flow_alpha > 0.0) || !(p.flow_depth > 0.0) || !(flow > 0.0)) return size;
  const double lots = std::min(p.flow_depth * flow, static_cast<double>(kMaxQty));
  return std::max(size, static_cast<Qty>(std::llround(lots)));
}

// Widening stops at this half spread (relative to the price): a news jump
// inflates realized volatility for a whole window, and beyond this dealers
// answer risk by withdrawing (vol_withdraw), not by quoting ever wider.
inline constexpr double kMaxHalfSpread = 0.005;

// Half the width of the maker's quotes, in ticks.
inline double maker_half_spread(const MarketMakerParams& p, const MarketView& m) noexcept {
  const double widening = std::min(p.vol_spread_factor * m.step_sigma, kMaxHalfSpread);
  return static_cast<double>(p.base_spread_ticks) + widening * m.reference;
}

// Update the withdraw / re-enter state; returns true when the maker quotes this step.
// Out of the market for at least `calm_steps`, a maker comes back once volatility
// is under its limit again, or earlier when the book's spread (an empty side
// counts as infinite) pays more than twice its own volatility-adjusted quotes:
// wide spreads are what bring dealers back after a storm. Re-entering into a
// storm, it tolerates half as much again as the volatility it came back to,
// until volatility falls under its limit.
inline bool maker_active(const MarketMakerParams& p, const MarketView& m, double equity, MakerState& s) noexcept {
  if (s.capital <= 0) s.capital = equity;
  if (s.limit <= 0 || m.volatility <= p.vol_withdraw) s.limit = p.vol_withdraw;
  const double loss = s.capital > 0 ? (s.capital - equity) / s.capital : 1.0;
  if (!s.withdrawn && (m.volatility > s.limit || loss > p.loss_withdraw)) {
    s.withdrawn = true;
    s.out = 0;
  } else if (s.withdrawn) {
    ++s.out;
    const bool calm = m.volatility <= p.vol_withdraw;
    const bool paid = m.spread > 4.0 * maker_half_spread(p, m);
    if (s.out >= p.calm_steps && equity > 0 && (calm || paid)) {
      s.withdrawn = false;
      s.capital = equity;
      s.limit = std::max(p.vol_withdraw, 1.5 * m.volatility);
    }
  }
  return !s.withdrawn;
}

// The inventory (lots, either side) they may carry at this annualised
// volatility: inventory_limit, shrunk by their value-at-risk budget above
// var_volatility.
inline double maker_room(const MarketMakerParams& p, double volatility) noexcept {
  const auto limit = static_cast<double>(p.inventory_limit);
  if (p.var_volatility <= 0.0 || !(volatility > p.var_volatility)) return limit;
  return limit * (p.var_volatility / volatility);
}

// The ladder: `levels` bids and asks of `size` lots around the reference price,
// the innermost `offset` of it away (at least the half spread), the others
// `level_spacing` of it apart (at least a tick); only the sides they quote.
// `room` is the inventory they may carry now (maker_room): at or beyond it
// they quote only the side that brings it back. The lean prices inventory
// against inventory_limit whatever the room. Each quote goes to `emit` as it
// is priced (bid, ask, next level): the simulation sends them to the book
// without a scratch list. A covering one-sided dealer's closing quote comes last.
template <class Emit>
inline void maker_ladder(const MarketMakerParams& p, const MarketView& m, Qty inventory, Qty size, AccountId owner,
                         double room, bool cover, Emit&& emit) {
  const double half = maker_half_spread(p, m);
  const double lean =
      -static_cast<double>(inventory) / static_cast<double>(std::max<std::int64_t>(p.inventory_limit, 1));
  // Dealers see other venues: they quote around a blend of fair value and this book's trades.
  const double anchor = p.fair_weight * m.fair + (1.0 - p.fair_weight) * m.reference;
  const double centre = anchor + lean * (p.inventory_skew > 0.0 ? p.inventory_skew * anchor : half);
  const auto held = static_cast<double>(inventory);
  const bool bids = held < room && p.sides != kQuoteAsks;
  const bool asks = held > -room && p.sides != kQuoteBids;
  const double inner = std::max({1.0, half, p.offset * centre});
  const double spacing = std::max(1.0, p.level_spacing * centre);
  for (std::int64_t level = 0; level < p.levels; ++level) {
    const double away = inner + spacing * static_cast<double>(level);
    if (bids)
      emit(Message{0,
                   std::max<Price>(1, static_cast<Price>(std::floor(centre - away))),
                   size,
                   owner,
                   static_cast<std::uint8_t>(MsgType::Limit),
                   static_cast<std::uint8_t>(Side::Buy),
                   {}});
    if (asks)
      emit(Message{0,
                   std::max<Price>(2, static_cast<Price>(std::ceil(centre + away))),
                   size,
                   owner,
                   static_cast<std::uint8_t>(MsgType::Limit),
                   static_cast<std::uint8_t>(Side::Sell),
                   {}});
  }
  if (!cover) return;
  if (p.sides == kQuoteAsks && inventory < 0)
    emit(Message{0,
                 std::max<Price>(1, static_cast<Price>(std::floor(centre * (1.0 + p.cover_offset)))),
                 -inventory,
                 owner,
                 static_cast<std::uint8_t>(MsgType::Limit),
                 static_cast<std::uint8_t>(Side::Buy),
                 {}});
  else if (p.sides == kQuoteBids && inventory > 0)
    emit(Message{0,
                 std::max<Price>(2, static_cast<Price>(std::ceil(centre * (1.0 - p.cover_offset)))),
                 inventory,
                 owner,
                 static_cast<std::uint8_t>(MsgType::Limit),
                 static_cast<std::uint8_t>(Side::Sell),
                 {}});
}

// The ladder (maker_ladder) as a list.
inline void maker_quotes(const MarketMakerParams& p, const MarketView& m, Qty inventory, Qty size, AccountId owner,
                         double room, bool cover, std::vector<Message>& out) {
  maker_ladder(p, m, inventory, size, owner, room, cover, [&out](const Message& q) { out.push_back(q); });
}

}  // namespace deleverage::populations
