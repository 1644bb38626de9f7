#include "pybind.hpp"

#include <Python.h>

#include <array>
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
#include "deleverage/limits.hpp"
#include "deleverage/run_agreement.hpp"
#include "deleverage/simulation.hpp"
#include "deleverage/step_phases.hpp"
#include "deleverage/strategy_kernels.hpp"

using namespace deleverage;

namespace {

// The scheduled margin rules checked and their tier deductions derived, as the engine runs them.
void prepare_rules(SimulationSpec& s) {
  for (auto& c : s.triggers) c.rule.validate_and_prepare();
  for (auto& c : s.margin_changes) c.rule.validate_and_prepare();
}

// Simulation.run's `until`: an integer (numpy's too, not a bool) in [reached, steps].
std::uint64_t step_until(const py::object& until, std::uint64_t reached, std::uint64_t steps) {
  const std::string range = "[" + std::to_string(reached) + ", " + std::to_string(steps) + "]";
  if (py::isinstance<py::bool_>(until) || !PyIndex_Check(until.ptr()))
    throw py::type_error("until: must be an integer step in " + range + " or None, got " +
                         std::string(py::str(py::type::of(until).attr("__name__"))));
  const py::int_ value = py::reinterpret_steal<py::int_>(PyNumber_Index(until.ptr()));
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
  if (overflow != 0 || v < static_cast<long long>(reached) || v > static_cast<long long>(steps))
    throw py::value_error("until: must be in " + range + " (the steps done, the run's steps), got " +
                          std::string(py::str(value)));
  return static_cast<std::uint64_t>(v);
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

// A property: a per-(account, instrument) field of the table's rows, copied
// packed as an (accounts, instruments) array.
template <class T>
auto per_instrument_copy(CellField<T> AccountRows::* field) {
  return [field](PySimulation& s) {
    auto [rows, cols, data] = s.read([field](const Simulation& r) {
      const AccountTable& t = r.engine().table();
      std::vector<T> out(t.size() * t.instruments());
      for (std::size_t a = 0; a < t.size(); ++a)
        for (std::size_t i = 0; i < t.instruments(); ++i) out[a * t.instruments() + i] = (t.*field)[t.cell(a, i)];
      return std::make_tuple(t.size(), t.instruments(), std::move(out));
    });
    return bindings::adopt(std::move(data))
        .attr("reshape")(static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols));
  };
}

}  // namespace

