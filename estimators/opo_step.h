// Host/device step of opo (formula and citation: estimators/opo.h): one group's
// advantages against the length-weighted group mean, plain arrays.
#ifndef ADVLAB_ESTIMATORS_OPO_STEP_H_
#define ADVLAB_ESTIMATORS_OPO_STEP_H_

#include <cstdint>

#include "sim/check.h"
#include "sim/features.h"

namespace advlab {

// One group of n rollouts: reward[0..n) and token_begin[0..n] (the rollouts'
// token offsets, so L_i = token_begin[i + 1] - token_begin[i] tokens) -> adv[0..n).
//   n > 1:  b = sum L_i R_i / sum L_i (sums in index order), A_i = R_i - b
//   n <= 1: b = 0
// Requires sum L_i > 0 for n > 1 (every response has at least one token).
ADVLAB_HD inline double OpoBaseline(const double* reward, const int32_t* token_begin, int n) {
  double baseline = 0.0;  // verl: a singleton's baseline is 0
  if (n > 1) {
    double weighted = 0.0, total = 0.0;
    for (int i = 0; i < n; ++i) {
      const double len = static_cast<double>(token_begin[i + 1] - token_begin[i]);
      weighted += len * reward[i];
      total += len;
    }
    ADVLAB_HD_CHECK(total > 0.0);
    baseline = weighted / total;
  }
  return baseline;
}

ADVLAB_HD inline void OpoGroup(const double* reward, const int32_t* token_begin, int n,
                               double* adv) {
  const double baseline = OpoBaseline(reward, token_begin, n);
  for (int i = 0; i < n; ++i) adv[i] = reward[i] - baseline;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_OPO_STEP_H_
