// Accounts of one instrument and side, bucketed by liquidation price.
//
// A long is liquidatable at marks at or below its trigger, a short at or
// above. The index keeps each side's frontier (the highest long trigger, the
// lowest short trigger), so a mark move that crosses no trigger costs O(1),
// and one that does visits only the buckets it crossed. Insert and remove are
// O(1): intrusive doubly linked lists whose links live in the account table.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "deleverage/huge_page_allocator.hpp"
#include "deleverage/occupancy_bitmap.hpp"
#include "deleverage/order_pool.hpp"  // kNil

namespace deleverage {

// A column of the account table.
template <class T>
using Column = std::vector<T, HugePageAllocator<T>>;

// One account's place in an index: its trigger and its list neighbours.
struct IndexLink {
  double trigger;  // liquidation price (ticks, real)
  std::uint32_t next;
  std::uint32_t prev;
};
static_assert(sizeof(IndexLink) == 16, "four links to a cache line");

// The per-account links of the account table. The three fields sit together
// because a walk over a bucket reads the trigger and the next link and writes
// the previous one of each account it passes: one cache miss, not three.
struct IndexLinks {
  Column<IndexLink> rows;

  double& trigger(std::uint32_t a) noexcept { return rows[a].trigger; }
  double trigger(std::uint32_t a) const noexcept { return rows[a].trigger; }
  std::uint32_t& next(std::uint32_t a) noexcept { return rows[a].next; }
  std::uint32_t next(std::uint32_t a) const noexcept { return rows[a].next; }
  std::uint32_t& prev(std::uint32_t a) noexcept { return rows[a].prev; }
  std::uint32_t prev(std::uint32_t a) const noexcept { return rows[a].prev; }
};

class LiquidationIndex {
 public:
  // Bucket counts: one bucket per kAccountsPerBucket accounts, a power of two
  // within [kMinBuckets, kMaxBuckets]. Narrower buckets mean fewer visits to
  // the accounts a falling mark has not reached yet.
  static constexpr std::int64_t kMinBuckets = std::int64_t{1} << 15;
  static constexpr std::int64_t kMaxBuckets = std::int64_t{1} << 18;
  static constexpr std::int64_t kAccountsPerBucket = 32;
  // Each bucket holds kLanes lists (an account's lane: the low bits of its id),
  // walked side by side so that the cache misses of one overlap the other's.
  static constexpr std::size_t kLanes = 4;
  static std::int64_t buckets_for(std::size_t accounts) noexcept {
    std::int64_t b = kMinBuckets;
    while (b < kMaxBuckets && b * kAccountsPerBucket < static_cast<std::int64_t>(accounts)) b *= 2;
    return b;
  }

  // Long side if `long_side`, else short side; `buckets` buckets 2^shift ticks wide.
  LiquidationIndex(bool long_side, int shift, std::int64_t buckets)
      : long_(long_side),
        buckets_(buckets),
        width_(std::ldexp(1.0, shift)),
        inverse_width_(std::ldexp(1.0, -shift)),
        span_(std::ldexp(static_cast<double>(buckets), shift)) {
    head_.assign(static_cast<std::size_t>(buckets_) * kLanes, kNil);
    occupied_.reset(buckets_);
  }

  // Ticks the buckets cover before the top bucket absorbs everything above.
  double span_ticks() const noexcept { return span_; }
  std::size_t size() const noexcept { return size_; }

  std::int64_t bucket_of(double trigger) const noexcept {
    if (!(trigger >= 0.0)) return 0;                        // also -inf and NaN
    const double b = std::floor(trigger * inverse_width_);  // exact scaling by a power of two
    return b >= static_cast<double>(buckets_ - 1) ? buckets_ - 1 : static_cast<std::int64_t>(b);
  }

  void insert(IndexLinks& links, std::uint32_t a) noexcept {
    const std::int64_t b = bucket_of(links.trigger(a));
    const std::size_t ub = slot(b, a);
    links.prev(a) = kNil;
    links.next(a) = head_[ub];
    if (head_[ub] != kNil) links.prev(head_[ub]) = a;
    head_[ub] = a;
    if (!occupied_.test(static_cast<std::uint64_t>(b))) occupied_.set(static_cast<std::uint64_t>(b));
    ++size_;
    // Keep the frontier's extreme trigger exact where it is cheap to.
    if (frontier_ == OccupancyBitmap::kNone || beyond(b, frontier_)) {
      frontier_ = b;
      extreme_ = links.trigger(a);
      extreme_valid_ = true;
    } else if (b == frontier_ && extreme_valid_ && more_extreme(links.trigger(a), extreme_)) {
      extreme_ = links.trigger(a);
    }
  }

  void remove(IndexLinks& links, std::uint32_t a) noexcept {
    const std::int64_t b = bucket_of(links.trigger(a));
    const std::size_t ub = slot(b, a);
    if (links.prev(a) == kNil) {
      head_[ub] = links.next(a);
    } else {
      links.next(links.prev(a)) = links.next(a);
    }
    if (links.next(a) != kNil) links.prev(links.next(a)) = links.prev(a);
    links.next(a) = links.prev(a) = kNil;
    --size_;
    if (bucket_empty(b)) {
      occupied_.clear(static_cast<std::uint64_t>(b));
      if (b == frontier_) {
        frontier_ = next_inward(b);
        extreme_valid_ = false;
      }
    } else if (b == frontier_ && links.trigger(a) == extreme_) {
      extreme_valid_ = false;  // the extreme left
    }
  }

