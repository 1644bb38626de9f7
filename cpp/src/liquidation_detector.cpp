#include "deleverage/liquidation_detector.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace deleverage {

LiquidationDetector::LiquidationDetector(Ledger& ledger) : ledger_(ledger) { indexes_.resize(ledger_.instruments()); }

LiquidationDetector::LiquidationDetector(const LiquidationDetector& other, Ledger& ledger)
    : ledger_(ledger), scan_(other.scan_), candidates_(other.candidates_) {
  indexes_.resize(other.indexes_.size());
  for (std::size_t i = 0; i < indexes_.size(); ++i)
    if (other.indexes_[i]) indexes_[i] = std::make_unique<SideIndexes>(*other.indexes_[i]);
}

void LiquidationDetector::add_accounts(std::size_t first, std::size_t n, const Qty* position,
                                       const double* entry_price) {
  const std::size_t ni = ledger_.instruments();
  const std::size_t total = first + n;
  for (std::size_t k = 0; position != nullptr && k < n * ni; ++k) {
    const std::size_t i = k % ni;
    if (position[k] != 0 && !indexes_[i]) ensure_span(i, entry_price[k]);
  }
  for (std::size_t k = first; k < total; ++k) refresh(static_cast<std::uint32_t>(k));
}

void LiquidationDetector::detach(std::uint32_t a) {
  AccountTable& table = ledger_.table();
  const std::uint8_t m = table.membership[a];
  if (m == kIndexedLong || m == kIndexedShort) {
    SideIndexes& idx = *indexes_[table.instrument[a]];
    (m == kIndexedLong ? idx.longs : idx.shorts).remove(table.links, a);
  } else if (m == kScanned) {
    scan_.remove(table.links, a);
  }
  table.membership[a] = kNotTracked;
}

void LiquidationDetector::refresh(std::uint32_t a) {
  detach(a);
  AccountTable& table = ledger_.table();
  const std::size_t i = ledger_.lone_position(a);
  if (i == Ledger::kNoPosition) {
    table.links.trigger(a) = std::numeric_limits<double>::quiet_NaN();
    return;
  }
  if (i == Ledger::kSeveralPositions) {
    table.links.trigger(a) = std::numeric_limits<double>::quiet_NaN();
    scan_.insert(view(), table.links, a);
    table.membership[a] = kScanned;
    return;
  }
  const Qty q = table.position[ledger_.at(a, i)];
  const double cost = table.cost[ledger_.at(a, i)];
  const double v = ledger_.tick_value(i);
  table.links.trigger(a) = ledger_.rules()[i].liquidation_price(q, cost, table.cash[a] - cost, v);
  table.instrument[a] = static_cast<std::uint16_t>(i);
  if (!indexes_[i]) ensure_span(i, std::fabs(cost) / (static_cast<double>(qabs(q)) * v));
  SideIndexes& idx = *indexes_[i];
  (q > 0 ? idx.longs : idx.shorts).insert(table.links, a);
  table.membership[a] = q > 0 ? kIndexedLong : kIndexedShort;
}

void LiquidationDetector::ensure_span(std::size_t i, double price) {
  if (indexes_[i] && !(2.0 * price > indexes_[i]->longs.span_ticks())) return;  // the common case
  // Buckets cover four times the price, so marks rarely outgrow them.
  const std::int64_t buckets = LiquidationIndex::buckets_for(ledger_.accounts());
  const double want = 4.0 * std::max(price, 1.0) / static_cast<double>(buckets);
  const int shift = want <= 1.0 ? 0 : static_cast<int>(std::ceil(std::log2(want)));
  if (!indexes_[i]) {
    indexes_[i] = std::make_unique<SideIndexes>(
        SideIndexes{LiquidationIndex(true, shift, buckets), LiquidationIndex(false, shift, buckets)});
    return;
  }
  rebuild(i, shift, buckets);
}

void LiquidationDetector::rebuild(std::size_t i, int shift, std::int64_t buckets) {
  indexes_[i] = std::make_unique<SideIndexes>(
      SideIndexes{LiquidationIndex(true, shift, buckets), LiquidationIndex(false, shift, buckets)});
  SideIndexes& idx = *indexes_[i];
  AccountTable& table = ledger_.table();
  for (std::uint32_t a = 0; a < ledger_.accounts(); ++a) {
    const std::uint8_t m = table.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table.instrument[a] == i)
      (m == kIndexedLong ? idx.longs : idx.shorts).insert(table.links, a);
  }
}

void LiquidationDetector::cover(const Price* marks) {
  for (std::size_t i = 0; i < ledger_.instruments(); ++i)
    if (indexes_[i]) ensure_span(i, static_cast<double>(marks[i]));
}

const std::vector<std::uint32_t>& LiquidationDetector::liquidatable(const Price* marks) {
  AccountTable& table = ledger_.table();
  candidates_.clear();
  for (std::size_t i = 0; i < ledger_.instruments(); ++i) {
    if (!indexes_[i]) continue;
    const auto mark = static_cast<double>(marks[i]);
    indexes_[i]->longs.candidates(table.links, mark, candidates_);
    indexes_[i]->shorts.candidates(table.links, mark, candidates_);
  }
  // The indexes let go of their candidates: each is liquidated or refreshed below.
  for (const std::uint32_t a : candidates_) table.membership[a] = kNotTracked;
  scan_.candidates(view(), table.links, marks, candidates_);
  std::sort(candidates_.begin(), candidates_.end());
  candidates_.erase(std::unique(candidates_.begin(), candidates_.end()), candidates_.end());
  std::size_t kept = 0;
  for (std::size_t c = 0; c < candidates_.size(); ++c) {
    const std::uint32_t a = candidates_[c];
    if (c + 4 < candidates_.size()) prefetch_row(candidates_[c + 4]);
    if (ledger_.liquidatable(a, marks)) {
      candidates_[kept++] = a;
    } else if (!scanned(a)) {
      refresh(a);  // back in its index
    }
  }
  candidates_.resize(kept);
  return candidates_;
}

void LiquidationDetector::rekey(std::size_t instrument) {
  AccountTable& table = ledger_.table();
  for (std::uint32_t a = 0; a < ledger_.accounts(); ++a) {
    const std::uint8_t m = table.membership[a];
    if ((m == kIndexedLong || m == kIndexedShort) && table.instrument[a] == instrument) refresh(a);
  }
  scan_.rekey_all(view(), table.links);
}

void LiquidationDetector::prefetch_row(std::uint32_t a) const noexcept { ledger_.table().prefetch<1>(a); }

void LiquidationDetector::prefetch_closing(std::uint32_t a, bool fee) const noexcept {
  const AccountTable& table = ledger_.table();
  // The realized P&L is in the row the check asked for.
  __builtin_prefetch(&table.status[a], 1);
  if (fee) __builtin_prefetch(&table.fees_paid[a], 1);
}

std::size_t LiquidationDetector::memory_bytes() const noexcept {
  std::size_t bytes = scan_.memory_bytes();
  for (const auto& idx : indexes_)
    if (idx) bytes += idx->longs.memory_bytes() + idx->shorts.memory_bytes();
  return bytes;
}

}  // namespace deleverage
