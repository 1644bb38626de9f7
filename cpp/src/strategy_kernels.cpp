#include "deleverage/strategy_kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "deleverage/fundamental.hpp"

namespace deleverage {
namespace {

using namespace populations;

double no_signal(const PopulationState&, std::size_t, double, std::uint64_t) { return 0.0; }

template <class P>
const P& params(const PopulationSpec& p) {
  return *std::get_if<P>(&p.params);  // the table is indexed by the variant's index
}

// A population's own average of squared step returns after this step's return (alpha: its per-step weight).
void follow_variance(PopulationState& s, std::size_t k, double alpha, const Tape& tape) {
  const double r = tape.step_return;
  s.variance[k] += alpha * (r * r / tape.return_horizon - s.variance[k]);
}

// Its volatility (annualised), when it keeps that average.
double own_volatility(const PopulationState& s, std::size_t k, double year_steps) {
  return std::sqrt(s.variance[k] * year_steps);
}

const StrategyKernel kSpeculator{
    false, false, false,
    // Momentum: (fast - slow) / slow of the population's price averages.
    [](const PopulationState& s, std::size_t k, double, std::uint64_t) { return (s.fast[k] - s.slow[k]) / s.slow[k]; },
    [](const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b) {
      speculators(params<SpeculatorParams>(p), m, signal, b);
    },
    [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
      const auto& q = params<SpeculatorParams>(p);
      s.fast[k] += q.fast_alpha * (tape.price - s.fast[k]);
      s.slow[k] += q.slow_alpha * (tape.price - s.slow[k]);
      if (q.vol_alpha > 0.0) follow_variance(s, k, q.vol_alpha, tape);
    },
    // Their own average when they keep one (a fund's volatility target looks back days, not minutes).
    [](const PopulationSpec& p, const PopulationState& s, std::size_t k, double market, double year_steps) {
      return params<SpeculatorParams>(p).vol_alpha > 0.0 ? own_volatility(s, k, year_steps) : market;
    }};

const StrategyKernel kNoise{false, true, true,
                            // The population's mood.
                            [](const PopulationState& s, std::size_t k, double, std::uint64_t) { return s.mood[k]; },
                            [](const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b) {
                              noise(params<NoiseParams>(p), m, signal, b);
                            },
                            [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
                              const auto& q = params<NoiseParams>(p);
                              if (q.sentiment_volatility > 0.0)
                                s.mood[k] =
                                    q.sentiment_persistence * s.mood[k] +
                                    q.sentiment_volatility * tape.rng->normal(kStreamSentiment, tape.t, tape.key);
                            },
                            nullptr};

const StrategyKernel kValue{
    false, false, true,
    // What they remember of storms: still waiting one out, and a storm since the price last crossed fair.
    [](const PopulationState& s, std::size_t k, double, std::uint64_t t) {
      return static_cast<double>((t < s.calm_from[k] ? kValueSettling : 0) |
                                 (s.storm_side[k] != 0 ? kValueStormed : 0));
    },
    [](const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b) {
      value(params<ValueParams>(p), m, static_cast<int>(signal), b);
    },
    [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
      const auto& q = params<ValueParams>(p);
      double volatility = tape.volatility;
      if (q.vol_alpha > 0.0) {
        follow_variance(s, k, q.vol_alpha, tape);
        volatility = own_volatility(s, k, tape.year_steps);
      }
      volatility = std::max(volatility, tape.stress_volatility);
      // A step at or above vol_exit restarts their wait.
      if (q.calm_steps > 0 && volatility >= q.vol_exit)
        s.calm_from[k] = tape.t + 1 + static_cast<std::uint64_t>(q.calm_steps);
      if (q.hold_through_storm) {
        // A storm marks the side of fair value the price is on; the price reaching
        // fair value or crossing it ends the hold.
        const int side = (tape.price > tape.fair) - (tape.price < tape.fair);
        if (s.storm_side[k] != side) s.storm_side[k] = 0;
        if (volatility >= q.vol_exit && side != 0) s.storm_side[k] = static_cast<std::int8_t>(side);
      }
    },
    // Their own average when they keep one: a slow one comes down only once a
    // storm has passed, where the market's ten minutes calm between two waves.
    [](const PopulationSpec& p, const PopulationState& s, std::size_t k, double market, double year_steps) {
      return params<ValueParams>(p).vol_alpha > 0.0 ? own_volatility(s, k, year_steps) : market;
    }};

const StrategyKernel kMarketMaker{true,
                                  false,
                                  false,
                                  no_signal,
                                  nullptr,
                                  [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
                                    const auto& q = params<MarketMakerParams>(p);
                                    if (q.flow_alpha > 0.0) s.flow[k] += q.flow_alpha * (tape.volume - s.flow[k]);
                                    if (q.basis_alpha <= 0.0) return;
                                    // Dealers out of the market keep no memory of the basis: back in, they
                                    // quote where the book trades now (below value after a cascade, too);
                                    // with basis_out_alpha they average its prints while out.
                                    const bool out = std::all_of(s.makers.begin(), s.makers.end(),
                                                                 [](const auto& m) { return m.withdrawn; });
                                    const double basis = std::log(tape.price / tape.fair);
                                    const double out_alpha = q.basis_out_alpha > 0.0 ? q.basis_out_alpha : 1.0;
                                    s.basis[k] += (out ? out_alpha : q.basis_alpha) * (basis - s.basis[k]);
                                  },
                                  nullptr};

const StrategyKernel kHolder{false, false, false,
                             // Their slow average of the price (ticks).
                             [](const PopulationState& s, std::size_t k, double, std::uint64_t) { return s.slow[k]; },
                             [](const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b) {
                               holders(params<HolderParams>(p), m, signal, b);
                             },
                             [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
                               s.slow[k] += params<HolderParams>(p).slow_alpha * (tape.price - s.slow[k]);
                             },
                             nullptr};

const StrategyKernel kAllocator{false, false, false,
                                // They budget risk on the stormiest of their markets, over their own horizon.
                                [](const PopulationState& s, std::size_t, double dt, std::uint64_t) {
                                  double stormiest = 0.0;
                                  for (const double v : s.variance)
                                    stormiest = std::max(stormiest, std::sqrt(v * Fundamental::kYear / dt));
                                  return stormiest;
                                },
                                [](const PopulationSpec& p, const MarketView& m, double signal, DecisionBatch& b) {
                                  allocators(params<AllocatorParams>(p), m, signal, b);
                                },
                                [](const PopulationSpec& p, PopulationState& s, std::size_t k, const Tape& tape) {
                                  follow_variance(s, k, params<AllocatorParams>(p).slow_alpha, tape);
                                },
                                nullptr};

// Never due, no decision, no running averages.
const StrategyKernel kHold{false,     false,   false,
                           no_signal, nullptr, [](const PopulationSpec&, PopulationState&, std::size_t, const Tape&) {},
                           nullptr};

// In Strategy order.
const std::array<const StrategyKernel*, 7> kTable{&kSpeculator, &kNoise,     &kValue, &kMarketMaker,
                                                  &kHolder,     &kAllocator, &kHold};
static_assert(std::variant_size_v<StrategyParams> == 7, "one table entry per strategy");

}  // namespace

const StrategyKernel& kernel_of(Strategy s) noexcept { return *kTable[static_cast<std::size_t>(s)]; }

}  // namespace deleverage
