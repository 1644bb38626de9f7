#include "deleverage/simulation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "deleverage/counter_rng.hpp"
#include "deleverage/run_agreement.hpp"
#include "deleverage/strategy_kernels.hpp"

namespace deleverage {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The outside trader of scheduled forced orders: past every account, not the fund.
constexpr AccountId kForcedOwner = 0xFFFFFFF1u;

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument(field + ": " + what);
}

// A population's budget shares as given, or equal ones where none are: one per
// instrument, each in (0, 1], summing to 1 (no budget is lost or made).
void settle_budget_shares(PopulationSpec& pop, const std::string& where) {
  const std::size_t n = pop.instruments.size();
  if (pop.budget_shares.empty()) {
    pop.budget_shares.assign(n, 1.0 / static_cast<double>(n));
    return;
  }
  if (pop.budget_shares.size() != n)
    bad(where + ".budget_shares", "need one share per instrument traded (" + std::to_string(n) + "), got " +
                                      std::to_string(pop.budget_shares.size()));
  double sum = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    const double s = pop.budget_shares[k];
    if (!(s > 0.0 && s <= 1.0))
      bad(where + ".budget_shares[" + std::to_string(k) + "]", "must be in (0, 1], got " + std::to_string(s));
    sum += s;
  }
  if (!(std::abs(sum - 1.0) <= 1e-9)) bad(where + ".budget_shares", "must sum to 1, got " + std::to_string(sum));
}

}  // namespace

Simulation::Simulation(SimulationSpec spec, std::unique_ptr<MarginEngine> engine, std::vector<double> param)
    : given_(spec), spec_(std::move(spec)), engine_(std::move(engine)), param_(std::move(param)), rng_(spec_.seed) {
  const std::size_t ni = engine_->instruments();
  if (spec_.fundamentals.size() != ni || spec_.tick_size.size() != ni || spec_.start_ticks.size() != ni ||
      spec_.mark_rules.size() != ni)
    bad("instruments", "need a fundamental, tick size, start price and mark rule per instrument");
  limits::kDt.check(spec_.dt);
  for (std::size_t i = 0; i < ni; ++i) {
    const std::string where = "fundamentals[" + std::to_string(i) + "].";
    limits::kNewsShare.check(spec_.fundamentals[i].news_share, where + "news_share");
    limits::kNewsRate.check(spec_.fundamentals[i].news_rate, where + "news_rate");
  }
  return_horizon_ = static_cast<std::size_t>(std::max(1.0, std::round(kReturnSeconds / spec_.dt)));
  if (spec_.leverage_every < 1) bad("leverage_every", "must be >= 1");
  if (!(spec_.fund_unwind_share >= 0.0 && spec_.fund_unwind_share <= 1.0))
    bad("fund_unwind_share", "must be in [0, 1]");
  if (!(spec_.fund_unwind_band >= 0.0 && spec_.fund_unwind_band < 1.0)) bad("fund_unwind_band", "must be in [0, 1)");
  if (param_.size() != engine_->accounts()) bad("param", "need one value per account");
  population_of_.assign(engine_->accounts(), 0);
  if (spec_.count_resting_fills) due_rank_.assign(engine_->accounts(), kNotDue);
  std::uint32_t expected = 0;
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    const PopulationSpec& pop = spec_.populations[p];
    if (pop.first != expected) bad("populations", "must cover the accounts contiguously, in order");
    const std::string where = "populations[" + std::to_string(p) + "]";
    if (pop.instrument >= ni) bad(where + ".instrument", "unknown instrument");
    if (pop.instruments.empty()) spec_.populations[p].instruments.push_back(pop.instrument);
    if (pop.instruments.front() != pop.instrument) bad(where + ".instruments", "must start with the home instrument");
    for (const auto i : pop.instruments)
      if (i >= ni) bad(where + ".instruments", "unknown instrument " + std::to_string(i));
    if (pop.instruments.size() > 1 && kernel_of(pop.strategy()).quotes)
      bad(where + ".instruments", "market makers quote one instrument");
    settle_budget_shares(spec_.populations[p], where);
    check_population(pop, where);
    std::fill(population_of_.begin() + pop.first, population_of_.begin() + pop.first + pop.count,
              static_cast<std::uint16_t>(p));
    expected += pop.count;
    population_end_.push_back(expected);
  }
  if (expected != engine_->accounts()) bad("populations", "must cover every account");
  check_schedules();
  for (std::size_t k = 0; k < spec_.triggers.size(); ++k)
    if (spec_.triggers[k].instrument >= ni) bad("triggers[" + std::to_string(k) + "].instrument", "unknown instrument");

  for (std::size_t i = 0; i < ni; ++i) {
    fundamentals_.emplace_back(spec_.fundamentals[i], spec_.dt);
    books_.emplace_back(std::make_unique<OrderBook>(StpMode::CancelResting, kDefaultMaxLadderLevels, true));
    engine_->attach_book(i, books_.back().get(), spec_.mark_rules.at(i));
    const auto start = static_cast<double>(spec_.start_ticks[i]);
    signals_.push_back(Signals{start, start, 0.0, 0.0, std::vector<double>(return_horizon_, start), 0.0,
                               std::vector<double>(2 * return_horizon_, 0.0)});
  }
  if (!spec_.loadings.empty() && spec_.loadings.size() != ni * ni)
    bad("loadings", "need instruments x instruments values");
  draws_.assign(ni, 0.0);
  shocks_.assign(ni, 0.0);
  fair_ticks_.assign(ni, 0.0);
  index_.assign(spec_.start_ticks.begin(), spec_.start_ticks.end());
  index_paths_.resize(ni);
  step_fills_.resize(ni);
  trigger_fired_.assign(spec_.triggers.size(), false);
  trigger_variance_.assign(spec_.triggers.size(), 0.0);
  recording_.trigger_steps.assign(spec_.triggers.size(), -1);
  step_return_.assign(ni, 0.0);
  step_volume_.assign(ni, 0.0);
  states_.resize(spec_.populations.size());
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    const auto& pop = spec_.populations[p];
    for (const auto i : pop.instruments) {
      const auto start = static_cast<double>(spec_.start_ticks[i]);
      states_[p].fast.push_back(start);
      states_[p].slow.push_back(start);
      states_[p].mood.push_back(0.0);
      states_[p].basis.push_back(0.0);
      states_[p].flow.push_back(0.0);
      states_[p].calm_from.push_back(0);
      states_[p].storm_side.push_back(0);
      // Allocators, value traders and speculators with their own average start from the fair value's volatility.
      const double prior = spec_.fundamentals[i].volatility;
      states_[p].variance.push_back(prior * prior * spec_.dt / Fundamental::kYear);
    }
    states_[p].batches.resize(pop.instruments.size());
    states_[p].kernel = &kernel_of(pop.strategy());
    if (states_[p].kernel->quotes) states_[p].makers.resize(pop.count);
    if (const auto* maker = std::get_if<populations::MarketMakerParams>(&pop.params); maker && maker->var_alpha > 0) {
      // Their value-at-risk volatility starts, like the allocators', from the fair values' volatility.
      std::vector<std::size_t> risk{pop.instrument};
      risk.insert(risk.end(), maker->stress_instruments.begin(), maker->stress_instruments.end());
      for (const std::size_t i : risk) {
        const double prior = spec_.fundamentals[i].volatility;
        states_[p].risk_variance.push_back(prior * prior * spec_.dt / Fundamental::kYear);
      }
    }
  }
  // log(1 - activity): the geometric gap's denominator, once per population.
  for (const PopulationSpec& pop : spec_.populations)
    log_idle_.push_back(pop.activity < 1.0 ? std::log1p(-pop.activity) : 0.0);
  calendar_.resize(engine_->accounts());
  for (std::uint32_t a = 0; a < engine_->accounts(); ++a) {
    const StrategyKernel& kernel = *states_[population_of_[a]].kernel;
    if (kernel.quotes) continue;   // every step
    if (!kernel.decide) continue;  // never: they only hold
    schedule_next(a, 0);
  }
  recording_.steps.reserve(spec_.steps * ni);
  if (spec_.trade_log) engine_->set_trade_sink(&liquidation_trades_);
  for (std::size_t p = 0; p < spec_.populations.size(); ++p)
    if (spec_.populations[p].open_at_target) open_at_target(p);
}

