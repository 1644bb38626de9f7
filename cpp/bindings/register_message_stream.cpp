#include "pybind.hpp"

#include "deleverage/message_stream.hpp"

using namespace deleverage;
using deleverage::bindings::adopt;

void register_message_stream(py::module_& m) {
  m.def(
      "generate_message_stream",
      [](std::uint64_t messages, std::uint64_t seed, Price start_price, std::int64_t half_width, double limit_share,
         double cancel_share, double cross_share, std::uint64_t target_resting, Qty max_qty, std::uint32_t owners) {
        MessageStreamSpec spec{messages, seed, start_price, half_width, limit_share, cancel_share, cross_share, target_resting, max_qty, owners};
        std::vector<Message> out;
        {
          py::gil_scoped_release release;
          out = generate_message_stream(spec);
        }
        return adopt(std::move(out));
      },
      py::arg("messages"), py::arg("seed") = 1, py::arg("start_price") = 1'000'000, py::arg("half_width") = 50,
      py::arg("limit_share") = 0.6, py::arg("cancel_share") = 0.3, py::arg("cross_share") = 0.2,
      py::arg("target_resting") = 20'000, py::arg("max_qty") = 100,
      py::arg("owners") = 1000,
      "The standard seeded benchmark stream (MESSAGE_DTYPE): limits within +-half_width ticks of the mid, "
      "cancels of live orders, market orders for the rest.");
}
