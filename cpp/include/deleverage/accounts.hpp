// The account table: struct-of-arrays, no per-account objects.
// N accounts x I instruments; per-account columns and per-(account, instrument)
// columns stored row-major (account a, instrument i at a * I + i).
#pragma once

#include <cstdint>
#include <vector>

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

struct AccountTable {
  std::size_t instruments = 1;
  Column<double> cash;
  Column<double> realized_pnl;
  Column<double> fees_paid;
  Column<std::uint8_t> mode;  // 0 isolated, 1 cross
  Column<std::uint8_t> status;
  Column<std::uint16_t> population;
  Column<std::uint16_t> instrument;  // the home instrument of an isolated account
  Column<Qty> position;              // [a * instruments + i]
  Column<double> cost;               // [a * instruments + i], signed: q * entry * tick_value
  IndexLinks links;
  Column<std::uint8_t> membership;

  std::size_t size() const noexcept { return cash.size(); }

  std::size_t memory_bytes() const noexcept {
    return (cash.capacity() + realized_pnl.capacity() + fees_paid.capacity() + cost.capacity()) * sizeof(double) +
           links.rows.capacity() * sizeof(IndexLink) + position.capacity() * sizeof(Qty) +
           (mode.capacity() + status.capacity() + membership.capacity()) +
           (population.capacity() + instrument.capacity()) * sizeof(std::uint16_t);
  }
};

}  // namespace deleverage
