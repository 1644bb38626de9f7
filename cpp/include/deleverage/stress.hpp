// Stress tests of a book of accounts without agents: for each shock, a fresh
// margin engine holds the same accounts, the shocked instrument's mark moves
// by the shock's multipliers (one check per multiplier), and the outcome is
// read off the liquidation log. With a depth profile, each check's book is
// the venue's depth as given, quoted around the shocked price by an outside
// owner; liquidation orders sell into it and marks follow the book's rule.
// Without one, every lot a liquidation closes goes to the insurance fund or
// to auto-deleveraging (the margin oracle's configuration). Shocks are
// independent and run on threads; the outcome of each depends only on it.
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/margin_engine.hpp"

namespace deleverage {

// The outside liquidity of one instrument: `levels` price levels each side of
// the shocked price, `lots` each, `spacing` apart (a fraction of the price).
struct DepthProfile {
  std::int64_t levels = 0;  // 0: no book
  Qty lots = 0;
  double spacing = 0.001;
};

// A shock: instrument's mark is its start price times each multiplier in turn.
struct StressShock {
  std::uint16_t instrument = 0;
  std::vector<double> multipliers;
};

// The accounts of a book, borrowed (n rows; position and entry n x I, entry in ticks).
struct StressAccounts {
  std::size_t n = 0;
  const double* cash = nullptr;
  const std::uint16_t* instrument = nullptr;
  const Qty* position = nullptr;
  const double* entry = nullptr;
  const std::uint8_t* mode = nullptr;
};

struct StressOutcome {
  std::uint64_t accounts_liquidated;  // distinct accounts with a close of kind 0-3
  double liquidated_notional;         // money: lots x price x tick value, kinds 0-3
  double book_notional;               // the part sold into the book (kind 1)
  double slippage;                    // of book sales against the mark: sum |price - mark| lots / sum mark lots
  // The equity of the insurance fund that serves the shocked instrument (the
  // venue's, or the instrument's own): its cash and the unrealized PnL, at the
  // marks, of the positions it took over; at the start, its lowest after a
  // check, at the end.
  double fund_start;
  double fund_low;
  double fund_end;
  std::uint64_t adl_events;  // kind 3 records
  double adl_notional;       // money taken from opposite positions (kind 4)
  double bad_debt;
  std::uint64_t bankrupt_accounts;
  double lowest_mark;  // ticks, of the shocked instrument, over the checks
};

struct StressInputs {
  std::vector<double> tick_values;
  std::vector<MarginRule> rules;
  EngineSettings settings;
  std::vector<Price> start_ticks;
  std::vector<MarkRule> mark_rules;
  std::vector<DepthProfile> depth;  // per instrument (empty: no books)
};

// One shock; `log` (if not null) receives its liquidation records.
StressOutcome run_stress(const StressInputs& in, const StressAccounts& accounts, const StressShock& shock,
                         std::vector<LiquidationRecord>* log);

// Every shock, on up to `threads` threads; logs[k] filled when keep_logs.
std::vector<StressOutcome> run_stress_grid(const StressInputs& in, const StressAccounts& accounts,
                                           const std::vector<StressShock>& shocks, unsigned threads, bool keep_logs,
                                           std::vector<std::vector<LiquidationRecord>>* logs);

}  // namespace deleverage