void Simulation::check_schedules() const {
  const std::size_t ni = engine_->instruments();
  for (std::size_t k = 0; k < spec_.margin_changes.size(); ++k) {
    if (spec_.margin_changes[k].instrument >= ni)
      bad("margin_changes[" + std::to_string(k) + "].instrument", "unknown instrument");
    if (k > 0 && spec_.margin_changes[k].step < spec_.margin_changes[k - 1].step)
      bad("margin_changes[" + std::to_string(k) + "].step", "must be sorted by step");
  }
  for (std::size_t k = 0; k < spec_.population_changes.size(); ++k) {
    const ScheduledParams& change = spec_.population_changes[k];
    const std::string where = "population_changes[" + std::to_string(k) + "]";
    if (k > 0 && change.step < spec_.population_changes[k - 1].step) bad(where + ".step", "must be sorted by step");
    if (change.population >= spec_.populations.size())
      bad(where + ".population", "unknown population " + std::to_string(change.population));
    const PopulationSpec& base = spec_.populations[change.population];
    PopulationSpec changed = base;
    changed.params = change.params;
    changed.activity = change.activity;
    if (changed.strategy() != base.strategy()) bad(where + ".params", "must be of the population's own strategy");
    check_population(changed, where);
    // What the run keeps per population from the start must not change shape.
    if (const auto* maker = std::get_if<populations::MarketMakerParams>(&base.params)) {
      const auto& next = std::get<populations::MarketMakerParams>(change.params);
      if (next.stress_instruments != maker->stress_instruments)
        bad(where + ".params.stress_instruments", "the dealers' stress instruments cannot change during a run");
      if ((next.var_alpha > 0.0) != (maker->var_alpha > 0.0))
        bad(where + ".params.var_alpha", "the dealers' own volatility average cannot be switched on or off");
    }
    if (const auto* value = std::get_if<populations::ValueParams>(&base.params)) {
      const auto& next = std::get<populations::ValueParams>(change.params);
      if ((next.vol_alpha > 0.0) != (value->vol_alpha > 0.0))
        bad(where + ".params.vol_alpha", "the value traders' own volatility average cannot be switched on or off");
    }
    if (const auto* speculator = std::get_if<populations::SpeculatorParams>(&base.params)) {
      const auto& next = std::get<populations::SpeculatorParams>(change.params);
      if ((next.vol_alpha > 0.0) != (speculator->vol_alpha > 0.0))
        bad(where + ".params.vol_alpha", "the speculators' own volatility average cannot be switched on or off");
    }
  }
}

void Simulation::check_population(const PopulationSpec& pop, const std::string& where) const {
  const std::size_t ni = engine_->instruments();
  limits::kActivity.check(pop.activity, where + ".activity");
  if (const auto* maker = std::get_if<populations::MarketMakerParams>(&pop.params)) {
    for (const auto j : maker->stress_instruments)
      if (j >= ni) bad(where + ".params.stress_instruments", "unknown instrument " + std::to_string(j));
    populations::check_maker_quotes(*maker, where + ".params.");
  }
  if (const auto* holder = std::get_if<populations::HolderParams>(&pop.params))
    limits::kHolderMaxVolatility.check(holder->max_volatility, where + ".params.max_volatility");
  if (const auto* value = std::get_if<populations::ValueParams>(&pop.params)) {
    if (value->side > populations::kValueShortOnly)
      bad(where + ".params.side", "must be 0 (both), 1 (long only) or 2 (short only)");
    limits::kValueVolAlpha.check(value->vol_alpha, where + ".params.vol_alpha");
    limits::kValueSchedule.check(value->schedule, where + ".params.schedule");
    for (const auto j : value->stress_instruments)
      if (j >= ni) bad(where + ".params.stress_instruments", "unknown instrument " + std::to_string(j));
  }
  if (const auto* speculator = std::get_if<populations::SpeculatorParams>(&pop.params)) {
    limits::kTradeFraction.check(speculator->trade_fraction, where + ".params.trade_fraction");
    limits::kSpeculatorVolTarget.check(speculator->vol_target, where + ".params.vol_target");
    limits::kSpeculatorVolAlpha.check(speculator->vol_alpha, where + ".params.vol_alpha");
  }
  if (const auto* noise = std::get_if<populations::NoiseParams>(&pop.params))
    limits::kSentimentPosition.check(noise->sentiment_position, where + ".params.sentiment_position");
}

void Simulation::change_population(const ScheduledParams& change) {
  PopulationSpec& pop = spec_.populations[change.population];
  pop.params = change.params;
  pop.activity = change.activity;
  // Gaps drawn from now on use the new activity (those already drawn stand).
  log_idle_[change.population] = pop.activity < 1.0 ? std::log1p(-pop.activity) : 0.0;
}

