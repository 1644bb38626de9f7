#include "deleverage/insurance_fund.hpp"

namespace deleverage {

InsuranceFund::InsuranceFund(double cash, std::size_t instruments) {
  holdings_.cash = cash;
  holdings_.position.assign(instruments, 0);
  holdings_.cost.assign(instruments, 0.0);
  bad_debt_by_instrument_.assign(instruments, 0.0);
}

void InsuranceFund::write_off(std::size_t i, double money) noexcept {
  bad_debt_ += money;
  bad_debt_by_instrument_[i] += money;
}

}  // namespace deleverage
