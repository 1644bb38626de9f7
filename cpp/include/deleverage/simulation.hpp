// The clock. Each step: fair values move (scheduled shocks land); exchange
// policy applies; market makers requote; the accounts due this step decide and
// send orders through the books in a seeded random interleaving; marks update
// and the liquidation loop runs until calm; the step is recorded (recording.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "deleverage/activation_calendar.hpp"
#include "deleverage/copied_ptr.hpp"
#include "deleverage/counter_rng.hpp"
#include "deleverage/decision_batch.hpp"
#include "deleverage/fundamental.hpp"
#include "deleverage/limits.hpp"
#include "deleverage/margin_engine.hpp"
#include "deleverage/order_book.hpp"
#include "deleverage/population.hpp"
#include "deleverage/populations/market_maker.hpp"
#include "deleverage/price_path.hpp"
#include "deleverage/radix_sort.hpp"
#include "deleverage/recording.hpp"
#include "deleverage/step_phases.hpp"
#include "deleverage/step_pool.hpp"
#include "deleverage/strategy_kernels.hpp"

namespace deleverage {

// A scheduled exchange notice: from `step` on, `instrument` uses `rule`.
struct ScheduledRule {
  std::uint64_t step;
  std::uint16_t instrument;
  MarginRule rule;

  bool operator==(const ScheduledRule&) const = default;
};

// A scheduled change of a population's behaviour (a central bank relieving
// dealers' balance sheets, a broker cutting leverage): from `step` on,
// population `population` acts with probability `activity` a step and decides
// with `params` (the same strategy; per-account parameters are not redrawn).
struct ScheduledParams {
  std::uint64_t step;
  std::uint16_t population;
  double activity;
  StrategyParams params;

  bool operator==(const ScheduledParams&) const = default;
};

struct VolatilityTrigger {
  std::uint16_t instrument;
  double window_steps;  // steps of its realized-volatility average
  double threshold;     // annualised realized volatility
  MarginRule rule;

  bool operator==(const VolatilityTrigger&) const = default;
};

struct SimulationSpec {
  double dt = 1.0;  // seconds
  std::uint64_t steps = 0;
  std::uint64_t seed = 0;
  std::uint64_t leverage_every = 1;           // steps between leverage samples
  double volatility_window = 300.0;           // steps of the realized-volatility average
  std::vector<FundamentalSpec> fundamentals;  // per instrument, in price units
  std::vector<double> tick_size;              // price units per tick
  std::vector<Price> start_ticks;
  std::vector<MarkRule> mark_rules;
  std::vector<PopulationSpec> populations;          // contiguous, in account order
  std::vector<ScheduledRule> margin_changes;        // sorted by step
  std::vector<ScheduledParams> population_changes;  // sorted by step
  std::vector<VolatilityTrigger> triggers;
  bool trade_log = false;  // keep every trade in recording().trades
  // A due trader's order is sized from its opening position plus what its resting
  // orders traded earlier in the step (fills settle at the step's end); false: from
  // the opening position alone.
  bool count_resting_fills = false;
  // Market makers requote together: every maker's ladder is cancelled before any
  // is posted, so no maker's new quote trades against another's stale one (at
  // steps over which the fair value moves many ticks, makers requoting in turn
  // pick off each other's last-step quotes); false: each cancels and posts in turn.
  bool requote_together = false;
  // Share of the insurance fund's position (taken over from liquidations) it
  // sells back through the book each step, as market orders (0: it holds).
  double fund_unwind_share = 0.0;
  // Its price band: 0 sells at market; b > 0 sells only at b (relative) or
  // less under the index (buys at b or less over it), immediate-or-cancel, so
  // an empty book is not sold through.
  double fund_unwind_band = 0.0;
  // Correlated fair values: the shocks of step t are B z with z independent
  // standard normals (instruments x instruments, row-major, B B^T the
  // correlation matrix); empty: independent.
  std::vector<double> loadings;

  bool operator==(const SimulationSpec&) const = default;
};

class Simulation {
 public:
  // The clock's step: buffers sized in steps of kReturnSeconds (300 s) stay below
  // 300,000 entries.
  static constexpr double kMinDt = limits::kDt.lo;
  static constexpr double kMaxDt = limits::kDt.hi;
  // `param`: one number per account, its strategy's heterogeneous parameter.
  Simulation(SimulationSpec spec, std::unique_ptr<MarginEngine> engine, std::vector<double> param);

  // Run the steps from where it stopped up to `until` (exclusive; past the last
  // step: to the end); `interrupted` is asked now and then (Ctrl-C). Returns
  // false if it said yes. `threads` (1..StepPool::kMaxThreads) share the
  // gathering of each step's due accounts; the result is the same bit for bit
  // whatever their number, and wherever the run stopped and went on.
  bool run(const std::function<bool()>& interrupted, std::size_t threads = 1, std::uint64_t until = UINT64_MAX);

  // A copy of this run at its step (steps_done()) that goes on under `future`,
  // a world that agrees with this run's up to that step (first_difference,
  // run_agreement.hpp): what differs is scheduled from then on. Its result is
  // the same bit for bit as a run of `future` from the start with the same
  // accounts and seed. Throws std::invalid_argument if `future` differs earlier.
  std::unique_ptr<Simulation> fork(const SimulationSpec& future) const;

