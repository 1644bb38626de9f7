// The Python-side OrderBook: shared by the book and margin bindings.
#pragma once

#include "pybind.hpp"

#include <mutex>
#include <string>
#include <vector>

#include "deleverage/order_book.hpp"

namespace deleverage::bindings {

// A book plus the scratch space its Python calls reuse, so the steady state
// allocates nothing per message. The mutex serialises calls that run without
// the GIL.
struct PyOrderBook {
  OrderBook book;
  std::vector<Fill> fills;
  std::mutex mutex;

  PyOrderBook(int stp, std::int64_t max_ladder_levels, bool track_owners)
      : book(checked_stp(stp), max_ladder_levels, track_owners) {
    fills.reserve(1024);
  }

  static StpMode checked_stp(int stp) {
    if (stp < 0 || stp > 2)
      throw py::value_error("stp: must be 0 (NONE), 1 (CANCEL_RESTING) or 2 (CANCEL_INCOMING), got " +
                            std::to_string(stp));
    return static_cast<StpMode>(stp);
  }
};

}  // namespace deleverage::bindings
