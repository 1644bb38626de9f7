// An instrument's fair value: a log-normal or mean-reverting diffusion with
// scheduled shocks (a jump, a new drift, a new volatility from a step on), and
// optionally a stochastic volatility: news arrives in clusters, so the
// diffusion's volatility is its level times exp(x - vol_of_vol^2), with x a
// Gaussian AR(1) of stationary deviation vol_of_vol and half-life
// vol_half_life; the -vol_of_vol^2 keeps the mean variance at the level's.
// News also arrives as jumps (news_share > 0): a share of the variance comes as
// items of Gaussian log size at Poisson times, news_rate a day on average, the
// rate scaled by the stochastic variance (busy markets have more news), the
// diffusion's variance cut to the rest, so the volatility stays the total.
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

  bool operator==(const Shock&) const = default;
};

// The log value the path reaches at `step` (before a jump of that step).
struct Waypoint {
  std::uint64_t step;
  double log_value;

  bool operator==(const Waypoint&) const = default;
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
  double news_share = 0.0;          // of the variance, arriving as jumps (0: none)
  double news_rate = 24.0;          // news items a day at the mean volatility
  std::vector<Shock> shocks;        // sorted by step
  std::vector<Waypoint> waypoints;  // strictly increasing steps

  bool operator==(const FundamentalSpec&) const = default;
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
        innovation_(spec_.vol_of_vol * std::sqrt(1.0 - persistence_ * persistence_)),
        news_per_step_(spec_.news_rate * dt_seconds / 86400.0),
        diffusion_share_(std::sqrt(1.0 - spec_.news_share)) {}

  bool stochastic_volatility() const noexcept { return spec_.vol_of_vol > 0.0; }
  bool news() const noexcept { return spec_.news_share > 0.0; }

  // Above this many expected items in one step the count is taken at its mean:
  // the sum of that many Gaussian items is Gaussian to well within 1%.
  static constexpr double kMaxNewsMean = 500.0;

  // News items landing in a step whose expected count is `mean`: the Poisson
  // count whose distribution function first reaches the open uniform u.
  static double news_count(double mean, double u) noexcept {
    if (mean > kMaxNewsMean) return mean;
    double p = std::exp(-mean);
    double cdf = p;
    double k = 0.0;
    // Stop where further terms cannot move the sum (u within rounding of 1).
    while (u > cdf && p > cdf * 1e-17) {
      k += 1.0;
      p *= mean / k;
      cdf += p;
    }
    return k;
  }

  // Follow `path` (at least as many steps as the run) instead of the diffusion.
  void follow(PricePath path) noexcept { path_ = std::move(path); }
  bool follows_path() const noexcept { return !path_.empty(); }
  // The sum of the jumps landed so far (log units).
  double jumps() const noexcept { return jumps_; }

  // From now on, the shocks and waypoints of `future`: the same as this one's
  // up to the step reached (first_difference), so the places reached in both
  // lists hold.
  void reschedule(const FundamentalSpec& future) {
    spec_.shocks = future.shocks;
    spec_.waypoints = future.waypoints;
  }

  // Advance to `step` with the standard normal z (and z_vol, the log volatility's
  // own draw, used only with a stochastic volatility; u_news, an open uniform,
  // and z_news, a standard normal, the news's count and size, used only with
  // news); returns the fair value.
  double advance(std::uint64_t step, double z, double z_vol = 0.0, double u_news = 0.5, double z_news = 0.0) noexcept {
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
    double busy = 1.0;  // the variance's multiple of its level's
    if (stochastic_volatility()) {
      // The first step starts x from its stationary law, so no window is calmer by design.
      log_vol_ = started_ ? persistence_ * log_vol_ + innovation_ * z_vol : spec_.vol_of_vol * z_vol;
      started_ = true;
      const double multiple = std::exp(log_vol_ - spec_.vol_of_vol * spec_.vol_of_vol);
      sigma *= multiple;
      busy = multiple * multiple;
    }
    double diffusion = sigma * std::sqrt(dt_) * z;
    if (news()) {
      // n items of variance q^2 each: news_share of the level's variance a year, in news_rate * 365 items.
      const double count = news_count(news_per_step_ * busy, u_news);
      const double item_variance = spec_.news_share * volatility_ * volatility_ / (spec_.news_rate * 365.0);
      diffusion = diffusion_share_ * diffusion + std::sqrt(count * item_variance) * z_news;
    }
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
  double persistence_;      // of x per step
  double innovation_;       // std of x's step innovation
  double news_per_step_;    // expected news items a step at the mean volatility
  double diffusion_share_;  // of the step's standard deviation left to the diffusion
  double log_vol_ = 0.0;    // x
  bool started_ = false;
  std::size_t next_ = 0;
  std::size_t waypoint_ = 0;  // the next waypoint ahead
  double jumps_ = 0.0;
  PricePath path_;
  double path_value_ = 0.0;
};

}  // namespace deleverage
