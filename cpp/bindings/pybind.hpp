// Included first by every binding file: one place for pybind11 headers and the
// register_* entry points of the components.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace deleverage::bindings {

// A numpy array that takes ownership of a vector's buffer: no copy.
template <class T>
py::array_t<T> adopt(std::vector<T>&& v) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(heap->size())}, {static_cast<py::ssize_t>(sizeof(T))},
                        heap->data(), owner);
}

// A fresh numpy array holding a copy of n records.
template <class T>
py::array_t<T> copy_records(const T* data, std::size_t n) {
  py::array_t<T> out(static_cast<py::ssize_t>(n));
  if (n != 0) std::memcpy(out.mutable_data(), data, n * sizeof(T));
  return out;
}

}  // namespace deleverage::bindings

void register_records(py::module_& m);
void register_order_book(py::module_& m);
void register_message_stream(py::module_& m);
void register_margin(py::module_& m);
void register_simulation(py::module_& m);
