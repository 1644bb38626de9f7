#include "pybind.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "deleverage/order_book.hpp"
#include "py_order_book.hpp"

using namespace deleverage;
using deleverage::bindings::copy_records;
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

AccountId checked_owner(std::int64_t owner) {
  if (owner < 0 || owner > 0xFFFFFFFFLL)
    throw py::value_error("owner: must be in 0..4294967295, got " + std::to_string(owner));
  return static_cast<AccountId>(owner);
}

Side checked_side(std::int64_t side) {
  if (side != 0 && side != 1) throw py::value_error("side: must be 0 (BUY) or 1 (SELL), got " + std::to_string(side));
  return static_cast<Side>(side);
}

Execution run_one(PyOrderBook& b, MsgType type, std::int64_t side, Price price, Qty qty, std::int64_t owner,
                  OrderId order_id) {
  Message m{order_id, price, qty, checked_owner(owner), static_cast<std::uint8_t>(type),
            static_cast<std::uint8_t>(checked_side(side)), {}};
  std::lock_guard<std::mutex> lock(b.mutex);
  b.fills.clear();
  const MessageResult r = b.book.apply(m, 0, b.fills);
  if (r.code != 0) raise_reject(b, m, static_cast<Reject>(r.code));
  return Execution{r.order_id, r.filled, r.resting, r.cancelled, copy_records(b.fills.data(), b.fills.size())};
}