void Simulation::log_trade(std::uint64_t t, std::size_t i, const Fill& f, bool liquidation) {
  const bool taker_buys = f.taker_side == static_cast<std::uint8_t>(Side::Buy);
  TradeRecord r{};
  r.step = t;
  r.price = f.price;
  r.qty = f.qty;
  r.buyer = taker_buys ? f.taker_owner : f.maker_owner;
  r.seller = taker_buys ? f.maker_owner : f.taker_owner;
  r.instrument = static_cast<std::uint16_t>(i);
  r.aggressor = taker_buys ? 0 : 1;
  r.liquidation = liquidation ? 1 : 0;
  recording_.trades.push_back(r);
}

void Simulation::follow_paths(std::size_t i, PricePath fair, PricePath index) {
  if (i >= engine_->instruments()) bad("instrument", "unknown instrument " + std::to_string(i));
  if (done_ != 0) bad("paths", "must be given before the run starts");
  for (const PricePath* path : {&fair, &index}) {
    if (path->empty()) continue;
    const char* name = path == &fair ? "fair" : "index";
    if (path->size < spec_.steps)
      bad(name,
          "the path has " + std::to_string(path->size) + " values, the run " + std::to_string(spec_.steps) + " steps");
    for (std::size_t t = 0; t < spec_.steps; ++t)
      if (!(path->values[t] > 0.0 && path->values[t] <= 1e15))
        bad(name, "value " + std::to_string(t) + " must be a price in (0, 1e15]");
  }
  if (!fair.empty()) fundamentals_[i].follow(std::move(fair));
  if (!index.empty()) index_paths_[i] = std::move(index);
}

void Simulation::open_positions(std::size_t first, std::size_t n, const Qty* position, const double* entry) {
  const std::size_t ni = engine_->instruments();
  if (done_ != 0) bad("position", "must be given before the run starts");
  if (first + n > engine_->accounts()) bad("position", "more rows than accounts");
  for (std::size_t k = 0; k < n * ni; ++k)
    if (position[k] != 0 && !(entry[k] > 0.0 && entry[k] <= static_cast<double>(kMaxPrice)))
      bad("entry", "row " + std::to_string(k / ni) + ": an open position needs an entry price in (0, 2^62] ticks");
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < ni; ++i)
      if (position[k * ni + i] != 0)
        engine_->apply_trade(static_cast<std::uint32_t>(first + k), i, position[k * ni + i], entry[k * ni + i], 0.0);
}

void Simulation::schedule_forced_order(std::uint64_t step, std::size_t instrument, Qty lots) {
  if (instrument >= engine_->instruments()) bad("instrument", "unknown instrument " + std::to_string(instrument));
  if (step >= spec_.steps) bad("step", "must be a step of the run, < " + std::to_string(spec_.steps));
  // A step not yet run (a run stopped, or forked, at done_): the orders already sent stay in front.
  if (step < done_) bad("step", "must not be before the step the run has reached (" + std::to_string(done_) + ")");
  if (lots == 0 || lots > kMaxQty || lots < -kMaxQty) bad("lots", "must be non-zero and within +-2^40");
  const ForcedOrder order{step, instrument, lots};
  forced_.insert(std::upper_bound(forced_.begin(), forced_.end(), order,
                                  [](const ForcedOrder& x, const ForcedOrder& y) { return x.step < y.step; }),
                 order);
}

void Simulation::prefetch_orders(std::uint32_t a, std::size_t p) const noexcept {
  if (states_[p].kernel->cancels)
    for (const auto i : spec_.populations[p].instruments) books_[i]->prefetch_owner(a);
}

std::uint8_t Simulation::resting_books(std::uint32_t a, std::size_t p) const noexcept {
  if (!states_[p].kernel->cancels) return 0;
  const auto& instruments = spec_.populations[p].instruments;
  if (instruments.size() > 8) return 0xFF;  // past a byte's bits: look in every book when it acts
  std::uint8_t mask = 0;
  for (std::size_t k = 0; k < instruments.size(); ++k)
    mask = static_cast<std::uint8_t>(mask | (books_[instruments[k]]->has_orders(a) ? 1u << k : 0u));
  return mask;
}

void Simulation::schedule_next(std::uint32_t a, std::uint64_t t) { calendar_.schedule(a, next_step(a, t)); }

std::uint64_t Simulation::next_step(std::uint32_t a, std::uint64_t t) const noexcept {
  return next_step(a, population_of_[a], t);
}

std::uint64_t Simulation::next_step(std::uint32_t a, std::size_t pop, std::uint64_t t) const noexcept {
  // Poisson activity: the gap to the next step with an action is geometric.
  std::uint64_t gap = 0;
  if (spec_.populations[pop].activity < 1.0)
    gap = static_cast<std::uint64_t>(std::floor(std::log(rng_.uniform(kStreamActivation, t, a)) / log_idle_[pop]));
  return t + 1 + gap;
}

bool Simulation::run(const std::function<bool()>& interrupted, std::size_t threads, std::uint64_t until) {
  if (threads < 1 || threads > StepPool::kMaxThreads)
    bad("threads", "must be in [1, " + std::to_string(StepPool::kMaxThreads) + "], got " + std::to_string(threads));
  // The helpers live for this run only: between runs the simulation holds no threads.
  std::optional<StepPool> pool;
  if (threads > 1) pool.emplace(threads - 1);
  struct Detach {
    StepPool*& pool;
    ~Detach() { pool = nullptr; }
  } detach{pool_};
  pool_ = pool ? &*pool : nullptr;
  leverage_chunk_.clear();
  const std::uint64_t end = std::min(until, spec_.steps);
  for (std::uint64_t t = done_; t < end; ++t) {
    if (t % 256 == 0 && interrupted && interrupted()) return false;
    step(t);
    done_ = t + 1;
  }
  return true;
}

std::unique_ptr<Simulation> Simulation::fork(const SimulationSpec& future) const {
  // Even before the first step: a copy keeps this run's populations, fair values and policy.
  if (!same_but_schedules(given_, future))
    bad("future",
        "its world differs from this run's in more than what is scheduled (margin notices, "
        "population changes, fair-value shocks and waypoints)");
  const std::uint64_t agree = first_difference(given_, future);
  if (agree < done_)
    bad("future", "its world differs from this run's at step " + std::to_string(agree) +
                      ", before the step this run has reached (" + std::to_string(done_) + ")");
  // Not make_unique: the copy constructor is private.
  std::unique_ptr<Simulation> copy(new Simulation(*this));
  copy->given_ = future;
  copy->spec_.margin_changes = future.margin_changes;
  copy->spec_.population_changes = future.population_changes;
  copy->check_schedules();
  for (std::size_t i = 0; i < copy->fundamentals_.size(); ++i)
    copy->fundamentals_[i].reschedule(future.fundamentals[i]);
  // The copy's engine refers to the copy's books and trade sink.
  for (std::size_t i = 0; i < copy->books_.size(); ++i)
    copy->engine_->attach_book(i, copy->books_[i].get(), copy->engine_->mark_rule(i));
  if (spec_.trade_log) copy->engine_->set_trade_sink(&copy->liquidation_trades_);
  copy->pool_ = nullptr;
  return copy;
}

