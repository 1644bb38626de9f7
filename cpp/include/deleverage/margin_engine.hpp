// Marks accounts to market and liquidates them the way venues do
// (docs/margin.md): the facade over the margin engine's parts, which the
// bindings and the simulation use.
//
//   ledger                 cash, positions, trades, fills, fees, open interest (ledger.hpp)
//   liquidation_detector   who may be liquidatable: the index, the cross scan (liquidation_detector.hpp)
//   liquidation_procedure  cancel, partial close routed into the book, takeover (liquidation_procedure.hpp)
//   insurance_fund         takeovers, liquidation fees, bad debt (insurance_fund.hpp)
//   auto_deleveraging      opposite positions close what the fund cannot absorb (auto_deleveraging.hpp)
//   liquidation_log        every close (liquidation_log.hpp)
//
// A check marks every instrument and runs rounds until calm: each round takes
// the accounts liquidatable at its start from the detector and hands them to
// the procedure, within the cap on notional per check.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <utility>
#include <vector>

#include "deleverage/auto_deleveraging.hpp"
#include "deleverage/cross_margin_scan.hpp"
#include "deleverage/insurance_fund.hpp"
#include "deleverage/ledger.hpp"
#include "deleverage/liquidation_detector.hpp"
#include "deleverage/liquidation_log.hpp"
#include "deleverage/liquidation_procedure.hpp"
#include "deleverage/margin_rule.hpp"
#include "deleverage/order_book.hpp"

namespace deleverage {

// How an instrument's mark price follows its book (docs/margin.md, "Mark price").
enum class MarkRule : std::uint8_t { Last = 0, Mid = 1, Median = 2 };

class MarginEngine {
 public:
  // Limits on money in: an account's cash (and a fee), and a tick's value per lot.
  static constexpr double kMaxCash = Ledger::kMaxCash;
  static constexpr double kMinTickValue = Ledger::kMinTickValue;
  static constexpr double kMaxTickValue = Ledger::kMaxTickValue;

  MarginEngine(std::vector<double> tick_values, std::vector<MarginRule> rules, EngineSettings settings);
  // The parts refer to each other: a copy's parts refer to the copy's, and it
  // has no book attached and no trade sink (attach_book, set_trade_sink again).
  MarginEngine(const MarginEngine& other);
  MarginEngine& operator=(const MarginEngine&) = delete;

  std::size_t instruments() const noexcept { return ledger_.instruments(); }
  std::size_t accounts() const noexcept { return ledger_.accounts(); }

  // Append n accounts. position and entry_price are n x I row-major (zeros
  // where an account holds nothing; both null: every account starts flat). Validates
  // everything before changing anything.
  void add_accounts(std::size_t n, const double* cash, const std::uint16_t* instrument, const Qty* position,
                    const double* entry_price, const std::uint8_t* mode, const std::uint16_t* population);

  // Mark every instrument and liquidate until calm; returns the number of
  // records appended to the log.
  std::size_t check(const Price* marks);

  // Attach the book of an instrument: liquidations then cancel the account's
  // orders and send an IOC into it, and check_books() takes marks from it.
  // The book must track owners and outlive its attachment.
  void attach_book(std::size_t instrument, OrderBook* book, MarkRule rule);
  // Like check(), with each round's marks taken from the attached books
  // (index prices for instruments without one, and for the median rule).
  std::size_t check_books(const Price* index_prices);
  Price book_mark(std::size_t instrument, Price index) const noexcept;

  // Trades of an instrument's book applied to both sides, with maker and taker
  // fees. kFundOwner trades the insurance fund's positions; other owners that
  // are not accounts trade against the outside holder.
  void apply_fills(std::size_t instrument, const Fill* fills, std::size_t n) {
    ledger_.apply_fills(instrument, fills, n, fund_, detector_);
  }

  // Where the trades of liquidation orders are also written (nullptr: nowhere).
  void set_trade_sink(std::vector<BookTrade>* sink) noexcept { procedure_.set_trade_sink(sink); }

  // check() at each row of a (steps x instruments) mark path; returns records appended.
  std::size_t check_path(const Price* marks, std::size_t steps);

  // Baseline and cross-check: liquidatable accounts by a full scan of the table.
  std::size_t count_liquidatable(const Price* marks) const;

  void set_rule(std::size_t instrument, MarginRule rule);
  const MarginRule& rule(std::size_t instrument) const { return ledger_.rule(instrument); }

