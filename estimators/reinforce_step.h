// Host/device step of reinforce (formula and citation: estimators/reinforce.h):
// the raw reward as the advantage, plain arrays.
#ifndef ADVLAB_ESTIMATORS_REINFORCE_STEP_H_
#define ADVLAB_ESTIMATORS_REINFORCE_STEP_H_

#include "sim/features.h"

namespace advlab {

// n rollouts (a group or the whole batch): A_i = R_i.
ADVLAB_HD inline void ReinforceRollouts(const double* reward, int n, double* adv) {
  for (int i = 0; i < n; ++i) adv[i] = reward[i];
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REINFORCE_STEP_H_
