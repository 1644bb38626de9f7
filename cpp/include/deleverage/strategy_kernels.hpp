// One table entry per strategy: everything the clock and decide_batch need to
// know about a strategy, so neither switches on it. A strategy that decides in
// batches names its signal (what its kernel reads of the population's running
// averages), its kernel, and how its averages follow the tape each step; the
// flags say whether its accounts draw uniforms for the kernel, whether its
// limit orders stand until the account's next decision, and whether it quotes
// every step (market makers) instead of deciding when due.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "deleverage/counter_rng.hpp"
#include "deleverage/decision_batch.hpp"
#include "deleverage/population.hpp"

namespace deleverage {

// A population's running state, per instrument of the population (in
// PopulationSpec::instruments order) unless said.
struct StrategyKernel;

struct PopulationState {
  const StrategyKernel* kernel = nullptr;       // its strategy's table entry
  std::vector<double> fast;                     // EMAs of the last price (ticks)
  std::vector<double> slow;                     //
  std::vector<double> mood;                     // noise traders' sentiment
  std::vector<double> variance;                 // allocators' and value traders' own EMA of squared step returns
  std::vector<double> basis;                    // makers' EMA of log(last / fair)
  std::vector<double> flow;                     // makers' EMA of the lots traded a step
  std::vector<std::uint64_t> calm_from;         // value traders: the first step they may trade again
  std::vector<std::int8_t> storm_side;          // value traders: the side of fair at the last storm (0: crossed since)
  std::vector<DecisionBatch> batches;           // this step's due accounts (the same accounts in each)
  std::vector<populations::MakerState> makers;  // per account (market makers)
  // Market makers with a value-at-risk budget: their EMA of squared step
  // returns of their own instrument, then of each of their stress_instruments.
  std::vector<double> risk_variance;
  std::size_t cursor = 0;  // the next due account to send its orders
};

// What the tape showed an instrument of the population this step.
struct Tape {
  double price;           // last trade (ticks)
  double step_return;     // the return horizon's log return of the last price
  double fair;            // fair value (ticks)
  double return_horizon;  // steps in that return
  double volatility;      // the instrument's realized volatility (annualised)
  double year_steps;      // steps in a year: annualises a per-step variance
  // Draws of the sentiment stream: step t, index key.
  const CounterRng* rng;
  std::uint64_t t;
  std::uint64_t key;
  double stress_volatility;  // the highest among the population's stress instruments (0: none)
  double volume;             // lots traded this step, forced sales to the book included
};

struct StrategyKernel {
  bool quotes;   // quotes a ladder every step (never due, no batch decision)
  bool draws;    // its kernel reads the uniforms u0, u1, u2
  bool cancels;  // its limit orders stand until its next decision: cancel them first
  // The signal its kernel reads for instrument k of the population at step t (dt: seconds per step).
  double (*signal)(const PopulationState& state, std::size_t k, double dt, std::uint64_t t);
  // Targets and limit prices of a batch (null for a strategy that quotes, and
  // for one that only holds: its accounts are never due).
  void (*decide)(const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b);
  // The running averages after this step's tape, for instrument k.
  void (*observe)(const PopulationSpec& p, PopulationState& state, std::size_t k, const Tape& tape);
  // The volatility its decisions see on instrument k, given the market's
  // (null: the market's realized volatility); year_steps annualises a per-step variance.
  double (*watched)(const PopulationSpec& p, const PopulationState& state, std::size_t k, double market,
                    double year_steps);
};

// The table entry of a strategy.
const StrategyKernel& kernel_of(Strategy s) noexcept;

}  // namespace deleverage
