#include "pybind.hpp"

#include <memory>
#include <string>

#include "deleverage/price_path.hpp"

using namespace deleverage;

namespace {

// The array itself is kept (not copied): the path points into its buffer.
PricePath path_of(const py::object& values) {
  if (!py::isinstance<py::array>(values))
    throw py::type_error("values: must be a numpy array of float64, got " +
                         std::string(py::str(py::type::of(values).attr("__name__"))));
  const auto array = py::reinterpret_borrow<py::array>(values);
  if (!array.dtype().is(py::dtype::of<double>()))
    throw py::type_error("values: must be float64, got " + std::string(py::str(array.dtype())));
  if (array.ndim() != 1) throw py::value_error("values: must be one-dimensional");
  if ((array.flags() & py::array::c_style) == 0) throw py::value_error("values: must be contiguous");
  if (array.size() == 0) throw py::value_error("values: must hold at least one price");
  PricePath path;
  path.values = static_cast<const double*>(array.data());
  path.size = static_cast<std::size_t>(array.size());
  path.owner = std::shared_ptr<const void>(new py::object(array), [](const void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<const py::object*>(p);
  });
  return path;
}

}  // namespace

void register_price_path(py::module_& m) {
  py::class_<PricePath>(m, "PricePath",
                        "A price path on the clock: one price (price units, > 0) per step. It points into "
                        "`values` (float64, contiguous), which it keeps alive: nothing is copied.")
      .def(py::init(&path_of), py::arg("values"))
      .def_property_readonly(
          "values",
          [](const PricePath& p) {
            const auto& owner = *static_cast<const py::object*>(p.owner.get());
            return py::reinterpret_borrow<py::array>(owner);
          },
          "The array the path points into (the very object given).")
      .def("__len__", [](const PricePath& p) { return p.size; });
}
