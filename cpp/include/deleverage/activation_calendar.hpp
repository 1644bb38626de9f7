// When each account next acts: a ring of per-step buckets, each a flat array
// of (account, lap), so a step costs O(accounts acting), not O(accounts), and
// reads its bucket in one sequential sweep (no list to chase through memory).
// The order of the accounts a step pops is unspecified.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace deleverage {

class ActivationCalendar {
 public:
  static constexpr std::uint64_t kRing = std::uint64_t{1} << 16;

  explicit ActivationCalendar(std::size_t accounts = 0) { resize(accounts); }

  // Forget every schedule (the number of accounts needs no room of its own).
  void resize(std::size_t /*accounts*/) { buckets_.assign(kRing, {}); }

  // Each account is scheduled at most once at a time.
  void schedule(std::uint32_t account, std::uint64_t step) {
    buckets_[static_cast<std::size_t>(step % kRing)].push_back(Entry{account, lap_of(step)});
  }

  // Ask for the memory a schedule at `step` writes: the bucket (first), then its end.
  void prefetch_bucket(std::uint64_t step) const noexcept {
    __builtin_prefetch(&buckets_[static_cast<std::size_t>(step % kRing)]);
  }
  void prefetch_end(std::uint64_t step) const noexcept {
    const std::vector<Entry>& b = buckets_[static_cast<std::size_t>(step % kRing)];
    __builtin_prefetch(b.data() + b.size(), 1);
  }

  // Append the accounts due at `step` to `out`; those due laps later stay.
  void pop(std::uint64_t step, std::vector<std::uint32_t>& out) {
    std::vector<Entry>& bucket = buckets_[static_cast<std::size_t>(step % kRing)];
    const std::uint32_t lap = lap_of(step);
    std::size_t kept = 0;
    for (const Entry& e : bucket) {
      if (e.lap == lap) {
        out.push_back(e.account);
      } else {
        bucket[kept++] = e;
      }
    }
    if (kept == 0) {
      std::vector<Entry>().swap(bucket);  // a bucket holds its memory only while it has accounts
    } else {
      bucket.resize(kept);
    }
  }

  std::size_t memory_bytes() const noexcept {
    std::size_t bytes = buckets_.capacity() * sizeof(std::vector<Entry>);
    for (const auto& b : buckets_) bytes += b.capacity() * sizeof(Entry);
    return bytes;
  }

 private:
  // Laps past 2^32 - 1 (steps past 2^48, beyond any run) share the last one.
  static std::uint32_t lap_of(std::uint64_t step) noexcept {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(step / kRing, UINT32_MAX));
  }

  struct Entry {
    std::uint32_t account;
    std::uint32_t lap;  // step / kRing
  };
  std::vector<std::vector<Entry>> buckets_;
};

}  // namespace deleverage
