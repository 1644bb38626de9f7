#include "deleverage/margin_engine.hpp"

#include "deleverage/portfolio_revaluation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

namespace deleverage {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One holder trades `lots` (signed) at price x: close against the position
// first, then open the rest (docs/margin.md, "Closing k lots").
void trade(Qty& q, double& cost, double& cash, double* realized, Qty lots, double x, double v) noexcept {
  if (lots == 0) return;
  if (q != 0 && (q > 0) != (lots > 0)) {
    const Qty absq = qabs(q);
    const Qty k = std::min(qabs(lots), absq);
    const double removed = k == absq ? cost : cost * static_cast<double>(k) / static_cast<double>(absq);
    const double r = static_cast<double>(q > 0 ? k : -k) * x * v - removed;
    cash += r;
    if (realized != nullptr) *realized += r;
    cost = k == absq ? 0.0 : cost - removed;
    q += q > 0 ? -k : k;
    lots += lots > 0 ? -k : k;
  }
  if (lots != 0) {
    q += lots;
    cost += static_cast<double>(lots) * x * v;
  }
}

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument(field + ": " + what);
}

}  // namespace

MarginEngine::MarginEngine(std::vector<double> tick_values, std::vector<MarginRule> rules, EngineSettings settings)
    : tick_values_(std::move(tick_values)), rules_(std::move(rules)), settings_(settings) {
  if (tick_values_.empty() || tick_values_.size() > 65535) bad("instruments", "need 1..65535 instruments");
  if (rules_.size() != tick_values_.size()) bad("rules", "need one rule per instrument");
  for (std::size_t i = 0; i < tick_values_.size(); ++i) {
    // Outside this range a tick's money (price x lots x tick value) leaves double precision.
    if (!(tick_values_[i] >= kMinTickValue && tick_values_[i] <= kMaxTickValue))
      bad("tick_values[" + std::to_string(i) + "]", "must be in [1e-12, 1e12], got " + std::to_string(tick_values_[i]));
    rules_[i].validate_and_prepare();
  }
  if (!std::isfinite(settings_.insurance_fund) || settings_.insurance_fund < 0)
    bad("insurance_fund", "must be finite and >= 0, got " + std::to_string(settings_.insurance_fund));
  if (settings_.max_rounds < 1 || settings_.max_rounds > 65535)
    bad("max_rounds", "must be in 1..65535, got " + std::to_string(settings_.max_rounds));
  if (!(settings_.max_liquidation_notional > 0)) bad("max_liquidation_notional", "must be > 0 (inf for no cap)");
  if (static_cast<std::uint8_t>(settings_.close_order) > 3)
    bad("close_order", "must be instrument, most_liquid, largest_loss or pro_rata");
  if (settings_.liquidity.empty()) settings_.liquidity.assign(tick_values_.size(), 0.0);
  if (settings_.liquidity.size() != tick_values_.size())
    bad("liquidity", "need one value per instrument (" + std::to_string(tick_values_.size()) + "), got " +
                         std::to_string(settings_.liquidity.size()));
  for (const double l : settings_.liquidity)
    if (!std::isfinite(l)) bad("liquidity", "must be finite, got " + std::to_string(l));
  table_.instruments = tick_values_.size();
  fund_.cash = settings_.insurance_fund;
  fund_.position.assign(instruments(), 0);
  fund_.cost.assign(instruments(), 0.0);
  outside_.position.assign(instruments(), 0);
  outside_.cost.assign(instruments(), 0.0);
  books_.assign(instruments(), nullptr);
  open_interest_.assign(instruments(), 0);
  bad_debt_by_instrument_.assign(instruments(), 0.0);
  mark_rules_.assign(instruments(), MarkRule::Last);
  indexes_.resize(instruments());
  marks_.assign(instruments(), 0);
}

