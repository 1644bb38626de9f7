// Fixed-size order slots linked into intrusive lists; freed slots are reused.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "deleverage/codes.hpp"

namespace deleverage {

inline constexpr std::uint32_t kNil = 0xFFFFFFFFu;

// A resting order: 32 bytes. A free slot has qty == 0 and keeps its generation,
// so a stale id (older generation) never matches a later order in the slot.
struct Order {
  Qty qty;
  Price price;
  std::uint32_t next;
  std::uint32_t prev;
  AccountId owner;
  std::uint32_t gen_side;  // generation << 1 | side
};
static_assert(sizeof(Order) == 32);

class OrderPool {
 public:
  static OrderId make_id(std::uint32_t slot, std::uint32_t generation) noexcept {
    return (OrderId{generation} << 32) | slot;
  }
  static std::uint32_t slot_of(OrderId id) noexcept { return static_cast<std::uint32_t>(id); }
  static std::uint32_t generation_of(OrderId id) noexcept { return static_cast<std::uint32_t>(id >> 32); }
  static Side side_of(const Order& o) noexcept { return static_cast<Side>(o.gen_side & 1u); }
  static std::uint32_t generation_of(const Order& o) noexcept { return o.gen_side >> 1; }

  // Take a free slot (its id is fixed from now on). A taker holds one while it
  // matches, so its fills carry an id that no later order can reuse.
  std::uint32_t acquire() {
    if (free_head_ == kNil) grow();
    const std::uint32_t slot = free_head_;
    free_head_ = slots_[slot].next;
    ++live_;
    return slot;
  }

  OrderId id_of(std::uint32_t slot) const noexcept { return make_id(slot, generation_of(slots_[slot])); }

  // Return a slot to the free list; its generation moves on, retiring its id.
  void release(std::uint32_t slot) noexcept {
    Order& o = slots_[slot];
    o.qty = 0;
    bump_generation(o);
    o.next = free_head_;
    free_head_ = slot;
    --live_;
  }

  // The slot of a live order with this id, or kNil.
  std::uint32_t find(OrderId id) const noexcept {
    const std::uint32_t slot = slot_of(id);
    if (slot >= slots_.size()) return kNil;
    const Order& o = slots_[slot];
    if (o.qty <= 0 || generation_of(o) != generation_of(id)) return kNil;
    return slot;
  }

  // Where an id's slot lives (live or not), or nullptr; for prefetching.
  const Order* slot_address(OrderId id) const noexcept { return slot_address_of(slot_of(id)); }
  const Order* slot_address_of(std::uint32_t slot) const noexcept {
    return slot < slots_.size() ? &slots_[slot] : nullptr;
  }

  Order& operator[](std::uint32_t slot) noexcept { return slots_[slot]; }
  const Order& operator[](std::uint32_t slot) const noexcept { return slots_[slot]; }

  std::size_t live() const noexcept { return live_; }
  std::size_t memory_bytes() const noexcept { return slots_.capacity() * sizeof(Order); }

 private:
  static void bump_generation(Order& o) noexcept {
    std::uint32_t g = (generation_of(o) + 1) & 0x7FFFFFFFu;
    if (g == 0) g = 1;  // id 0 is never valid
    o.gen_side = (g << 1) | (o.gen_side & 1u);
  }

  void grow() {
    const std::size_t old = slots_.size();
    const std::size_t grown = old == 0 ? 1024 : old * 2;
    if (grown > kNil) throw std::length_error("order pool: more than 2^32-1 resting orders");
    slots_.resize(grown);
    // Thread the new slots onto the free list in ascending order.
    for (std::size_t i = grown; i-- > old;) {
      slots_[i] = Order{0, 0, free_head_, kNil, 0, 1u << 1};
      free_head_ = static_cast<std::uint32_t>(i);
    }
  }

  std::vector<Order> slots_;
  std::uint32_t free_head_ = kNil;
  std::size_t live_ = 0;
};

}  // namespace deleverage
