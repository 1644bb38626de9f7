#include "pybind.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "deleverage/margin_engine.hpp"
#include "margin_args.hpp"
#include "py_order_book.hpp"
#include "spec_class.hpp"

using namespace deleverage;
using deleverage::bindings::copy_records;
using deleverage::bindings::PyOrderBook;

namespace {

// The engine, its mutex and the books attached to it. Every method takes the
// mutex (bindings::locked); the calls that can liquidate through books take
// theirs as well. Column properties are zero-copy views of the account
// table: its columns move only when add_accounts grows them, which it refuses
// while a view is alive (live_views, counted under the mutex), so a view never
// dangles; its values are those of the moment it is read.
struct PyMarginEngine {
  MarginEngine engine;
  std::atomic<std::size_t> live_views{0};  // dropped by numpy with the GIL, not the mutex
  std::mutex mutex;
  std::vector<py::object> books;       // attached books, kept alive here (GIL)
  std::vector<PyOrderBook*> attached;  // the same books, for with_books (mutex)

  PyMarginEngine(std::vector<double> tick_values, std::vector<MarginRule> rules, EngineSettings settings)
      : engine(std::move(tick_values), std::move(rules), std::move(settings)),
        books(engine.instruments(), py::none()),
        attached(engine.instruments(), nullptr) {}

  static PyMarginEngine* from_python(const py::object& tick_values, const py::object& rules,
                                     const py::object& insurance_fund, const py::object& adl,
                                     const py::object& max_rounds, const py::object& max_liquidation_notional,
                                     const py::object& close_order, const py::object& liquidity,
                                     const py::object& fund_equity, const py::object& liquidation_capacity,
                                     const py::object& margin_ratio_order, const py::object& margin_call_checks,
                                     const py::object& close_out_ratio, const py::object& instrument_funds) {
    EngineSettings s;
    auto ticks = bindings::field_doubles(tick_values, "tick_values");
    if (ticks.empty() || ticks.size() > 65535)
      throw py::value_error("tick_values: need one per instrument, 1..65535 instruments, got " +
                            std::to_string(ticks.size()));
    auto margin = convert(rules);
    s.insurance_fund = bindings::field_double(insurance_fund, "insurance_fund");
    s.adl = bindings::field_bool(adl, "adl");
    s.max_rounds = static_cast<int>(bindings::field_int(max_rounds, "max_rounds", 1, 65535));
    s.max_liquidation_notional = bindings::field_double(max_liquidation_notional, "max_liquidation_notional");
    s.close_order = bindings::spec_value<CloseOrder>(close_order, "close_order");
    if (!liquidity.is_none()) s.liquidity = bindings::field_doubles(liquidity, "liquidity");
    s.fund_equity = bindings::field_bool(fund_equity, "fund_equity");
    if (!liquidation_capacity.is_none())
      s.liquidation_capacity = bindings::field_doubles(liquidation_capacity, "liquidation_capacity");
    s.margin_ratio_order = bindings::field_bool(margin_ratio_order, "margin_ratio_order");
    s.margin_call_checks =
        static_cast<std::uint32_t>(bindings::field_int(margin_call_checks, "margin_call_checks", 0, 4294967295LL));
    s.close_out_ratio = bindings::field_double(close_out_ratio, "close_out_ratio");
    if (!instrument_funds.is_none())
      s.instrument_funds =
          bindings::spec_value<std::vector<std::optional<double>>>(instrument_funds, "instrument_funds");
    return new PyMarginEngine(std::move(ticks), std::move(margin), std::move(s));
  }

  static std::vector<MarginRule> convert(const py::object& rules) {
    if (!py::isinstance<py::list>(rules) && !py::isinstance<py::tuple>(rules))
      throw py::type_error("rules: must be a list of MarginRuleSpec, got " + bindings::type_name(rules));
    std::vector<MarginRule> out;
    std::size_t k = 0;
    for (const auto& r : rules) out.push_back(bindings::rule_from(r, "rules[" + std::to_string(k++) + "]"));
    return out;
  }

