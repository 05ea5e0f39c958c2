#include "estimators/opo.h"

#include <memory>
#include <span>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

void OpoEstimator::Compute(Batch* batch) {
  const Batch& b = *batch;
  int g = 0;  // ForEachGroup visits the groups in order
  ForEachGroup(batch, [&b, &g](std::span<const double> rewards, double* adv) {
    const size_t n = rewards.size();
    const int first = b.group_begin[g++];
    double baseline = 0.0;  // verl: a singleton's baseline is 0
    if (n > 1) {
      double weighted = 0.0, total = 0.0;
      for (size_t i = 0; i < n; ++i) {
        const double len = static_cast<double>(b.length(first + static_cast<int>(i)));
        weighted += len * rewards[i];
        total += len;
      }
      ADVLAB_CHECK_GT(total, 0.0);
      baseline = weighted / total;
    }
    for (size_t i = 0; i < n; ++i) adv[i] = rewards[i] - baseline;
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    opo, .name = "opo",
    .description =
        "OPO: A = R - length-weighted group mean sum(L R)/sum(L); singleton A = R (verl opo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<OpoEstimator>(); });

}  // namespace advlab
