// Marks accounts to market and liquidates them the way venues do
// (docs/margin.md): liquidation index, partial liquidation, takeover by the
// insurance fund at the bankruptcy price, auto-deleveraging, fees, negative
// balance protection, and a log of every close.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "deleverage/accounts.hpp"
#include "deleverage/cross_margin_scan.hpp"
#include "deleverage/liquidation_index.hpp"
#include "deleverage/margin_rule.hpp"
#include "deleverage/order_book.hpp"

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
};

// A trade of a liquidation order in an instrument's book.
struct BookTrade {
  std::uint32_t instrument;
  Fill fill;
};

// How an instrument's mark price follows its book (docs/margin.md, "Mark price").
enum class MarkRule : std::uint8_t { Last = 0, Mid = 1, Median = 2 };

// A holder like an account, without margin: the insurance fund, and the
// outside world (book participants that are not accounts of this engine).
struct Holder {
  double cash = 0.0;
  std::vector<Qty> position;
  std::vector<double> cost;
};

// The book owner whose trades are the insurance fund's own (working off the
// positions it took over); every other owner past the accounts is the outside.
inline constexpr AccountId kFundOwner = 0xFFFFFFFEu;

class MarginEngine {
 public:
  // Limits on money in: an account's cash (and a fee), and a tick's value per lot.
  static constexpr double kMaxCash = 1e15;
  static constexpr double kMinTickValue = 1e-12;
  static constexpr double kMaxTickValue = 1e12;

  MarginEngine(std::vector<double> tick_values, std::vector<MarginRule> rules, EngineSettings settings);

  std::size_t instruments() const noexcept { return tick_values_.size(); }
  std::size_t accounts() const noexcept { return table_.size(); }

  // Append n accounts. position and entry_price are n x I row-major (zeros
  // where an account holds nothing). Validates everything before changing anything.
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
  void apply_fills(std::size_t instrument, const Fill* fills, std::size_t n);

  // Where the trades of liquidation orders are also written (nullptr: nowhere).
  void set_trade_sink(std::vector<BookTrade>* sink) noexcept { trade_sink_ = sink; }

  // check() at each row of a (steps x instruments) mark path; returns records appended.
  std::size_t check_path(const Price* marks, std::size_t steps);

  // Baseline and cross-check: liquidatable accounts by a full scan of the table.
  std::size_t count_liquidatable(const Price* marks) const;

  void set_rule(std::size_t instrument, MarginRule rule);
  const MarginRule& rule(std::size_t instrument) const { return rules_.at(instrument); }

  // One side of a trade: the account buys (lots > 0) or sells at `price`
  // ticks and pays `fee` (money) to the venue.
  void apply_trade(std::uint32_t account, std::size_t instrument, Qty lots, double price, double fee);

  double equity(std::uint32_t a, const Price* marks) const noexcept;
  double maintenance_margin(std::uint32_t a, const Price* marks) const noexcept;
  bool liquidatable(std::uint32_t a, const Price* marks) const noexcept;
  // Closed form for an account with exactly one open position, else NaN.
  double liquidation_price(std::uint32_t a) const noexcept;
  // sum(cash - cost) over accounts and fund + fees collected - bad debt.
  double conserved() const noexcept;

  const AccountTable& table() const noexcept { return table_; }
  const Holder& fund() const noexcept { return fund_; }
  const Holder& outside() const noexcept { return outside_; }
  double fees_collected() const noexcept { return fees_collected_; }
  double bad_debt() const noexcept { return bad_debt_; }
  // The bad debt of the closes of instrument i's positions (they sum to bad_debt()).
  double bad_debt(std::size_t i) const noexcept { return bad_debt_by_instrument_[i]; }
  const std::vector<double>& bad_debt_by_instrument() const noexcept { return bad_debt_by_instrument_; }
  // Accounts whose equity was below zero when a liquidation reached them (each counted once).
  std::uint64_t bankrupt_accounts() const noexcept { return bankrupt_accounts_; }
  // Gross money that changed hands in trades (lots x price x tick value, every side):
  // the scale conservation is measured against, as rounding grows with it.
  double money_moved() const noexcept { return money_moved_; }
  const std::vector<LiquidationRecord>& log() const noexcept { return log_; }
  std::uint32_t checks() const noexcept { return checks_; }
  // Open interest: the long lots of every holder (accounts, fund, outside).
  Qty open_interest(std::size_t i) const noexcept { return open_interest_[i]; }
  const MarkRule& mark_rule(std::size_t i) const noexcept { return mark_rules_[i]; }
  const Price* marks() const noexcept { return marks_.data(); }
  std::size_t memory_bytes() const noexcept;
  const EngineSettings& settings() const noexcept { return settings_; }
  const CrossMarginScan& cross_scan() const noexcept { return scan_; }
  double tick_value(std::size_t i) const noexcept { return tick_values_[i]; }

