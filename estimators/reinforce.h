// reinforce: the raw outcome reward as the advantage, no baseline.
//
//   A_i = R_i
//
// Citation: Williams (1992), "Simple statistical gradient-following algorithms
// for connectionist reinforcement learning", Machine Learning 8:229-256. verl has
// no estimator of this name; it is the baseline-free limit of the group
// estimators (what verl `grpo`, `rloo` and `opo` do to a singleton group, see
// estimators.md §13 item 2) and the advantage that verl `compute_policy_loss_reinforce`
// (§3.9) would consume if fed raw scores.
//
// All-correct / all-wrong groups: NOT zeroed. With 0/1 rewards an all-correct
// group gets A = 1 on every rollout (a push on every sampled response), and an
// all-wrong group gets exactly 0 (no signal at all from failures). Singletons are
// no different from any other rollout. Unbiased but high variance: this is the
// control the baselines are measured against. needs_groups = false.
#ifndef ADVLAB_ESTIMATORS_REINFORCE_H_
#define ADVLAB_ESTIMATORS_REINFORCE_H_

#include "sim/batch.h"
#include "sim/estimator.h"

namespace advlab {

class ReinforceEstimator : public Estimator {
 public:
  void Compute(Batch* batch) override;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_REINFORCE_H_
