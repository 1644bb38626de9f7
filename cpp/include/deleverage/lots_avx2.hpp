// Four lot counts (int64) to doubles in AVX2, which has no such conversion:
// exact through the 1.5 x 2^52 bias for counts within +-2^51 (every position
// the engine reaches in practice), and lane by lane where one is beyond it, so
// the result is always static_cast<double> of each count.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace deleverage {

__attribute__((target("avx2"), always_inline)) inline __m256d lots_to_pd(__m256i q) noexcept {
  const __m256d bias = _mm256_set1_pd(0x1.8p52);
  const __m256i high = _mm256_set1_epi64x((std::int64_t{1} << 51) - 1);
  const __m256i low = _mm256_set1_epi64x(-(std::int64_t{1} << 51));
  const __m256i beyond = _mm256_or_si256(_mm256_cmpgt_epi64(q, high), _mm256_cmpgt_epi64(low, q));
  if (_mm256_testz_si256(beyond, beyond) != 0)
    return _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(q, _mm256_castpd_si256(bias))), bias);
  alignas(32) std::int64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), q);
  return _mm256_setr_pd(static_cast<double>(lanes[0]), static_cast<double>(lanes[1]), static_cast<double>(lanes[2]),
                        static_cast<double>(lanes[3]));
}

}  // namespace deleverage
#endif
