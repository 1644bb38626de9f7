#include "deleverage/margin_engine.hpp"

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
    if (!std::isfinite(tick_values_[i]) || tick_values_[i] <= 0)
      bad("tick_value", "must be finite and > 0, got " + std::to_string(tick_values_[i]));
    rules_[i].validate_and_prepare();
  }
  if (!std::isfinite(settings_.insurance_fund) || settings_.insurance_fund < 0)
    bad("insurance_fund", "must be finite and >= 0, got " + std::to_string(settings_.insurance_fund));
  if (settings_.max_rounds < 1 || settings_.max_rounds > 65535)
    bad("max_rounds", "must be in 1..65535, got " + std::to_string(settings_.max_rounds));
  if (!(settings_.max_liquidation_notional > 0))
    bad("max_liquidation_notional", "must be > 0 (inf for no cap)");
  table_.instruments = tick_values_.size();
  fund_.cash = settings_.insurance_fund;
  fund_.position.assign(instruments(), 0);
  fund_.cost.assign(instruments(), 0.0);
  indexes_.resize(instruments());
  marks_.assign(instruments(), 0);
}

void MarginEngine::add_accounts(std::size_t n, const double* cash, const std::uint16_t* instrument,
                                const Qty* position, const double* entry_price, const std::uint8_t* mode,
                                const std::uint16_t* population) {
  const std::size_t ni = instruments();
  if (table_.size() + n > 0xFFFFFFF0u) bad("cash", "at most 2^32 - 16 accounts in one engine");
  auto field = [](const char* name, std::size_t k) { return std::string(name) + "[" + std::to_string(k) + "]"; };
  for (std::size_t k = 0; k < n; ++k) {
    if (!std::isfinite(cash[k]) || cash[k] < 0)
      bad(field("cash", k), "must be finite and >= 0, got " + std::to_string(cash[k]));
    if (mode[k] > 1) bad(field("mode", k), "must be 0 (isolated) or 1 (cross), got " + std::to_string(mode[k]));
    if (instrument[k] >= ni)
      bad(field("instrument", k),
          "must be in 0.." + std::to_string(ni - 1) + ", got " + std::to_string(instrument[k]));
    for (std::size_t i = 0; i < ni; ++i) {
      const Qty q = position[k * ni + i];
      if (q == 0) continue;
      if (q > kMaxQty || q < -kMaxQty) bad(field("position", k), "must be within +-2^40 lots");
      if (mode[k] == 0 && i != instrument[k])
        bad(field("position", k),
            "an isolated account holds only its own instrument " + std::to_string(instrument[k]));
      const double e = entry_price[k * ni + i];
      if (!std::isfinite(e) || e <= 0) bad(field("entry_price", k), "must be finite and > 0 for an open position");
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
  for (std::size_t k = 0; k < n * ni; ++k) {
    const std::size_t i = k % ni;
    const Qty q = position[k];
    table_.position[first * ni + k] = q;
    table_.cost[first * ni + k] = q == 0 ? 0.0 : static_cast<double>(q) * entry_price[k] * tick_values_[i];
    if (q != 0 && !indexes_[i]) ensure_span(i, entry_price[k]);
  }
  for (std::size_t k = first; k < total; ++k) refresh(static_cast<std::uint32_t>(k));
}

void MarginEngine::set_rule(std::size_t instrument, MarginRule rule) {
  if (instrument >= instruments()) bad("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  rule.validate_and_prepare();
  rules_[instrument] = std::move(rule);
  // Every trigger on this instrument moves: re-key them all.
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    const std::uint8_t m = table_.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table_.instrument[a] == instrument) refresh(a);
  }
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
    const std::uint32_t slot = table_.links.next[a];
    const std::uint32_t last = scanned_.back();
    scanned_[slot] = last;
    table_.links.next[last] = slot;
    scanned_.pop_back();
    table_.links.next[a] = kNil;
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
    table_.links.next[a] = static_cast<std::uint32_t>(scanned_.size());
    scanned_.push_back(a);
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
    indexes_[i] = std::make_unique<SideIndexes>(SideIndexes{LiquidationIndex(true, shift), LiquidationIndex(false, shift)});
    return;
  }
  if (2.0 * price > indexes_[i]->longs.span_ticks()) rebuild(i, shift_for(price));
}

void MarginEngine::rebuild(std::size_t i, int shift) {
  indexes_[i] = std::make_unique<SideIndexes>(SideIndexes{LiquidationIndex(true, shift), LiquidationIndex(false, shift)});
  SideIndexes& idx = *indexes_[i];
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    const std::uint8_t m = table_.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table_.instrument[a] == i) (m == kIndexedLong ? idx.longs : idx.shorts).insert(table_.links, a);
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
  double f = fund_.cash;
  for (std::size_t i = 0; i < instruments(); ++i) f -= fund_.cost[i];
  return total + f + fees_collected_ - bad_debt_;
}

std::size_t MarginEngine::memory_bytes() const noexcept {
  std::size_t bytes = table_.memory_bytes() + scanned_.capacity() * sizeof(std::uint32_t);
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
  if (!std::isfinite(price) || price <= 0) bad("price", "must be finite and > 0");
  if (!std::isfinite(fee)) bad("fee", "must be finite");
  detach(a);
  trade(table_.position[at(a, i)], table_.cost[at(a, i)], table_.cash[a], &table_.realized_pnl[a], lots, price,
        tick_values_[i]);
  table_.cash[a] -= fee;
  table_.fees_paid[a] += fee;
  fees_collected_ += fee;
  if (table_.mode[a] == 0) table_.instrument[a] = static_cast<std::uint16_t>(i);
  refresh(a);
}

