// Ascending sort of 64-bit keys, least significant byte first.
//
// The step's accounts are put in a seeded random order by sorting keys whose
// high half is a random draw and whose low half is the account: a few thousand
// keys a step, every step. Comparison sorts mispredict half their branches on
// random keys; counting sorts do not branch. One pass over the keys counts all
// eight bytes, and a byte that is the same in every key (the account's high
// bytes, in any run under 2^24 accounts) costs no pass. The result is the same
// permutation std::sort gives, so runs stay bit-identical.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace deleverage {

class RadixSorter {
 public:
  // Below this many keys std::sort is as fast, and needs no counting.
  static constexpr std::size_t kSmall = 128;

  void sort(std::vector<std::uint64_t>& keys) {
    const std::size_t n = keys.size();
    if (n < kSmall) {
      std::sort(keys.begin(), keys.end());
      return;
    }
    for (auto& c : counts_) c.fill(0);
    for (const std::uint64_t k : keys)
      for (std::size_t b = 0; b < 8; ++b) ++counts_[b][(k >> (8 * b)) & 0xFF];
    scratch_.resize(n);
    std::uint64_t* from = keys.data();
    std::uint64_t* to = scratch_.data();
    for (std::size_t b = 0; b < 8; ++b) {
      auto& count = counts_[b];
      // One value of this byte in every key: the order stands as it is.
      if (count[(from[0] >> (8 * b)) & 0xFF] == n) continue;
      std::uint32_t start = 0;
      for (auto& c : count) {
        const std::uint32_t here = c;
        c = start;
        start += here;
      }
      for (std::size_t k = 0; k < n; ++k) to[count[(from[k] >> (8 * b)) & 0xFF]++] = from[k];
      std::swap(from, to);
    }
    if (from != keys.data()) std::copy(from, from + n, keys.data());
  }

 private:
  std::array<std::array<std::uint32_t, 256>, 8> counts_{};
  std::vector<std::uint64_t> scratch_;
};

}  // namespace deleverage