MarketView Simulation::view(std::size_t i) const noexcept {
  MarketView m;
  const OrderBook& book = *books_[i];
  m.last = signals_[i].last;
  m.reference = signals_[i].reference;
  const auto bid = book.best_bid();
  const auto ask = book.best_ask();
  m.mid = bid && ask ? 0.5 * static_cast<double>(*bid + *ask) : m.last;
  m.spread = bid && ask ? static_cast<double>(*ask - *bid) : std::numeric_limits<double>::infinity();
  m.fair = fair_ticks_[i];
  m.step_sigma = std::sqrt(signals_[i].variance);
  m.volatility = m.step_sigma * std::sqrt(Fundamental::kYear / spec_.dt);
  m.tick_value = engine_->tick_value(i);
  m.initial_rate = engine_->rule(i).initial_rate;
  return m;
}

MarketView Simulation::robust_view(std::size_t i) const noexcept {
  MarketView m = view(i);
  m.step_sigma = std::sqrt(signals_[i].robust_variance);
  m.volatility = m.step_sigma * std::sqrt(Fundamental::kYear / spec_.dt);
  return m;
}

void Simulation::submit(std::size_t i, const Message& m) {
  scratch_.clear();
  books_[i]->apply(m, 0, scratch_);
  ++messages_;
  for (const Fill& f : scratch_)
    if (f.kind == static_cast<std::uint8_t>(FillKind::Trade)) {
      // A resting order of a trader still to act this step: its order will count this fill.
      if (!due_rank_.empty() && f.maker_owner < due_rank_.size() && due_rank_[f.maker_owner] != kNotDue) {
        const Qty signed_qty = f.taker_side == static_cast<std::uint8_t>(Side::Buy) ? -f.qty : f.qty;
        pending_[std::size_t{due_rank_[f.maker_owner]} * engine_->instruments() + i] += signed_qty;
      }
      if (spec_.trade_log) log_trade(now_, i, f, false);
      step_fills_[i].push_back(f);
      signals_[i].volume += static_cast<double>(f.qty);
    }
}

void Simulation::requote_makers() {
  if (spec_.requote_together)
    for (const PopulationSpec& pop : spec_.populations)
      if (std::holds_alternative<populations::MarketMakerParams>(pop.params))
        for (std::uint32_t k = 0; k < pop.count; ++k) books_[pop.instrument]->cancel_owner(pop.first + k);
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    const PopulationSpec& pop = spec_.populations[p];
    const auto* maker = std::get_if<populations::MarketMakerParams>(&pop.params);
    if (maker == nullptr) continue;
    MarketView m = maker->robust_volatility ? robust_view(pop.instrument) : view(pop.instrument);
    // Other venues move their quotes at once; the basis this book has lately
    // traded at moves them only as fast as the flow keeps pushing it.
    // Beyond max_basis they would rather arbitrage against other venues than quote it.
    if (maker->basis_alpha > 0.0)
      m.fair *= std::exp(std::clamp(states_[p].basis.front(), -maker->max_basis, maker->max_basis));
    // Their limits face the worst volatility among the desks that share their risk limit.
    MarketView limits = m;
    for (const std::uint16_t j : maker->stress_instruments)
      limits.volatility = std::max(limits.volatility, (maker->robust_volatility ? robust_view(j) : view(j)).volatility);
    // The volatility their value-at-risk budget is measured on: their own
    // average over days, or the one their withdrawal limit meets.
    double risk = limits.volatility;
    if (maker->var_alpha > 0.0) {
      risk = 0.0;
      for (const double v : states_[p].risk_variance)
        risk = std::max(risk, std::sqrt(v * Fundamental::kYear / spec_.dt));
    }
    const double room = populations::maker_room(*maker, risk);
    OrderBook& book = *books_[pop.instrument];
    for (std::uint32_t k = 0; k < pop.count; ++k) {
      const std::uint32_t a = pop.first + k;
      if (!spec_.requote_together) book.cancel_owner(a);  // together: every ladder went above
      ++decisions_;
      const double equity = engine_->equity(a, engine_->marks());
      // Calm is counted every step, in the market or out of it.
      const bool cover = populations::maker_covers(*maker, m.volatility, states_[p].makers[k]);
      if (!populations::maker_active(*maker, limits, equity, states_[p].makers[k])) continue;
      const Qty inventory = engine_->table().position[engine_->table().cell(a, pop.instrument)];
      const auto size = populations::maker_level_size(
          *maker, std::max<Qty>(1, static_cast<Qty>(std::llround(param_[a]))), states_[p].flow.front());
      // Each quote reaches the book as it is priced: the ladder reads nothing the book changes.
      populations::maker_ladder(*maker, m, inventory, size, a, room, cover,
                                [this, &pop](const Message& q) { submit(pop.instrument, q); });
    }
  }
}

void Simulation::unwind_fund(std::uint64_t t) {
  const Holdings& fund = engine_->fund();
  for (std::size_t i = 0; i < books_.size(); ++i) {
    const Qty q = fund.position[i];
    if (q == 0) continue;
    // A share of what it holds each step (at least a lot): a liquidation desk
    // selling a defaulted book over hours, not holding it to the end.
    const auto held = static_cast<double>(q > 0 ? q : -q);
    const auto lots = static_cast<Qty>(std::min(held, std::max(1.0, std::ceil(held * spec_.fund_unwind_share))));
    Message order{};
    order.owner = kFundOwner;
    order.type = static_cast<std::uint8_t>(MsgType::Market);
    order.side = static_cast<std::uint8_t>(q > 0 ? Side::Sell : Side::Buy);
    order.qty = lots;
    if (spec_.fund_unwind_band > 0.0) {
      // A liquidation desk's limit: what the book cannot take within the band waits.
      const auto index = static_cast<double>(index_[i]);
      order.type = static_cast<std::uint8_t>(MsgType::Ioc);
      const double limit = q > 0 ? std::ceil(index * (1.0 - spec_.fund_unwind_band))
                                 : std::floor(index * (1.0 + spec_.fund_unwind_band));
      order.price = static_cast<Price>(std::clamp(limit, 1.0, static_cast<double>(kMaxPrice)));
    }
    scratch_.clear();
    books_[i]->apply(order, 0, scratch_);
    ++messages_;
    for (const Fill& f : scratch_)
      if (f.kind == static_cast<std::uint8_t>(FillKind::Trade)) {
        if (spec_.trade_log) log_trade(t, i, f, true);
        step_fills_[i].push_back(f);
        signals_[i].volume += static_cast<double>(f.qty);
      }
  }
}

