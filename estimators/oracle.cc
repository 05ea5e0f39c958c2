#include "estimators/oracle.h"

#include <memory>

#include "estimators/oracle_step.h"
#include "sim/check.h"
#include "sim/task.h"

namespace advlab {

void OracleEstimator::Compute(Batch* batch) {
  // Planning guarantees the oracle: training binds the task and policy;
  // `advlab advantage` refuses needs_task estimators.
  ADVLAB_CHECK(context_.task != nullptr && context_.policy != nullptr);
  const OracleNoise noise{context_.false_positive,
                          1.0 - context_.false_positive - context_.false_negative};
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  const double* reward = batch->reward.data();
  double* adv = batch->advantage.data();
  for (int g = 0; g < batch->num_groups(); ++g) {
    // The input of the step: the prompt's exact success probability.
    const double p = context_.task->SuccessProbability(context_.policy, batch->prompt[g]);
    const int first = batch->group_begin[g];
    OracleGroup(reward + first, batch->group_begin[g + 1] - first, noise, p, adv + first);
    for (int r = first; r < batch->group_begin[g + 1]; ++r)
      batch->baseline[r] = OracleBaseline(noise, p);
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    oracle, .name = "oracle",
    .description = "A = R - exact expected reward of the prompt under the current policy "
                   "(the value-function baseline; needs the task's oracle)",
    .make = [] { return std::make_unique<OracleEstimator>(); },
    .needs_task = true);

}  // namespace advlab
