#include "estimators/pkpo.h"

#include <memory>
#include <string>

#include "estimators/group_stats.h"
#include "estimators/passk.h"
#include "estimators/passk_step.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_pkpo_baseline,
                    KeySpec{.name = "estimator.pkpo_baseline",
                            .type = KeyType::kString,
                            .default_value = "loo_minus_one",
                            .help = "pkpo: loo_minus_one subtracts, in every size-k subset, the "
                                    "max of the k-1 others (the paper's s^(loo-1)); none keeps "
                                    "the plain unbiased transformation",
                            .choices = {"loo_minus_one", "none"},
                            .used_by = UsedWithEstimator("pkpo")});

void PkpoEstimator::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  k_ = static_cast<int>(context.config->Int("estimator.passk_k"));
  loo_minus_one_ = context.config->Str("estimator.pkpo_baseline") == "loo_minus_one";
}

void PkpoEstimator::Compute(Batch* batch) {
  int largest = 0;
  for (int g = 0; g < batch->num_groups(); ++g) {
    if (batch->group_size(g) > largest) largest = batch->group_size(g);
  }
  if (rank_.size() < static_cast<size_t>(largest)) rank_.resize(static_cast<size_t>(largest));
  const int k = k_;
  const bool loo = loo_minus_one_;
  int32_t* rank = rank_.data();
  batch->baseline.clear();  // none: a reward transformation
  ForEachGroup(batch, [k, loo, rank](int, const double* reward, int n, double* adv) {
    PkpoGroup(reward, n, k, loo, rank, adv);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    pkpo, .name = "pkpo",
    .description = "PKPO (arXiv 2505.15201): unbiased pass@k reward transformation over the "
                   "group's size-k subsets (estimator.passk_k, estimator.pkpo_baseline)",
    .needs_groups = true,
    .make = [] { return std::make_unique<PkpoEstimator>(); },
    .group_refusal = [](const Config* c, int n) { return PasskGroupRefusal("pkpo", c, n); });

}  // namespace advlab
