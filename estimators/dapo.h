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
// step, round). The resampling is this modifier's Resample hook, through the
// loop's sampler (sim/sample_batch.cc draws and counts the rounds); Apply
// leaves advantages alone.
// Metrics: sampling_rounds (rounds per step) and discarded_frac (generated
// rollouts not in the batch); every generated token is charged to sim_cost.
#ifndef ADVLAB_ESTIMATORS_DAPO_H_
#define ADVLAB_ESTIMATORS_DAPO_H_

#include "sim/estimator.h"

namespace advlab {

class DapoModifier : public Modifier {
 public:
  // Reads estimator.dapo_max_resample when a config is bound (default 3).
  void Bind(const EstimatorContext& context) override;
  // Keeps the informative groups of `batch`, in order, then of rounds 0, 1, ...
  // until it has as many groups as `batch` had or the rounds run out.
  void Resample(Sampler* sampler, Batch* batch) override;
  void Apply(Batch*) override {}

 private:
  int max_resample_ = 3;
  Batch out_;    // scratch: the groups collected
  Batch round_;  // scratch: one round
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_DAPO_H_
