#include "pybind.hpp"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "deleverage/order_book.hpp"
#include "py_order_book.hpp"

using namespace deleverage;
using deleverage::bindings::copy_records;
using deleverage::bindings::locked;
using deleverage::bindings::PyOrderBook;

namespace {

struct Execution {
  OrderId order_id;
  Qty filled;
  Qty resting;
  Qty cancelled;
  py::array_t<Fill> fills;
};

[[noreturn]] void raise_reject(const PyOrderBook& b, const Message& m, Reject why) {
  switch (why) {
    case Reject::BadSide:
      throw py::value_error("side: must be 0 (BUY) or 1 (SELL), got " + std::to_string(m.side));
    case Reject::BadQuantity:
      throw py::value_error("qty: must be in 1.." + std::to_string(kMaxQty) + " lots, got " + std::to_string(m.qty));
    case Reject::BadPrice:
      throw py::value_error("price: must be in 1.." + std::to_string(kMaxPrice) + " ticks, got " +
                            std::to_string(m.price));
    case Reject::PriceOffLadder:
      throw py::value_error("price: " + std::to_string(m.price) +
                            " would make resting prices span more than max_ladder_levels=" +
                            std::to_string(b.book.max_ladder_levels()) + " ticks");
    case Reject::UnknownOrder:
      throw py::value_error("order_id: no resting order has id " + std::to_string(m.order_id));
    case Reject::BadType:
    case Reject::None:
      break;
  }
  throw py::value_error("type: must be 0..6 (MsgType), got " + std::to_string(m.type));
}

AccountId checked_owner(py::handle owner) {
  return static_cast<AccountId>(bindings::field_int(owner, "owner", 0, 0xFFFFFFFFLL));
}

Side checked_side(py::handle side) {
  return static_cast<Side>(bindings::field_int_in(side, "side", 0, 1, "must be 0 (BUY) or 1 (SELL)"));
}

// The single-message API's fields, converted before the book is locked; the
// book itself rejects values out of its ranges (with the same messages).
Price checked_price(py::handle price) { return bindings::field_int(price, "price", 1, kMaxPrice, "ticks"); }
Qty checked_qty(py::handle qty) { return bindings::field_int(qty, "qty", 1, kMaxQty, "lots"); }
OrderId checked_id(py::handle id) { return bindings::field_uint64(id, "order_id"); }

Execution run_one(PyOrderBook& b, MsgType type, Side side, Price price, Qty qty, AccountId owner, OrderId order_id) {
  const Message m{order_id, price, qty, owner, static_cast<std::uint8_t>(type), static_cast<std::uint8_t>(side), {}};
  std::vector<Fill> fills;
  const MessageResult r = locked(b.mutex, [&] {
    b.fills.clear();
    const MessageResult out = b.book.apply(m, 0, b.fills);
    fills.assign(b.fills.begin(), b.fills.end());
    return out;
  });
  if (r.code != 0) raise_reject(b, m, static_cast<Reject>(r.code));
  return Execution{r.order_id, r.filled, r.resting, r.cancelled, bindings::adopt(std::move(fills))};
}

// A new order's fields in the order the book checks them (owner, side, qty,
// price), so a message with several bad fields names the same one either way.
Execution run_new(PyOrderBook& b, MsgType type, const py::object& side, const py::object* price, const py::object& qty,
                  const py::object& owner) {
  const AccountId who = checked_owner(owner);
  const Side s = checked_side(side);
  const Qty q = checked_qty(qty);
  const Price p = price == nullptr ? 0 : checked_price(*price);
  return run_one(b, type, s, p, q, who, 0);
}

py::tuple execute_batch(PyOrderBook& b, const py::object& batch, const py::object& results_out) {
  if (!py::isinstance<py::array>(batch))
    throw py::type_error("messages: must be a numpy array of deleverage.MESSAGE_DTYPE, got " +
                         bindings::type_name(batch));
  const auto messages = py::reinterpret_borrow<py::array>(batch);
  if (!messages.dtype().equal(py::dtype::of<Message>()))
    throw py::type_error("messages: dtype must be deleverage.MESSAGE_DTYPE, got " +
                         py::str(messages.dtype()).cast<std::string>());
  if (messages.ndim() != 1)
    throw py::value_error("messages: must be one-dimensional, got " + std::to_string(messages.ndim()) + " dimensions");
  if (messages.shape(0) >= (py::ssize_t{1} << 32)) throw py::value_error("messages: at most 2^32-1 messages per batch");
  // A strided view (a slice with a step) is copied once into contiguous memory.
  auto contiguous = py::array_t<Message, py::array::c_style>::ensure(messages);
  if (!contiguous) throw py::type_error("messages: could not be read as contiguous MESSAGE_DTYPE records");
  const auto n = static_cast<std::size_t>(contiguous.shape(0));
  // Results go to a caller's buffer when given (reused across batches), else a new array.
  py::array_t<MessageResult> results;
  if (results_out.is_none()) {
    results = py::array_t<MessageResult>(static_cast<py::ssize_t>(n));
  } else {
    if (!py::isinstance<py::array>(results_out))
      throw py::type_error("results: must be a writeable, contiguous 1-d array of deleverage.RESULT_DTYPE, got " +
                           bindings::type_name(results_out));
    const auto given = py::reinterpret_borrow<py::array>(results_out);
    if (!given.dtype().equal(py::dtype::of<MessageResult>()) || given.ndim() != 1 ||
        !(given.flags() & py::array::c_style) || !given.writeable())
      throw py::type_error("results: must be a writeable, contiguous 1-d array of deleverage.RESULT_DTYPE");
    if (static_cast<std::size_t>(given.shape(0)) < n)
      throw py::value_error("results: has room for " + std::to_string(given.shape(0)) + " results, the batch has " +
                            std::to_string(n) + " messages");
    results = py::array_t<MessageResult>::ensure(given);
  }
  const Message* in = contiguous.data();
  MessageResult* out = results.mutable_data();
  std::vector<Fill> fills;
  {
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(b.mutex);
    b.fills.clear();
    b.book.execute(in, n, out, b.fills);
    // Hand the fills to numpy as they are; the book keeps a buffer of the same size.
    fills.swap(b.fills);
    b.fills.reserve(fills.capacity());
  }
  py::object returned = results;
  if (!results_out.is_none()) returned = results[py::slice(0, static_cast<py::ssize_t>(n), 1)];
  return py::make_tuple(returned, deleverage::bindings::adopt(std::move(fills)));
}

py::object optional_price(std::optional<Price> p) { return p ? py::object(py::int_(*p)) : py::none(); }

}  // namespace

