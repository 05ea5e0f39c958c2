#include "estimators/gpg.h"

#include <memory>

#include "estimators/gpg_step.h"
#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

double GpgEstimator::Alpha(const Batch& batch) {
  return GpgAlpha(batch.reward.data(), batch.num_rollouts());
}

void GpgEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  const double alpha = Alpha(*batch);
  ForEachGroup(batch, [alpha](int, const double* reward, int n, double* adv) {
    GpgGroup(reward, n, alpha, adv);
  });
  FillGroupMeanBaseline(batch);
}

ADVLAB_REGISTER_ESTIMATOR(
    gpg, .name = "gpg",
    .description =
        "GPG: A = alpha (R - group mean), alpha = N / #nonzero rewards of the batch (verl gpg)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GpgEstimator>(); });

}  // namespace advlab
