// Included first by every binding file: one place for pybind11 headers, the
// register_* entry points of the components, and the helpers every binding
// shares (argument conversion that names the field, locking across threads).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;

namespace deleverage::bindings {

// A numpy array that takes ownership of a vector's buffer: no copy.
template <class T>
py::array_t<T> adopt(std::vector<T>&& v) {
  if (v.empty()) return py::array_t<T>(0);  // no capsule for nothing
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(heap->size())}, {static_cast<py::ssize_t>(sizeof(T))}, heap->data(),
                        owner);
}

// A fresh numpy array holding a copy of n records.
template <class T>
py::array_t<T> copy_records(const T* data, std::size_t n) {
  py::array_t<T> out(static_cast<py::ssize_t>(n));
  if (n != 0) std::memcpy(out.mutable_data(), data, n * sizeof(T));
  return out;
}

// ---- Locking -------------------------------------------------------------
//
// Every bound object has one mutex, taken by every method. Calls hold the GIL
// when they arrive and the long ones release it, so nobody may wait for a
// mutex while holding the GIL (the holder might need the GIL to finish):
// try the lock first (uncontended: ~20 ns, no GIL round trip), else wait with
// the GIL released. `f` runs under the lock, with or without the GIL, so it
// must touch only C++ data: copy out there, build Python objects after.
template <class Mutex, class F>
auto locked(Mutex& m, F&& f) -> decltype(f()) {
  {
    std::unique_lock<Mutex> lock(m, std::try_to_lock);
    if (lock.owns_lock()) return f();
  }
  py::gil_scoped_release release;
  std::lock_guard<Mutex> lock(m);
  return f();
}

// ---- Arguments -----------------------------------------------------------
//
// pybind11's own casters answer a wrong type or an out-of-range int with
// "incompatible function arguments" and never say which argument. These take
// the Python object and raise TypeError (wrong type) or ValueError (out of
// range) starting with the field's name.

inline std::string type_name(py::handle o) { return Py_TYPE(o.ptr())->tp_name; }

// "must be in lo..hi [unit]"; "must be >= lo" for a value below an open-ended range.
inline std::string range_text(std::int64_t lo, std::int64_t hi, const char* unit, bool below) {
  std::string s = below && hi == std::numeric_limits<std::int64_t>::max()
                      ? "must be >= " + std::to_string(lo)
                      : "must be in " + std::to_string(lo) + ".." + std::to_string(hi);
  if (unit != nullptr && *unit != '\0') s += std::string(" ") + unit;
  return s;
}

// A Python int or numpy integer (never a bool, float or string), as a Python int.
inline py::int_ as_int(py::handle o, const std::string& field) {
  if (PyBool_Check(o.ptr()) || !(PyLong_Check(o.ptr()) || PyIndex_Check(o.ptr())))
    throw py::type_error(field + ": must be an int, got " + type_name(o));
  PyObject* v = PyNumber_Index(o.ptr());
  if (v == nullptr) {
    PyErr_Clear();
    throw py::type_error(field + ": must be an int, got " + type_name(o));
  }
  return py::reinterpret_steal<py::int_>(v);
}

// An int in lo..hi, else ValueError "<field>: <allowed>, got <value>".
inline std::int64_t field_int_in(py::handle o, const std::string& field, std::int64_t lo, std::int64_t hi,
                                 const std::string& allowed) {
  const py::int_ v = as_int(o, field);
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (x == -1 && PyErr_Occurred()) PyErr_Clear();
  if (overflow != 0 || x < lo || x > hi)
    throw py::value_error(field + ": " + allowed + ", got " + std::string(py::str(v)));
  return static_cast<std::int64_t>(x);
}

// An int in lo..hi; `unit` (ticks, lots) follows the range in the message.
inline std::int64_t field_int(py::handle o, const std::string& field, std::int64_t lo, std::int64_t hi,
                              const char* unit = "") {
  const py::int_ v = as_int(o, field);
  int overflow = 0;
  const long long x = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
  if (x == -1 && PyErr_Occurred()) PyErr_Clear();
  if (overflow != 0 || x < lo || x > hi) {
    const bool below = overflow < 0 || (overflow == 0 && x < lo);
    throw py::value_error(field + ": " + range_text(lo, hi, unit, below) + ", got " + std::string(py::str(v)));
  }
  return static_cast<std::int64_t>(x);
}