  // Run f under the engine's mutex and those of the attached books, for the
  // calls that may trade in them; called with the GIL, runs f without it
  // (these calls are the long ones). Books are locked in address order, so
  // two engines sharing books cannot deadlock; a book attached twice is
  // locked once.
  template <class F>
  auto with_books(F&& f) -> decltype(f()) {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> engine_lock(mutex);
    std::vector<std::mutex*> order;
    for (PyOrderBook* b : attached)
      if (b != nullptr) order.push_back(&b->mutex);
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());
    std::vector<std::unique_lock<std::mutex>> held;
    held.reserve(order.size());
    for (std::mutex* m : order) held.emplace_back(*m);
    return f();
  }

  // Each view's base is a token that holds the engine alive and is counted.
  struct ViewToken {
    PyMarginEngine* engine;
    py::object owner;
  };

  // rows x cols values from data, row_bytes apart (the account rows are wider than their fields).
  template <class T>
  py::array_t<T> view(const py::object& self, const T* data, std::size_t rows, std::size_t cols, std::size_t row_bytes,
                      bool two_d) {
    // live_views was raised under the mutex by the caller; the token drops it.
    py::capsule keeper;
    try {
      auto token = std::make_unique<ViewToken>(ViewToken{this, self});
      keeper = py::capsule(token.get(), [](void* p) {
        auto* t = static_cast<ViewToken*>(p);
        --t->engine->live_views;
        delete t;
      });
      token.release();  // the capsule owns it now
    } catch (...) {
      --live_views;
      throw;
    }
    py::array_t<T> a;
    if (!two_d) {
      a = py::array_t<T>({static_cast<py::ssize_t>(rows)}, {static_cast<py::ssize_t>(row_bytes)}, data, keeper);
    } else {
      a = py::array_t<T>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)},
                         {static_cast<py::ssize_t>(row_bytes), static_cast<py::ssize_t>(sizeof(T))}, data, keeper);
    }
    py::detail::array_proxy(a.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
    return a;
  }
};

enum Shape { PerAccount, PerInstrument, Flat };

// Where a column's values are: the first, how many rows, and the bytes from one row to the next.
template <class T>
struct Layout {
  const T* data;
  std::size_t rows;
  std::size_t row_bytes;
};
template <class T, class Alloc>
Layout<T> layout_of(const std::vector<T, Alloc>& c, std::size_t cols, std::size_t /*accounts*/) {
  return {c.data(), c.size() / cols, cols * sizeof(T)};
}
template <class T>
Layout<T> layout_of(const RowField<T>& c, std::size_t /*cols*/, std::size_t accounts) {
  return {c.data(), accounts, c.stride() * sizeof(T)};
}
template <class T>
Layout<T> layout_of(const CellField<T>& c, std::size_t /*cols*/, std::size_t accounts) {
  return {c.data(), accounts, c.stride() * sizeof(T)};
}

// A property returning a zero-copy, read-only view of one engine column.
template <Shape shape, class Get>
auto column(Get get) {
  return [get](const py::object& self) {
    auto& e = self.cast<PyMarginEngine&>();
    using T = typename std::decay_t<decltype(get(e.engine))>::value_type;
    const std::size_t cols = shape == PerInstrument ? e.engine.instruments() : 1;
    // Address, size and the count under the mutex: add_accounts cannot move
    // the column between reading where it is and counting the view.
    const auto span = bindings::locked(e.mutex, [&] {
      const auto& c = get(e.engine);
      ++e.live_views;
      return layout_of(c, cols, e.engine.accounts());
    });
    return e.view<T>(self, span.data, span.rows, cols, span.row_bytes, shape == PerInstrument);
  };
}

template <class T>
const T* ptr(const py::array_t<T, py::array::c_style | py::array::forcecast>& a) {
  return a.data();
}

// The records a check appended, copied under the lock that covered the check.
std::vector<LiquidationRecord> appended(const MarginEngine& engine, std::size_t added) {
  const auto& log = engine.log();
  return {log.end() - static_cast<std::ptrdiff_t>(added), log.end()};
}

