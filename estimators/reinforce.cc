#include "estimators/reinforce.h"

#include <memory>

#include "estimators/reinforce_step.h"
#include "sim/check.h"

namespace advlab {

void ReinforceEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  const int n = batch->num_rollouts();
  batch->advantage.resize(static_cast<size_t>(n));
  ReinforceRollouts(batch->reward.data(), n, batch->advantage.data());
}

ADVLAB_REGISTER_ESTIMATOR(
    reinforce, .name = "reinforce",
    .description = "A = R: raw outcome reward, no baseline (Williams 1992)",
    .make = [] { return std::make_unique<ReinforceEstimator>(); });

}  // namespace advlab
