#include "estimators/reinforce_pp.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/reinforce_pp_step.h"
#include "sim/check.h"

namespace advlab {

void ReinforcePlusPlusEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  CheckGroupLayout(*batch);
  const int rollouts = batch->num_rollouts();
  ADVLAB_CHECK_EQ(batch->token_begin.size(), static_cast<size_t>(rollouts) + 1);
  batch->advantage.resize(static_cast<size_t>(rollouts));
  ReinforcePpBatch(batch->reward.data(), batch->group_begin.data(), batch->num_groups(),
                   batch->token_begin.data(), subtract_group_mean_, batch->advantage.data());
  if (subtract_group_mean_) {
    FillGroupMeanBaseline(batch);
  } else {
    batch->baseline.clear();  // reinforce_pp whitens; it subtracts no per-prompt baseline
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    reinforce_pp, .name = "reinforce_pp",
    .description = "REINFORCE++ (gamma 1): A = R whitened over all valid tokens of the batch "
                   "(verl reinforce_plus_plus)",
    .make = [] { return std::make_unique<ReinforcePlusPlusEstimator>(false); },
    .whitens_tokens = true);

ADVLAB_REGISTER_ESTIMATOR(
    reinforce_pp_baseline, .name = "reinforce_pp_baseline",
    .description = "REINFORCE++-baseline: A = (R - group mean) whitened over all valid tokens of "
                   "the batch (verl reinforce_plus_plus_baseline)",
    .needs_groups = true,
    .make = [] { return std::make_unique<ReinforcePlusPlusEstimator>(true); },
    .whitens_tokens = true);

}  // namespace advlab
