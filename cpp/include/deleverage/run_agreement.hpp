// Where two worlds' runs part: two simulation specs run the same steps, bit
// for bit (with the same accounts and seed), up to the first step at which
// something scheduled differs (a margin notice, a population change, a fair
// value's shock or waypoint). A run of one can then be forked at that step
// and go on as the other (Simulation::fork), instead of running the common
// steps again: a counterfactual without the crash day's news, say, shares
// the month before it.
#pragma once

#include <cstdint>

#include "deleverage/simulation.hpp"

namespace deleverage {

// Whether a and b are the same world but for what is scheduled.
bool same_but_schedules(const SimulationSpec& a, const SimulationSpec& b);

// The first step whose run may differ under a and b: 0 when they differ in
// anything but their schedules (or in the instruments' number), a.steps when
// they are the same world.
std::uint64_t first_difference(const SimulationSpec& a, const SimulationSpec& b);

}  // namespace deleverage
