// Standalone order-book benchmark: replays the standard stream, no Python.
// Build: cmake -S . -B build/bench -DDELEVERAGE_PYTHON=OFF -DDELEVERAGE_BENCH=ON && cmake --build build/bench
// Run:   build/bench/book_bench [messages] [batch]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "deleverage/message_stream.hpp"
#include "deleverage/order_book.hpp"

int main(int argc, char** argv) {
  using namespace deleverage;
  MessageStreamSpec spec;
  if (argc > 1) spec.messages = std::strtoull(argv[1], nullptr, 10);
  const std::size_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 65536;
  const std::vector<Message> stream = generate_message_stream(spec);

  for (int rep = 0; rep < 3; ++rep) {
    OrderBook book;
    std::vector<MessageResult> results(batch);
    std::vector<Fill> fills;
    fills.reserve(batch);
    std::size_t total_fills = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < stream.size(); i += batch) {
      const std::size_t n = std::min(batch, stream.size() - i);
      fills.clear();
      book.execute(stream.data() + i, n, results.data(), fills);
      total_fills += fills.size();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("messages %zu  batch %zu  %.1f M msg/s  %.1f ns/msg  fills %zu  resting %zu  bytes/order %.1f\n",
                stream.size(), batch, static_cast<double>(stream.size()) / s / 1e6,
                s * 1e9 / static_cast<double>(stream.size()), total_fills, book.resting_orders(),
                static_cast<double>(book.memory_bytes()) / static_cast<double>(book.resting_orders()));
  }
  return 0;
}
