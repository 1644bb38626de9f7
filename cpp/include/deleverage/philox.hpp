// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11).
// Keyed by (seed, stream), indexed by a 128-bit counter: any draw can be made
// independently of every other, so results never depend on thread count.
#pragma once

#include <array>
#include <cstdint>

namespace deleverage {

using PhiloxBlock = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

inline PhiloxBlock philox4x32_10(PhiloxBlock ctr, PhiloxKey key) noexcept {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    const std::uint64_t p0 = std::uint64_t{kM0} * ctr[0];
    const std::uint64_t p1 = std::uint64_t{kM1} * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
  }
  return ctr;
}

// A sequential stream of draws from one (seed, stream) key.
class PhiloxStream {
 public:
  PhiloxStream(std::uint64_t seed, std::uint64_t stream) noexcept
      : key_{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}, stream_(stream) {}

  std::uint64_t next_u64() noexcept {
    if (have_ == 0) refill();
    have_ -= 2;
    return (std::uint64_t{buf_[have_ + 1]} << 32) | buf_[have_];
  }

  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, bias < 2^-64 * n).
  std::uint64_t below(std::uint64_t n) noexcept {
    __extension__ using u128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<u128>(next_u64()) * n) >> 64);
  }

  // Uniform double in [0, 1).
  double uniform() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

 private:
  void refill() noexcept {
    buf_ = philox4x32_10({static_cast<std::uint32_t>(counter_), static_cast<std::uint32_t>(counter_ >> 32),
                          static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
                         key_);
    ++counter_;
    have_ = 4;
  }

  PhiloxKey key_;
  std::uint64_t stream_;
  std::uint64_t counter_ = 0;
  PhiloxBlock buf_{};
  std::size_t have_ = 0;
};

}  // namespace deleverage
