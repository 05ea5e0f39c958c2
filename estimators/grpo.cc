#include "estimators/grpo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/grpo_step.h"

namespace advlab {

void GrpoEstimator::Compute(Batch* batch) {
  const bool by_std = normalize_by_std_;
  ForEachGroup(batch, [by_std](int, const double* reward, int n, double* adv) {
    GrpoGroup(reward, n, by_std, adv);
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
