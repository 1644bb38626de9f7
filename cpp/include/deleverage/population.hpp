// A population: a contiguous block of accounts sharing one strategy, with
// per-account heterogeneity in the `param` column (see each strategy's file).
#pragma once

#include <vector>

#include <cstdint>

#include "deleverage/codes.hpp"

namespace deleverage {

// Hold: accounts that never trade of their own accord (a snapshot's accounts that
// follow no strategy): they keep their positions until a liquidation closes them.
enum class Strategy : std::uint8_t {
  Speculator = 0,
  Noise = 1,
  Value = 2,
  MarketMaker = 3,
  Holder = 4,
  Allocator = 5,
  Hold = 6
};

struct PopulationSpec {
  Strategy strategy = Strategy::Noise;
  std::uint32_t first = 0;  // first account id
  std::uint32_t count = 0;
  std::uint16_t instrument = 0;  // the home instrument (makers quote here)
  // Every instrument the population trades, home first; its accounts' budget is
  // split equally between them (several need cross margin).
  std::vector<std::uint16_t> instruments;
  double activity = 0.0;  // probability an account acts in a step, in (0, 1]

  // Speculators: momentum of the last price, EMAs with these per-step weights
  // (allocators: slow_alpha weighs their volatility estimate).
  double fast_alpha = 0.01;
  double slow_alpha = 0.001;
  double threshold = 0.0005;
  double max_leverage = 50.0;
  double short_fraction = 1.0;  // of the target leverage taken short (0: long-only, flat instead)
  // Noise traders.
  double limit_share = 0.5;
  std::int64_t limit_offset_ticks = 20;
  double sentiment_persistence = 0.0;  // AR(1) coefficient of the mood, per step
  double sentiment_volatility = 0.0;   // its innovation's standard deviation
  // Value traders.
  double capital_fraction = 0.5;
  double aggressiveness = 5.0;
  double vol_reference = 0.3;
  double vol_exit = 1.0;
  double leverage = 1.0;
  double reach = 1.0;          // how far toward fair value their limit price goes (1: at fair)
  bool hold_when_out = false;  // above vol_exit: keep the position (true) or close it (false)
  bool hold_to_fair = false;   // reduce a position only once the price has crossed fair value
  // (calm_steps, below: value traders stay out until volatility has been under
  // vol_exit that many steps in a row.)
  // Market makers.
  std::int64_t levels = 5;
  std::int64_t base_spread_ticks = 2;
  double vol_spread_factor = 10.0;
  std::int64_t inventory_limit = 1000;
  double vol_withdraw = 1.0;
  double loss_withdraw = 0.2;
  std::int64_t calm_steps = 600;  // also value traders' wait after a storm (0 for none)
  double fair_weight = 0.5;       // of fair value in the price they quote around
  // Per-step weight of their average of log(last / fair), the basis this book
  // trades at: they quote around fair value times exp(basis). 0: no basis.
  // While every dealer of the population is out, the basis is the book's own.
  double basis_alpha = 0.0;
  double max_basis = 1e300;  // the basis they quote is held within +-max_basis (log)
  // Other instruments whose realized volatility counts against vol_withdraw too
  // (one risk limit across a bank's desks).
  std::vector<std::uint16_t> stress_instruments;
  // Long-term holders.
  double holder_alpha = 1e-5;
  double dip = 0.03;
  double budget_fraction = 0.1;
  // Allocators (max_leverage caps them too).
  double vol_target = 0.0;      // annualised; 0: no volatility targeting
  double rebalance_band = 0.1;  // relative drift from target before they trade
};

// What a strategy sees of its market at a decision.
struct MarketView {
  double last = 0.0;        // ticks
  double reference = 0.0;   // ticks: a short average of trade prices
  double mid = 0.0;         // ticks (last when one side is empty)
  double spread = 0.0;      // ticks; infinite when a side is empty
  double fair = 0.0;        // ticks
  double volatility = 0.0;  // annualised, realized
  double step_sigma = 0.0;  // one step's standard deviation of log price (realized)
  double tick_value = 1.0;
  double initial_rate = 1.0;
};

}  // namespace deleverage