void MarginEngine::add_accounts(std::size_t n, const double* cash, const std::uint16_t* instrument, const Qty* position,
                                const double* entry_price, const std::uint8_t* mode, const std::uint16_t* population) {
  const std::size_t ni = instruments();
  if (table_.size() + n > 0xFFFFFFF0u) bad("cash", "at most 2^32 - 16 accounts in one engine");
  auto field = [](const char* name, std::size_t k) { return std::string(name) + "[" + std::to_string(k) + "]"; };
  for (std::size_t k = 0; k < n; ++k) {
    if (!(cash[k] >= 0 && cash[k] <= kMaxCash))
      bad(field("cash", k), "must be in [0, 1e15], got " + std::to_string(cash[k]));
    if (mode[k] > 1) bad(field("mode", k), "must be 0 (isolated) or 1 (cross), got " + std::to_string(mode[k]));
    if (instrument[k] >= ni)
      bad(field("instrument", k), "must be in 0.." + std::to_string(ni - 1) + ", got " + std::to_string(instrument[k]));
    for (std::size_t i = 0; i < ni; ++i) {
      const Qty q = position[k * ni + i];
      if (q == 0) continue;
      if (q > kMaxQty || q < -kMaxQty) bad(field("position", k), "must be within +-2^40 lots");
      if (mode[k] == 0 && i != instrument[k])
        bad(field("position", k), "an isolated account holds only its own instrument " + std::to_string(instrument[k]));
      const double e = entry_price[k * ni + i];
      if (!(e > 0 && e <= static_cast<double>(kMaxPrice)))
        bad(field("entry_price", k), "must be in (0, 2^62] ticks for an open position");
    }
  }
  // Grow every column once, then fill it in bulk.
  const std::size_t first = table_.size();
  const std::size_t total = first + n;
  auto append = [n, first, total](auto& column, const auto* source) {
    column.resize(total);
    std::copy(source, source + n, column.begin() + static_cast<std::ptrdiff_t>(first));
  };
  append(table_.cash, cash);
  append(table_.mode, mode);
  append(table_.population, population);
  append(table_.instrument, instrument);
  table_.realized_pnl.resize(total, 0.0);
  table_.fees_paid.resize(total, 0.0);
  table_.status.resize(total, 0);
  table_.membership.resize(total, kNotTracked);
  table_.links.trigger.resize(total, std::numeric_limits<double>::quiet_NaN());
  table_.links.next.resize(total, kNil);
  table_.links.prev.resize(total, kNil);
  table_.position.resize(total * ni);
  table_.cost.resize(total * ni);
  scan_.resize(total);
  for (std::size_t k = 0; k < n * ni; ++k) {
    const std::size_t i = k % ni;
    const Qty q = position[k];
    table_.position[first * ni + k] = q;
    if (q > 0) open_interest_[i] += q;
    table_.cost[first * ni + k] = q == 0 ? 0.0 : static_cast<double>(q) * entry_price[k] * tick_values_[i];
    if (q != 0 && !indexes_[i]) ensure_span(i, entry_price[k]);
  }
  for (std::size_t k = first; k < total; ++k) refresh(static_cast<std::uint32_t>(k));
}

void MarginEngine::set_rule(std::size_t instrument, MarginRule rule) {
  if (instrument >= instruments()) bad("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  rule.validate_and_prepare();
  rules_[instrument] = std::move(rule);
  // Every trigger on this instrument moves: re-key them all, and every cross threshold.
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    const std::uint8_t m = table_.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table_.instrument[a] == instrument) refresh(a);
  }
  scan_.rekey_all(view(), table_.links);
}

std::size_t MarginEngine::lone_position(std::uint32_t a) const noexcept {
  std::size_t found = SIZE_MAX;
  for (std::size_t i = 0; i < instruments(); ++i) {
    if (table_.position[at(a, i)] == 0) continue;
    if (found != SIZE_MAX) return SIZE_MAX - 1;  // several
    found = i;
  }
  return found;
}

void MarginEngine::detach(std::uint32_t a) {
  const std::uint8_t m = table_.membership[a];
  if (m == kIndexedLong || m == kIndexedShort) {
    SideIndexes& idx = *indexes_[table_.instrument[a]];
    (m == kIndexedLong ? idx.longs : idx.shorts).remove(table_.links, a);
  } else if (m == kScanned) {
    scan_.remove(table_.links, a);
  }
  table_.membership[a] = kNotTracked;
}

