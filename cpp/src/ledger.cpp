#include "deleverage/ledger.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "deleverage/insurance_fund.hpp"
#include "deleverage/liquidation_detector.hpp"

namespace deleverage {
namespace {

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

}  // namespace

void margin_input_error(const std::string& field, const std::string& what) {
  throw std::invalid_argument(field + ": " + what);
}

Ledger::Ledger(std::vector<double> tick_values, std::vector<MarginRule> rules)
    : tick_values_(std::move(tick_values)), rules_(std::move(rules)) {
  if (tick_values_.empty() || tick_values_.size() > 65535)
    margin_input_error("instruments", "need 1..65535 instruments");
  if (rules_.size() != tick_values_.size()) margin_input_error("rules", "need one rule per instrument");
  for (std::size_t i = 0; i < tick_values_.size(); ++i) {
    // Outside this range a tick's money (price x lots x tick value) leaves double precision.
    if (!(tick_values_[i] >= kMinTickValue && tick_values_[i] <= kMaxTickValue))
      margin_input_error("tick_values[" + std::to_string(i) + "]",
                         "must be in [1e-12, 1e12], got " + std::to_string(tick_values_[i]));
    rules_[i].validate_and_prepare();
  }
  table_.set_instruments(tick_values_.size());
  outside_.position.assign(instruments(), 0);
  outside_.cost.assign(instruments(), 0.0);
  open_interest_.assign(instruments(), 0);
}

void Ledger::append(std::size_t n, const double* cash, const std::uint16_t* instrument, const Qty* position,
                    const double* entry_price, const std::uint8_t* mode, const std::uint16_t* population) {
  const std::size_t ni = instruments();
  if (table_.size() + n > 0xFFFFFFF0u) margin_input_error("cash", "at most 2^32 - 16 accounts in one engine");
  auto field = [](const char* name, std::size_t k) { return std::string(name) + "[" + std::to_string(k) + "]"; };
  for (std::size_t k = 0; k < n; ++k) {
    if (!(cash[k] >= 0 && cash[k] <= kMaxCash))
      margin_input_error(field("cash", k), "must be in [0, 1e15], got " + std::to_string(cash[k]));
    if (mode[k] > 1)
      margin_input_error(field("mode", k), "must be 0 (isolated) or 1 (cross), got " + std::to_string(mode[k]));
    if (instrument[k] >= ni)
      margin_input_error(field("instrument", k),
                         "must be in 0.." + std::to_string(ni - 1) + ", got " + std::to_string(instrument[k]));
    for (std::size_t i = 0; position != nullptr && i < ni; ++i) {
      const Qty q = position[k * ni + i];
      if (q == 0) continue;
      if (q > kMaxQty || q < -kMaxQty) margin_input_error(field("position", k), "must be within +-2^40 lots");
      if (mode[k] == 0 && i != instrument[k])
        margin_input_error(field("position", k),
                           "an isolated account holds only its own instrument " + std::to_string(instrument[k]));
      const double e = entry_price[k * ni + i];
      if (!(e > 0 && e <= static_cast<double>(kMaxPrice)))
        margin_input_error(field("entry_price", k), "must be in (0, 2^62] ticks for an open position");
    }
  }
  // Grow every column once, then fill it in bulk.
  const std::size_t first = table_.size();
  const std::size_t total = first + n;
  auto append_column = [n, first, total](auto& column, const auto* source) {
    column.resize(total);
    std::copy(source, source + n, column.begin() + static_cast<std::ptrdiff_t>(first));
  };
  table_.resize(total);  // the new rows are zero: no P&L, flat
  for (std::size_t k = 0; k < n; ++k) table_.cash[first + k] = cash[k];
  append_column(table_.mode, mode);
  append_column(table_.population, population);
  append_column(table_.instrument, instrument);
  table_.fees_paid.resize(total, 0.0);
  table_.status.resize(total, 0);
  table_.membership.resize(total, kNotTracked);
  table_.links.rows.resize(total, IndexLink{std::numeric_limits<double>::quiet_NaN(), kNil, kNil});
  if (position == nullptr) return;
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t i = 0; i < ni; ++i) {
      const Qty q = position[k * ni + i];
      const Cell c = at(static_cast<std::uint32_t>(first + k), i);
      table_.position[c] = q;
      if (q > 0) open_interest_[i] += q;
      table_.cost[c] = q == 0 ? 0.0 : static_cast<double>(q) * entry_price[k * ni + i] * tick_values_[i];
    }
}

void Ledger::set_rule(std::size_t instrument, MarginRule rule) {
  if (instrument >= instruments())
    margin_input_error("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  rule.validate_and_prepare();
  rules_[instrument] = std::move(rule);
}

double Ledger::liquidation_price(std::uint32_t a) const noexcept {
  const std::size_t i = lone_position(a);
  if (i >= kSeveralPositions) return std::numeric_limits<double>::quiet_NaN();
  const double cost = table_.cost[at(a, i)];
  return rules_[i].liquidation_price(table_.position[at(a, i)], cost, table_.cash[a] - cost, tick_values_[i]);
}

void Ledger::trade_holder(std::size_t i, Qty& q, double& cost, double& cash, double* realized, Qty lots, double price) {
  const Qty before = q;
  trade(q, cost, cash, realized, lots, price, tick_values_[i]);
  money_moved_ += static_cast<double>(qabs(lots)) * price * tick_values_[i];
  open_interest_[i] += std::max<Qty>(q, 0) - std::max<Qty>(before, 0);
}

void Ledger::trade_account(std::uint32_t a, std::size_t i, Qty lots, double price) {
  trade_holder(i, table_.position[at(a, i)], table_.cost[at(a, i)], table_.cash[a], &table_.realized_pnl[a], lots,
               price);
}

void Ledger::trade_holdings(std::size_t i, Holdings& holder, Qty lots, double price, double* realized) {
  trade_holder(i, holder.position[i], holder.cost[i], holder.cash, realized, lots, price);
}

void Ledger::apply_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate, InsuranceFund& fund,
                        LiquidationDetector& detector) {
  if (owner < accounts()) detector.detach(owner);
  settle_fill(i, owner, lots, price, fee_rate, fund);
  if (owner < accounts()) detector.refresh(owner);
}

