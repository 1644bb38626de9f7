// Runtime dispatch of the decision kernels: GCC compiles each one for
// x86-64-v4 (AVX-512), x86-64-v3 (AVX2) and the portable baseline, and an ifunc resolver picks one by the CPU when
// the module loads. The kernels use only IEEE-exact operations (no contraction,
// no library calls), so every version gives bit-identical results. Other
// compilers and platforms get the portable loop, and so do builds with
// DELEVERAGE_NO_DISPATCH (CMake's DELEVERAGE_DISPATCH=OFF: ThreadSanitizer's).
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(DELEVERAGE_NO_DISPATCH)
#define DELEVERAGE_KERNEL_CLONES 1
#define DELEVERAGE_DISPATCH __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DELEVERAGE_DISPATCH
#endif

namespace deleverage {

// The version the kernels run on this CPU: "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2)
// or "baseline".
const char* dispatched_isa() noexcept;

}  // namespace deleverage
