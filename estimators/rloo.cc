#include "estimators/rloo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/rloo_step.h"

namespace advlab {

void RlooEstimator::Compute(Batch* batch) {
  ForEachGroup(batch,
               [](int, const double* reward, int n, double* adv) { RlooGroup(reward, n, adv); });
}

ADVLAB_REGISTER_ESTIMATOR(
    rloo, .name = "rloo",
    .description =
        "RLOO: A = R - mean of the other rollouts of the group; singleton A = R (verl rloo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<RlooEstimator>(); });

}  // namespace advlab
