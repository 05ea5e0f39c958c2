#include "estimators/grpo.h"

#include <memory>
#include <span>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

void GrpoEstimator::Compute(Batch* batch) {
  ForEachGroup(batch, [this](std::span<const double> rewards, double* adv) {
    const size_t n = rewards.size();
    if (normalize_by_std_) {
      const GroupMoments m = VerlGroupMoments(rewards);
      const double denom = m.stddev + kEpsilon;
      for (size_t i = 0; i < n; ++i) adv[i] = (rewards[i] - m.mean) / denom;
    } else {
      // Only the mean is needed; a singleton's mean is 0 as in verl.
      const double mean = n > 1 ? GroupMean(rewards) : 0.0;
      for (size_t i = 0; i < n; ++i) adv[i] = rewards[i] - mean;
    }
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    grpo, .name = "grpo",
    .description = "GRPO: A = (R - group mean) / (unbiased group std + 1e-6) (verl grpo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoEstimator>(true); });

ADVLAB_REGISTER_ESTIMATOR(
    dr_grpo, .name = "dr_grpo",
    .description = "Dr. GRPO: A = R - group mean, no std division (verl grpo, "
                   "norm_adv_by_std_in_grpo=False)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GrpoEstimator>(false); });

}  // namespace advlab