void MarginEngine::refresh(std::uint32_t a) {
  detach(a);
  const std::size_t i = lone_position(a);
  if (i == SIZE_MAX) {
    table_.links.trigger[a] = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  if (i == SIZE_MAX - 1) {
    table_.links.trigger[a] = std::numeric_limits<double>::quiet_NaN();
    scan_.insert(view(), table_.links, a);
    table_.membership[a] = kScanned;
    return;
  }
  const Qty q = table_.position[at(a, i)];
  const double cost = table_.cost[at(a, i)];
  table_.links.trigger[a] = rules_[i].liquidation_price(q, cost, table_.cash[a] - cost, tick_values_[i]);
  table_.instrument[a] = static_cast<std::uint16_t>(i);
  if (!indexes_[i]) ensure_span(i, std::fabs(cost) / (static_cast<double>(qabs(q)) * tick_values_[i]));
  SideIndexes& idx = *indexes_[i];
  (q > 0 ? idx.longs : idx.shorts).insert(table_.links, a);
  table_.membership[a] = q > 0 ? kIndexedLong : kIndexedShort;
}

void MarginEngine::ensure_span(std::size_t i, double price) {
  // Buckets cover four times the price, so marks rarely outgrow them.
  auto shift_for = [](double p) {
    const double want = 4.0 * std::max(p, 1.0) / static_cast<double>(LiquidationIndex::kBuckets);
    return want <= 1.0 ? 0 : static_cast<int>(std::ceil(std::log2(want)));
  };
  if (!indexes_[i]) {
    const int shift = shift_for(price);
    indexes_[i] =
        std::make_unique<SideIndexes>(SideIndexes{LiquidationIndex(true, shift), LiquidationIndex(false, shift)});
    return;
  }
  if (2.0 * price > indexes_[i]->longs.span_ticks()) rebuild(i, shift_for(price));
}

void MarginEngine::rebuild(std::size_t i, int shift) {
  indexes_[i] =
      std::make_unique<SideIndexes>(SideIndexes{LiquidationIndex(true, shift), LiquidationIndex(false, shift)});
  SideIndexes& idx = *indexes_[i];
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    const std::uint8_t m = table_.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table_.instrument[a] == i)
      (m == kIndexedLong ? idx.longs : idx.shorts).insert(table_.links, a);
  }
}

double MarginEngine::equity(std::uint32_t a, const Price* marks) const noexcept {
  double e = table_.cash[a];
  for (std::size_t i = 0; i < instruments(); ++i) {
    const Qty q = table_.position[at(a, i)];
    if (q != 0) e += static_cast<double>(q) * static_cast<double>(marks[i]) * tick_values_[i] - table_.cost[at(a, i)];
  }
  return e;
}

double MarginEngine::maintenance_margin(std::uint32_t a, const Price* marks) const noexcept {
  double mm = 0.0;
  for (std::size_t i = 0; i < instruments(); ++i) {
    const Qty q = table_.position[at(a, i)];
    if (q != 0) mm += rules_[i].maintenance_margin(q, table_.cost[at(a, i)], marks[i], tick_values_[i]);
  }
  return mm;
}

bool MarginEngine::liquidatable(std::uint32_t a, const Price* marks) const noexcept {
  bool open = false;
  for (std::size_t i = 0; i < instruments() && !open; ++i) open = table_.position[at(a, i)] != 0;
  return open && equity(a, marks) <= maintenance_margin(a, marks);
}

double MarginEngine::liquidation_price(std::uint32_t a) const noexcept {
  const std::size_t i = lone_position(a);
  if (i >= SIZE_MAX - 1) return std::numeric_limits<double>::quiet_NaN();
  const double cost = table_.cost[at(a, i)];
  return rules_[i].liquidation_price(table_.position[at(a, i)], cost, table_.cash[a] - cost, tick_values_[i]);
}

double MarginEngine::conserved() const noexcept {
  double total = 0.0;
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    double c = table_.cash[a];
    for (std::size_t i = 0; i < instruments(); ++i) c -= table_.cost[at(a, i)];
    total += c;
  }
  double f = fund_.cash + outside_.cash;
  for (std::size_t i = 0; i < instruments(); ++i) f -= fund_.cost[i] + outside_.cost[i];
  return total + f + fees_collected_ - bad_debt_;
}

std::size_t MarginEngine::memory_bytes() const noexcept {
  std::size_t bytes = table_.memory_bytes() + scan_.memory_bytes();
  for (const auto& idx : indexes_)
    if (idx) bytes += idx->longs.memory_bytes() + idx->shorts.memory_bytes();
  return bytes;
}

