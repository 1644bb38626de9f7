#include "deleverage/liquidation_procedure.hpp"

#include <algorithm>
#include <cmath>

namespace deleverage {

LiquidationProcedure::LiquidationProcedure(Ledger& ledger, LiquidationDetector& detector, InsuranceFund& fund,
                                           AutoDeleveraging& adl, LiquidationLog& log, const EngineSettings& settings,
                                           const std::vector<Price>& marks)
    : ledger_(ledger),
      detector_(detector),
      fund_(fund),
      adl_(adl),
      log_(log),
      settings_(settings),
      marks_(marks),
      books_(ledger.instruments(), nullptr) {}

LiquidationProcedure::LiquidationProcedure(const LiquidationProcedure& other, Ledger& ledger,
                                           LiquidationDetector& detector, InsuranceFund& fund, AutoDeleveraging& adl,
                                           LiquidationLog& log, const EngineSettings& settings,
                                           const std::vector<Price>& marks)
    : LiquidationProcedure(ledger, detector, fund, adl, log, settings, marks) {
  book_fills_ = other.book_fills_;
  close_order_ = other.close_order_;
  start_ = other.start_;
  bankrupt_accounts_ = other.bankrupt_accounts_;
}

void LiquidationProcedure::liquidate(std::uint32_t a, std::uint16_t round) {
  AccountTable& table = ledger_.table();
  table.status[a] |= kStatusLiquidated;
  if (ledger_.equity(a, marks_.data()) < 0) {
    if ((table.status[a] & kStatusBankrupt) == 0) ++bankrupt_accounts_;
    table.status[a] |= kStatusBankrupt;
  }
  detector_.detach(a);
  for (OrderBook* book : books_)
    if (book != nullptr) book->cancel_owner(a);
  if (settings_.close_order == CloseOrder::ProRata) {
    liquidate_pro_rata(a, round);
    detector_.refresh(a);
    return;
  }
  close_order_.clear();
  for (std::size_t i = 0; i < ledger_.instruments(); ++i)
    if (table.position[ledger_.at(a, i)] != 0) close_order_.push_back(i);
  // Positions do not change each other's rank while the account is closed (the
  // marks are the round's), so the order is taken once.
  if (settings_.close_order == CloseOrder::MostLiquid) {
    const std::vector<double>& liquidity = settings_.liquidity;
    std::stable_sort(close_order_.begin(), close_order_.end(),
                     [&](std::size_t x, std::size_t y) { return liquidity[x] > liquidity[y]; });
  } else if (settings_.close_order == CloseOrder::LargestLoss) {
    auto upnl = [&](std::size_t i) {
      return static_cast<double>(table.position[ledger_.at(a, i)]) * static_cast<double>(marks_[i]) *
                 ledger_.tick_value(i) -
             table.cost[ledger_.at(a, i)];
    };
    std::stable_sort(close_order_.begin(), close_order_.end(),
                     [&](std::size_t x, std::size_t y) { return upnl(x) < upnl(y); });
  }
  for (const std::size_t i : close_order_) {
    if (table.position[ledger_.at(a, i)] == 0) continue;
    if (!ledger_.liquidatable(a, marks_.data())) break;
    const MarginRule& rule = ledger_.rules()[i];
    double closed = 0.0;  // notional closed on this position, for the fee
    bool saved = false;
    if (rule.partial_liquidation && rule.maintenance == Maintenance::Tiered) {
      const Qty q = table.position[ledger_.at(a, i)];
      const double n = rule.basis_notional(q, table.cost[ledger_.at(a, i)], marks_[i], ledger_.tick_value(i));
      const std::size_t j = rule.bracket(n);
      if (j > 0) {
        // Just enough lots to take the notional below the bracket's floor.
        const double want =
            std::ceil((n - rule.tier_floor[j]) / (static_cast<double>(marks_[i]) * ledger_.tick_value(i)));
        const Qty k = std::clamp<Qty>(static_cast<Qty>(want), 1, qabs(q));
        closed += close_out(a, i, k, CloseKind::Partial, round);
        saved = !ledger_.liquidatable(a, marks_.data());
      }
    }
    const Qty open = table.position[ledger_.at(a, i)];
    if (!saved && open != 0) closed += close_out(a, i, qabs(open), CloseKind::Takeover, round);
    settle(a, i, closed);
    if (saved) break;
  }
  detector_.refresh(a);
}

void LiquidationProcedure::liquidate_pro_rata(std::uint32_t a, std::uint16_t round) {
  // Step j of 4 closes each position down to (4 - j) quarters of what it was,
  // the lots closed so far rounded up: ceil(|q0| * j / 4).
  constexpr Qty kSteps = 4;
  const AccountTable& table = ledger_.table();
  const std::size_t ni = ledger_.instruments();
  start_.resize(ni);
  for (std::size_t i = 0; i < ni; ++i) start_[i] = qabs(table.position[ledger_.at(a, i)]);
  for (Qty j = 1; j <= kSteps; ++j) {
    if (!ledger_.liquidatable(a, marks_.data())) break;
    for (std::size_t i = 0; i < ni; ++i) {
      const Qty open = qabs(table.position[ledger_.at(a, i)]);
      if (open == 0) continue;
      const Qty done = start_[i] - open;
      const Qty lots = std::min(open, (start_[i] * j + kSteps - 1) / kSteps - done);
      if (lots <= 0) continue;
      settle(a, i, close_out(a, i, lots, CloseKind::Takeover, round));
    }
  }
}

double LiquidationProcedure::close_out(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round) {
  Qty left = lots;
  double closed = sell_into_book(a, i, lots, round, left);
  if (left > 0) closed += take_over(a, i, left, kind, round);
  return closed;
}

void LiquidationProcedure::settle(std::uint32_t a, std::size_t i, double closed) {
  AccountTable& table = ledger_.table();
  const MarginRule& rule = ledger_.rules()[i];
  // The liquidation fee on the notional closed goes to the fund, never
  // taking the account's equity below zero.
  const double fee = std::max(0.0, std::min(rule.liquidation_fee_rate * closed, ledger_.equity(a, marks_.data())));
  if (fee != 0.0) {
    table.cash[a] -= fee;
    table.fees_paid[a] += fee;
    fund_.receive(i, fee);
  }
  if (rule.negative_balance_protection && ledger_.lone_position(a) == Ledger::kNoPosition && table.cash[a] < 0) {
    fund_.write_off(i, -table.cash[a]);
    table.cash[a] = 0.0;
  }
}

double LiquidationProcedure::take_over(std::uint32_t a, std::size_t i, Qty lots, CloseKind kind, std::uint16_t round) {
  const Qty q = ledger_.table().position[ledger_.at(a, i)];
  const double v = ledger_.tick_value(i);
  const auto mark = static_cast<double>(marks_[i]);
  const double e = ledger_.equity(a, marks_.data());
  const double bankruptcy = mark - e / (static_cast<double>(q) * v);
  const Qty sign = q > 0 ? 1 : -1;
  const double e_rest = static_cast<double>(sign * lots) * v * (mark - bankruptcy);

  Qty to_fund = lots;
  const double loss = std::max(0.0, -e_rest);
  const bool covered =
      settings_.fund_equity ? !(fund_.equity(i, ledger_, marks_.data()) < loss) : fund_.covers(i, loss);
  if (settings_.adl && !covered) to_fund = lots - adl_.deleverage(a, i, lots, bankruptcy, e, round);
  if (to_fund > 0) {
    // Equity before this part: after any ADL above.
    log_.record(kind, round, a, i, q, to_fund, bankruptcy, marks_[i], v,
                to_fund == lots ? e : ledger_.equity(a, marks_.data()));
    ledger_.trade_account(a, i, -sign * to_fund, bankruptcy);
    fund_.trade(ledger_, i, sign * to_fund, bankruptcy);
  }
  return static_cast<double>(lots) * bankruptcy * v;
}

double LiquidationProcedure::sell_into_book(std::uint32_t a, std::size_t i, Qty lots, std::uint16_t round, Qty& left) {
  left = lots;
  OrderBook* book = books_[i];
  if (book == nullptr) return 0.0;
  const Qty q = ledger_.table().position[ledger_.at(a, i)];
  const double v = ledger_.tick_value(i);
  const double e = ledger_.equity(a, marks_.data());
  const double bankruptcy = static_cast<double>(marks_[i]) - e / (static_cast<double>(q) * v);
  // No fill worse than the bankruptcy price: a sale at or above it, a purchase at or below.
  const bool sell = q > 0;
  Price limit = sell ? Price{1} : kMaxPrice;  // at market
  if (!settings_.liquidate_at_market) {
    const double bound = sell ? std::ceil(bankruptcy) : std::floor(bankruptcy);
    if (!(bound <= static_cast<double>(kMaxPrice))) return 0.0;
    limit = sell ? std::max<Price>(1, static_cast<Price>(bound)) : static_cast<Price>(bound);
    if (limit < 1) return 0.0;
  }
  Message m{0,
            limit,
            lots,
            a,
            static_cast<std::uint8_t>(MsgType::Ioc),
            static_cast<std::uint8_t>(sell ? Side::Sell : Side::Buy),
            {}};
  book_fills_.clear();
  book->apply(m, 0, book_fills_);
  Qty filled = 0;
  double value = 0.0;
  const double maker_fee_rate = ledger_.rules()[i].maker_fee_rate;
  for (const Fill& f : book_fills_) {
    if (f.kind != static_cast<std::uint8_t>(FillKind::Trade)) continue;
    if (trade_sink_ != nullptr) trade_sink_->push_back(BookTrade{static_cast<std::uint32_t>(i), f});
    ledger_.apply_fill(i, f.maker_owner, sell ? f.qty : -f.qty, f.price, maker_fee_rate, fund_, detector_);
    ledger_.trade_account(a, i, sell ? -f.qty : f.qty, static_cast<double>(f.price));
    filled += f.qty;
    value += static_cast<double>(f.qty) * static_cast<double>(f.price);
  }
  left = lots - filled;
  if (filled == 0) return 0.0;
  log_.record(CloseKind::BookOrder, round, a, i, q, filled, value / static_cast<double>(filled), marks_[i], v, e);
  return value * v;
}

}  // namespace deleverage
