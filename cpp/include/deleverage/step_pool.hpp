// Helper threads for the parts of a step that split into independent chunks
// (gathering the due accounts' rows): the caller runs chunk 0 and helper h runs
// chunk h + 1, each writing only its own chunk's outputs, so the result does
// not depend on the number of threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace deleverage {

class StepPool {
 public:
  static constexpr std::size_t kMaxThreads = 64;

  // `helpers` threads besides the caller's (at most kMaxThreads - 1).
  explicit StepPool(std::size_t helpers) {
    threads_.reserve(helpers);
    for (std::size_t h = 0; h < helpers; ++h) threads_.emplace_back([this, h] { loop(h + 1); });
  }

  ~StepPool() {
    stop_.store(true, std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  StepPool(const StepPool&) = delete;
  StepPool& operator=(const StepPool&) = delete;

  std::size_t threads() const noexcept { return threads_.size() + 1; }

  // task(chunk) for every chunk in [0, threads()); returns when all are done.
  // The task must not throw: a helper has nowhere to send an exception.
  template <class Task>
  void run(Task& task) noexcept {
    start(task);
    task(0);
    join();
  }

  // task(chunk) for the helpers' chunks [1, threads()) only, returning at once:
  // the caller does work of its own (which may throw), then join()s. The task
  // must outlive the join.
  template <class Task>
  void start(Task& task) noexcept {
    static_assert(noexcept(task(std::size_t{0})), "a StepPool task must be noexcept");
    fn_ = [](void* ctx, std::size_t chunk) noexcept { (*static_cast<Task*>(ctx))(chunk); };
    ctx_ = &task;
    pending_.store(static_cast<std::uint32_t>(threads_.size()), std::memory_order_relaxed);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
  }

  // Wait for the helpers' chunks of the last start(): spin, then sleep until the last one is done.
  void join() noexcept {
    for (std::uint32_t left, spins = 0; (left = pending_.load(std::memory_order_acquire)) != 0;)
      if (++spins < kSpins)
        pause();
      else
        pending_.wait(left, std::memory_order_acquire);
  }

 private:
  // Steps follow each other within microseconds: spin that long before sleeping.
  static constexpr std::uint32_t kSpins = 1u << 14;

  static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#else
    std::this_thread::yield();
#endif
  }

  void loop(std::size_t chunk) noexcept {
    std::uint32_t seen = 0;
    for (;;) {
      std::uint32_t now = 0;
      for (std::uint32_t spins = 0; (now = epoch_.load(std::memory_order_acquire)) == seen;)
        if (++spins < kSpins)
          pause();
        else
          epoch_.wait(seen, std::memory_order_acquire);
      seen = now;
      if (stop_.load(std::memory_order_relaxed)) return;
      fn_(ctx_, chunk);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  void (*fn_)(void*, std::size_t) noexcept = nullptr;
  void* ctx_ = nullptr;
  std::atomic<std::uint32_t> epoch_{0};
  std::atomic<std::uint32_t> pending_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace deleverage