std::size_t MarginEngine::check(const Price* marks) {
  for (std::size_t i = 0; i < instruments(); ++i)
    if (marks[i] < 1 || marks[i] > kMaxPrice)
      bad("marks[" + std::to_string(i) + "]", "must be in 1..2^62 ticks, got " + std::to_string(marks[i]));
  const std::size_t before = log_.size();
  ++checks_;
  std::copy(marks, marks + instruments(), marks_.begin());
  for (std::size_t i = 0; i < instruments(); ++i)
    if (indexes_[i]) ensure_span(i, static_cast<double>(marks[i]));

  double used = 0.0;
  for (int round = 0; round < settings_.max_rounds; ++round) {
    candidates_.clear();
    for (std::size_t i = 0; i < instruments(); ++i) {
      if (!indexes_[i]) continue;
      const auto mark = static_cast<double>(marks_[i]);
      indexes_[i]->longs.candidates(table_.links, mark, candidates_);
      indexes_[i]->shorts.candidates(table_.links, mark, candidates_);
    }
    candidates_.insert(candidates_.end(), scanned_.begin(), scanned_.end());
    std::sort(candidates_.begin(), candidates_.end());
    candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
    bool any = false;
    for (std::size_t c = 0; c < candidates_.size(); ++c) {
      const std::uint32_t a = candidates_[c];
      if (c + 4 < candidates_.size()) prefetch_row(candidates_[c + 4]);
      if (!liquidatable(a, marks_.data())) {
        refresh(a);  // re-inserted: the index forgot it when it was handed out as a candidate
        continue;
      }
      if (used >= settings_.max_liquidation_notional) return log_.size() - before;
      for (std::size_t i = 0; i < instruments(); ++i) {
        const Qty q = table_.position[at(a, i)];
        used += static_cast<double>(qabs(q)) * static_cast<double>(marks_[i]) * tick_values_[i];
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

std::size_t MarginEngine::count_liquidatable(const Price* marks) const noexcept {
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
  for (std::uint32_t a = 0; a < n; ++a) count += liquidatable(a, marks) ? 1u : 0u;
  return count;
}

void MarginEngine::liquidate(std::uint32_t a, std::uint16_t round) {
  table_.status[a] |= kStatusLiquidated;
  if (equity(a, marks_.data()) < 0) table_.status[a] |= kStatusBankrupt;
  detach(a);
  bool protect = false;
  for (std::size_t i = 0; i < instruments(); ++i) {
    if (!liquidatable(a, marks_.data())) break;
    const Qty q = table_.position[at(a, i)];
    if (q == 0) continue;
    const MarginRule& rule = rules_[i];
    protect = protect || rule.negative_balance_protection;
    if (rule.partial_liquidation && rule.maintenance == Maintenance::Tiered) {
      const double n = rule.basis_notional(q, table_.cost[at(a, i)], marks_[i], tick_values_[i]);
      const std::size_t j = rule.bracket(n);
      if (j > 0) {
        const double want = std::ceil((n - rule.tier_floor[j]) / (static_cast<double>(marks_[i]) * tick_values_[i]));
        const Qty k = std::clamp<Qty>(static_cast<Qty>(want), 1, qabs(q));
        if (k < qabs(q)) {
          close(a, i, k, CloseKind::Partial, round);
          if (!liquidatable(a, marks_.data())) break;
        }
      }
    }
    const Qty rest = table_.position[at(a, i)];
    if (rest != 0) close(a, i, qabs(rest), CloseKind::Takeover, round);
  }
  if (protect && table_.cash[a] < 0 && lone_position(a) == SIZE_MAX) {
    bad_debt_ += -table_.cash[a];
    table_.cash[a] = 0.0;
  }
  refresh(a);
}

Qty MarginEngine::close(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round) {
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
        record(CloseKind::AdlVictim, round, j, i, table_.position[at(j, i)], take, bankruptcy, equity(j, marks_.data()));
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
    record(kind, round, a, i, q, to_fund, bankruptcy, e);
    trade_account(a, i, -sign * to_fund, bankruptcy);
    trade_fund(i, sign * to_fund, bankruptcy);
  }
  // The liquidation fee goes to the fund, never taking equity below zero.
  const double rate = rules_[i].liquidation_fee_rate;
  if (rate > 0) {
    const double fee = std::min(rate * (static_cast<double>(lots) * std::fabs(bankruptcy) * v),
                                std::max(0.0, equity(a, marks_.data())));
    table_.cash[a] -= fee;
    table_.fees_paid[a] += fee;
    fund_.cash += fee;
  }
  return lots;
}

void MarginEngine::trade_account(std::uint32_t a, std::size_t i, Qty lots, double price) {
  trade(table_.position[at(a, i)], table_.cost[at(a, i)], table_.cash[a], &table_.realized_pnl[a], lots, price,
        tick_values_[i]);
}

void MarginEngine::trade_fund(std::size_t i, Qty lots, double price) {
  trade(fund_.position[i], fund_.cost[i], fund_.cash, nullptr, lots, price, tick_values_[i]);
}

void MarginEngine::record(CloseKind kind, std::uint16_t round, std::uint32_t a, std::size_t i, Qty signed_position,
                          Qty lots, double price, double equity_before) {
  log_.push_back(LiquidationRecord{checks_ - 1, round, static_cast<std::uint8_t>(kind),
                                   static_cast<std::uint8_t>(signed_position > 0 ? 0 : 1), a,
                                   static_cast<std::uint32_t>(i), lots, price, marks_[i], equity_before});
}

}  // namespace deleverage
