#include "pybind.hpp"

#include <Python.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "deleverage/dispatch.hpp"
#include "deleverage/populations/allocator.hpp"
#include "deleverage/populations/holder.hpp"
#include "deleverage/populations/noise.hpp"
#include "deleverage/populations/speculator.hpp"
#include "deleverage/populations/value.hpp"
#include "deleverage/price_path.hpp"
#include "deleverage/simulation.hpp"
#include "margin_rule_dict.hpp"

using namespace deleverage;

namespace {

template <class T>
T get(const py::dict& d, const char* key) {
  if (!d.contains(key)) throw py::value_error(std::string(key) + ": missing");
  return d[key].cast<T>();
}

MarkRule mark_rule(const std::string& name) {
  if (name == "last") return MarkRule::Last;
  if (name == "mid") return MarkRule::Mid;
  if (name == "median") return MarkRule::Median;
  throw py::value_error("mark: must be last, mid or median; got " + name);
}

Strategy strategy(const std::string& name) {
  if (name == "speculator") return Strategy::Speculator;
  if (name == "noise") return Strategy::Noise;
  if (name == "value") return Strategy::Value;
  if (name == "market_maker") return Strategy::MarketMaker;
  if (name == "holder") return Strategy::Holder;
  if (name == "allocator") return Strategy::Allocator;
  if (name == "hold") return Strategy::Hold;
  throw py::value_error("strategy: unknown strategy " + name);
}

FundamentalSpec fundamental(const py::dict& d) {
  FundamentalSpec f;
  f.start = get<double>(d, "start");
  f.drift = get<double>(d, "drift");
  f.volatility = get<double>(d, "volatility");
  f.mean_reverting = get<bool>(d, "mean_reverting");
  f.reversion = get<double>(d, "reversion");
  f.anchor = get<double>(d, "anchor");
  f.vol_of_vol = get<double>(d, "vol_of_vol");
  f.vol_half_life = get<double>(d, "vol_half_life");
  for (const auto& s : get<py::list>(d, "shocks")) {
    const auto t = s.cast<py::tuple>();
    const auto kind = t[1].cast<std::string>();
    const ShockKind k = kind == "jump" ? ShockKind::Jump : kind == "drift" ? ShockKind::Drift : ShockKind::Volatility;
    f.shocks.push_back(Shock{t[0].cast<std::uint64_t>(), k, t[2].cast<double>()});
  }
  for (const auto& w : get<py::list>(d, "waypoints")) {
    const auto t = w.cast<py::tuple>();
    f.waypoints.push_back(Waypoint{t[0].cast<std::uint64_t>(), std::log(t[1].cast<double>())});
  }
  return f;
}

PopulationSpec population(const py::dict& d) {
  PopulationSpec p;
  p.strategy = strategy(get<std::string>(d, "strategy"));
  p.first = get<std::uint32_t>(d, "first");
  p.count = get<std::uint32_t>(d, "count");
  p.instrument = get<std::uint16_t>(d, "instrument");
  if (d.contains("instruments")) p.instruments = d["instruments"].cast<std::vector<std::uint16_t>>();
  p.activity = get<double>(d, "activity");
  // Strategy parameters: those present override the defaults.
  auto maybe = [&](const char* key, auto& field) {
    if (d.contains(key)) field = d[key].cast<std::decay_t<decltype(field)>>();
  };
  maybe("fast_alpha", p.fast_alpha);
  maybe("slow_alpha", p.slow_alpha);
  maybe("threshold", p.threshold);
  maybe("max_leverage", p.max_leverage);
  maybe("short_fraction", p.short_fraction);
  maybe("limit_share", p.limit_share);
  maybe("limit_offset_ticks", p.limit_offset_ticks);
  maybe("sentiment_persistence", p.sentiment_persistence);
  maybe("sentiment_volatility", p.sentiment_volatility);
  maybe("capital_fraction", p.capital_fraction);
  maybe("aggressiveness", p.aggressiveness);
  maybe("vol_reference", p.vol_reference);
  maybe("vol_exit", p.vol_exit);
  maybe("leverage", p.leverage);
  maybe("reach", p.reach);
  maybe("hold_when_out", p.hold_when_out);
  maybe("hold_to_fair", p.hold_to_fair);
  maybe("levels", p.levels);
  maybe("base_spread_ticks", p.base_spread_ticks);
  maybe("vol_spread_factor", p.vol_spread_factor);
  maybe("inventory_limit", p.inventory_limit);
  maybe("vol_withdraw", p.vol_withdraw);
  maybe("loss_withdraw", p.loss_withdraw);
  maybe("calm_steps", p.calm_steps);
  maybe("fair_weight", p.fair_weight);
  maybe("basis_alpha", p.basis_alpha);
  maybe("max_basis", p.max_basis);
  maybe("stress_instruments", p.stress_instruments);
  maybe("holder_alpha", p.holder_alpha);
  maybe("dip", p.dip);
  maybe("budget_fraction", p.budget_fraction);
  maybe("vol_target", p.vol_target);
  maybe("rebalance_band", p.rebalance_band);
  return p;
}

// The run holds the mutex while it steps and lets go of it between steps
// whenever it asks Python for Ctrl-C and progress (every 256 steps): a reader
// in another thread waits at most that long, and the progress callback may
// read the simulation. Readers copy out under the mutex (bindings::locked).
struct Guard {
  std::mutex mutex;
  std::atomic<bool> running{false};  // one run at a time: its position in the loop is its own
};

struct PySimulation {
  std::unique_ptr<Simulation> sim;
  double initial = 0.0;  // the conserved money at the start
  double scale = 1.0;    // its magnitude, for a relative error
  std::unique_ptr<Guard> guard = std::make_unique<Guard>();