void MarginEngine::apply_trade(std::uint32_t a, std::size_t i, Qty lots, double price, double fee) {
  if (a >= accounts()) bad("account", "no account " + std::to_string(a));
  if (i >= instruments()) bad("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  if (table_.mode[a] == 0 && table_.instrument[a] != i && lone_position(a) != SIZE_MAX)
    bad("instrument", "isolated account " + std::to_string(a) + " trades only its own instrument");
  if (lots == 0 || lots > kMaxQty || lots < -kMaxQty) bad("lots", "must be non-zero and within +-2^40");
  if (!(price > 0 && price <= static_cast<double>(kMaxPrice))) bad("price", "must be in (0, 2^62] ticks");
  if (!(std::fabs(fee) <= kMaxCash)) bad("fee", "must be in [-1e15, 1e15]");
  detach(a);
  trade_account(a, i, lots, price);
  table_.cash[a] -= fee;
  table_.fees_paid[a] += fee;
  fees_collected_ += fee;
  if (table_.mode[a] == 0) table_.instrument[a] = static_cast<std::uint16_t>(i);
  refresh(a);
}

std::size_t MarginEngine::check(const Price* marks) { return run_check(marks, false); }

std::size_t MarginEngine::check_books(const Price* index_prices) { return run_check(index_prices, true); }

void MarginEngine::attach_book(std::size_t i, OrderBook* book, MarkRule rule) {
  if (i >= instruments()) bad("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  if (book != nullptr && !book->tracks_owners()) bad("book", "must be made with track_owners=True");
  if (static_cast<std::uint8_t>(rule) > 2) bad("mark", "must be last, mid or median");
  books_[i] = book;
  mark_rules_[i] = rule;
}

Price MarginEngine::book_mark(std::size_t i, Price index) const noexcept {
  const OrderBook* book = books_[i];
  if (book == nullptr) return index;
  const Price last = book->last_price().value_or(index);
  const auto bid = book->best_bid();
  const auto ask = book->best_ask();
  const Price mid = bid && ask ? (*bid + *ask) / 2 : last;
  switch (mark_rules_[i]) {
    case MarkRule::Last:
      return last;
    case MarkRule::Mid:
      return mid;
    case MarkRule::Median:
      return std::max(std::min(index, mid), std::min(std::max(index, mid), last));
  }
  return last;
}

std::size_t MarginEngine::run_check(const Price* prices, bool from_books) {
  for (std::size_t i = 0; i < instruments(); ++i)
    if (prices[i] < 1 || prices[i] > kMaxPrice)
      bad((from_books ? "index_prices[" : "marks[") + std::to_string(i) + "]",
          "must be in 1..2^62 ticks, got " + std::to_string(prices[i]));
  const std::size_t before = log_.size();
  ++checks_;
  used_notional_ = 0.0;
  for (int round = 0; round < settings_.max_rounds; ++round) {
    // Each round marks at the prices it starts with: liquidation orders move books.
    for (std::size_t i = 0; i < instruments(); ++i) {
      marks_[i] = from_books ? book_mark(i, prices[i]) : prices[i];
      if (indexes_[i]) ensure_span(i, static_cast<double>(marks_[i]));
    }
    candidates_.clear();
    for (std::size_t i = 0; i < instruments(); ++i) {
      if (!indexes_[i]) continue;
      const auto mark = static_cast<double>(marks_[i]);
      indexes_[i]->longs.candidates(table_.links, mark, candidates_);
      indexes_[i]->shorts.candidates(table_.links, mark, candidates_);
    }
    scan_.candidates(view(), table_.links, marks_.data(), candidates_);
    std::sort(candidates_.begin(), candidates_.end());
    candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
    // The round's accounts are those liquidatable at its start; one that only
    // becomes liquidatable during it (an ADL victim) waits for the next round.
    std::size_t kept = 0;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      const std::uint32_t a = candidates_[c];
      if (c + 4 < candidates_.size()) prefetch_row(candidates_[c + 4]);
      if (liquidatable(a, marks_.data())) {
        candidates_[kept++] = a;
      } else if (table_.membership[a] != kScanned) {
        refresh(a);  // re-inserted: the index let go of it when handing it out
      }
    }
    candidates_.resize(kept);
    bool any = false;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      const std::uint32_t a = candidates_[c];
      if (used_notional_ >= settings_.max_liquidation_notional) {
        // The cap is used up: the rest wait for the next check, back in the index.
        for (std::size_t rest = c; rest < candidates_.size(); ++rest)
          if (table_.membership[candidates_[rest]] != kScanned) refresh(candidates_[rest]);
        return log_.size() - before;
      }
      if (!liquidatable(a, marks_.data())) {
        if (table_.membership[a] != kScanned) refresh(a);
        continue;
      }
      liquidate(a, static_cast<std::uint16_t>(round));
      any = true;
    }
    if (!any) break;
  }
  return log_.size() - before;
}

