// A recorded (or imagined) price path laid onto the clock: one price per step,
// in price units. The values belong to whoever made them (a numpy array read
// from a file): the path points into them and `owner` keeps them alive, so
// handing a path to the engine copies nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace deleverage {

struct PricePath {
  const double* values = nullptr;  // price units, values[t] at step t
  std::size_t size = 0;
  std::shared_ptr<const void> owner;

  bool empty() const noexcept { return values == nullptr; }
  double at(std::uint64_t step) const noexcept { return values[step]; }
};

}  // namespace deleverage
