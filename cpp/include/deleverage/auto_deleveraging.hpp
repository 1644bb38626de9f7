// Auto-deleveraging (docs/margin.md, "Auto-deleveraging"): when the insurance
// fund cannot absorb a takeover, the position is closed against opposite
// positions ranked by profit x leverage, at the bankruptcy price.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/ledger.hpp"
#include "deleverage/liquidation_detector.hpp"
#include "deleverage/liquidation_log.hpp"

namespace deleverage {

class AutoDeleveraging {
 public:
  // The marks are the current round's (owned by the engine).
  AutoDeleveraging(Ledger& ledger, LiquidationDetector& detector, LiquidationLog& log, const std::vector<Price>& marks)
      : ledger_(ledger), detector_(detector), log_(log), marks_(marks) {}
  // `other`'s state, over the parts of a copy of its engine.
  AutoDeleveraging(const AutoDeleveraging& other, Ledger& ledger, LiquidationDetector& detector, LiquidationLog& log,
                   const std::vector<Price>& marks)
      : ledger_(ledger), detector_(detector), log_(log), marks_(marks), ranked_(other.ranked_), takes_(other.takes_) {}

  // Close up to `lots` of account a's position in instrument i against the
  // opposite positions, most profitable x leveraged first, at `bankruptcy`
  // ticks; `equity` is a's before. Logs an Adl record for a and an AdlVictim
  // record for each opposite account; returns the lots closed.
  Qty deleverage(std::uint32_t a, std::size_t i, Qty lots, double bankruptcy, double equity, std::uint16_t round);

 private:
  Ledger& ledger_;
  LiquidationDetector& detector_;
  LiquidationLog& log_;
  const std::vector<Price>& marks_;
  std::vector<std::pair<double, std::uint32_t>> ranked_;  // scratch: (score, account)
  std::vector<std::pair<std::uint32_t, Qty>> takes_;      // scratch: (account, lots)
};

}  // namespace deleverage
