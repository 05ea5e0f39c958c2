#include "estimators/gpg.h"

#include <algorithm>
#include <memory>
#include <span>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

double GpgEstimator::Alpha(const Batch& batch) {
  int64_t nonzero = 0;
  for (double r : batch.reward) nonzero += r != 0.0 ? 1 : 0;
  return static_cast<double>(batch.num_rollouts()) /
         static_cast<double>(std::max<int64_t>(1, nonzero));
}

void GpgEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  const double alpha = Alpha(*batch);
  ForEachGroup(batch, [alpha](std::span<const double> rewards, double* adv) {
    const size_t n = rewards.size();
    const double mean = n > 1 ? GroupMean(rewards) : 0.0;  // verl: singleton mean 0
    for (size_t i = 0; i < n; ++i) adv[i] = alpha * (rewards[i] - mean);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    gpg, .name = "gpg",
    .description =
        "GPG: A = alpha (R - group mean), alpha = N / #nonzero rewards of the batch (verl gpg)",
    .needs_groups = true,
    .make = [] { return std::make_unique<GpgEstimator>(); });

}  // namespace advlab