  // Steps with fewer due accounts than this gather on one thread: below it the
  // handoff costs more than it saves.
  static constexpr std::size_t kParallelGather = 256;

  const Recording& recording() const noexcept { return recording_; }
  const MarginEngine& engine() const noexcept { return *engine_; }
  std::uint64_t steps_done() const noexcept { return done_; }
  std::uint64_t steps() const noexcept { return spec_.steps; }
  std::uint64_t messages() const noexcept { return messages_; }
  std::uint64_t decisions() const noexcept { return decisions_; }

  // Time each phase of the steps run from now on (off: as before, at no
  // cost); the totals add up over runs. What is timed never changes a result.
  void time_phases(bool on) noexcept { timer_.enable(on); }
  // Wall seconds spent in phase p over the steps timed so far.
  double phase_seconds(StepPhase p) const noexcept { return timer_.seconds(p); }

  // Recorded paths for instrument i, before the run: `fair` (if not empty)
  // replaces its fair value's process, `index` (if not empty) is the index of
  // other venues its mark rule reads (else the fair value); both take the
  // instrument's jumps on top and need at least one value per step.
  void follow_paths(std::size_t i, PricePath fair, PricePath index);

  // Before the run: accounts first..first+n-1 open positions (n x I lots) at entry
  // prices (n x I ticks), as a snapshot of accounts describes them.
  void open_positions(std::size_t first, std::size_t n, const Qty* position, const double* entry);

  // At `step` (not yet run), an outside trader sends a market order for `lots`
  // of instrument (negative: a sale), after the makers requote (a new forced seller).
  void schedule_forced_order(std::uint64_t step, std::size_t instrument, Qty lots);

 private:
  // fork()'s copy: every part of the state, the engine and books copied.
  Simulation(const Simulation&) = default;
  // The schedules' entries are valid (at construction, and for a fork's future).
  void check_schedules() const;
  // At construction: population p's accounts open the positions their first
  // decision would target (PopulationSpec::open_at_target).
  void open_at_target(std::size_t p);
  // Population p's decisions on its k-th instrument for the batch gathered, seeing market m
  // (and the volatility its own measure gives, where it keeps one).
  void decide(std::size_t p, std::size_t k, MarketView m);
  // The highest realized volatility among a value population's stress
  // instruments (0 for none, and for other strategies).
  double stress_volatility(const PopulationSpec& pop) const noexcept;

  // Population p's parameters and activity as the engine can run them (`where` names them in errors).
  void check_population(const PopulationSpec& pop, const std::string& where) const;
  // From step t on: a scheduled change of a population's parameters.
  void change_population(const ScheduledParams& change);

  // Realized volatility uses returns over five minutes (at least one step):
  // one-second returns of traded prices are mostly bid-ask bounce.
  static constexpr double kReturnSeconds = 300.0;

  std::size_t return_horizon_ = 1;  // steps in kReturnSeconds (at least one)

  struct Signals {  // per instrument
    double last;
    double reference;  // a short average of trade prices (what makers quote around)
    double variance;   // EWMA, per step, of squared return_horizon_-step log returns of the last price / horizon
    double volume;
    std::vector<double> history;  // the last return_horizon_ last prices (ring)
    // The same EWMA of pi/2 |r_t| |r_{t - 2 horizon}| / horizon (bipower
    // variation of returns that share no price: one stray print moves two
    // successive returns, and each meets an ordinary one here).
    double robust_variance = 0.0;
    std::vector<double> returns;  // the last 2 * return_horizon_ returns (ring)
  };
  // Instrument i's view with the robust volatility (Signals::robust_variance).
  MarketView robust_view(std::size_t i) const noexcept;
  void step(std::uint64_t t);
  MarketView view(std::size_t i) const noexcept;
  void schedule_next(std::uint32_t a, std::uint64_t t);
  std::uint64_t next_step(std::uint32_t a, std::uint64_t t) const noexcept;  // when a, acting at t, acts next
  std::uint64_t next_step(std::uint32_t a, std::size_t p, std::uint64_t t) const noexcept;  // a of population p
  // The population of account a, from the populations' bounds (no lookup in a
  // per-account table: the due accounts come in random order).
  std::uint16_t population_at(std::uint32_t a) const noexcept {
    if (population_end_.size() > kCountedPopulations) return population_of_[a];
    std::uint16_t p = 0;
    for (const std::uint32_t end : population_end_) p = static_cast<std::uint16_t>(p + (a >= end ? 1 : 0));
    return p;
  }
  static constexpr std::size_t kCountedPopulations = 32;
  void prefetch_orders(std::uint32_t a, std::size_t p) const noexcept;
  std::uint8_t resting_books(std::uint32_t a, std::size_t p) const noexcept;  // resting_'s bits for a
  // The due accounts' rows into their populations' batches: appended on one
  // thread, or (kAtSlot) written at slot_, which threads sharing a step may do.
  template <bool kAtSlot>
  void gather(std::uint32_t a, std::size_t p, std::size_t slot) noexcept(kAtSlot);
  template <bool kAtSlot>
  void gather_range(std::size_t lo, std::size_t hi, std::uint64_t t) noexcept(kAtSlot);
  // The decision uniforms of account a (population p, one that draws) at its place in the batches.
  void draw(std::uint32_t a, std::size_t p, std::size_t slot, std::uint64_t t) noexcept;
  void prefetch_account(std::uint32_t a) const noexcept;
  static std::uint32_t account_of(std::uint64_t key) noexcept { return static_cast<std::uint32_t>(key); }
  void decide_batches();
  void act(std::size_t p, std::size_t c, std::size_t rank);
  // The accounts due at step t (taken off the calendar) into `due`, and in `order` their shuffle keys, sorted.
  void shuffle_due(std::uint64_t t, std::vector<std::uint32_t>& due, std::vector<std::uint64_t>& order);
  // This step's accounts on the calendar again, at the steps gathered for them.
  void schedule_due();
  void submit(std::size_t i, const Message& m);
  void requote_makers();
  void unwind_fund(std::uint64_t t);
  void record(std::size_t log_before);
  void log_trade(std::uint64_t t, std::size_t i, const Fill& f, bool liquidation);
  void sample_leverage(std::uint64_t t);
  void leverage_sums(std::size_t p, double& notional, double& equity) const noexcept;

