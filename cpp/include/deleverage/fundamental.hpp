// An instrument's fair value: a log-normal or mean-reverting diffusion with
// scheduled shocks (a jump, a new drift, a new volatility from a step on), and
// optionally a stochastic volatility: news arrives in clusters, so the
// diffusion's volatility is its level times exp(x - vol_of_vol^2), with x a
// Gaussian AR(1) of stationary deviation vol_of_vol and half-life
// vol_half_life; the -vol_of_vol^2 keeps the mean variance at the level's.
// Waypoints pin the path to a story's levels: up to each waypoint the log
// value is a Brownian bridge to it (the same local volatility, drift and
// reversion replaced by the pull to the waypoint); after the last, the
// diffusion above. A jump between two waypoints is absorbed by the next one.
// A followed path (follow()) replaces the process: the value at each step is
// the path's, times the exponential of the jumps landed so far; drift,
// volatility and waypoints are then not used.
#pragma once

#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "deleverage/price_path.hpp"

namespace deleverage {

enum class ShockKind : std::uint8_t { Jump = 0, Drift = 1, Volatility = 2 };

struct Shock {
  std::uint64_t step;
  ShockKind kind;
  double value;  // jump: log change; drift, volatility: new annualised value
};

// The log value the path reaches at `step` (before a jump of that step).
struct Waypoint {
  std::uint64_t step;
  double log_value;
};

struct FundamentalSpec {
  double start = 1.0;       // price units
  double drift = 0.0;       // per year
  double volatility = 0.0;  // per sqrt(year)
  bool mean_reverting = false;
  double reversion = 0.0;           // per year
  double anchor = 0.0;              // price units (mean-reverting)
  double vol_of_vol = 0.0;          // stationary std of log volatility (0: constant)
  double vol_half_life = 86400.0;   // seconds
  std::vector<Shock> shocks;        // sorted by step
  std::vector<Waypoint> waypoints;  // strictly increasing steps
};

class Fundamental {
 public:
  static constexpr double kYear = 365.0 * 86400.0;

  Fundamental(FundamentalSpec spec, double dt_seconds)
      : spec_(std::move(spec)),
        log_value_(std::log(spec_.start)),
        drift_(spec_.drift),
        volatility_(spec_.volatility),
        dt_(dt_seconds / kYear),
        persistence_(std::exp(-std::log(2.0) * dt_seconds / spec_.vol_half_life)),
        innovation_(spec_.vol_of_vol * std::sqrt(1.0 - persistence_ * persistence_)) {}

  bool stochastic_volatility() const noexcept { return spec_.vol_of_vol > 0.0; }

  // Follow `path` (at least as many steps as the run) instead of the diffusion.
  void follow(PricePath path) noexcept { path_ = std::move(path); }
  bool follows_path() const noexcept { return !path_.empty(); }
  // The sum of the jumps landed so far (log units).
  double jumps() const noexcept { return jumps_; }

  // Advance to `step` with the standard normal z (and z_vol, the log volatility's
  // own draw, used only with a stochastic volatility); returns the fair value.
  double advance(std::uint64_t step, double z, double z_vol = 0.0) noexcept {
    double jump = 0.0;
    while (next_ < spec_.shocks.size() && spec_.shocks[next_].step <= step) {
      const Shock& s = spec_.shocks[next_++];
      if (s.kind == ShockKind::Jump) jump += s.value;
      if (s.kind == ShockKind::Drift) drift_ = s.value;
      if (s.kind == ShockKind::Volatility) volatility_ = s.value;
    }
    jumps_ += jump;
    if (!path_.empty()) {
      // exp(0) is exactly 1: without jumps the value is the path's, bit for bit.
      path_value_ = path_.at(step) * std::exp(jumps_);
      return path_value_;
    }
    double sigma = volatility_;
    if (stochastic_volatility()) {
      // The first step starts x from its stationary law, so no window is calmer by design.
      log_vol_ = started_ ? persistence_ * log_vol_ + innovation_ * z_vol : spec_.vol_of_vol * z_vol;
      started_ = true;
      sigma *= std::exp(log_vol_ - spec_.vol_of_vol * spec_.vol_of_vol);
    }
    const double diffusion = sigma * std::sqrt(dt_) * z;
    if (waypoint_ < spec_.waypoints.size()) {
      // Bridge: of the n increments left to the waypoint (this one included),
      // this one takes 1/n of the gap and keeps (n-1)/n of the step's variance.
      const Waypoint& w = spec_.waypoints[waypoint_];
      const auto n = static_cast<double>(w.step - step + 1);
      if (w.step == step) {
        log_value_ = w.log_value;  // exactly, whatever rounding came before
        ++waypoint_;
      } else {
        log_value_ += (w.log_value - log_value_) / n + diffusion * std::sqrt((n - 1.0) / n);
      }
    } else if (spec_.mean_reverting) {
      log_value_ += spec_.reversion * (std::log(spec_.anchor) - log_value_) * dt_ + diffusion;
    } else {
      log_value_ += (drift_ - 0.5 * sigma * sigma) * dt_ + diffusion;
    }
    log_value_ += jump;
    return value();
  }

  double value() const noexcept { return path_.empty() ? std::exp(log_value_) : path_value_; }

 private:
  FundamentalSpec spec_;
  double log_value_;
  double drift_;
  double volatility_;
  double dt_;
  double persistence_;    // of x per step
  double innovation_;     // std of x's step innovation
  double log_vol_ = 0.0;  // x
  bool started_ = false;
  std::size_t next_ = 0;
  std::size_t waypoint_ = 0;  // the next waypoint ahead
  double jumps_ = 0.0;
  PricePath path_;
  double path_value_ = 0.0;
};

}  // namespace deleverage
