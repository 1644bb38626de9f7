#include "deleverage/insurance_fund.hpp"

#include <cmath>
#include <string>

namespace deleverage {

InsuranceFund::InsuranceFund(double cash, std::size_t instruments, const std::vector<std::optional<double>>& own)
    : fund_cash_{cash}, fund_of_(instruments, 0) {
  if (!own.empty() && own.size() != instruments)
    margin_input_error("instrument_funds", "need one value (or None) per instrument (" + std::to_string(instruments) +
                                               "), got " + std::to_string(own.size()));
  holdings_.cash = cash;
  for (std::size_t i = 0; i < own.size(); ++i) {
    if (!own[i]) continue;
    const double c = *own[i];
    if (!std::isfinite(c) || c < 0)
      margin_input_error("instrument_funds[" + std::to_string(i) + "]",
                         "must be finite and >= 0 (or None), got " + std::to_string(c));
    fund_of_[i] = static_cast<std::uint32_t>(fund_cash_.size());
    fund_cash_.push_back(c);
    holdings_.cash += c;
  }
  holdings_.position.assign(instruments, 0);
  holdings_.cost.assign(instruments, 0.0);
  bad_debt_by_instrument_.assign(instruments, 0.0);
}

double InsuranceFund::equity(std::size_t i, const Ledger& ledger, const Price* marks) const noexcept {
  const std::uint32_t f = fund_of_[i];
  double e = fund_cash_[f];
  for (std::size_t j = 0; j < holdings_.position.size(); ++j) {
    const Qty q = holdings_.position[j];
    if (q != 0 && fund_of_[j] == f)
      e += static_cast<double>(q) * static_cast<double>(marks[j]) * ledger.tick_value(j) - holdings_.cost[j];
  }
  return e;
}

void InsuranceFund::trade(Ledger& ledger, std::size_t i, Qty lots, double price) {
  // Cash moves only by what a close realizes; the same amount moves the fund's own cash.
  double realized = 0.0;
  ledger.trade_holdings(i, holdings_, lots, price, &realized);
  fund_cash_[fund_of_[i]] += realized;
}

void InsuranceFund::write_off(std::size_t i, double money) noexcept {
  bad_debt_ += money;
  bad_debt_by_instrument_[i] += money;
}

}  // namespace deleverage