  SimulationSpec given_;  // the spec as given: what a fork's future must agree with
  SimulationSpec spec_;   // as run: populations settled, and changed as scheduled
  CopiedPtr<MarginEngine> engine_;
  std::vector<CopiedPtr<OrderBook>> books_;  // the engine keeps their addresses
  std::vector<double> param_;
  std::vector<std::uint16_t> population_of_;
  std::vector<std::uint32_t> population_end_;  // one past each population's last account
  std::vector<Fundamental> fundamentals_;
  std::vector<double> fair_ticks_;
  std::vector<Signals> signals_;
  std::vector<PopulationState> states_;
  std::vector<std::vector<Fill>> step_fills_;  // per instrument
  std::vector<Fill> scratch_;
  std::vector<std::uint32_t> due_;
  std::vector<std::uint64_t> order_;  // shuffle keys: a random draw above, the account below
  RadixSorter sorter_;                // sorts order_ each step
  // With helper threads, the next step's order_ is made while this step's fills
  // settle (the calendar is done with by then): it waits here for step ahead_.
  static constexpr std::uint64_t kNothingAhead = UINT64_MAX;
  std::vector<std::uint64_t> order_ahead_;
  std::uint64_t ahead_ = kNothingAhead;
  std::vector<std::uint64_t> next_due_;  // this step's due accounts' next steps, in order_'s order
  std::vector<std::uint32_t> slot_;      // each due account's place in its population's batches, in order_'s order
  std::vector<std::uint16_t> due_population_;  // each due account's population, in order_'s order
  // Each due account's books (bit k: its population's k-th instrument) where
  // it had resting orders when gathered; where it had none it has none when it
  // acts (only it rests its orders), so it need not look there again.
  std::vector<std::uint8_t> resting_;
  // With count_resting_fills: where each due account acts, and what its resting orders trade before.
  static constexpr std::uint32_t kNotDue = UINT32_MAX;
  std::vector<std::uint32_t> due_rank_;  // per account: its place in this step's order_, or kNotDue
  std::vector<Qty> pending_;             // per place in order_ and instrument: lots traded this step
  StepPool* pool_ = nullptr;             // the run's helper threads (none: one thread)
  std::vector<double> log_idle_;         // per population: log(1 - activity) (0 when it acts every step)
  std::vector<Price> index_;
  std::vector<PricePath> index_paths_;  // per instrument (empty: the index is the fair value)
  struct ForcedOrder {
    std::uint64_t step;
    std::size_t instrument;
    Qty lots;
  };
  std::vector<ForcedOrder> forced_;  // sorted by step
  std::size_t next_forced_ = 0;
  std::vector<bool> trigger_fired_;
  std::vector<double> trigger_variance_;  // per trigger: the same estimator as Signals::variance, over its own window
  std::vector<double> step_return_;  // per instrument: this step's return_horizon_-step log return of the last price
  std::vector<double> step_volume_;  // per instrument: the lots traded this step, forced sales to the book included
  std::vector<double> leverage_scratch_;
  std::vector<std::size_t> leverage_chunk_;    // with helper threads: which one sums each population
  std::vector<double> draws_;                  // this step's independent normal draws, one per instrument
  std::vector<double> shocks_;                 // the fair values' shocks made of them (correlated)
  std::vector<BookTrade> liquidation_trades_;  // the engine writes here when trades are logged
  std::uint64_t now_ = 0;                      // the step being run
  ActivationCalendar calendar_;
  CounterRng rng_;
  Recording recording_;
  std::size_t next_change_ = 0;
  std::size_t next_population_change_ = 0;
  std::uint64_t done_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t decisions_ = 0;
  StepTimer timer_;
};

}  // namespace deleverage
