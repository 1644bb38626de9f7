#include "pybind.hpp"

#include <cstdint>
#include <limits>

#include "deleverage/message_stream.hpp"

using namespace deleverage;
using deleverage::bindings::adopt;

void register_message_stream(py::module_& m) {
  m.def(
      "generate_message_stream",
      // Python objects in, each converted with its field's name: a wrong type or an
      // out-of-range int is a TypeError/ValueError naming it, never pybind's generic one.
      [](const py::object& messages, const py::object& seed, const py::object& start_price,
         const py::object& half_width, const py::object& limit_share, const py::object& cancel_share,
         const py::object& cross_share, const py::object& target_resting, const py::object& max_qty,
         const py::object& owners) {
        using namespace deleverage::bindings;
        const std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
        MessageStreamSpec spec{
            static_cast<std::uint64_t>(field_int(messages, "messages", 0, (std::int64_t{1} << 32) - 1)),
            field_uint64(seed, "seed"),
            field_int(start_price, "start_price", 1, kMaxPrice, "ticks"),
            field_int(half_width, "half_width", 1, 100'000, "ticks"),
            field_double(limit_share, "limit_share"),
            field_double(cancel_share, "cancel_share"),
            field_double(cross_share, "cross_share"),
            static_cast<std::uint64_t>(field_int(target_resting, "target_resting", 1, int64_max)),
            field_int(max_qty, "max_qty", 1, kMaxQty, "lots"),
            static_cast<std::uint32_t>(field_int(owners, "owners", 1, 0xFFFFFFFFll))};
        std::vector<Message> out;
        {
          py::gil_scoped_release release;
          out = generate_message_stream(spec);
        }
        return adopt(std::move(out));
      },
      py::arg("messages"), py::arg("seed") = 1, py::arg("start_price") = 1'000'000, py::arg("half_width") = 50,
      py::arg("limit_share") = 0.6, py::arg("cancel_share") = 0.3, py::arg("cross_share") = 0.2,
      py::arg("target_resting") = 20'000, py::arg("max_qty") = 100, py::arg("owners") = 1000,
      "The standard seeded benchmark stream (MESSAGE_DTYPE): limits within +-half_width ticks of the mid, "
      "cancels of live orders, market orders for the rest.");
}
