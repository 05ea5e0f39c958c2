// Host/device kernels of gae (formula and citation: estimators/gae.h): GAE over
// the flat token layout and the batch-wide token whitening, plain arrays. The
// learned critic (its values and its SGD step) stays host-only in
// estimators/gae.cc: it reads the task's features and the shared MLP core.
#ifndef ADVLAB_ESTIMATORS_GAE_STEP_H_
#define ADVLAB_ESTIMATORS_GAE_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// verl compute_gae_advantage_return on the flat layout: rollout r owns tokens
// [token_begin[r], token_begin[r + 1]) of rewards / values; writes the raw
// (unwhitened) advantages and the returns, adv + V, for every token.
ADVLAB_HD inline void GaeAdvantages(const double* rewards, const double* values,
                                    const int32_t* token_begin, int rollouts, double gamma,
                                    double lambda, double* adv, double* ret) {
  const double gl = gamma * lambda;  // verl: gamma * lam * lastgaelam, left to right
  for (int r = 0; r < rollouts; ++r) {
    double next_value = 0.0, last = 0.0;
    for (int t = token_begin[r + 1] - 1; t >= token_begin[r]; --t) {
      const double delta = rewards[t] + gamma * next_value - values[t];
      last = delta + gl * last;
      next_value = values[t];
      adv[t] = last;
      ret[t] = last + values[t];
    }
  }
}

// verl masked_whiten over `count` per-token values, in place (every value one
// valid token). count == 0 (an empty batch: DAPO found no informative group)
// has nothing to whiten; otherwise count >= 2 (checked; planning guarantees it,
// see MaskedWhitenStats).
ADVLAB_HD inline void WhitenTokens(double* x, int count) {
  if (count == 0) return;
  const WhitenStats s = MaskedWhitenStats(x, count, UnitWeight{});
  for (int i = 0; i < count; ++i) x[i] = (x[i] - s.mean) / s.stddev;
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GAE_STEP_H_
