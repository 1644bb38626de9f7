// The insurance fund (docs/margin.md, "Takeover"): it takes over at the
// bankruptcy price what the book cannot absorb, receives the liquidation
// fees, works off its positions through the book (owner kFundOwner), and
// keeps the account of bad debt (the money an account lost past zero that
// negative-balance protection writes off). Its cash decides whether a
// takeover needs auto-deleveraging.
#pragma once

#include <cstddef>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/ledger.hpp"

namespace deleverage {

class InsuranceFund {
 public:
  InsuranceFund(double cash, std::size_t instruments);

  const Holdings& holdings() const noexcept { return holdings_; }
  double cash() const noexcept { return holdings_.cash; }
  // Can the fund's cash absorb a loss of `loss` (money)?
  bool covers(double loss) const noexcept { return !(holdings_.cash < loss); }
  // Its cash plus its positions marked at `marks` (ticks, one per instrument),
  // summed in instrument order as an account's equity is.
  double equity(const Ledger& ledger, const Price* marks) const noexcept;

  // The fund's side of a trade: `lots` (signed) of instrument i at `price` ticks.
  void trade(Ledger& ledger, std::size_t i, Qty lots, double price) {
    ledger.trade_holdings(i, holdings_, lots, price);
  }
  void receive(double money) noexcept { holdings_.cash += money; }
  void pay(double money) noexcept { holdings_.cash -= money; }

  // Write off `money` an account lost past zero on its instrument-i closes.
  void write_off(std::size_t i, double money) noexcept;
  double bad_debt() const noexcept { return bad_debt_; }
  double bad_debt(std::size_t i) const noexcept { return bad_debt_by_instrument_[i]; }
  const std::vector<double>& bad_debt_by_instrument() const noexcept { return bad_debt_by_instrument_; }

 private:
  Holdings holdings_;
  double bad_debt_ = 0.0;
  std::vector<double> bad_debt_by_instrument_;
};

}  // namespace deleverage
