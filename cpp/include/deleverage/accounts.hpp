// The account table: struct-of-arrays, no per-account objects.
// N accounts x I instruments; per-account columns and per-(account, instrument)
// columns stored row-major (account a, instrument i at a * I + i).
#pragma once

#include <cstdint>
#include <vector>

#include "deleverage/codes.hpp"
#include "deleverage/liquidation_index.hpp"

namespace deleverage {

enum class MarginMode : std::uint8_t { Isolated = 0, Cross = 1 };

// Status bits.
inline constexpr std::uint8_t kStatusLiquidated = 1;
inline constexpr std::uint8_t kStatusBankrupt = 2;

// Where an account sits in the liquidation machinery (the `membership` column).
inline constexpr std::uint8_t kNotTracked = 0;    // no open position
inline constexpr std::uint8_t kIndexedLong = 1;   // lone long position, in its instrument's index
inline constexpr std::uint8_t kIndexedShort = 2;  // lone short position
inline constexpr std::uint8_t kScanned = 3;       // several open positions: checked in full every time

struct AccountTable {
  std::size_t instruments = 1;
  std::vector<double> cash;
  std::vector<double> realized_pnl;
  std::vector<double> fees_paid;
  std::vector<std::uint8_t> mode;
  std::vector<std::uint8_t> status;
  std::vector<std::uint16_t> population;
  std::vector<std::uint16_t> instrument;  // the home instrument of an isolated account
  std::vector<Qty> position;              // [a * instruments + i]
  std::vector<double> cost;               // [a * instruments + i], signed: q * entry * tick_value
  IndexLinks links;
  std::vector<std::uint8_t> membership;

  std::size_t size() const noexcept { return cash.size(); }

  void reserve(std::size_t n) {
    for (auto* v : {&cash, &realized_pnl, &fees_paid, &links.trigger}) v->reserve(n);
    for (auto* v : {&mode, &status, &membership}) v->reserve(n);
    population.reserve(n);
    instrument.reserve(n);
    links.next.reserve(n);
    links.prev.reserve(n);
    position.reserve(n * instruments);
    cost.reserve(n * instruments);
  }

  std::size_t memory_bytes() const noexcept {
    return (cash.capacity() + realized_pnl.capacity() + fees_paid.capacity() + links.trigger.capacity() +
            cost.capacity()) * sizeof(double) +
           position.capacity() * sizeof(Qty) + (mode.capacity() + status.capacity() + membership.capacity()) +
           (population.capacity() + instrument.capacity()) * sizeof(std::uint16_t) +
           (links.next.capacity() + links.prev.capacity()) * sizeof(std::uint32_t);
  }
};

}  // namespace deleverage