void MarginEngine::prefetch_row(std::uint32_t a) const noexcept {
  __builtin_prefetch(&table_.cash[a], 1);
  __builtin_prefetch(&table_.position[at(a, 0)], 1);
  __builtin_prefetch(&table_.cost[at(a, 0)], 1);
  __builtin_prefetch(&table_.realized_pnl[a], 1);
  __builtin_prefetch(&table_.status[a], 1);
  __builtin_prefetch(&table_.membership[a], 1);
  __builtin_prefetch(&table_.links.next[a], 1);
  __builtin_prefetch(&table_.links.prev[a], 1);
}

std::size_t MarginEngine::check_path(const Price* marks, std::size_t steps) {
  std::size_t records = 0;
  for (std::size_t t = 0; t < steps; ++t) records += check(marks + t * instruments());
  return records;
}

std::size_t MarginEngine::count_liquidatable(const Price* marks) const {
  const std::size_t n = accounts();
  std::size_t count = 0;
  if (instruments() == 1) {
    // The single-instrument scan in one flat loop the compiler can vectorize.
    const MarginRule& rule = rules_[0];
    const double v = tick_values_[0];
    const auto p = static_cast<double>(marks[0]);
    const Qty* q = table_.position.data();
    const double* cash = table_.cash.data();
    const double* cost = table_.cost.data();
    if (rule.maintenance == Maintenance::Percent && rule.basis == MarginBasis::Mark) {
      const double rate = rule.maintenance_rate;
      for (std::size_t a = 0; a < n; ++a) {
        const auto qa = static_cast<double>(q[a]);
        const double e = cash[a] + (qa * p * v - cost[a]);
        const double mm = rate * (std::fabs(qa) * p * v);
        count += (q[a] != 0 && e <= mm) ? 1u : 0u;
      }
      return count;
    }
  }
  // Any portfolio: the table in blocks through the vectorized revaluation (the same expressions).
  auto block = std::make_unique<RevaluationBlock>();
  for (std::size_t first = 0; first < n; first += RevaluationBlock::kSize) {
    const std::size_t size = std::min(RevaluationBlock::kSize, n - first);
    revalue_block(table_, rules_.data(), tick_values_.data(), marks, first, size, false, *block);
    for (std::size_t k = 0; k < size; ++k) count += (block->open[k] != 0 && block->equity[k] <= block->mm[k]) ? 1u : 0u;
  }
  return count;
}

