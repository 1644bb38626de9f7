// The insurance fund (docs/margin.md, "Takeover"): it takes over at the
// bankruptcy price what the book cannot absorb, receives the liquidation
// fees, works off its positions through the book (owner kFundOwner), and
// keeps the account of bad debt (the money an account lost past zero that
// negative-balance protection writes off). Its cash decides whether a
// takeover needs auto-deleveraging.
//
// A venue may keep funds apart (docs/margin.md, "Isolated funds"): an
// instrument with a fund of its own is served by it alone (its takeovers, its
// liquidation fees, its unwinding trades), so a cascade on one book cannot
// drain another's. The holdings are the funds' together; each fund's cash is
// kept beside them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/ledger.hpp"

namespace deleverage {

class InsuranceFund {
 public:
  // `cash`: the venue's fund. `own` (empty, or one per instrument): an
  // instrument's own fund's starting cash, or none where it shares the venue's.
  InsuranceFund(double cash, std::size_t instruments, const std::vector<std::optional<double>>& own = {});

  // Every fund's cash and positions together.
  const Holdings& holdings() const noexcept { return holdings_; }
  double cash() const noexcept { return holdings_.cash; }
  // The cash of the fund that serves instrument i.
  double cash(std::size_t i) const noexcept { return fund_cash_[fund_of_[i]]; }
  // Can the cash of the fund that serves instrument i absorb a loss of `loss` (money)?
  bool covers(std::size_t i, double loss) const noexcept { return !(cash(i) < loss); }
  // The equity of the fund that serves instrument i: its cash plus the
  // positions it holds (in the instruments it serves) marked at `marks`
  // (ticks, one per instrument), summed in instrument order as an account's
  // equity is.
  double equity(std::size_t i, const Ledger& ledger, const Price* marks) const noexcept;

  // The side of a trade of the fund that serves instrument i: `lots` (signed) at `price` ticks.
  void trade(Ledger& ledger, std::size_t i, Qty lots, double price);
  // Money in (a liquidation fee) or out (a fee on its own trade) of the fund that serves instrument i.
  void receive(std::size_t i, double money) noexcept {
    holdings_.cash += money;
    fund_cash_[fund_of_[i]] += money;
  }
  void pay(std::size_t i, double money) noexcept {
    holdings_.cash -= money;
    fund_cash_[fund_of_[i]] -= money;
  }

  // Write off `money` an account lost past zero on its instrument-i closes.
  void write_off(std::size_t i, double money) noexcept;
  double bad_debt() const noexcept { return bad_debt_; }
  double bad_debt(std::size_t i) const noexcept { return bad_debt_by_instrument_[i]; }
  const std::vector<double>& bad_debt_by_instrument() const noexcept { return bad_debt_by_instrument_; }

 private:
  Holdings holdings_;
  std::vector<double> fund_cash_;       // [0] the venue's, then each instrument's own, in instrument order
  std::vector<std::uint32_t> fund_of_;  // per instrument: its fund's index in fund_cash_
  double bad_debt_ = 0.0;
  std::vector<double> bad_debt_by_instrument_;
};

}  // namespace deleverage
