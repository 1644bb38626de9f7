// A population: a contiguous block of accounts sharing one strategy, with
// per-account heterogeneity in the `param` column (see each strategy's file).
// What every population has (its accounts, instruments, activity) is here;
// what its strategy needs is that strategy's own parameter struct, held in a
// variant whose index is the Strategy.
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "deleverage/market_view.hpp"
#include "deleverage/populations/allocator.hpp"
#include "deleverage/populations/hold.hpp"
#include "deleverage/populations/holder.hpp"
#include "deleverage/populations/market_maker.hpp"
#include "deleverage/populations/noise.hpp"
#include "deleverage/populations/speculator.hpp"
#include "deleverage/populations/value.hpp"

namespace deleverage {

// In the order of StrategyParams' alternatives. Hold: accounts that never trade
// of their own accord (a snapshot's accounts that follow no strategy).
enum class Strategy : std::uint8_t {
  Speculator = 0,
  Noise = 1,
  Value = 2,
  MarketMaker = 3,
  Holder = 4,
  Allocator = 5,
  Hold = 6
};

using StrategyParams = std::variant<populations::SpeculatorParams, populations::NoiseParams, populations::ValueParams,
                                    populations::MarketMakerParams, populations::HolderParams,
                                    populations::AllocatorParams, populations::HoldParams>;

struct PopulationSpec {
  std::uint32_t first = 0;  // first account id
  std::uint32_t count = 0;
  std::uint16_t instrument = 0;  // the home instrument (makers quote here)
  // Every instrument the population trades, home first (several need cross margin).
  std::vector<std::uint16_t> instruments;
  // Each instrument's share of an account's equity and cash, in `instruments`'
  // order, each in (0, 1] and summing to 1; empty: split equally.
  std::vector<double> budget_shares;
  double activity = 0.0;  // probability an account acts in a step, in (0, 1]
  StrategyParams params;  // the strategy's own parameters
  // Its accounts start holding the position their first decision would target,
  // at the start prices, the other side outside the venue: a market already in
  // place rather than every account building its book against the dealers at
  // once. Only for strategies that decide without drawing.
  bool open_at_target = false;

  Strategy strategy() const noexcept { return static_cast<Strategy>(params.index()); }

  bool operator==(const PopulationSpec&) const = default;
};

}  // namespace deleverage
