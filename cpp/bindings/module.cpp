#include "pybind.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "deleverage engine: order books, margin and populations (C++)";
  register_records(m);
  register_specs(m);
  register_order_book(m);
  register_message_stream(m);
  register_margin(m);
  register_price_path(m);
  register_simulation(m);
  register_stress(m);
}
