#include "estimators/passk.h"

#include <memory>
#include <string>

#include "estimators/group_stats.h"
#include "estimators/passk_step.h"
#include "sim/config.h"

namespace advlab {

ADVLAB_REGISTER_KEY(estimator_passk_k,
                    KeySpec{.name = "estimator.passk_k",
                            .type = KeyType::kInt,
                            .default_value = "4",
                            .help = "passk, pkpo: the k of the pass@k they optimise, 1 <= k <= "
                                    "the group size",
                            .min = 1,
                            .max = 1 << 20,
                            .used_by = UsedWithEstimators({"passk", "pkpo"})});

std::string PasskGroupRefusal(const std::string& estimator, const Config* config, int n) {
  const int64_t k = config != nullptr ? config->Int("estimator.passk_k") : PasskEstimator::kDefaultK;
  if (k <= n) return "";
  return "key 'estimator.passk_k' = " + std::to_string(k) + " is more than the " +
         std::to_string(n) + " rollouts of a group (estimator '" + estimator +
         "' averages over size-k subsets of each group); allowed: 1 <= k <= the group size" +
         (config != nullptr ? " (train.group_size)" : "");
}

void PasskEstimator::Bind(const EstimatorContext& context) {
  if (context.config == nullptr) return;
  k_ = static_cast<int>(context.config->Int("estimator.passk_k"));
  norm_by_std_ = context.config->Bool("estimator.passk_norm_by_std");
}

void PasskEstimator::Compute(Batch* batch) {
  const int k = k_;
  const bool by_std = norm_by_std_;
  batch->baseline.clear();  // none: a reward transformation
  ForEachGroup(batch, [k, by_std](int, const double* reward, int n, double* adv) {
    PasskGroup(reward, n, k, by_std, adv);
  });
}

ADVLAB_REGISTER_ESTIMATOR(
    passk, .name = "passk",
    .description = "analytical pass@k advantage (arXiv 2508.10751): A = (1 - rho) / sigma if "
                   "right, (1 - rho - C(n-c-1,k-1)/C(n-1,k-1)) / sigma if wrong "
                   "(estimator.passk_k)",
    .needs_groups = true,
    .make = [] { return std::make_unique<PasskEstimator>(); },
    .group_refusal = [](const Config* c, int n) { return PasskGroupRefusal("passk", c, n); });

}  // namespace advlab
