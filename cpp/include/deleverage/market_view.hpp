// What a strategy sees of its market at a decision.
#pragma once

namespace deleverage {

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
