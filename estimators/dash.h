// dash: DASH's gradient filtering (Huang et al., "Effective Reinforcement Learning
// for Reasoning in Language Models", arXiv 2505.17218; code
// shuoli90/efficient_reasoning). papers.md §3.
//
//   rollouts with |A_i| <= threshold (estimator.dash_threshold, default 0.1) are
//   dropped before the update: not back-propagated, and (estimator.dash_normalizer
//   = kept, the default and the released code) left out of the loss normalisers
//   (the loss is the same as on the kept rollouts alone, so the step grows by
//   1 / kept share); = generated keeps them in the normalisers (the step size of
//   the unfiltered loss). The loop implements the normaliser (sim/gradient.cc).
//
// The kept fraction is logged (metric kept_frac); the cost model charges only
// kept tokens (sim/cost.h), which is DASH's compute saving. With binary rewards and grpo
// (std scaling) every mixed group has |A| >= 1/sqrt(G), so threshold 0.1 drops
// exactly the zero-variance groups: the update direction is unchanged. Without
// std scaling (dr_grpo, |A| >= 1/G) a threshold >= 1/G also drops the wrong
// answers of low-success groups: a positive-only bias. Dropped rollouts show
// A = 0 (`advlab advantage`). A batch where nothing is kept contributes no
// gradient (the released code keeps one row instead). DASH's other half,
// preemptive sampling (one large rollout batch, train.rollout_batch = 0, then
// gradients accumulated over train.micro_batch micro-batches), is in the loop:
// the update is the one-batch update bit for bit, only sim_cost changes.
#ifndef ADVLAB_ESTIMATORS_DASH_H_
#define ADVLAB_ESTIMATORS_DASH_H_

#include "sim/estimator.h"

namespace advlab {

class DashModifier : public Modifier {
 public:
  static constexpr double kDefaultThreshold = 0.1;
  DashModifier() = default;
  explicit DashModifier(double threshold) : threshold_(threshold) {}
  void Bind(const EstimatorContext& context) override;
  void Apply(Batch* batch) override;

 private:
  double threshold_ = kDefaultThreshold;
};

}  // namespace advlab

#endif  // ADVLAB_ESTIMATORS_DASH_H_
