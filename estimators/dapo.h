// dapo: DAPO's dynamic sampling (Yu et al., arXiv 2503.14476; verl-recipe
// dapo_ray_trainer.py). estimators.md §7.2, papers.md §4.4.
//
// Groups whose observed rewards are all equal (zero advantage under any group
// estimator) are discarded and replaced by freshly drawn prompts, round after
// round, until B informative groups are collected or
// estimator.dapo_max_resample extra rounds (default 3) have passed; surplus
// groups of the last round are discarded too, so the batch keeps its size. If
// the rounds run out, training goes on with the informative groups found (verl
// raises an error instead; OpenRLHF goes on). Equality is exact on the observed
// rewards (0/1 here), the robust form of verl's np.std > 0 (§13.12).
// Round k >= 1 draws prompts and rollouts from the independent Philox stream
// Stream(k - 1) of the step's key, so it is a pure function of (config, seed,
// step, round). The loop implements the resampling (sim/loop.cc SampleBatch);
// this modifier marks the composite (grpo+dapo) and leaves advantages alone.
// Metrics: sampling_rounds (rounds per step) and discarded_frac (generated
// rollouts not in the batch); every generated token is charged to sim_cost.
#ifndef ADVLAB_ESTIMATORS_DAPO_H_
#define ADVLAB_ESTIMATORS_DAPO_H_

#include "sim/estimator.h"

namespace advlab {

class DapoModifier : public Modifier {
 public:
  void Apply(Batch*) override {}
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_DAPO_H_
