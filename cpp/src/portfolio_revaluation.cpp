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

// One instrument's part of the block: equity += q * P * v - cost and the
// maintenance term, each only where a position is held (docs/margin.md), and
// the bounds' terms, in three loops over the accounts: the strided fields into
// the block, the equity, then the margin and the bounds together (the tiered
// rule's bracket is chosen in loops of its own over the tiers). kKind: the
// rule's maintenance, so no loop carries a switch. The selects vectorize
// because this file is built without trapping math (CMakeLists.txt); a
// revaluation of 1M accounts x 3 instruments takes 0.6 of the time it took
// with a loop per term, each of whose selects was a branch.
template <bool kBounds, std::size_t kStride, Maintenance kKind>
DELEVERAGE_ALWAYS_INLINE void instrument_pass(const MarginRule& rule, double p, double v, const Qty* pos,
                                              const double* cst, std::size_t stride, std::size_t count,
                                              RevaluationBlock& b) noexcept {
  if constexpr (kStride != 0) stride = kStride;
  const bool entry = rule.basis == MarginBasis::Entry;
  const double amount = rule.amount_per_lot;
  const double rate = rule.maintenance_rate;
  const double share = rule.closeout_share;
  const double initial = rule.initial_rate;
  const double slope = kBounds ? (1.0 + mm_slope_bound(rule)) * v * p : 0.0;
  constexpr bool kTiered = kKind == Maintenance::Tiered;
  // The column into the block (the lot count as a double: exact below 2^53,
  // and 0 exactly when flat): the strided loads and the conversion, which
  // AVX2 does not have, keep a loop of their own.
  for (std::size_t k = 0; k < count; ++k) {
    b.q[k] = static_cast<double>(pos[k * stride]);
    b.cost[k] = cst[k * stride];
  }
  for (std::size_t k = 0; k < count; ++k) {
    const bool held = b.q[k] != 0.0;
    const double upnl = b.q[k] * p * v - b.cost[k];
    b.equity[k] = b.equity[k] + (held ? upnl : 0.0);
    b.open[k] = static_cast<std::uint8_t>(b.open[k] | (held ? 1 : 0));
  }
  // (Measured: joined to the margin's loop, the equity's makes the pass slower.)
  for (std::size_t k = 0; k < count; ++k) {
    const double q = b.q[k];
    const double c = b.cost[k];
    const bool held = q != 0.0;
    const double lots = std::fabs(q);
    const double by_mark = lots * p * v;
    const double by_entry = std::fabs(c);
    const double n = entry ? by_entry : by_mark;
    if constexpr (kTiered) {
      b.notional[k] = n;
    } else {
      double term = 0.0;
      if constexpr (kKind == Maintenance::Fixed) {
        term = amount * lots;
      } else if constexpr (kKind == Maintenance::Percent) {
        term = rate * n;
      } else {
        term = share * (initial * n);
      }
      term = held ? term : 0.0;
      b.mm[k] = b.mm[k] + term;
      if constexpr (kBounds) {
        b.magnitude[k] = b.magnitude[k] + 2.0 * by_entry + 2.0 * by_mark + std::fabs(term);
        b.weight[k] = b.weight[k] + lots * slope;
      }
    }
  }
  if constexpr (kTiered) {
    // The bracket by selection, one tier at a time: floors increase, so the last floor <= n wins.
    const double* const n = b.notional;
    double* const r = b.rate;
    double* const d = b.deduction;
    const double r0 = rule.tier_rate[0];
    const double d0 = rule.tier_deduction[0];
    for (std::size_t k = 0; k < count; ++k) {
      r[k] = r0;
      d[k] = d0;
    }
    for (std::size_t t = 1; t < rule.tier_floor.size(); ++t) {
      const double floor = rule.tier_floor[t];
      const double rt = rule.tier_rate[t];
      const double dt = rule.tier_deduction[t];
      for (std::size_t k = 0; k < count; ++k) {
        const bool in = floor <= n[k];
        r[k] = in ? rt : r[k];
        d[k] = in ? dt : d[k];
      }
    }
    for (std::size_t k = 0; k < count; ++k) {
      const double q = b.q[k];
      const double term = q != 0.0 ? n[k] * r[k] - d[k] : 0.0;
      b.mm[k] = b.mm[k] + term;
      if constexpr (kBounds) {
        const double lots = std::fabs(q);
        b.magnitude[k] = b.magnitude[k] + 2.0 * std::fabs(b.cost[k]) + 2.0 * (lots * p * v) + std::fabs(term);
        b.weight[k] = b.weight[k] + lots * slope;
      }
    }
  }
}

// kStride: the rows' width in words when known at compile time (the common
// widths, so the strided loads are plain offsets), or 0 to read it.
template <bool kBounds, std::size_t kStride>
DELEVERAGE_ALWAYS_INLINE void body(const AccountTable& t, const MarginRule* rules, const double* tick_values,
                                   const Price* marks, std::size_t first, std::size_t count,
                                   RevaluationBlock& b) noexcept {
  const std::size_t ni = t.instruments();
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
  // In instrument order, as the scalar expressions add them.
  for (std::size_t i = 0; i < ni; ++i) {
    const double v = tick_values[i];
    const auto p = static_cast<double>(marks[i]);
    const Qty* const pos = t.position.data() + first * stride + i;
    const double* const cst = t.cost.data() + first * stride + i;
    switch (rules[i].maintenance) {
      case Maintenance::Fixed:
        instrument_pass<kBounds, kStride, Maintenance::Fixed>(rules[i], p, v, pos, cst, stride, count, b);
        break;
      case Maintenance::Percent:
        instrument_pass<kBounds, kStride, Maintenance::Percent>(rules[i], p, v, pos, cst, stride, count, b);
        break;
      case Maintenance::Closeout:
        instrument_pass<kBounds, kStride, Maintenance::Closeout>(rules[i], p, v, pos, cst, stride, count, b);
        break;
      case Maintenance::Tiered:
        instrument_pass<kBounds, kStride, Maintenance::Tiered>(rules[i], p, v, pos, cst, stride, count, b);
        break;
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
