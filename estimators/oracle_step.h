// Host/device step of oracle (formula and citation: estimators/oracle.h): one
// group's advantages against the exact expected observed reward, given the
// prompt's exact success probability (an input: the task's oracle computes it).
#ifndef ADVLAB_ESTIMATORS_ORACLE_STEP_H_
#define ADVLAB_ESTIMATORS_ORACLE_STEP_H_

#include "sim/features.h"

namespace advlab {

// The verifier's noise as the oracle baseline reads it: b = fp + scale * p,
// scale = 1 - fp - fn (probabilities).
struct OracleNoise {
  double false_positive = 0.0;
  double scale = 1.0;
};

// The baseline b(q) = fp + (1 - fp - fn) p(q) of a prompt whose exact success
// probability under the sampling policy is `success_prob`.
ADVLAB_HD inline double OracleBaseline(OracleNoise noise, double success_prob) {
  return noise.false_positive + noise.scale * success_prob;
}

// One group of n rollouts of a prompt with success probability success_prob:
// A_i = R_i - b(q).
ADVLAB_HD inline void OracleGroup(const double* reward, int n, OracleNoise noise,
                                  double success_prob, double* adv) {
  const double baseline = OracleBaseline(noise, success_prob);
  for (int i = 0; i < n; ++i) adv[i] = reward[i] - baseline;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_ORACLE_STEP_H_
