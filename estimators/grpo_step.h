// Host/device step of grpo and dr_grpo (formula and citation: estimators/grpo.h):
// one group's advantages from its rewards, plain arrays, no allocation.
#ifndef ADVLAB_ESTIMATORS_GRPO_STEP_H_
#define ADVLAB_ESTIMATORS_GRPO_STEP_H_

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// verl's grpo epsilon, added to sigma (not inside a sqrt).
inline constexpr double kGrpoEpsilon = 1e-6;

// One group of n rollouts: reward[0..n) (reward units) -> adv[0..n).
//   by_std (grpo):     A_i = (R_i - mu) / (sigma + 1e-6), mu = 0, sigma = 1 for n <= 1
//   !by_std (dr_grpo): A_i = R_i - mu, mu = 0 for n <= 1
// adv may alias reward. Returns mu, the baseline subtracted.
ADVLAB_HD inline double GrpoGroup(const double* reward, int n, bool by_std, double* adv) {
  if (by_std) {
    const GroupMoments m = VerlGroupMoments(reward, n);
    const double denom = m.stddev + kGrpoEpsilon;
    for (int i = 0; i < n; ++i) adv[i] = (reward[i] - m.mean) / denom;
    return m.mean;
  }
  // Only the mean is needed; a singleton's mean is 0 as in verl.
  const double mean = n > 1 ? GroupMean(reward, n) : 0.0;
  for (int i = 0; i < n; ++i) adv[i] = reward[i] - mean;
  return mean;
}

// grpo with another epsilon (estimator.std_epsilon): A_i = (R_i - mu) / (sigma + eps);
// eps = kGrpoEpsilon is GrpoGroup(by_std) bit for bit. Returns mu (the baseline).
ADVLAB_HD inline double GrpoGroupEpsilon(const double* reward, int n, double eps, double* adv) {
  const GroupMoments m = VerlGroupMoments(reward, n);
  const double denom = m.stddev + eps;
  for (int i = 0; i < n; ++i) adv[i] = (reward[i] - m.mean) / denom;
  return m.mean;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GRPO_STEP_H_