void Simulation::prefetch_account(std::uint32_t a) const noexcept {
  engine_->table().prefetch(a);
  __builtin_prefetch(&param_[a]);
  prefetch_orders(a, population_at(a));
  // Not population_of_[a]: population_at() reads the populations' bounds instead.
  if (population_end_.size() > kCountedPopulations) __builtin_prefetch(&population_of_[a]);
}

template <bool kAtSlot>
void Simulation::gather(std::uint32_t a, std::size_t p, std::size_t slot) noexcept(kAtSlot) {
  const PopulationSpec& pop = spec_.populations[p];
  const auto& table = engine_->table();
  // Each instrument decides on its share of the account's budget.
  const double equity_all = engine_->equity(a, engine_->marks());
  const double cash_all = table.cash[a];
  for (std::size_t k = 0; k < pop.instruments.size(); ++k) {
    DecisionBatch& b = states_[p].batches[k];
    const double equity = equity_all * pop.budget_shares[k];
    const double cash = cash_all * pop.budget_shares[k];
    const Qty current = table.position[table.cell(a, pop.instruments[k])];
    if constexpr (kAtSlot) {
      b.account[slot] = a;
      b.equity[slot] = equity;
      b.cash[slot] = cash;
      b.param[slot] = param_[a];
      b.current[slot] = current;
    } else {
      b.account.push_back(a);
      b.equity.push_back(equity);
      b.cash.push_back(cash);
      b.param.push_back(param_[a]);
      b.current.push_back(current);
    }
  }
}

void Simulation::draw(std::uint32_t a, std::size_t p, std::size_t slot, std::uint64_t t) noexcept {
  PopulationState& state = states_[p];
  for (std::size_t k = 0; k < state.batches.size(); ++k) {
    DecisionBatch& b = state.batches[k];
    const PhiloxBlock u = rng_.block(kStreamDecision, t, a | (std::uint64_t{k} << 32));
    b.u0[slot] = CounterRng::open_unit(u[0], 0);
    b.u1[slot] = CounterRng::open_unit(u[1], 0);
    b.u2[slot] = CounterRng::open_unit(u[2], u[3]);
  }
}

template <bool kAtSlot>
void Simulation::gather_range(std::size_t lo, std::size_t hi, std::uint64_t t) noexcept(kAtSlot) {
  // The accounts come in random order: ask for each one's rows a few accounts ahead.
  constexpr std::size_t kAhead = 16;
  for (std::size_t k = lo; k < hi; ++k) {
    if (k + kAhead < hi) prefetch_account(account_of(order_[k + kAhead]));
    const std::uint32_t a = account_of(order_[k]);
    std::size_t p = 0;
    if constexpr (kAtSlot) {
      p = due_population_[k];
    } else {
      p = population_at(a);
      due_population_[k] = static_cast<std::uint16_t>(p);
    }
    gather<kAtSlot>(a, p, kAtSlot ? slot_[k] : 0);
    resting_[k] = resting_books(a, p);
  }
  // The draws: when each acts next, and the uniforms of strategies that draw;
  // they depend on the account and the step alone. A loop of its own: in the
  // one above their arithmetic would fill the core's window and leave fewer of
  // the accounts' rows on their way from memory.
  if constexpr (!kAtSlot)
    for (PopulationState& s : states_)
      if (s.kernel->draws)
        for (DecisionBatch& b : s.batches) b.size_draws();
  for (std::size_t k = lo; k < hi; ++k) {
    const std::uint32_t a = account_of(order_[k]);
    const std::size_t p = due_population_[k];
    next_due_[k] = next_step(a, p, t);
    if (!states_[p].kernel->draws) continue;
    // One thread appends in this order, so an account's place is its rank in its population.
    draw(a, p, kAtSlot ? slot_[k] : states_[p].cursor++, t);
  }
  if constexpr (!kAtSlot)
    for (PopulationState& s : states_) s.cursor = 0;
}

void Simulation::open_at_target(std::size_t p) {
  const PopulationSpec& pop = spec_.populations[p];
  PopulationState& state = states_[p];
  const StrategyKernel& kernel = *state.kernel;
  if (kernel.quotes || !kernel.decide || kernel.draws)
    bad("populations[" + std::to_string(p) + "].open_at_target",
        "only strategies that size a position without drawing start at their target (allocator, holder, "
        "speculator, value)");
  const std::size_t ni = engine_->instruments();
  std::vector<Qty> position(std::size_t{pop.count} * ni, 0);
  std::vector<double> entry(position.size(), 0.0);
  // Every account decides once, as if all were due at the start.
  for (std::uint32_t c = 0; c < pop.count; ++c) gather<false>(pop.first + c, p, 0);
  for (std::size_t k = 0; k < pop.instruments.size(); ++k) {
    const DecisionBatch& b = state.batches[k];
    const std::size_t i = pop.instruments[k];
    MarketView m = view(i);
    m.fair = spec_.fundamentals[i].start / spec_.tick_size[i];  // the first step has not drawn it yet
    decide(p, k, m);
    for (std::uint32_t c = 0; c < pop.count; ++c) {
      position[std::size_t{c} * ni + i] = b.target[c];
      entry[std::size_t{c} * ni + i] = m.last;
    }
  }
  for (DecisionBatch& b : state.batches) b.clear();
  open_positions(pop.first, pop.count, position.data(), entry.data());
}

void Simulation::decide(std::size_t p, std::size_t k, MarketView m) {
  const PopulationSpec& pop = spec_.populations[p];
  PopulationState& state = states_[p];
  const StrategyKernel& kernel = *state.kernel;
  if (kernel.watched) m.volatility = kernel.watched(pop, state, k, m.volatility, Fundamental::kYear / spec_.dt);
  m.volatility = std::max(m.volatility, stress_volatility(pop));
  DecisionBatch& b = state.batches[k];
  b.size_outputs();
  kernel.decide(pop, m, kernel.signal(state, k, spec_.dt, now_), b);
}

double Simulation::stress_volatility(const PopulationSpec& pop) const noexcept {
  const auto* value = std::get_if<populations::ValueParams>(&pop.params);
  double highest = 0.0;
  if (value != nullptr)
    for (const std::uint16_t j : value->stress_instruments) highest = std::max(highest, view(j).volatility);
  return highest;
}