void MarginEngine::liquidate(std::uint32_t a, std::uint16_t round) {
  table_.status[a] |= kStatusLiquidated;
  if (equity(a, marks_.data()) < 0) {
    if ((table_.status[a] & kStatusBankrupt) == 0) ++bankrupt_accounts_;
    table_.status[a] |= kStatusBankrupt;
  }
  detach(a);
  for (OrderBook* book : books_)
    if (book != nullptr) book->cancel_owner(a);
  if (settings_.close_order == CloseOrder::ProRata) {
    liquidate_pro_rata(a, round);
    refresh(a);
    return;
  }
  close_order_.clear();
  for (std::size_t i = 0; i < instruments(); ++i)
    if (table_.position[at(a, i)] != 0) close_order_.push_back(i);
  // Positions do not change each other's rank while the account is closed (the
  // marks are the round's), so the order is taken once.
  if (settings_.close_order == CloseOrder::MostLiquid) {
    const std::vector<double>& liquidity = settings_.liquidity;
    std::stable_sort(close_order_.begin(), close_order_.end(),
                     [&](std::size_t x, std::size_t y) { return liquidity[x] > liquidity[y]; });
  } else if (settings_.close_order == CloseOrder::LargestLoss) {
    auto upnl = [&](std::size_t i) {
      return static_cast<double>(table_.position[at(a, i)]) * static_cast<double>(marks_[i]) * tick_values_[i] -
             table_.cost[at(a, i)];
    };
    std::stable_sort(close_order_.begin(), close_order_.end(),
                     [&](std::size_t x, std::size_t y) { return upnl(x) < upnl(y); });
  }
  for (const std::size_t i : close_order_) {
    if (table_.position[at(a, i)] == 0) continue;
    if (!liquidatable(a, marks_.data())) break;
    const MarginRule& rule = rules_[i];
    double closed = 0.0;  // notional closed on this position, for the fee
    bool saved = false;
    if (rule.partial_liquidation && rule.maintenance == Maintenance::Tiered) {
      const Qty q = table_.position[at(a, i)];
      const double n = rule.basis_notional(q, table_.cost[at(a, i)], marks_[i], tick_values_[i]);
      const std::size_t j = rule.bracket(n);
      if (j > 0) {
        // Just enough lots to take the notional below the bracket's floor.
        const double want = std::ceil((n - rule.tier_floor[j]) / (static_cast<double>(marks_[i]) * tick_values_[i]));
        const Qty k = std::clamp<Qty>(static_cast<Qty>(want), 1, qabs(q));
        closed += close_out(a, i, k, CloseKind::Partial, round);
        saved = !liquidatable(a, marks_.data());
      }
    }
    const Qty open = table_.position[at(a, i)];
    if (!saved && open != 0) closed += close_out(a, i, qabs(open), CloseKind::Takeover, round);
    settle(a, i, closed);
    if (saved) break;
  }
  refresh(a);
}

void MarginEngine::liquidate_pro_rata(std::uint32_t a, std::uint16_t round) {
  // Step j of 4 closes each position down to (4 - j) quarters of what it was,
  // the lots closed so far rounded up: ceil(|q0| * j / 4).
  constexpr Qty kSteps = 4;
  std::vector<Qty> start(instruments());
  for (std::size_t i = 0; i < instruments(); ++i) start[i] = qabs(table_.position[at(a, i)]);
  for (Qty j = 1; j <= kSteps; ++j) {
    if (!liquidatable(a, marks_.data())) break;
    for (std::size_t i = 0; i < instruments(); ++i) {
      const Qty open = qabs(table_.position[at(a, i)]);
      if (open == 0) continue;
      const Qty done = start[i] - open;
      const Qty lots = std::min(open, (start[i] * j + kSteps - 1) / kSteps - done);
      if (lots <= 0) continue;
      settle(a, i, close_out(a, i, lots, CloseKind::Takeover, round));
    }
  }
}

double MarginEngine::close_out(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round) {
  Qty left = lots;
  double closed = sell_into_book(a, i, lots, round, left);
  if (left > 0) closed += close(a, i, left, kind, round);
  return closed;
}

void MarginEngine::settle(std::uint32_t a, std::size_t i, double closed) {
  const MarginRule& rule = rules_[i];
  // The liquidation fee on the notional closed goes to the fund, never
  // taking the account's equity below zero.
  const double fee = std::max(0.0, std::min(rule.liquidation_fee_rate * closed, equity(a, marks_.data())));
  if (fee != 0.0) {
    table_.cash[a] -= fee;
    table_.fees_paid[a] += fee;
    fund_.cash += fee;
  }
  if (rule.negative_balance_protection && lone_position(a) == SIZE_MAX && table_.cash[a] < 0) {
    bad_debt_ += -table_.cash[a];
    bad_debt_by_instrument_[i] += -table_.cash[a];
    table_.cash[a] = 0.0;
  }
}

