// Inverse-CDF sampling from a categorical distribution: the one rule every task
// family uses, written once so that it is the same everywhere (CPU and GPU).
//
// With u in (0, 1) and probabilities p_0 .. p_{n-1}, the sampled action is
//     a = #{k < n - 1 : cdf[k] <= u},   cdf[k] = p_0 + ... + p_k (index order),
// i.e. the first index whose running sum exceeds u; it is never n even if the
// sum ends below 1 by rounding. A zero-probability action is never sampled: in
// the middle its CDF entry repeats the previous one, and a zero last action
// would need u above the rounded total, which U01's largest value 1 - 2^-33
// cannot reach unless n ~ 2^20 or more. The CDF is stored padded to a power of two with
// +inf (never <= u), so the count is found by a branch-free binary search. Four
// lanes (independent draws) can search side by side: four dependency chains
// that the CPU overlaps.
#ifndef ADVLAB_SIM_SAMPLING_H_
#define ADVLAB_SIM_SAMPLING_H_

#include <limits>

#include "sim/features.h"

namespace advlab {

// The smallest power of two >= n.
ADVLAB_HD inline int PaddedSize(int n) {
  int pad = 1;
  while (pad < n) pad *= 2;
  return pad;
}

// cdf[0 .. pad) from probs[0 .. n): running sums for k < n - 1, +inf after.
ADVLAB_HD inline void BuildPaddedCdf(const double* ADVLAB_RESTRICT probs, int n, int pad,
                                     double* ADVLAB_RESTRICT cdf) {
  double acc = 0.0;
  for (int k = 0; k < n - 1; ++k) {
    acc += probs[k];
    cdf[k] = acc;
  }
  for (int k = n - 1 < 0 ? 0 : n - 1; k < pad; ++k) cdf[k] = std::numeric_limits<double>::infinity();
}

// The sampled action for one uniform u.
ADVLAB_HD ADVLAB_FORCEINLINE int SearchCdf(const double* cdf, int pad, double u) {
  int a = 0;
  for (int half = pad / 2; half > 0; half /= 2) a += cdf[a + half - 1] <= u ? half : 0;
  return a;
}

// Four lanes side by side: a[j] = SearchCdf(cdf[j], pad, u[j]). kPad > 0 fixes
// the padded size at compile time (the search then unrolls); 0 reads `pad`.
template <int kPad = 0>
ADVLAB_HD ADVLAB_FORCEINLINE void SearchCdf4(const double* const cdf[4], int pad, const double u[4],
                                             int a[4]) {
  const int p = kPad > 0 ? kPad : pad;
ADVLAB_UNROLL(4)
  for (int j = 0; j < 4; ++j) a[j] = 0;
ADVLAB_UNROLL(16)
  for (int half = p / 2; half > 0; half /= 2) {
ADVLAB_UNROLL(4)
    for (int j = 0; j < 4; ++j) a[j] += cdf[j][a[j] + half - 1] <= u[j] ? half : 0;
  }
}

}  // namespace advlab

#endif  // ADVLAB_SIM_SAMPLING_H_
