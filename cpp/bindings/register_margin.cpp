#include "pybind.hpp"

#include <array>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include "deleverage/margin_engine.hpp"
#include "margin_rule_dict.hpp"
#include "py_order_book.hpp"

using namespace deleverage;
using deleverage::bindings::copy_records;
using deleverage::bindings::PyOrderBook;

namespace {

using bindings::close_order_from;
using bindings::kCloseOrders;

// The engine plus a count of the zero-copy views of its table that are
// alive: the table may move in memory (grow) only while there are none.
struct PyMarginEngine {
  MarginEngine engine;
  std::size_t live_views = 0;
  std::mutex mutex;
  std::vector<py::object> books;  // attached books, kept alive here

  // Lock the engine and every attached book for a call that runs without the GIL.
  std::vector<std::unique_lock<std::mutex>> lock_all() {
    std::vector<std::unique_lock<std::mutex>> locks;
    locks.emplace_back(mutex);
    for (const auto& b : books)
      if (!b.is_none()) locks.emplace_back(b.cast<PyOrderBook&>().mutex);
    return locks;
  }

  PyMarginEngine(const std::vector<double>& tick_values, const py::list& rules, double insurance_fund, bool adl,
                 int max_rounds, double max_liquidation_notional, const std::string& close_order,
                 const std::vector<double>& liquidity)
      : engine(tick_values, convert(rules),
               settings(insurance_fund, adl, max_rounds, max_liquidation_notional, close_order, liquidity)),
        books(tick_values.size(), py::none()) {}

  static EngineSettings settings(double insurance_fund, bool adl, int max_rounds, double max_liquidation_notional,
                                 const std::string& close_order, const std::vector<double>& liquidity) {
    EngineSettings s;
    s.insurance_fund = insurance_fund;
    s.adl = adl;
    s.max_rounds = max_rounds;
    s.max_liquidation_notional = max_liquidation_notional;
    s.close_order = close_order_from(close_order);
    s.liquidity = liquidity;
    return s;
  }

  static std::vector<MarginRule> convert(const py::list& rules) {
    std::vector<MarginRule> out;
    for (const auto& r : rules) out.push_back(bindings::rule_from_dict(r.cast<py::dict>()));
    return out;
  }

  // Each view's base is a token that holds the engine alive and is counted.
  struct ViewToken {
    PyMarginEngine* engine;
    py::object owner;
  };

  template <class T, class Alloc>
  py::array_t<T> view(const py::object& self, const std::vector<T, Alloc>& column, std::size_t cols, bool two_d) {
    auto* token = new ViewToken{this, self};
    ++live_views;
    py::capsule keeper(token, [](void* p) {
      auto* t = static_cast<ViewToken*>(p);
      --t->engine->live_views;
      delete t;
    });
    const auto rows = static_cast<py::ssize_t>(column.size() / cols);
    py::array_t<T> a;
    if (!two_d) {
      a = py::array_t<T>({rows}, {static_cast<py::ssize_t>(sizeof(T))}, column.data(), keeper);
    } else {
      a = py::array_t<T>({rows, static_cast<py::ssize_t>(cols)},
                         {static_cast<py::ssize_t>(cols * sizeof(T)), static_cast<py::ssize_t>(sizeof(T))},
                         column.data(), keeper);
    }
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
  }
};

enum Shape { PerAccount, PerInstrument, Flat };

// A property returning a zero-copy, read-only view of one engine column.
template <Shape shape, class Get>
auto column(Get get) {
  return [get](const py::object& self) {
    auto& e = self.cast<PyMarginEngine&>();
    return e.view(self, get(e.engine), shape == PerInstrument ? e.engine.instruments() : 1, shape == PerInstrument);
  };
}

template <class T>
const T* ptr(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) { return a.data(); }

}  // namespace