double MarginEngine::close(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round) {
  const Qty q = table_.position[at(a, i)];
  const double v = tick_values_[i];
  const auto mark = static_cast<double>(marks_[i]);
  const double e = equity(a, marks_.data());
  const double bankruptcy = mark - e / (static_cast<double>(q) * v);
  const Qty sign = q > 0 ? 1 : -1;
  const double e_rest = static_cast<double>(sign * lots) * v * (mark - bankruptcy);

  Qty to_fund = lots;
  if (settings_.adl && fund_.cash < std::max(0.0, -e_rest)) {
    // Auto-deleveraging: opposite positions ranked by profit x leverage.
    std::vector<std::pair<double, std::uint32_t>> ranked;
    for (std::uint32_t j = 0; j < accounts(); ++j) {
      const Qty qj = table_.position[at(j, i)];
      if (j == a || qj == 0 || (qj > 0) == (q > 0)) continue;
      const double ej = equity(j, marks_.data());
      double score = -kInf;
      if (ej > 0) {
        const double cj = table_.cost[at(j, i)];
        const double upnl = static_cast<double>(qj) * mark * v - cj;
        const double notional = static_cast<double>(qabs(qj)) * mark * v;
        score = (upnl / std::fabs(cj)) * (notional / ej);
      }
      ranked.emplace_back(score, j);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
    std::vector<std::pair<std::uint32_t, Qty>> takes;
    Qty total = 0;
    for (const auto& [score, j] : ranked) {
      if (total == lots) break;
      const Qty take = std::min(lots - total, qabs(table_.position[at(j, i)]));
      takes.emplace_back(j, take);
      total += take;
    }
    if (total > 0) {
      record(CloseKind::Adl, round, a, i, q, total, bankruptcy, e);
      for (const auto& [j, take] : takes)
        record(CloseKind::AdlVictim, round, j, i, table_.position[at(j, i)], take, bankruptcy,
               equity(j, marks_.data()));
      trade_account(a, i, -sign * total, bankruptcy);
      for (const auto& [j, take] : takes) {
        detach(j);
        trade_account(j, i, sign * take, bankruptcy);
        refresh(j);
      }
    }
    to_fund = lots - total;
  }
  if (to_fund > 0) {
    // Equity before this part: after any ADL above.
    record(kind, round, a, i, q, to_fund, bankruptcy, to_fund == lots ? e : equity(a, marks_.data()));
    trade_account(a, i, -sign * to_fund, bankruptcy);
    trade_fund(i, sign * to_fund, bankruptcy);
  }
  return static_cast<double>(lots) * bankruptcy * v;
}

double MarginEngine::sell_into_book(std::uint32_t a, std::size_t i, Qty lots, std::uint16_t round, Qty& left) {
  left = lots;
  OrderBook* book = books_[i];
  if (book == nullptr) return 0.0;
  const Qty q = table_.position[at(a, i)];
  const double v = tick_values_[i];
  const double e = equity(a, marks_.data());
  const double bankruptcy = static_cast<double>(marks_[i]) - e / (static_cast<double>(q) * v);
  // No fill worse than the bankruptcy price: a sale at or above it, a purchase at or below.
  const bool sell = q > 0;
  Price limit = sell ? Price{1} : kMaxPrice;  // at market
  if (!settings_.liquidate_at_market) {
    const double bound = sell ? std::ceil(bankruptcy) : std::floor(bankruptcy);
    if (!(bound <= static_cast<double>(kMaxPrice))) return 0.0;
    limit = sell ? std::max<Price>(1, static_cast<Price>(bound)) : static_cast<Price>(bound);
    if (limit < 1) return 0.0;
  }
  Message m{0,
            limit,
            lots,
            a,
            static_cast<std::uint8_t>(MsgType::Ioc),
            static_cast<std::uint8_t>(sell ? Side::Sell : Side::Buy),
            {}};
  book_fills_.clear();
  book->apply(m, 0, book_fills_);
  Qty filled = 0;
  double value = 0.0;
  for (const Fill& f : book_fills_) {
    if (f.kind != static_cast<std::uint8_t>(FillKind::Trade)) continue;
    if (trade_sink_ != nullptr) trade_sink_->push_back(BookTrade{static_cast<std::uint32_t>(i), f});
    apply_fill(i, f.maker_owner, sell ? f.qty : -f.qty, f.price, rules_[i].maker_fee_rate);
    trade_account(a, i, sell ? -f.qty : f.qty, static_cast<double>(f.price));
    filled += f.qty;
    value += static_cast<double>(f.qty) * static_cast<double>(f.price);
  }
  left = lots - filled;
  if (filled == 0) return 0.0;
  record(CloseKind::BookOrder, round, a, i, q, filled, value / static_cast<double>(filled), e);
  return value * v;
}

void MarginEngine::apply_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate) {
  const double v = tick_values_[i];
  const double fee = fee_rate * (static_cast<double>(qabs(lots)) * static_cast<double>(price) * v);
  fees_collected_ += fee;
  if (owner == kFundOwner) {
    trade_fund(i, lots, static_cast<double>(price));
    fund_.cash -= fee;
    return;
  }
  if (owner >= accounts()) {
    trade_holder(i, outside_.position[i], outside_.cost[i], outside_.cash, nullptr, lots, static_cast<double>(price));
    outside_.cash -= fee;
    return;
  }
  detach(owner);
  trade_account(owner, i, lots, static_cast<double>(price));
  table_.cash[owner] -= fee;
  table_.fees_paid[owner] += fee;
  if (table_.mode[owner] == 0) table_.instrument[owner] = static_cast<std::uint16_t>(i);
  refresh(owner);
}

