// The log of every close a margin engine makes (docs/margin.md, "The log"),
// the count of checks, and the notional liquidated in the current check (for
// the cap on liquidation per check).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "deleverage/codes.hpp"

namespace deleverage {

enum class CloseKind : std::uint8_t { Partial = 0, BookOrder = 1, Takeover = 2, Adl = 3, AdlVictim = 4 };

struct LiquidationRecord {
  std::uint32_t check;
  std::uint16_t round;
  std::uint8_t kind;  // CloseKind
  std::uint8_t side;  // of the closed position: 0 long, 1 short
  std::uint32_t account;
  std::uint32_t instrument;
  Qty qty;
  double price;  // ticks
  Price mark;
  double equity;  // the account's equity before this close
};
static_assert(sizeof(LiquidationRecord) == 48);

class LiquidationLog {
 public:
  // A new check starts: its closes carry its number, and its notional starts at zero.
  void begin_check() noexcept {
    ++checks_;
    used_notional_ = 0.0;
    std::fill(used_by_instrument_.begin(), used_by_instrument_.end(), 0.0);
  }

  // Keep the liquidated notional of each of n instruments in the current check.
  void track_instruments(std::size_t n) { used_by_instrument_.assign(n, 0.0); }

  // A close of `lots` of account a's position in instrument i (`signed_position`
  // before the close) at `price` ticks, with the instrument's mark and tick value.
  void record(CloseKind kind, std::uint16_t round, std::uint32_t a, std::size_t i, Qty signed_position, Qty lots,
              double price, Price mark, double tick_value, double equity_before) {
    if (kind != CloseKind::AdlVictim) {
      const double notional = static_cast<double>(lots) * static_cast<double>(mark) * tick_value;
      used_notional_ += notional;
      if (!used_by_instrument_.empty()) used_by_instrument_[i] += notional;
    }
    records_.push_back(LiquidationRecord{checks_ - 1, round, static_cast<std::uint8_t>(kind),
                                         static_cast<std::uint8_t>(signed_position > 0 ? 0 : 1), a,
                                         static_cast<std::uint32_t>(i), lots, price, mark, equity_before});
  }

  const std::vector<LiquidationRecord>& records() const noexcept { return records_; }
  std::size_t size() const noexcept { return records_.size(); }
  std::uint32_t checks() const noexcept { return checks_; }
  // Liquidated notional in the current check (kinds 0-3, at the mark).
  double used_notional() const noexcept { return used_notional_; }
  // The same for instrument i (0 unless track_instruments was called).
  double used_notional(std::size_t i) const noexcept {
    return used_by_instrument_.empty() ? 0.0 : used_by_instrument_[i];
  }

 private:
  std::vector<LiquidationRecord> records_;
  std::uint32_t checks_ = 0;
  double used_notional_ = 0.0;
  std::vector<double> used_by_instrument_;
};

}  // namespace deleverage
