#include "deleverage/order_book.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace deleverage {
namespace {

MessageResult rejected(const Message& m, Reject why) noexcept {
  return MessageResult{m.order_id, 0, 0, 0, static_cast<std::uint8_t>(why), {}};
}

MessageResult accepted(OrderId id, Qty filled, Qty resting, Qty cancelled) noexcept {
  return MessageResult{id, filled, resting, cancelled, 0, {}};
}

bool valid_qty(Qty q) noexcept { return q >= 1 && q <= kMaxQty; }
bool valid_price(Price p) noexcept { return p >= 1 && p <= kMaxPrice; }

}  // namespace

OrderBook::OrderBook(StpMode stp, std::int64_t max_ladder_levels, bool track_owners)
    : stp_(stp),
      max_ladder_levels_(max_ladder_levels),
      max_window_(PriceLadder::kMinWindow),
      track_owners_(track_owners) {
  if (static_cast<std::uint8_t>(stp) > 2) {
    throw std::invalid_argument("stp: must be 0 (none), 1 (cancel resting) or 2 (cancel incoming), got " +
                                std::to_string(static_cast<int>(stp)));
  }
  // Checked before the doubling below, which would overflow (and never end) past 2^62.
  if (max_ladder_levels < 1 || max_ladder_levels > kMaxLadderLevelsLimit) {
    throw std::invalid_argument("max_ladder_levels: must be in 1.." + std::to_string(kMaxLadderLevelsLimit) + ", got " +
                                std::to_string(max_ladder_levels));
  }
  while (max_window_ < max_ladder_levels) max_window_ *= 2;
}

void OrderBook::execute(const Message* messages, std::size_t n, MessageResult* results, std::vector<Fill>& fills) {
  // A batch knows its future: bring each message's target order (or price
  // level) into cache well before it is needed.
  constexpr std::size_t kAhead = 16;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch_target(messages[i + kAhead]);
    results[i] = apply(messages[i], static_cast<std::uint32_t>(i), fills);
  }
}

void OrderBook::prefetch_target(const Message& m) const noexcept {
  if (m.type >= static_cast<std::uint8_t>(MsgType::Cancel)) {
    if (const Order* o = pool_.slot_address(m.order_id)) __builtin_prefetch(o, 1);
  } else if (m.type == static_cast<std::uint8_t>(MsgType::Limit) && ladder_.contains(m.price)) {
    __builtin_prefetch(&ladder_.at(m.price), 1);
  }
}

MessageResult OrderBook::apply(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills) {
  switch (static_cast<MsgType>(m.type)) {
    case MsgType::Limit:
    case MsgType::Market:
    case MsgType::Ioc:
    case MsgType::Fok:
      return submit(m, message_index, fills);
    case MsgType::Cancel:
      return cancel(m);
    case MsgType::Reduce:
      return reduce(m);
    case MsgType::Replace:
      return replace(m, message_index, fills);
  }
  return rejected(m, Reject::BadType);
}

MessageResult OrderBook::submit(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills) {
  const auto type = static_cast<MsgType>(m.type);
  if (m.side > 1) return rejected(m, Reject::BadSide);
  if (!valid_qty(m.qty)) return rejected(m, Reject::BadQuantity);
  const auto side = static_cast<Side>(m.side);
  Price limit = side == Side::Buy ? kMaxPrice : 1;  // a market order takes any price
  if (type != MsgType::Market) {
    if (!valid_price(m.price)) return rejected(m, Reject::BadPrice);
    limit = m.price;
    if (type == MsgType::Limit && !span_allows(limit)) return rejected(m, Reject::PriceOffLadder);
  }

  const std::uint32_t slot = pool_.acquire();
  Taker t{pool_.id_of(slot), limit, m.qty, m.owner, side, message_index};
  if (type == MsgType::Fok && !fok_fillable(t)) {
    pool_.release(slot);
    return accepted(t.id, 0, 0, m.qty);
  }
  const bool killed = match(t, fills);
  const Qty filled = m.qty - t.remaining;
  if (type == MsgType::Limit && t.remaining > 0 && !killed) {
    rest(slot, limit, t.remaining, m.owner, side);
    return accepted(t.id, filled, t.remaining, 0);
  }
  pool_.release(slot);
  return accepted(t.id, filled, 0, t.remaining);
}

