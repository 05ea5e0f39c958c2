// Host/device step of the seed_grpo modifier (formula and citation:
// estimators/seed_grpo.h): one group's advantages scaled by the entropy factor.
#ifndef ADVLAB_ESTIMATORS_SEED_GRPO_STEP_H_
#define ADVLAB_ESTIMATORS_SEED_GRPO_STEP_H_

#include <cstdint>

#include "sim/features.h"

namespace advlab {

// f(alpha SE / SE_max) with the linear f(x) = 1 - x; se_max > 0.
ADVLAB_HD inline double SeedGrpoFactor(double alpha, double se, double se_max) {
  return 1.0 - alpha * (se / se_max);
}

// Scales the n sequence advantages of a group, and the token advantages of its
// rollouts when token_adv is not null (token_begin: [n + 1] offsets).
ADVLAB_HD inline void SeedGrpoScaleGroup(double factor, int n, const int32_t* token_begin,
                                         double* adv, double* token_adv) {
  for (int i = 0; i < n; ++i) {
    adv[i] *= factor;
    if (token_adv == nullptr) continue;
    for (int32_t t = token_begin[i]; t < token_begin[i + 1]; ++t) token_adv[t] *= factor;
  }
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_SEED_GRPO_STEP_H_
