// The margin engine binding's arguments: a close order by name, a margin rule
// from its bound spec (_core.MarginRuleSpec, what deleverage.engine_spec builds).
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

// The rule of a MarginRuleSpec; anything else is a TypeError naming `where`.
inline MarginRule rule_from(py::handle rule, const std::string& where) {
  if (!py::isinstance<MarginRule>(rule))
    throw py::type_error(where + ": must be a MarginRuleSpec, got " + type_name(rule));
  return rule.cast<MarginRule>();
}

}  // namespace deleverage::bindings
