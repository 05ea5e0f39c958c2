// Host/device judgement of the dapo modifier (formula and citation:
// estimators/dapo.h): whether a group carries signal. The resampling itself
// (drawing fresh rounds) stays host-side, in the loop's sampler.
#ifndef ADVLAB_ESTIMATORS_DAPO_STEP_H_
#define ADVLAB_ESTIMATORS_DAPO_STEP_H_

#include "sim/features.h"

namespace advlab {

// True when the n observed rewards of a group are all equal (exact comparison
// with the first; true for n <= 1): zero advantage under any group estimator,
// so DAPO discards the group. As Batch::RewardsAllEqual.
ADVLAB_HD inline bool ZeroVarianceGroup(const double* reward, int n) {
  for (int i = 1; i < n; ++i) {
    if (reward[i] != reward[0]) return false;
  }
  return true;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_DAPO_STEP_H_
