#include "deleverage/message_stream.hpp"

#include <algorithm>
#include <stdexcept>

#include "deleverage/order_book.hpp"
#include "deleverage/philox.hpp"

namespace deleverage {

std::vector<Message> generate_message_stream(const MessageStreamSpec& spec) {
  if (spec.messages >= (std::uint64_t{1} << 32)) throw std::invalid_argument("messages: must be in 0..2^32-1");
  if (spec.start_price < 1 + spec.half_width || spec.start_price > (Price{1} << 40))
    throw std::invalid_argument("start_price: must be in half_width+1..2^40");
  if (spec.half_width < 1 || spec.half_width > 100'000) throw std::invalid_argument("half_width: must be in 1..100000");
  if (!(spec.limit_share >= 0 && spec.cancel_share >= 0 && spec.limit_share + spec.cancel_share <= 1))
    throw std::invalid_argument("limit_share, cancel_share: must be >= 0 with a sum <= 1");
  if (!(spec.cross_share >= 0 && spec.cross_share <= 1)) throw std::invalid_argument("cross_share: must be in 0..1");
  if (spec.target_resting < 1) throw std::invalid_argument("target_resting: must be >= 1");
  if (spec.max_qty < 1 || spec.max_qty > kMaxQty) throw std::invalid_argument("max_qty: must be in 1..2^40");
  if (spec.owners < 1) throw std::invalid_argument("owners: must be >= 1");

  PhiloxStream rng(spec.seed, 0x5354524541ull /* "STREA" */);
  OrderBook shadow;
  std::vector<Message> out(spec.messages);
  std::vector<OrderId> live;  // resting ids, pruned lazily when found filled
  std::vector<Fill> fills;
  Price mid = spec.start_price;
  const auto width = static_cast<std::uint64_t>(spec.half_width);

  for (std::uint64_t i = 0; i < spec.messages; ++i) {
    Message& m = out[i];
    m = Message{0, 0, 0, static_cast<AccountId>(rng.below(spec.owners)), 0, 0, {}};
    const double u = rng.uniform();
    bool is_cancel = u >= spec.limit_share && u < spec.limit_share + spec.cancel_share;
    if (is_cancel) {
      // Find a live order; filled ones are dropped from the candidate list.
      is_cancel = false;
      while (!live.empty()) {
        const std::size_t k = rng.below(live.size());
        const OrderId id = live[k];
        live[k] = live.back();
        live.pop_back();
        if (shadow.order(id)) {
          m.type = static_cast<std::uint8_t>(MsgType::Cancel);
          m.order_id = id;
          is_cancel = true;
          break;
        }
      }
      if (!is_cancel) m.type = static_cast<std::uint8_t>(MsgType::Limit);  // nothing to cancel yet
    } else {
      m.type = static_cast<std::uint8_t>(u < spec.limit_share ? MsgType::Limit : MsgType::Market);
    }
    if (!is_cancel) {
      m.side = static_cast<std::uint8_t>(rng.below(2));
      m.qty = 1 + static_cast<Qty>(rng.below(static_cast<std::uint64_t>(spec.max_qty)));
      if (m.type == static_cast<std::uint8_t>(MsgType::Limit)) {
        // Passive orders rest on their own side of the mid; crossing ones are
        // priced through it and trade against the touch when it is close.
        const double fullness = static_cast<double>(shadow.resting_orders()) / static_cast<double>(spec.target_resting);
        const bool through = rng.uniform() < spec.cross_share * fullness;
        const auto offset = static_cast<Price>(through ? 1 + rng.below(width) : rng.below(width + 1));
        const bool buy = m.side == static_cast<std::uint8_t>(Side::Buy);
        m.price = (buy != through) ? mid - offset : mid + offset;
      }
    }
    fills.clear();
    const MessageResult r = shadow.apply(m, 0, fills);
    if (r.code != 0) throw std::logic_error("generate_message_stream: the shadow book rejected a message");
    if (r.resting > 0 && m.type == static_cast<std::uint8_t>(MsgType::Limit)) live.push_back(r.order_id);
    const auto bid = shadow.best_bid();
    const auto ask = shadow.best_ask();
    if (bid && ask) mid = std::max((*bid + *ask) / 2, spec.half_width + 1);
  }
  return out;
}

}  // namespace deleverage
