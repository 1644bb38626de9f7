// Integer codes shared with Python (python/deleverage/codes.py holds the same values).
#pragma once

#include <cstdint>

namespace deleverage {

using Price = std::int64_t;  // integer ticks
using Qty = std::int64_t;    // integer lots
using OrderId = std::uint64_t;
using AccountId = std::uint32_t;

// |q| without leaving the Qty type.
constexpr Qty qabs(Qty q) noexcept { return q < 0 ? -q : q; }

enum class Side : std::uint8_t { Buy = 0, Sell = 1 };

enum class MsgType : std::uint8_t {
  Limit = 0,
  Market = 1,
  Ioc = 2,
  Fok = 3,
  Cancel = 4,
  Reduce = 5,
  Replace = 6,
};

enum class Reject : std::uint8_t {
  None = 0,
  BadType = 1,
  BadSide = 2,
  BadQuantity = 3,
  BadPrice = 4,
  PriceOffLadder = 5,
  UnknownOrder = 6,
};

enum class StpMode : std::uint8_t { None = 0, CancelResting = 1, CancelIncoming = 2 };

enum class FillKind : std::uint8_t { Trade = 0, StpCancel = 1 };

inline constexpr Qty kMaxQty = Qty{1} << 40;
inline constexpr Price kMaxPrice = Price{1} << 62;
inline constexpr std::int64_t kDefaultMaxLadderLevels = std::int64_t{1} << 22;
inline constexpr std::int64_t kMaxLadderLevelsLimit = std::int64_t{1} << 24;

}  // namespace deleverage
