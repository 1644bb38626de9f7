#include "pybind.hpp"

#include "deleverage/codes.hpp"
#include "deleverage/records.hpp"

using namespace deleverage;

void register_records(py::module_& m) {
  // Registered first: every other binding passes these records as numpy arrays.
  PYBIND11_NUMPY_DTYPE(Message, order_id, price, qty, owner, type, side);
  PYBIND11_NUMPY_DTYPE(MessageResult, order_id, filled, resting, cancelled, code);
  PYBIND11_NUMPY_DTYPE(Fill, taker_order, maker_order, price, qty, taker_owner, maker_owner, message, taker_side, kind);
  PYBIND11_NUMPY_DTYPE(DepthLevel, price, qty, orders);
  PYBIND11_NUMPY_DTYPE(OrderView, order_id, price, qty, owner, side);

  m.attr("MESSAGE_DTYPE") = py::dtype::of<Message>();
  m.attr("RESULT_DTYPE") = py::dtype::of<MessageResult>();
  m.attr("FILL_DTYPE") = py::dtype::of<Fill>();
  m.attr("DEPTH_DTYPE") = py::dtype::of<DepthLevel>();
  m.attr("ORDER_DTYPE") = py::dtype::of<OrderView>();
  m.attr("MAX_QTY") = kMaxQty;
  m.attr("MAX_PRICE") = kMaxPrice;
  m.attr("DEFAULT_MAX_LADDER_LEVELS") = kDefaultMaxLadderLevels;
  m.attr("MAX_LADDER_LEVELS_LIMIT") = kMaxLadderLevelsLimit;

  // The engine's own view of every code, so Python can check its enums agree.
  py::dict codes;
  codes["Side"] = py::dict(py::arg("BUY") = 0, py::arg("SELL") = 1);
  codes["MsgType"] = py::dict(py::arg("LIMIT") = int(MsgType::Limit), py::arg("MARKET") = int(MsgType::Market),
                              py::arg("IOC") = int(MsgType::Ioc), py::arg("FOK") = int(MsgType::Fok),
                              py::arg("CANCEL") = int(MsgType::Cancel), py::arg("REDUCE") = int(MsgType::Reduce),
                              py::arg("REPLACE") = int(MsgType::Replace));
  codes["Reject"] =
      py::dict(py::arg("NONE") = int(Reject::None), py::arg("BAD_TYPE") = int(Reject::BadType),
               py::arg("BAD_SIDE") = int(Reject::BadSide), py::arg("BAD_QUANTITY") = int(Reject::BadQuantity),
               py::arg("BAD_PRICE") = int(Reject::BadPrice), py::arg("PRICE_OFF_LADDER") = int(Reject::PriceOffLadder),
               py::arg("UNKNOWN_ORDER") = int(Reject::UnknownOrder));
  codes["StpMode"] =
      py::dict(py::arg("NONE") = int(StpMode::None), py::arg("CANCEL_RESTING") = int(StpMode::CancelResting),
               py::arg("CANCEL_INCOMING") = int(StpMode::CancelIncoming));
  codes["FillKind"] =
      py::dict(py::arg("TRADE") = int(FillKind::Trade), py::arg("STP_CANCEL") = int(FillKind::StpCancel));
  m.attr("CODES") = codes;
}