  template <class F>
  auto read(F&& f) -> decltype(f(*sim)) {
    return bindings::locked(guard->mutex, [&] { return f(static_cast<const Simulation&>(*sim)); });
  }
};

template <class T>
std::vector<T> copy_of(const std::vector<T>& v) {
  return v;
}

}  // namespace

void register_simulation(py::module_& m) {
  PYBIND11_NUMPY_DTYPE(StepRecord, last, mid, mark, fair, best_bid, best_ask, spread, depth_bid, depth_ask, volume,
                       open_interest, liquidated_long, liquidated_short, liquidated_long_notional,
                       liquidated_short_notional, insurance_fund, adl, active_makers, volatility, adl_notional,
                       adl_accounts, bad_debt, bankrupt);
  m.attr("STEP_DTYPE") = py::dtype::of<StepRecord>();
  PYBIND11_NUMPY_DTYPE(TradeRecord, step, price, qty, buyer, seller, instrument, aggressor, liquidation);
  m.attr("TRADE_DTYPE") = py::dtype::of<TradeRecord>();
  m.attr("MIN_DT") = Simulation::kMinDt;
  m.attr("MAX_DT") = Simulation::kMaxDt;
  using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
  using U16 = py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>;
  using U8 = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;
  m.def(
      "decide_batch",
      [](const py::dict& population_spec, const py::dict& market, double signal, const F64& equity, const F64& cash,
         const F64& param, const py::array_t<Qty, py::array::c_style | py::array::forcecast>& current, const F64& u0,
         const F64& u1, const F64& u2) {
        const PopulationSpec pop = population(population_spec);
        MarketView view;
        for (const auto& [key, field] :
             std::initializer_list<std::pair<const char*, double*>>{{"last", &view.last},
                                                                    {"reference", &view.reference},
                                                                    {"mid", &view.mid},
                                                                    {"spread", &view.spread},
                                                                    {"fair", &view.fair},
                                                                    {"volatility", &view.volatility},
                                                                    {"step_sigma", &view.step_sigma},
                                                                    {"tick_value", &view.tick_value},
                                                                    {"initial_rate", &view.initial_rate}})
          *field = get<double>(market, key);
        const auto n = static_cast<std::size_t>(equity.size());
        const bool draws = pop.strategy == Strategy::Noise;
        for (const auto* column : {&cash, &param})
          if (static_cast<std::size_t>(column->size()) != n)
            throw py::value_error("cash: every column must have the length of equity");
        if (static_cast<std::size_t>(current.size()) != n)
          throw py::value_error("current: must have the length of equity");
        if (draws && (static_cast<std::size_t>(u0.size()) != n || static_cast<std::size_t>(u1.size()) != n ||
                      static_cast<std::size_t>(u2.size()) != n))
          throw py::value_error("u0: noise traders need u0, u1, u2 of the length of equity");
        DecisionBatch b;
        b.account.assign(n, 0);
        b.equity.assign(equity.data(), equity.data() + n);
        b.cash.assign(cash.data(), cash.data() + n);
        b.param.assign(param.data(), param.data() + n);
        b.current.assign(current.data(), current.data() + n);
        if (draws) {
          b.u0.assign(u0.data(), u0.data() + n);
          b.u1.assign(u1.data(), u1.data() + n);
          b.u2.assign(u2.data(), u2.data() + n);
        }
        b.size_outputs();
        switch (pop.strategy) {
          case Strategy::Speculator:
            populations::speculators(pop, view, signal, b);
            break;
          case Strategy::Value:
            populations::value(pop, view, signal != 0.0, b);
            break;
          case Strategy::Holder:
            populations::holders(pop, view, signal, b);
            break;
          case Strategy::Allocator:
            populations::allocators(pop, view, signal, b);
            break;
          case Strategy::Noise:
            populations::noise(pop, view, signal, b);
            break;
          case Strategy::MarketMaker:
            throw py::value_error("strategy: market makers quote ladders, they have no batch decision");
          case Strategy::Hold:
            throw py::value_error("strategy: accounts that hold make no decision");
        }
        return py::make_tuple(py::array_t<Qty>(static_cast<py::ssize_t>(n), b.target.data()),
                              py::array_t<Price>(static_cast<py::ssize_t>(n), b.price.data()));
      },
      py::arg("population"), py::arg("market"), py::arg("signal"), py::arg("equity"), py::arg("cash"), py::arg("param"),
      py::arg("current"), py::arg("u0"), py::arg("u1"), py::arg("u2"),
      "One strategy's decision kernel over a batch of accounts, as the simulation runs it: the "
      "target positions and limit prices (ticks; 0 for market orders). `signal` is the speculators' "
      "momentum, the holders' slow average (ticks), the allocators' portfolio volatility "
      "(annualised), the noise traders' buy probability, or for value traders whether they are "
      "still waiting out a storm (non-zero). For "
      "tests against a plain model.");
  m.def("dispatched_isa", &dispatched_isa,
        "The version of the decision kernels this CPU runs: 'x86-64-v4' (AVX-512), "
        "'x86-64-v3' (AVX2) or 'baseline'.");

  py::class_<PySimulation>(m, "Simulation", "The clock over books, margin engine and populations.")
      .def(py::init([](const py::dict& spec, const std::vector<double>& tick_values, const py::list& rules,
                       double insurance_fund, bool adl, double max_liquidation_notional, const F64& cash,
                       const U16& instrument, const U8& mode, const U16& population_id, const F64& param) {
             std::vector<MarginRule> margin;
             for (const auto& r : rules) margin.push_back(bindings::rule_from_dict(r, "rules"));
             EngineSettings settings;
             settings.insurance_fund = insurance_fund;
             settings.adl = adl;
             settings.max_liquidation_notional = max_liquidation_notional;
             if (spec.contains("close_order"))
               settings.close_order = bindings::close_order_from(spec["close_order"].cast<std::string>());
             if (spec.contains("liquidity")) settings.liquidity = spec["liquidity"].cast<std::vector<double>>();
             if (spec.contains("liquidation_orders"))
               settings.liquidate_at_market = spec["liquidation_orders"].cast<std::string>() == "market";
             auto engine = std::make_unique<MarginEngine>(tick_values, margin, settings);
             const auto n = static_cast<std::size_t>(cash.size());
             const std::size_t ni = tick_values.size();
             if (static_cast<std::size_t>(instrument.size()) != n || static_cast<std::size_t>(mode.size()) != n ||
                 static_cast<std::size_t>(population_id.size()) != n || static_cast<std::size_t>(param.size()) != n)
               throw py::value_error("cash: every account column must have the same length");
             std::vector<Qty> zeros(n * ni, 0);
             std::vector<double> no_entry(n * ni, 0.0);
             engine->add_accounts(n, cash.data(), instrument.data(), zeros.data(), no_entry.data(), mode.data(),
                                  population_id.data());
             SimulationSpec s;
             s.dt = get<double>(spec, "dt");
             s.steps = get<std::uint64_t>(spec, "steps");
             s.seed = get<std::uint64_t>(spec, "seed");
             s.leverage_every = get<std::uint64_t>(spec, "leverage_every");
             s.volatility_window = get<double>(spec, "volatility_window");
             s.trade_log = spec.contains("trade_log") && spec["trade_log"].cast<bool>();
             if (spec.contains("fund_unwind_share")) s.fund_unwind_share = spec["fund_unwind_share"].cast<double>();
             if (spec.contains("loadings")) s.loadings = spec["loadings"].cast<std::vector<double>>();
             for (const auto& f : get<py::list>(spec, "fundamentals"))
               s.fundamentals.push_back(fundamental(f.cast<py::dict>()));
             s.tick_size = get<std::vector<double>>(spec, "tick_size");
             s.start_ticks = get<std::vector<Price>>(spec, "start_ticks");
             for (const auto& r : get<py::list>(spec, "mark_rules"))
               s.mark_rules.push_back(mark_rule(r.cast<std::string>()));
             for (const auto& p : get<py::list>(spec, "populations"))
               s.populations.push_back(population(p.cast<py::dict>()));
             for (const auto& c : get<py::list>(spec, "margin_changes")) {
               const auto t = c.cast<py::tuple>();
               s.margin_changes.push_back(ScheduledRule{t[0].cast<std::uint64_t>(), t[1].cast<std::uint16_t>(),
                                                        bindings::rule_from_dict(t[2], "margin_changes")});
             }
             for (const auto& c : get<py::list>(spec, "triggers")) {
               const auto t = c.cast<py::tuple>();
               auto rule = bindings::rule_from_dict(t[3], "triggers");
               rule.validate_and_prepare();
               s.triggers.push_back(
                   VolatilityTrigger{t[0].cast<std::uint16_t>(), t[1].cast<double>(), t[2].cast<double>(), rule});
             }
             for (auto& c : s.margin_changes) c.rule.validate_and_prepare();
             double scale = 1.0;
             for (std::size_t k = 0; k < n; ++k) scale += std::fabs(cash.data()[k]);
             scale += insurance_fund;
             PySimulation out{nullptr, engine->conserved(), scale};
             out.sim = std::make_unique<Simulation>(std::move(s), std::move(engine),
                                                    std::vector<double>(param.data(), param.data() + n));
             return out;
           }),
           py::arg("spec"), py::arg("tick_values"), py::arg("rules"), py::arg("insurance_fund"), py::arg("adl"),
           py::arg("max_liquidation_notional"), py::arg("cash"), py::arg("instrument"), py::arg("mode"),
           py::arg("population"), py::arg("param"))
      .def(
          "run",
          [](PySimulation& s, const py::object& progress) {
            bool expected = false;
            if (!s.guard->running.compare_exchange_strong(expected, true))
              throw std::runtime_error(
                  "run: this simulation is already running (in another thread or its progress callback)");
            struct Reset {
              std::atomic<bool>& flag;
              ~Reset() { flag = false; }
            } reset{s.guard->running};
            bool raised = false;
            bool finished;
            {
              py::gil_scoped_release release;
              std::unique_lock<std::mutex> lock(s.guard->mutex);
              // Ctrl-C and progress are looked at every 256 steps, between steps,
              // with the mutex let go and the GIL held only then.
              auto interrupted = [&]() {
                const std::uint64_t done = s.sim->steps_done();
                lock.unlock();
                bool stop = false;
                {
                  py::gil_scoped_acquire gil;
                  if (PyErr_CheckSignals() != 0) {
                    raised = true;
                    stop = true;
                  } else if (!progress.is_none()) {
                    progress(done);  // if it raises, the run unwinds with the mutex let go
                  }
                }
                lock.lock();
                return stop;
              };
              finished = s.sim->run(interrupted);
            }
            if (raised) throw py::error_already_set();
            return finished;
          },
          py::arg("progress") = py::none(),
          "Run to the end without the GIL; raises KeyboardInterrupt on Ctrl-C (the run can be resumed).")
      .def_property_readonly(
          "records",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().steps); }));
          })
      .def_property_readonly(
          "notional",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().notional); }));
          })
      .def_property_readonly(
          "equity",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().equity); }));
          })
      .def_property_readonly(
          "sample_steps",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().sample_steps); }));
          })
      .def_property_readonly(
          "trades",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().trades); }));
          })
      .def_property_readonly(
          "trigger_steps",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.recording().trigger_steps); }));
          })
      .def_property_readonly(
          "liquidations",
          [](PySimulation& s) {
            return bindings::adopt(s.read([](const Simulation& r) { return copy_of(r.engine().log()); }));
          })
      .def_property_readonly("cash",
                             [](PySimulation& s) {
                               return bindings::adopt(s.read([](const Simulation& r) {
                                 const auto& c = r.engine().table().cash;
                                 return std::vector<double>(c.begin(), c.end());
                               }));
                             })
      .def_property_readonly("position",
                             [](PySimulation& s) {
                               auto [rows, cols, data] = s.read([](const Simulation& r) {
                                 const auto& c = r.engine().table().position;
                                 return std::make_tuple(r.engine().accounts(), r.engine().instruments(),
                                                        std::vector<Qty>(c.begin(), c.end()));
                               });
                               return bindings::adopt(std::move(data))
                                   .attr("reshape")(static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols));
                             })
      .def_property_readonly("cost",
                             [](PySimulation& s) {
                               auto [rows, cols, data] = s.read([](const Simulation& r) {
                                 const auto& c = r.engine().table().cost;
                                 return std::make_tuple(r.engine().accounts(), r.engine().instruments(),
                                                        std::vector<double>(c.begin(), c.end()));
                               });
                               return bindings::adopt(std::move(data))
                                   .attr("reshape")(static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols));
                             })
      .def_property_readonly("status",
                             [](PySimulation& s) {
                               return bindings::adopt(s.read([](const Simulation& r) {
                                 const auto& c = r.engine().table().status;
                                 return std::vector<std::uint8_t>(c.begin(), c.end());
                               }));
                             })
      .def_property_readonly("marks",
                             [](PySimulation& s) {
                               return bindings::adopt(s.read([](const Simulation& r) {
                                 const Price* marks = r.engine().marks();
                                 return std::vector<Price>(marks, marks + r.engine().instruments());
                               }));
                             })
      .def("conserved",
           [](PySimulation& s) { return s.read([](const Simulation& r) { return r.engine().conserved(); }); })
      .def(
          "conservation_error",
          [](PySimulation& s) {
            // Relative to all the money in play: the starting cash and fund, and what changed hands.
            const auto [now, moved] = s.read([](const Simulation& r) {
              return std::pair<double, double>{r.engine().conserved(), r.engine().money_moved()};
            });
            return std::fabs(now - s.initial) / (s.scale + moved);
          },
          "Relative drift of the conserved money since the start (0 up to rounding).")
      .def_property_readonly(
          "bad_debt", [](PySimulation& s) { return s.read([](const Simulation& r) { return r.engine().bad_debt(); }); })
      .def_property_readonly(
          "insurance_fund",
          [](PySimulation& s) { return s.read([](const Simulation& r) { return r.engine().fund().cash; }); })
      .def_property_readonly("bad_debt_by_instrument",
                             [](PySimulation& s) {
                               return bindings::adopt(s.read([](const Simulation& r) {
                                 std::vector<double> out(r.engine().instruments());
                                 for (std::size_t i = 0; i < out.size(); ++i) out[i] = r.engine().bad_debt(i);
                                 return out;
                               }));
                             })
      .def_property_readonly(
          "bankrupt_accounts",
          [](PySimulation& s) { return s.read([](const Simulation& r) { return r.engine().bankrupt_accounts(); }); })
      .def_property_readonly("steps_done",
                             [](PySimulation& s) { return s.read([](const Simulation& r) { return r.steps_done(); }); })
      .def_property_readonly("messages",
                             [](PySimulation& s) { return s.read([](const Simulation& r) { return r.messages(); }); })
      .def_property_readonly("decisions",
                             [](PySimulation& s) { return s.read([](const Simulation& r) { return r.decisions(); }); })
      .def_property_readonly(
          "memory_bytes",
          [](PySimulation& s) { return s.read([](const Simulation& r) { return r.engine().memory_bytes(); }); })
      // Recorded paths (deleverage.data): bound structs, not spec keys.
      .def(
          "follow_paths",
          [](PySimulation& s, std::size_t instrument, const std::optional<PricePath>& fair,
             const std::optional<PricePath>& index) {
            bindings::locked(s.guard->mutex, [&] {
              s.sim->follow_paths(instrument, fair.value_or(PricePath{}), index.value_or(PricePath{}));
            });
          },
          py::arg("instrument"), py::kw_only(), py::arg("fair") = py::none(), py::arg("index") = py::none(),
          "Before the run: instrument's fair value follows `fair`, its mark rule's index `index` (None: as "
          "before); the scenario's jumps land on top of both.")
      // A snapshot of accounts (deleverage.data): their positions, before the run.
      .def(
          "open_positions",
          [](PySimulation& s, std::size_t first, const py::array_t<Qty, py::array::c_style>& position,
             const py::array_t<double, py::array::c_style>& entry) {
            const std::size_t ni = s.sim->engine().instruments();
            if (position.ndim() != 2 || static_cast<std::size_t>(position.shape(1)) != ni)
              throw py::value_error("position: must have shape (accounts, " + std::to_string(ni) + ")");
            if (entry.ndim() != 2 || entry.shape(0) != position.shape(0) || entry.shape(1) != position.shape(1))
              throw py::value_error("entry: must have the shape of position");
            const auto n = static_cast<std::size_t>(position.shape(0));
            bindings::locked(s.guard->mutex, [&] { s.sim->open_positions(first, n, position.data(), entry.data()); });
            // The positions are the accounts' own from the start: money is conserved from here.
            s.initial = s.sim->engine().conserved();
          },
          py::arg("first"), py::arg("position"), py::arg("entry"),
          "Before the run: accounts first.. open `position` (accounts x instruments lots) at `entry` "
          "(ticks), without a counterparty; the conserved money is taken from then on.")
      .def(
          "schedule_forced_order",
          [](PySimulation& s, std::uint64_t step, std::size_t instrument, Qty lots) {
            bindings::locked(s.guard->mutex, [&] { s.sim->schedule_forced_order(step, instrument, lots); });
          },
          py::arg("step"), py::arg("instrument"), py::arg("lots"),
          "Before the run: at `step` an outside trader sends a market order for `lots` of `instrument` "
          "(negative: a sale), after the makers requote.");
}
