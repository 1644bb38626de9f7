#include "deleverage/margin_engine.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "deleverage/lots_avx2.hpp"
#include "deleverage/portfolio_revaluation.hpp"

namespace deleverage {

MarginEngine::MarginEngine(std::vector<double> tick_values, std::vector<MarginRule> rules, EngineSettings settings)
    : settings_(std::move(settings)),
      ledger_(std::move(tick_values), std::move(rules)),
      fund_(settings_.insurance_fund, ledger_.instruments(), settings_.instrument_funds),
      marks_(ledger_.instruments(), 0),
      detector_(ledger_),
      adl_(ledger_, detector_, log_, marks_),
      procedure_(ledger_, detector_, fund_, adl_, log_, settings_, marks_),
      mark_rules_(ledger_.instruments(), MarkRule::Last) {
  if (!std::isfinite(settings_.insurance_fund) || settings_.insurance_fund < 0)
    margin_input_error("insurance_fund", "must be finite and >= 0, got " + std::to_string(settings_.insurance_fund));
  if (settings_.max_rounds < 1 || settings_.max_rounds > 65535)
    margin_input_error("max_rounds", "must be in 1..65535, got " + std::to_string(settings_.max_rounds));
  if (!(settings_.max_liquidation_notional > 0))
    margin_input_error("max_liquidation_notional", "must be > 0 (inf for no cap)");
  if (static_cast<std::uint8_t>(settings_.close_order) > 3)
    margin_input_error("close_order", "must be instrument, most_liquid, largest_loss or pro_rata");
  if (settings_.liquidity.empty()) settings_.liquidity.assign(instruments(), 0.0);
  if (settings_.liquidity.size() != instruments())
    margin_input_error("liquidity", "need one value per instrument (" + std::to_string(instruments()) + "), got " +
                                        std::to_string(settings_.liquidity.size()));
  for (const double l : settings_.liquidity)
    if (!std::isfinite(l)) margin_input_error("liquidity", "must be finite, got " + std::to_string(l));
  if (!(settings_.close_out_ratio >= 0.0 && settings_.close_out_ratio <= 1.0))
    margin_input_error("close_out_ratio", "must be in [0, 1], got " + std::to_string(settings_.close_out_ratio));
  if (!settings_.liquidation_capacity.empty()) {
    if (settings_.liquidation_capacity.size() != instruments())
      margin_input_error("liquidation_capacity", "need one value per instrument (" + std::to_string(instruments()) +
                                                     "), got " + std::to_string(settings_.liquidation_capacity.size()));
    for (const double c : settings_.liquidation_capacity)
      if (!(c > 0))
        margin_input_error("liquidation_capacity", "must be > 0 (inf for no cap), got " + std::to_string(c));
    log_.track_instruments(instruments());
  }
}

void MarginEngine::add_accounts(std::size_t n, const double* cash, const std::uint16_t* instrument, const Qty* position,
                                const double* entry_price, const std::uint8_t* mode, const std::uint16_t* population) {
  const std::size_t first = accounts();
  ledger_.append(n, cash, instrument, position, entry_price, mode, population);
  detector_.add_accounts(first, n, position, entry_price);
}

void MarginEngine::set_rule(std::size_t instrument, MarginRule rule) {
  ledger_.set_rule(instrument, std::move(rule));
  // Every trigger on this instrument moves: re-key them all, and every cross threshold.
  detector_.rekey(instrument);
}

double MarginEngine::conserved() const noexcept {
  const AccountTable& table = ledger_.table();
  const Holdings& fund = fund_.holdings();
  const Holdings& outside = ledger_.outside();
  double total = 0.0;
  for (std::uint32_t a = 0; a < accounts(); ++a) {
    double c = table.cash[a];
    for (std::size_t i = 0; i < instruments(); ++i) c -= table.cost[ledger_.at(a, i)];
    total += c;
  }
  double f = fund.cash + outside.cash;
  for (std::size_t i = 0; i < instruments(); ++i) f -= fund.cost[i] + outside.cost[i];
  return total + f + ledger_.fees_collected() - fund_.bad_debt();
}

std::size_t MarginEngine::memory_bytes() const noexcept {
  const std::size_t call = sizeof(std::pair<const std::uint32_t, std::uint32_t>) + 2 * sizeof(void*);
  return ledger_.table().memory_bytes() + detector_.memory_bytes() + calls_.bucket_count() * sizeof(void*) +
         calls_.size() * call;
}

void MarginEngine::apply_trade(std::uint32_t a, std::size_t i, Qty lots, double price, double fee) {
  const AccountTable& table = ledger_.table();
  if (a >= accounts()) margin_input_error("account", "no account " + std::to_string(a));
  if (i >= instruments()) margin_input_error("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  if (table.mode[a] == 0 && table.instrument[a] != i && ledger_.lone_position(a) != Ledger::kNoPosition)
    margin_input_error("instrument", "isolated account " + std::to_string(a) + " trades only its own instrument");
  if (lots == 0 || lots > kMaxQty || lots < -kMaxQty) margin_input_error("lots", "must be non-zero and within +-2^40");
  if (!(price > 0 && price <= static_cast<double>(kMaxPrice)))
    margin_input_error("price", "must be in (0, 2^62] ticks");
  if (!(std::fabs(fee) <= kMaxCash)) margin_input_error("fee", "must be in [-1e15, 1e15]");
  detector_.detach(a);
  ledger_.trade_account(a, i, lots, price);
  ledger_.charge_fee(a, fee);
  if (table.mode[a] == 0) ledger_.table().instrument[a] = static_cast<std::uint16_t>(i);
  detector_.refresh(a);
}

std::size_t MarginEngine::check(const Price* marks) { return run_check(marks, false); }

std::size_t MarginEngine::check_books(const Price* index_prices) { return run_check(index_prices, true); }

void MarginEngine::attach_book(std::size_t i, OrderBook* book, MarkRule rule) {
  if (i >= instruments()) margin_input_error("instrument", "must be in 0.." + std::to_string(instruments() - 1));
  if (book != nullptr && !book->tracks_owners()) margin_input_error("book", "must be made with track_owners=True");
  if (static_cast<std::uint8_t>(rule) > 2) margin_input_error("mark", "must be last, mid or median");
  procedure_.attach_book(i, book);
  mark_rules_[i] = rule;
}

MarginEngine::MarginEngine(const MarginEngine& other)
    : settings_(other.settings_),
      ledger_(other.ledger_),
      fund_(other.fund_),
      log_(other.log_),
      marks_(other.marks_),
      calls_(other.calls_),
      detector_(other.detector_, ledger_),
      adl_(other.adl_, ledger_, detector_, log_, marks_),
      procedure_(other.procedure_, ledger_, detector_, fund_, adl_, log_, settings_, marks_),
      mark_rules_(other.mark_rules_),
      ordered_(other.ordered_),
      keys_(other.keys_) {}

Price MarginEngine::book_mark(std::size_t i, Price index) const noexcept {
  const OrderBook* book = procedure_.book(i);
  if (book == nullptr) return index;
  const Price last = book->last_price().value_or(index);
  const auto bid = book->best_bid();
  const auto ask = book->best_ask();
  const Price mid = bid && ask ? (*bid + *ask) / 2 : last;
  switch (mark_rules_[i]) {
    case MarkRule::Last:
      return last;
    case MarkRule::Mid:
      return mid;
    case MarkRule::Median:
      return std::max(std::min(index, mid), std::min(std::max(index, mid), last));
  }
  return last;
}

std::size_t MarginEngine::run_check(const Price* prices, bool from_books) {
  for (std::size_t i = 0; i < instruments(); ++i)
    if (prices[i] < 1 || prices[i] > kMaxPrice)
      margin_input_error((from_books ? "index_prices[" : "marks[") + std::to_string(i) + "]",
                         "must be in 1..2^62 ticks, got " + std::to_string(prices[i]));
  const std::size_t before = log_.size();
  log_.begin_check();
  bool fee = false;  // does a liquidation write the fees paid?
  for (const MarginRule& rule : ledger_.rules()) fee = fee || rule.liquidation_fee_rate > 0;
  for (int round = 0; round < settings_.max_rounds; ++round) {
    // Each round marks at the prices it starts with: liquidation orders move books.
    for (std::size_t i = 0; i < instruments(); ++i) marks_[i] = from_books ? book_mark(i, prices[i]) : prices[i];
    detector_.cover(marks_.data());
    // The round's accounts are those liquidatable at its start; one that only
    // becomes liquidatable during it (an ADL victim) waits for the next round.
    const std::vector<std::uint32_t>& found = detector_.liquidatable(marks_.data());
    if (round == 0 && settings_.margin_call_checks > 0) keep_calls(found);
    const std::vector<std::uint32_t>& due = settings_.margin_ratio_order ? by_margin_ratio(found) : found;
    bool any = false;
    // The due are scattered over the table: ask for the rows a liquidation
    // writes a few accounts ahead (the check has just read the others).
    constexpr std::size_t kAhead = 8;
    for (std::size_t c = 0; c < std::min(kAhead, due.size()); ++c) detector_.prefetch_closing(due[c], fee);
    for (std::size_t c = 0; c < due.size(); ++c) {
      const std::uint32_t a = due[c];
      if (c + kAhead < due.size()) detector_.prefetch_closing(due[c + kAhead], fee);
      if (log_.used_notional() >= settings_.max_liquidation_notional) {
        // The cap is used up: the rest wait for the next check, back in the index.
        for (std::size_t rest = c; rest < due.size(); ++rest)
          if (!detector_.scanned(due[rest])) detector_.refresh(due[rest]);
        return log_.size() - before;
      }
      if (!ledger_.liquidatable(a, marks_.data()) || over_capacity(a) ||
          (settings_.margin_call_checks > 0 && !call_ends(a))) {
        // Healthy again, its instrument's liquidation engine is busy, or its
        // margin call still runs: back in the index.
        if (!detector_.scanned(a)) detector_.refresh(a);
        continue;
      }
      procedure_.liquidate(a, static_cast<std::uint16_t>(round));
      any = true;
    }
    if (!any) break;
  }
  return log_.size() - before;
}

const std::vector<std::uint32_t>& MarginEngine::by_margin_ratio(const std::vector<std::uint32_t>& due) {
  keys_.clear();
  for (const std::uint32_t a : due) {
    const double mm = ledger_.maintenance_margin(a, marks_.data());
    const double ratio = mm > 0 ? ledger_.equity(a, marks_.data()) / mm : -std::numeric_limits<double>::infinity();
    keys_.emplace_back(ratio, a);
  }
  std::sort(keys_.begin(), keys_.end());  // by ratio, ties by account id
  ordered_.clear();
  for (const auto& k : keys_) ordered_.push_back(k.second);
  return ordered_;
}

void MarginEngine::keep_calls(const std::vector<std::uint32_t>& found) {
  // A call is answered by a check that finds the account above its maintenance
  // margin; `found` is in account order (the detector's).
  for (auto it = calls_.begin(); it != calls_.end();)
    it = std::binary_search(found.begin(), found.end(), it->first) ? std::next(it) : calls_.erase(it);
}

bool MarginEngine::call_ends(std::uint32_t a) {
  const std::uint32_t now = log_.checks();
  const auto [call, made] = calls_.try_emplace(a, now);
  if (!made && now - call->second >= settings_.margin_call_checks) return true;
  // Past the close-out nobody waits for the money: the account is closed now.
  return ledger_.equity(a, marks_.data()) <= settings_.close_out_ratio * ledger_.maintenance_margin(a, marks_.data());
}

bool MarginEngine::over_capacity(std::uint32_t a) const noexcept {
  if (settings_.liquidation_capacity.empty()) return false;
  for (std::size_t i = 0; i < instruments(); ++i)
    if (ledger_.table().position[ledger_.at(a, i)] != 0 && log_.used_notional(i) >= settings_.liquidation_capacity[i])
      return true;
  return false;
}

std::size_t MarginEngine::check_path(const Price* marks, std::size_t steps) {
  std::size_t records = 0;
  for (std::size_t t = 0; t < steps; ++t) records += check(marks + t * instruments());
  return records;
}

namespace {

// One instrument, percent maintenance on the mark: the accounts with a
// position whose equity is at or under their maintenance margin.
std::size_t count_percent_rows_scalar(const AccountTable& table, std::size_t first, std::size_t n, double p, double v,
                                      double rate) noexcept {
  std::size_t count = 0;
  for (std::size_t a = first; a < n; ++a) {
    const Cell c = table.cell(a, 0);
    const auto qa = static_cast<double>(table.position[c]);
    const double e = table.cash[a] + (qa * p * v - table.cost[c]);
    const double mm = rate * (std::fabs(qa) * p * v);
    count += (table.position[c] != 0 && e <= mm) ? 1u : 0u;
  }
  return count;
}

#if defined(__GNUC__) && defined(__x86_64__)
// The same expressions four accounts at a time: four 32-byte rows (cash,
// P&L, position, cost) loaded whole and transposed, so the strided fields
// cost no gathers. The lot counts become doubles exactly (lots_to_pd); no
// FMA, so every lane rounds as the scalar loop.
__attribute__((target("avx2"))) std::size_t count_percent_rows_avx2(const AccountTable& table, std::size_t n, double p,
                                                                    double v, double rate) noexcept {
  constexpr std::size_t kWords = AccountRows::row_words(1);  // 4 words a row, 32-byte aligned
  static_assert(kWords == 4, "four rows are four 256-bit loads");
  const auto* rows = table.cash.data();
  const __m256d vp = _mm256_set1_pd(p);
  const __m256d vv = _mm256_set1_pd(v);
  const __m256d vrate = _mm256_set1_pd(rate);
  const __m256d sign = _mm256_set1_pd(-0.0);
  __m256i hits = _mm256_setzero_si256();
  std::size_t a = 0;
  for (; a + 4 <= n; a += 4) {
    const double* r = rows + a * kWords;
    const __m256d r0 = _mm256_load_pd(r);
    const __m256d r1 = _mm256_load_pd(r + kWords);
    const __m256d r2 = _mm256_load_pd(r + 2 * kWords);
    const __m256d r3 = _mm256_load_pd(r + 3 * kWords);
    const __m256d lo01 = _mm256_unpacklo_pd(r0, r1);  // cash0 cash1 q0 q1
    const __m256d hi01 = _mm256_unpackhi_pd(r0, r1);  // pnl0 pnl1 cost0 cost1
    const __m256d lo23 = _mm256_unpacklo_pd(r2, r3);
    const __m256d hi23 = _mm256_unpackhi_pd(r2, r3);
    const __m256d cash = _mm256_permute2f128_pd(lo01, lo23, 0x20);
    const __m256i q = _mm256_castpd_si256(_mm256_permute2f128_pd(lo01, lo23, 0x31));
    const __m256d cost = _mm256_permute2f128_pd(hi01, hi23, 0x31);
    const __m256d qa = lots_to_pd(q);
    const __m256d e = _mm256_add_pd(cash, _mm256_sub_pd(_mm256_mul_pd(_mm256_mul_pd(qa, vp), vv), cost));
    const __m256d mm = _mm256_mul_pd(vrate, _mm256_mul_pd(_mm256_mul_pd(_mm256_andnot_pd(sign, qa), vp), vv));
    const __m256i under = _mm256_castpd_si256(_mm256_cmp_pd(e, mm, _CMP_LE_OQ));
    const __m256i flat = _mm256_cmpeq_epi64(q, _mm256_setzero_si256());
    hits = _mm256_sub_epi64(hits, _mm256_andnot_si256(flat, under));  // a hit lane is -1
  }
  alignas(32) std::int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), hits);
  const auto count = static_cast<std::size_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
  return count + count_percent_rows_scalar(table, a, n, p, v, rate);
}
#endif

std::size_t count_percent_rows(const AccountTable& table, std::size_t n, double p, double v, double rate) noexcept {
#if defined(__GNUC__) && defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2") != 0;
  if (avx2 && table.cash.stride() == AccountRows::row_words(1)) return count_percent_rows_avx2(table, n, p, v, rate);
#endif
  return count_percent_rows_scalar(table, 0, n, p, v, rate);
}

}  // namespace

std::size_t MarginEngine::count_liquidatable(const Price* marks) const {
  const AccountTable& table = ledger_.table();
  const std::size_t n = accounts();
  std::size_t count = 0;
  if (instruments() == 1) {
    // The single-instrument scan in one flat loop over the rows.
    const MarginRule& rule = ledger_.rules()[0];
    const double v = ledger_.tick_value(0);
    const auto p = static_cast<double>(marks[0]);
    if (rule.maintenance == Maintenance::Percent && rule.basis == MarginBasis::Mark)
      return count_percent_rows(table, n, p, v, rule.maintenance_rate);
  }
  // Any portfolio: the table in blocks through the vectorized revaluation (the same expressions).
  auto block = std::make_unique<RevaluationBlock>();
  for (std::size_t first = 0; first < n; first += RevaluationBlock::kSize) {
    const std::size_t size = std::min(RevaluationBlock::kSize, n - first);
    revalue_block(table, ledger_.rules().data(), ledger_.tick_values().data(), marks, first, size, false, *block);
    for (std::size_t k = 0; k < size; ++k) count += (block->open[k] != 0 && block->equity[k] <= block->mm[k]) ? 1u : 0u;
  }
  return count;
}

}  // namespace deleverage
