#include "deleverage/insurance_fund.hpp"

namespace deleverage {

InsuranceFund::InsuranceFund(double cash, std::size_t instruments) {
  holdings_.cash = cash;
  holdings_.position.assign(instruments, 0);
  holdings_.cost.assign(instruments, 0.0);
  bad_debt_by_instrument_.assign(instruments, 0.0);
}

double InsuranceFund::equity(const Ledger& ledger, const Price* marks) const noexcept {
  double e = holdings_.cash;
  for (std::size_t i = 0; i < holdings_.position.size(); ++i) {
    const Qty q = holdings_.position[i];
    if (q != 0) e += static_cast<double>(q) * static_cast<double>(marks[i]) * ledger.tick_value(i) - holdings_.cost[i];
  }
  return e;
}

void InsuranceFund::write_off(std::size_t i, double money) noexcept {
  bad_debt_ += money;
  bad_debt_by_instrument_[i] += money;
}

}  // namespace deleverage
