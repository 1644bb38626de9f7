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
  double volatility;  // realized, annualised
};
static_assert(sizeof(StepRecord) == 19 * sizeof(double));

struct Recording {
  std::vector<StepRecord> steps;         // [step * instruments + instrument]
  std::vector<std::uint64_t> sample_steps;
  std::vector<double> leverage;          // [sample * populations + population]: notional / equity
  std::vector<std::int64_t> trigger_steps;  // per volatility trigger: the step it fired, or -1
};

}  // namespace deleverage