void register_order_book(py::module_& m) {
  py::class_<Execution>(m, "Execution", "The outcome of one message sent through the single-message API.")
      .def_readonly("order_id", &Execution::order_id)
      .def_readonly("filled", &Execution::filled)
      .def_readonly("resting", &Execution::resting)
      .def_readonly("cancelled", &Execution::cancelled)
      .def_readonly("fills", &Execution::fills)
      .def("__repr__", [](const Execution& e) {
        return "Execution(order_id=" + std::to_string(e.order_id) + ", filled=" + std::to_string(e.filled) +
               ", resting=" + std::to_string(e.resting) + ", cancelled=" + std::to_string(e.cancelled) +
               ", fills=" + std::to_string(e.fills.size()) + ")";
      });

  py::class_<OrderView>(m, "OrderView", "A resting order.")
      .def_readonly("order_id", &OrderView::order_id)
      .def_readonly("price", &OrderView::price)
      .def_readonly("qty", &OrderView::qty)
      .def_readonly("owner", &OrderView::owner)
      .def_readonly("side", &OrderView::side)
      .def("__repr__", [](const OrderView& o) {
        return "OrderView(order_id=" + std::to_string(o.order_id) + ", price=" + std::to_string(o.price) +
               ", qty=" + std::to_string(o.qty) + ", owner=" + std::to_string(o.owner) +
               ", side=" + std::to_string(o.side) + ")";
      });

  // Every method takes the book's mutex (see locked()); results are copied
  // out under it, so no numpy array ever points into the book.
  py::class_<PyOrderBook>(m, "OrderBook", "Price-time priority limit order book for one instrument.")
      .def(py::init(&PyOrderBook::from_python), py::arg("stp") = 0,
           py::arg("max_ladder_levels") = kDefaultMaxLadderLevels, py::arg("track_owners") = false)
      .def("execute", &execute_batch, py::arg("messages"), py::arg("results") = py::none(),
           "Apply a batch of MESSAGE_DTYPE records; returns (results, fills). Runs without the GIL.\n"
           "`results`: an optional RESULT_DTYPE array to write into (its first len(messages) entries).")
      .def(
          "limit",
          [](PyOrderBook& b, const py::object& side, const py::object& price, const py::object& qty,
             const py::object& owner) { return run_new(b, MsgType::Limit, side, &price, qty, owner); },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "market",
          [](PyOrderBook& b, const py::object& side, const py::object& qty, const py::object& owner) {
            return run_new(b, MsgType::Market, side, nullptr, qty, owner);
          },
          py::arg("side"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "ioc",
          [](PyOrderBook& b, const py::object& side, const py::object& price, const py::object& qty,
             const py::object& owner) { return run_new(b, MsgType::Ioc, side, &price, qty, owner); },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "fok",
          [](PyOrderBook& b, const py::object& side, const py::object& price, const py::object& qty,
             const py::object& owner) { return run_new(b, MsgType::Fok, side, &price, qty, owner); },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "cancel",
          [](PyOrderBook& b, const py::object& id) {
            return run_one(b, MsgType::Cancel, Side::Buy, 0, 0, 0, checked_id(id));
          },
          py::arg("order_id"))
      .def(
          "reduce",
          [](PyOrderBook& b, const py::object& id, const py::object& qty) {
            const OrderId oid = checked_id(id);
            return run_one(b, MsgType::Reduce, Side::Buy, 0, checked_qty(qty), 0, oid);
          },
          py::arg("order_id"), py::arg("qty"))
      .def(
          "replace",
          [](PyOrderBook& b, const py::object& id, const py::object& price, const py::object& qty) {
            const OrderId oid = checked_id(id);
            const Qty q = checked_qty(qty);  // then price: the book's order
            return run_one(b, MsgType::Replace, Side::Buy, checked_price(price), q, 0, oid);
          },
          py::arg("order_id"), py::arg("price"), py::arg("qty"))
      .def(
          "cancel_owner",
          [](PyOrderBook& b, const py::object& owner) {
            const AccountId who = checked_owner(owner);
            if (!b.book.tracks_owners())  // fixed at construction
              throw py::value_error("owner: cancel_owner needs a book made with track_owners=True");
            return locked(b.mutex, [&] { return b.book.cancel_owner(who); });
          },
          py::arg("owner"), "Cancel every resting order of `owner`; returns the lots cancelled.")
      .def_property_readonly(
          "last_price",
          [](PyOrderBook& b) { return optional_price(locked(b.mutex, [&] { return b.book.last_price(); })); })
      .def_property_readonly("tracks_owners",
                             [](PyOrderBook& b) { return locked(b.mutex, [&] { return b.book.tracks_owners(); }); })
      .def_property_readonly(
          "best_bid", [](PyOrderBook& b) { return optional_price(locked(b.mutex, [&] { return b.book.best_bid(); })); })
      .def_property_readonly(
          "best_ask", [](PyOrderBook& b) { return optional_price(locked(b.mutex, [&] { return b.book.best_ask(); })); })
      .def_property_readonly("spread",
                             [](PyOrderBook& b) -> py::object {
                               // Both sides under one lock: a spread of one book state.
                               const auto quotes = locked(
                                   b.mutex, [&] { return std::make_pair(b.book.best_bid(), b.book.best_ask()); });
                               if (!quotes.first || !quotes.second) return py::none();
                               return py::int_(*quotes.second - *quotes.first);
                             })
      .def(
          "depth",
          [](PyOrderBook& b, const py::object& levels) {
            const auto n = static_cast<std::size_t>(bindings::field_int(levels, "levels", 0, INT64_MAX));
            auto sides = locked(
                b.mutex, [&] { return std::make_pair(b.book.depth(Side::Buy, n), b.book.depth(Side::Sell, n)); });
            return py::make_tuple(bindings::adopt(std::move(sides.first)), bindings::adopt(std::move(sides.second)));
          },
          py::arg("levels"), "Up to `levels` price levels per side, best first: (bids, asks) of DEPTH_DTYPE.")
      .def(
          "quantity_to",
          [](PyOrderBook& b, const py::object& side, const py::object& price) {
            const Side s = checked_side(side);
            const Price p = bindings::field_int(price, "price");
            return locked(b.mutex, [&] { return b.book.quantity_to(s, p); });
          },
          py::arg("side"), py::arg("price"),
          "Lots a taker of `side` could trade at prices up to (buy) or down to (sell) `price`.")
      .def(
          "order",
          [](PyOrderBook& b, const py::object& id) {
            const OrderId oid = checked_id(id);
            return locked(b.mutex, [&] { return b.book.order(oid); });
          },
          py::arg("order_id"), "The resting order with this id, or None.")
      .def(
          "snapshot",
          [](PyOrderBook& b) { return bindings::adopt(locked(b.mutex, [&] { return b.book.snapshot(); })); },
          "Every resting order in priority order (bids best first, then asks), as ORDER_DTYPE records.")
      .def_property_readonly("resting_orders",
                             [](PyOrderBook& b) { return locked(b.mutex, [&] { return b.book.resting_orders(); }); })
      .def_property_readonly("memory_bytes",
                             [](PyOrderBook& b) { return locked(b.mutex, [&] { return b.book.memory_bytes(); }); })
      .def_property_readonly(
          "stp", [](PyOrderBook& b) { return locked(b.mutex, [&] { return static_cast<int>(b.book.stp()); }); })
      .def_property_readonly("max_ladder_levels",
                             [](PyOrderBook& b) { return locked(b.mutex, [&] { return b.book.max_ladder_levels(); }); })
      .def("__len__", [](PyOrderBook& b) { return locked(b.mutex, [&] { return b.book.resting_orders(); }); });
}