MessageResult OrderBook::cancel(const Message& m) {
  const std::uint32_t slot = pool_.find(m.order_id);
  if (slot == kNil) return rejected(m, Reject::UnknownOrder);
  const Qty qty = pool_[slot].qty;
  unlink(slot);
  pool_.release(slot);
  return accepted(m.order_id, 0, 0, qty);
}

MessageResult OrderBook::reduce(const Message& m) {
  if (!valid_qty(m.qty)) return rejected(m, Reject::BadQuantity);
  const std::uint32_t slot = pool_.find(m.order_id);
  if (slot == kNil) return rejected(m, Reject::UnknownOrder);
  Order& o = pool_[slot];
  if (m.qty >= o.qty) {
    const Qty qty = o.qty;
    unlink(slot);
    pool_.release(slot);
    return accepted(m.order_id, 0, 0, qty);
  }
  o.qty -= m.qty;
  ladder_.at(o.price).qty -= m.qty;
  return accepted(m.order_id, 0, o.qty, m.qty);
}

MessageResult OrderBook::replace(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills) {
  if (!valid_qty(m.qty)) return rejected(m, Reject::BadQuantity);
  if (!valid_price(m.price)) return rejected(m, Reject::BadPrice);
  const std::uint32_t slot = pool_.find(m.order_id);
  if (slot == kNil) return rejected(m, Reject::UnknownOrder);
  if (!span_allows(m.price)) return rejected(m, Reject::PriceOffLadder);

  const Order& o = pool_[slot];
  const Side side = OrderPool::side_of(o);
  const AccountId owner = o.owner;
  unlink(slot);  // the slot (and so the id) stays with the order
  Taker t{m.order_id, m.price, m.qty, owner, side, message_index};
  const bool killed = match(t, fills);
  const Qty filled = m.qty - t.remaining;
  if (t.remaining > 0 && !killed) {
    rest(slot, m.price, t.remaining, owner, side);
    return accepted(m.order_id, filled, t.remaining, 0);
  }
  pool_.release(slot);
  return accepted(m.order_id, filled, 0, t.remaining);
}

bool OrderBook::span_allows_slow(Price p) const noexcept {
  const Price lo = ladder_.next_at_or_above(ladder_.base());
  if (lo == PriceLadder::kNone) return true;
  const Price hi = ladder_.next_at_or_below(ladder_.base() + ladder_.window() - 1);
  return std::max(hi, p) - std::min(lo, p) + 1 <= max_ladder_levels_;
}

Price OrderBook::next_level(Side book_side, Price p) const noexcept {
  return book_side == Side::Sell ? ladder_.next_at_or_above(p + 1) : ladder_.next_at_or_below(p - 1);
}

bool OrderBook::fok_fillable(const Taker& t) const noexcept {
  Qty need = t.remaining;
  const Side book_side = t.side == Side::Buy ? Side::Sell : Side::Buy;
  Price p = t.side == Side::Buy ? best_ask_ : best_bid_;
  if (p == kNoAsk || p == kNoBid) return false;
  while (p != PriceLadder::kNone && (t.side == Side::Buy ? p <= t.limit : p >= t.limit)) {
    const Level& lvl = ladder_.at(p);
    if (stp_ == StpMode::None) {
      need -= lvl.qty;
    } else {
      for (std::uint32_t s = lvl.head; s != kNil && need > 0; s = pool_[s].next) {
        if (pool_[s].owner == t.owner) {
          if (stp_ == StpMode::CancelIncoming) return false;  // matching would stop here
          continue;
        }
        need -= pool_[s].qty;
      }
    }
    if (need <= 0) return true;
    p = next_level(book_side, p);
  }
  return false;
}