py::tuple execute_batch(PyOrderBook& b, const py::array& messages, const py::object& results_out) {
  if (!messages.dtype().equal(py::dtype::of<Message>()))
    throw py::type_error("messages: dtype must be deleverage.MESSAGE_DTYPE, got " +
                         py::str(messages.dtype()).cast<std::string>());
  if (messages.ndim() != 1)
    throw py::value_error("messages: must be one-dimensional, got " + std::to_string(messages.ndim()) +
                          " dimensions");
  if (messages.shape(0) >= (py::ssize_t{1} << 32))
    throw py::value_error("messages: at most 2^32-1 messages per batch");
  // A strided view (a slice with a step) is copied once into contiguous memory.
  auto contiguous = py::array_t<Message, py::array::c_style>::ensure(messages);
  if (!contiguous) throw py::type_error("messages: could not be read as contiguous MESSAGE_DTYPE records");
  const auto n = static_cast<std::size_t>(contiguous.shape(0));
  // Results go to a caller's buffer when given (reused across batches), else a new array.
  py::array_t<MessageResult> results;
  if (results_out.is_none()) {
    results = py::array_t<MessageResult>(static_cast<py::ssize_t>(n));
  } else {
    const auto given = results_out.cast<py::array>();
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

  py::class_<PyOrderBook>(m, "OrderBook", "Price-time priority limit order book for one instrument.")
      .def(py::init<int, std::int64_t, bool>(), py::arg("stp") = 0,
           py::arg("max_ladder_levels") = kDefaultMaxLadderLevels, py::arg("track_owners") = false)
      .def("execute", &execute_batch, py::arg("messages"), py::arg("results") = py::none(),
           "Apply a batch of MESSAGE_DTYPE records; returns (results, fills). Runs without the GIL.\n"
           "`results`: an optional RESULT_DTYPE array to write into (its first len(messages) entries).")
      .def(
          "limit",
          [](PyOrderBook& b, std::int64_t side, Price price, Qty qty, std::int64_t owner) {
            return run_one(b, MsgType::Limit, side, price, qty, owner, 0);
          },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "market",
          [](PyOrderBook& b, std::int64_t side, Qty qty, std::int64_t owner) {
            return run_one(b, MsgType::Market, side, 0, qty, owner, 0);
          },
          py::arg("side"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "ioc",
          [](PyOrderBook& b, std::int64_t side, Price price, Qty qty, std::int64_t owner) {
            return run_one(b, MsgType::Ioc, side, price, qty, owner, 0);
          },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "fok",
          [](PyOrderBook& b, std::int64_t side, Price price, Qty qty, std::int64_t owner) {
            return run_one(b, MsgType::Fok, side, price, qty, owner, 0);
          },
          py::arg("side"), py::arg("price"), py::arg("qty"), py::arg("owner") = 0)
      .def(
          "cancel", [](PyOrderBook& b, OrderId id) { return run_one(b, MsgType::Cancel, 0, 0, 0, 0, id); },
          py::arg("order_id"))
      .def(
          "reduce",
          [](PyOrderBook& b, OrderId id, Qty qty) { return run_one(b, MsgType::Reduce, 0, 0, qty, 0, id); },
          py::arg("order_id"), py::arg("qty"))
      .def(
          "replace",
          [](PyOrderBook& b, OrderId id, Price price, Qty qty) {
            return run_one(b, MsgType::Replace, 0, price, qty, 0, id);
          },
          py::arg("order_id"), py::arg("price"), py::arg("qty"))
      .def(
          "cancel_owner",
          [](PyOrderBook& b, std::int64_t owner) {
            if (!b.book.tracks_owners())
              throw py::value_error("owner: cancel_owner needs a book made with track_owners=True");
            std::lock_guard<std::mutex> lock(b.mutex);
            return b.book.cancel_owner(checked_owner(owner));
          },
          py::arg("owner"), "Cancel every resting order of `owner`; returns the lots cancelled.")
      .def_property_readonly("last_price", [](const PyOrderBook& b) { return optional_price(b.book.last_price()); })
      .def_property_readonly("tracks_owners", [](const PyOrderBook& b) { return b.book.tracks_owners(); })
      .def_property_readonly("best_bid", [](const PyOrderBook& b) { return optional_price(b.book.best_bid()); })
      .def_property_readonly("best_ask", [](const PyOrderBook& b) { return optional_price(b.book.best_ask()); })
      .def_property_readonly("spread",
                             [](const PyOrderBook& b) -> py::object {
                               const auto bid = b.book.best_bid();
                               const auto ask = b.book.best_ask();
                               if (!bid || !ask) return py::none();
                               return py::int_(*ask - *bid);
                             })
      .def(
          "depth",
          [](const PyOrderBook& b, std::int64_t levels) {
            if (levels < 0) throw py::value_error("levels: must be >= 0, got " + std::to_string(levels));
            const auto n = static_cast<std::size_t>(levels);
            auto bids = b.book.depth(Side::Buy, n);
            auto asks = b.book.depth(Side::Sell, n);
            return py::make_tuple(copy_records(bids.data(), bids.size()), copy_records(asks.data(), asks.size()));
          },
          py::arg("levels"), "Up to `levels` price levels per side, best first: (bids, asks) of DEPTH_DTYPE.")
      .def(
          "quantity_to",
          [](const PyOrderBook& b, std::int64_t side, Price price) {
            return b.book.quantity_to(checked_side(side), price);
          },
          py::arg("side"), py::arg("price"),
          "Lots a taker of `side` could trade at prices up to (buy) or down to (sell) `price`.")
      .def(
          "order", [](const PyOrderBook& b, OrderId id) { return b.book.order(id); }, py::arg("order_id"),
          "The resting order with this id, or None.")
      .def(
          "snapshot",
          [](const PyOrderBook& b) {
            auto all = b.book.snapshot();
            return copy_records(all.data(), all.size());
          },
          "Every resting order in priority order (bids best first, then asks), as ORDER_DTYPE records.")
      .def_property_readonly("resting_orders", [](const PyOrderBook& b) { return b.book.resting_orders(); })
      .def_property_readonly("memory_bytes", [](const PyOrderBook& b) { return b.book.memory_bytes(); })
      .def_property_readonly("stp", [](const PyOrderBook& b) { return static_cast<int>(b.book.stp()); })
      .def_property_readonly("max_ladder_levels", [](const PyOrderBook& b) { return b.book.max_ladder_levels(); })
      .def("__len__", [](const PyOrderBook& b) { return b.book.resting_orders(); });
}
