#include "deleverage/dispatch.hpp"

namespace deleverage {

const char* dispatched_isa() noexcept {
#if defined(DELEVERAGE_KERNEL_CLONES)
  __builtin_cpu_init();
  // The same tests the clones' resolver makes.
  if (__builtin_cpu_supports("x86-64-v4")) return "x86-64-v4";
  if (__builtin_cpu_supports("x86-64-v3")) return "x86-64-v3";
#endif
  return "baseline";
}

}  // namespace deleverage
