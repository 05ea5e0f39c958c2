#include "estimators/optimal_baseline.h"

#include <memory>

#include "estimators/optimal_baseline_step.h"
#include "sim/check.h"
#include "sim/task.h"

namespace advlab {

void OptimalBaselineEstimator::Compute(Batch* batch) {
  // Planning guarantees the oracle: training binds the task and policy;
  // `advlab advantage` refuses needs_task estimators.
  ADVLAB_CHECK(context_.task != nullptr && context_.policy != nullptr);
  const int rollouts = batch->num_rollouts();
  batch->advantage.resize(static_cast<size_t>(rollouts));
  batch->baseline.resize(static_cast<size_t>(rollouts));
  for (int g = 0; g < batch->num_groups(); ++g) {
    const double b = context_.task->OptimalBaseline(context_.policy, batch->prompt[g],
                                                    context_.false_positive,
                                                    context_.false_negative);
    ADVLAB_CHECK(b == b);  // every family has it
    const int first = batch->group_begin[g], n = batch->group_size(g);
    OptimalGroup(batch->reward.data() + first, n, b, batch->advantage.data() + first);
    for (int i = 0; i < n; ++i) batch->baseline[first + i] = b;
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    optimal, .name = "optimal",
    .description = "A = R - b*, b* = E[R |grad log pi|^2] / E[|grad log pi|^2] exact from the "
                   "oracle (the variance-optimal per-prompt baseline; needs the task)",
    .make = [] { return std::make_unique<OptimalBaselineEstimator>(); },
    .needs_task = true);

}  // namespace advlab
