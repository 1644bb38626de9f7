#include "deleverage/portfolio_revaluation.hpp"

#include <algorithm>
#include <cmath>

#if defined(__GNUC__) && defined(__x86_64__)
#define DELEVERAGE_DISPATCH_AVX2 1
#define DELEVERAGE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DELEVERAGE_ALWAYS_INLINE inline
#endif

namespace deleverage {

double mm_slope_bound(const MarginRule& rule) noexcept {
  if (rule.basis == MarginBasis::Entry) return 0.0;
  switch (rule.maintenance) {
    case Maintenance::Fixed:
      return 0.0;
    case Maintenance::Percent:
      return rule.maintenance_rate;
    case Maintenance::Closeout:
      return rule.closeout_share * rule.initial_rate;
    case Maintenance::Tiered:
      return *std::max_element(rule.tier_rate.begin(), rule.tier_rate.end());
  }
  return 1.0;
}

namespace {

// One instrument's maintenance margin for the block, into b.term (0 where nothing is held).
DELEVERAGE_ALWAYS_INLINE void maintenance(const MarginRule& rule, double p, double v, std::size_t count,
                                          RevaluationBlock& b) noexcept {
  double* const n = b.notional;
  double* const term = b.term;
  const double* const q = b.q;
  if (rule.basis == MarginBasis::Entry) {
    for (std::size_t k = 0; k < count; ++k) n[k] = std::fabs(b.cost[k]);
  } else {
    for (std::size_t k = 0; k < count; ++k) n[k] = std::fabs(q[k]) * p * v;
  }
  switch (rule.maintenance) {
    case Maintenance::Fixed: {
      const double amount = rule.amount_per_lot;
      for (std::size_t k = 0; k < count; ++k) term[k] = amount * std::fabs(q[k]);
      break;
    }
    case Maintenance::Percent: {
      const double rate = rule.maintenance_rate;
      for (std::size_t k = 0; k < count; ++k) term[k] = rate * n[k];
      break;
    }
    case Maintenance::Closeout: {
      const double share = rule.closeout_share;
      const double initial = rule.initial_rate;
      for (std::size_t k = 0; k < count; ++k) term[k] = share * (initial * n[k]);
      break;
    }
    case Maintenance::Tiered: {
      // The bracket by selection, one tier at a time: floors increase, so the last floor <= n wins.
      double* const rate = b.rate;
      double* const ded = b.deduction;
      const double r0 = rule.tier_rate[0];
      const double d0 = rule.tier_deduction[0];
      for (std::size_t k = 0; k < count; ++k) {
        rate[k] = r0;
        ded[k] = d0;
      }
      for (std::size_t t = 1; t < rule.tier_floor.size(); ++t) {
        const double floor = rule.tier_floor[t];
        const double r = rule.tier_rate[t];
        const double d = rule.tier_deduction[t];
        for (std::size_t k = 0; k < count; ++k) {
          const bool in = floor <= n[k];
          rate[k] = in ? r : rate[k];
          ded[k] = in ? d : ded[k];
        }
      }
      for (std::size_t k = 0; k < count; ++k) term[k] = n[k] * rate[k] - ded[k];
      break;
    }
  }
  for (std::size_t k = 0; k < count; ++k) term[k] = q[k] != 0.0 ? term[k] : 0.0;
}

// kStride: the rows' width in words when known at compile time (the common
// widths, so the strided loads are plain offsets; 5% faster on a full
// revaluation of 1M accounts x 3 instruments), or 0 to read it.
template <bool kBounds, std::size_t kStride>
DELEVERAGE_ALWAYS_INLINE void body(const AccountTable& t, const MarginRule* rules, const double* tick_values,
                                   const Price* marks, std::size_t first, std::size_t count,
                                   RevaluationBlock& b) noexcept {
  const std::size_t ni = t.instruments();
  // The rows are strided: each field of the block is gathered into its own array first.
  const std::size_t stride = kStride != 0 ? kStride : t.cash.stride();
  const double* const cash = t.cash.data() + first * stride;
  for (std::size_t k = 0; k < count; ++k) {
    b.equity[k] = cash[k * stride];
    b.mm[k] = 0.0;
    b.open[k] = 0;
  }
  if constexpr (kBounds) {
    for (std::size_t k = 0; k < count; ++k) {
      b.magnitude[k] = std::fabs(cash[k * stride]);
      b.weight[k] = 0.0;
    }
  }
  const Qty* const pos = t.position.data() + first * stride;
  const double* const cst = t.cost.data() + first * stride;
  for (std::size_t i = 0; i < ni; ++i) {
    const double v = tick_values[i];
    const auto p = static_cast<double>(marks[i]);
    // The column into the block (the lot count as a double: exact below 2^53, and 0 exactly when flat).
    for (std::size_t k = 0; k < count; ++k) {
      b.q[k] = static_cast<double>(pos[k * stride + i]);
      b.cost[k] = cst[k * stride + i];
    }
    // equity += q * P * v - cost, only over open positions (docs/margin.md), in instrument order.
    for (std::size_t k = 0; k < count; ++k) {
      const bool held = b.q[k] != 0.0;
      const double upnl = b.q[k] * p * v - b.cost[k];
      b.equity[k] = b.equity[k] + (held ? upnl : 0.0);
      b.open[k] = static_cast<std::uint8_t>(b.open[k] | (held ? 1 : 0));
    }
    maintenance(rules[i], p, v, count, b);
    for (std::size_t k = 0; k < count; ++k) b.mm[k] = b.mm[k] + b.term[k];
    if constexpr (kBounds) {
      const double slope = (1.0 + mm_slope_bound(rules[i])) * v * p;
      for (std::size_t k = 0; k < count; ++k) {
        const double lots = std::fabs(b.q[k]);
        b.magnitude[k] = b.magnitude[k] + 2.0 * std::fabs(b.cost[k]) + 2.0 * (lots * p * v) + std::fabs(b.term[k]);
        b.weight[k] = b.weight[k] + lots * slope;
      }
    }
  }
}

template <std::size_t kStride>
DELEVERAGE_ALWAYS_INLINE void with_stride(const AccountTable& t, const MarginRule* rules, const double* tick_values,
                                          const Price* marks, std::size_t first, std::size_t count, bool bounds,
                                          RevaluationBlock& b) noexcept {
  if (bounds) {
    body<true, kStride>(t, rules, tick_values, marks, first, count, b);
  } else {
    body<false, kStride>(t, rules, tick_values, marks, first, count, b);
  }
}

DELEVERAGE_ALWAYS_INLINE void dispatch_body(const AccountTable& t, const MarginRule* rules, const double* tick_values,
                                            const Price* marks, std::size_t first, std::size_t count, bool bounds,
                                            RevaluationBlock& b) noexcept {
  switch (t.cash.stride()) {
    case AccountRows::row_words(1):
      with_stride<AccountRows::row_words(1)>(t, rules, tick_values, marks, first, count, bounds, b);
      return;
    case AccountRows::row_words(3):  // two or three instruments
      with_stride<AccountRows::row_words(3)>(t, rules, tick_values, marks, first, count, bounds, b);
      return;
    default:
      with_stride<0>(t, rules, tick_values, marks, first, count, bounds, b);
  }
}

void revalue_default(const AccountTable& t, const MarginRule* rules, const double* tick_values, const Price* marks,
                     std::size_t first, std::size_t count, bool bounds, RevaluationBlock& b) noexcept {
  dispatch_body(t, rules, tick_values, marks, first, count, bounds, b);
}

#if DELEVERAGE_DISPATCH_AVX2
// The same loops built for AVX2 (the default build targets baseline x86-64).
__attribute__((target("avx2"))) void revalue_avx2(const AccountTable& t, const MarginRule* rules,
                                                  const double* tick_values, const Price* marks, std::size_t first,
                                                  std::size_t count, bool bounds, RevaluationBlock& b) noexcept {
  dispatch_body(t, rules, tick_values, marks, first, count, bounds, b);
}
#endif

}  // namespace

void revalue_block(const AccountTable& table, const MarginRule* rules, const double* tick_values, const Price* marks,
                   std::size_t first, std::size_t count, bool bounds, RevaluationBlock& out) noexcept {
#if DELEVERAGE_DISPATCH_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2") != 0;
  if (avx2) {
    revalue_avx2(table, rules, tick_values, marks, first, count, bounds, out);
    return;
  }
#endif
  revalue_default(table, rules, tick_values, marks, first, count, bounds, out);
}

}  // namespace deleverage
