// The fields a decision and a fill read of an account, side by side in one row:
// cash, realized P&L, then its position and its cost in each instrument.
//
// The accounts due in a step, and the traders of a batch of fills, are a
// random draw over millions of rows; each field in a column of its own costs
// a cache miss per field. A row is 32 bytes for one instrument and a multiple
// of 64 bytes for more, aligned, so one to three instruments take one line.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "deleverage/codes.hpp"

namespace deleverage {

// Where account a's position and cost in instrument i are (Ledger::at(a, i)):
// a word of the rows, not a * instruments + i.
struct Cell {
  std::size_t word;
};

// A per-account field of the rows: account a's value is data()[a * stride()].
template <class T>
class RowField {
 public:
  static_assert(sizeof(T) == 8, "a row is made of 8-byte words");
  using value_type = T;
  T& operator[](std::size_t a) noexcept { return base_[a * stride_]; }
  const T& operator[](std::size_t a) const noexcept { return base_[a * stride_]; }
  const T* data() const noexcept { return base_; }
  std::size_t stride() const noexcept { return stride_; }  // elements from one account's value to the next's

 private:
  friend class AccountRows;
  T* base_ = nullptr;
  std::size_t stride_ = 1;
};

// A per-(account, instrument) field: the value of the cell Ledger::at(a, i) names;
// account a's row of it is data()[a * stride() + i].
template <class T>
class CellField {
 public:
  static_assert(sizeof(T) == 8, "a row is made of 8-byte words");
  using value_type = T;
  T& operator[](Cell c) noexcept { return base_[c.word]; }
  const T& operator[](Cell c) const noexcept { return base_[c.word]; }
  const T* data() const noexcept { return base_; }
  std::size_t stride() const noexcept { return stride_; }

 private:
  friend class AccountRows;
  T* base_ = nullptr;
  std::size_t stride_ = 1;
};

// The rows themselves: owned, grown by whole rows (new rows zero), copied
// whole (a run forked at a step). The fields' addresses change only when the
// rows grow.
class AccountRows {
 public:
  explicit AccountRows(std::size_t instruments = 1) : instruments_(instruments), words_(row_words(instruments)) {
    point_fields();
  }
  AccountRows(const AccountRows& other) : instruments_(other.instruments_), words_(other.words_) {
    point_fields();
    if (other.size_ == 0) return;
    reserve(other.size_);
    std::memcpy(data_, other.data_, other.size_ * row_bytes());
    size_ = other.size_;
  }
  AccountRows& operator=(const AccountRows&) = delete;
  AccountRows(AccountRows&& other) noexcept { *this = std::move(other); }
  AccountRows& operator=(AccountRows&& other) noexcept {
    if (this != &other) {
      release();
      instruments_ = other.instruments_;
      words_ = other.words_;
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
      data_ = std::exchange(other.data_, nullptr);
      point_fields();
      other.point_fields();
    }
    return *this;
  }
  ~AccountRows() { release(); }

  // Words a row takes: 4 for one instrument (cash, P&L, position, cost), else
  // the 2 + 2 x instruments rounded up to a whole number of 64-byte lines.
  static constexpr std::size_t row_words(std::size_t instruments) noexcept {
    const std::size_t used = 2 + 2 * instruments;
    return used <= 4 ? 4 : (used + 7) / 8 * 8;
  }

  std::size_t instruments() const noexcept { return instruments_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t row_bytes() const noexcept { return words_ * sizeof(double); }
  std::size_t memory_bytes() const noexcept { return capacity_ * row_bytes(); }
  Cell cell(std::size_t a, std::size_t i) const noexcept { return Cell{a * words_ + i}; }
  // Ask for account a's row (every line of it) ahead of reading it, or (kWrite) of writing it.
  template <int kWrite = 0>
  void prefetch(std::size_t a) const noexcept {
    const std::byte* row = data_ + a * row_bytes();
    for (std::size_t b = 0; b < row_bytes(); b += 64) __builtin_prefetch(row + b, kWrite);
  }

  // Set the number of instruments of an empty table.
  void set_instruments(std::size_t instruments) {
    if (size_ != 0) throw std::logic_error("AccountRows: instruments are set before the first account");
    release();
    instruments_ = instruments;
    words_ = row_words(instruments);
    point_fields();
  }

  // Grow to `total` rows; the new ones are zero (flat, no cash).
  void resize(std::size_t total) {
    if (total <= size_) return;
    if (total > capacity_) reserve(std::max(total, capacity_ * 2));
    std::memset(data_ + size_ * row_bytes(), 0, (total - size_) * row_bytes());
    size_ = total;
  }

  RowField<double> cash;
  RowField<double> realized_pnl;
  CellField<Qty> position;
  CellField<double> cost;  // signed: q * entry * tick_value, zero wherever the position is

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  void reserve(std::size_t rows) {
    const std::size_t wanted = rows * row_bytes();
    // Lines never straddle a row; blocks of 2 MiB and more go on huge pages.
    const std::size_t align = wanted >= kHugePage ? kHugePage : 64;
    const std::size_t bytes = (wanted + align - 1) / align * align;
    auto* fresh = static_cast<std::byte*>(std::aligned_alloc(align, bytes));
    if (fresh == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == kHugePage) ::madvise(fresh, bytes, MADV_HUGEPAGE);  // advice only
#endif
    if (size_ != 0) std::memcpy(fresh, data_, size_ * row_bytes());
    std::free(data_);
    data_ = fresh;
    capacity_ = rows;  // the rounding to a page is address space, touched only as rows are added
    point_fields();
  }

  void release() noexcept {
    std::free(data_);
    data_ = nullptr;
    size_ = capacity_ = 0;
  }

  void point_fields() noexcept {
    // The words hold doubles and lot counts; each word is only ever read as the one type.
    auto* words = reinterpret_cast<double*>(data_);
    cash.base_ = words;
    realized_pnl.base_ = words == nullptr ? nullptr : words + 1;
    position.base_ = words == nullptr ? nullptr : reinterpret_cast<Qty*>(words + 2);
    cost.base_ = words == nullptr ? nullptr : words + 2 + instruments_;
    cash.stride_ = realized_pnl.stride_ = words_;
    position.stride_ = cost.stride_ = words_;
  }

  std::size_t instruments_ = 1;
  std::size_t words_ = 4;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::byte* data_ = nullptr;
};

}  // namespace deleverage
