// The ledger of a margin engine: every holder's cash, positions and cost
// (the account table, plus the outside world), the instruments' terms (tick
// value, margin rule), trades and book fills with their fees, and open
// interest. It values an account at marks (equity, maintenance margin) and
// knows nothing of liquidation: the detector, the procedure and the fund work
// through it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "deleverage/accounts.hpp"
#include "deleverage/codes.hpp"
#include "deleverage/margin_rule.hpp"
#include "deleverage/records.hpp"

namespace deleverage {

class InsuranceFund;
class LiquidationDetector;

// Cash and positions held outside the account table: the insurance fund's,
// and the outside world's (book participants that are not accounts of the engine).
struct Holdings {
  double cash = 0.0;
  std::vector<Qty> position;  // per instrument
  std::vector<double> cost;   // per instrument, signed: q * entry * tick_value
};

// The book owner whose trades are the insurance fund's own (working off the
// positions it took over); every other owner past the accounts is the outside.
inline constexpr AccountId kFundOwner = 0xFFFFFFFEu;

class Ledger {
 public:
  // Limits on money in: an account's cash (and a fee), and a tick's value per lot.
  static constexpr double kMaxCash = 1e15;
  static constexpr double kMinTickValue = 1e-12;
  static constexpr double kMaxTickValue = 1e12;

  // Validates the instruments' terms (field names as the engine's constructor takes them).
  Ledger(std::vector<double> tick_values, std::vector<MarginRule> rules);

  std::size_t instruments() const noexcept { return tick_values_.size(); }
  std::size_t accounts() const noexcept { return table_.size(); }
  // Where account a's position and cost in instrument i are in the table's rows.
  Cell at(std::uint32_t a, std::size_t i) const noexcept { return table_.cell(a, i); }

  // Append n accounts (see MarginEngine::add_accounts); validates everything before changing anything.
  // position and entry_price may both be null: the accounts start flat.
  void append(std::size_t n, const double* cash, const std::uint16_t* instrument, const Qty* position,
              const double* entry_price, const std::uint8_t* mode, const std::uint16_t* population);

  void set_rule(std::size_t instrument, MarginRule rule);
  const MarginRule& rule(std::size_t i) const { return rules_.at(i); }
  const std::vector<MarginRule>& rules() const noexcept { return rules_; }
  double tick_value(std::size_t i) const noexcept { return tick_values_[i]; }
  const std::vector<double>& tick_values() const noexcept { return tick_values_; }

  const AccountTable& table() const noexcept { return table_; }
  AccountTable& table() noexcept { return table_; }
  const Holdings& outside() const noexcept { return outside_; }

  double equity(std::uint32_t a, const Price* marks) const noexcept {
    double e = table_.cash[a];
    for (std::size_t i = 0; i < instruments(); ++i) {
      const Qty q = table_.position[at(a, i)];
      if (q != 0) e += static_cast<double>(q) * static_cast<double>(marks[i]) * tick_values_[i] - table_.cost[at(a, i)];
    }
    return e;
  }

  double maintenance_margin(std::uint32_t a, const Price* marks) const noexcept {
    double mm = 0.0;
    for (std::size_t i = 0; i < instruments(); ++i) {
      const Qty q = table_.position[at(a, i)];
      if (q != 0) mm += rules_[i].maintenance_margin(q, table_.cost[at(a, i)], marks[i], tick_values_[i]);
    }
    return mm;
  }

  bool liquidatable(std::uint32_t a, const Price* marks) const noexcept {
    bool open = false;
    for (std::size_t i = 0; i < instruments() && !open; ++i) open = table_.position[at(a, i)] != 0;
    return open && equity(a, marks) <= maintenance_margin(a, marks);
  }

  // The instrument of the account's only open position; kNoPosition or kSeveralPositions.
  static constexpr std::size_t kNoPosition = SIZE_MAX;
  static constexpr std::size_t kSeveralPositions = SIZE_MAX - 1;
  std::size_t lone_position(std::uint32_t a) const noexcept {
    std::size_t found = kNoPosition;
    for (std::size_t i = 0; i < instruments(); ++i) {
      if (table_.position[at(a, i)] == 0) continue;
      if (found != kNoPosition) return kSeveralPositions;
      found = i;
    }
    return found;
  }

  // Closed form for an account with exactly one open position, else NaN.
  double liquidation_price(std::uint32_t a) const noexcept;

  // One side of a trade of an account or another holder: `lots` (signed) at `price` ticks.
  void trade_account(std::uint32_t a, std::size_t i, Qty lots, double price);
  // `realized` (if given) gains what the trade's close realizes: the change in the holder's cash.
  void trade_holdings(std::size_t i, Holdings& holder, Qty lots, double price, double* realized = nullptr);
  // A fee the account pays to the venue.
  void charge_fee(std::uint32_t a, double fee) noexcept {
    table_.cash[a] -= fee;
    table_.fees_paid[a] += fee;
    fees_collected_ += fee;
  }

  // One side of a book trade: the owner (an account, the fund, or the outside)
  // trades `lots` at `price` and pays `fee_rate` of the notional. An account
  // leaves the detector while its position changes.
  void apply_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate, InsuranceFund& fund,
                  LiquidationDetector& detector);
  // apply_fill's money alone: the caller keeps the detector in step.
  void settle_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate, InsuranceFund& fund);
  // A batch of trades of instrument i's book, both sides, with maker and taker
  // fees; validated first, so a bad batch changes nothing.
  void apply_fills(std::size_t i, const Fill* fills, std::size_t n, InsuranceFund& fund, LiquidationDetector& detector);

  double fees_collected() const noexcept { return fees_collected_; }
  double money_moved() const noexcept { return money_moved_; }
  Qty open_interest(std::size_t i) const noexcept { return open_interest_[i]; }

 private:
  void prefetch_account(AccountId a) const noexcept;  // the rows a fill settles
  void prefetch_links(AccountId a) const noexcept;    // the rows leaving the detector reads
  void trade_holder(std::size_t i, Qty& q, double& cost, double& cash, double* realized, Qty lots, double price);

  std::vector<double> tick_values_;
  std::vector<MarginRule> rules_;
  AccountTable table_;
  Holdings outside_;
  std::vector<Qty> open_interest_;
  double fees_collected_ = 0.0;
  double money_moved_ = 0.0;
};

// The margin engine's error for bad input: std::invalid_argument("field: what").
[[noreturn]] void margin_input_error(const std::string& field, const std::string& what);

}  // namespace deleverage
