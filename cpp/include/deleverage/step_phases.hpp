// Where a run's time goes: the wall time of each phase of a step, summed over
// the steps, when asked for (Simulation::time_phases). A shipped wheel is
// stripped, so a profiler cannot name the engine's functions; these totals
// need no symbols and cost one clock read a phase, only when they are on.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace deleverage {

// The phases of Simulation::step, in the order they run.
enum class StepPhase : std::uint8_t {
  FairValues,       // fair values, scheduled shocks, the index
  Policy,           // scheduled margin and population changes, volatility triggers
  Shuffle,          // the due accounts taken off the calendar, in their seeded order
  Requotes,         // market makers' ladders, the insurance fund's unwind, forced orders
  Gathering,        // the due accounts' rows, next activations and decision draws
  Decisions,        // each population's batch decided
  Orders,           // the due accounts' cancels and orders through the books
  Calendar,         // the due accounts put back on the calendar (one thread)
  Fills,            // the step's fills settled in the margin engine
  Liquidations,     // marks and the liquidation loop
  Signals,          // volatility, volume and what each population observes
  Record,           // the step's record of each book
  LeverageSamples,  // each population's notional and equity, every leverage_every steps
  kCount
};

inline constexpr std::size_t kStepPhases = static_cast<std::size_t>(StepPhase::kCount);

// The names Python sees (Simulation.phase_seconds), in StepPhase's order.
inline constexpr std::array<const char*, kStepPhases> kStepPhaseNames = {
    "fair_values", "policy", "shuffle",      "requotes", "gathering", "decisions",       "orders",
    "calendar",    "fills",  "liquidations", "signals",  "record",    "leverage_samples"};

// Wall time a phase, summed: lap(p) gives the time since the last mark to p.
// Off, every call is one predictable branch. Used by the thread that runs the
// step only; readers take the simulation's lock, as for every other total.
class StepTimer {
 public:
  using Clock = std::chrono::steady_clock;

  void enable(bool on) noexcept { on_ = on; }
  bool enabled() const noexcept { return on_; }

  // The step starts: the first phase is timed from here.
  void start() noexcept {
    if (on_) last_ = Clock::now();
  }
  // The phase p ends now; the next one starts.
  void lap(StepPhase p) noexcept {
    if (!on_) return;
    const Clock::time_point now = Clock::now();
    total_[static_cast<std::size_t>(p)] += now - last_;
    last_ = now;
  }

  double seconds(StepPhase p) const noexcept {
    return std::chrono::duration<double>(total_[static_cast<std::size_t>(p)]).count();
  }

 private:
  bool on_ = false;
  Clock::time_point last_{};
  std::array<Clock::duration, kStepPhases> total_{};
};

}  // namespace deleverage