void register_simulation(py::module_& m) {
  // The most threads one run may use (Simulation.run(threads=...)).
  m.attr("MAX_THREADS") = StepPool::kMaxThreads;
  // The phases of a step that Simulation.phase_seconds times, in the order they run.
  py::tuple phases(kStepPhases);
  for (std::size_t k = 0; k < kStepPhases; ++k) phases[k] = kStepPhaseNames[k];
  m.attr("STEP_PHASES") = phases;
  // Accounts due in a step from which its gathering is split between threads.
  m.attr("PARALLEL_GATHER") = Simulation::kParallelGather;
  PYBIND11_NUMPY_DTYPE(StepRecord, last, mid, mark, fair, best_bid, best_ask, spread, depth_bid, depth_ask, volume,
                       open_interest, liquidated_long, liquidated_short, liquidated_long_notional,
                       liquidated_short_notional, insurance_fund, adl, active_makers, volatility, adl_notional,
                       adl_accounts, bad_debt, bankrupt, fund_equity);
  m.attr("STEP_DTYPE") = py::dtype::of<StepRecord>();
  PYBIND11_NUMPY_DTYPE(TradeRecord, step, price, qty, buyer, seller, instrument, aggressor, liquidation);
  m.attr("TRADE_DTYPE") = py::dtype::of<TradeRecord>();
  m.attr("MIN_DT") = Simulation::kMinDt;
  m.attr("MAX_DT") = Simulation::kMaxDt;
  using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
  using U16 = py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>;
  using U8 = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;
  m.def(
      "first_difference",
      [](SimulationSpec a, SimulationSpec b) {
        prepare_rules(a);
        prepare_rules(b);
        return first_difference(a, b);
      },
      py::arg("a"), py::arg("b"),
      "The first step at which runs of the two specs (with the same accounts and seed) may differ: 0 "
      "when they differ in anything but what is scheduled (margin notices, population changes, fair-value "
      "shocks and waypoints), a.steps when they are the same world.");
  m.def(
      "shuffle_sort",
      [](const py::array_t<std::uint64_t, py::array::c_style>& keys) {
        if (keys.ndim() != 1)
          throw py::value_error("keys: must be one-dimensional, got " + std::to_string(keys.ndim()) + " dimensions");
        std::vector<std::uint64_t> v(keys.data(), keys.data() + keys.size());
        {
          py::gil_scoped_release release;
          RadixSorter().sort(v);
        }
        return py::array_t<std::uint64_t>(static_cast<py::ssize_t>(v.size()), v.data());
      },
      py::arg("keys"),
      "The sort that puts each step's due accounts in their seeded random order, ascending. The engine's "
      "keys hold a random draw in the high half and the account in the low half; `keys` here is any "
      "one-dimensional array of unsigned 64-bit integers (no other dtype is cast). For tests against numpy's sort.");
  m.def(
      "decide_batch",
      [](const PopulationSpec& pop, const MarketView& view, double signal, const F64& equity, const F64& cash,
         const F64& param, const py::array_t<Qty, py::array::c_style | py::array::forcecast>& current, const F64& u0,
         const F64& u1, const F64& u2,
         const std::optional<py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>>& account) {
        const StrategyKernel& kernel = kernel_of(pop.strategy());
        if (kernel.quotes) throw py::value_error("strategy: market makers quote ladders, they have no batch decision");
        if (!kernel.decide) throw py::value_error("strategy: accounts that hold make no decision");
        const auto n = static_cast<std::size_t>(equity.size());
        const bool draws = kernel.draws;
        for (const auto* column : {&cash, &param})
          if (static_cast<std::size_t>(column->size()) != n)
            throw py::value_error("cash: every column must have the length of equity");
        if (static_cast<std::size_t>(current.size()) != n)
          throw py::value_error("current: must have the length of equity");
        if (draws && (static_cast<std::size_t>(u0.size()) != n || static_cast<std::size_t>(u1.size()) != n ||
                      static_cast<std::size_t>(u2.size()) != n))
          throw py::value_error("u0: noise traders need u0, u1, u2 of the length of equity");
        if (account && static_cast<std::size_t>(account->size()) != n)
          throw py::value_error("account: must have the length of equity");
        DecisionBatch b;
        b.account.assign(n, 0);
        for (std::size_t k = 0; account && k < n; ++k) {
          const std::int64_t id = account->data()[k];
          if (id < 0 || id > std::int64_t{UINT32_MAX})
            throw py::value_error("account: ids must be in [0, 4294967295], got " + std::to_string(id));
          b.account[k] = static_cast<std::uint32_t>(id);
        }
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
        kernel.decide(pop, view, signal, b);
        return py::make_tuple(py::array_t<Qty>(static_cast<py::ssize_t>(n), b.target.data()),
                              py::array_t<Price>(static_cast<py::ssize_t>(n), b.price.data()));
      },
      py::arg("population"), py::arg("market"), py::arg("signal"), py::arg("equity"), py::arg("cash"), py::arg("param"),
      py::arg("current"), py::arg("u0"), py::arg("u1"), py::arg("u2"), py::kw_only(), py::arg("account") = py::none(),
      "One strategy's decision kernel over a batch of accounts, as the simulation runs it (its strategy's "
      "entry of the kernel table): the target positions and limit prices (ticks; 0 for market orders). `signal` is the "
      "speculators' "
      "momentum, the holders' slow average (ticks), the allocators' portfolio volatility "
      "(annualised), the noise traders' mood, or for value traders whether they are "
      "still waiting out a storm (non-zero). `account`: the accounts' ids (0 for each if not given; value "
      "traders' schedule places each by its id). For "
      "tests against a plain model.");
  m.def(
      "maker_quotes",
      [](const populations::MarketMakerParams& maker, const MarketView& view, Qty inventory, Qty size,
         double volatility, std::int64_t calm) {
        populations::check_maker_quotes(maker, "");
        if (size < 1) throw py::value_error("size: must be >= 1 lot, got " + std::to_string(size));
        if (!(volatility >= 0.0) || !std::isfinite(volatility))
          throw py::value_error("volatility: must be finite and >= 0, got " + std::to_string(volatility));
        if (calm < 0) throw py::value_error("calm: must be >= 0 steps, got " + std::to_string(calm));
        populations::MakerState state;
        state.calm = calm;
        const bool cover = populations::maker_covers(maker, view.volatility, state);
        std::vector<Message> quotes;
        populations::maker_quotes(maker, view, inventory, size, 0, populations::maker_room(maker, volatility), cover,
                                  quotes);
        py::list out;
        for (const Message& q : quotes) out.append(py::make_tuple(static_cast<int>(q.side), q.price, q.qty));
        return out;
      },
      py::arg("maker"), py::arg("market"), py::arg("inventory"), py::arg("size"), py::arg("volatility"),
      py::arg("calm") = std::numeric_limits<std::int64_t>::max() / 2,
      "One dealer's ladder as the simulation quotes it: (side, price in ticks, lots) for each quote, side 0 a bid "
      "and 1 an ask, for a dealer holding `inventory` lots whose value-at-risk budget meets `volatility` "
      "(annualised), after `calm` steps in a row at or below its cover_max_volatility (a covering dealer). For "
      "tests against a plain model.");
  m.def("dispatched_isa", &dispatched_isa,
        "The version of the decision kernels this CPU runs: 'x86-64-v4' (AVX-512), "
        "'x86-64-v3' (AVX2) or 'baseline'.");

  py::class_<PySimulation>(m, "Simulation", "The clock over books, margin engine and populations.")
      .def(py::init([](SimulationSpec s, const EngineSettings& settings, const std::vector<double>& tick_values,
                       const std::vector<MarginRule>& rules, const F64& cash, const U16& instrument, const U8& mode,
                       const U16& population_id, const F64& param) {
             auto engine = std::make_unique<MarginEngine>(tick_values, rules, settings);
             const auto n = static_cast<std::size_t>(cash.size());
             if (static_cast<std::size_t>(instrument.size()) != n || static_cast<std::size_t>(mode.size()) != n ||
                 static_cast<std::size_t>(population_id.size()) != n || static_cast<std::size_t>(param.size()) != n)
               throw py::value_error("cash: every account column must have the same length");
             // Every account starts flat (a snapshot's positions open later: open_positions).
             engine->add_accounts(n, cash.data(), instrument.data(), nullptr, nullptr, mode.data(),
                                  population_id.data());
             prepare_rules(s);
             double scale = 1.0;
             for (std::size_t k = 0; k < n; ++k) scale += std::fabs(cash.data()[k]);
             scale += settings.insurance_fund;
             for (const auto& f : settings.instrument_funds) scale += f.value_or(0.0);
             PySimulation out{nullptr, 0.0, scale};
             out.sim = std::make_unique<Simulation>(std::move(s), std::move(engine),
                                                    std::vector<double>(param.data(), param.data() + n));
             // Taken once the populations that start at their target hold it.
             out.initial = out.sim->engine().conserved();
             return out;
           }),
           py::arg("spec"), py::arg("settings"), py::arg("tick_values"), py::arg("rules"), py::kw_only(),
           py::arg("cash"), py::arg("instrument"), py::arg("mode"), py::arg("population"), py::arg("param"))
      .def(
          "run",
          [](PySimulation& s, const py::object& progress, long long threads, bool time_phases,
             const py::object& until) {
            if (threads < 1 || threads > static_cast<long long>(StepPool::kMaxThreads))
              throw py::value_error("threads: must be in [1, " + std::to_string(StepPool::kMaxThreads) + "], got " +
                                    std::to_string(threads));
            const auto [reached, steps] =
                s.read([](const Simulation& r) { return std::pair{r.steps_done(), r.steps()}; });
            const std::uint64_t end = until.is_none() ? steps : step_until(until, reached, steps);
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
              s.sim->time_phases(time_phases);
              finished = s.sim->run(interrupted, static_cast<std::size_t>(threads), end);
            }
            if (raised) throw py::error_already_set();
            return finished;
          },
          py::arg("progress") = py::none(), py::kw_only(), py::arg("threads") = 1, py::arg("time_phases") = false,
          py::arg("until") = py::none(),
          "Run to the end (or up to step `until`, exclusive) without the GIL; raises KeyboardInterrupt on "
          "Ctrl-C (the run can be resumed). `threads` share the gathering of each step's due accounts "
          "(helpers for this run only); the result is the same bit for bit whatever their number, and "
          "wherever the run stopped and went on. `time_phases`: add each phase's wall time to "
          "phase_seconds (the result is the same bit for bit).")
      .def(
          "fork",
          [](PySimulation& s, SimulationSpec future) {
            if (s.guard->running)
              throw std::runtime_error("fork: this simulation is running; fork it between runs (run(until=...))");
            prepare_rules(future);
            PySimulation out{nullptr, s.initial, s.scale};
            py::gil_scoped_release release;
            out.sim = s.read([&](const Simulation& r) { return r.fork(future); });
            return out;
          },
          py::arg("future"),
          "A copy of this simulation at its step (steps_done) that goes on under `future`, a spec whose world "
          "agrees with this one's up to that step (first_difference): the same accounts, engine settings and "
          "recorded paths, what is scheduled from then on (margin notices, population changes, fair-value "
          "shocks and waypoints) the future's. Its run is the same bit for bit as a simulation of `future` "
          "from the start. Raises ValueError naming `future` if the worlds differ earlier.")
      .def_property_readonly(
          "phase_seconds",
          [](PySimulation& s) {
            // Read under the lock (perhaps without the GIL), then made a dict with it.
            const auto seconds = s.read([](const Simulation& r) {
              std::array<double, kStepPhases> out{};
              for (std::size_t k = 0; k < kStepPhases; ++k) out[k] = r.phase_seconds(static_cast<StepPhase>(k));
              return out;
            });
            py::dict out;
            for (std::size_t k = 0; k < kStepPhases; ++k) out[kStepPhaseNames[k]] = seconds[k];
            return out;
          },
          "Wall seconds of each phase of a step, summed over the steps run with time_phases, in the order "
          "they run (main thread; with helper threads the calendar is theirs and counts in fills).")
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
                                 const auto& t = r.engine().table();
                                 std::vector<double> out(t.size());
                                 for (std::size_t a = 0; a < out.size(); ++a) out[a] = t.cash[a];
                                 return out;
                               }));
                             })
      .def_property_readonly("position", per_instrument_copy(&AccountRows::position))
      .def_property_readonly("cost", per_instrument_copy(&AccountRows::cost))
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
             const py::array_t<double, py::array::c_style>& entry, bool more) {
            const std::size_t ni = s.sim->engine().instruments();
            if (position.ndim() != 2 || static_cast<std::size_t>(position.shape(1)) != ni)
              throw py::value_error("position: must have shape (accounts, " + std::to_string(ni) + ")");
            if (entry.ndim() != 2 || entry.shape(0) != position.shape(0) || entry.shape(1) != position.shape(1))
              throw py::value_error("entry: must have the shape of position");
            const auto n = static_cast<std::size_t>(position.shape(0));
            bindings::locked(s.guard->mutex, [&] { s.sim->open_positions(first, n, position.data(), entry.data()); });
            // The positions are the accounts' own from the start: money is conserved from here
            // (from the last of several calls: counting it visits every account).
            if (!more) s.initial = s.sim->engine().conserved();
          },
          py::arg("first"), py::arg("position"), py::arg("entry"), py::kw_only(), py::arg("more") = false,
          "Before the run: accounts first.. open `position` (accounts x instruments lots) at `entry` "
          "(ticks), without a counterparty; the conserved money is taken from then on. `more`: further "
          "calls follow (a snapshot opened block by block), the last of them takes it.")
      .def(
          "schedule_forced_order",
          [](PySimulation& s, std::uint64_t step, std::size_t instrument, Qty lots) {
            bindings::locked(s.guard->mutex, [&] { s.sim->schedule_forced_order(step, instrument, lots); });
          },
          py::arg("step"), py::arg("instrument"), py::arg("lots"),
          "At `step` (one not yet run: before the run, or after run(until=...) or a fork) an outside trader "
          "sends a market order for `lots` of `instrument` (negative: a sale), after the makers requote.");
}
