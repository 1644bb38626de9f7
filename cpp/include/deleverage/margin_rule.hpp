// An instrument's margin rule: initial margin, maintenance (fixed, percent,
// tiered, close-out), fees, and the closed-form liquidation price.
// The floating-point expressions are the ones docs/margin.md fixes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/limits.hpp"

namespace deleverage {

enum class Maintenance : std::uint8_t { Fixed = 0, Percent = 1, Tiered = 2, Closeout = 3 };
enum class MarginBasis : std::uint8_t { Mark = 0, Entry = 1 };

struct MarginRule {
  double initial_rate = 0.1;
  Maintenance maintenance = Maintenance::Percent;
  double maintenance_rate = 0.05;
  double amount_per_lot = 0.0;
  std::vector<double> tier_floor;  // floor_0 = 0, strictly increasing
  std::vector<double> tier_rate;   // non-decreasing
  std::vector<double> tier_deduction;
  double closeout_share = 0.5;
  MarginBasis basis = MarginBasis::Mark;
  double liquidation_fee_rate = 0.0;
  bool negative_balance_protection = false;
  bool partial_liquidation = false;
  double maker_fee_rate = 0.0;
  double taker_fee_rate = 0.0;

  // Check every field and derive the tier deductions; throws std::invalid_argument naming the field.
  void validate_and_prepare() {
    limits::kInitialRate.check(initial_rate);
    limits::kMaintenanceRate.check(maintenance_rate);
    if (maintenance == Maintenance::Percent && maintenance_rate >= 1.0)
      throw std::invalid_argument("maintenance_rate: must be below 1 for percent maintenance");
    // Maintenance at the whole notional leaves a long no liquidation price (0/0).
    if (maintenance == Maintenance::Closeout && closeout_share * initial_rate >= 1.0)
      throw std::invalid_argument(
          "closeout_share: closeout_share * initial_rate must be below 1 for closeout maintenance");
    limits::kAmountPerLot.check(amount_per_lot);
    limits::kCloseoutShare.check(closeout_share);
    limits::kLiquidationFeeRate.check(liquidation_fee_rate);
    limits::kMakerFeeRate.check(maker_fee_rate);
    limits::kTakerFeeRate.check(taker_fee_rate);
    if (static_cast<std::uint8_t>(maintenance) > 3) throw std::invalid_argument("maintenance: unknown kind");
    if (static_cast<std::uint8_t>(basis) > 1) throw std::invalid_argument("basis: unknown basis");
    tier_deduction.clear();
    if (maintenance != Maintenance::Tiered) {
      if (partial_liquidation) throw std::invalid_argument("partial_liquidation: needs tiered maintenance");
      return;
    }
    if (tier_floor.empty() || tier_floor.size() != tier_rate.size())
      throw std::invalid_argument("tiers: need at least one (floor, rate) bracket");
    if (tier_floor[0] != 0.0) throw std::invalid_argument("tiers[0].floor: must be 0");
    tier_deduction.push_back(0.0);
    for (std::size_t k = 0; k < tier_floor.size(); ++k) {
      limits::kTierFloor.check(tier_floor[k], "tiers[" + std::to_string(k) + "].floor");
      limits::kTierRate.check(tier_rate[k], "tiers[" + std::to_string(k) + "].rate");
      if (k == 0) continue;
      if (tier_floor[k] <= tier_floor[k - 1])
        throw std::invalid_argument("tiers[" + std::to_string(k) + "].floor: floors must be strictly increasing");
      if (tier_rate[k] < tier_rate[k - 1])
        throw std::invalid_argument("tiers[" + std::to_string(k) + "].rate: rates must not decrease");
      tier_deduction.push_back(tier_deduction[k - 1] + tier_floor[k] * (tier_rate[k] - tier_rate[k - 1]));
    }
  }

  // The bracket holding a notional: the largest k with floor_k <= notional.
  std::size_t bracket(double notional) const noexcept {
    std::size_t k = 0;
    while (k + 1 < tier_floor.size() && tier_floor[k + 1] <= notional) ++k;
    return k;
  }

  double basis_notional(Qty q, double cost, Price mark, double tick_value) const noexcept {
    if (basis == MarginBasis::Entry) return std::fabs(cost);
    return static_cast<double>(qabs(q)) * static_cast<double>(mark) * tick_value;
  }

  // Maintenance margin of one position of q lots (q != 0).
  double maintenance_margin(Qty q, double cost, Price mark, double tick_value) const noexcept {
    switch (maintenance) {
      case Maintenance::Fixed:
        return amount_per_lot * static_cast<double>(qabs(q));
      case Maintenance::Percent:
        return maintenance_rate * basis_notional(q, cost, mark, tick_value);
      case Maintenance::Tiered: {
        const double n = basis_notional(q, cost, mark, tick_value);
        const std::size_t k = bracket(n);
        return n * tier_rate[k] - tier_deduction[k];
      }
      case Maintenance::Closeout:
        return closeout_share * (initial_rate * basis_notional(q, cost, mark, tick_value));
    }
    return 0.0;
  }

  // Price (ticks, real) at which equity = MM for a lone position: a long is
  // liquidatable at marks <= it, a short at marks >= it. `a` is cash - cost.
  // Returns -inf for a long that can never be liquidated, +inf for such a short.
  double liquidation_price(Qty q, double cost, double a, double tick_value) const noexcept {
    const double qv = static_cast<double>(q) * tick_value;  // signed
    const double absq_v = static_cast<double>(qabs(q)) * tick_value;
    // MM = m0 + m1 * P in one bracket; solve a + qv P = m0 + m1 P.
    auto solve = [&](double m0, double m1) { return (m0 - a) / (qv - m1); };
    const double never = q > 0 ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    double p = 0.0;
    switch (maintenance) {
      case Maintenance::Fixed:
        p = solve(amount_per_lot * static_cast<double>(qabs(q)), 0.0);
        break;
      case Maintenance::Percent:
      case Maintenance::Closeout: {
        const double rate = maintenance == Maintenance::Percent ? maintenance_rate : closeout_share * initial_rate;
        p = basis == MarginBasis::Entry ? solve(rate * std::fabs(cost), 0.0) : solve(0.0, rate * absq_v);
        break;
      }
      case Maintenance::Tiered: {
        if (basis == MarginBasis::Entry) {
          const std::size_t k = bracket(std::fabs(cost));
          p = solve(std::fabs(cost) * tier_rate[k] - tier_deduction[k], 0.0);
          break;
        }
        // MM is convex and piecewise linear in the notional, so it is the max of
        // its pieces: a long is liquidatable iff some piece's line says so,
        // i.e. below the highest per-piece root (a short: above the lowest).
        p = never;
        for (std::size_t k = 0; k < tier_floor.size(); ++k) {
          const double root = solve(-tier_deduction[k], tier_rate[k] * absq_v);
          p = q > 0 ? std::max(p, root) : std::min(p, root);
        }
        break;
      }
    }
    if (std::isnan(p)) return never;
    return p;
  }

  bool operator==(const MarginRule&) const = default;
};

}  // namespace deleverage
