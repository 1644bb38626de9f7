// What a simulation writes down: one record per step and instrument, samples
// of each population's aggregate leverage, and (in the margin engine) the log
// of every liquidation.
#pragma once

#include <cstdint>
#include <vector>

namespace deleverage {

// All doubles, so a run's series is one flat numpy structured array.
struct StepRecord {
  double last;
  double mid;
  double mark;
  double fair;
  double best_bid;  // NaN when the side is empty
  double best_ask;
  double spread;
  double depth_bid;  // lots within 1% below the mid
  double depth_ask;  // lots within 1% above the mid
  double volume;     // lots traded in the step
  double open_interest;
  double liquidated_long;  // accounts whose long was liquidated in the step
  double liquidated_short;
  double liquidated_long_notional;
  double liquidated_short_notional;
  double insurance_fund;
  double adl;  // auto-deleveraging events
  double active_makers;
  double volatility;    // realized, annualised
  double adl_notional;  // money the auto-deleveraged accounts closed in the step, at the bankruptcy price
  double adl_accounts;  // opposite positions (accounts) auto-deleveraged in the step
  double bad_debt;      // money lost past zero on this instrument's closes so far (negative-balance protection)
  double bankrupt;      // accounts of the whole venue found bankrupt so far
  // The equity of the fund that serves this instrument (its cash and the
  // positions it took over, at the marks): below zero it has run dry.
  double fund_equity;
};
static_assert(sizeof(StepRecord) == 24 * sizeof(double));

// One trade, when the run keeps a trade log. 40 bytes.
struct TradeRecord {
  std::uint64_t step;
  std::int64_t price;   // ticks
  std::int64_t qty;     // lots
  std::uint32_t buyer;  // account id (outside ids for participants that are not accounts)
  std::uint32_t seller;
  std::uint16_t instrument;
  std::uint8_t aggressor;    // 0: the buyer took liquidity, 1: the seller did
  std::uint8_t liquidation;  // 1: the taker was a liquidation order
  std::uint32_t pad_ = 0;
};
static_assert(sizeof(TradeRecord) == 40);

struct Recording {
  std::vector<StepRecord> steps;  // [step * instruments + instrument]
  std::vector<std::uint64_t> sample_steps;
  // [sample * populations + population]: gross notional at the marks and the sum
  // of positive equities (their ratio is the population's leverage).
  std::vector<double> notional;
  std::vector<double> equity;
  std::vector<std::int64_t> trigger_steps;  // per volatility trigger: the step it fired, or -1
  std::vector<TradeRecord> trades;          // in the order they happened, if kept
};

}  // namespace deleverage