void Simulation::decide_batches() {
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    const PopulationState& state = states_[p];
    const PopulationSpec& pop = spec_.populations[p];
    if (state.kernel->quotes || state.batches.front().size() == 0) continue;
    decisions_ += state.batches.front().size();
    for (std::size_t k = 0; k < pop.instruments.size(); ++k) decide(p, k, view(pop.instruments[k]));
  }
}

void Simulation::act(std::size_t p, std::size_t c, std::size_t rank) {
  const PopulationSpec& pop = spec_.populations[p];
  const bool cancels = states_[p].kernel->cancels;
  for (std::size_t k = 0; k < pop.instruments.size(); ++k) {
    const DecisionBatch& b = states_[p].batches[k];
    const std::uint32_t a = b.account[c];
    const std::size_t i = pop.instruments[k];
    // Limit orders stand until their trader's next decision.
    const unsigned resting = resting_[rank];
    if (cancels && ((resting >> std::min<std::size_t>(k, 7)) & 1u) != 0) books_[i]->cancel_owner(a);
    const Qty target = b.target[c];
    // Fills settle at the step's end: what its resting orders traded before its turn
    // is not in its opening position.
    const Qty current = b.current[c] + (pending_.empty() ? 0 : pending_[rank * engine_->instruments() + i]);
    if (target == current) continue;
    Message order{};
    order.owner = a;
    order.type = static_cast<std::uint8_t>(b.price[c] > 0 ? MsgType::Limit : MsgType::Market);
    order.price = b.price[c];
    order.side = static_cast<std::uint8_t>(target > current ? Side::Buy : Side::Sell);
    order.qty = std::min<Qty>(target > current ? target - current : current - target, kMaxQty);
    submit(i, order);
  }
}

void Simulation::shuffle_due(std::uint64_t t, std::vector<std::uint32_t>& due, std::vector<std::uint64_t>& order) {
  due.clear();
  calendar_.pop(t, due);
  // Sort by a random key drawn once per account (ties by id, its low half): a seeded shuffle.
  order.clear();
  for (const std::uint32_t a : due) order.push_back((std::uint64_t{rng_.block(kStreamInterleave, t, a)[0]} << 32) | a);
  sorter_.sort(order);
}

void Simulation::schedule_due() {
  // Schedule them together (their next steps were drawn as they were gathered),
  // each bucket's end asked for ahead (the buckets are scattered).
  constexpr std::size_t kAhead = 8;
  for (std::size_t k = 0; k < order_.size(); ++k) {
    if (k + 2 * kAhead < order_.size()) calendar_.prefetch_bucket(next_due_[k + 2 * kAhead]);
    if (k + kAhead < order_.size()) calendar_.prefetch_end(next_due_[k + kAhead]);
    calendar_.schedule(account_of(order_[k]), next_due_[k]);
  }
}

