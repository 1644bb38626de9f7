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
// the GIL; every other method takes it too (bindings::locked).
struct PyOrderBook {
  OrderBook book;
  std::vector<Fill> fills;
  std::mutex mutex;

  PyOrderBook(StpMode stp, std::int64_t max_ladder_levels, bool track_owners)
      : book(stp, max_ladder_levels, track_owners) {
    fills.reserve(1024);
  }

  // The constructor's arguments as Python objects: each error names its field.
  static PyOrderBook* from_python(const py::object& stp, const py::object& max_ladder_levels,
                                  const py::object& track_owners) {
    const auto mode = field_int_in(stp, "stp", 0, 2, "must be 0 (NONE), 1 (CANCEL_RESTING) or 2 (CANCEL_INCOMING)");
    const auto levels = field_int(max_ladder_levels, "max_ladder_levels", 1, kMaxLadderLevelsLimit);
    return new PyOrderBook(static_cast<StpMode>(mode), levels, field_bool(track_owners, "track_owners"));
  }
};

}  // namespace deleverage::bindings
