// A dense window of price levels with an occupancy bitmap.
//
// Level i holds price base + i. The bitmap finds the next occupied level in a
// couple of word scans, so emptying the best level costs O(1) in practice.
// When a resting price falls outside the window, the window re-centres on the
// occupied range (doubling when that range needs it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/occupancy_bitmap.hpp"
#include "deleverage/order_pool.hpp"

namespace deleverage {

struct Level {
  Qty qty;
  std::uint32_t head;
  std::uint32_t tail;
  std::uint32_t count;
  std::uint32_t pad_;
};
static_assert(sizeof(Level) == 24);

class PriceLadder {
 public:
  static constexpr std::int64_t kMinWindow = 4096;  // multiple of 64 * 64
  static constexpr std::int64_t kNone = -1;

  PriceLadder() = default;

  std::int64_t window() const noexcept { return static_cast<std::int64_t>(levels_.size()); }
  Price base() const noexcept { return base_; }
  // Any int64 p (an unvalidated price too): the difference is taken modulo 2^64, so a
  // p below base_ wraps to a huge offset instead of overflowing.
  bool contains(Price p) const noexcept {
    return static_cast<std::uint64_t>(p) - static_cast<std::uint64_t>(base_) < static_cast<std::uint64_t>(window());
  }

  Level& at(Price p) noexcept { return levels_[static_cast<std::size_t>(p - base_)]; }
  const Level& at(Price p) const noexcept { return levels_[static_cast<std::size_t>(p - base_)]; }

  void mark(Price p) noexcept { occupied_.set(static_cast<std::uint64_t>(p - base_)); }
  void unmark(Price p) noexcept { occupied_.clear(static_cast<std::uint64_t>(p - base_)); }

  // Lowest occupied price >= p (p may lie outside the window), or kNone.
  Price next_at_or_above(Price p) const noexcept {
    if (levels_.empty()) return kNone;
    const std::int64_t i = std::max<std::int64_t>(p - base_, 0);
    if (i >= window()) return kNone;
    const std::int64_t found = occupied_.next_at_or_after(static_cast<std::uint64_t>(i));
    return found == kNone ? kNone : base_ + found;
  }

  // Highest occupied price <= p, or kNone.
  Price next_at_or_below(Price p) const noexcept {
    if (levels_.empty()) return kNone;
    const std::int64_t i = std::min<std::int64_t>(p - base_, window() - 1);
    if (i < 0) return kNone;
    const std::int64_t found = occupied_.prev_at_or_before(static_cast<std::uint64_t>(i));
    return found == kNone ? kNone : base_ + found;
  }

  // Lots resting at prices in [lo, hi] (either may lie outside the window).
  Qty quantity_in(Price lo, Price hi) const noexcept {
    Qty total = 0;
    const Price end = base_ + window();  // compared, never subtracted: lo and hi may be any int64
    if (levels_.empty() || lo > hi || hi < base_ || lo >= end) return total;
    const std::int64_t i = lo <= base_ ? 0 : lo - base_;
    const std::int64_t j = hi >= end ? window() - 1 : hi - base_;
    occupied_.for_each_in(static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j),
                          [&](std::uint64_t k) { total += levels_[static_cast<std::size_t>(k)].qty; });
    return total;
  }

  // Make the window hold every occupied level and price p, with room to spare
  // but never wider than `max_window` (a power of two >= the occupied span).
  // Occupied levels keep their contents; orders store absolute prices, so no
  // order is touched.
  void cover(Price p, std::int64_t max_window) {
    if (levels_.empty()) {
      reset(kMinWindow, p - kMinWindow / 2);
      return;
    }
    if (contains(p)) return;
    const Price lo_occ = next_at_or_above(base_);
    const Price hi_occ = next_at_or_below(base_ + window() - 1);
    const Price lo = lo_occ == kNone ? p : std::min(lo_occ, p);
    const Price hi = hi_occ == kNone ? p : std::max(hi_occ, p);
    const std::int64_t span = hi - lo + 1;
    std::int64_t w = window();
    while (w < 2 * span && w < max_window) w *= 2;  // room on both sides after re-centring
    while (w < span) w *= 2;
    const Price new_base = lo + span / 2 - w / 2;

    std::vector<Level> old_levels;
    old_levels.swap(levels_);
    const Price old_base = base_;
    reset(w, new_base);
    if (lo_occ == kNone) return;
    for (Price q = lo_occ; q <= hi_occ; ++q) {
      const Level& l = old_levels[static_cast<std::size_t>(q - old_base)];
      if (l.count == 0) continue;
      at(q) = l;
      mark(q);
    }
  }

  std::size_t memory_bytes() const noexcept { return levels_.capacity() * sizeof(Level) + occupied_.memory_bytes(); }

 private:
  void reset(std::int64_t w, Price new_base) {
    base_ = new_base;
    levels_.assign(static_cast<std::size_t>(w), Level{0, kNil, kNil, 0, 0});
    occupied_.reset(w);
  }

  Price base_ = 0;
  std::vector<Level> levels_;
  OccupancyBitmap occupied_;
};

}  // namespace deleverage
