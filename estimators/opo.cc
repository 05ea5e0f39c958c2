#include "estimators/opo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "estimators/opo_step.h"

namespace advlab {

void OpoEstimator::Compute(Batch* batch) {
  const int32_t* group_begin = batch->group_begin.data();
  const int32_t* token_begin = batch->token_begin.data();
  ForEachGroup(batch, [group_begin, token_begin](int g, const double* reward, int n, double* adv) {
    OpoGroup(reward, token_begin + group_begin[g], n, adv);
  });
  double* const baseline = StartBaseline(batch);
  if (baseline == nullptr) return;
  for (int g = 0; g < batch->num_groups(); ++g) {
    const int first = group_begin[g], n = group_begin[g + 1] - first;
    const double b = OpoBaseline(batch->reward.data() + first, token_begin + first, n);
    for (int i = 0; i < n; ++i) baseline[first + i] = b;
  }
}

ADVLAB_REGISTER_ESTIMATOR(
    opo, .name = "opo",
    .description =
        "OPO: A = R - length-weighted group mean sum(L R)/sum(L); singleton A = R (verl opo)",
    .needs_groups = true,
    .make = [] { return std::make_unique<OpoEstimator>(); });

}  // namespace advlab