inline std::int64_t field_int(py::handle o, const std::string& field) {
  return field_int(o, field, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
}

// An int in 0..2**64-1 (order ids are handles that use every bit).
inline std::uint64_t field_uint64(py::handle o, const std::string& field) {
  const py::int_ v = as_int(o, field);
  const unsigned long long x = PyLong_AsUnsignedLongLong(v.ptr());
  if (x == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(field + ": must be in 0..18446744073709551615, got " + std::string(py::str(v)));
  }
  return static_cast<std::uint64_t>(x);
}

// True or False (or a numpy bool) only: "no" or 1 must not pass for True.
inline bool field_bool(py::handle o, const std::string& field) {
  if (o.ptr() == Py_True) return true;
  if (o.ptr() == Py_False) return false;
  const char* t = Py_TYPE(o.ptr())->tp_name;
  if (std::strcmp(t, "numpy.bool") == 0 || std::strcmp(t, "numpy.bool_") == 0) return PyObject_IsTrue(o.ptr()) == 1;
  throw py::type_error(field + ": must be a bool (True or False), got " + type_name(o));
}

// A real number (int or float, numpy's too; never a bool or string). Finite
// or not is the engine's to judge: its message states the allowed range.
inline double field_double(py::handle o, const std::string& field) {
  PyObject* p = o.ptr();
  const bool number = PyFloat_Check(p) || PyLong_Check(p) || PyIndex_Check(p) ||
                      (Py_TYPE(p)->tp_as_number != nullptr && Py_TYPE(p)->tp_as_number->nb_float != nullptr);
  if (PyBool_Check(p) || !number) throw py::type_error(field + ": must be a number, got " + type_name(o));
  const double x = PyFloat_AsDouble(p);
  if (x == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    throw py::value_error(field + ": must be a number within the range of a double, got " + std::string(py::repr(o)));
  }
  return x;
}

inline std::string field_str(py::handle o, const std::string& field) {
  if (!PyUnicode_Check(o.ptr())) throw py::type_error(field + ": must be a str, got " + type_name(o));
  return o.cast<std::string>();
}

// A list, tuple or 1-d array of numbers (not a string), element k named field[k].
inline std::vector<double> field_doubles(py::handle o, const std::string& field) {
  if (PyUnicode_Check(o.ptr()) || PyBytes_Check(o.ptr()) || !PySequence_Check(o.ptr()))
    throw py::type_error(field + ": must be a sequence of numbers, got " + type_name(o));
  const auto seq = py::reinterpret_borrow<py::sequence>(o);
  std::vector<double> out;
  out.reserve(seq.size());
  for (std::size_t k = 0; k < seq.size(); ++k)
    out.push_back(field_double(seq[k], field + "[" + std::to_string(k) + "]"));
  return out;
}

// A numpy array of T (c-contiguous) from any array-like of a compatible kind:
// integers for integer T (range-checked, never wrapped), integers or floats
// for floating T. Values within T are the engine's to judge.
template <class T>
py::array_t<T, py::array::c_style | py::array::forcecast> field_array(py::handle o, const std::string& field) {
  using Out = py::array_t<T, py::array::c_style | py::array::forcecast>;
  constexpr bool floating = std::is_floating_point<T>::value;
  const std::string want = floating ? "numbers" : "integers";
  const bool text = PyUnicode_Check(o.ptr()) || PyBytes_Check(o.ptr());
  const py::array a =
      o.is_none() || text ? py::array(py::reinterpret_steal<py::array>(py::handle())) : py::array::ensure(o);
  if (!a) throw py::type_error(field + ": must be an array of " + want + ", got " + type_name(o));
  if (a.dtype().equal(py::dtype::of<T>())) return Out::ensure(a);  // the usual case: nothing to check
  const char kind = a.dtype().kind();
  const bool ok = kind == 'i' || kind == 'u' || (floating && kind == 'f');
  if (!ok)
    throw py::type_error(field + ": must be an array of " + want + ", got dtype " + std::string(py::str(a.dtype())));
  if constexpr (!floating) {
    if (a.size() == 0) return Out::ensure(a);
    const py::int_ lo(a.attr("min")());
    const py::int_ hi(a.attr("max")());
    const py::int_ tlo(std::numeric_limits<T>::min());
    const py::int_ thi(std::numeric_limits<T>::max());
    const bool below = PyObject_RichCompareBool(lo.ptr(), tlo.ptr(), Py_LT) == 1;
    if (below || PyObject_RichCompareBool(hi.ptr(), thi.ptr(), Py_GT) == 1)
      throw py::value_error(field + ": must be in " + std::string(py::str(tlo)) + ".." + std::string(py::str(thi)) +
                            ", got " + std::string(py::str(below ? lo : hi)));
  }
  Out out = Out::ensure(a);
  if (!out) throw py::type_error(field + ": could not be read as an array of " + want);
  return out;
}

}  // namespace deleverage::bindings

void register_records(py::module_& m);
void register_specs(py::module_& m);
void register_order_book(py::module_& m);
void register_message_stream(py::module_& m);
void register_margin(py::module_& m);
void register_price_path(py::module_& m);
void register_simulation(py::module_& m);
void register_stress(py::module_& m);
