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
  // Below this many keys a pass over every byte costs more than the keys: they
  // are spread by their top byte alone, then put in order by insertion.
  static constexpr std::size_t kSmall = 128;
  // Below this many, insertion alone.
  static constexpr std::size_t kTiny = 16;

  void sort(std::vector<std::uint64_t>& keys) {
    const std::size_t n = keys.size();
    if (n < kSmall) {
      sort_short(keys);
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
  // The step's keys have a uniform draw above: one counting pass on the top byte
  // leaves about one key a bucket, so the insertion that finishes the order moves
  // few (a comparison sort mispredicts half its branches on such keys).
  void sort_short(std::vector<std::uint64_t>& keys) {
    const std::size_t n = keys.size();
    std::uint64_t* out = keys.data();
    const std::uint64_t* in = out;
    if (n >= kTiny) {
      auto& count = counts_[0];
      count.fill(0);
      for (const std::uint64_t k : keys) ++count[k >> 56];
      std::uint32_t start = 0;
      for (auto& c : count) {
        const std::uint32_t here = c;
        c = start;
        start += here;
      }
      scratch_.resize(n);
      for (const std::uint64_t k : keys) scratch_[count[k >> 56]++] = k;
      in = scratch_.data();
    }
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t v = in[i];
      std::size_t j = i;
      for (; j > 0 && out[j - 1] > v; --j) out[j] = out[j - 1];
      out[j] = v;
    }
  }

  std::array<std::array<std::uint32_t, 256>, 8> counts_{};
  std::vector<std::uint64_t> scratch_;
};

}  // namespace deleverage