void Simulation::step(std::uint64_t t) {
  const std::size_t ni = engine_->instruments();
  now_ = t;
  timer_.start();
  // 1. Fair values (and scheduled shocks).
  for (std::size_t i = 0; i < ni; ++i) draws_[i] = rng_.normal(kStreamFundamental, t, i);
  for (std::size_t i = 0; i < ni; ++i) {
    if (spec_.loadings.empty()) {
      shocks_[i] = draws_[i];
      continue;
    }
    // Correlated through common factors: shocks = B z.
    double e = 0.0;
    for (std::size_t j = 0; j < ni; ++j) e += spec_.loadings[i * ni + j] * draws_[j];
    shocks_[i] = e;
  }
  for (std::size_t i = 0; i < ni; ++i) {
    Fundamental& f = fundamentals_[i];
    // A stream of its own: worlds without stochastic volatility draw exactly as before.
    const double z_vol = f.stochastic_volatility() ? rng_.normal(kStreamFundamentalVolatility, t, i) : 0.0;
    // News draws from streams of their own too: worlds without news draw as before.
    const double u_news = f.news() ? rng_.uniform(kStreamNewsCount, t, i) : 0.5;
    const double z_news = f.news() ? rng_.normal(kStreamNewsSize, t, i) : 0.0;
    const double fair = f.advance(t, shocks_[i], z_vol, u_news, z_news);
    fair_ticks_[i] = fair / spec_.tick_size[i];
    const double index_ticks =
        index_paths_[i].empty() ? fair_ticks_[i] : index_paths_[i].at(t) * std::exp(f.jumps()) / spec_.tick_size[i];
    index_[i] = std::clamp<Price>(static_cast<Price>(std::llround(index_ticks)), 1, kMaxPrice);
    signals_[i].volume = 0.0;
    step_fills_[i].clear();
  }
  timer_.lap(StepPhase::FairValues);
  // 2. Exchange policy: scheduled notices, then volatility triggers.
  while (next_change_ < spec_.margin_changes.size() && spec_.margin_changes[next_change_].step <= t) {
    const ScheduledRule& change = spec_.margin_changes[next_change_++];
    engine_->set_rule(change.instrument, change.rule);
  }
  while (next_population_change_ < spec_.population_changes.size() &&
         spec_.population_changes[next_population_change_].step <= t)
    change_population(spec_.population_changes[next_population_change_++]);
  for (std::size_t k = 0; k < spec_.triggers.size(); ++k) {
    if (trigger_fired_[k]) continue;
    const VolatilityTrigger& trig = spec_.triggers[k];
    const double volatility = std::sqrt(trigger_variance_[k] * Fundamental::kYear / spec_.dt);
    if (volatility > trig.threshold) {
      engine_->set_rule(trig.instrument, trig.rule);
      trigger_fired_[k] = true;
      recording_.trigger_steps[k] = static_cast<std::int64_t>(t);
    }
  }
  timer_.lap(StepPhase::Policy);
  // The accounts due now, in a seeded random order (each draw depends on the step
  // and the account alone), known before anything trades this step.
  if (ahead_ == t) {
    order_.swap(order_ahead_);
  } else {
    shuffle_due(t, due_, order_);
  }
  ahead_ = kNothingAhead;
  if (!due_rank_.empty()) {
    for (std::size_t k = 0; k < order_.size(); ++k) due_rank_[account_of(order_[k])] = static_cast<std::uint32_t>(k);
    pending_.assign(order_.size() * ni, 0);
  }
  timer_.lap(StepPhase::Shuffle);
  // 3. Market makers requote; the insurance fund works off what it took over.
  requote_makers();
  if (spec_.fund_unwind_share > 0.0) unwind_fund(t);
  // A forced trader from outside (schedule_forced_order): market orders.
  for (; next_forced_ < forced_.size() && forced_[next_forced_].step <= t; ++next_forced_) {
    const ForcedOrder& f = forced_[next_forced_];
    Message order{};
    order.owner = kForcedOwner;
    order.type = static_cast<std::uint8_t>(MsgType::Market);
    order.side = static_cast<std::uint8_t>(f.lots < 0 ? Side::Sell : Side::Buy);
    order.qty = f.lots < 0 ? -f.lots : f.lots;
    submit(f.instrument, order);
  }
  timer_.lap(StepPhase::Requotes);
  // 4. The accounts due now decide, each population in one batch on the
  // step's opening state; their orders reach the books in the shuffled order.
  for (PopulationState& s : states_) {
    for (DecisionBatch& b : s.batches) b.clear();
    s.cursor = 0;
  }
  const std::size_t n = order_.size();
  due_population_.resize(n);
  next_due_.resize(n);
  resting_.resize(n);
  if (pool_ != nullptr && n >= kParallelGather) {
    // Each account's place in its population's batches is its rank there in the
    // shuffled order: the batches one thread would append, whatever the split.
    slot_.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      const std::uint16_t p = population_at(account_of(order_[k]));
      due_population_[k] = p;
      slot_[k] = static_cast<std::uint32_t>(states_[p].cursor++);
    }
    for (PopulationState& s : states_) {
      for (DecisionBatch& b : s.batches) b.size_inputs(s.cursor, s.kernel->draws);
      s.cursor = 0;
    }
    const std::size_t chunks = pool_->threads();
    auto task = [&](std::size_t chunk) noexcept {
      gather_range<true>(n * chunk / chunks, n * (chunk + 1) / chunks, t);
    };
    pool_->run(task);
  } else {
    gather_range<false>(0, n, t);
  }
  timer_.lap(StepPhase::Gathering);
  decide_batches();
  timer_.lap(StepPhase::Decisions);
  for (std::size_t k = 0; k < order_.size(); ++k) {
    const std::size_t p = due_population_[k];
    act(p, states_[p].cursor++, k);
  }
  if (!due_rank_.empty()) {
    for (const std::uint64_t key : order_) due_rank_[account_of(key)] = kNotDue;
    pending_.clear();
  }
  timer_.lap(StepPhase::Orders);
  if (pool_ != nullptr && t + 1 < spec_.steps) {
    // While the fills settle, a helper puts this step's accounts back on the
    // calendar and shuffles the next step's: it touches only the calendar and
    // the shuffle's buffers, nothing the fills do, and the calendar is not
    // touched again before the next step, so the order is the one a single
    // thread makes there.
    auto task = [this, t](std::size_t chunk) noexcept {
      if (chunk != 1) return;
      schedule_due();
      shuffle_due(t + 1, due_, order_ahead_);
    };
    pool_->start(task);
    ahead_ = t + 1;
    struct Join {
      StepPool& pool;
      ~Join() { pool.join(); }
    } join{*pool_};
    for (std::size_t i = 0; i < ni; ++i) engine_->apply_fills(i, step_fills_[i].data(), step_fills_[i].size());
  } else {
    schedule_due();
    timer_.lap(StepPhase::Calendar);
    for (std::size_t i = 0; i < ni; ++i) engine_->apply_fills(i, step_fills_[i].data(), step_fills_[i].size());
  }
  // With helpers the calendar is theirs, while the fills settle: the wait is the fills'.
  timer_.lap(StepPhase::Fills);
  // 5. Marks and the liquidation loop.
  const std::size_t log_before = engine_->log().size();
  engine_->check_books(index_.data());
  for (const BookTrade& trade : liquidation_trades_) log_trade(t, trade.instrument, trade.fill, true);
  liquidation_trades_.clear();
  timer_.lap(StepPhase::Liquidations);
  // 6. Signals from the new prices.
  for (std::size_t i = 0; i < ni; ++i) {
    Signals& sig = signals_[i];
    const auto last = books_[i]->last_price();
    sig.last = last ? static_cast<double>(*last) : sig.last;
    // Trade prices, as a risk desk measures them: over five minutes the
    // bid-ask bounce is small, and unlike the mid they do not jump when a thin
    // book loses or regains one side.
    sig.reference += 0.1 * (sig.last - sig.reference);
    double& then = sig.history[t % return_horizon_];
    const double r = std::log(sig.last / then);
    then = sig.last;
    step_return_[i] = r;
    const double w = 2.0 / (spec_.volatility_window + 1.0);
    sig.variance += w * (r * r / static_cast<double>(return_horizon_) - sig.variance);
    double& apart = sig.returns[t % sig.returns.size()];  // the return of 2 * horizon steps ago
    constexpr double kHalfPi = 1.5707963267948966;
    sig.robust_variance +=
        w * (kHalfPi * std::fabs(r) * std::fabs(apart) / static_cast<double>(return_horizon_) - sig.robust_variance);
    apart = r;
  }
  for (std::size_t k = 0; k < spec_.triggers.size(); ++k) {
    const VolatilityTrigger& trig = spec_.triggers[k];
    const double r = step_return_[trig.instrument];
    trigger_variance_[k] +=
        2.0 / (trig.window_steps + 1.0) * (r * r / static_cast<double>(return_horizon_) - trigger_variance_[k]);
  }
  // The lots each book traded this step, forced sales to the book included.
  const auto& log = engine_->log();
  for (std::size_t i = 0; i < ni; ++i) step_volume_[i] = signals_[i].volume;
  for (std::size_t k = log_before; k < log.size(); ++k)
    if (log[k].kind == static_cast<std::uint8_t>(CloseKind::BookOrder))
      step_volume_[log[k].instrument] += static_cast<double>(log[k].qty);
  const auto horizon = static_cast<double>(return_horizon_);
  const double year_steps = Fundamental::kYear / spec_.dt;
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    // Dealers' value-at-risk volatility, over their own window: the home instrument, then the stress ones.
    const auto* maker = std::get_if<populations::MarketMakerParams>(&spec_.populations[p].params);
    if (maker == nullptr || maker->var_alpha <= 0.0) continue;
    auto& variance = states_[p].risk_variance;
    for (std::size_t j = 0; j < variance.size(); ++j) {
      const double r = step_return_[j == 0 ? spec_.populations[p].instrument : maker->stress_instruments[j - 1]];
      variance[j] += maker->var_alpha * (r * r / horizon - variance[j]);
    }
  }
  for (std::size_t p = 0; p < spec_.populations.size(); ++p) {
    const PopulationSpec& pop = spec_.populations[p];
    const StrategyKernel& kernel = *states_[p].kernel;
    for (std::size_t k = 0; k < pop.instruments.size(); ++k) {
      const std::size_t i = pop.instruments[k];
      const double volatility = std::sqrt(signals_[i].variance * Fundamental::kYear / spec_.dt);
      const Tape tape{
          signals_[i].last, step_return_[i],        fair_ticks_[i], horizon, volatility, year_steps, &rng_, t,
          (p << 16) | k,    stress_volatility(pop), step_volume_[i]};
      kernel.observe(pop, states_[p], k, tape);
    }
  }
  timer_.lap(StepPhase::Signals);
  record(log_before);
  timer_.lap(StepPhase::Record);
  if (t % spec_.leverage_every == 0 || t + 1 == spec_.steps) sample_leverage(t);
  timer_.lap(StepPhase::LeverageSamples);
}

