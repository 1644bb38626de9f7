// A price-time priority limit order book for one instrument.
//
// Semantics: docs/order_book.md. Every entry point goes through apply(), which
// validates a message completely before it changes anything, so a rejected
// message leaves the book exactly as it was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/order_pool.hpp"
#include "deleverage/price_ladder.hpp"
#include "deleverage/records.hpp"

namespace deleverage {

class OrderBook {
 public:
  // track_owners keeps a list of each owner's resting orders, so that
  // cancel_owner() (a margin call cancelling an account's orders) is O(its orders).
  explicit OrderBook(StpMode stp = StpMode::None, std::int64_t max_ladder_levels = kDefaultMaxLadderLevels,
                     bool track_owners = false);

  // Apply one message; fills are appended to `fills`, tagged with `message_index`.
  MessageResult apply(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills);

  // Apply n messages in order; results[i] is the outcome of messages[i].
  void execute(const Message* messages, std::size_t n, MessageResult* results, std::vector<Fill>& fills);

  // Cancel every resting order of `owner` (needs track_owners); returns the lots cancelled.
  Qty cancel_owner(AccountId owner);
  bool tracks_owners() const noexcept { return track_owners_; }
  // Whether the owner has resting orders (needs track_owners).
  bool has_orders(AccountId owner) const noexcept { return owner_first(owner) != kNil; }
  // A hint: cancel_owner(owner) or has_orders(owner) comes soon.
  void prefetch_owner(AccountId owner) const noexcept {
    if (owner < owner_dense_.size()) __builtin_prefetch(&owner_dense_[owner]);
  }

  // Price of the last trade, if any.
  std::optional<Price> last_price() const noexcept {
    return last_price_ == 0 ? std::nullopt : std::optional<Price>(last_price_);
  }

  std::optional<Price> best_bid() const noexcept {
    return best_bid_ == kNoBid ? std::nullopt : std::optional<Price>(best_bid_);
  }
  std::optional<Price> best_ask() const noexcept {
    return best_ask_ == kNoAsk ? std::nullopt : std::optional<Price>(best_ask_);
  }

  // Up to n levels of one side, best first.
  std::vector<DepthLevel> depth(Side side, std::size_t n) const;
  // Lots a taker of `side` could trade at prices up to (buy) or down to (sell) `limit`.
  Qty quantity_to(Side side, Price limit) const;
  std::optional<OrderView> order(OrderId id) const;
  // Every resting order in priority order: bids best first, then asks best first.
  std::vector<OrderView> snapshot() const;

  std::size_t resting_orders() const noexcept { return pool_.live(); }
  std::size_t memory_bytes() const noexcept { return pool_.memory_bytes() + ladder_.memory_bytes(); }
  StpMode stp() const noexcept { return stp_; }
  std::int64_t max_ladder_levels() const noexcept { return max_ladder_levels_; }

 private:
  static constexpr Price kNoBid = 0;  // prices are >= 1
  static constexpr Price kNoAsk = kMaxPrice + 1;

  struct Taker {
    OrderId id;
    Price limit;  // most aggressive price it may trade at
    Qty remaining;
    AccountId owner;
    Side side;
    std::uint32_t message;
  };

  MessageResult submit(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills);
  MessageResult cancel(const Message& m);
  MessageResult reduce(const Message& m);
  MessageResult replace(const Message& m, std::uint32_t message_index, std::vector<Fill>& fills);

  void prefetch_target(const Message& m) const noexcept;
  // Would resting at p keep resting prices within max_ladder_levels ticks?
  bool span_allows(Price p) const noexcept {
    // Every resting order lies inside the window, so a window no wider than
    // the limit that already holds p settles it without a scan.
    return (ladder_.window() <= max_ladder_levels_ && ladder_.contains(p)) || span_allows_slow(p);
  }
  bool span_allows_slow(Price p) const noexcept;
  // Next occupied level of `book_side` after p, moving away from the spread, or kNone.
  Price next_level(Side book_side, Price p) const noexcept;
  // Returns true when STP cancelled the rest of the taker.
  bool consume_level(Level& lvl, Price price, Taker& t, std::vector<Fill>& fills);
  bool fok_fillable(const Taker& t) const noexcept;
  // Match against the opposite side; returns true when STP cancelled the rest of the taker.
  bool match(Taker& t, std::vector<Fill>& fills);
  void rest(std::uint32_t slot, Price price, Qty qty, AccountId owner, Side side);
  void unlink(std::uint32_t slot);
  // unlink() without the owner's list (cancel_owner drops the list whole).
  void unlink_level(std::uint32_t slot);
  void owner_link(std::uint32_t slot);
  void owner_unlink(std::uint32_t slot);
  // The first of the owner's resting orders, or kNil.
  std::uint32_t owner_first(AccountId owner) const noexcept {
    if (owner < kDenseOwners) return owner < owner_dense_.size() ? owner_dense_[owner] : kNil;
    const auto it = owner_head_.find(owner);
    return it == owner_head_.end() ? kNil : it->second;
  }
  void set_owner_first(AccountId owner, std::uint32_t slot) {
    // Inline for the owners already in the flat array: every order an account rests or loses.
    if (owner < owner_dense_.size()) {
      owner_dense_[owner] = slot;
      return;
    }
    set_owner_first_slow(owner, slot);
  }
  void set_owner_first_slow(AccountId owner, std::uint32_t slot);

  // Owners below this (accounts of an engine are numbered from 0) find their
  // first order in a flat array; the rest (the fund, the outside) in a map.
  static constexpr AccountId kDenseOwners = AccountId{1} << 24;

  OrderPool pool_;
  PriceLadder ladder_;
  Price best_bid_ = kNoBid;
  Price best_ask_ = kNoAsk;
  Price last_price_ = 0;
  StpMode stp_;
  std::int64_t max_ladder_levels_;
  std::int64_t max_window_;  // the power of two at or above max_ladder_levels (at least the minimum window)
  bool track_owners_;
  std::vector<std::uint32_t> owner_next_;  // per slot, when tracking owners
  std::vector<std::uint32_t> owner_prev_;
  std::vector<std::uint32_t> owner_dense_;  // per owner below kDenseOwners: its first order, or kNil
  std::unordered_map<AccountId, std::uint32_t> owner_head_;
};

}  // namespace deleverage
