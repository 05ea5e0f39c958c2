#include "estimators/oracle.h"

#include <memory>

#include "sim/error.h"
#include "sim/task.h"

namespace advlab {

void OracleEstimator::Compute(Batch* batch) {
  if (context_.task == nullptr || context_.policy == nullptr) {
    throw UserError("estimator 'oracle' needs the task's exact oracle; it runs only in training "
                    "(advlab run / sweep), not on bare rewards");
  }
  const double fp = context_.false_positive;
  const double scale = 1.0 - context_.false_positive - context_.false_negative;
  batch->advantage.resize(static_cast<size_t>(batch->num_rollouts()));
  for (int g = 0; g < batch->num_groups(); ++g) {
    const double p = context_.task->SuccessProbability(context_.policy, batch->prompt[g]);
    const double baseline = fp + scale * p;
    for (int r = batch->group_begin[g]; r < batch->group_begin[g + 1]; ++r) {
      batch->advantage[r] = batch->reward[r] - baseline;
    }
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    oracle, .name = "oracle",
    .description = "A = R - exact expected reward of the prompt under the current policy "
                   "(the value-function baseline; needs the task's oracle)",
    .make = [] { return std::make_unique<OracleEstimator>(); },
    .needs_task = true);

}  // namespace advlab