  // The most extreme trigger of the side (highest long, lowest short), or
  // -inf / +inf when the side is empty.
  double extreme(const IndexLinks& links) noexcept {
    if (frontier_ == OccupancyBitmap::kNone) return long_ ? -kInf : kInf;
    if (!extreme_valid_) {
      extreme_ = long_ ? -kInf : kInf;
      for (std::size_t k = 0; k < kLanes; ++k)
        for (std::uint32_t a = head_[static_cast<std::size_t>(frontier_) * kLanes + k]; a != kNil; a = links.next(a))
          if (more_extreme(links.trigger(a), extreme_)) extreme_ = links.trigger(a);
      extreme_valid_ = true;
    }
    return extreme_;
  }

  // Hand out every account whose trigger may be reached at `mark` (within
  // `slack`): each leaves the index and is appended to `out`. The caller makes
  // the exact check and must re-insert any candidate it does not liquidate.
  // Visits the buckets from the frontier inwards and stops at the first that
  // cannot be reached.
  void candidates(IndexLinks& links, double mark, std::vector<std::uint32_t>& out) {
    if (!reached(extreme(links), mark)) return;  // the common case: O(1)
    // One pass: unlink the reached, and remember the most extreme trigger left
    // behind, which is the frontier bucket's extreme once the reached are gone.
    double rest = long_ ? -kInf : kInf;
    for (std::int64_t b = frontier_; b != OccupancyBitmap::kNone;) {
      // The trigger in bucket b nearest to the mark is below its upper edge (long)
      // or at or above its lower edge (short).
      const double edge = static_cast<double>(long_ ? b + 1 : b) * width_;
      if (long_ ? (b != buckets_ - 1 && edge + slack(edge) < mark) : (b != 0 && edge - slack(edge) > mark)) break;
      const std::size_t first = static_cast<std::size_t>(b) * kLanes;
      std::array<std::uint32_t, kLanes> at{};
      std::array<std::uint32_t, kLanes> kept{};  // per lane, the last account left, in list order
      for (std::size_t k = 0; k < kLanes; ++k) {
        at[k] = head_[first + k];
        kept[k] = kNil;
      }
      for (bool more = true; more;) {
        more = false;
        for (std::size_t k = 0; k < kLanes; ++k) {
          const std::uint32_t a = at[k];
          if (a == kNil) continue;
          more = true;
          const std::uint32_t next = links.next(a);
          const double t = links.trigger(a);
          if (reached(t, mark)) {
            out.push_back(a);
            // Unlink a: its predecessor is the lane's last kept account (or the head).
            if (kept[k] == kNil) {
              head_[first + k] = next;
            } else {
              links.next(kept[k]) = next;
            }
            if (next != kNil) links.prev(next) = kept[k];
            links.next(a) = links.prev(a) = kNil;
            --size_;
          } else {
            kept[k] = a;
            if (more_extreme(t, rest)) rest = t;
          }
          at[k] = next;
        }
      }
      const std::int64_t inward = next_inward(b);
      if (bucket_empty(b)) {
        occupied_.clear(static_cast<std::uint64_t>(b));
        if (b == frontier_) frontier_ = inward;
      }
      b = inward;
    }
    extreme_ = rest;
    extreme_valid_ = !std::isinf(rest);
  }

  static double slack(double x) noexcept { return 1e-9 * std::fabs(x) + 1e-9; }

  // Could the exact test pass at this mark? (Generous by `slack`.)
  bool reached(double trigger, double mark) const noexcept {
    return long_ ? trigger + slack(trigger) >= mark : trigger - slack(trigger) <= mark;
  }

  std::size_t memory_bytes() const noexcept {
    return head_.capacity() * sizeof(std::uint32_t) + occupied_.memory_bytes();
  }

 private:
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  std::size_t slot(std::int64_t b, std::uint32_t a) const noexcept {
    return static_cast<std::size_t>(b) * kLanes + (a & (kLanes - 1));
  }
  bool bucket_empty(std::int64_t b) const noexcept {
    for (std::size_t k = 0; k < kLanes; ++k)
      if (head_[static_cast<std::size_t>(b) * kLanes + k] != kNil) return false;
    return true;
  }
  bool beyond(std::int64_t b, std::int64_t than) const noexcept { return long_ ? b > than : b < than; }
  bool more_extreme(double x, double than) const noexcept { return long_ ? x > than : x < than; }

  // Next occupied bucket from b towards the other side's prices.
  std::int64_t next_inward(std::int64_t b) const noexcept {
    if (long_) return b == 0 ? OccupancyBitmap::kNone : occupied_.prev_at_or_before(static_cast<std::uint64_t>(b - 1));
    return b + 1 >= buckets_ ? OccupancyBitmap::kNone : occupied_.next_at_or_after(static_cast<std::uint64_t>(b + 1));
  }

  bool long_;
  std::int64_t buckets_;
  double width_;          // 2^shift ticks
  double inverse_width_;  // 2^-shift
  double span_;           // buckets x width
  std::vector<std::uint32_t> head_;
  OccupancyBitmap occupied_;
  std::int64_t frontier_ = OccupancyBitmap::kNone;
  double extreme_ = 0.0;
  bool extreme_valid_ = false;
  std::size_t size_ = 0;
};

}  // namespace deleverage
