#include "deleverage/cross_margin_scan.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>

namespace deleverage {
namespace {

// A re-based account below this relative move is handed out at every check.
constexpr double kAlwaysCandidate = -1.0;

}  // namespace

CrossMarginScan::CrossMarginScan() : block_(std::make_unique<RevaluationBlock>()) { clear_buckets(); }

std::size_t CrossMarginScan::memory_bytes() const noexcept {
  return members_.capacity() * sizeof(std::uint32_t) + epoch_.capacity() * sizeof(Price) + sizeof(RevaluationBlock) +
         sizeof(*this);
}

int CrossMarginScan::bucket_of(double theta) noexcept {
  // Bucket 0: always a candidate (theta <= 0, or NaN). Then four buckets per
  // octave from 2^-40 up; monotone in theta, which is all exactness needs.
  if (!(theta > 0.0)) return 0;
  if (theta >= 0x1p40) return kBuckets - 1;
  int e = 0;
  const double f = std::frexp(theta, &e);  // theta = f * 2^e, f in [0.5, 1)
  const int b = (e + 40) * 4 + static_cast<int>((f - 0.5) * 8.0) + 1;
  return std::clamp(b, 1, kBuckets - 1);
}

double CrossMarginScan::kappa(std::size_t instruments) const noexcept {
  // Relative rounding error of equity and MM against their terms' magnitude:
  // about (instruments + 4) operations of 2^-53 each, with a factor 32 to spare.
  return static_cast<double>(instruments + 4) * 0x1p-48;
}

float CrossMarginScan::theta_of(double equity, double mm, double magnitude, double weight, double kappa) noexcept {
  // Over a move m from P0, equity - MM falls by at most m * weight, and the
  // rounding errors at P0 and at P stay below kappa * (magnitude + 2 m weight):
  // safe while m < (slack - 2 kappa magnitude) / (weight (1 + 2 kappa)).
  // Both margins are doubled again for the rounding of this very expression.
  const double slack = (equity - mm) - 4.0 * kappa * magnitude;
  if (!(slack > 0.0) || !(weight > 0.0) || !std::isfinite(weight)) return static_cast<float>(kAlwaysCandidate);
  double theta = slack / (weight * (1.0 + 4.0 * kappa));
  theta *= 1.0 - 0x1p-48;
  if (!(theta < static_cast<double>(FLT_MAX))) return FLT_MAX;
  auto f = static_cast<float>(theta);
  if (static_cast<double>(f) > theta) f = std::nextafter(f, -FLT_MAX);  // round down, never up
  return f;
}

double CrossMarginScan::move(const Price* marks, std::size_t instruments) const noexcept {
  double m = 0.0;
  for (std::size_t i = 0; i < instruments; ++i) {
    const Price d = marks[i] - epoch_[i];  // exact: both in 1..2^62
    const double r = static_cast<double>(d < 0 ? -d : d) / static_cast<double>(epoch_[i]);
    m = std::max(m, r);
  }
  return m * (1.0 + 0x1p-48);  // three roundings above, rounded up with room
}

void CrossMarginScan::clear_buckets() noexcept {
  head_.fill(kNil);
  count_.fill(0);
  occupied_.fill(0);
}

void CrossMarginScan::link(IndexLinks& links, std::uint32_t a, float theta) noexcept {
  links.trigger(a) = static_cast<double>(theta);
  const auto b = static_cast<std::size_t>(bucket_of(static_cast<double>(theta)));
  links.prev(a) = kNil;
  links.next(a) = head_[b];
  if (head_[b] != kNil) links.prev(head_[b]) = a;
  head_[b] = a;
  ++count_[b];
  occupied_[b / 64] |= std::uint64_t{1} << (b % 64);
}

void CrossMarginScan::insert(const View& view, IndexLinks& links, std::uint32_t a) {
  float theta = static_cast<float>(kAlwaysCandidate);
  if (!epoch_.empty()) {
    RevaluationBlock& b = *block_;
    revalue_block(*view.table, view.rules, view.tick_values, epoch_.data(), a, 1, true, b);
    theta = theta_of(b.equity[0], b.mm[0], b.magnitude[0], b.weight[0], kappa(view.table->instruments()));
  }
  link(links, a, theta);
  ++size_;
}

void CrossMarginScan::remove(IndexLinks& links, std::uint32_t a) noexcept {
  const auto b = static_cast<std::size_t>(bucket_of(links.trigger(a)));
  if (links.prev(a) == kNil) {
    head_[b] = links.next(a);
  } else {
    links.next(links.prev(a)) = links.next(a);
  }
  if (links.next(a) != kNil) links.prev(links.next(a)) = links.prev(a);
  links.next(a) = links.prev(a) = kNil;
  if (--count_[b] == 0) occupied_[b / 64] &= ~(std::uint64_t{1} << (b % 64));
  --size_;
}

void CrossMarginScan::candidates(const View& view, IndexLinks& links, const Price* marks,
                                 std::vector<std::uint32_t>& out) {
  ++stats_.calls;
  if (size_ == 0) return;
  const std::size_t ni = view.table->instruments();
  if (epoch_.empty()) rebase(view, links, marks);
  double m = move(marks, ni);
  int top = bucket_of(m);
  std::uint64_t reach = 0;  // accounts in the buckets the move reaches
  for (int b = 0; b <= top; ++b) reach += count_[static_cast<std::size_t>(b)];
  // Visiting more than an eighth of the accounts, or twice the population
  // since the epoch, costs more than a vectorized revaluation of everyone.
  if (reach > 16 + size_ / 8 || visited_since_rebase_ + reach > 64 + 2 * static_cast<std::uint64_t>(size_)) {
    rebase(view, links, marks);
    m = 0.0;
    top = 0;
  }
  visited_since_rebase_ += reach;
  stats_.visited += reach;
  const std::size_t before = out.size();
  for (int w = 0; w * 64 <= top; ++w) {
    std::uint64_t bits = occupied_[static_cast<std::size_t>(w)];
    while (bits != 0) {
      const int b = w * 64 + std::countr_zero(bits);
      bits &= bits - 1;
      if (b > top) break;
      for (std::uint32_t a = head_[static_cast<std::size_t>(b)]; a != kNil; a = links.next(a))
        if (links.trigger(a) <= m) out.push_back(a);
    }
  }
  stats_.candidates += out.size() - before;
}

void CrossMarginScan::rekey_all(const View& view, IndexLinks& links) {
  if (!epoch_.empty() && size_ != 0) {
    const std::vector<Price> marks = epoch_;
    rebase(view, links, marks.data());
  }
}

void CrossMarginScan::rebase(const View& view, IndexLinks& links, const Price* marks) {
  const AccountTable& t = *view.table;
  const std::size_t ni = t.instruments();
  const double k = kappa(ni);
  ++stats_.rebases;
  visited_since_rebase_ = 0;
  epoch_.assign(marks, marks + ni);
  RevaluationBlock& b = *block_;
  const std::size_t n = t.size();
  if (size_ * 4 >= n) {
    // Dense: stream the whole table through the vectorized revaluation.
    clear_buckets();
    for (std::size_t first = 0; first < n; first += RevaluationBlock::kSize) {
      const std::size_t count = std::min(RevaluationBlock::kSize, n - first);
      revalue_block(t, view.rules, view.tick_values, marks, first, count, true, b);
      for (std::size_t j = 0; j < count; ++j) {
        if (t.membership[first + j] != kScanned) continue;
        link(links, static_cast<std::uint32_t>(first + j),
             theta_of(b.equity[j], b.mm[j], b.magnitude[j], b.weight[j], k));
      }
    }
    stats_.rebase_revalued += size_;
    return;
  }
  // Sparse: the members only, in account order.
  members_.clear();
  for (std::size_t bucket = 0; bucket < static_cast<std::size_t>(kBuckets); ++bucket)
    for (std::uint32_t a = head_[bucket]; a != kNil; a = links.next(a)) members_.push_back(a);
  std::sort(members_.begin(), members_.end());
  clear_buckets();
  for (const std::uint32_t a : members_) {
    revalue_block(t, view.rules, view.tick_values, marks, a, 1, true, b);
    link(links, a, theta_of(b.equity[0], b.mm[0], b.magnitude[0], b.weight[0], k));
  }
  stats_.rebase_revalued += size_;
}

}  // namespace deleverage
