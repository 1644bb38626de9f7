// The accounts of one population due in a step, gathered column by column so
// that each strategy's decision is one flat loop over them (decision_kernels.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "deleverage/codes.hpp"

namespace deleverage {

// A position in lots from a kernel's double: beyond the largest order (kMaxQty) a
// conversion would be undefined (a fortune against a tick worth 1e-9 makes 1e21
// lots), so the target stops there, as every order does. Exact below 2^53.
inline Qty to_lots(double lots) noexcept {
  constexpr double kLimit = static_cast<double>(kMaxQty);
  return static_cast<Qty>(std::min(std::max(lots, -kLimit), kLimit));
}

struct DecisionBatch {
  // In: who, and what the kernel needs to know about each.
  std::vector<std::uint32_t> account;
  std::vector<double> equity;  // at the step's marks
  std::vector<double> cash;
  std::vector<double> param;       // the strategy's per-account parameter
  std::vector<Qty> current;        // position in the population's instrument
  std::vector<double> u0, u1, u2;  // uniforms in (0, 1), for strategies that draw
  // Out: the position wanted after this step's order, and its limit price
  // (ticks; 0 for a market order).
  std::vector<Qty> target;
  std::vector<Price> price;

  std::size_t size() const noexcept { return account.size(); }

  void clear() noexcept {
    for (auto* v : {&equity, &cash, &param, &u0, &u1, &u2}) v->clear();
    account.clear();
    current.clear();
    target.clear();
    price.clear();
  }

  // Room for n accounts' inputs, filled by place (uniforms only for strategies that draw).
  void size_inputs(std::size_t n, bool draws) {
    account.resize(n);
    for (auto* v : {&equity, &cash, &param}) v->resize(n);
    current.resize(n);
    if (draws) size_draws();
  }

  // Room for the uniforms of the accounts in, filled by place.
  void size_draws() {
    for (auto* v : {&u0, &u1, &u2}) v->resize(account.size());
  }

  // Make room for the outputs once the inputs are in.
  void size_outputs() {
    target.assign(account.size(), 0);
    price.assign(account.size(), 0);
  }
};

}  // namespace deleverage
