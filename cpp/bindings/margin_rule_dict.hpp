// A MarginRule from a bound MarginRuleSpec (what deleverage.engine_spec builds),
// or from the dict of a Python MarginRule dataclass (dataclasses.asdict), the
// form the low-level _core.MarginEngine also takes.
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

// A dict's entry; a missing one is named like a bad one.
inline py::object rule_item(const py::dict& d, const char* key) {
  if (!d.contains(key)) throw py::value_error(std::string(key) + ": missing from the margin rule");
  return d[key];
}

// `where` names the argument in the message when `rule` is not a dict.
inline MarginRule rule_from_dict(py::handle rule, const std::string& where) {
  if (py::isinstance<MarginRule>(rule)) return rule.cast<MarginRule>();
  if (!py::isinstance<py::dict>(rule))
    throw py::type_error(where + ": must be a MarginRuleSpec or a MarginRule's dict (dataclasses.asdict), got " +
                         type_name(rule));
  const auto d = py::reinterpret_borrow<py::dict>(rule);
  MarginRule r;
  r.initial_rate = field_double(rule_item(d, "initial_rate"), "initial_rate");
  const auto kind = field_str(rule_item(d, "maintenance"), "maintenance");
  if (kind == "fixed")
    r.maintenance = Maintenance::Fixed;
  else if (kind == "percent")
    r.maintenance = Maintenance::Percent;
  else if (kind == "tiered")
    r.maintenance = Maintenance::Tiered;
  else if (kind == "closeout")
    r.maintenance = Maintenance::Closeout;
  else
    throw std::invalid_argument("maintenance: must be one of fixed, percent, tiered, closeout; got " + kind);
  r.maintenance_rate = field_double(rule_item(d, "maintenance_rate"), "maintenance_rate");
  r.amount_per_lot = field_double(rule_item(d, "amount_per_lot"), "amount_per_lot");
  const py::object tiers = rule_item(d, "tiers");
  if (!py::isinstance<py::list>(tiers) && !py::isinstance<py::tuple>(tiers))
    throw py::type_error("tiers: must be a sequence of (floor, rate) pairs, got " + type_name(tiers));
  std::size_t k = 0;
  for (const auto& tier : tiers) {
    const std::string at = "tiers[" + std::to_string(k++) + "]";
    if ((!py::isinstance<py::list>(tier) && !py::isinstance<py::tuple>(tier)) || py::len(tier) != 2)
      throw py::type_error(at + ": must be a (floor, rate) pair, got " + type_name(tier));
    const auto t = py::reinterpret_borrow<py::sequence>(tier);
    r.tier_floor.push_back(field_double(t[0], at + ".floor"));
    r.tier_rate.push_back(field_double(t[1], at + ".rate"));
  }
  r.closeout_share = field_double(rule_item(d, "closeout_share"), "closeout_share");
  const auto basis = field_str(rule_item(d, "basis"), "basis");
  if (basis == "mark")
    r.basis = MarginBasis::Mark;
  else if (basis == "entry")
    r.basis = MarginBasis::Entry;
  else
    throw std::invalid_argument("basis: must be mark or entry; got " + basis);
  r.liquidation_fee_rate = field_double(rule_item(d, "liquidation_fee_rate"), "liquidation_fee_rate");
  r.negative_balance_protection =
      field_bool(rule_item(d, "negative_balance_protection"), "negative_balance_protection");
  r.partial_liquidation = field_bool(rule_item(d, "partial_liquidation"), "partial_liquidation");
  r.maker_fee_rate = field_double(rule_item(d, "maker_fee_rate"), "maker_fee_rate");
  r.taker_fee_rate = field_double(rule_item(d, "taker_fee_rate"), "taker_fee_rate");
  return r;
}

}  // namespace deleverage::bindings