void Simulation::record(std::size_t log_before) {
  const std::size_t ni = engine_->instruments();
  const auto& log = engine_->log();
  for (std::size_t i = 0; i < ni; ++i) {
    const OrderBook& book = *books_[i];
    const MarketView m = view(i);
    StepRecord r{};
    r.last = m.last;
    r.mid = m.mid;
    r.mark = static_cast<double>(engine_->marks()[i]);
    r.fair = m.fair;
    const auto bid = book.best_bid();
    const auto ask = book.best_ask();
    r.best_bid = bid ? static_cast<double>(*bid) : kNaN;
    r.best_ask = ask ? static_cast<double>(*ask) : kNaN;
    r.spread = bid && ask ? static_cast<double>(*ask - *bid) : kNaN;
    r.depth_bid = static_cast<double>(book.quantity_to(Side::Sell, static_cast<Price>(std::ceil(m.mid * 0.99))));
    r.depth_ask = static_cast<double>(book.quantity_to(Side::Buy, static_cast<Price>(std::floor(m.mid * 1.01))));
    r.volume = step_volume_[i];
    r.open_interest = static_cast<double>(engine_->open_interest(i));
    std::uint32_t last_account = kNil;
    for (std::size_t k = log_before; k < log.size(); ++k) {
      const LiquidationRecord& rec = log[k];
      if (rec.instrument != i) continue;
      const double notional = static_cast<double>(rec.qty) * rec.price * engine_->tick_value(i);
      if (rec.kind == static_cast<std::uint8_t>(CloseKind::AdlVictim)) {
        r.adl_accounts += 1;
        continue;
      }
      if (rec.kind == static_cast<std::uint8_t>(CloseKind::Adl)) {
        r.adl += 1;
        r.adl_notional += notional;
      }
      (rec.side == 0 ? r.liquidated_long_notional : r.liquidated_short_notional) += notional;
      if (rec.account != last_account) (rec.side == 0 ? r.liquidated_long : r.liquidated_short) += 1;
      last_account = rec.account;
    }
    r.insurance_fund = engine_->fund_cash(i);
    r.fund_equity = engine_->fund_equity(i);
    r.bad_debt = engine_->bad_debt(i);
    r.bankrupt = static_cast<double>(engine_->bankrupt_accounts());
    for (std::size_t p = 0; p < spec_.populations.size(); ++p)
      if (spec_.populations[p].instrument == i)  // only makers keep a MakerState
        for (const auto& s : states_[p].makers) r.active_makers += s.withdrawn ? 0 : 1;
    r.volatility = m.volatility;
    recording_.steps.push_back(r);
  }
}

void Simulation::leverage_sums(std::size_t p, double& notional_out, double& equity_out) const noexcept {
  const std::size_t ni = engine_->instruments();
  const auto& table = engine_->table();
  const double* value = leverage_scratch_.data();  // money per lot at the marks
  const double* cash = table.cash.data();
  const Qty* position = table.position.data();
  const double* cost = table.cost.data();          // zero wherever the position is
  const std::size_t stride = table.cash.stride();  // each account's row
  const PopulationSpec& pop = spec_.populations[p];
  // Flat, branch-free sums over the population's rows, in account order, in
  // locals: stored through the references they would chain through memory (and
  // share a cache line with the other threads' sums).
  double notional = 0.0;
  double equity = 0.0;
  const std::size_t end = std::size_t{pop.first} + pop.count;
  if (ni == 1) {
    const double v = value[0];
    for (std::size_t a = pop.first; a < end; ++a) {
      const std::size_t r = a * stride;
      const auto q = static_cast<double>(position[r]);
      notional += std::fabs(q) * v;
      equity += std::max(cash[r] + (q * v - cost[r]), 0.0);
    }
  } else {
    for (std::size_t a = pop.first; a < end; ++a) {
      const std::size_t r = a * stride;
      double e = cash[r];
      for (std::size_t i = 0; i < ni; ++i) {
        const auto q = static_cast<double>(position[r + i]);
        notional += std::fabs(q) * value[i];
        e += q * value[i] - cost[r + i];
      }
      equity += std::max(e, 0.0);
    }
  }
  notional_out = notional;
  equity_out = equity;
}

void Simulation::sample_leverage(std::uint64_t t) {
  const std::size_t ni = engine_->instruments();
  const std::size_t pops = spec_.populations.size();
  recording_.sample_steps.push_back(t);
  leverage_scratch_.resize(ni);
  for (std::size_t i = 0; i < ni; ++i)
    leverage_scratch_[i] = static_cast<double>(engine_->marks()[i]) * engine_->tick_value(i);
  const std::size_t first = recording_.notional.size();
  recording_.notional.resize(first + pops);
  recording_.equity.resize(first + pops);
  double* notional = recording_.notional.data() + first;
  double* equity = recording_.equity.data() + first;
  if (pool_ == nullptr) {
    for (std::size_t p = 0; p < pops; ++p) leverage_sums(p, notional[p], equity[p]);
    return;
  }
  // Each population is summed whole by one thread, so its sums keep their order.
  const std::size_t chunks = pool_->threads();
  if (leverage_chunk_.size() != pops) {
    // Largest populations first, each to the thread with the fewest accounts so far.
    std::vector<std::size_t> by_size(pops);
    for (std::size_t p = 0; p < pops; ++p) by_size[p] = p;
    std::stable_sort(by_size.begin(), by_size.end(), [&](std::size_t x, std::size_t y) {
      return spec_.populations[x].count > spec_.populations[y].count;
    });
    std::vector<std::size_t> load(chunks, 0);
    leverage_chunk_.assign(pops, 0);
    for (const std::size_t p : by_size) {
      const auto least = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
      leverage_chunk_[p] = least;
      load[least] += spec_.populations[p].count;
    }
  }
  auto task = [&](std::size_t chunk) noexcept {
    for (std::size_t p = 0; p < pops; ++p)
      if (leverage_chunk_[p] == chunk) leverage_sums(p, notional[p], equity[p]);
  };
  pool_->run(task);
}

}  // namespace deleverage
