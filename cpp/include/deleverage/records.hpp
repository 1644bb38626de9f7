// Plain records exchanged with Python as numpy structured arrays (see dtypes.py).
#pragma once

#include <cstddef>
#include <cstdint>

#include "deleverage/codes.hpp"

namespace deleverage {

// One instruction to a book. 32 bytes.
struct Message {
  OrderId order_id;  // target of cancel / reduce / replace
  Price price;
  Qty qty;
  AccountId owner;
  std::uint8_t type;  // MsgType
  std::uint8_t side;  // Side
  std::uint8_t pad_[2];
};
static_assert(sizeof(Message) == 32);
static_assert(offsetof(Message, owner) == 24 && offsetof(Message, type) == 28);

// The outcome of one message. 40 bytes.
struct MessageResult {
  OrderId order_id;
  Qty filled;
  Qty resting;
  Qty cancelled;
  std::uint8_t code;  // Reject
  std::uint8_t pad_[7];
};
static_assert(sizeof(MessageResult) == 40);

// One match (kind Trade) or one self-trade-prevention cancel (kind StpCancel). 48 bytes.
struct Fill {
  OrderId taker_order;
  OrderId maker_order;
  Price price;
  Qty qty;
  AccountId taker_owner;
  AccountId maker_owner;
  std::uint32_t message;  // index of the message in its batch
  std::uint8_t taker_side;
  std::uint8_t kind;  // FillKind
  std::uint8_t pad_[2];
};
static_assert(sizeof(Fill) == 48);
static_assert(offsetof(Fill, message) == 40 && offsetof(Fill, kind) == 45);

struct DepthLevel {
  Price price;
  Qty qty;
  std::int64_t orders;
};
static_assert(sizeof(DepthLevel) == 24);

// A resting order as seen from outside. 32 bytes.
struct OrderView {
  OrderId order_id;
  Price price;
  Qty qty;
  AccountId owner;
  std::uint8_t side;
  std::uint8_t pad_[3];
};
static_assert(sizeof(OrderView) == 32);

}  // namespace deleverage