  // One side of a trade: the account buys (lots > 0) or sells at `price`
  // ticks and pays `fee` (money) to the venue.
  void apply_trade(std::uint32_t account, std::size_t instrument, Qty lots, double price, double fee);

  double equity(std::uint32_t a, const Price* marks) const noexcept { return ledger_.equity(a, marks); }
  double maintenance_margin(std::uint32_t a, const Price* marks) const noexcept {
    return ledger_.maintenance_margin(a, marks);
  }
  bool liquidatable(std::uint32_t a, const Price* marks) const noexcept { return ledger_.liquidatable(a, marks); }
  // Closed form for an account with exactly one open position, else NaN.
  double liquidation_price(std::uint32_t a) const noexcept { return ledger_.liquidation_price(a); }
  // sum(cash - cost) over accounts and fund + fees collected - bad debt.
  double conserved() const noexcept;

  const AccountTable& table() const noexcept { return ledger_.table(); }
  // Every fund's cash and positions together (one fund unless instruments have their own).
  const Holdings& fund() const noexcept { return fund_.holdings(); }
  // The cash of the fund that serves instrument i.
  double fund_cash(std::size_t i) const noexcept { return fund_.cash(i); }
  // The cash plus the positions at the current marks of the fund that serves instrument i.
  double fund_equity(std::size_t i) const noexcept { return fund_.equity(i, ledger_, marks_.data()); }
  const Holdings& outside() const noexcept { return ledger_.outside(); }
  double fees_collected() const noexcept { return ledger_.fees_collected(); }
  double bad_debt() const noexcept { return fund_.bad_debt(); }
  // The bad debt of the closes of instrument i's positions (they sum to bad_debt()).
  double bad_debt(std::size_t i) const noexcept { return fund_.bad_debt(i); }
  const std::vector<double>& bad_debt_by_instrument() const noexcept { return fund_.bad_debt_by_instrument(); }
  // Accounts whose equity was below zero when a liquidation reached them (each counted once).
  std::uint64_t bankrupt_accounts() const noexcept { return procedure_.bankrupt_accounts(); }
  // Gross money that changed hands in trades (lots x price x tick value, every side):
  // the scale conservation is measured against, as rounding grows with it.
  double money_moved() const noexcept { return ledger_.money_moved(); }
  const std::vector<LiquidationRecord>& log() const noexcept { return log_.records(); }
  std::uint32_t checks() const noexcept { return log_.checks(); }
  // Open interest: the long lots of every holder (accounts, fund, outside).
  Qty open_interest(std::size_t i) const noexcept { return ledger_.open_interest(i); }
  const MarkRule& mark_rule(std::size_t i) const noexcept { return mark_rules_[i]; }
  const Price* marks() const noexcept { return marks_.data(); }
  std::size_t memory_bytes() const noexcept;
  const EngineSettings& settings() const noexcept { return settings_; }
  const CrossMarginScan& cross_scan() const noexcept { return detector_.cross_scan(); }
  double tick_value(std::size_t i) const noexcept { return ledger_.tick_value(i); }

 private:
  std::size_t run_check(const Price* prices, bool from_books);
  // A round's accounts, most distressed first (EngineSettings::margin_ratio_order).
  const std::vector<std::uint32_t>& by_margin_ratio(const std::vector<std::uint32_t>& due);
  // Whether account a holds an instrument whose liquidation capacity this check is used up.
  bool over_capacity(std::uint32_t a) const noexcept;
  // Margin calls: keep the calls of the accounts still under maintenance
  // (`found`, this check's first round), and whether account a's call (made
  // now if it has none) has run out, or its equity is past the close-out.
  void keep_calls(const std::vector<std::uint32_t>& found);
  bool call_ends(std::uint32_t a);

  EngineSettings settings_;
  Ledger ledger_;
  InsuranceFund fund_;
  LiquidationLog log_;
  std::vector<Price> marks_;  // the current round's
  // Open margin calls: account -> the check that made the call. Calls are
  // few beside the accounts, so they are kept apart from the account table.
  std::unordered_map<std::uint32_t, std::uint32_t> calls_;
  LiquidationDetector detector_;
  AutoDeleveraging adl_;
  LiquidationProcedure procedure_;
  std::vector<MarkRule> mark_rules_;
  std::vector<std::uint32_t> ordered_;                  // by_margin_ratio's result
  std::vector<std::pair<double, std::uint32_t>> keys_;  // its (ratio, account) pairs
};

}  // namespace deleverage