inline bool OrderBook::consume_level(Level& lvl, Price price, Taker& t, std::vector<Fill>& fills) {
  std::uint32_t s = lvl.head;
  bool killed = false;
  while (s != kNil && t.remaining > 0) {
    Order& mk = pool_[s];
    const std::uint32_t next = mk.next;
    if (stp_ != StpMode::None && mk.owner == t.owner) {
      if (stp_ == StpMode::CancelIncoming) {
        killed = true;
        break;
      }
      fills.push_back(Fill{t.id,
                           pool_.id_of(s),
                           price,
                           mk.qty,
                           t.owner,
                           mk.owner,
                           t.message,
                           static_cast<std::uint8_t>(t.side),
                           static_cast<std::uint8_t>(FillKind::StpCancel),
                           {}});
      lvl.qty -= mk.qty;
      --lvl.count;
      if (track_owners_) owner_unlink(s);
      pool_.release(s);
      s = next;
      continue;
    }
    const Qty q = std::min(t.remaining, mk.qty);
    fills.push_back(Fill{t.id,
                         pool_.id_of(s),
                         price,
                         q,
                         t.owner,
                         mk.owner,
                         t.message,
                         static_cast<std::uint8_t>(t.side),
                         static_cast<std::uint8_t>(FillKind::Trade),
                         {}});
    t.remaining -= q;
    lvl.qty -= q;
    last_price_ = price;
    if (q == mk.qty) {
      --lvl.count;
      if (track_owners_) owner_unlink(s);
      pool_.release(s);
      s = next;
    } else {
      mk.qty -= q;
    }
  }
  lvl.head = s;
  if (s == kNil) {
    lvl.tail = kNil;
  } else {
    pool_[s].prev = kNil;
  }
  return killed;
}

bool OrderBook::match(Taker& t, std::vector<Fill>& fills) {
  if (t.side == Side::Buy) {
    while (t.remaining > 0 && best_ask_ <= t.limit) {
      Level& lvl = ladder_.at(best_ask_);
      if (consume_level(lvl, best_ask_, t, fills)) return true;
      if (lvl.count == 0) {
        ladder_.unmark(best_ask_);
        const Price next = ladder_.next_at_or_above(best_ask_ + 1);
        best_ask_ = next == PriceLadder::kNone ? kNoAsk : next;
      }
    }
  } else {
    while (t.remaining > 0 && best_bid_ >= t.limit && best_bid_ != kNoBid) {
      Level& lvl = ladder_.at(best_bid_);
      if (consume_level(lvl, best_bid_, t, fills)) return true;
      if (lvl.count == 0) {
        ladder_.unmark(best_bid_);
        const Price next = ladder_.next_at_or_below(best_bid_ - 1);
        best_bid_ = next == PriceLadder::kNone ? kNoBid : next;
      }
    }
  }
  return false;
}

void OrderBook::rest(std::uint32_t slot, Price price, Qty qty, AccountId owner, Side side) {
  if (!ladder_.contains(price)) ladder_.cover(price, max_window_);
  Order& o = pool_[slot];
  o.qty = qty;
  o.price = price;
  o.owner = owner;
  o.gen_side = (o.gen_side & ~1u) | static_cast<std::uint32_t>(side);
  o.next = kNil;
  Level& lvl = ladder_.at(price);
  o.prev = lvl.tail;
  if (lvl.tail == kNil) {
    lvl.head = slot;
    ladder_.mark(price);
  } else {
    pool_[lvl.tail].next = slot;
  }
  lvl.tail = slot;
  lvl.qty += qty;
  ++lvl.count;
  if (track_owners_) owner_link(slot);
  if (side == Side::Buy) {
    best_bid_ = std::max(best_bid_, price);
  } else {
    best_ask_ = std::min(best_ask_, price);
  }
}

void OrderBook::unlink(std::uint32_t slot) {
  if (track_owners_) owner_unlink(slot);
  unlink_level(slot);
}

void OrderBook::unlink_level(std::uint32_t slot) {
  const Order& o = pool_[slot];
  Level& lvl = ladder_.at(o.price);
  if (o.prev == kNil) {
    lvl.head = o.next;
  } else {
    pool_[o.prev].next = o.next;
  }
  if (o.next == kNil) {
    lvl.tail = o.prev;
  } else {
    pool_[o.next].prev = o.prev;
  }
  lvl.qty -= o.qty;
  if (--lvl.count != 0) return;
  ladder_.unmark(o.price);
  if (o.price == best_bid_) {
    const Price next = ladder_.next_at_or_below(o.price - 1);
    best_bid_ = next == PriceLadder::kNone ? kNoBid : next;
  } else if (o.price == best_ask_) {
    const Price next = ladder_.next_at_or_above(o.price + 1);
    best_ask_ = next == PriceLadder::kNone ? kNoAsk : next;
  }
}