void register_margin(py::module_& m) {
  PYBIND11_NUMPY_DTYPE(LiquidationRecord, check, round, kind, side, account, instrument, qty, price, mark, equity);
  m.attr("LIQUIDATION_DTYPE") = py::dtype::of<LiquidationRecord>();

  using F64 = py::array_t<double, py::array::c_style | py::array::forcecast>;
  using I64 = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
  using U16 = py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>;
  using U8 = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>;

  py::class_<PyMarginEngine>(m, "MarginEngine", "Accounts marked to market and liquidated (docs/margin.md).")
      .def(py::init<const std::vector<double>&, const py::list&, double, bool, int, double, const std::string&,
                    const std::vector<double>&>(),
           py::arg("tick_values"), py::arg("rules"), py::arg("insurance_fund") = 0.0, py::arg("adl") = true,
           py::arg("max_rounds") = 64, py::arg("max_liquidation_notional") = std::numeric_limits<double>::infinity(),
           py::arg("close_order") = "instrument", py::arg("liquidity") = std::vector<double>{})
      .def(
          "add_accounts",
          [](PyMarginEngine& e, const F64& cash, const U16& instrument, const I64& position, const F64& entry_price,
             const U8& mode, const U16& population) {
            const auto n = static_cast<std::size_t>(cash.size());
            const std::size_t ni = e.engine.instruments();
            if (static_cast<std::size_t>(instrument.size()) != n || static_cast<std::size_t>(mode.size()) != n ||
                static_cast<std::size_t>(population.size()) != n)
              throw py::value_error("cash: instrument, mode and population must have one entry per account");
            if (static_cast<std::size_t>(position.size()) != n * ni ||
                static_cast<std::size_t>(entry_price.size()) != n * ni)
              throw py::value_error("position: position and entry_price must be (accounts, instruments)");
            const auto& t = e.engine.table();
            if (t.cash.size() + n > t.cash.capacity() && e.live_views > 0)
              throw py::value_error(
                  "accounts: the table must grow, but numpy views of it are alive; drop them (del) and retry");
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(e.mutex);
            e.engine.add_accounts(n, ptr(cash), ptr(instrument), ptr(position), ptr(entry_price), ptr(mode),
                                  ptr(population));
          },
          py::arg("cash"), py::arg("instrument"), py::arg("position"), py::arg("entry_price"), py::arg("mode"),
          py::arg("population"))
      .def(
          "check",
          [](PyMarginEngine& e, const I64& marks) {
            if (static_cast<std::size_t>(marks.size()) != e.engine.instruments())
              throw py::value_error("marks: need one mark per instrument (" +
                                    std::to_string(e.engine.instruments()) + "), got " +
                                    std::to_string(marks.size()));
            std::size_t added;
            {
              py::gil_scoped_release release;
              auto locks = e.lock_all();
              added = e.engine.check(ptr(marks));
            }
            const auto& log = e.engine.log();
            return copy_records(log.data() + (log.size() - added), added);
          },
          py::arg("marks"), "Mark every instrument, liquidate until calm; returns this check's records.")
      .def(
          "attach_book",
          [](PyMarginEngine& e, std::size_t instrument, const py::object& book, const std::string& mark) {
            if (instrument >= e.engine.instruments())
              throw py::value_error("instrument: must be in 0.." + std::to_string(e.engine.instruments() - 1));
            MarkRule rule = MarkRule::Last;
            if (mark == "mid") rule = MarkRule::Mid;
            else if (mark == "median") rule = MarkRule::Median;
            else if (mark != "last") throw py::value_error("mark: must be last, mid or median; got " + mark);
            if (book.is_none()) {
              e.engine.attach_book(instrument, nullptr, rule);
            } else {
              auto& b = book.cast<PyOrderBook&>();
              e.engine.attach_book(instrument, &b.book, rule);
            }
            e.books[instrument] = book;
          },
          py::arg("instrument"), py::arg("book"), py::arg("mark") = "last")
      .def(
          "check_books",
          [](PyMarginEngine& e, const I64& index_prices) {
            if (static_cast<std::size_t>(index_prices.size()) != e.engine.instruments())
              throw py::value_error("index_prices: need one price per instrument (" +
                                    std::to_string(e.engine.instruments()) + "), got " +
                                    std::to_string(index_prices.size()));
            std::size_t added;
            {
              py::gil_scoped_release release;
              auto locks = e.lock_all();
              added = e.engine.check_books(ptr(index_prices));
            }
            const auto& log = e.engine.log();
            return copy_records(log.data() + (log.size() - added), added);
          },
          py::arg("index_prices"), "check() with each round's marks taken from the attached books.")
      .def(
          "book_marks",
          [](PyMarginEngine& e, const I64& index_prices) {
            if (static_cast<std::size_t>(index_prices.size()) != e.engine.instruments())
              throw py::value_error("index_prices: need one price per instrument");
            py::array_t<std::int64_t> out(static_cast<py::ssize_t>(e.engine.instruments()));
            for (std::size_t i = 0; i < e.engine.instruments(); ++i)
              out.mutable_data()[i] = e.engine.book_mark(i, ptr(index_prices)[i]);
            return out;
          },
          py::arg("index_prices"))
      .def(
          "apply_fills",
          [](PyMarginEngine& e, std::size_t instrument, const py::array& fills) {
            if (!fills.dtype().equal(py::dtype::of<Fill>()))
              throw py::type_error("fills: dtype must be deleverage.FILL_DTYPE");
            if (fills.ndim() != 1) throw py::value_error("fills: must be one-dimensional");
            auto c = py::array_t<Fill, py::array::c_style>::ensure(fills);
            std::lock_guard<std::mutex> lock(e.mutex);
            e.engine.apply_fills(instrument, c.data(), static_cast<std::size_t>(c.shape(0)));
          },
          py::arg("instrument"), py::arg("fills"))
      .def_property_readonly("outside_cash", [](PyMarginEngine& e) { return e.engine.outside().cash; })
      .def_property_readonly("outside_position", column<Flat>([](const MarginEngine& me) -> const auto& {
                               return me.outside().position;
                             }))
      .def(
          "check_path",
          [](PyMarginEngine& e, const I64& marks) {
            const std::size_t ni = e.engine.instruments();
            if (marks.ndim() != 2 || static_cast<std::size_t>(marks.shape(1)) != ni)
              throw py::value_error("marks: must have shape (steps, " + std::to_string(ni) + ")");
            const auto steps = static_cast<std::size_t>(marks.shape(0));
            const Price* data = ptr(marks);
            for (std::size_t k = 0; k < steps * ni; ++k)
              if (data[k] < 1 || data[k] > kMaxPrice)
                throw py::value_error("marks: must be in 1..2^62 ticks, got " + std::to_string(data[k]) +
                                      " at step " + std::to_string(k / ni));
            std::size_t added;
            {
              py::gil_scoped_release release;
              auto locks = e.lock_all();
              added = e.engine.check_path(data, steps);
            }
            const auto& log = e.engine.log();
            return copy_records(log.data() + (log.size() - added), added);
          },
          py::arg("marks"), "check() at every row of a (steps, instruments) mark path, without the GIL.")
      .def(
          "count_liquidatable",
          [](PyMarginEngine& e, const I64& marks) {
            if (static_cast<std::size_t>(marks.size()) != e.engine.instruments())
              throw py::value_error("marks: need one mark per instrument");
            py::gil_scoped_release release;
            return e.engine.count_liquidatable(ptr(marks));
          },
          py::arg("marks"), "Liquidatable accounts by a full scan of the table (no index).")
      .def(
          "set_rule",
          [](PyMarginEngine& e, std::size_t instrument, const py::dict& rule) {
            e.engine.set_rule(instrument, bindings::rule_from_dict(rule));
          },
          py::arg("instrument"), py::arg("rule"))
      .def(
          "apply_trade",
          [](PyMarginEngine& e, std::uint32_t account, std::size_t instrument, std::int64_t lots, double price,
             double fee) { e.engine.apply_trade(account, instrument, lots, price, fee); },
          py::arg("account"), py::arg("instrument"), py::arg("lots"), py::arg("price"), py::arg("fee") = 0.0)
      .def(
          "equity",
          [](PyMarginEngine& e, const I64& marks) {
            if (static_cast<std::size_t>(marks.size()) != e.engine.instruments())
              throw py::value_error("marks: need one mark per instrument");
            py::array_t<double> out(static_cast<py::ssize_t>(e.engine.accounts()));
            auto* o = out.mutable_data();
            for (std::uint32_t a = 0; a < e.engine.accounts(); ++a) o[a] = e.engine.equity(a, ptr(marks));
            return out;
          },
          py::arg("marks"))
      .def(
          "maintenance_margin",
          [](PyMarginEngine& e, const I64& marks) {
            if (static_cast<std::size_t>(marks.size()) != e.engine.instruments())
              throw py::value_error("marks: need one mark per instrument");
            py::array_t<double> out(static_cast<py::ssize_t>(e.engine.accounts()));
            auto* o = out.mutable_data();
            for (std::uint32_t a = 0; a < e.engine.accounts(); ++a)
              o[a] = e.engine.maintenance_margin(a, ptr(marks));
            return out;
          },
          py::arg("marks"))
      .def("liquidation_prices",
           [](PyMarginEngine& e) {
             py::array_t<double> out(static_cast<py::ssize_t>(e.engine.accounts()));
             auto* o = out.mutable_data();
             for (std::uint32_t a = 0; a < e.engine.accounts(); ++a) o[a] = e.engine.liquidation_price(a);
             return out;
           })
      .def("conserved", [](PyMarginEngine& e) { return e.engine.conserved(); })
      .def_property_readonly("log",
                             [](PyMarginEngine& e) {
                               const auto& log = e.engine.log();
                               return copy_records(log.data(), log.size());
                             })
      .def_property_readonly("cash", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().cash; }))
      .def_property_readonly("realized_pnl", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().realized_pnl; }))
      .def_property_readonly("fees_paid", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().fees_paid; }))
      .def_property_readonly("mode", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().mode; }))
      .def_property_readonly("status", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().status; }))
      .def_property_readonly("population", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().population; }))
      .def_property_readonly("instrument", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().instrument; }))
      .def_property_readonly("position", column<PerInstrument>([](const MarginEngine& me) -> const auto& { return me.table().position; }))
      .def_property_readonly("cost", column<PerInstrument>([](const MarginEngine& me) -> const auto& { return me.table().cost; }))
      .def_property_readonly("liquidation_trigger", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().links.trigger; }))
      .def_property_readonly("insurance_fund", [](PyMarginEngine& e) { return e.engine.fund().cash; })
      .def_property_readonly("fund_position", column<Flat>([](const MarginEngine& me) -> const auto& { return me.fund().position; }))
      .def_property_readonly("fund_cost", column<Flat>([](const MarginEngine& me) -> const auto& { return me.fund().cost; }))
      .def_property_readonly("fees_collected", [](PyMarginEngine& e) { return e.engine.fees_collected(); })
      .def_property_readonly("bad_debt", [](PyMarginEngine& e) { return e.engine.bad_debt(); })
      .def_property_readonly("accounts", [](PyMarginEngine& e) { return e.engine.accounts(); })
      .def_property_readonly("instruments", [](PyMarginEngine& e) { return e.engine.instruments(); })
      .def_property_readonly("checks", [](PyMarginEngine& e) { return e.engine.checks(); })
      .def_property_readonly("memory_bytes", [](PyMarginEngine& e) { return e.engine.memory_bytes(); })
      .def_property_readonly("close_order",
                             [](PyMarginEngine& e) {
                               return std::string(kCloseOrders[static_cast<std::size_t>(e.engine.settings().close_order)]);
                             })
      .def_property_readonly("liquidity", [](PyMarginEngine& e) { return e.engine.settings().liquidity; })
      .def_property_readonly("cross_thresholds", column<PerAccount>([](const MarginEngine& me) -> const auto& {
                               return me.cross_scan().thresholds();
                             }))
      .def_property_readonly("cross_stats", [](PyMarginEngine& e) {
        const auto& s = e.engine.cross_scan().stats();
        py::dict d;
        d["accounts"] = e.engine.cross_scan().size();
        d["calls"] = s.calls;
        d["visited"] = s.visited;
        d["candidates"] = s.candidates;
        d["rebases"] = s.rebases;
        d["rebase_revalued"] = s.rebase_revalued;
        return d;
      });
}
