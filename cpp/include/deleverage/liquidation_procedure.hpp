// What a margin engine does to a liquidatable account (docs/margin.md,
// "Liquidation"): cancel its resting orders, close positions in the close
// order (a partial close first where the rule's tiers allow, stopping as soon
// as the account is healthy), each close sent into the instrument's book as an
// order bounded at the bankruptcy price, the rest taken over by the insurance
// fund (or auto-deleveraged when the fund cannot absorb it), then the
// liquidation fee and negative-balance protection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "deleverage/auto_deleveraging.hpp"
#include "deleverage/insurance_fund.hpp"
#include "deleverage/ledger.hpp"
#include "deleverage/liquidation_detector.hpp"
#include "deleverage/liquidation_log.hpp"
#include "deleverage/order_book.hpp"

namespace deleverage {

// Which positions a liquidation of an account with several closes first
// (docs/margin.md, "Close order"). It stops as soon as the account is no
// longer liquidatable.
enum class CloseOrder : std::uint8_t {
  Instrument = 0,   // instrument order
  MostLiquid = 1,   // highest EngineSettings::liquidity first (the dash for cash), ties in instrument order
  LargestLoss = 2,  // most negative unrealized PnL at the mark first, ties in instrument order
  ProRata = 3,      // the same fraction of every position, a quarter at a time, lots rounded up
};

struct EngineSettings {
  double insurance_fund = 0.0;
  // Isolated funds (docs/margin.md): per instrument, the starting cash of a
  // fund of its own, or none where it shares the venue's (empty: every
  // instrument shares it).
  std::vector<std::optional<double>> instrument_funds;
  bool adl = true;
  int max_rounds = 64;
  double max_liquidation_notional = std::numeric_limits<double>::infinity();
  CloseOrder close_order = CloseOrder::Instrument;
  std::vector<double> liquidity;  // per instrument, for MostLiquid (empty: all equal)
  // Liquidation orders: IOCs bounded at the bankruptcy price (false, as on
  // perpetual venues with an insurance fund), or market orders that take
  // whatever the book holds (true, as a broker's forced sale does); either
  // way the fund takes over what the book cannot fill.
  bool liquidate_at_market = false;
  // What the fund must have to take a position over without auto-deleveraging:
  // the loss at the mark out of its cash (false, the default), or out of its
  // equity, its cash plus the positions it holds marked at the round's marks
  // (true: a fund that took over positions the price has since gone through
  // has run dry, as a venue's fund that sold them would have).
  bool fund_equity = false;
  // The liquidation engine's throughput: per instrument, the notional a check
  // closes at most (kinds 0-3 at the mark); an account holding an instrument
  // whose capacity is used up waits for the next check (empty: no caps).
  std::vector<double> liquidation_capacity;
  // The order of a round's accounts: ascending account id (false), or the
  // most distressed first, by equity over maintenance margin at the round's
  // marks, ties by account id (true).
  bool margin_ratio_order = false;
  // Margin calls (docs/margin.md, "Margin calls"): an account under its
  // maintenance margin is called, and liquidated only once it has stayed
  // under for this many further checks (0: at once, as a venue's engine does).
  // A check that finds it healthy again answers the call.
  std::uint32_t margin_call_checks = 0;
  // During a call, equity at or under this share of the maintenance margin
  // closes the account at once (0: only once its equity is gone).
  double close_out_ratio = 0.0;
};

// A trade of a liquidation order in an instrument's book.
struct BookTrade {
  std::uint32_t instrument;
  Fill fill;
};

class LiquidationProcedure {
 public:
  // The settings and the marks (the current round's) are owned by the engine.
  LiquidationProcedure(Ledger& ledger, LiquidationDetector& detector, InsuranceFund& fund, AutoDeleveraging& adl,
                       LiquidationLog& log, const EngineSettings& settings, const std::vector<Price>& marks);
  // `other`'s state over the parts of a copy of its engine, with no book
  // attached and no trade sink (the copy's owner attaches its own).
  LiquidationProcedure(const LiquidationProcedure& other, Ledger& ledger, LiquidationDetector& detector,
                       InsuranceFund& fund, AutoDeleveraging& adl, LiquidationLog& log, const EngineSettings& settings,
                       const std::vector<Price>& marks);

  // Route instrument i's liquidation orders into `book` (nullptr: none).
  void attach_book(std::size_t i, OrderBook* book) { books_.at(i) = book; }
  const OrderBook* book(std::size_t i) const noexcept { return books_[i]; }
  // Where the trades of liquidation orders are also written (nullptr: nowhere).
  void set_trade_sink(std::vector<BookTrade>* sink) noexcept { trade_sink_ = sink; }

  // Liquidate account a (liquidatable at the round's marks) in round `round`.
  void liquidate(std::uint32_t a, std::uint16_t round);

  // Accounts whose equity was below zero when a liquidation reached them (each counted once).
  std::uint64_t bankrupt_accounts() const noexcept { return bankrupt_accounts_; }

 private:
  void liquidate_pro_rata(std::uint32_t a, std::uint16_t round);
  // Close `lots` of position i through the book, then the fund or ADL; returns the notional closed.
  double close_out(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round);
  // An IOC for `lots` bounded at the bankruptcy price; returns the notional filled, `left` the lots not.
  double sell_into_book(std::uint32_t a, std::size_t i, Qty lots, std::uint16_t round, Qty& left);
  // Takeover by the fund (ADL first when the fund cannot absorb it) of `lots`
  // at the bankruptcy price; returns the notional closed.
  double take_over(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round);
  // Steps 6-7 after the closes of one position: the liquidation fee and negative-balance protection.
  void settle(std::uint32_t a, std::size_t i, double closed);

  Ledger& ledger_;
  LiquidationDetector& detector_;
  InsuranceFund& fund_;
  AutoDeleveraging& adl_;
  LiquidationLog& log_;
  const EngineSettings& settings_;
  const std::vector<Price>& marks_;
  std::vector<OrderBook*> books_;  // per instrument, or nullptr
  std::vector<Fill> book_fills_;
  std::vector<BookTrade>* trade_sink_ = nullptr;
  std::vector<std::size_t> close_order_;  // scratch: the positions of the account being liquidated
  std::vector<Qty> start_;                // scratch: pro-rata starting positions
  std::uint64_t bankrupt_accounts_ = 0;
};

}  // namespace deleverage
