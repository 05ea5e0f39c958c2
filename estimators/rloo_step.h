// Host/device step of rloo (formula and citation: estimators/rloo.h): one
// group's leave-one-out advantages, plain arrays, no allocation.
#ifndef ADVLAB_ESTIMATORS_RLOO_STEP_H_
#define ADVLAB_ESTIMATORS_RLOO_STEP_H_

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// One group of n rollouts: reward[0..n) -> adv[0..n).
//   n > 1:  A_i = (R_i - mean) * (n / (n - 1))
//   n == 1: A_0 = R_0 (verl `rloo`: the raw reward passes through)
ADVLAB_HD inline void RlooGroup(const double* reward, int n, double* adv) {
  if (n == 0) return;
  if (n == 1) {
    adv[0] = reward[0];
    return;
  }
  const double mean = GroupMean(reward, n);
  const double scale = static_cast<double>(n) / static_cast<double>(n - 1);
  for (int i = 0; i < n; ++i) adv[i] = (reward[i] - mean) * scale;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_RLOO_STEP_H_
