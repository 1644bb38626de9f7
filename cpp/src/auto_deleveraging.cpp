#include "deleverage/auto_deleveraging.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace deleverage {

Qty AutoDeleveraging::deleverage(std::uint32_t a, std::size_t i, Qty lots, double bankruptcy, double equity,
                                 std::uint16_t round) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const AccountTable& table = ledger_.table();
  const Qty q = table.position[ledger_.at(a, i)];
  const double v = ledger_.tick_value(i);
  const auto mark = static_cast<double>(marks_[i]);
  const Qty sign = q > 0 ? 1 : -1;
  // Opposite positions ranked by profit x leverage.
  ranked_.clear();
  for (std::uint32_t j = 0; j < ledger_.accounts(); ++j) {
    const Qty qj = table.position[ledger_.at(j, i)];
    if (j == a || qj == 0 || (qj > 0) == (q > 0)) continue;
    const double ej = ledger_.equity(j, marks_.data());
    double score = -kInf;
    if (ej > 0) {
      const double cj = table.cost[ledger_.at(j, i)];
      const double upnl = static_cast<double>(qj) * mark * v - cj;
      const double notional = static_cast<double>(qabs(qj)) * mark * v;
      score = (upnl / std::fabs(cj)) * (notional / ej);
    }
    ranked_.emplace_back(score, j);
  }
  std::stable_sort(ranked_.begin(), ranked_.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  takes_.clear();
  Qty total = 0;
  for (const auto& [score, j] : ranked_) {
    if (total == lots) break;
    const Qty take = std::min(lots - total, qabs(table.position[ledger_.at(j, i)]));
    takes_.emplace_back(j, take);
    total += take;
  }
  if (total == 0) return 0;
  log_.record(CloseKind::Adl, round, a, i, q, total, bankruptcy, marks_[i], v, equity);
  for (const auto& [j, take] : takes_)
    log_.record(CloseKind::AdlVictim, round, j, i, table.position[ledger_.at(j, i)], take, bankruptcy, marks_[i], v,
                ledger_.equity(j, marks_.data()));
  ledger_.trade_account(a, i, -sign * total, bankruptcy);
  for (const auto& [j, take] : takes_) {
    detector_.detach(j);
    ledger_.trade_account(j, i, sign * take, bankruptcy);
    detector_.refresh(j);
  }
  return total;
}

}  // namespace deleverage
