#include "deleverage/stress.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "deleverage/order_book.hpp"
#include "deleverage/records.hpp"

namespace deleverage {

namespace {

// The owner of the venue's depth: past every account, not the fund.
constexpr AccountId kOutsideOwner = 0xFFFFFFF0u;

Price ticks(double price) { return std::clamp<Price>(static_cast<Price>(std::llround(price)), 1, kMaxPrice); }

// Replace the outside depth of `book` by the profile around `price` (ticks).
void quote(OrderBook& book, const DepthProfile& depth, double price, std::vector<Fill>& fills) {
  book.cancel_owner(kOutsideOwner);
  std::vector<Message> orders;
  orders.reserve(static_cast<std::size_t>(2 * depth.levels));
  for (std::int64_t j = 0; j < depth.levels; ++j) {
    const double away = depth.spacing * static_cast<double>(j + 1);
    for (const Side side : {Side::Buy, Side::Sell}) {
      Message m{};
      m.type = static_cast<std::uint8_t>(MsgType::Limit);
      m.side = static_cast<std::uint8_t>(side);
      m.price = ticks(side == Side::Buy ? price * (1.0 - away) : price * (1.0 + away));
      m.qty = depth.lots;
      m.owner = kOutsideOwner;
      orders.push_back(m);
    }
  }
  std::vector<MessageResult> results(orders.size());
  fills.clear();
  book.execute(orders.data(), orders.size(), results.data(), fills);
}

}  // namespace

StressOutcome run_stress(const StressInputs& in, const StressAccounts& accounts, const StressShock& shock,
                         std::vector<LiquidationRecord>* log) {
  const std::size_t ni = in.tick_values.size();
  if (shock.instrument >= ni) throw std::invalid_argument("instrument: unknown instrument");
  MarginEngine engine(in.tick_values, in.rules, in.settings);
  std::vector<std::uint16_t> population(accounts.n, 0);
  engine.add_accounts(accounts.n, accounts.cash, accounts.instrument, accounts.position, accounts.entry, accounts.mode,
                      population.data());
  const bool books = !in.depth.empty();
  std::vector<std::unique_ptr<OrderBook>> book(ni);
  std::vector<Fill> fills;
  if (books)
    for (std::size_t i = 0; i < ni; ++i) {
      book[i] = std::make_unique<OrderBook>(StpMode::None, kDefaultMaxLadderLevels, true);
      engine.attach_book(i, book[i].get(), in.mark_rules[i]);
    }
  StressOutcome out{};
  // The fund that serves the shocked instrument: the venue's, or its own.
  out.fund_start = engine.fund_cash(shock.instrument);
  out.fund_low = out.fund_start;
  out.lowest_mark = std::numeric_limits<double>::infinity();
  std::vector<Price> index(in.start_ticks);
  for (const double m : shock.multipliers) {
    const double shocked = static_cast<double>(in.start_ticks[shock.instrument]) * m;
    index[shock.instrument] = ticks(shocked);
    if (books) {
      for (std::size_t i = 0; i < ni; ++i)
        quote(*book[i], in.depth[i], i == shock.instrument ? shocked : static_cast<double>(in.start_ticks[i]), fills);
      engine.check_books(index.data());
    } else {
      engine.check(index.data());
    }
    out.fund_low = std::min(out.fund_low, engine.fund_equity(shock.instrument));
    out.lowest_mark = std::min(out.lowest_mark, static_cast<double>(engine.marks()[shock.instrument]));
  }
  out.fund_end = engine.fund_equity(shock.instrument);
  out.bad_debt = engine.bad_debt();
  out.bankrupt_accounts = engine.bankrupt_accounts();
  std::vector<std::uint32_t> liquidated;
  double slip = 0.0;
  double at_mark = 0.0;
  for (const LiquidationRecord& r : engine.log()) {
    const double v = in.tick_values[r.instrument];
    const double notional = static_cast<double>(r.qty) * r.price * v;
    const auto kind = static_cast<CloseKind>(r.kind);
    if (kind == CloseKind::AdlVictim) {
      out.adl_notional += notional;
      continue;
    }
    liquidated.push_back(r.account);
    out.liquidated_notional += notional;
    if (kind == CloseKind::Adl) ++out.adl_events;
    if (kind == CloseKind::BookOrder) {
      out.book_notional += notional;
      slip += static_cast<double>(r.qty) * std::fabs(r.price - static_cast<double>(r.mark)) * v;
      at_mark += static_cast<double>(r.qty) * static_cast<double>(r.mark) * v;
    }
  }
  out.slippage = at_mark > 0.0 ? slip / at_mark : 0.0;
  std::sort(liquidated.begin(), liquidated.end());
  out.accounts_liquidated =
      static_cast<std::uint64_t>(std::unique(liquidated.begin(), liquidated.end()) - liquidated.begin());
  if (log != nullptr) *log = engine.log();
  return out;
}

std::vector<StressOutcome> run_stress_grid(const StressInputs& in, const StressAccounts& accounts,
                                           const std::vector<StressShock>& shocks, unsigned threads, bool keep_logs,
                                           std::vector<std::vector<LiquidationRecord>>* logs) {
  std::vector<StressOutcome> out(shocks.size());
  if (keep_logs && logs != nullptr) logs->assign(shocks.size(), {});
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::size_t k = next++; k < shocks.size(); k = next++) {
      try {
        out[k] = run_stress(in, accounts, shocks[k], keep_logs && logs != nullptr ? &(*logs)[k] : nullptr);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = shocks.size();
      }
    }
  };
  const unsigned n = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(shocks.size())));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

}  // namespace deleverage
