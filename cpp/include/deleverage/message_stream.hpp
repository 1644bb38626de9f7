// The standard seeded message stream that order-book benchmarks replay.
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/records.hpp"

namespace deleverage {

struct MessageStreamSpec {
  std::uint64_t messages = 10'000'000;
  std::uint64_t seed = 1;
  Price start_price = 1'000'000;
  std::int64_t half_width = 50;  // limit prices lie within +-half_width ticks of the mid
  double limit_share = 0.6;
  double cancel_share = 0.3;  // the rest are market orders
  // Share of limit orders priced through the mid (they may trade) when the
  // book holds `target_resting` orders; it scales with the book's size, which
  // holds the book steady near that depth instead of draining or piling up.
  double cross_share = 0.2;
  std::uint64_t target_resting = 20'000;
  Qty max_qty = 100;  // quantities uniform in 1..max_qty
  std::uint32_t owners = 1000;
};

// Generate the stream by running it through a shadow book, so every cancel
// names an order that is still resting when the cancel arrives and limit
// prices follow the book's own mid as it wanders.
std::vector<Message> generate_message_stream(const MessageStreamSpec& spec);

}  // namespace deleverage
