// Host/device step of reinforce_pp and reinforce_pp_baseline (formula and
// citation: estimators/reinforce_pp.h): the per-rollout values (the reward, or
// the group-centred reward) whitened over all valid tokens of the batch, plain
// arrays, no allocation.
#ifndef ADVLAB_ESTIMATORS_REINFORCE_PP_STEP_H_
#define ADVLAB_ESTIMATORS_REINFORCE_PP_STEP_H_

#include <cstdint>

#include "estimators/group_kernels.h"
#include "sim/features.h"

namespace advlab {

// reinforce_pp_baseline's centring of one group of n rollouts: c_i = R_i - mu,
// mu = the group mean (0 for n <= 1, as verl).
ADVLAB_HD inline void CenterGroup(const double* reward, int n, double* c) {
  const double mean = n > 1 ? GroupMean(reward, n) : 0.0;  // verl: singleton mean 0
  for (int i = 0; i < n; ++i) c[i] = reward[i] - mean;
}

// verl masked_whiten of the per-rollout values c[0..rollouts), each broadcast
// over its rollout's tokens (token_begin[0..rollouts], weight L_r), in place:
// c_r <- (c_r - m) / std, and 0 for a rollout without tokens (verl multiplies by
// the mask). An empty batch (rollouts == 0: DAPO found no informative group)
// has nothing to whiten. Otherwise the batch needs >= 2 valid tokens (checked;
// planning guarantees it, see MaskedWhitenStats).
ADVLAB_HD inline void TokenWeightedWhiten(const int32_t* token_begin, int rollouts, double* c) {
  if (rollouts == 0) return;
  const WhitenStats stats = MaskedWhitenStats(c, rollouts, RolloutLengthWeight{token_begin});
  for (int r = 0; r < rollouts; ++r) {
    c[r] = token_begin[r + 1] - token_begin[r] > 0 ? (c[r] - stats.mean) / stats.stddev : 0.0;
  }
}

// The whole step on plain arrays: rollouts r in [0, group_begin[groups]) with
// rewards reward[r] and token offsets token_begin[0..rollouts] -> adv[r].
// subtract_group_mean = false is reinforce_pp, true reinforce_pp_baseline.
ADVLAB_HD inline void ReinforcePpBatch(const double* reward, const int32_t* group_begin,
                                       int groups, const int32_t* token_begin,
                                       bool subtract_group_mean, double* adv) {
  const int rollouts = group_begin[groups];
  if (subtract_group_mean) {
    for (int g = 0; g < groups; ++g) {
      const int first = group_begin[g];
      CenterGroup(reward + first, group_begin[g + 1] - first, adv + first);
    }
  } else {
    for (int r = 0; r < rollouts; ++r) adv[r] = reward[r];
  }
  TokenWeightedWhiten(token_begin, rollouts, adv);
}

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REINFORCE_PP_STEP_H_
