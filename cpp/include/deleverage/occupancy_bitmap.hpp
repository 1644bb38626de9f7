// A two-level bitmap over n slots: which slots are occupied, and the next
// occupied slot above or below any position in a couple of word scans.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace deleverage {

class OccupancyBitmap {
 public:
  static constexpr std::int64_t kNone = -1;

  // n is rounded up to a multiple of 64; every slot starts empty.
  void reset(std::int64_t n) {
    const auto words = static_cast<std::size_t>((n + 63) / 64);
    l0_.assign(words, 0);
    l1_.assign((words + 63) / 64, 0);
  }

  void set(std::uint64_t i) noexcept {
    l0_[i >> 6] |= std::uint64_t{1} << (i & 63);
    l1_[i >> 12] |= std::uint64_t{1} << ((i >> 6) & 63);
  }

  void clear(std::uint64_t i) noexcept {
    std::uint64_t& w = l0_[i >> 6];
    w &= ~(std::uint64_t{1} << (i & 63));
    if (w == 0) l1_[i >> 12] &= ~(std::uint64_t{1} << ((i >> 6) & 63));
  }

  bool test(std::uint64_t i) const noexcept { return (l0_[i >> 6] >> (i & 63)) & 1u; }

  // Lowest occupied slot >= i, or kNone.
  std::int64_t next_at_or_after(std::uint64_t i) const noexcept {
    std::uint64_t word = i >> 6;
    if (word >= l0_.size()) return kNone;
    const std::uint64_t bits = l0_[word] & (~std::uint64_t{0} << (i & 63));
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

  // Highest occupied slot <= i, or kNone.
  std::int64_t prev_at_or_before(std::uint64_t i) const noexcept {
    std::uint64_t word = i >> 6;
    const unsigned b = static_cast<unsigned>(i & 63);
    const std::uint64_t bits = l0_[word] & (b == 63 ? ~std::uint64_t{0} : ((std::uint64_t{1} << (b + 1)) - 1));
    if (bits) return static_cast<std::int64_t>((word << 6) | (63u - static_cast<unsigned>(std::countl_zero(bits))));
    if (word == 0) return kNone;
    const std::uint64_t target = word - 1;  // last word that may hold a slot
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

  // Calls f(slot) for every occupied slot in [lo, hi] (hi < the slot count),
  // lowest first: a word at a time, so a range costs its words, not its levels.
  template <class F>
  void for_each_in(std::uint64_t lo, std::uint64_t hi, F&& f) const {
    if (lo > hi) return;
    const std::uint64_t last = hi >> 6;
    for (std::uint64_t word = lo >> 6; word <= last; ++word) {
      std::uint64_t bits = l0_[word];
      if (word == lo >> 6) bits &= ~std::uint64_t{0} << (lo & 63);
      if (word == last && (hi & 63) != 63) bits &= (std::uint64_t{1} << ((hi & 63) + 1)) - 1;
      while (bits) {
        f((word << 6) | static_cast<unsigned>(std::countr_zero(bits)));
        bits &= bits - 1;
      }
    }
  }

  std::size_t memory_bytes() const noexcept { return (l0_.capacity() + l1_.capacity()) * sizeof(std::uint64_t); }

 private:
  std::vector<std::uint64_t> l0_;  // one bit per slot
  std::vector<std::uint64_t> l1_;  // one bit per l0 word
};

}  // namespace deleverage
