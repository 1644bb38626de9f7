// An owning pointer whose copy owns a copy of what it points to: a run forked
// at a step copies its engine and books with the rest of its state, and what
// holds them by pointer (so that their addresses stay put) copies by value.
#pragma once

#include <memory>
#include <utility>

namespace deleverage {

template <class T>
class CopiedPtr {
 public:
  CopiedPtr() = default;
  explicit CopiedPtr(std::unique_ptr<T> p) noexcept : p_(std::move(p)) {}
  CopiedPtr(const CopiedPtr& other) : p_(other.p_ ? std::make_unique<T>(*other.p_) : nullptr) {}
  CopiedPtr(CopiedPtr&&) noexcept = default;
  CopiedPtr& operator=(const CopiedPtr&) = delete;
  CopiedPtr& operator=(CopiedPtr&&) noexcept = default;

  T* get() const noexcept { return p_.get(); }
  T& operator*() const noexcept { return *p_; }
  T* operator->() const noexcept { return p_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(p_); }

 private:
  std::unique_ptr<T> p_;
};

}  // namespace deleverage
