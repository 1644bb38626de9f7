#include "deleverage/run_agreement.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace deleverage {

namespace {

// The first differing entry of two schedules sorted by step: where the step's
// run first reads it (the earlier of the two entries' steps), or `never`.
template <class T>
std::uint64_t first_unequal(const std::vector<T>& a, const std::vector<T>& b, std::uint64_t never) {
  std::size_t k = 0;
  while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
  std::uint64_t step = never;
  if (k < a.size()) step = std::min(step, a[k].step);
  if (k < b.size()) step = std::min(step, b[k].step);
  return step;
}

// Waypoints: each step bridges to the next waypoint at or after it, so a
// differing waypoint k is read from the step after waypoint k-1 on.
std::uint64_t first_unequal_waypoint(const std::vector<Waypoint>& a, const std::vector<Waypoint>& b,
                                     std::uint64_t never) {
  std::size_t k = 0;
  while (k < a.size() && k < b.size() && a[k] == b[k]) ++k;
  if (k == a.size() && k == b.size()) return never;
  return k == 0 ? 0 : a[k - 1].step + 1;
}

// The spec without its schedules: what must be the same from the first step.
SimulationSpec unscheduled(SimulationSpec s) {
  s.margin_changes.clear();
  s.population_changes.clear();
  for (FundamentalSpec& f : s.fundamentals) {
    f.shocks.clear();
    f.waypoints.clear();
  }
  return s;
}

}  // namespace

bool same_but_schedules(const SimulationSpec& a, const SimulationSpec& b) { return unscheduled(a) == unscheduled(b); }

std::uint64_t first_difference(const SimulationSpec& a, const SimulationSpec& b) {
  if (!same_but_schedules(a, b)) return 0;
  std::uint64_t step = a.steps;
  step = std::min(step, first_unequal(a.margin_changes, b.margin_changes, a.steps));
  step = std::min(step, first_unequal(a.population_changes, b.population_changes, a.steps));
  for (std::size_t i = 0; i < a.fundamentals.size(); ++i) {
    step = std::min(step, first_unequal(a.fundamentals[i].shocks, b.fundamentals[i].shocks, a.steps));
    step = std::min(step, first_unequal_waypoint(a.fundamentals[i].waypoints, b.fundamentals[i].waypoints, a.steps));
  }
  return step;
}

}  // namespace deleverage
