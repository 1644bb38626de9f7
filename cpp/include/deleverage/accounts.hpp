// The account table: no per-account objects. N accounts x I instruments:
// the fields every decision and fill reads in one row an account, the rest
// in columns.
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/account_rows.hpp"
#include "deleverage/codes.hpp"
#include "deleverage/huge_page_allocator.hpp"
#include "deleverage/liquidation_index.hpp"

namespace deleverage {

// Status bits.
inline constexpr std::uint8_t kStatusLiquidated = 1;
inline constexpr std::uint8_t kStatusBankrupt = 2;

// Where an account sits in the liquidation machinery (the `membership` column).
inline constexpr std::uint8_t kNotTracked = 0;    // no open position
inline constexpr std::uint8_t kIndexedLong = 1;   // lone long position, in its instrument's index
inline constexpr std::uint8_t kIndexedShort = 2;  // lone short position
inline constexpr std::uint8_t kScanned = 3;       // several open positions: in the cross-margin scan

// The hot fields (cash, realized P&L, positions, costs) are the rows
// (account_rows.hpp); the rest are columns.
struct AccountTable : AccountRows {
  Column<double> fees_paid;
  Column<std::uint8_t> mode;  // 0 isolated, 1 cross
  Column<std::uint8_t> status;
  Column<std::uint16_t> population;
  Column<std::uint16_t> instrument;  // the home instrument of an isolated account
  IndexLinks links;
  Column<std::uint8_t> membership;

  std::size_t memory_bytes() const noexcept {
    return AccountRows::memory_bytes() + fees_paid.capacity() * sizeof(double) +
           links.rows.capacity() * sizeof(IndexLink) + (mode.capacity() + status.capacity() + membership.capacity()) +
           (population.capacity() + instrument.capacity()) * sizeof(std::uint16_t);
  }
};

}  // namespace deleverage