void MarginEngine::apply_fills(std::size_t i, const Fill* fills, std::size_t n) {
  if (i >= instruments()) bad("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  // Check everything first: a bad batch changes nothing.
  for (std::size_t k = 0; k < n; ++k) {
    const Fill& f = fills[k];
    if (f.kind > 1) bad("fills[" + std::to_string(k) + "].kind", "must be 0 (trade) or 1 (STP cancel)");
    if (f.kind != 0) continue;
    if (f.qty < 1 || f.qty > kMaxQty) bad("fills[" + std::to_string(k) + "].qty", "must be in 1..2^40");
    if (f.price < 1 || f.price > kMaxPrice) bad("fills[" + std::to_string(k) + "].price", "must be in 1..2^62");
    if (f.taker_side > 1) bad("fills[" + std::to_string(k) + "].taker_side", "must be 0 or 1");
    for (const AccountId owner : {f.taker_owner, f.maker_owner}) {
      if (owner >= accounts() || table_.mode[owner] != 0 || table_.instrument[owner] == i) continue;
      if (lone_position(owner) != SIZE_MAX)
        bad("fills[" + std::to_string(k) + "]",
            "isolated account " + std::to_string(owner) + " holds another instrument");
    }
  }
  const MarginRule& rule = rules_[i];
  for (std::size_t k = 0; k < n; ++k) {
    const Fill& f = fills[k];
    if (f.kind != 0) continue;
    const Qty taker_lots = f.taker_side == static_cast<std::uint8_t>(Side::Buy) ? f.qty : -f.qty;
    apply_fill(i, f.taker_owner, taker_lots, f.price, rule.taker_fee_rate);
    apply_fill(i, f.maker_owner, -taker_lots, f.price, rule.maker_fee_rate);
  }
}

void MarginEngine::trade_holder(std::size_t i, Qty& q, double& cost, double& cash, double* realized, Qty lots,
                                double price) {
  const Qty before = q;
  trade(q, cost, cash, realized, lots, price, tick_values_[i]);
  money_moved_ += static_cast<double>(qabs(lots)) * price * tick_values_[i];
  open_interest_[i] += std::max<Qty>(q, 0) - std::max<Qty>(before, 0);
}

void MarginEngine::trade_account(std::uint32_t a, std::size_t i, Qty lots, double price) {
  trade_holder(i, table_.position[at(a, i)], table_.cost[at(a, i)], table_.cash[a], &table_.realized_pnl[a], lots,
               price);
}

void MarginEngine::trade_fund(std::size_t i, Qty lots, double price) {
  trade_holder(i, fund_.position[i], fund_.cost[i], fund_.cash, nullptr, lots, price);
}

void MarginEngine::record(CloseKind kind, std::uint16_t round, std::uint32_t a, std::size_t i, Qty signed_position,
                          Qty lots, double price, double equity_before) {
  if (kind != CloseKind::AdlVictim)
    used_notional_ += static_cast<double>(lots) * static_cast<double>(marks_[i]) * tick_values_[i];
  log_.push_back(LiquidationRecord{checks_ - 1, round, static_cast<std::uint8_t>(kind),
                                   static_cast<std::uint8_t>(signed_position > 0 ? 0 : 1), a,
                                   static_cast<std::uint32_t>(i), lots, price, marks_[i], equity_before});
}

}  // namespace deleverage
