#include "estimators/rloo.h"

#include <memory>
#include <span>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

void RlooEstimator::Compute(Batch* batch) {
  ForEachGroup(batch, [](std::span<const double> rewards, double* adv) {
    const size_t n = rewards.size();
    if (n == 0) return;
    if (n == 1) {
      adv[0] = rewards[0];  // verl `rloo`: singleton passes its raw reward through
      return;
    }
    const double mean = GroupMean(rewards);
    const double scale = static_cast<double>(n) / static_cast<double>(n - 1);
    for (size_t i = 0; i < n; ++i) adv[i] = (rewards[i] - mean) * scale;
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    rloo, .name = "rloo",
    .description =
        "RLOO: A = R - mean of the other rollouts of the group; singleton A = R (verl rloo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<RlooEstimator>(); });

}  // namespace advlab
