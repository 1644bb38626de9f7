// A dense window of price levels with a two-level occupancy bitmap.
//
// Level i holds price base + i. The bitmap finds the next occupied level in a
// couple of word scans, so emptying the best level costs O(1) in practice.
// When a resting price falls outside the window, the window re-centres on the
// occupied range (doubling when that range needs it).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "deleverage/codes.hpp"
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
  bool contains(Price p) const noexcept {
    return p >= base_ && p - base_ < window();
  }

  Level& at(Price p) noexcept { return levels_[static_cast<std::size_t>(p - base_)]; }
  const Level& at(Price p) const noexcept { return levels_[static_cast<std::size_t>(p - base_)]; }

  void mark(Price p) noexcept { set_bit(static_cast<std::uint64_t>(p - base_)); }
  void unmark(Price p) noexcept { clear_bit(static_cast<std::uint64_t>(p - base_)); }

  // Lowest occupied price >= p (p may lie outside the window), or kNone.
  Price next_at_or_above(Price p) const noexcept {
    if (levels_.empty()) return kNone;
    const std::int64_t i = std::max<std::int64_t>(p - base_, 0);
    if (i >= window()) return kNone;
    const std::int64_t found = find_next(static_cast<std::uint64_t>(i));
    return found == kNone ? kNone : base_ + found;
  }

  // Highest occupied price <= p, or kNone.
  Price next_at_or_below(Price p) const noexcept {
    if (levels_.empty()) return kNone;
    const std::int64_t i = std::min<std::int64_t>(p - base_, window() - 1);
    if (i < 0) return kNone;
    const std::int64_t found = find_prev(static_cast<std::uint64_t>(i));
    return found == kNone ? kNone : base_ + found;
  }

  // Make the window hold every occupied level and price p. Occupied levels keep
  // their contents; orders store absolute prices, so no order is touched.
  void cover(Price p) {
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
    while (w < 2 * span) w *= 2;  // leave room on both sides after re-centring
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

  std::size_t memory_bytes() const noexcept {
    return levels_.capacity() * sizeof(Level) + (l0_.capacity() + l1_.capacity()) * sizeof(std::uint64_t);
  }

 private:
  void reset(std::int64_t w, Price new_base) {
    base_ = new_base;
    levels_.assign(static_cast<std::size_t>(w), Level{0, kNil, kNil, 0, 0});
    l0_.assign(static_cast<std::size_t>(w / 64), 0);
    l1_.assign(static_cast<std::size_t>((w / 64 + 63) / 64), 0);
  }

  void set_bit(std::uint64_t i) noexcept {
    l0_[i >> 6] |= std::uint64_t{1} << (i & 63);
    l1_[i >> 12] |= std::uint64_t{1} << ((i >> 6) & 63);
  }
  void clear_bit(std::uint64_t i) noexcept {
    std::uint64_t& w = l0_[i >> 6];
    w &= ~(std::uint64_t{1} << (i & 63));
    if (w == 0) l1_[i >> 12] &= ~(std::uint64_t{1} << ((i >> 6) & 63));
  }

  std::int64_t find_next(std::uint64_t i) const noexcept {
    std::uint64_t word = i >> 6;
    std::uint64_t bits = l0_[word] & (~std::uint64_t{0} << (i & 63));
    if (bits) return static_cast<std::int64_t>((word << 6) | static_cast<unsigned>(std::countr_zero(bits)));
    // Search the summary for the next non-empty word after `word`.
    std::uint64_t sw = (word + 1) >> 6;
    const unsigned sb = static_cast<unsigned>((word + 1) & 63);
    if (sw >= l1_.size()) return kNone;
    std::uint64_t sbits = sb == 0 ? l1_[sw] : (l1_[sw] & (~std::uint64_t{0} << sb));
    while (!sbits) {
      if (++sw >= l1_.size()) return kNone;
      sbits = l1_[sw];
    }
    word = (sw << 6) | static_cast<unsigned>(std::countr_zero(sbits));
    return static_cast<std::int64_t>((word << 6) | static_cast<unsigned>(std::countr_zero(l0_[word])));
  }

  std::int64_t find_prev(std::uint64_t i) const noexcept {
    std::uint64_t word = i >> 6;
    const unsigned b = static_cast<unsigned>(i & 63);
    std::uint64_t bits = l0_[word] & (b == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (b + 1)) - 1));
    if (bits) return static_cast<std::int64_t>((word << 6) | (63u - static_cast<unsigned>(std::countl_zero(bits))));
    if (word == 0) return kNone;
    const std::uint64_t target = word - 1;  // last word that may hold a level
    std::uint64_t sw = target >> 6;
    const unsigned sb = static_cast<unsigned>(target & 63);
    std::uint64_t sbits = l1_[sw] & (sb == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (sb + 1)) - 1));
    while (!sbits) {
      if (sw == 0) return kNone;
      sbits = l1_[--sw];
    }
    word = (sw << 6) | (63u - static_cast<unsigned>(std::countl_zero(sbits)));
    return static_cast<std::int64_t>((word << 6) | (63u - static_cast<unsigned>(std::countl_zero(l0_[word]))));
  }

  Price base_ = 0;
  std::vector<Level> levels_;
  std::vector<std::uint64_t> l0_;  // one bit per level
  std::vector<std::uint64_t> l1_;  // one bit per l0 word
};

}  // namespace deleverage