std::size_t instrument_of(const PyMarginEngine& e, const py::object& instrument) {
  const auto ni = static_cast<std::int64_t>(e.engine.instruments());  // fixed at construction
  return static_cast<std::size_t>(bindings::field_int(instrument, "instrument", 0, ni - 1));
}

template <class T>
auto one_per_instrument(const PyMarginEngine& e, const py::object& values, const char* field, const char* what) {
  auto a = bindings::field_array<T>(values, field);
  if (static_cast<std::size_t>(a.size()) != e.engine.instruments())
    throw py::value_error(std::string(field) + ": need one " + what + " per instrument (" +
                          std::to_string(e.engine.instruments()) + "), got " + std::to_string(a.size()));
  return a;
}

}  // namespace

void register_margin(py::module_& m) {
  PYBIND11_NUMPY_DTYPE(LiquidationRecord, check, round, kind, side, account, instrument, qty, price, mark, equity);
  m.attr("LIQUIDATION_DTYPE") = py::dtype::of<LiquidationRecord>();
  // The book owner (in trade logs) of the insurance fund working off its positions.
  m.attr("FUND_OWNER") = kFundOwner;

  using bindings::adopt;
  using bindings::field_array;
  using bindings::locked;
  using Accounts = std::vector<double>;  // one value per account

  py::class_<PyMarginEngine>(m, "MarginEngine", "Accounts marked to market and liquidated (docs/margin.md).")
      .def(py::init(&PyMarginEngine::from_python), py::arg("tick_values"), py::arg("rules"),
           py::arg("insurance_fund") = 0.0, py::arg("adl") = true, py::arg("max_rounds") = 64,
           py::arg("max_liquidation_notional") = std::numeric_limits<double>::infinity(),
           py::arg("close_order") = CloseOrder::Instrument, py::arg("liquidity") = py::none(),
           py::arg("fund_equity") = false, py::arg("liquidation_capacity") = py::none(),
           py::arg("margin_ratio_order") = false, py::arg("margin_call_checks") = 0, py::arg("close_out_ratio") = 0.0,
           py::arg("instrument_funds") = py::none())
      .def(
          "add_accounts",
          [](PyMarginEngine& e, const py::object& cash_in, const py::object& instrument_in,
             const py::object& position_in, const py::object& entry_price_in, const py::object& mode_in,
             const py::object& population_in) {
            const auto cash = field_array<double>(cash_in, "cash");
            const auto instrument = field_array<std::uint16_t>(instrument_in, "instrument");
            const auto position = field_array<Qty>(position_in, "position");
            const auto entry_price = field_array<double>(entry_price_in, "entry_price");
            const auto mode = field_array<std::uint8_t>(mode_in, "mode");
            const auto population = field_array<std::uint16_t>(population_in, "population");
            const auto n = static_cast<std::size_t>(cash.size());
            const std::size_t ni = e.engine.instruments();
            if (static_cast<std::size_t>(instrument.size()) != n || static_cast<std::size_t>(mode.size()) != n ||
                static_cast<std::size_t>(population.size()) != n)
              throw py::value_error("cash: instrument, mode and population must have one entry per account");
            if (static_cast<std::size_t>(position.size()) != n * ni ||
                static_cast<std::size_t>(entry_price.size()) != n * ni)
              throw py::value_error("position: position and entry_price must be (accounts, instruments)");
            locked(e.mutex, [&] {
              // Under the mutex: no view can be made between this test and the growth.
              const auto& t = e.engine.table();
              if (t.size() + n > t.capacity() && e.live_views.load() > 0)
                throw py::value_error(
                    "accounts: the table must grow, but numpy views of it are alive; drop them (del) and retry");
              e.engine.add_accounts(n, ptr(cash), ptr(instrument), ptr(position), ptr(entry_price), ptr(mode),
                                    ptr(population));
            });
          },
          py::arg("cash"), py::arg("instrument"), py::arg("position"), py::arg("entry_price"), py::arg("mode"),
          py::arg("population"))
      .def(
          "check",
          [](PyMarginEngine& e, const py::object& marks_in) {
            const auto marks = one_per_instrument<Price>(e, marks_in, "marks", "mark");
            return adopt(e.with_books([&] { return appended(e.engine, e.engine.check(ptr(marks))); }));
          },
          py::arg("marks"), "Mark every instrument, liquidate until calm; returns this check's records.")
      .def(
          "attach_book",
          [](PyMarginEngine& e, const py::object& instrument_in, const py::object& book, const py::object& mark_in) {
            const std::size_t instrument = instrument_of(e, instrument_in);
            const auto rule = bindings::spec_value<MarkRule>(mark_in, "mark");
            PyOrderBook* b = nullptr;
            if (!book.is_none()) {
              if (!py::isinstance<PyOrderBook>(book))
                throw py::type_error("book: must be a deleverage.OrderBook or None, got " + bindings::type_name(book));
              b = &book.cast<PyOrderBook&>();
            }
            // The reference moves in and out under the mutex (no refcount change
            // there); the old book is released after it, with the GIL.
            py::object held = book;
            locked(e.mutex, [&] {
              e.engine.attach_book(instrument, b == nullptr ? nullptr : &b->book, rule);
              e.attached[instrument] = b;
              std::swap(e.books[instrument], held);
            });
          },
          py::arg("instrument"), py::arg("book"), py::arg("mark") = MarkRule::Last)
      .def(
          "check_books",
          [](PyMarginEngine& e, const py::object& index_in) {
            const auto index_prices = one_per_instrument<Price>(e, index_in, "index_prices", "price");
            return adopt(e.with_books([&] { return appended(e.engine, e.engine.check_books(ptr(index_prices))); }));
          },
          py::arg("index_prices"), "check() with each round's marks taken from the attached books.")
      .def(
          "book_marks",
          [](PyMarginEngine& e, const py::object& index_in) {
            const auto index_prices = one_per_instrument<Price>(e, index_in, "index_prices", "price");
            auto out = e.with_books([&] {
              std::vector<Price> marks(e.engine.instruments());
              for (std::size_t i = 0; i < marks.size(); ++i) marks[i] = e.engine.book_mark(i, ptr(index_prices)[i]);
              return marks;
            });
            return adopt(std::move(out));
          },
          py::arg("index_prices"))
      .def(
          "apply_fills",
          [](PyMarginEngine& e, const py::object& instrument_in, const py::object& fills_in) {
            const std::size_t instrument = instrument_of(e, instrument_in);
            if (!py::isinstance<py::array>(fills_in))
              throw py::type_error("fills: dtype must be deleverage.FILL_DTYPE, got " + bindings::type_name(fills_in));
            const auto fills = py::reinterpret_borrow<py::array>(fills_in);
            if (!fills.dtype().equal(py::dtype::of<Fill>()))
              throw py::type_error("fills: dtype must be deleverage.FILL_DTYPE");
            if (fills.ndim() != 1) throw py::value_error("fills: must be one-dimensional");
            auto c = py::array_t<Fill, py::array::c_style>::ensure(fills);
            locked(e.mutex, [&] { e.engine.apply_fills(instrument, c.data(), static_cast<std::size_t>(c.shape(0))); });
          },
          py::arg("instrument"), py::arg("fills"))
      .def_property_readonly("outside_cash",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.outside().cash; }); })
      .def_property_readonly("outside_position",
                             column<Flat>([](const MarginEngine& me) -> const auto& { return me.outside().position; }))
      .def(
          "check_path",
          [](PyMarginEngine& e, const py::object& marks_in) {
            const std::size_t ni = e.engine.instruments();
            const auto marks = field_array<Price>(marks_in, "marks");
            if (marks.ndim() != 2 || static_cast<std::size_t>(marks.shape(1)) != ni)
              throw py::value_error("marks: must have shape (steps, " + std::to_string(ni) + ")");
            const auto steps = static_cast<std::size_t>(marks.shape(0));
            const Price* data = ptr(marks);
            for (std::size_t k = 0; k < steps * ni; ++k)
              if (data[k] < 1 || data[k] > kMaxPrice)
                throw py::value_error("marks: must be in 1..2^62 ticks, got " + std::to_string(data[k]) + " at step " +
                                      std::to_string(k / ni));
            return adopt(e.with_books([&] { return appended(e.engine, e.engine.check_path(data, steps)); }));
          },
          py::arg("marks"), "check() at every row of a (steps, instruments) mark path, without the GIL.")
      .def(
          "count_liquidatable",
          [](PyMarginEngine& e, const py::object& marks_in) {
            const auto marks = one_per_instrument<Price>(e, marks_in, "marks", "mark");
            py::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(e.mutex);
            return e.engine.count_liquidatable(ptr(marks));
          },
          py::arg("marks"), "Liquidatable accounts by a full scan of the table (no index).")
      .def(
          "set_rule",
          [](PyMarginEngine& e, const py::object& instrument_in, const py::object& rule_in) {
            const std::size_t instrument = instrument_of(e, instrument_in);
            MarginRule rule = bindings::rule_from(rule_in, "rule");
            locked(e.mutex, [&] { e.engine.set_rule(instrument, std::move(rule)); });
          },
          py::arg("instrument"), py::arg("rule"))
      .def(
          "apply_trade",
          [](PyMarginEngine& e, const py::object& account_in, const py::object& instrument_in,
             const py::object& lots_in, const py::object& price_in, const py::object& fee_in) {
            const auto account =
                static_cast<std::uint32_t>(bindings::field_int(account_in, "account", 0, 0xFFFFFFFFLL));
            const std::size_t instrument = instrument_of(e, instrument_in);
            const Qty lots =
                bindings::field_int_in(lots_in, "lots", -kMaxQty, kMaxQty, "must be non-zero and within +-2^40");
            const double price = bindings::field_double(price_in, "price");
            const double fee = bindings::field_double(fee_in, "fee");
            locked(e.mutex, [&] { e.engine.apply_trade(account, instrument, lots, price, fee); });
          },
          py::arg("account"), py::arg("instrument"), py::arg("lots"), py::arg("price"), py::arg("fee") = 0.0)
      .def(
          "equity",
          [](PyMarginEngine& e, const py::object& marks_in) {
            const auto marks = one_per_instrument<Price>(e, marks_in, "marks", "mark");
            return adopt(locked(e.mutex, [&] {
              Accounts out(e.engine.accounts());
              for (std::uint32_t a = 0; a < out.size(); ++a) out[a] = e.engine.equity(a, ptr(marks));
              return out;
            }));
          },
          py::arg("marks"))
      .def(
          "maintenance_margin",
          [](PyMarginEngine& e, const py::object& marks_in) {
            const auto marks = one_per_instrument<Price>(e, marks_in, "marks", "mark");
            return adopt(locked(e.mutex, [&] {
              Accounts out(e.engine.accounts());
              for (std::uint32_t a = 0; a < out.size(); ++a) out[a] = e.engine.maintenance_margin(a, ptr(marks));
              return out;
            }));
          },
          py::arg("marks"))
      .def("liquidation_prices",
           [](PyMarginEngine& e) {
             return adopt(locked(e.mutex, [&] {
               Accounts out(e.engine.accounts());
               for (std::uint32_t a = 0; a < out.size(); ++a) out[a] = e.engine.liquidation_price(a);
               return out;
             }));
           })
      .def("conserved", [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.conserved(); }); })
      // The log grows (and moves) with every check: a copy, made under the lock.
      .def_property_readonly("log",
                             [](PyMarginEngine& e) {
                               return adopt(locked(e.mutex, [&] { return appended(e.engine, e.engine.log().size()); }));
                             })
      .def_property_readonly("cash",
                             column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().cash; }))
      .def_property_readonly("realized_pnl", column<PerAccount>([](const MarginEngine& me) -> const auto& {
                               return me.table().realized_pnl;
                             }))
      .def_property_readonly(
          "fees_paid", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().fees_paid; }))
      .def_property_readonly("mode",
                             column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().mode; }))
      .def_property_readonly(
          "status", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().status; }))
      .def_property_readonly(
          "population", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().population; }))
      .def_property_readonly(
          "instrument", column<PerAccount>([](const MarginEngine& me) -> const auto& { return me.table().instrument; }))
      .def_property_readonly(
          "position", column<PerInstrument>([](const MarginEngine& me) -> const auto& { return me.table().position; }))
      .def_property_readonly(
          "cost", column<PerInstrument>([](const MarginEngine& me) -> const auto& { return me.table().cost; }))
      // The trigger column also keeps the cross scan's thresholds: copies, each showing its own.
      .def_property_readonly("liquidation_trigger",
                             [](PyMarginEngine& e) {
                               return adopt(locked(e.mutex, [&] {
                                 const AccountTable& t = e.engine.table();
                                 Accounts out(t.size());
                                 for (std::size_t a = 0; a < out.size(); ++a)
                                   out[a] = t.membership[a] == kScanned
                                                ? std::numeric_limits<double>::quiet_NaN()
                                                : t.links.trigger(static_cast<std::uint32_t>(a));
                                 return out;
                               }));
                             })
      .def_property_readonly("insurance_fund",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.fund().cash; }); })
      .def_property_readonly("fund_cash",
                             [](PyMarginEngine& e) {
                               return locked(e.mutex, [&] {
                                 std::vector<double> out(e.engine.instruments());
                                 for (std::size_t i = 0; i < out.size(); ++i) out[i] = e.engine.fund_cash(i);
                                 return out;
                               });
                             })
      .def_property_readonly("fund_position",
                             column<Flat>([](const MarginEngine& me) -> const auto& { return me.fund().position; }))
      .def_property_readonly("fund_cost",
                             column<Flat>([](const MarginEngine& me) -> const auto& { return me.fund().cost; }))
      .def_property_readonly(
          "fees_collected",
          [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.fees_collected(); }); })
      .def_property_readonly("bad_debt",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.bad_debt(); }); })
      .def_property_readonly("bad_debt_by_instrument", column<Flat>([](const MarginEngine& me) -> const auto& {
                               return me.bad_debt_by_instrument();
                             }))
      .def_property_readonly(
          "bankrupt_accounts",
          [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.bankrupt_accounts(); }); })
      .def_property_readonly("money_moved",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.money_moved(); }); })
      .def_property_readonly("accounts",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.accounts(); }); })
      .def_property_readonly("instruments",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.instruments(); }); })
      .def_property_readonly("checks",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.checks(); }); })
      .def_property_readonly("memory_bytes",
                             [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.memory_bytes(); }); })
      .def_property_readonly(
          "close_order",
          [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.settings().close_order; }); })
      .def_property_readonly(
          "liquidity", [](PyMarginEngine& e) { return locked(e.mutex, [&] { return e.engine.settings().liquidity; }); })
      .def_property_readonly("cross_thresholds",
                             [](PyMarginEngine& e) {
                               return adopt(locked(e.mutex, [&] {
                                 const AccountTable& t = e.engine.table();
                                 std::vector<float> out(t.size(), std::numeric_limits<float>::quiet_NaN());
                                 for (std::uint32_t a = 0; a < out.size(); ++a)
                                   if (t.membership[a] == kScanned)
                                     out[a] = static_cast<float>(CrossMarginScan::threshold(t.links, a));
                                 return out;
                               }));
                             })
      .def_property_readonly("cross_stats", [](PyMarginEngine& e) {
        const auto [accounts, s] = locked(
            e.mutex, [&] { return std::make_pair(e.engine.cross_scan().size(), e.engine.cross_scan().stats()); });
        py::dict d;
        d["accounts"] = accounts;
        d["calls"] = s.calls;
        d["visited"] = s.visited;
        d["candidates"] = s.candidates;
        d["rebases"] = s.rebases;
        d["rebase_revalued"] = s.rebase_revalued;
        return d;
      });
}
