// Liquidation detection for accounts with several open positions (cross
// margin) with a safe-distance bound, so that accounts far from their trigger
// are skipped until prices have moved enough to matter (docs/margin.md,
// "Cross margin").
//
// At an epoch (reference marks P0) each account gets a threshold theta, a
// relative price move: while every mark is within theta of P0
// (max_i |P_i - P0_i| / P0_i <= theta) its equity stays above its
// maintenance margin, rounding errors included. A check at marks P with
// relative move m hands out only the accounts with theta <= m, found through
// buckets of theta on a log scale (intrusive lists in the account table's
// links; theta itself in the links' trigger), so a small move costs far less than the population. An account that
// changes (trade, fill, liquidation) is re-keyed at the same P0; a rule change
// re-keys everyone. When too many accounts become candidates the epoch moves
// to the current marks: one vectorized revaluation of everyone.
//
// The bound only decides whom to skip: the caller decides with the exact
// liquidatable() expression.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "deleverage/accounts.hpp"
#include "deleverage/copied_ptr.hpp"
#include "deleverage/margin_rule.hpp"
#include "deleverage/portfolio_revaluation.hpp"

namespace deleverage {

class CrossMarginScan {
 public:
  static constexpr int kBuckets = 256;

  // What the scan reads of the engine: the table and the rules as they are now.
  struct View {
    const AccountTable* table;
    const MarginRule* rules;
    const double* tick_values;
  };

  struct Stats {
    std::uint64_t calls = 0;            // candidates() calls (one per round)
    std::uint64_t visited = 0;          // thresholds read in those calls
    std::uint64_t candidates = 0;       // accounts handed out for the exact test
    std::uint64_t rebases = 0;          // epochs started
    std::uint64_t rebase_revalued = 0;  // accounts revalued by them
  };

  CrossMarginScan();
  // The same tracked accounts and epoch, with a scratch block of its own.
  CrossMarginScan(const CrossMarginScan& other) = default;
  CrossMarginScan& operator=(const CrossMarginScan&) = delete;

  std::size_t size() const noexcept { return size_; }

  // Track account `a` (several open positions) / stop tracking it. Insert
  // computes its threshold at the current epoch's marks.
  void insert(const View& view, IndexLinks& links, std::uint32_t a);
  void remove(IndexLinks& links, std::uint32_t a) noexcept;

  // Append every tracked account the bound cannot clear at `marks`; may start a new epoch.
  void candidates(const View& view, IndexLinks& links, const Price* marks, std::vector<std::uint32_t>& out);

  // Recompute every threshold at the same epoch (a margin rule changed).
  void rekey_all(const View& view, IndexLinks& links);

  // A tracked account's threshold (relative move) is kept in its links' trigger
  // (a float's value), which indexed accounts use for their liquidation price.
  static double threshold(const IndexLinks& links, std::uint32_t a) noexcept { return links.trigger(a); }
  const Stats& stats() const noexcept { return stats_; }
  std::size_t memory_bytes() const noexcept;

 private:
  static int bucket_of(double theta) noexcept;
  // The relative move of `marks` from the epoch, rounded up.
  double move(const Price* marks, std::size_t instruments) const noexcept;
  // theta from a revaluation at the epoch, rounded down to a float.
  static float theta_of(double equity, double mm, double magnitude, double weight, double kappa) noexcept;
  double kappa(std::size_t instruments) const noexcept;
  void link(IndexLinks& links, std::uint32_t a, float theta) noexcept;
  void clear_buckets() noexcept;
  void rebase(const View& view, IndexLinks& links, const Price* marks);

  std::vector<Price> epoch_;  // empty until the first check
  std::array<std::uint32_t, kBuckets> head_{};
  std::array<std::uint32_t, kBuckets> count_{};
  std::array<std::uint64_t, kBuckets / 64> occupied_{};
  std::size_t size_ = 0;
  std::uint64_t visited_since_rebase_ = 0;
  std::vector<std::uint32_t> members_;  // scratch for a sparse rebase
  CopiedPtr<RevaluationBlock> block_;   // scratch: a copy has its own
  Stats stats_;
};

}  // namespace deleverage
