// gpg: Group Policy Gradient, the Dr. GRPO advantage scaled by a batch-wide alpha.
//
//   alpha = N / max(1, #{i : R_i != 0})        over the WHOLE batch (N rollouts)
//   per group g:  mu_g = mean(R_g) (G > 1),  mu_g = 0 (G == 1)
//   A_i = alpha * (R_i - mu_g)                 (verl's f_norm = 1.0: no std)
//
// Citation: Chu et al. (2025), "GPG: A Simple and Strong Reinforcement Learning
// Baseline for Model Reasoning", arXiv 2504.02546. Code: verl core_algos.py
// compute_gpg_outcome_advantage at b178a3cd (paired there with the `gpg` policy
// loss: plain REINFORCE, no ratio, no clip); estimators.md §2.10, §13 item 10.
//
// This is verl's alpha, which counts non-zero REWARDS. The original GPG code
// (AMAP-ML/GPG) and the paper's ablation use a different quantity:
// alpha = B / (B - M), B groups of which M have zero reward variance ("invalid"),
// applied as loss / inverse_alpha. They are not the same thing: verl's grows as
// the share of non-zero rewards falls (one group [1, 0, 0, 0]: 4 vs GPG's 1), and
// an all-correct group adds G non-zero rewards to verl's count although it
// carries no signal. On the §12.0 test batch verl gives alpha = 12/7 = 1.714286,
// original GPG 3/2. We implement verl's; the §12.1 vector (0.857143 = 12/7 * 0.5)
// pins it.
//
// alpha is an exact count ratio (one division of two small integers); A is
// alpha * (R - mu), one multiplication after the Dr. GRPO difference.
// All-correct / all-wrong groups: R_i == mu exactly for 0/1 rewards, so A = 0.0
// exactly (but an all-correct group still lowers alpha for everyone else).
// Singletons: mu = 0, so A = alpha * R (on §12.5 [x, y, y] with R = [0.7, 0.3,
// 0.9], alpha = 3/3 = 1 and A = [0.7, -0.3, 0.3]). Known biases: alpha depends on
// the whole batch (a reward of 0 vs 1e-9 changes every advantage), so gpg is not
// shift-invariant (conformance_test.cc lists it); alpha rescales the gradient to
// undo the dilution by zero-reward rollouts, so with 0/1 rewards the step size
// grows as accuracy falls (up to N / 1 when one rollout of the batch succeeds).
// needs_groups = true.
#ifndef ADVLAB_ESTIMATORS_GPG_H_
#define ADVLAB_ESTIMATORS_GPG_H_

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class GpgEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override;
  // verl's alpha = N / max(1, number of non-zero rewards) of the batch.
  static double Alpha(const Batch& batch);
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_GPG_H_
