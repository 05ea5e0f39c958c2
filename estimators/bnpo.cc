#include "estimators/bnpo.h"

#include <memory>

#include "estimators/group_stats.h"
#include "sim/check.h"

namespace advlab {

void BnpoEstimator::Compute(Batch* batch) {
  ADVLAB_CHECK(batch != nullptr);
  CheckGroupLayout(*batch);
  const int groups = batch->num_groups();
  if (p_.size() < static_cast<size_t>(groups)) p_.resize(static_cast<size_t>(groups));
  int m = 0;  // groups with rollouts (the code's uids)
  for (int g = 0; g < groups; ++g) {
    const int first = batch->group_begin[g], n = batch->group_begin[g + 1] - first;
    if (n == 0) continue;
    p_[m++] = BnpoGroupP(batch->reward.data() + first, n);
  }
  const BnpoShape shape = BnpoFit(p_.data(), m);
  batch->baseline.resize(static_cast<size_t>(batch->num_rollouts()));
  double* base = batch->baseline.data();
  const int32_t* group_begin = batch->group_begin.data();
  ForEachGroup(batch, [&](int g, const double* reward, int n, double* adv) {
    if (n == 0) return;
    BnpoGroup(reward, n, BnpoGroupP(reward, n), shape, adv, base + group_begin[g]);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    bnpo, .name = "bnpo",
    .description = "BNPO: A = (R - p) / Beta_pdf(p; alpha, beta), p the group mean, alpha and "
                   "beta moment-fitted to the batch's group means (the released code)",
    .needs_groups = true,
    .make = [] { return std::make_unique<BnpoEstimator>(); });

}  // namespace advlab
