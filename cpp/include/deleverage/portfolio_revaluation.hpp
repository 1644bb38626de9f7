// Revalues a block of consecutive accounts' portfolios at given marks:
// equity and maintenance margin with exactly the expressions of
// docs/margin.md (so `open && equity <= mm` is the engine's liquidatable()),
// plus the two numbers the cross-margin bound needs (an error magnitude and
// the price sensitivity). Instrument by instrument, in flat loops over the
// block's accounts that the compiler vectorizes; an AVX2 build of the same
// loops is chosen at run time where the CPU has it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "deleverage/accounts.hpp"
#include "deleverage/margin_rule.hpp"

namespace deleverage {

struct RevaluationBlock {
  static constexpr std::size_t kSize = 512;
  alignas(64) double equity[kSize];
  alignas(64) double mm[kSize];
  // Upper bound of the terms' magnitudes: rounding errors of equity - mm are below a tiny multiple of it.
  alignas(64) double magnitude[kSize];
  // sum_i |q_i| v_i (1 + r_i) P_i: bounds how fast equity - mm can fall per unit of relative price move.
  alignas(64) double weight[kSize];
  alignas(64) std::uint8_t open[kSize];  // 1 when the account holds a position
  // Scratch for one instrument's column, and a tiered rule's bracket.
  alignas(64) double q[kSize];
  alignas(64) double cost[kSize];
  alignas(64) double notional[kSize];
  alignas(64) double rate[kSize];
  alignas(64) double deduction[kSize];
};

// The steepest d(MM)/d(notional) of a rule under mark basis (0 when MM does not move with the mark).
double mm_slope_bound(const MarginRule& rule) noexcept;

// Fill `out` for accounts [first, first + count), count <= kSize. `bounds`: also magnitude and weight.
void revalue_block(const AccountTable& table, const MarginRule* rules, const double* tick_values, const Price* marks,
                   std::size_t first, std::size_t count, bool bounds, RevaluationBlock& out) noexcept;

}  // namespace deleverage
