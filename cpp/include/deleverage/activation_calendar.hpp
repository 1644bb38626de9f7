// When each account next acts: a ring of per-step buckets (intrusive lists),
// so a step costs O(accounts acting), not O(accounts).
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/order_pool.hpp"  // kNil

namespace deleverage {

class ActivationCalendar {
 public:
  static constexpr std::uint64_t kRing = std::uint64_t{1} << 16;

  explicit ActivationCalendar(std::size_t accounts = 0) { resize(accounts); }

  void resize(std::size_t accounts) {
    head_.assign(kRing, kNil);
    next_.assign(accounts, kNil);
    due_.assign(accounts, 0);
  }

  void schedule(std::uint32_t account, std::uint64_t step) {
    const std::size_t b = static_cast<std::size_t>(step % kRing);
    due_[account] = step;
    next_[account] = head_[b];
    head_[b] = account;
  }

  // Append the accounts due at `step` to `out`; those due laps later stay.
  void pop(std::uint64_t step, std::vector<std::uint32_t>& out) {
    const std::size_t b = static_cast<std::size_t>(step % kRing);
    std::uint32_t a = head_[b];
    head_[b] = kNil;
    while (a != kNil) {
      const std::uint32_t next = next_[a];
      if (due_[a] == step) {
        out.push_back(a);
      } else {
        next_[a] = head_[b];
        head_[b] = a;
      }
      a = next;
    }
  }

  std::size_t memory_bytes() const noexcept {
    return head_.capacity() * 4 + next_.capacity() * 4 + due_.capacity() * 8;
  }

 private:
  std::vector<std::uint32_t> head_;
  std::vector<std::uint32_t> next_;
  std::vector<std::uint64_t> due_;
};

}  // namespace deleverage
