// The engine's specs as Python classes with keyword constructors: a spec is
// built as `SpeculatorSpec(threshold=0.001, ...)`, every field optional (the
// C++ default), an unknown keyword or a positional argument a TypeError, and
// each field read back as a read-only property. `fields` lists the field
// names in declaration order. Adding a field to a spec is one `.field(...)`
// line in register_specs.cpp (and one in _core.pyi).
#pragma once

#include "pybind.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace deleverage::bindings {

template <class T>
struct is_variant : std::false_type {};
template <class... A>
struct is_variant<std::variant<A...>> : std::true_type {};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// The Python name of a bound type ("one of A, B" for a variant of bound types).
template <class F>
std::string bound_name();

template <class... A>
std::string alternatives(const std::variant<A...>*) {
  std::string out;
  ((out += (out.empty() ? "" : ", ") + bound_name<A>()), ...);
  return "one of " + out;
}

template <class F>
std::string bound_name() {
  if constexpr (is_variant<F>::value) {
    return alternatives(static_cast<const F*>(nullptr));
  } else {
    const auto* info = py::detail::get_type_info(typeid(F));
    return info != nullptr ? std::string(info->type->tp_name) : py::type_id<F>();
  }
}

// A Python value as a field of type F; errors start with `where`.
template <class F>
F spec_value(py::handle v, const std::string& where) {
  if constexpr (std::is_same_v<F, bool>) {
    return field_bool(v, where);
  } else if constexpr (std::is_floating_point_v<F>) {
    return static_cast<F>(field_double(v, where));
  } else if constexpr (std::is_same_v<F, std::uint64_t>) {
    return field_uint64(v, where);
  } else if constexpr (std::is_integral_v<F>) {
    return static_cast<F>(field_int(v, where, static_cast<std::int64_t>(std::numeric_limits<F>::min()),
                                    static_cast<std::int64_t>(std::numeric_limits<F>::max())));
  } else if constexpr (is_optional<F>::value) {
    if (v.is_none()) return F{};
    return F{spec_value<typename F::value_type>(v, where)};
  } else if constexpr (is_vector<F>::value) {
    if (PyUnicode_Check(v.ptr()) || PyBytes_Check(v.ptr()) || !PySequence_Check(v.ptr()))
      throw py::type_error(where + ": must be a sequence, got " + type_name(v));
    const auto seq = py::reinterpret_borrow<py::sequence>(v);
    F out;
    out.reserve(seq.size());
    for (std::size_t k = 0; k < seq.size(); ++k)
      out.push_back(spec_value<typename F::value_type>(seq[k], where + "[" + std::to_string(k) + "]"));
    return out;
  } else {
    // A bound class or enum (or a variant of bound classes): exactly that type, no conversion.
    // (None would pass the caster and fail later as a reference cast, which
    // pybind11 reports as a mismatch of the whole call, naming no field.)
    const std::string want = is_variant<F>::value ? bound_name<F>() : "a " + bound_name<F>();
    if (v.is_none()) throw py::type_error(where + ": must be " + want + ", got NoneType");
    try {
      return v.cast<F>();
    } catch (const py::cast_error&) {
      throw py::type_error(where + ": must be " + want + ", got " + type_name(v));
    }
  }
}

template <class T>
class SpecClass {
 public:
  SpecClass(py::handle scope, const char* name, const char* doc) : cls_(scope, name, doc), name_(name) {}

  // A field stored as is.
  template <class F>
  SpecClass& field(const char* name, F T::* member, const char* doc) {
    cls_.def_readonly(name, member, doc);
    const std::string where = name_ + "." + name;
    add(name, [member, where](T& t, py::handle v) { t.*member = spec_value<F>(v, where); });
    return *this;
  }

  // A field the engine stores in another shape: `get` reads it back, `set` stores a value of type F.
  template <class F, class Get, class Set>
  SpecClass& field_as(const char* name, Get get, Set set, const char* doc) {
    cls_.def_property_readonly(name, get, doc);
    const std::string where = name_ + "." + name;
    add(name, [set, where](T& t, py::handle v) { set(t, spec_value<F>(v, where)); });
    return *this;
  }

  template <class... Args>
  SpecClass& def(Args&&... args) {
    cls_.def(std::forward<Args>(args)...);
    return *this;
  }

  template <class... Args>
  SpecClass& def_property_readonly(Args&&... args) {
    cls_.def_property_readonly(std::forward<Args>(args)...);
    return *this;
  }

  // The keyword constructor, `fields` and a repr.
  py::class_<T>& finish() {
    auto setters = setters_;
    const std::string cls = name_;
    cls_.def(py::init([setters, cls](const py::kwargs& kwargs) {
               T t{};
               for (const auto& [key, value] : kwargs) {
                 const auto k = py::str(key).template cast<std::string>();
                 bool known = false;
                 for (const auto& [name, set] : *setters)
                   if (name == k) {
                     set(t, value);
                     known = true;
                     break;
                   }
                 if (!known) throw py::type_error(cls + "() got an unexpected keyword argument '" + k + "'");
               }
               return t;
             }),
             ("Keyword arguments only: " + names()).c_str());
    py::tuple fields(setters_->size());
    for (std::size_t k = 0; k < setters_->size(); ++k) fields[k] = py::str((*setters_)[k].first);
    cls_.attr("fields") = fields;
    cls_.def("__repr__", [cls](const py::object& self) {
      std::string out = cls + "(";
      bool first = true;
      for (const auto& name : self.attr("fields")) {
        if (!first) out += ", ";
        first = false;
        const auto n = py::str(name).template cast<std::string>();
        out += n + "=" + std::string(py::repr(self.attr(n.c_str())));
      }
      return out + ")";
    });
    return cls_;
  }

 private:
  using Setter = std::function<void(T&, py::handle)>;

  void add(const char* name, Setter set) { setters_->emplace_back(name, std::move(set)); }

  std::string names() const {
    std::string out;
    for (const auto& [name, set] : *setters_) out += (out.empty() ? "" : ", ") + name;
    return out;
  }

  py::class_<T> cls_;
  std::string name_;
  std::shared_ptr<std::vector<std::pair<std::string, Setter>>> setters_ =
      std::make_shared<std::vector<std::pair<std::string, Setter>>>();
};

}  // namespace deleverage::bindings
