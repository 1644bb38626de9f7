// A MarginRule from the dict of a Python MarginRule dataclass (dataclasses.asdict).
#pragma once

#include "pybind.hpp"

#include <stdexcept>
#include <string>

#include "deleverage/margin_rule.hpp"

#include <array>

#include "deleverage/margin_engine.hpp"

namespace deleverage::bindings {

// CloseOrder values by name, in enum order.
inline constexpr std::array<const char*, 4> kCloseOrders = {"instrument", "most_liquid", "largest_loss", "pro_rata"};

inline CloseOrder close_order_from(const std::string& name) {
  for (std::size_t k = 0; k < kCloseOrders.size(); ++k)
    if (name == kCloseOrders[k]) return static_cast<CloseOrder>(k);
  throw py::value_error("close_order: must be one of instrument, most_liquid, largest_loss, pro_rata; got '" + name +
                        "'");
}

inline MarginRule rule_from_dict(const py::dict& d) {
  MarginRule r;
  r.initial_rate = d["initial_rate"].cast<double>();
  const auto kind = d["maintenance"].cast<std::string>();
  if (kind == "fixed") r.maintenance = Maintenance::Fixed;
  else if (kind == "percent") r.maintenance = Maintenance::Percent;
  else if (kind == "tiered") r.maintenance = Maintenance::Tiered;
  else if (kind == "closeout") r.maintenance = Maintenance::Closeout;
  else throw std::invalid_argument("maintenance: must be one of fixed, percent, tiered, closeout; got " + kind);
  r.maintenance_rate = d["maintenance_rate"].cast<double>();
  r.amount_per_lot = d["amount_per_lot"].cast<double>();
  for (const auto& tier : d["tiers"]) {
    const auto t = tier.cast<py::sequence>();
    r.tier_floor.push_back(t[0].cast<double>());
    r.tier_rate.push_back(t[1].cast<double>());
  }
  r.closeout_share = d["closeout_share"].cast<double>();
  const auto basis = d["basis"].cast<std::string>();
  if (basis == "mark") r.basis = MarginBasis::Mark;
  else if (basis == "entry") r.basis = MarginBasis::Entry;
  else throw std::invalid_argument("basis: must be mark or entry; got " + basis);
  r.liquidation_fee_rate = d["liquidation_fee_rate"].cast<double>();
  r.negative_balance_protection = d["negative_balance_protection"].cast<bool>();
  r.partial_liquidation = d["partial_liquidation"].cast<bool>();
  r.maker_fee_rate = d["maker_fee_rate"].cast<double>();
  r.taker_fee_rate = d["taker_fee_rate"].cast<double>();
  return r;
}

}  // namespace deleverage::bindings
