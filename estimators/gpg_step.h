// Host/device step of gpg (formula and citation: estimators/gpg.h): the batch's
// alpha and one group's scaled Dr. GRPO advantages, plain arrays.
#ifndef ADVLAB_ESTIMATORS_GPG_STEP_H_
#define ADVLAB_ESTIMATORS_GPG_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// verl's alpha over the whole batch's n rewards: n / max(1, #{i : R_i != 0})
// (an exact count ratio, one division).
ADVLAB_HD inline double GpgAlpha(const double* reward, int n) {
  int64_t nonzero = 0;
  for (int i = 0; i < n; ++i) nonzero += reward[i] != 0.0 ? 1 : 0;
  return static_cast<double>(n) / static_cast<double>(nonzero > 1 ? nonzero : int64_t{1});
}

// One group of n rollouts: A_i = alpha * (R_i - mu), mu = mean (0 for n <= 1).
ADVLAB_HD inline void GpgGroup(const double* reward, int n, double alpha, double* adv) {
  const double mean = n > 1 ? GroupMean(reward, n) : 0.0;  // verl: singleton mean 0
  for (int i = 0; i < n; ++i) adv[i] = alpha * (reward[i] - mean);
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GPG_STEP_H_
