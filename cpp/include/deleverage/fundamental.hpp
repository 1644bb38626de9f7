// An instrument's fair value: a log-normal or mean-reverting diffusion with
// scheduled shocks (a jump, a new drift, a new volatility from a step on).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace deleverage {

enum class ShockKind : std::uint8_t { Jump = 0, Drift = 1, Volatility = 2 };

struct Shock {
  std::uint64_t step;
  ShockKind kind;
  double value;  // jump: log change; drift, volatility: new annualised value
};

struct FundamentalSpec {
  double start = 1.0;       // price units
  double drift = 0.0;       // per year
  double volatility = 0.0;  // per sqrt(year)
  bool mean_reverting = false;
  double reversion = 0.0;  // per year
  double anchor = 0.0;     // price units (mean-reverting)
  std::vector<Shock> shocks;  // sorted by step
};

class Fundamental {
 public:
  static constexpr double kYear = 365.0 * 86400.0;

  Fundamental(FundamentalSpec spec, double dt_seconds)
      : spec_(std::move(spec)),
        log_value_(std::log(spec_.start)),
        drift_(spec_.drift),
        volatility_(spec_.volatility),
        dt_(dt_seconds / kYear) {}

  // Advance to `step` with the standard normal z; returns the fair value.
  double advance(std::uint64_t step, double z) noexcept {
    double jump = 0.0;
    while (next_ < spec_.shocks.size() && spec_.shocks[next_].step <= step) {
      const Shock& s = spec_.shocks[next_++];
      if (s.kind == ShockKind::Jump) jump += s.value;
      if (s.kind == ShockKind::Drift) drift_ = s.value;
      if (s.kind == ShockKind::Volatility) volatility_ = s.value;
    }
    const double diffusion = volatility_ * std::sqrt(dt_) * z;
    if (spec_.mean_reverting) {
      log_value_ += spec_.reversion * (std::log(spec_.anchor) - log_value_) * dt_ + diffusion;
    } else {
      log_value_ += (drift_ - 0.5 * volatility_ * volatility_) * dt_ + diffusion;
    }
    log_value_ += jump;
    return value();
  }

  double value() const noexcept { return std::exp(log_value_); }

 private:
  FundamentalSpec spec_;
  double log_value_;
  double drift_;
  double volatility_;
  double dt_;
  std::size_t next_ = 0;
};

}  // namespace deleverage
