// Random numbers addressed by (seed, stream, step, index): any draw can be made
// alone, in any order, on any thread, and is the same every time.
#pragma once

#include <cmath>
#include <cstdint>

#include "deleverage/philox.hpp"

namespace deleverage {

class CounterRng {
 public:
  explicit CounterRng(std::uint64_t seed) noexcept : seed_(seed) {}

  // Four independent 32-bit words for one (stream, step, index).
  PhiloxBlock block(std::uint32_t stream, std::uint64_t step, std::uint64_t index) const noexcept {
    const PhiloxKey key{static_cast<std::uint32_t>(seed_),
                        static_cast<std::uint32_t>(seed_ >> 32) ^ (stream * 0x9E3779B9u)};
    return philox4x32_10({static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                          static_cast<std::uint32_t>(index), static_cast<std::uint32_t>(index >> 32) ^ stream},
                         key);
  }

  // Two uniforms in (0, 1) (never 0, so logs are finite).
  static double open_unit(std::uint32_t hi, std::uint32_t lo) noexcept {
    const std::uint64_t bits = ((std::uint64_t{hi} << 32) | lo) >> 11;
    return (static_cast<double>(bits) + 0.5) * 0x1.0p-53;
  }

  double uniform(std::uint32_t stream, std::uint64_t step, std::uint64_t index) const noexcept {
    const PhiloxBlock b = block(stream, step, index);
    return open_unit(b[0], b[1]);
  }

  // A standard normal (Box-Muller on one block).
  double normal(std::uint32_t stream, std::uint64_t step, std::uint64_t index) const noexcept {
    const PhiloxBlock b = block(stream, step, index);
    const double u1 = open_unit(b[0], b[1]);
    const double u2 = open_unit(b[2], b[3]);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  std::uint64_t seed_;
};

// Streams: one per purpose, so adding draws to one never shifts another.
enum RngStream : std::uint32_t {
  kStreamFundamental = 1,
  kStreamActivation = 2,
  kStreamDecision = 3,
  kStreamInterleave = 4,
  kStreamSentiment = 5,
  kStreamFundamentalVolatility = 6,
  kStreamNewsCount = 7,
  kStreamNewsSize = 8,
};

}  // namespace deleverage
