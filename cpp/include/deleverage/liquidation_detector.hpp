// Which accounts a check must look at (docs/margin.md, "Liquidation index"):
// an account with one open position sits in its instrument's liquidation
// index (longs and shorts, by liquidation price), an account with several in
// the cross-margin scan. An account is detached while its position changes
// and refreshed (re-keyed) after; an index whose buckets no longer cover the
// prices is rebuilt. The exact test is the ledger's liquidatable().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "deleverage/accounts.hpp"
#include "deleverage/cross_margin_scan.hpp"
#include "deleverage/ledger.hpp"
#include "deleverage/liquidation_index.hpp"

namespace deleverage {

class LiquidationDetector {
 public:
  explicit LiquidationDetector(Ledger& ledger);
  // A copy of `other`'s indexes over `ledger`, a copy of other's ledger.
  LiquidationDetector(const LiquidationDetector& other, Ledger& ledger);
  LiquidationDetector(const LiquidationDetector&) = delete;
  LiquidationDetector& operator=(const LiquidationDetector&) = delete;

  // Track the ledger's accounts first..first+n-1, just appended with these
  // positions and entry prices (n x instruments, row-major; both null: flat).
  void add_accounts(std::size_t first, std::size_t n, const Qty* position, const double* entry_price);

  // Stop tracking account a (its position is about to change) / track it as its positions now are.
  void detach(std::uint32_t a);
  void refresh(std::uint32_t a);
  bool scanned(std::uint32_t a) const noexcept { return ledger_.table().membership[a] == kScanned; }

  // Widen the indexes to cover the marks (a rebuild when a mark outgrows them).
  void cover(const Price* marks);
  // The accounts liquidatable at `marks`, in account order: every candidate
  // of the indexes and the scan passes the exact test; those that fail it are
  // refreshed (back in their index).
  const std::vector<std::uint32_t>& liquidatable(const Price* marks);

  // Re-key every account of instrument i and every cross threshold (its rule changed).
  void rekey(std::size_t instrument);

  // Ask for the rows a liquidation of account a writes besides those its
  // check read (with `fee`, the fees paid too). Each line asked for and not
  // used costs: the check's rows and these are asked for apart, each a few
  // accounts ahead of its own loop, which keeps the memory system busy
  // without flooding it (a cascade at 10M accounts runs 1.8x as fast as with
  // the whole row asked for ahead of the check).
  void prefetch_closing(std::uint32_t a, bool fee) const noexcept;

  const CrossMarginScan& cross_scan() const noexcept { return scan_; }
  std::size_t memory_bytes() const noexcept;

 private:
  struct SideIndexes {
    LiquidationIndex longs;
    LiquidationIndex shorts;
  };

  void ensure_span(std::size_t i, double price);
  void rebuild(std::size_t i, int shift, std::int64_t buckets);
  void prefetch_row(std::uint32_t a) const noexcept;  // what the exact check reads
  CrossMarginScan::View view() const noexcept {
    return {&ledger_.table(), ledger_.rules().data(), ledger_.tick_values().data()};
  }

  Ledger& ledger_;
  std::vector<std::unique_ptr<SideIndexes>> indexes_;  // per instrument, made at its first position
  CrossMarginScan scan_;                               // accounts with several open positions
  std::vector<std::uint32_t> candidates_;
};

}  // namespace deleverage
