#include "pybind.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "deleverage/stress.hpp"
#include "margin_args.hpp"

using namespace deleverage;

namespace {

template <class T>
const T* column(const py::array_t<T, py::array::c_style>& a, std::size_t want, const char* name) {
  if (static_cast<std::size_t>(a.size()) != want)
    throw py::value_error(std::string(name) + ": must hold " + std::to_string(want) + " values, got " +
                          std::to_string(a.size()));
  return a.data();
}

}  // namespace

void register_stress(py::module_& m) {
  py::class_<DepthProfile>(m, "DepthProfile",
                           "The venue's depth of one instrument in a stress test: `levels` price levels each side "
                           "of the price, `lots` each, `spacing` apart (a fraction of the price).")
      .def(py::init([](std::int64_t levels, Qty lots, double spacing) {
             if (levels < 0 || levels > 100000) throw py::value_error("levels: must be in 0..100000");
             if (lots < 0 || lots > (Qty{1} << 40)) throw py::value_error("lots: must be in 0..2^40");
             if (!(spacing > 0.0 && spacing < 1.0)) throw py::value_error("spacing: must be in (0, 1)");
             return DepthProfile{levels, lots, spacing};
           }),
           py::kw_only(), py::arg("levels"), py::arg("lots"), py::arg("spacing"))
      .def_readonly("levels", &DepthProfile::levels)
      .def_readonly("lots", &DepthProfile::lots)
      .def_readonly("spacing", &DepthProfile::spacing);

  py::class_<StressShock>(m, "StressShock",
                          "A shock: `instrument`'s mark is its start price times each multiplier in turn "
                          "(one margin check each).")
      .def(py::init([](std::uint16_t instrument, std::vector<double> multipliers) {
             if (multipliers.empty()) throw py::value_error("multipliers: need at least one");
             for (const double x : multipliers)
               if (!(x > 0.0 && x < 1e6)) throw py::value_error("multipliers: each must be in (0, 1e6)");
             return StressShock{instrument, std::move(multipliers)};
           }),
           py::kw_only(), py::arg("instrument"), py::arg("multipliers"))
      .def_readonly("instrument", &StressShock::instrument)
      .def_readonly("multipliers", &StressShock::multipliers);

  PYBIND11_NUMPY_DTYPE(StressOutcome, accounts_liquidated, liquidated_notional, book_notional, slippage, fund_start,
                       fund_low, fund_end, adl_events, adl_notional, bad_debt, bankrupt_accounts, lowest_mark);
  m.attr("STRESS_DTYPE") = py::dtype::of<StressOutcome>();

  using F64 = py::array_t<double, py::array::c_style>;
  m.def(
      "stress_grid",
      [](std::vector<double> tick_values, const py::list& rules, const EngineSettings& settings,
         std::vector<Price> start_ticks, std::vector<MarkRule> mark_rules,
         const std::optional<std::vector<DepthProfile>>& depth, const F64& cash,
         const py::array_t<std::uint16_t, py::array::c_style>& instrument,
         const py::array_t<Qty, py::array::c_style>& position, const F64& entry,
         const py::array_t<std::uint8_t, py::array::c_style>& mode, const std::vector<StressShock>& shocks,
         unsigned threads, bool keep_logs) {
        StressInputs in;
        const std::size_t ni = tick_values.size();
        in.tick_values = std::move(tick_values);
        for (const auto& r : rules) in.rules.push_back(bindings::rule_from(r, "rules"));
        in.settings = settings;
        in.start_ticks = std::move(start_ticks);
        in.mark_rules = std::move(mark_rules);
        if (depth) in.depth = *depth;
        if (in.rules.size() != ni || in.start_ticks.size() != ni || in.mark_rules.size() != ni ||
            (depth && in.depth.size() != ni))
          throw py::value_error("rules: need a rule, start price, mark rule (and depth) per instrument");
        for (const auto& s : shocks)
          if (s.instrument >= ni) throw py::value_error("shocks: unknown instrument " + std::to_string(s.instrument));
        StressAccounts a;
        a.n = static_cast<std::size_t>(cash.size());
        a.cash = cash.data();
        a.instrument = column(instrument, a.n, "instrument");
        a.position = column(position, a.n * ni, "position");
        a.entry = column(entry, a.n * ni, "entry");
        a.mode = column(mode, a.n, "mode");
        std::vector<std::vector<LiquidationRecord>> logs;
        std::vector<StressOutcome> out;
        {
          py::gil_scoped_release release;
          out = run_stress_grid(in, a, shocks, threads, keep_logs, &logs);
        }
        py::list log_arrays;
        for (auto& l : logs) log_arrays.append(bindings::adopt(std::move(l)));
        return py::make_tuple(bindings::adopt(std::move(out)), keep_logs ? py::object(log_arrays) : py::none());
      },
      py::kw_only(), py::arg("tick_values"), py::arg("rules"), py::arg("settings"), py::arg("start_ticks"),
      py::arg("mark_rules"), py::arg("depth"), py::arg("cash"), py::arg("instrument"), py::arg("position"),
      py::arg("entry"), py::arg("mode"), py::arg("shocks"), py::arg("threads"), py::arg("keep_logs"),
      "Each shock on a fresh engine holding the accounts (entry prices in ticks), without the GIL, on up to "
      "`threads` threads: (STRESS_DTYPE outcomes, per-shock LIQUIDATION_DTYPE logs or None).");
}