 private:
  struct SideIndexes {
    LiquidationIndex longs;
    LiquidationIndex shorts;
  };

  std::size_t at(std::uint32_t a, std::size_t i) const noexcept { return a * instruments() + i; }
  void refresh(std::uint32_t a);
  void prefetch_row(std::uint32_t a) const noexcept;
  void detach(std::uint32_t a);
  void ensure_span(std::size_t i, double price);
  void rebuild(std::size_t i, int shift);
  std::size_t lone_position(std::uint32_t a) const noexcept;  // instrument, or SIZE_MAX if 0 or >1 open
  std::size_t run_check(const Price* prices, bool from_books);
  void liquidate(std::uint32_t a, std::uint16_t round);
  // Close `lots` of position i through the book, then the fund or ADL; returns the notional closed.
  double close_out(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round);
  // Steps 6-7 after the closes of one position: the liquidation fee and negative-balance protection.
  void settle(std::uint32_t a, std::size_t i, double closed);
  void liquidate_pro_rata(std::uint32_t a, std::uint16_t round);
  CrossMarginScan::View view() const noexcept { return {&table_, rules_.data(), tick_values_.data()}; }
  // An IOC for `lots` bounded at the bankruptcy price; returns the notional filled, `left` the lots not.
  double sell_into_book(std::uint32_t a, std::size_t i, Qty lots, std::uint16_t round, Qty& left);
  void apply_fill(std::size_t i, AccountId owner, Qty lots, Price price, double fee_rate);
  // Takeover / ADL of `lots` at the bankruptcy price; returns the notional closed.
  double close(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round);
  void trade_account(std::uint32_t a, std::size_t i, Qty lots, double price);
  void trade_fund(std::size_t i, Qty lots, double price);
  void trade_holder(std::size_t i, Qty& q, double& cost, double& cash, double* realized, Qty lots, double price);
  void record(CloseKind kind, std::uint16_t round, std::uint32_t a, std::size_t i, Qty signed_position, Qty lots,
              double price, double equity);

  std::vector<double> tick_values_;
  std::vector<MarginRule> rules_;
  EngineSettings settings_;
  AccountTable table_;
  Holder fund_;
  Holder outside_;
  std::vector<OrderBook*> books_;  // per instrument, or nullptr
  std::vector<MarkRule> mark_rules_;
  std::vector<Fill> book_fills_;
  std::vector<BookTrade>* trade_sink_ = nullptr;
  std::vector<std::unique_ptr<SideIndexes>> indexes_;
  CrossMarginScan scan_;                  // accounts with several open positions
  std::vector<std::size_t> close_order_;  // scratch: the positions of the account being liquidated
  std::vector<Price> marks_;
  std::vector<LiquidationRecord> log_;
  std::vector<std::uint32_t> candidates_;
  std::vector<Qty> open_interest_;
  double used_notional_ = 0.0;  // liquidated notional in the current check (kinds 0-3, at the mark)
  double fees_collected_ = 0.0;
  double money_moved_ = 0.0;
  double bad_debt_ = 0.0;
  std::vector<double> bad_debt_by_instrument_;
  std::uint64_t bankrupt_accounts_ = 0;
  std::uint32_t checks_ = 0;
};

}  // namespace deleverage
