// reinforce_pp and reinforce_pp_baseline: REINFORCE++ with gamma = 1, i.e. the
// outcome reward (reinforce_pp) or the group-centred reward (the _baseline
// variant), whitened over ALL valid tokens of the batch.
//
//   reinforce_pp:           c_r = R_r
//   reinforce_pp_baseline:  c_r = R_r - mu_g(r)   (mu_g = group mean; 0 for G == 1)
//   verl masked_whiten of c broadcast over the L_r tokens of each rollout
//   (token-weighted: rollout r counts L_r times), n = sum_r L_r:
//     m   = sum_r L_r c_r / (n + 1e-8)
//     var = [sum_r L_r (c_r - m)^2 / (n + 1e-8)] * n / (n - 1)   (unbiased)
//     A_r = (c_r - m) / sqrt(var + 1e-8)          (A_r = 0 if L_r == 0: no token)
//
// Citation: Hu (2025), "REINFORCE++: A Simple and Efficient Approach for
// Aligning Large Language Models", arXiv 2501.03262. Code: verl core_algos.py
// compute_reinforce_plus_plus_outcome_advantage and
// compute_reinforce_plus_plus_baseline_outcome_advantage, with masked_whiten /
// masked_var from verl/utils/torch_functional.py, at b178a3cd; estimators.md §1,
// §2.7, §2.8, §11.5, §12.1. With outcome reward at the last token and gamma = 1
// the return is R on every valid token, so one value per rollout is exact; the
// multi-turn "reset at every mask hole" pitfall (§2.7, §12.8) cannot arise here
// (a rollout's tokens are contiguous). No KL in the reward (use_kl_in_reward off).
//
// Sums in index order over rollouts, in double: sum L_r c_r and sum L_r, then
// sum L_r (c_r - m)^2 (the token-weighted sum as L_r * d^2, one product per
// rollout; verl adds d^2 L_r times in float32). verl multiplies by rsqrt; we
// divide by sqrt (same to ~1 ulp).
//
// Errors: a batch with fewer than 2 valid tokens cannot be whitened (verl
// masked_var raises ValueError for n == 0 or 1). Planning refuses it
// (whitens_tokens: `advlab advantage` on a one-token input; training with
// train.batch_prompts x train.group_size < 2, every response having at least
// one token); the step only checks it. An empty batch (no rollout: DAPO found
// no informative group and its rounds ran out) has nothing to whiten and gets
// no advantages, as any estimator's: the step goes on without an update.
//
// All-correct / all-wrong groups:
//   reinforce_pp: NOT zeroed. With 0/1 rewards an all-correct group gets the
//     positive (1 - m)/std on every rollout and an all-wrong group the negative
//     -m/std: a batch-relative push, like REINFORCE with a global baseline.
//   reinforce_pp_baseline: c = 0 for the group, but the token-weighted mean m of
//     the centred values is not zero once lengths differ, so the group gets
//     -m/std != 0: the documented leakage (§2.8, §11.5; S2: +0.038458 on the
//     all-correct prompt). With equal lengths m is 0 up to rounding (exactly 0
//     when the centred values sum exactly to 0, e.g. for 0/1 rewards in groups
//     whose sizes make the means dyadic).
// Singletons: reinforce_pp has no groups. reinforce_pp_baseline: mu = 0, so the
//   raw reward enters the whitening and moves m and var for every rollout of
//   the batch (§12.5: [x, y, y], R = [0.7, 0.3, 0.9] gives [0.927173, -1.059626,
//   0.132453]); the estimator is therefore not shift-invariant when singletons
//   are present.
// Known biases: the whitening statistic depends on every sample (O(1/N) bias,
// §11.5); token weighting lets long responses dominate m and var; the 1e-8 in
// n + 1e-8 makes m very slightly smaller than the mean, which a batch without
// spread magnifies by 1/sqrt(1e-8): one rollout of 2 tokens with R = 1 gets
// 5e-5, not 0 (as in verl). needs_groups = false (reinforce_pp), true
// (reinforce_pp_baseline).
#ifndef ADVLAB_ESTIMATORS_REINFORCE_PP_H_
#define ADVLAB_ESTIMATORS_REINFORCE_PP_H_

#include "estimators/group_kernels.h"
#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class ReinforcePlusPlusEstimator : public Estimator {
 public:
  // verl masked_whiten's epsilon (inside the sqrt) and masked_mean's (added to n).
  static constexpr double kEpsilon = kMaskedWhitenEpsilon;

  // subtract_group_mean = false is `reinforce_pp`; true is `reinforce_pp_baseline`.
  explicit ReinforcePlusPlusEstimator(bool subtract_group_mean)
      : subtract_group_mean_(subtract_group_mean) {}
  void Compute(Batch* batch) override;

 private:
  bool subtract_group_mean_;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REINFORCE_PP_H_
