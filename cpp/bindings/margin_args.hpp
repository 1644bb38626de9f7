// A margin rule argument of the margin engine binding: its bound spec
// (_core.MarginRuleSpec, what deleverage.engine_spec builds), never a dict.
#pragma once

#include "pybind.hpp"

#include <stdexcept>
#include <string>

#include "deleverage/margin_rule.hpp"

#include <array>

#include "deleverage/margin_engine.hpp"

namespace deleverage::bindings {

// The rule of a MarginRuleSpec; anything else is a TypeError naming `where`.
inline MarginRule rule_from(py::handle rule, const std::string& where) {
  if (!py::isinstance<MarginRule>(rule))
    throw py::type_error(where + ": must be a MarginRuleSpec, got " + type_name(rule));
  return rule.cast<MarginRule>();
}

}  // namespace deleverage::bindings