void Ledger::settle_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate, InsuranceFund& fund) {
  const double v = tick_values_[i];
  const double fee = fee_rate * (static_cast<double>(qabs(lots)) * static_cast<double>(price) * v);
  fees_collected_ += fee;
  if (owner == kFundOwner) {
    fund.trade(*this, i, lots, static_cast<double>(price));
    fund.pay(i, fee);
    return;
  }
  if (owner >= accounts()) {
    trade_holdings(i, outside_, lots, static_cast<double>(price));
    outside_.cash -= fee;
    return;
  }
  trade_account(owner, i, lots, static_cast<double>(price));
  table_.cash[owner] -= fee;
  table_.fees_paid[owner] += fee;
  if (table_.mode[owner] == 0) table_.instrument[owner] = static_cast<std::uint16_t>(i);
}

void Ledger::apply_fills(std::size_t i, const Fill* fills, std::size_t n, InsuranceFund& fund,
                         LiquidationDetector& detector) {
  if (i >= instruments()) margin_input_error("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  // Check everything first: a bad batch changes nothing.
  auto at_k = [](std::size_t k) { return "fills[" + std::to_string(k) + "]"; };
  for (std::size_t k = 0; k < n; ++k) {
    const Fill& f = fills[k];
    if (f.kind > 1) margin_input_error(at_k(k) + ".kind", "must be 0 (trade) or 1 (STP cancel)");
    if (f.kind != 0) continue;
    if (f.qty < 1 || f.qty > kMaxQty) margin_input_error(at_k(k) + ".qty", "must be in 1..2^40");
    if (f.price < 1 || f.price > kMaxPrice) margin_input_error(at_k(k) + ".price", "must be in 1..2^62");
    if (f.taker_side > 1) margin_input_error(at_k(k) + ".taker_side", "must be 0 or 1");
    for (const AccountId owner : {f.taker_owner, f.maker_owner}) {
      if (owner >= accounts() || table_.mode[owner] != 0 || table_.instrument[owner] == i) continue;
      if (lone_position(owner) != kNoPosition)
        margin_input_error(at_k(k), "isolated account " + std::to_string(owner) + " holds another instrument");
    }
  }
  const MarginRule& rule = rules_[i];
  // A dealer or a value trader is on many fills of a batch: each account
  // leaves the detector once before the batch and is re-keyed once after it,
  // as its trades leave it. The detector holds sets (its candidates come out
  // sorted), so the order it is refreshed in changes nothing.
  // The traders of a batch are scattered over the table: each pass asks for
  // the rows it reads a few fills ahead, and only those (lines asked for and
  // not used yet crowd out the ones in use).
  constexpr std::size_t kAhead = 4;
  for (std::size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      prefetch_links(fills[k + kAhead].taker_owner);
      prefetch_links(fills[k + kAhead].maker_owner);
    }
    const Fill& f = fills[k];
    if (f.kind != 0) continue;
    for (const AccountId owner : {f.taker_owner, f.maker_owner})
      if (owner < accounts()) detector.detach(owner);
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      prefetch_account(fills[k + kAhead].taker_owner);
      prefetch_account(fills[k + kAhead].maker_owner);
    }
    const Fill& f = fills[k];
    if (f.kind != 0) continue;
    const Qty taker_lots = f.taker_side == static_cast<std::uint8_t>(Side::Buy) ? f.qty : -f.qty;
    settle_fill(i, f.taker_owner, taker_lots, f.price, rule.taker_fee_rate, fund);
    settle_fill(i, f.maker_owner, -taker_lots, f.price, rule.maker_fee_rate, fund);
  }
  for (std::size_t k = 0; k < n; ++k) {
    if (k + kAhead < n) {
      prefetch_links(fills[k + kAhead].taker_owner);
      prefetch_links(fills[k + kAhead].maker_owner);
    }
    const Fill& f = fills[k];
    if (f.kind != 0) continue;
    for (const AccountId owner : {f.taker_owner, f.maker_owner})
      if (owner < accounts() && table_.membership[owner] == kNotTracked) detector.refresh(owner);
  }
}

void Ledger::prefetch_account(AccountId a) const noexcept {
  if (a >= accounts()) return;
  table_.prefetch(a);
  __builtin_prefetch(&table_.fees_paid[a]);
  __builtin_prefetch(&table_.mode[a]);
}

void Ledger::prefetch_links(AccountId a) const noexcept {
  if (a >= accounts()) return;
  __builtin_prefetch(&table_.membership[a]);
  __builtin_prefetch(&table_.links.rows[a]);
  __builtin_prefetch(&table_.instrument[a]);
}

}  // namespace deleverage