void OrderBook::set_owner_first_slow(AccountId owner, std::uint32_t slot) {
  if (owner < kDenseOwners) {
    if (owner >= owner_dense_.size()) {
      if (slot == kNil) return;
      const std::size_t grown = std::max<std::size_t>(std::size_t{owner} + 1, owner_dense_.size() * 2);
      owner_dense_.resize(std::min<std::size_t>(grown, kDenseOwners), kNil);
    }
    owner_dense_[owner] = slot;
  } else if (slot == kNil) {
    owner_head_.erase(owner);
  } else {
    owner_head_[owner] = slot;
  }
}

void OrderBook::owner_link(std::uint32_t slot) {
  if (owner_next_.size() <= slot) {
    owner_next_.resize(static_cast<std::size_t>(slot) * 2 + 1024, kNil);
    owner_prev_.resize(owner_next_.size(), kNil);
  }
  const AccountId owner = pool_[slot].owner;
  const std::uint32_t first = owner_first(owner);
  owner_prev_[slot] = kNil;
  owner_next_[slot] = first;
  if (first != kNil) owner_prev_[first] = slot;
  set_owner_first(owner, slot);
}

void OrderBook::owner_unlink(std::uint32_t slot) {
  const std::uint32_t next = owner_next_[slot];
  const std::uint32_t prev = owner_prev_[slot];
  if (next != kNil) owner_prev_[next] = prev;
  if (prev != kNil) {
    owner_next_[prev] = next;
  } else {
    set_owner_first(pool_[slot].owner, next);
  }
}

Qty OrderBook::cancel_owner(AccountId owner) {
  if (!track_owners_) throw std::logic_error("cancel_owner: the book was made without track_owners");
  // The owner's list goes whole: its orders leave their levels in list order
  // (so the pool's free list is as order by order) and the head is cleared once.
  const std::uint32_t first = owner_first(owner);
  if (first == kNil) return 0;
  Qty total = 0;
  for (std::uint32_t slot = first; slot != kNil;) {
    const std::uint32_t next = owner_next_[slot];
    total += pool_[slot].qty;
    unlink_level(slot);
    pool_.release(slot);
    slot = next;
  }
  set_owner_first(owner, kNil);
  return total;
}

std::vector<DepthLevel> OrderBook::depth(Side side, std::size_t n) const {
  std::vector<DepthLevel> out;
  Price p = side == Side::Buy ? best_bid_ : best_ask_;
  if (p == kNoBid || p == kNoAsk) return out;
  while (p != PriceLadder::kNone && out.size() < n) {
    const Level& lvl = ladder_.at(p);
    out.push_back(DepthLevel{p, lvl.qty, static_cast<std::int64_t>(lvl.count)});
    p = next_level(side, p);
  }
  return out;
}

Qty OrderBook::quantity_to(Side side, Price limit) const {
  // Every level from the touch to the limit is the other side's: the book never crosses.
  const Price touch = side == Side::Buy ? best_ask_ : best_bid_;
  if (touch == kNoBid || touch == kNoAsk) return 0;
  return side == Side::Buy ? ladder_.quantity_in(touch, limit) : ladder_.quantity_in(limit, touch);
}

std::optional<OrderView> OrderBook::order(OrderId id) const {
  const std::uint32_t slot = pool_.find(id);
  if (slot == kNil) return std::nullopt;
  const Order& o = pool_[slot];
  return OrderView{id, o.price, o.qty, o.owner, static_cast<std::uint8_t>(OrderPool::side_of(o)), {}};
}

std::vector<OrderView> OrderBook::snapshot() const {
  std::vector<OrderView> out;
  out.reserve(pool_.live());
  for (const Side side : {Side::Buy, Side::Sell}) {
    Price p = side == Side::Buy ? best_bid_ : best_ask_;
    if (p == kNoBid || p == kNoAsk) continue;
    for (; p != PriceLadder::kNone; p = next_level(side, p)) {
      for (std::uint32_t s = ladder_.at(p).head; s != kNil; s = pool_[s].next) {
        const Order& o = pool_[s];
        out.push_back(OrderView{pool_.id_of(s), o.price, o.qty, o.owner, static_cast<std::uint8_t>(side), {}});
      }
    }
  }
  return out;
}

}  // namespace deleverage
