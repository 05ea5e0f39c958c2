#include "estimators/rloo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/rloo_step.h"

namespace advlab {

void RlooEstimator::Compute(Batch* batch) {
  ForEachGroup(batch,
               [](int, const double* reward, int n, double* adv) { RlooGroup(reward, n, adv); });
  // Baseline of rollout i: the mean of the other n - 1 rewards (0 for a singleton).
  double* const baseline = StartBaseline(batch);
  if (baseline == nullptr) return;
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = batch->group_begin[g], n = batch->group_begin[g + 1] - first;
    const double* r = batch->reward.data() + first;
    const double sum = n > 1 ? GroupSum(r, n) : 0.0;
    for (int i = 0; i < n; ++i)
      baseline[first + i] = n > 1 ? (sum - r[i]) / static_cast<double>(n - 1) : 0.0;
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    rloo, .name = "rloo",
    .description =
        "RLOO: A = R - mean of the other rollouts of the group; singleton A = R (verl rloo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<RlooEstimator>(); });

}  // namespace advlab
